//! Typed settings from the environment (and an optional TOML policy file).

use std::path::PathBuf;

use anyhow::{Context, bail};
use tg_core::Secret;
use tg_scoring::{Policy, Preset};
use tg_store::DbConfig;

/// Everything the server reads at start. Secrets never print (see `Debug`).
#[derive(Clone)]
pub struct Settings {
    pub host: String,
    pub port: u16,
    pub database: DbConfig,
    /// `SECRET_KEY`: required on PostgreSQL, generated into the secrets file on SQLite.
    pub secret_key: Option<Secret<Vec<u8>>>,
    /// `JWT_SECRET`: switches tokens to HS256 (V2 compatibility).
    pub jwt_secret: Option<Secret<Vec<u8>>>,
    /// `API_KEY`: accepted as the admin key, as it is.
    pub api_key: Option<Secret<String>>,
    pub issuer: String,
    pub audience: String,
    pub policy: Policy,
    pub workers: usize,
    /// Where a generated admin key goes when the database is not a local file.
    pub admin_key_file: PathBuf,
    pub log_json: bool,
    /// `TRUST_BUNDLE_DIR`: `<trust-domain>.pem` / `<trust-domain>.jwks.json` files.
    pub trust_bundle_dir: Option<PathBuf>,
    /// `RATE_LIMIT_FREE`, `RATE_LIMIT_PRO`, `RATE_LIMIT_ENTERPRISE` (`N/s`, `N/min`, `N/h`).
    pub rate_limits: tg_api::RateLimits,
    /// `METRICS_PUBLIC` (`true`/`false`, default false): `/metrics` without a key.
    pub metrics_public: bool,
    /// `VOUCH_PRETRUSTED` (`certified,anchors`) and `VOUCH_RECOMPUTE_SECS` (60).
    pub vouching: tg_service::VouchConfig,
    /// `WEBHOOK_ALLOW_NETS`, `WEBHOOK_TIMEOUT_SECS` (10), `WEBHOOK_DISABLE_AFTER_HOURS` (120).
    pub webhooks: tg_service::WebhookConfig,
    /// `MAINTENANCE_SECS` (60): the leader's score sweep and chain verification period;
    /// `CHAIN_VERIFY_RECEIPTS` (200000): receipts verified per round.
    pub maintenance: tg_service::MaintenanceConfig,
    /// `LOG_ORIGIN` (the issuer without its scheme, then `/log`), `LOG_WITNESSES` (witness
    /// cosigner vkeys, comma-separated), `LOG_INTEGRATE_MS` (1000), `LOG_INTEGRATE_LEAVES`
    /// (leaves per integration transaction: 125 on SQLite, 500 on PostgreSQL): the
    /// transparency log.
    pub log: tg_service::LogConfig,
    /// `DECISION_CACHE_AGENTS` (100000; 0 turns it off), `DECISION_CACHE_KEYS` (10000),
    /// `DECISION_STALENESS_MS` (1000): the decision state in memory and, with PostgreSQL,
    /// how stale it may be before decisions read through the database (probed every
    /// quarter of it).
    pub decisions: tg_service::DecisionConfig,
    /// `AUDIT_QUEUE` (65536): most audit records queued for the group-commit writer.
    pub audit_queue: usize,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("database", &self.database_label())
            .field("secret_key", &self.secret_key)
            .field("jwt_secret", &self.jwt_secret)
            .field("api_key", &self.api_key)
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("policy", &self.policy.preset.as_str())
            .field("workers", &self.workers)
            .finish()
    }
}

/// Placeholder values from examples and docs; refused as secrets.
const PLACEHOLDERS: &[&str] = &[
    "your-secret-key",
    "your-jwt-secret",
    "your-api-key",
    "secret",
    "changeme",
    "change-me",
    "password",
    "admin",
];

/// Refuses empty, short, placeholder and low-entropy secrets.
pub fn check_secret(name: &str, value: &str, min_len: usize) -> anyhow::Result<()> {
    let lowered = value.to_ascii_lowercase();
    if PLACEHOLDERS.iter().any(|p| lowered == *p) {
        bail!("{name} is a placeholder value; set a random one (e.g. `openssl rand -hex 32`)");
    }
    if value.len() < min_len {
        bail!("{name} must be at least {min_len} characters (e.g. `openssl rand -hex 32`)");
    }
    let mut distinct: Vec<char> = value.chars().collect();
    distinct.sort_unstable();
    distinct.dedup();
    if distinct.len() < 8 {
        bail!("{name} is too repetitive to be a secret");
    }
    Ok(())
}

