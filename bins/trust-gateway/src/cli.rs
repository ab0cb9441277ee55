//! The command line: `trust-gateway [serve|migrate|demo|simulate|keys|signing-keys|agents|verify-chain|verify-export|verify-log]`.

use anyhow::Context;

use crate::{Settings, start, telemetry};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Serve,
    Migrate,
    Demo,
    Simulate,
    Help,
    Version,
    KeysCreate {
        account: Option<String>,
        scope: tg_access::Scope,
    },
    KeysList {
        account: Option<String>,
    },
    KeysRevoke {
        key_id: String,
    },
    SigningKeysList,
    SigningKeysRotate,
    SigningKeysRetire {
        kid: String,
    },
    AgentsList {
        account: Option<String>,
        json: bool,
    },
    VerifyChain {
        agent: String,
    },
    VerifyExport {
        file: std::path::PathBuf,
        jwks: std::path::PathBuf,
        log_key: Option<String>,
    },
    VerifyLog {
        checkpoint: std::path::PathBuf,
        vkey: String,
        extra: crate::verify_log::Extra,
    },
}

pub const USAGE: &str = "\
usage: trust-gateway [COMMAND]

  serve                 start the server (default): http on HOST:PORT (127.0.0.1:8002)
  migrate               apply database migrations and exit
  demo                  two agents on a temporary database: how scores, tiers and decisions move
  simulate              honest agents and attacker populations (self-reporters, a colluding ring,
                        whitewashers, on-off, grief) for 60 virtual days on a temporary database;
                        fails if an attacker class reaches tier 2
  keys create [--account ID] [--scope admin|write|read]
                        a new API key (default: the admin account, scope write); shown once
  keys list [--account ID]
                        API keys (prefixes, never secrets) of one account or of all
  keys revoke KEY_ID    revoke an API key at once
  signing-keys list     the token-signing keys (kid, created, signs from, current)
  signing-keys rotate   add a signing key: published at once, signing 120 s later
  signing-keys retire KID
                        unpublish a key that no longer signs; tokens it signed stop verifying
  agents list [--account ID] [--json]
                        agents with status, tier and score
  verify-chain AGENT    verify an agent's receipt chain in the database (links, signatures, head)
  verify-export FILE --jwks JWKS [--log-key VKEY]
                        check a receipt export (GET /receipts/{id}/export: hash links, head) or
                        a JSON audit export (events digest, summary) offline, and the gateway's
                        signature with a saved /.well-known/jwks.json; with --log-key (the
                        vkey of GET /log/key), each receipt's inclusion proof in the export's
                        signed checkpoint

  verify-log CHECKPOINT --vkey VKEY [--witness VKEY] [--receipt HEX --proof FILE]
                        check a saved /log/checkpoint against the log's key (GET /log/key)
                        offline; optionally a witness's cosignature, and that a receipt is in
                        the tree (a saved /log/proof/inclusion)

keys, signing-keys, agents and verify-chain work on the database of DATABASE_URL with its secrets, like
the server (they need no running server); verify-export and verify-log need neither.

configuration (environment):
  DATABASE_URL   sqlite://PATH (default sqlite://trust-gateway.db), sqlite::memory:, postgres://...
  PORT, HOST     where to listen (default 127.0.0.1:8002; HOST=0.0.0.0 in containers)
  SECRET_KEY     receipt/key-sealing secret (generated beside a SQLite file; required on PostgreSQL)
  API_KEY        an admin API key accepted as is (V2 compatibility)
  JWT_SECRET     sign tokens HS256 instead of EdDSA (V2 compatibility)
  POLICY_FILE    TOML scoring policy; or POLICY_PRESET=default|gateway-v2|joy-v1
  TRUST_BUNDLE_DIR  per trust domain <domain>.pem and/or <domain>.jwks.json (reloaded on change)
    RATE_LIMIT_FREE, RATE_LIMIT_PRO, RATE_LIMIT_ENTERPRISE  per-key plan rates: N/s, N/min or N/h
    AUTH_FAILURE_LIMIT  refused API keys per source address before 429 (default 100/min)
  VOUCH_PRETRUSTED, VOUCH_RECOMPUTE_SECS  EigenTrust seeds and recompute period
  MAINTENANCE_SECS, CHAIN_VERIFY_RECEIPTS  decay sweep and background chain verification
  LOG_ORIGIN, LOG_WITNESSES, LOG_INTEGRATE_MS, LOG_INTEGRATE_LEAVES  the transparency log:
                 checkpoint origin, witness cosigner vkeys (comma-separated), integration
                 period (default 1000 ms), leaves per integration transaction (default 125 on
                 SQLite, 500 on PostgreSQL)
  DECISION_CACHE_AGENTS, DECISION_CACHE_KEYS, DECISION_STALENESS_MS  decisions from memory: agents
                 and API keys held (100000, 10000), staleness bound on PostgreSQL (1000 ms)
  WEBHOOK_ALLOW_NETS, WEBHOOK_TIMEOUT_SECS, WEBHOOK_DISABLE_AFTER_HOURS  webhook delivery
  GATEWAY_AUDIENCE, GATEWAY_ISSUER, WORKERS, DATABASE_POOL_SIZE, ADMIN_KEY_FILE, LOG_FORMAT=json|text, LOG_LEVEL
  METRICS_PUBLIC=true  serve /metrics without a key
  OTEL_EXPORTER_OTLP_ENDPOINT  export request spans over OTLP/HTTP (standard OTEL_* variables apply)
