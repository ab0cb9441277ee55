//! The server binary's library half: configuration, secrets, start-up. The black-box tests
//! start the gateway through [`start`] exactly as `main` does.

pub mod bundles;
pub mod cli;
pub mod config;
mod demo;
mod operate;
mod scratch;
pub mod secrets;
mod simulate;
mod telemetry;
mod verify_export;
mod verify_log;

use std::net::TcpListener;
use std::sync::Arc;

use anyhow::Context;
use tg_service::{Gateway, GatewayConfig};
use tg_store::Db;

pub use config::Settings;

/// A started gateway: its address and the server future to await (or spawn).
pub struct Running {
    pub addr: std::net::SocketAddr,
    pub gateway: Arc<Gateway>,
    pub server: actix_web::dev::Server,
    /// Where the generated admin key was written, when one was.
    pub admin_key_file: Option<std::path::PathBuf>,
    /// The generated admin key of an in-memory database, which no file keeps.
    pub ephemeral_admin_key: Option<tg_core::Secret<String>>,
}

impl std::fmt::Debug for Running {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Running")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

/// Connects (and migrates) the store, loads or generates secrets and bootstraps the
/// gateway; `workers: false` leaves out the vouch and webhook workers (command-line use).
async fn gateway(
    settings: &Settings,
    workers: bool,
) -> anyhow::Result<(
    Arc<Gateway>,
    secrets::Resolved,
    Option<bundles::DirectorySource>,
)> {
    let resolved = secrets::resolve(settings)?;
    let db = Db::connect(&settings.database)
        .await
        .context("cannot open the database")?;
    let source = settings
        .trust_bundle_dir
        .clone()
        .map(|dir| bundles::DirectorySource { dir });
    let trust_bundles = match &source {
        Some(s) => tg_service::BundleSource::load(s).map_err(anyhow::Error::msg)?,
        None => tg_identity::TrustBundles::default(),
    };
    let mut config = GatewayConfig {
        secret_key: resolved.secret_key.clone(),
        jwt_secret: settings.jwt_secret.clone(),
        env_api_key: settings.api_key.clone(),
        bootstrap_admin_key: resolved.admin_key.clone(),
        issuer: settings.issuer.clone(),
        audience: settings.audience.clone(),
        policy: settings.policy.clone(),
        clock: Arc::new(tg_core::SystemClock),
        trust_bundles,
        bundle_source: source
            .clone()
            .map(|s| Arc::new(s) as Arc<dyn tg_service::BundleSource>),
        vouching: settings.vouching,
        webhooks: settings.webhooks.clone(),
        maintenance: settings.maintenance,
        log: settings.log.clone(),
        decisions: settings.decisions.clone(),
        audit_queue: settings.audit_queue,
    };
    if !workers {
        config.vouching.every = None;
        config.webhooks.poll = None;
        config.maintenance.every = None;
        config.log.every = None;
        config.decisions.probe_every = None;
    }
    let gateway = Arc::new(
        Gateway::start(Arc::new(db), config)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?,
    );
    Ok((gateway, resolved, source))
}

/// The gateway of `settings` for one command-line operation: the server's database and
/// secrets, no HTTP, no background workers.
pub async fn open(settings: &Settings) -> anyhow::Result<Arc<Gateway>> {
    Ok(gateway(settings, false).await?.0)
}

/// Connects (and migrates) the store, loads or generates secrets, bootstraps the gateway and
/// binds the HTTP server.
pub async fn start(settings: &Settings) -> anyhow::Result<Running> {
    let (gateway, resolved, source) = gateway(settings, true).await?;
    let listener = TcpListener::bind((settings.host.as_str(), settings.port))
        .with_context(|| format!("cannot listen on {}:{}", settings.host, settings.port))?;
    let addr = listener.local_addr()?;
    if let Some(s) = source {
        bundles::watch(s, Arc::clone(&gateway));
    }
    reload_signing_keys(Arc::downgrade(&gateway));
    let server = tg_api::server(
        Arc::clone(&gateway),
        listener,
        tg_api::ServerOptions {
            workers: settings.workers,
            rate_limits: settings.rate_limits,
            metrics_public: settings.metrics_public,
        },
    )?;
    let ephemeral_admin_key = if resolved.admin_key_file.is_none() {
        resolved.admin_key.clone()
    } else {
        None
    };
    Ok(Running {
        addr,
        gateway,
        server,
        admin_key_file: resolved.admin_key_file,
        ephemeral_admin_key,
    })
}

/// Re-reads the token-signing keys every `SIGNING_KEY_RELOAD_SECS`, so a key rotated in on
/// any instance (or by `trust-gateway signing-keys rotate`) is published here too before it
/// signs. Ends with the gateway.
fn reload_signing_keys(gateway: std::sync::Weak<Gateway>) {
    tokio::spawn(async move {
        let every = std::time::Duration::from_secs(tg_service::SIGNING_KEY_RELOAD_SECS);
        let mut tick = tokio::time::interval(every);
        tick.tick().await;
        loop {
            tick.tick().await;
            let Some(g) = gateway.upgrade() else { return };
            if let Err(e) = g.reload_signing_keys().await {
                tracing::warn!(error = %tg_core::ErrorChain(&e), "cannot reload the signing keys; keeping the current ones");
            }
        }
    });
}