impl Settings {
    /// Reads settings through `var` (the process environment in `main`, a map in tests).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let get = |k: &str| var(k).filter(|v| !v.is_empty());
        let port = match get("PORT") {
            None => 8002,
            Some(p) => p
                .parse()
                .with_context(|| format!("PORT `{p}` is not a port number"))?,
        };
        let pool_size = match get("DATABASE_POOL_SIZE") {
            None => 16,
            Some(n) => n
                .parse()
                .with_context(|| format!("DATABASE_POOL_SIZE `{n}` is not a number"))?,
        };
        let url = get("DATABASE_URL").unwrap_or_else(|| "sqlite://trust-gateway.db".into());
        let database = DbConfig::parse(&url, pool_size).map_err(anyhow::Error::msg)?;
        let secret_key = get("SECRET_KEY");
        if let Some(s) = &secret_key {
            check_secret("SECRET_KEY", s, 32)?;
        }
        let jwt_secret = get("JWT_SECRET");
        if let Some(s) = &jwt_secret {
            check_secret("JWT_SECRET", s, 32)?;
        }
        let api_key = get("API_KEY");
        if let Some(k) = &api_key {
            check_secret("API_KEY", k, 20)?;
        }
        let policy = match get("POLICY_FILE") {
            Some(path) => {
                let text = std::fs::read_to_string(&path)
                    .with_context(|| format!("cannot read POLICY_FILE `{path}`"))?;
                Policy::from_toml_str(&text).with_context(|| format!("POLICY_FILE `{path}`"))?
            }
            None => {
                let name = get("POLICY_PRESET").unwrap_or_else(|| "default".into());
                let preset = Preset::parse(&name).with_context(|| {
                    format!("POLICY_PRESET `{name}`: expected gateway-v2, joy-v1 or default")
                })?;
                Policy::preset(preset)
            }
        };
        let workers = match get("WORKERS") {
            None => std::thread::available_parallelism()
                .map(usize::from)
                .unwrap_or(2),
            Some(n) => n
                .parse()
                .with_context(|| format!("WORKERS `{n}` is not a number"))?,
        };
        let mut rate_limits = tg_api::RateLimits::default();
        for (var, slot) in [
            ("RATE_LIMIT_FREE", &mut rate_limits.free),
            ("RATE_LIMIT_PRO", &mut rate_limits.pro),
            ("RATE_LIMIT_ENTERPRISE", &mut rate_limits.enterprise),
            ("AUTH_FAILURE_LIMIT", &mut rate_limits.auth_failures),
        ] {
            if let Some(v) = get(var) {
                *slot = tg_api::PlanQuota::parse(&v).map_err(|e| anyhow::anyhow!("{var}: {e}"))?;
            }
        }
        let vouching = vouch_config(get("VOUCH_PRETRUSTED"), get("VOUCH_RECOMPUTE_SECS"))?;
        let webhooks = webhook_config(
            get("WEBHOOK_ALLOW_NETS"),
            get("WEBHOOK_TIMEOUT_SECS"),
            get("WEBHOOK_DISABLE_AFTER_HOURS"),
        )?;
        let maintenance =
            maintenance_config(get("MAINTENANCE_SECS"), get("CHAIN_VERIFY_RECEIPTS"))?;
        let issuer = get("GATEWAY_ISSUER").unwrap_or_else(|| "trust-gateway".into());
        let log = log_config(
            &database,
            &issuer,
            get("LOG_ORIGIN"),
            get("LOG_WITNESSES"),
            get("LOG_INTEGRATE_MS"),
            get("LOG_INTEGRATE_LEAVES"),
        )?;
        let decisions = decision_config(
            get("DECISION_CACHE_AGENTS"),
            get("DECISION_CACHE_KEYS"),
            get("DECISION_STALENESS_MS"),
        )?;
        let audit_queue = match get("AUDIT_QUEUE") {
            None => tg_service::AUDIT_QUEUE,
            Some(n) => number("AUDIT_QUEUE", &n, 1..=4_194_304)?,
        };
        let metrics_public = match get("METRICS_PUBLIC").as_deref() {
            None | Some("false") => false,
            Some("true") => true,
            Some(other) => bail!("METRICS_PUBLIC `{other}`: expected true or false"),
        };
        let log_json = match get("LOG_FORMAT").as_deref() {
            None => !std::io::IsTerminal::is_terminal(&std::io::stderr()),
            Some("json") => true,
            Some("text") => false,
            Some(other) => bail!("LOG_FORMAT `{other}`: expected json or text"),
        };
        Ok(Self {
            host: get("HOST").unwrap_or_else(|| "127.0.0.1".into()),
            port,
            database,
            secret_key: secret_key.map(|s| Secret::new(s.into_bytes())),
            jwt_secret: jwt_secret.map(|s| Secret::new(s.into_bytes())),
            api_key: api_key.map(Secret::new),
            issuer,
            audience: get("GATEWAY_AUDIENCE").unwrap_or_else(|| "trust-gateway".into()),
            policy,
            workers,
            admin_key_file: PathBuf::from(
                get("ADMIN_KEY_FILE").unwrap_or_else(|| "trust-gateway-admin.key".into()),
            ),
            log_json,
            trust_bundle_dir: get("TRUST_BUNDLE_DIR").map(PathBuf::from),
            rate_limits,
            metrics_public,
            vouching,
            webhooks,
            maintenance,
            log,
            decisions,
            audit_queue,
        })
    }

    pub fn from_env() -> anyhow::Result<Self> {
        Self::from_vars(|k| std::env::var(k).ok())
    }

    /// The database, for humans (no credentials).
    pub fn database_label(&self) -> String {
        match &self.database {
            DbConfig::Sqlite(path) => format!("sqlite {path}"),
            DbConfig::Postgres { url, .. } => {
                let host = url
                    .rsplit('@')
                    .next()
                    .unwrap_or("")
                    .split(['?', '/'])
                    .next()
                    .unwrap_or("");
                format!("postgres {host}")
            }
        }
    }
}

