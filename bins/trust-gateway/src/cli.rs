//! The command line: `trust-gateway [serve|migrate]`.

use anyhow::Context;

use crate::{Settings, start, telemetry};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Serve,
    Migrate,
    Demo,
    Help,
    Version,
}

pub const USAGE: &str = "\
usage: trust-gateway [serve|migrate|demo]

  serve     start the server (default): http on HOST:PORT (127.0.0.1:8002)
  migrate   apply database migrations and exit
  demo      two agents on a temporary database: how scores, tiers and decisions move

configuration (environment):
  DATABASE_URL   sqlite://PATH (default sqlite://trust-gateway.db), sqlite::memory:, postgres://...
  PORT, HOST     where to listen (default 127.0.0.1:8002; HOST=0.0.0.0 in containers)
  SECRET_KEY     receipt/key-sealing secret (generated beside a SQLite file; required on PostgreSQL)
  API_KEY        an admin API key accepted as is (V2 compatibility)
  JWT_SECRET     sign tokens HS256 instead of EdDSA (V2 compatibility)
  POLICY_FILE    TOML scoring policy; or POLICY_PRESET=default|gateway-v2|joy-v1
  TRUST_BUNDLE_DIR  per trust domain <domain>.pem and/or <domain>.jwks.json (reloaded on change)
    RATE_LIMIT_FREE, RATE_LIMIT_PRO, RATE_LIMIT_ENTERPRISE  per-key plan rates: N/s, N/min or N/h
  VOUCH_PRETRUSTED, VOUCH_RECOMPUTE_SECS  EigenTrust seeds and recompute period
  WEBHOOK_ALLOW_NETS, WEBHOOK_TIMEOUT_SECS, WEBHOOK_DISABLE_AFTER_HOURS  webhook delivery
  GATEWAY_AUDIENCE, GATEWAY_ISSUER, WORKERS, DATABASE_POOL_SIZE, ADMIN_KEY_FILE, LOG_FORMAT=json|text, LOG_LEVEL
";

pub fn parse(args: &[String]) -> Result<Command, String> {
    match args {
        [] => Ok(Command::Serve),
        [one] => match one.as_str() {
            "serve" => Ok(Command::Serve),
            "migrate" => Ok(Command::Migrate),
            "demo" => Ok(Command::Demo),
            "-h" | "--help" | "help" => Ok(Command::Help),
            "-V" | "--version" => Ok(Command::Version),
            other => Err(format!("unknown command `{other}`\n\n{USAGE}")),
        },
        _ => Err(format!("too many arguments\n\n{USAGE}")),
    }
}

pub async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Help => {
            print!("{USAGE}");
            Ok(())
        }
        Command::Version => {
            println!("trust-gateway {}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
        Command::Demo => crate::demo::run().await,
        Command::Migrate => {
            let settings = Settings::from_env()?;
            telemetry::init(settings.log_json);
            tg_store::migrate(&settings.database)
                .await
                .context("migration failed")?;
            tracing::info!(database = %settings.database_label(), "migrations applied");
            Ok(())
        }
        Command::Serve => {
            let settings = Settings::from_env()?;
            telemetry::init(settings.log_json);
            let running = start(&settings).await?;
            tracing::info!(
                address = %format!("http://{}", running.addr),
                database = %settings.database_label(),
                tokens = running.gateway.tokens().algorithm(),
                "trust-gateway listening"
            );
            match (&running.admin_key_file, settings.api_key.is_some()) {
                (Some(file), _) => {
                    tracing::info!(file = %file.display(), "admin API key (and generated secrets) stored in this file, mode 0600")
                }
                (None, true) => tracing::info!("admin API key: the API_KEY environment variable"),
                (None, false) => tracing::warn!(
                    "in-memory database: secrets and the admin key live only as long as this process"
                ),
            }
            if let Some(key) = &running.ephemeral_admin_key {
                // No file keeps it: the operator can only learn it here.
                println!("admin API key for this in-memory gateway: {key}");
            }
            running.server.await.context("server failed")
        }
    }
}