";

/// A subcommand's arguments: positionals and `--flag [value]`.
struct Args<'a> {
    positional: Vec<&'a str>,
    flags: Vec<(&'a str, Option<&'a str>)>,
}

impl<'a> Args<'a> {
    /// `switches` take no value; every other `--flag` takes the next argument.
    fn parse(args: &'a [String], switches: &[&str]) -> Result<Self, String> {
        let mut out = Args {
            positional: Vec::new(),
            flags: Vec::new(),
        };
        let mut it = args.iter();
        while let Some(a) = it.next() {
            match a.strip_prefix("--") {
                Some(name) if switches.contains(&name) => out.flags.push((name, None)),
                Some(name) => {
                    let value = it
                        .next()
                        .ok_or_else(|| format!("`--{name}` needs a value"))?;
                    out.flags.push((name, Some(value.as_str())));
                }
                None => out.positional.push(a),
            }
        }
        Ok(out)
    }

    /// Refuses flags other than `allowed` and more than `max` positionals.
    fn only(&self, allowed: &[&str], max: usize) -> Result<(), String> {
        if let Some((f, _)) = self.flags.iter().find(|(f, _)| !allowed.contains(f)) {
            return Err(format!("unknown option `--{f}`"));
        }
        if self.positional.len() > max {
            return Err("too many arguments".into());
        }
        Ok(())
    }

    fn value(&self, name: &str) -> Option<String> {
        self.flags
            .iter()
            .rev()
            .find(|(f, _)| *f == name)
            .and_then(|(_, v)| v.map(str::to_owned))
    }

    fn has(&self, name: &str) -> bool {
        self.flags.iter().any(|(f, _)| *f == name)
    }

    fn one(&self, what: &str) -> Result<String, String> {
        match self.positional.as_slice() {
            [one] => Ok((*one).to_owned()),
            _ => Err(format!("give {what}")),
        }
    }
}

pub fn parse(args: &[String]) -> Result<Command, String> {
    let with_usage = |e: String| format!("{e}\n\n{USAGE}");
    let (first, rest) = match args.split_first() {
        None => return Ok(Command::Serve),
        Some((first, rest)) => (first.as_str(), rest),
    };
    let sub = rest.split_first().map(|(s, r)| (s.as_str(), r));
    let command = match (first, sub) {
        ("serve", None) => Command::Serve,
        ("migrate", None) => Command::Migrate,
        ("demo", None) => Command::Demo,
        ("simulate", None) => Command::Simulate,
        ("-h" | "--help" | "help", None) => Command::Help,
        ("-V" | "--version", None) => Command::Version,
        ("keys", Some(("create", rest))) => {
            let a = Args::parse(rest, &[]).map_err(with_usage)?;
            a.only(&["account", "scope"], 0).map_err(with_usage)?;
            let scope = match a.value("scope") {
                None => tg_access::Scope::Write,
                Some(s) => tg_access::Scope::parse(&s).ok_or_else(|| {
                    with_usage(format!("`--scope` is admin, write or read, not `{s}`"))
                })?,
            };
            Command::KeysCreate {
                account: a.value("account"),
                scope,
            }
        }
        ("keys", Some(("list", rest))) => {
            let a = Args::parse(rest, &[]).map_err(with_usage)?;
            a.only(&["account"], 0).map_err(with_usage)?;
            Command::KeysList {
                account: a.value("account"),
            }
        }
        ("keys", Some(("revoke", rest))) => {
            let a = Args::parse(rest, &[]).map_err(with_usage)?;
            a.only(&[], 1).map_err(with_usage)?;
            Command::KeysRevoke {
                key_id: a.one("the key's id").map_err(with_usage)?,
            }
        }
        ("signing-keys", Some(("list", rest))) => {
            Args::parse(rest, &[])
                .map_err(with_usage)?
                .only(&[], 0)
                .map_err(with_usage)?;
            Command::SigningKeysList
        }
        ("signing-keys", Some(("rotate", rest))) => {
            Args::parse(rest, &[])
                .map_err(with_usage)?
                .only(&[], 0)
                .map_err(with_usage)?;
            Command::SigningKeysRotate
        }
        ("signing-keys", Some(("retire", rest))) => {
            let a = Args::parse(rest, &[]).map_err(with_usage)?;
            a.only(&[], 1).map_err(with_usage)?;
            Command::SigningKeysRetire {
                kid: a.one("the key's kid").map_err(with_usage)?,
            }
        }
        ("agents", Some(("list", rest))) => {
            let a = Args::parse(rest, &["json"]).map_err(with_usage)?;
            a.only(&["account", "json"], 0).map_err(with_usage)?;
            Command::AgentsList {
                account: a.value("account"),
                json: a.has("json"),
            }
        }
        ("verify-chain", _) => {
            let a = Args::parse(rest, &[]).map_err(with_usage)?;
            a.only(&[], 1).map_err(with_usage)?;
            Command::VerifyChain {
                agent: a.one("the agent's id").map_err(with_usage)?,
            }
        }
        ("verify-export", _) => {
            let a = Args::parse(rest, &[]).map_err(with_usage)?;
            a.only(&["jwks", "log-key"], 1).map_err(with_usage)?;
            Command::VerifyExport {
                log_key: a.value("log-key"),
                file: a.one("the export file").map_err(with_usage)?.into(),
                jwks: a
                    .value("jwks")
                    .ok_or_else(|| {
                        with_usage(
                            "`--jwks FILE` is required: the gateway's /.well-known/jwks.json, \
                             saved; without it the signature proves nothing"
                                .into(),
                        )
                    })?
                    .into(),
            }
        }
        ("verify-log", _) => {
            let a = Args::parse(rest, &[]).map_err(with_usage)?;
            a.only(&["vkey", "witness", "receipt", "proof"], 1)
                .map_err(with_usage)?;
            let receipt = match (a.value("receipt"), a.value("proof")) {
                (None, None) => None,
                (Some(r), Some(p)) => Some((r, p.into())),
                _ => {
                    return Err(with_usage(
                        "`--receipt HEX` and `--proof FILE` go together".into(),
                    ));
                }
            };
            Command::VerifyLog {
                checkpoint: a.one("the checkpoint file").map_err(with_usage)?.into(),
                vkey: a.value("vkey").ok_or_else(|| {
                    with_usage("`--vkey VKEY` is required: the log's key from GET /log/key".into())
                })?,
                extra: crate::verify_log::Extra {
                    witness: a.value("witness"),
                    receipt,
                },
            }
        }
        (
            "serve" | "migrate" | "demo" | "simulate" | "-h" | "--help" | "help" | "-V"
            | "--version",
            Some(_),
        ) => {
            return Err(with_usage("too many arguments".into()));
        }
        (other @ ("keys" | "signing-keys" | "agents"), sub) => {
            let shown = sub.map_or(String::new(), |(s, _)| format!(" {s}"));
            return Err(with_usage(format!("unknown command `{other}{shown}`")));
        }
        (other, _) => return Err(with_usage(format!("unknown command `{other}`"))),
    };
    Ok(command)
}

