//! A throw-away gateway on a temporary SQLite file, driven in-process with no HTTP: what
//! `demo` and `simulate` run on.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use tg_access::{Plan, Principal, Scope};
use tg_service::{Gateway, GatewayConfig, ServiceError};

pub(crate) fn err(e: ServiceError) -> anyhow::Error {
    anyhow::anyhow!("{e}")
}

/// The gateway, its operator, and the directory its database lives in (removed on drop).
pub(crate) struct Scratch {
    pub g: Gateway,
    pub operator: Principal,
    pub actor: tg_audit::Actor,
    pub path: PathBuf,
    _dir: tempfile::TempDir,
}

/// Opens a fresh gateway on `file` in a temporary directory, on `clock` (the system's
/// when `None`), with a random secret and admin key.
pub(crate) async fn open(
    file: &str,
    clock: Option<Arc<dyn tg_core::Clock>>,
) -> anyhow::Result<Scratch> {
    let dir = tempfile::tempdir().context("no temporary directory")?;
    let path = dir.path().join(file);
    let db = tg_store::Db::connect(&tg_store::DbConfig::Sqlite(
        path.to_string_lossy().into_owned(),
    ))
    .await
    .with_context(|| format!("cannot open {}", path.display()))?;
    let key = format!("scratch-admin-key-{}", tg_core::random_hex::<16>());
    let mut config = GatewayConfig::in_process(tg_core::random_hex::<32>().into_bytes(), &key);
    if let Some(clock) = clock {
        config.clock = clock;
    }
    let g = Gateway::start(Arc::new(db), config).await.map_err(err)?;
    let operator = g.authenticate(Some(&key)).await.map_err(err)?;
    let actor = g.actor(Some(&operator), None);
    Ok(Scratch {
        g,
        operator,
        actor,
        path,
        _dir: dir,
    })
}

impl Scratch {
    /// A new tenant account (enterprise plan) and the principal of a write key of it.
    pub(crate) async fn tenant(&self, name: &str) -> anyhow::Result<Principal> {
        let (g, p, actor) = (&self.g, &self.operator, &self.actor);
        let a = g
            .create_account(p, actor, name, Plan::Enterprise)
            .await
            .map_err(err)?;
        let key = g
            .create_key(p, actor, &a.id, Scope::Write)
            .await
            .map_err(err)?;
        g.authenticate(Some(&key.plaintext)).await.map_err(err)
    }
}
