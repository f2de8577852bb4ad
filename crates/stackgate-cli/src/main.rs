//! The `stackgate` binary: `serve`, and operator commands that work directly on the
//! database (safe while `serve` runs on the same database).

#![forbid(unsafe_code)]

mod metrics;
mod secrets_key;

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use ipnet::IpNet;
use stackgate_core::Service;
use stackgate_server::ServerConfig;
use stackgate_store::Store;
use stackgate_store_postgres::{PgPoolConfig, PostgresStore};
use stackgate_store_sqlite::SqliteStore;

/// stackgate: self-hosted access management that speaks the Pulumi Cloud REST API.
#[derive(Parser)]
#[command(version, about, long_about = None)]
struct Cli {
    /// Log lines as text (for a terminal) or JSON (one object per line, for shipping;
    /// every request's lines carry its `request_id`).
    #[arg(long, global = true, env = "STACKGATE_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

/// Logs go to stderr, filtered by `STACKGATE_LOG` (default `info`).
fn init_logs(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("STACKGATE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter);
    match format {
        LogFormat::Text => builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init(),
        LogFormat::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .init(),
    }
}

#[derive(Args, Clone)]
struct DbArgs {
    /// Database URL: `sqlite:///abs/path.db` or `sqlite://relative.db` (created if missing),
    /// or `postgres://user:pass@host:5432/db` (add `?options[search_path]=SCHEMA` to use
    /// an existing schema other than `public`).
    #[arg(
        long,
        env = "STACKGATE_DATABASE",
        // `--help` would otherwise print the configured URL, password included.
        hide_env_values = true,
        default_value = "sqlite://stackgate.db"
    )]
    database: String,
    #[command(flatten)]
    pool: PoolArgs,
}

/// Connection pool sizing (PostgreSQL; for SQLite, the size of the read pool).
#[derive(Args, Clone)]
struct PoolArgs {
    /// Most database connections this process holds open at once (default: 10 for
    /// PostgreSQL, 4 readers plus the one writer for SQLite).
    #[arg(long, env = "STACKGATE_DB_MAX_CONNECTIONS")]
    db_max_connections: Option<u32>,
    /// Seconds a request waits for a free database connection (and, when the database is
    /// unreachable, for a new one) before it fails.
    #[arg(long, env = "STACKGATE_DB_ACQUIRE_TIMEOUT", default_value_t = 10)]
    db_acquire_timeout: u64,
}

