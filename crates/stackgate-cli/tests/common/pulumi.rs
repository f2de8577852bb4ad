//! The real Pulumi CLI driven from tests: [`pulumi_bin`] finds the CLI that
//! `tools/pulumi-cli/build.sh` built (or says the test is skipped), [`Cli`] runs it as one
//! user with its own `PULUMI_HOME` and project directory, and [`Installation`] is a real
//! `stackgate serve` with `acme` (admin alice) and a team `platform`.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tempfile::TempDir;

use super::{init, Server};

pub const SWITCH: &str = "STACKGATE_TEST_PULUMI_BIN";
/// No CLI command here should take long; a hung one fails the test instead of CI.
pub const COMMAND_LIMIT: Duration = Duration::from_secs(120);

pub fn pulumi_bin(test: &str) -> Option<PathBuf> {
    match std::env::var(SWITCH) {
        Ok(dir) if Path::new(&dir).join("pulumi").is_file() => Some(PathBuf::from(dir)),
        _ => {
            println!("skipped {test}: {SWITCH} does not name a directory holding `pulumi`");
            None
        }
    }
}

/// One CLI user: its own `PULUMI_HOME`, logged in to the server with one token, and a
/// YAML project directory to run commands in.
pub struct Cli {
    bin: PathBuf,
    home: TempDir,
    pub project: TempDir,
    backend: String,
    token: String,
}

impl Cli {
    /// Logs in with the default program (`web`, one plain output).
    pub fn login(bin: &Path, server: &Server, token: &str) -> Cli {
        Cli::login_with(
            bin,
            server,
            token,
            "name: web\nruntime: yaml\noutputs:\n  greeting: hello\n",
        )
    }

    /// Logs in with `program` as the project's `Pulumi.yaml`.
    pub fn login_with(bin: &Path, server: &Server, token: &str, program: &str) -> Cli {
        let cli = Cli {
            bin: bin.to_path_buf(),
            home: tempfile::tempdir().expect("PULUMI_HOME"),
            project: tempfile::tempdir().expect("project dir"),
            backend: format!("http://{}", server.addr),
            token: token.to_string(),
        };
        cli.write_program(program);
        let backend = cli.backend.clone();
        let out = cli.ok(&["login", &backend]);
        assert!(out.contains("Logged in to"), "{out}");
        cli
    }

    /// Replaces the project's `Pulumi.yaml`.
    pub fn write_program(&self, program: &str) {
        std::fs::write(self.project.path().join("Pulumi.yaml"), program)
            .expect("write Pulumi.yaml");
    }

    /// Starts `pulumi ARGS` in the project directory; its output is read as it comes.
    pub fn spawn(&self, args: &[&str]) -> Running {
        self.spawn_with_env(args, &[])
    }

    /// [`Cli::spawn`] with extra environment variables.
    pub fn spawn_with_env(&self, args: &[&str], env: &[(&str, &str)]) -> Running {
        let path = format!(
            "{}:{}",
            self.bin.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        Command::new(self.bin.join("pulumi"))
            .args(args)
            .current_dir(self.project.path())
            .env("PATH", path)
            .env("PULUMI_HOME", self.home.path())
            .env("PULUMI_ACCESS_TOKEN", &self.token)
            .env("PULUMI_BACKEND_URL", &self.backend)
            .env("PULUMI_SKIP_UPDATE_CHECK", "true")
            .env("PULUMI_CREDENTIAL_STORE", "plaintext")
            .env("PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION", "true")
            .env("NO_COLOR", "true")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map(Running::new)
            .expect("spawn pulumi")
    }

    /// Runs `pulumi ARGS` in the project directory: (success, stdout + stderr).
    pub fn run(&self, args: &[&str]) -> (bool, String) {
        self.run_with_env(args, &[])
    }

    /// [`Cli::run`] with extra environment variables.
    pub fn run_with_env(&self, args: &[&str], env: &[(&str, &str)]) -> (bool, String) {
        finish(self.spawn_with_env(args, env), args)
    }

    pub fn ok(&self, args: &[&str]) -> String {
        let (ok, out) = self.run(args);
        assert!(ok, "pulumi {args:?} failed: {out}");
        out
    }

    pub fn refused(&self, args: &[&str]) -> String {
        let (ok, out) = self.run(args);
        assert!(!ok, "pulumi {args:?} should have been refused: {out}");
        out
    }

    pub fn json(&self, args: &[&str]) -> Value {
        let out = self.ok(args);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: {e}: {out}"))
    }
}

/// A server on a fresh SQLite database with `acme` (admin alice), a team `platform`, an
/// org token of each scope and a team token; returns the server and alice's token.
pub struct Installation {
    pub server: Server,
    pub db: String,
    pub alice: String,
    _dir: TempDir,
}

impl Installation {
    /// On a fresh SQLite database.
    pub fn start() -> Installation {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = format!("sqlite://{}", dir.path().join("cli.db").display());
        Installation::on(&db, &[], dir)
    }