/// `value` of the variable `name` as a number within `range`, or why not.
fn number<T>(name: &str, value: &str, range: std::ops::RangeInclusive<T>) -> anyhow::Result<T>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display,
{
    value
        .parse::<T>()
        .ok()
        .filter(|n| range.contains(n))
        .with_context(|| {
            format!(
                "{name} `{value}`: expected {}–{}",
                range.start(),
                range.end()
            )
        })
}

fn webhook_config(
    allow: Option<String>,
    timeout: Option<String>,
    disable_after: Option<String>,
) -> anyhow::Result<tg_service::WebhookConfig> {
    let mut config = tg_service::WebhookConfig::default();
    if let Some(a) = allow {
        config.allow = tg_webhooks::UrlPolicy::parse_allow_list(&a)
            .map_err(|e| anyhow::anyhow!("WEBHOOK_ALLOW_NETS: {e}"))?;
    }
    if let Some(t) = timeout {
        config.timeout =
            std::time::Duration::from_secs(number("WEBHOOK_TIMEOUT_SECS", &t, 1..=120)?);
    }
    if let Some(h) = disable_after {
        let hours = number("WEBHOOK_DISABLE_AFTER_HOURS", &h, 1..=24 * 30)?;
        config.disable_after = std::time::Duration::from_secs(hours * 3600);
    }
    Ok(config)
}

fn vouch_config(
    pretrusted: Option<String>,
    secs: Option<String>,
) -> anyhow::Result<tg_service::VouchConfig> {
    let mut config = tg_service::VouchConfig::default();
    if let Some(list) = pretrusted {
        config.pretrust_certified = false;
        config.pretrust_anchors = false;
        for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            match item {
                "certified" => config.pretrust_certified = true,
                "anchors" => config.pretrust_anchors = true,
                "none" => {}
                other => bail!(
                    "VOUCH_PRETRUSTED `{other}`: expected a list of certified, anchors (or none)"
                ),
            }
        }
    }
    if let Some(s) = secs {
        let n = number("VOUCH_RECOMPUTE_SECS", &s, 1..=86_400)?;
        config.every = Some(std::time::Duration::from_secs(n));
    }
    Ok(config)
}

fn decision_config(
    agents: Option<String>,
    keys: Option<String>,
    staleness_ms: Option<String>,
) -> anyhow::Result<tg_service::DecisionConfig> {
    let mut config = tg_service::DecisionConfig::default();
    for (var, value, slot) in [
        ("DECISION_CACHE_AGENTS", agents, &mut config.agents),
        ("DECISION_CACHE_KEYS", keys, &mut config.keys),
    ] {
        if let Some(s) = value {
            *slot = number(var, &s, 0..=100_000_000)?;
        }
    }
    if let Some(s) = staleness_ms {
        let n = number("DECISION_STALENESS_MS", &s, 100..=60_000)?;
        config.bound = std::time::Duration::from_millis(n);
        config.probe_every = Some(config.bound / 4);
    }
    Ok(config)
}