/// The server's settings, with logs only for warnings: a command's output is its answer.
fn cli_settings() -> anyhow::Result<Settings> {
    let settings = Settings::from_env()?;
    telemetry::init_quiet(settings.log_json);
    Ok(settings)
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
        Command::Simulate => crate::simulate::run().await,
        Command::KeysCreate { account, scope } => {
            crate::operate::keys_create(&cli_settings()?, account.as_deref(), scope).await
        }
        Command::KeysList { account } => {
            crate::operate::keys_list(&cli_settings()?, account.as_deref()).await
        }
        Command::KeysRevoke { key_id } => {
            crate::operate::keys_revoke(&cli_settings()?, &key_id).await
        }
        Command::SigningKeysList => crate::operate::signing_keys_list(&cli_settings()?).await,
        Command::SigningKeysRotate => crate::operate::signing_keys_rotate(&cli_settings()?).await,
        Command::SigningKeysRetire { kid } => {
            crate::operate::signing_keys_retire(&cli_settings()?, &kid).await
        }
        Command::AgentsList { account, json } => {
            crate::operate::agents_list(&cli_settings()?, account.as_deref(), json).await
        }
        Command::VerifyChain { agent } => {
            crate::operate::verify_chain(&cli_settings()?, &agent).await
        }
        Command::VerifyExport {
            file,
            jwks,
            log_key,
        } => crate::verify_export::run(&file, &jwks, log_key.as_deref()),
        Command::VerifyLog {
            checkpoint,
            vkey,
            extra,
        } => crate::verify_log::run(&checkpoint, &vkey, &extra),
        Command::Migrate => {
            let settings = Settings::from_env()?;
            let telemetry = telemetry::init(settings.log_json);
            tg_store::migrate(&settings.database)
                .await
                .context("migration failed")?;
            tracing::info!(database = %settings.database_label(), "migrations applied");
            telemetry.shutdown();
            Ok(())
        }
        Command::Serve => {
            let settings = Settings::from_env()?;
            let telemetry = telemetry::init(settings.log_json);
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
                println!("admin API key for this in-memory gateway: {}", key.expose());
            }
            let served = running.server.await;
            // The server takes no more requests: write what it answered, stop the workers.
            running.gateway.shutdown().await;
            tracing::info!("trust-gateway stopped: audit trail written, background work stopped");
            telemetry.shutdown();
            served.context("server failed")
        }
    }
}
