//! Where the secrets master key comes from: `STACKGATE_SECRETS_KEY` (the key itself),
//! `--secrets-key-file`, or — on SQLite only — a key file generated next to the database
//! on first start. With PostgreSQL, where every replica must use the same key, no key is
//! generated: the server starts without one and the secrets routes answer 503 saying how
//! to configure it.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::Args;
use stackgate_core::service::SecretsKey;
use stackgate_secrets::MasterKey;

#[derive(Args, Clone, Default)]
pub struct KeyArgs {
    /// File holding the secrets master key (44 base64 or 64 hex characters). Default on
    /// SQLite: `<database>.secrets-key`, generated on first start — back it up: losing
    /// it loses every stack's secrets.
    #[arg(long, env = "STACKGATE_SECRETS_KEY_FILE")]
    pub secrets_key_file: Option<PathBuf>,
    /// The secrets master key itself (prefer the file; the value never appears in logs).
    #[arg(
        long = "secrets-key",
        env = "STACKGATE_SECRETS_KEY",
        hide_env_values = true
    )]
    pub secrets_key: Option<String>,
}

/// The SQLite database file of `url`, if it is one on disk.
fn sqlite_file(url: &str) -> Option<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or(rest);
    if path.is_empty() || path.contains(":memory:") {
        return None;
    }
    Some(PathBuf::from(path))
}

/// The key file a server on `database` uses: `--secrets-key-file`, else (SQLite) the
/// default beside the database; `None` when the key comes from `STACKGATE_SECRETS_KEY`.
pub fn key_file(args: &KeyArgs, database: &str) -> Option<PathBuf> {
    if args.secrets_key.is_some() {
        return None;
    }
    if let Some(path) = &args.secrets_key_file {
        return Some(path.clone());
    }
    let db_file = sqlite_file(database)?;
    let mut name = db_file.into_os_string();
    name.push(".secrets-key");
    Some(PathBuf::from(name))
}

/// Resolves the master key for a server or command on `database`.
pub fn resolve(args: &KeyArgs, database: &str) -> Result<SecretsKey> {
    if let Some(text) = &args.secrets_key {
        let key = MasterKey::from_encoded(text).context("STACKGATE_SECRETS_KEY")?;
        return Ok(SecretsKey::Ready(Arc::new(key)));
    }
    if let Some(path) = &args.secrets_key_file {
        let key = MasterKey::load_file(path)?;
        return Ok(SecretsKey::Ready(Arc::new(key)));
    }
    if database.starts_with("sqlite:") {
        let Some(path) = key_file(args, database) else {
            // An in-memory database lives as long as the process: so may its key.
            return Ok(SecretsKey::Ready(Arc::new(MasterKey::generate())));
        };
        let (key, created) = MasterKey::load_or_create_file(&path)?;
        if created {
            tracing::warn!(
                path = %path.display(),
                key_id = key.id(),
                "generated the secrets master key: BACK THIS FILE UP with the database. \
                 Without it no stack secret can ever be decrypted again"
            );
        } else {
            tracing::info!(path = %path.display(), key_id = key.id(), "secrets master key loaded");
        }
        return Ok(SecretsKey::Ready(Arc::new(key)));
    }
    let missing = SecretsKey::default();
    tracing::warn!(
        "no secrets master key configured: stack secrets (encrypt/decrypt) answer 503 \
         until every replica runs with the same --secrets-key-file or STACKGATE_SECRETS_KEY"
    );
    Ok(missing)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_sqlite_file() {
        assert_eq!(
            sqlite_file("sqlite:///var/a.db"),
            Some(PathBuf::from("/var/a.db"))
        );
        assert_eq!(
            sqlite_file("sqlite://rel.db?mode=rwc"),
            Some(PathBuf::from("rel.db"))
        );
        assert_eq!(sqlite_file("sqlite::memory:"), None);
        assert_eq!(sqlite_file("postgres://x"), None);
    }
}
