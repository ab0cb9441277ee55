//! Where the gateway's secrets come from.
//!
//! - SQLite file: secrets missing from the environment are generated once and kept beside
//!   the database in `<db>.secrets.json`, created with mode 0600; a secrets file readable
//!   by others is refused.
//! - SQLite `:memory:`: generated per process (nothing outlives it).
//! - PostgreSQL: `SECRET_KEY` must come from the environment (every instance needs the same
//!   one); without `API_KEY`, an admin key is generated into `ADMIN_KEY_FILE` (0600).

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};
use tg_core::Secret;
use tg_store::DbConfig;

use crate::Settings;

/// The secrets the gateway runs with.
#[derive(Debug)]
pub struct Resolved {
    pub secret_key: Secret<Vec<u8>>,
    /// A generated `tgk_` admin key to make sure exists in the database.
    pub admin_key: Option<Secret<String>>,
    /// The file that holds it (printed at start so the operator can find the key).
    pub admin_key_file: Option<PathBuf>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SecretsFile {
    secret_key: String,
    admin_api_key: String,
}

fn generated_secret() -> String {
    tg_core::random_hex::<32>()
}

pub fn resolve(settings: &Settings) -> anyhow::Result<Resolved> {
    match &settings.database {
        DbConfig::Sqlite(path) if path == ":memory:" => Ok(Resolved {
            secret_key: settings
                .secret_key
                .clone()
                .unwrap_or_else(|| Secret::new(generated_secret().into_bytes())),
            admin_key: Some(Secret::new(tg_access::new_plaintext_key())),
            admin_key_file: None,
        }),
        DbConfig::Sqlite(path) => {
            let file = PathBuf::from(format!("{path}.secrets.json"));
            let stored = load_or_create(&file, || {
                let s = SecretsFile {
                    secret_key: generated_secret(),
                    admin_api_key: tg_access::new_plaintext_key(),
                };
                serde_json::to_vec_pretty(&s).map_err(anyhow::Error::from)
            })?;
            let stored: SecretsFile = serde_json::from_slice(&stored)
                .with_context(|| format!("{} is not a valid secrets file", file.display()))?;
            crate::config::check_secret("the secrets file's secret_key", &stored.secret_key, 32)?;
            let secret_key = settings
                .secret_key
                .clone()
                .unwrap_or_else(|| Secret::new(stored.secret_key.into_bytes()));
            Ok(Resolved {
                secret_key,
                admin_key: Some(Secret::new(stored.admin_api_key)),
                admin_key_file: Some(file),
            })
        }
        DbConfig::Postgres { .. } => {
            let Some(secret_key) = settings.secret_key.clone() else {
                bail!(
                    "SECRET_KEY must be set when DATABASE_URL is PostgreSQL: every instance must share it (e.g. `export SECRET_KEY=$(openssl rand -hex 32)`)"
                );
            };
            if settings.api_key.is_some() {
                return Ok(Resolved {
                    secret_key,
                    admin_key: None,
                    admin_key_file: None,
                });
            }
            let file = settings.admin_key_file.clone();
            let key = load_or_create(&file, || Ok(tg_access::new_plaintext_key().into_bytes()))?;
            let key = String::from_utf8(key)
                .with_context(|| format!("{} is not a key file", file.display()))?;
            Ok(Resolved {
                secret_key,
                admin_key: Some(Secret::new(key.trim().to_owned())),
                admin_key_file: Some(file),
            })
        }
    }
}

/// Reads `path`, or creates it with `make()` and mode 0600 if it does not exist. Refuses a
/// file that group or others can read.
fn load_or_create(
    path: &Path,
    make: impl FnOnce() -> anyhow::Result<Vec<u8>>,
) -> anyhow::Result<Vec<u8>> {
    match std::fs::read(path) {
        Ok(bytes) => {
            check_private(path)?;
            Ok(bytes)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let bytes = make()?;
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("cannot create {}", dir.display()))?;
            }
            let mut file = create_private(path)
                .with_context(|| format!("cannot create {}", path.display()))?;
            file.write_all(&bytes)?;
            file.sync_all()?;
            Ok(bytes)
        }
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

#[cfg(unix)]
fn create_private(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

#[cfg(not(unix))]
fn create_private(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
}

#[cfg(unix)]
fn check_private(path: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)?.permissions().mode();
    if mode & 0o077 != 0 {
        bail!(
            "{} is readable by other users (mode {:o}); run `chmod 600 {}`",
            path.display(),
            mode & 0o777,
            path.display()
        );
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_: &Path) -> anyhow::Result<()> {
    Ok(())
}