    /// On the database `db` (empty), with `extra` arguments to `serve`; `dir` lives as
    /// long as the installation.
    pub fn on(db: &str, extra: &[&str], dir: TempDir) -> Installation {
        let db = db.to_string();
        let alice = init(&db);
        let server = Server::start(&db, extra);
        server.wait_ready(Duration::from_secs(30));
        let (st, body) = server.post(
            "/api/orgs/acme/teams/pulumi",
            &alice,
            &json!({"name": "platform", "displayName": "Platform", "description": ""}),
        );
        assert_eq!(st, 200, "{body}");
        Installation {
            server,
            db,
            alice,
            _dir: dir,
        }
    }

    pub fn org_token(&self, name: &str, admin: bool) -> String {
        let body = json!({"name": name, "description": "", "admin": admin, "expires": 0});
        let (st, body) = self
            .server
            .post("/api/orgs/acme/tokens", &self.alice, &body);
        assert_eq!(st, 200, "{body}");
        body["tokenValue"].as_str().expect("tokenValue").to_string()
    }

    pub fn team_token(&self, name: &str) -> String {
        let body = json!({"name": name, "description": "", "expires": 0});
        let path = "/api/orgs/acme/teams/platform/tokens";
        let (st, body) = self.server.post(path, &self.alice, &body);
        assert_eq!(st, 200, "{body}");
        body["tokenValue"].as_str().expect("tokenValue").to_string()
    }

    pub fn events(&self) -> Vec<Value> {
        let (st, body) = self
            .server
            .get("/api/orgs/acme/auditlogs/v2?pageSize=1000", &self.alice);
        assert_eq!(st, 200, "{body}");
        body["auditLogEvents"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }
}

/// A `pulumi` process started by [`Cli::spawn`], its output drained by two threads (so a
/// full pipe never stalls it).
pub struct Running {
    child: Child,
    stdout: std::thread::JoinHandle<String>,
    stderr: std::thread::JoinHandle<String>,
}

impl Running {
    fn new(mut child: Child) -> Running {
        let drain = |mut pipe: Box<dyn Read + Send>| {
            std::thread::spawn(move || {
                let mut text = String::new();
                let _ = pipe.read_to_string(&mut text);
                text
            })
        };
        let stdout = drain(Box::new(child.stdout.take().expect("stdout")));
        let stderr = drain(Box::new(child.stderr.take().expect("stderr")));
        Running {
            child,
            stdout,
            stderr,
        }
    }
}

/// Waits for a started `pulumi` (at most [`COMMAND_LIMIT`]): (success, stdout + stderr).
pub fn finish(running: Running, args: &[&str]) -> (bool, String) {
    let Running {
        mut child,
        stdout,
        stderr,
    } = running;
    let deadline = Instant::now() + COMMAND_LIMIT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for pulumi") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("pulumi {args:?} did not finish within {COMMAND_LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let out = format!(
        "{}{}",
        stdout.join().unwrap_or_default(),
        stderr.join().unwrap_or_default()
    );
    (status.success(), out)
}