#[derive(Subcommand)]
enum Command {
    /// Run the API server.
    Serve {
        /// Address to listen on.
        #[arg(long, env = "STACKGATE_LISTEN", default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Reverse proxies whose `X-Forwarded-For` header is believed for the audit log's
        /// source IP: comma-separated addresses or CIDR ranges (default: none).
        #[arg(long, env = "STACKGATE_TRUSTED_PROXIES", value_delimiter = ',')]
        trusted_proxies: Vec<IpNet>,
        /// Seconds between applications of the orgs' audit-log retention settings.
        #[arg(long, env = "STACKGATE_AUDIT_PRUNE_INTERVAL", default_value_t = 3600)]
        audit_prune_interval: u64,
        /// Always mark the console's session cookie `Secure`. Without it the cookie is
        /// `Secure` only when a trusted proxy says `X-Forwarded-Proto: https`.
        #[arg(long, env = "STACKGATE_SECURE_COOKIES")]
        secure_cookies: bool,
        /// Serve Prometheus metrics at `http://ADDR/metrics` (a listener of its own, e.g.
        /// 127.0.0.1:9090); off by default.
        #[arg(long, env = "STACKGATE_METRICS_LISTEN")]
        metrics_listen: Option<SocketAddr>,
        /// Seconds requests in flight may run on after SIGTERM/SIGINT before they are cut off.
        #[arg(long, env = "STACKGATE_SHUTDOWN_GRACE", default_value_t = 20)]
        shutdown_grace: u64,
        /// Largest state body (checkpoint, import, ...) after decompression, in MiB.
        #[arg(long, env = "STACKGATE_MAX_STATE_SIZE", default_value_t = 512)]
        max_state_size: usize,
        /// How many versions of each stack's state to keep (default: all). Update
        /// history stays; `stack export --version` of a dropped version answers 404.
        #[arg(long, env = "STACKGATE_KEEP_VERSIONS")]
        keep_versions: Option<u32>,
        #[command(flatten)]
        keys: secrets_key::KeyArgs,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Create an organization and its first admin (a site admin), and print a personal
    /// access token for that admin as the last line of stdout.
    Init {
        /// Organization name.
        #[arg(long, env = "STACKGATE_INIT_ORG")]
        org: String,
        /// Login of the admin user (created if missing).
        #[arg(long, env = "STACKGATE_INIT_ADMIN")]
        admin: String,
        /// Email of the admin user, when it is created.
        #[arg(long, default_value = "")]
        email: String,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Manage users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Audit log operations.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Write a consistent copy of the SQLite database (while `serve` runs) and, next to
    /// it, the secrets master key (`FILE.secrets-key`), then check the copy: its counts
    /// and every org's audit chain. Restore: stop the server, put FILE in place of the
    /// database and FILE.secrets-key at `<database>.secrets-key` (or pass it with
    /// --secrets-key-file). For PostgreSQL use pg_dump, and keep the key file with it.
    Backup {
        /// The backup file to create (must not exist).
        #[arg(long)]
        to: std::path::PathBuf,
        #[command(flatten)]
        keys: secrets_key::KeyArgs,
        #[command(flatten)]
        db: DbArgs,
    },
    /// The secrets master key.
    Secrets {
        #[command(subcommand)]
        command: SecretsCommand,
    },
    /// Apply database migrations and exit.
    Migrate {
        #[command(flatten)]
        db: DbArgs,
    },
    /// Copy a whole installation (users and password hashes, orgs, members, teams,
    /// stacks, grants, tokens, audit logs) into an empty database, then verify the row
    /// counts and every org's audit chain on the destination. Sessions are not copied.
    Copy {
        /// Source database URL (e.g. sqlite:///var/lib/stackgate/stackgate.db).
        #[arg(long)]
        from: String,
        /// Destination database URL (e.g. postgres://...); must be empty.
        #[arg(long)]
        to: String,
        #[command(flatten)]
        pool: PoolArgs,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Walk an organization's audit hash chain and report the first broken link.
    /// Exits with status 1 when the chain does not verify.
    Verify {
        /// Organization name.
        #[arg(long)]
        org: String,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Apply every organization's audit-log retention setting now.
    Prune {
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(Subcommand)]
enum SecretsCommand {
    /// Re-wrap every stack's secrets data key under a new master key (one transaction),
    /// then restart every server with the new key. The current key comes from the usual
    /// options; the new one from `--new-key-file`, generated there (mode 0600) if missing.
    RotateMasterKey {
        #[arg(long)]
        new_key_file: std::path::PathBuf,
        #[command(flatten)]
        keys: secrets_key::KeyArgs,
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user and print a personal access token for them as the last line of stdout.
    Create {
        /// The user's login.
        login: String,
        #[arg(long, default_value = "")]
        email: String,
        /// Display name (defaults to the login).
        #[arg(long, default_value = "")]
        name: String,
        /// Also set the user's console password, read as one line from stdin.
        #[arg(long)]
        password_stdin: bool,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Set a user's console password, read as one line from stdin (at least 12
    /// characters). Ends the user's console sessions.
    SetPassword {
        /// The user's login.
        login: String,
        #[command(flatten)]
        db: DbArgs,
    },
}

async fn open_store(db: &DbArgs) -> Result<Arc<dyn Store>> {
    open_url(&db.database, &db.pool).await
}

async fn open_url(url: &str, pool: &PoolArgs) -> Result<Arc<dyn Store>> {
    if url.starts_with("sqlite:") {
        let store = SqliteStore::connect_with(
            url,
            pool.db_max_connections
                .unwrap_or(stackgate_store_sqlite::DEFAULT_READ_CONNECTIONS),
        )
        .await
        .with_context(|| format!("opening SQLite database {url}"))?;
        Ok(Arc::new(store))
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        let config = PgPoolConfig {
            max_connections: pool
                .db_max_connections
                .unwrap_or(PgPoolConfig::default().max_connections),
            acquire_timeout: std::time::Duration::from_secs(pool.db_acquire_timeout.max(1)),
            ..PgPoolConfig::default()
        };
        let store = PostgresStore::connect_with(url, config)
            .await
            .with_context(|| format!("connecting to PostgreSQL database {}", redact(url)))?;
        Ok(Arc::new(store))
    } else {
        bail!("unsupported database URL (expected sqlite://... or postgres://...)")
    }
}

/// `stackgate backup`: the database snapshot, the key beside it, and a check of the copy.
async fn backup(to: &std::path::Path, keys: &secrets_key::KeyArgs, db: &DbArgs) -> Result<()> {
    if !db.database.starts_with("sqlite:") {
        bail!(
            "backup copies SQLite databases; for PostgreSQL use pg_dump (and keep the secrets \
             key file every replica uses with the dump)"
        );
    }
    stackgate_store_sqlite::backup(&db.database, to)
        .await
        .with_context(|| format!("writing the backup {}", to.display()))?;
    let mut key_copy = to.as_os_str().to_owned();
    key_copy.push(".secrets-key");
    let key_copy = std::path::PathBuf::from(key_copy);
    match secrets_key::key_file(keys, &db.database) {
        Some(source) if source.exists() => {
            let key = stackgate_secrets::MasterKey::load_file(&source)?;
            key.save_new_file(&key_copy)?;
            println!(
                "secrets master key {} copied to {} (mode 0600)",
                key.id(),
                key_copy.display()
            );
        }
        Some(_) | None => println!(
            "no secrets key file to copy: the key is given by STACKGATE_SECRETS_KEY or not \
             created yet; keep it with this backup"
        ),
    }
    let copy_url = format!("sqlite://{}", to.display());
    let store: Arc<dyn Store> = Arc::new(
        SqliteStore::connect(&copy_url)
            .await
            .with_context(|| format!("opening the backup {}", to.display()))?,
    );
    let counts = stackgate_core::copy::count(store.as_ref()).await?;
    println!(
        "backup {}: {} users, {} orgs, {} stacks, {} tokens, {} audit events, {} updates, {} checkpoints",
        to.display(),
        counts.users,
        counts.orgs,
        counts.stacks,
        counts.tokens,
        counts.audit_events,
        counts.updates,
        counts.checkpoints
    );
    let service = Service::new(store);
    for org in service.org_names().await? {
        let v = service.verify_audit_as_operator(&org).await?;
        if let Some(b) = v.broken {
            bail!(
                "audit chain of '{org}' does not verify in the backup at #{}: {}",
                b.seq,
                b.reason
            );
        }
        println!(
            "ok: audit chain of '{org}' verified in the backup ({} events)",
            v.checked
        );
    }
    Ok(())
}

/// Registers the SIGINT and SIGTERM handlers *now* and resolves when either arrives.
/// Called before the server logs its address, so that a signal sent as soon as it says
/// it listens (a supervisor, a test) finds the handler in place instead of killing it.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let int = signal(SignalKind::interrupt());
        let term = signal(SignalKind::terminate());
        async move {
            let (mut int, mut term) = match (int, term) {
                (Ok(int), Ok(term)) => (int, term),
                (Err(e), _) | (_, Err(e)) => {
                    tracing::error!(error = %e, "cannot listen for SIGINT/SIGTERM");
                    return std::future::pending::<()>().await;
                }
            };
            tokio::select! {
                _ = int.recv() => {},
                _ = term.recv() => {},
            }
        }
    }
    #[cfg(not(unix))]
    async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for ctrl-c");
            std::future::pending::<()>().await;
        }
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    init_logs(cli.log_format);
    match cli.command {
        Command::Serve {
            listen,
            trusted_proxies,
            audit_prune_interval,
            secure_cookies,
            metrics_listen,
            shutdown_grace,
            max_state_size,
            keep_versions,
            keys,
            db,
        } => {
            let store = open_store(&db).await?;
            let secrets = secrets_key::resolve(&keys, &db.database)?;
            let service = Service::new(store)
                .with_secrets_key(secrets)
                .with_state_settings(stackgate_core::service::StateSettings {
                    keep_versions: keep_versions.filter(|k| *k > 0),
                });
            // Other replicas' commits invalidate this process's token cache.
            let cache = service.auth_cache().clone();
            service
                .store()
                .watch_changes(Arc::new(move || cache.invalidate_all()));
            if !service.has_users().await? {
                tracing::warn!(
                    "no users yet: create the first organization and admin with \
                     `stackgate init --org ORG --admin LOGIN` (it prints an access token)"
                );
            }
            if let Some(addr) = metrics_listen {
                metrics::serve(addr, service.clone()).await?;
            }
            let listener = tokio::net::TcpListener::bind(listen)
                .await
                .with_context(|| format!("binding {listen}"))?;
            let shutdown = shutdown_signal();
            tracing::info!(address = %listener.local_addr()?, database = %redact(&db.database), "stackgate listening");
            tokio::spawn(prune_periodically(service.clone(), audit_prune_interval));
            let console = stackgate_console::ConsoleConfig {
                secure_cookies,
                trusted_proxies: trusted_proxies.clone(),
                ..stackgate_console::ConsoleConfig::default()
            };
            let config = ServerConfig {
                trusted_proxies,
                max_state_bytes: max_state_size.saturating_mul(1024 * 1024),
            };
            let app = stackgate_server::router_with(service.clone(), config)
                .merge(stackgate_console::router(service, console));
            let grace = std::time::Duration::from_secs(shutdown_grace);
            stackgate_server::serve_app(listener, app, shutdown, grace).await?;
            tracing::info!("stackgate stopped");
        }
        Command::Init {
            org,
            admin,
            email,
            db,
        } => {
            let service = Service::new(open_store(&db).await?);
            let created = service.init_org(&org, &admin, &email, "cli").await?;
            println!("Organization '{org}' is ready; '{admin}' is its admin.");
            println!("Personal access token for {admin} (shown once):");
            println!("{}", created.value.expose());
        }
        Command::User {
            command:
                UserCommand::Create {
                    login,
                    email,
                    name,
                    password_stdin,
                    db,
                },
        } => {
            let password = if password_stdin {
                let password = read_password()?;
                // Refuse a bad password before the user exists, not after.
                stackgate_core::service::check_password(&password)?;
                Some(password)
            } else {
                None
            };
            let service = Service::new(open_store(&db).await?);
            let user = service.create_user(&login, &name, &email, false).await?;
            if let Some(password) = password {
                service.set_password(&login, &password).await?;
            }
            let created = service
                .issue_user_token(&user, "created by stackgate user create")
                .await?;
            println!("User '{login}' created.");
            println!("Personal access token for {login} (shown once):");
            println!("{}", created.value.expose());
        }
        Command::User {
            command: UserCommand::SetPassword { login, db },
        } => {
            let password = read_password()?;
            let service = Service::new(open_store(&db).await?);
            service.set_password(&login, &password).await?;
            println!("Password of '{login}' set; their console sessions were ended.");
        }
        Command::Audit {
            command: AuditCommand::Verify { org, db },
        } => {
            let service = Service::new(open_store(&db).await?);
            let v = service.verify_audit_as_operator(&org).await?;
            match v.broken {
                None => println!(
                    "ok: audit chain of '{org}' verified: {} events checked, head #{}, pruned through #{}",
                    v.checked, v.head_seq, v.pruned_seq
                ),
                Some(b) => {
                    println!(
                        "BROKEN: audit chain of '{org}' fails at event #{}: {} ({} events verified before it)",
                        b.seq, b.reason, v.checked
                    );
                    std::process::exit(1);
                }
            }
        }
        Command::Backup { to, keys, db } => backup(&to, &keys, &db).await?,
        Command::Secrets {
            command:
                SecretsCommand::RotateMasterKey {
                    new_key_file,
                    keys,
                    db,
                },
        } => {
            let stackgate_core::service::SecretsKey::Ready(old) =
                secrets_key::resolve(&keys, &db.database)?
            else {
                bail!("no current master key: give it with --secrets-key-file or STACKGATE_SECRETS_KEY");
            };
            let (new, created) = stackgate_secrets::MasterKey::load_or_create_file(&new_key_file)?;
            if new.id() == old.id() {
                bail!("the new key is the current key");
            }
            let service = Service::new(open_store(&db).await?);
            let count = service.rotate_master_key(&old, &new).await?;
            println!(
                "{count} stack keys re-wrapped from master key {} to {} ({}).",
                old.id(),
                new.id(),
                if created { "generated" } else { "loaded" }
            );
            println!(
                "Restart every stackgate server with --secrets-key-file {} and back that file up.",
                new_key_file.display()
            );
        }
        Command::Audit {
            command: AuditCommand::Prune { db },
        } => {
            let service = Service::new(open_store(&db).await?);
            for (org, removed) in service.prune_audit_logs("cli").await? {
                println!("{org}: {removed} events removed");
            }
        }
        Command::Copy { from, to, pool } => {
            let source = open_url(&from, &pool).await?;
            let destination = open_url(&to, &pool).await?;
            let report = stackgate_core::copy::copy(source, destination)
                .await
                .context("copying the installation")?;
            let c = &report.counts;
            println!(
                "copied: {} users ({} with passwords), {} orgs, {} memberships, {} teams, \
                 {} team members, {} stacks, {} team grants, {} tokens, {} audit events, \
                 {} updates ({} engine events), {} checkpoints, {} stack keys",
                c.users,
                c.password_hashes,
                c.orgs,
                c.memberships,
                c.teams,
                c.team_members,
                c.stacks,
                c.team_grants,
                c.tokens,
                c.audit_events,
                c.updates,
                c.update_events,
                c.checkpoints,
                c.stack_keys
            );
            if c.stack_keys > 0 {
                println!(
                    "the stack keys are wrapped by the source's secrets master key: run the \
                     destination with that key (--secrets-key-file or STACKGATE_SECRETS_KEY)"
                );
            }
            for (org, checked) in &report.verified_chains {
                println!(
                    "ok: audit chain of '{org}' verified on the destination ({checked} events)"
                );
            }
        }
        Command::Migrate { db } => {
            open_store(&db).await?;
            println!("migrations applied");
        }
    }
    Ok(())
}

/// One line of stdin, without its line ending: a console password.
fn read_password() -> Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .context("reading the password from stdin")?;
    let password = line.trim_end_matches(['\r', '\n']).to_string();
    if password.is_empty() {
        bail!("no password on stdin");
    }
    Ok(password)
}

/// Applies audit-log retention now and then, for as long as the server runs.
async fn prune_periodically(service: Service, interval_secs: u64) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(interval_secs.max(1)));
    loop {
        tick.tick().await;
        match service.prune_audit_logs("retention").await {
            Ok(pruned) => {
                for (org, removed) in pruned {
                    tracing::info!(org = %org, removed, "audit events removed by retention");
                }
            }
            Err(e) => tracing::error!(error = %e, "audit retention failed"),
        }
    }
}

/// A database URL without any password, for log lines and error messages: the password
/// of the user-info part and a `password=` query parameter (both read by sqlx) become
/// `***`; a URL that does not parse is not shown at all.
fn redact(raw: &str) -> String {
    let Ok(mut url) = url::Url::parse(raw) else {
        return "<database URL not shown: it does not parse>".to_string();
    };
    if url.password().is_some() {
        // Fails only for URLs that cannot have a password, which this one has.
        let _ = url.set_password(Some("***"));
    }
    let is_password = |k: &str| k.eq_ignore_ascii_case("password");
    if url.query_pairs().any(|(k, _)| is_password(&k)) {
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(k, v)| {
                let v = if is_password(&k) {
                    "***".into()
                } else {
                    v.into_owned()
                };
                (k.into_owned(), v)
            })
            .collect();
        url.query_pairs_mut().clear().extend_pairs(pairs);
    }
    url.to_string()
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn redact_hides_every_password_form_sqlx_reads() {
        for (raw, shown) in [
            ("sqlite://stackgate.db", "sqlite://stackgate.db"),
            ("sqlite:///var/lib/sg.db", "sqlite:///var/lib/sg.db"),
            ("postgres://sg@db:5432/sg", "postgres://sg@db:5432/sg"),
            (
                "postgres://sg:S3cret@db:5432/sg",
                "postgres://sg:***@db:5432/sg",
            ),
            (
                "postgres://sg@db/sg?password=S3cret&sslmode=require",
                "postgres://sg@db/sg?password=***&sslmode=require",
            ),
            (
                "postgres:///sg?host=/run/pg&user=u&PASSWORD=S3cret",
                "postgres:///sg?host=%2Frun%2Fpg&user=u&PASSWORD=***",
            ),
            (
                "not a url S3cret",
                "<database URL not shown: it does not parse>",
            ),
        ] {
            let got = redact(raw);
            assert_eq!(got, shown, "{raw}");
            assert!(!got.contains("S3cret"), "{got}");
        }
    }
}