fn maintenance_config(
    secs: Option<String>,
    receipts: Option<String>,
) -> anyhow::Result<tg_service::MaintenanceConfig> {
    let mut config = tg_service::MaintenanceConfig::default();
    if let Some(s) = secs {
        let n = number("MAINTENANCE_SECS", &s, 1..=86_400)?;
        config.every = Some(std::time::Duration::from_secs(n));
    }
    if let Some(s) = receipts {
        config.receipts_per_round =
            s.parse().ok().filter(|n| *n >= 1).with_context(|| {
                format!("CHAIN_VERIFY_RECEIPTS `{s}`: expected a positive number")
            })?;
    }
    Ok(config)
}

fn log_config(
    database: &DbConfig,
    issuer: &str,
    origin: Option<String>,
    witnesses: Option<String>,
    every_ms: Option<String>,
    leaves: Option<String>,
) -> anyhow::Result<tg_service::LogConfig> {
    let origin = match origin {
        Some(o) => o,
        None => {
            let host = issuer.split_once("://").map_or(issuer, |(_, rest)| rest);
            format!("{}/log", host.trim_end_matches('/'))
        }
    };
    let mut config = tg_service::LogConfig {
        origin,
        ..tg_service::LogConfig::default()
    };
    if let DbConfig::Sqlite(_) = database {
        config.batch = tg_service::SHARED_WRITER_LEAVES;
    }
    if !tg_log::note::valid_name(&config.origin) {
        bail!(
            "LOG_ORIGIN `{}`: no spaces and no `+` (e.g. gateway.example.com/log)",
            config.origin
        );
    }
    if let Some(w) = witnesses {
        config.witnesses = w
            .split(',')
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
            .collect();
        for v in &config.witnesses {
            let parsed =
                tg_log::Verifier::parse(v).map_err(|e| anyhow::anyhow!("LOG_WITNESSES: {e}"))?;
            if parsed.kind != tg_log::note::ED25519_COSIGNATURE {
                bail!("LOG_WITNESSES: `{v}` is not an Ed25519 cosignature key (type 0x04)");
            }
        }
    }
    if let Some(s) = every_ms {
        let n = number("LOG_INTEGRATE_MS", &s, 10..=60_000)?;
        config.every = Some(std::time::Duration::from_millis(n));
    }
    if let Some(s) = leaves {
        config.batch = number("LOG_INTEGRATE_LEAVES", &s, 1..=100_000)?;
    }
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weak_secrets_are_refused() {
        assert!(check_secret("SECRET_KEY", "", 32).is_err());
        assert!(check_secret("SECRET_KEY", "your-secret-key", 32).is_err());
        assert!(check_secret("SECRET_KEY", &"a".repeat(64), 32).is_err());
        assert!(check_secret("SECRET_KEY", "short-but-varied-123", 32).is_err());
        assert!(check_secret("SECRET_KEY", "5f0c1e9a7b3d48e2a6c4f8b1d9e7a3c5", 32).is_ok());
        assert!(check_secret("API_KEY", "your-api-key", 20).is_err());
    }

    #[test]
    fn defaults_need_no_environment() {
        let s = Settings::from_vars(|_| None).unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(s.port, 8002);
        assert_eq!(s.database, DbConfig::Sqlite("trust-gateway.db".into()));
        assert_eq!(s.policy.preset, Preset::Default);
        assert!(s.secret_key.is_none() && s.api_key.is_none());
        let debug = format!("{s:?}");
        assert!(debug.contains("secret_key: None"), "{debug}");
    }

    #[test]
    fn secrets_never_print() {
        let s = Settings::from_vars(|k| match k {
            "SECRET_KEY" | "JWT_SECRET" => Some("5f0c1e9a7b3d48e2a6c4f8b1d9e7a3c5".to_owned()),
            "API_KEY" => Some("5f0c1e9a-admin-key-7b3d48e2".to_owned()),
            _ => None,
        });
        let s = s.unwrap_or_else(|e| unreachable!("{e}"));
        let debug = format!("{s:?}");
        assert!(!debug.contains("5f0c1e9a"), "{debug}");
        assert!(!debug.contains("53, 102"), "nor as bytes: {debug}");
        assert_eq!(debug.matches("<redacted>").count(), 3, "{debug}");
    }

    #[test]
    fn bad_values_are_explained() {
        let err = |k: &'static str, v: &'static str| {
            Settings::from_vars(move |key| (key == k).then(|| v.to_owned()))
                .err()
                .map(|e| format!("{e:#}"))
                .unwrap_or_default()
        };
        assert!(err("PORT", "http").contains("PORT `http`"));
        assert!(err("DATABASE_URL", "mysql://x").contains("DATABASE_URL must start"));
        assert!(err("POLICY_PRESET", "strict").contains("POLICY_PRESET `strict`"));
        assert!(err("POLICY_FILE", "/nonexistent/policy.toml").contains("cannot read POLICY_FILE"));
        assert!(err("VOUCH_PRETRUSTED", "everyone").contains("VOUCH_PRETRUSTED `everyone`"));
        assert!(err("VOUCH_RECOMPUTE_SECS", "0").contains("VOUCH_RECOMPUTE_SECS `0`"));
        assert!(err("MAINTENANCE_SECS", "0").contains("MAINTENANCE_SECS `0`"));
        assert!(err("CHAIN_VERIFY_RECEIPTS", "none").contains("CHAIN_VERIFY_RECEIPTS `none`"));
        assert!(err("WEBHOOK_ALLOW_NETS", "localhost").contains("WEBHOOK_ALLOW_NETS"));
        assert!(err("WEBHOOK_TIMEOUT_SECS", "0").contains("WEBHOOK_TIMEOUT_SECS `0`"));
        assert!(err("LOG_ORIGIN", "has space").contains("LOG_ORIGIN"));
        assert!(err("LOG_INTEGRATE_MS", "5").contains("LOG_INTEGRATE_MS `5`"));
        assert!(err("LOG_INTEGRATE_LEAVES", "0").contains("LOG_INTEGRATE_LEAVES `0`"));
        assert!(err("DECISION_STALENESS_MS", "50").contains("DECISION_STALENESS_MS `50`"));
        assert!(err("DECISION_CACHE_AGENTS", "-1").contains("DECISION_CACHE_AGENTS `-1`"));
        assert!(err("AUDIT_QUEUE", "0").contains("AUDIT_QUEUE `0`: expected 1–4194304"));
        assert!(err("LOG_WITNESSES", "w+00000000+AAAA").contains("LOG_WITNESSES"));
    }

    #[test]
    fn leaves_per_integration_default_by_store_and_can_be_set() {
        let leaves = |url: &str, set: Option<&str>| {
            let vars = |k: &str| match k {
                "DATABASE_URL" => Some(url.to_owned()),
                "LOG_INTEGRATE_LEAVES" => set.map(str::to_owned),
                _ => None,
            };
            Settings::from_vars(vars).map(|s| s.log.batch).ok()
        };
        // SQLite's one writer waits behind each transaction: fewer leaves each.
        assert_eq!(leaves("sqlite://x.db", None), Some(125));
        assert_eq!(leaves("postgres://db/x", None), Some(500));
        assert_eq!(leaves("sqlite://x.db", Some("1000")), Some(1000));
        assert_eq!(leaves("postgres://db/x", Some("64")), Some(64));
    }

    #[test]
    fn the_log_origin_defaults_to_the_issuer_host() {
        let pg = DbConfig::Postgres {
            url: "postgres://db/x".into(),
            pool_size: 4,
        };
        let c = log_config(
            &pg,
            "https://gw.example.com/",
            None,
            None,
            Some("250".into()),
            Some("120".into()),
        );
        let c = c.unwrap_or_default();
        assert_eq!(c.origin, "gw.example.com/log");
        assert_eq!(c.every, Some(std::time::Duration::from_millis(250)));
        assert_eq!(c.batch, 120);
        let key = tg_log::note::generate_key().unwrap_or_default();
        let w = tg_log::Cosigner::from_pkcs8("w.example/1", &key).map(|w| w.vkey());
        let w = w.unwrap_or_default();
        let c = log_config(
            &pg,
            "trust-gateway",
            Some("x/log".into()),
            Some(format!(" {w} ,")),
            None,
            None,
        );
        assert_eq!(
            c.map(|c| (c.origin, c.witnesses, c.batch)).ok(),
            Some((
                "x/log".to_owned(),
                vec![w],
                tg_service::LogConfig::default().batch
            ))
        );
    }

    #[test]
    fn pre_trusted_agents_are_configurable() {
        let c = vouch_config(Some("anchors".into()), Some("5".into())).unwrap_or_default();
        assert!(c.pretrust_anchors && !c.pretrust_certified);
        assert_eq!(c.every, Some(std::time::Duration::from_secs(5)));
        let c = vouch_config(None, None).unwrap_or_default();
        assert!(c.pretrust_anchors && c.pretrust_certified);
    }
}
