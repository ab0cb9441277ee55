use std::sync::Arc;

use tg_access::{
    ADMIN_ACCOUNT, Account, ApiKey, KeyError, Plan, PresentedKey, Principal, Scope, hash_matches,
    key_hash,
};
use tg_audit::{Actor, IpHasher};
use tg_core::{AccountId, Clock, Secret, Timestamp};
use tg_identity::{AttestationVerifier, BundleSummary, TrustBundles};
use tg_receipts::ReceiptSigner;
use tg_scoring::Policy;
use tg_tokens::{TokenIssuer, generate_signing_key};

use crate::policy_cache::PolicyCache;
use crate::runtime::vouch_engine::{VouchConfig, VouchEngine};
use crate::runtime::worker::Worker;
use crate::{Conflict, ServiceError, Store, in_transaction, reading};

/// Everything the gateway is configured with. Secrets arrive here as [`Secret`]s; the
/// binary decides where they come from.
#[derive(Clone)]
pub struct GatewayConfig {
    pub secret_key: Secret<Vec<u8>>,
    pub jwt_secret: Option<Secret<Vec<u8>>>,
    /// `API_KEY` from the environment: accepted as it is, belongs to the admin account.
    pub env_api_key: Option<Secret<String>>,
    /// A generated `tgk_` admin key (from the secrets file) to make sure exists.
    pub bootstrap_admin_key: Option<Secret<String>>,
    pub issuer: String,
    pub audience: String,
    pub policy: Policy,
    pub clock: Arc<dyn Clock>,
    /// The trust bundles at start, and where to reload them from.
    pub trust_bundles: TrustBundles,
    pub bundle_source: Option<Arc<dyn BundleSource>>,
    /// Who is pre-trusted for EigenTrust and how often the vouch worker runs.
    pub vouching: VouchConfig,
    /// Webhook delivery: SSRF allow-list, timeouts, worker.
    pub webhooks: crate::WebhookConfig,
    /// The leader's score sweep and background chain verification.
    pub maintenance: crate::MaintenanceConfig,
    /// The transparency log: origin, sequencer period, witnesses.
    pub log: crate::LogConfig,
    /// The decision state in memory: sizes, probe period, staleness bound.
    pub decisions: crate::DecisionConfig,
    /// Most audit records queued for the group-commit writer; a caller that finds the
    /// queue full waits for room (`AUDIT_QUEUE`, default [`AUDIT_QUEUE`]).
    pub audit_queue: usize,
}

/// The default bound of the audit queue: about a second of decisions at full speed on
/// two cores. A queued record holds ~0.5 KiB (144 bytes inline, its strings on the heap),
/// so a full queue is ~32 MiB.
pub const AUDIT_QUEUE: usize = 65_536;

impl GatewayConfig {
    /// A gateway driven in-process (the demo, tests, benches): `admin_key` accepted as the
    /// admin's, the default policy on the system clock, no trust bundles, and no background
    /// vouch or webhook worker — the caller runs `recompute_vouches` / `deliver_webhooks`.
    pub fn in_process(secret_key: Vec<u8>, admin_key: &str) -> Self {
        Self {
            secret_key: Secret::new(secret_key),
            jwt_secret: None,
            env_api_key: Some(Secret::new(admin_key.to_owned())),
            bootstrap_admin_key: None,
            issuer: "trust-gateway".into(),
            audience: "trust-gateway".into(),
            policy: Policy::preset(tg_scoring::Preset::Default),
            clock: Arc::new(tg_core::SystemClock),
            trust_bundles: TrustBundles::default(),
            bundle_source: None,
            vouching: VouchConfig {
                every: None,
                ..VouchConfig::default()
            },
            webhooks: crate::WebhookConfig {
                poll: None,
                ..crate::WebhookConfig::default()
            },
            maintenance: crate::MaintenanceConfig {
                every: None,
                ..crate::MaintenanceConfig::default()
            },
            log: crate::LogConfig {
                every: None,
                ..crate::LogConfig::default()
            },
            audit_queue: AUDIT_QUEUE,
            decisions: crate::DecisionConfig {
                probe_every: None,
                ..crate::DecisionConfig::default()
            },
        }
    }
}

/// Where trust bundles come from (the binary reads `TRUST_BUNDLE_DIR`).
pub trait BundleSource: Send + Sync + std::fmt::Debug {
    /// Every bundle, freshly read. An error leaves the current bundles in place.
    fn load(&self) -> Result<TrustBundles, String>;
}

impl std::fmt::Debug for GatewayConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GatewayConfig")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("secret_key", &self.secret_key)
            .field("jwt_secret", &self.jwt_secret)
            .field("env_api_key", &self.env_api_key)
            .field("bootstrap_admin_key", &self.bootstrap_admin_key)
            .finish_non_exhaustive()
    }
}

/// The gateway: every use case hangs off this.
pub struct Gateway {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) signer: Arc<ReceiptSigner>,
    /// Swapped whole when the signing keys change ([`Gateway::reload_signing_keys`]).
    tokens: crate::token_issuer::CurrentIssuer,
    pub(crate) token_settings: crate::token_issuer::TokenSettings,
    /// DPoP proofs this instance has accepted within their window (RFC 9449 §11.1).
    pub(crate) dpop_replay: tg_tokens::ReplayCache,
    pub(crate) attestation: AttestationVerifier,
    pub(crate) audit_batch: crate::runtime::audit_batch::AuditBatcher,
    bundle_source: Option<Arc<dyn BundleSource>>,
    pub(crate) ip_hasher: IpHasher,
    pub(crate) policy: Arc<PolicyCache>,
    pub(crate) admin: Account,
    env_key_hash: Option<[u8; 32]>,
    pub(crate) vouching: Arc<VouchEngine>,
    pub(crate) webhooks: Arc<crate::runtime::webhook_worker::Dispatcher>,
    pub(crate) live: Arc<crate::runtime::live::LiveFeed>,
    pub(crate) maintenance: Arc<crate::runtime::maintenance::Maintenance>,
    pub(crate) log: Arc<crate::transparency::TransparencyLog>,
    pub(crate) decisions: Arc<crate::decision_state::DecisionState>,
    /// The background workers, stopped together by [`Gateway::shutdown`].
    workers: crate::runtime::Workers,
    pub(crate) recorder: crate::runtime::record_batch::Recorder,
    pub(crate) metrics: Arc<crate::Metrics>,
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway")
            .field("store", &self.store)
            .field("tokens", &self.tokens)
            .finish_non_exhaustive()
    }
}

const BOOTSTRAP_ATTEMPTS: usize = 3;

/// Most DPoP proofs remembered at once per instance (about 100 bytes each); when that many
/// are live in their window, new ones are refused until some age out.
const DPOP_REPLAY_CAPACITY: usize = 100_000;

impl Gateway {
    /// Ensures the admin account, the bootstrap admin key and the signing key exist (safe to
    /// run from several instances at once), then builds the gateway.
    pub async fn start(store: Arc<dyn Store>, config: GatewayConfig) -> Result<Self, ServiceError> {
        if config.secret_key.expose().len() < 32 {
            return Err(ServiceError::Invalid(
                "SECRET_KEY must be at least 32 bytes".into(),
            ));
        }
        let mut last = None;
        for _ in 0..BOOTSTRAP_ATTEMPTS {
            match bootstrap(store.as_ref(), &config).await {
                Ok(done) => return Self::assemble(store, config, done).await,
                // Another instance bootstrapped concurrently: its rows are there now.
                Err(ServiceError::Conflict(m)) => last = Some(m),
                Err(e) => return Err(e),
            }
        }
        Err(last.map_or_else(
            || ServiceError::internal("the bootstrap was not attempted"),
            ServiceError::Conflict,
        ))
    }

    async fn assemble(
        store: Arc<dyn Store>,
        config: GatewayConfig,
        done: Bootstrapped,
    ) -> Result<Self, ServiceError> {
        let token_settings = crate::token_issuer::TokenSettings {
            issuer: config.issuer.clone(),
            audience: config.audience.clone(),
            secret: config.secret_key.clone(),
            jwt_secret: config.jwt_secret.clone(),
        };
        let tokens: crate::token_issuer::CurrentIssuer = Arc::new(std::sync::RwLock::new(
            Arc::new(token_settings.issuer_for(&done.keys, config.clock.now())?),
        ));
        let metrics = Arc::new(crate::Metrics::default());
        let outbox_written = Arc::new(tokio::sync::Notify::new());
        let audit_batch = crate::runtime::audit_batch::AuditBatcher::start(
            Arc::clone(&store),
            Arc::clone(&outbox_written),
            Arc::clone(&metrics),
            config.audit_queue,
        );
        let policy = Arc::new(PolicyCache::new(config.policy));
        let (vouching, vouch_worker) = VouchEngine::start(
            config.vouching,
            Arc::clone(&store),
            Arc::clone(&policy),
            Arc::clone(&config.clock),
        );
        let live = Arc::new(crate::runtime::live::LiveFeed::new());
        let signals = store.listen_events().await?;
        let decisions = Arc::new(crate::decision_state::DecisionState::new(
            &config.decisions,
            signals.is_some(),
        ));
        let weak = Arc::downgrade(&decisions);
        store.on_commit(Arc::new(move |changed: &[String]| {
            if let Some(state) = weak.upgrade() {
                state.apply(changed);
            }
        }));
        let probing = match config.decisions.probe_every {
            Some(every) => crate::decision_state::start_probing(
                Arc::clone(&decisions),
                Arc::clone(&store),
                every,
            ),
            None => Worker::none(),
        };
        let fanned_here = Arc::new(crate::runtime::fanned_here::FannedHere::default());
        let relay = crate::runtime::live_relay::start(
            Arc::clone(&store),
            Arc::clone(&live),
            Arc::clone(&fanned_here),
            Arc::clone(&metrics),
            Arc::clone(&decisions),
            signals,
        );
        let (webhooks, webhook_worker) = crate::runtime::webhook_worker::Dispatcher::start(
            crate::runtime::webhook_worker::Wiring {
                live: Arc::clone(&live),
                // Held for the relay where there is one; else published by the worker.
                relayed: relay.is_some().then_some(fanned_here),
                wake: outbox_written,
                metrics: Arc::clone(&metrics),
                tokens: Arc::clone(&tokens),
            },
            config.secret_key.clone(),
            config.webhooks.clone(),
            Arc::clone(&store),
            Arc::clone(&config.clock),
            done.admin.id.clone(),
        )?;
        let signer = Arc::new(ReceiptSigner::from_secret(config.secret_key.expose()));
        let (maintenance, maintenance_worker) = crate::runtime::maintenance::Maintenance::start(
            config.maintenance,
            Arc::clone(&store),
            Arc::clone(&policy),
            Arc::clone(&config.clock),
            Arc::clone(&signer),
            Arc::clone(&webhooks),
        );
        let (log, log_worker) = crate::transparency::TransparencyLog::start(
            config.log.clone(),
            Arc::clone(&store),
            Arc::clone(&config.clock),
            config.secret_key.clone(),
            Arc::clone(&webhooks),
        )
        .await?;
        let recorder = crate::runtime::record_batch::Recorder {
            store: Arc::clone(&store),
            clock: Arc::clone(&config.clock),
            policy: Arc::clone(&policy),
            signer: Arc::clone(&signer),
            operator: done.admin.id.clone(),
            batches: crate::coalesce::Coalescer::new(crate::MAX_RECEIPTS_PER_COMMIT),
            heads: Arc::new(crate::runtime::record_heads::Heads::new(
                config.decisions.agents,
            )),
            metrics: Arc::clone(&metrics),
        };
        Ok(Self {
            store,
            clock: config.clock,
            signer,
            tokens,
            token_settings,
            dpop_replay: tg_tokens::ReplayCache::new(DPOP_REPLAY_CAPACITY),
            attestation: AttestationVerifier::new(config.trust_bundles, &config.audience),
            audit_batch,
            bundle_source: config.bundle_source,
            ip_hasher: IpHasher::from_secret(config.secret_key.expose()),
            policy,
            admin: done.admin,
            env_key_hash: config.env_api_key.as_ref().map(|k| key_hash(k.expose())),
            vouching,
            webhooks,
            live,
            maintenance,
            log,
            decisions,
            workers: crate::runtime::Workers::new(vec![
                ("vouch engine", vouch_worker),
                ("decision probe", probing),
                ("live relay", relay.unwrap_or_else(Worker::none)),
                ("webhook delivery", webhook_worker),
                ("maintenance", maintenance_worker),
                ("log sequencer", log_worker),
            ]),
            recorder,
            metrics,
        })
    }

    /// Stops the instance's background work without losing what it has answered: every
    /// audit record queued so far (decisions answered from memory included) is written,
    /// then the workers stop, each waited for. The webhook outbox is durable: whichever
    /// instance runs next delivers what is left. Call it once the server takes no more
    /// requests; use cases still work after it, but nothing runs in the background.
    pub async fn shutdown(&self) {
        self.audit_batch.flush().await;
        self.workers.stop().await;
    }

    /// Background workers running now (0 after [`Gateway::shutdown`]).
    pub fn background_workers(&self) -> usize {
        self.workers.running()
    }

    /// The gateway's metrics.
    pub fn metrics(&self) -> &crate::Metrics {
        &self.metrics
    }

    /// Reads the scrape-time gauges (dashboards, the audit queue, connections) into the
    /// metrics now.
    pub fn refresh_metrics(&self) {
        self.metrics.observe(
            self.live_clients(),
            self.audit_batch.queued(),
            self.store.pool_status(),
        );
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// The token issuer of the signing keys in force.
    pub fn tokens(&self) -> Arc<TokenIssuer> {
        crate::token_issuer::current(&self.tokens)
    }

    pub(crate) fn set_tokens(&self, tokens: TokenIssuer) {
        *self.tokens.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(tokens);
    }

    pub fn admin_account(&self) -> &Account {
        &self.admin
    }

    /// The operator at the command line (who has the database and its secret): the admin
    /// account with admin scope, audited as `cli`.
    pub fn operator(&self) -> Principal {
        Principal {
            account_id: self.admin.id.clone(),
            plan: self.admin.plan,
            scope: Scope::Admin,
            key_prefix: "cli".into(),
            operator_account: true,
            lifts_operator_suspensions: true,
        }
    }

    /// The configured trust bundles (admin).
    pub fn trust_bundles(&self, principal: &Principal) -> Result<Vec<BundleSummary>, ServiceError> {
        self.require_operator(principal)?;
        Ok(self.attestation.bundles().summaries())
    }

    /// Re-reads the trust bundles from their source. A source that fails to load leaves the
    /// current bundles in place and says why.
    pub fn reload_trust_bundles(&self) -> Result<Vec<BundleSummary>, ServiceError> {
        let source = self
            .bundle_source
            .as_ref()
            .ok_or_else(|| ServiceError::Conflict(Conflict::NoBundleSource))?;
        let bundles = source.load().map_err(ServiceError::Invalid)?;
        let summaries = bundles.summaries();
        self.attestation.replace_bundles(bundles);
        tracing::info!(bundles = summaries.len(), "trust bundles reloaded");
        Ok(summaries)
    }

    /// How the audit trail names the address `ip` (keyed, so the trail holds no address).
    pub fn ip_hash(&self, ip: &str) -> String {
        self.ip_hasher.hash(ip)
    }

    /// The audit actor for a request by `principal` from an address hashed with
    /// [`Gateway::ip_hash`] (the server hashes a connection's address once, not at every
    /// request on it).
    pub fn actor(&self, principal: Option<&Principal>, ip_hash: Option<String>) -> Actor {
        Actor {
            ip_hash,
            api_key_prefix: principal.map(|p| p.key_prefix.clone()),
        }
    }

    /// Who presents `raw` in `X-API-Key`. Revoked, unknown and malformed keys are refused
    /// alike, in constant time against the stored hash.
    pub async fn authenticate(&self, raw: Option<&str>) -> Result<Principal, ServiceError> {
        if let Some(answer) = self.authenticate_now(raw) {
            return answer;
        }
        let Ok(PresentedKey::Gateway { id, full }) = PresentedKey::parse(raw.unwrap_or_default())
        else {
            return Err(ServiceError::Unauthorized(KeyError::Invalid.to_string()));
        };
        let entry = self.load_key(id).await?;
        self.principal_of(entry.as_deref(), full)
    }

    /// [`Gateway::authenticate`] without waiting on anything: `None` when the key must be
    /// read from the database (it is not held, or memory is not current).
    pub fn authenticate_now(&self, raw: Option<&str>) -> Option<Result<Principal, ServiceError>> {
        let unauthorized = |e: KeyError| ServiceError::Unauthorized(e.to_string());
        let presented = match PresentedKey::parse(raw.unwrap_or_default()) {
            Ok(p) => p,
            Err(e) => return Some(Err(unauthorized(e))),
        };
        match presented {
            PresentedKey::Gateway { id, full } => {
                if !self.decisions.fresh() {
                    return None;
                }
                let entry = self.decisions.keys.get(id)?;
                Some(self.principal_of(Some(&entry), full))
            }
            PresentedKey::Other(raw) => Some(match self.env_key_hash {
                Some(expected) if hash_matches(&expected, raw) => Ok(Principal {
                    account_id: self.admin.id.clone(),
                    plan: self.admin.plan,
                    scope: Scope::Admin,
                    key_prefix: "env:API_KEY".into(),
                    operator_account: true,
                    lifts_operator_suspensions: true,
                }),
                _ => Err(unauthorized(KeyError::Invalid)),
            }),
        }
    }

    /// The principal of a stored key presented as `full`.
    fn principal_of(
        &self,
        entry: Option<&crate::decision_state::KeyEntry>,
        full: &str,
    ) -> Result<Principal, ServiceError> {
        let refused = || ServiceError::Unauthorized(KeyError::Invalid.to_string());
        let entry = entry.ok_or_else(refused)?;
        let (key, account) = (&entry.key, &entry.account);
        if key.revoked_at.is_some() || !key.matches(full) {
            return Err(refused());
        }
        Ok(Principal {
            operator_account: account.id == self.admin.id,
            lifts_operator_suspensions: account.lifts_operator_suspensions,
            account_id: account.id.clone(),
            plan: account.plan,
            scope: key.scope,
            key_prefix: key.prefix.clone(),
        })
    }

    /// The key `id` and its account from the database, held in the decision state.
    async fn load_key(
        &self,
        id: &str,
    ) -> Result<Option<Arc<crate::decision_state::KeyEntry>>, ServiceError> {
        let generation = self.decisions.keys.generation(id);
        let owned = id.to_owned();
        let found = reading(self.store.as_ref(), move |tx| {
            Box::pin(async move {
                let Some(key) = tx.get_key(&owned).await? else {
                    return Ok(None);
                };
                let account = tx.get_account(&key.account_id).await?;
                Ok(account.map(|account| crate::decision_state::KeyEntry { key, account }))
            })
        })
        .await?;
        Ok(found.map(|entry| {
            let entry = Arc::new(entry);
            self.decisions.keys.put(id, generation, Arc::clone(&entry));
            entry
        }))
    }

    /// Probes this instance's listener and waits for the probe to come back (PostgreSQL),
    /// or polls the database's data version (SQLite): every state change committed before
    /// the call is then applied here. `false` when the listener went away first (decisions
    /// read through the database until it is back).
    pub async fn sync_decision_state(&self) -> Result<bool, ServiceError> {
        self.decisions.probe(self.store.as_ref(), true).await
    }

    /// Whether this instance's state listener is connected, as it changes.
    pub fn decision_listener(&self) -> tokio::sync::watch::Receiver<bool> {
        self.decisions.listener()
    }

    /// Operations over the whole gateway (accounts, policy, signing keys, anchors, bundles,
    /// the gateway's own trail) are the operator's: an `admin` key of a tenant is refused.
    pub(crate) fn require_operator(&self, principal: &Principal) -> Result<(), ServiceError> {
        self.require(principal, Scope::Admin)?;
        if principal.is_operator() {
            Ok(())
        } else {
            Err(ServiceError::Forbidden(
                "this operation spans every tenant: only the operator's admin key may call it"
                    .into(),
            ))
        }
    }

    pub(crate) fn require(&self, principal: &Principal, scope: Scope) -> Result<(), ServiceError> {
        if principal.scope.allows(scope) {
            Ok(())
        } else {
            Err(ServiceError::Forbidden(format!(
                "this API key has `{}` scope; `{}` is required",
                principal.scope.as_str(),
                scope.as_str()
            )))
        }
    }
}

struct Bootstrapped {
    admin: Account,
    keys: Vec<tg_tokens::SealedKey>,
}

async fn bootstrap(
    store: &dyn Store,
    config: &GatewayConfig,
) -> Result<Bootstrapped, ServiceError> {
    let now = config.clock.now();
    let secret = config.secret_key.clone();
    let admin_key = config.bootstrap_admin_key.clone();
    let fresh_key = generate_signing_key(secret.expose(), now)
        .map_err(|e| ServiceError::internal_because("generating the first signing key", e))?;
    in_transaction(store, move |tx| {
        Box::pin(async move {
            let admin = match tx.account_by_name(ADMIN_ACCOUNT).await? {
                Some(a) => a,
                None => {
                    let a = Account { id: AccountId::generate(), name: ADMIN_ACCOUNT.into(), plan: Plan::Enterprise, created_at: now, lifts_operator_suspensions: true };
                    tx.insert_account(&a).await?;
                    a
                }
            };
            if let Some(plain) = admin_key.as_ref().map(|k| k.expose().as_str())
                && let Ok(PresentedKey::Gateway { id, .. }) = PresentedKey::parse(plain)
                    && tx.get_key(id).await?.is_none() {
                        let key = ApiKey {
                            id: id.to_owned(),
                            account_id: admin.id.clone(),
                            prefix: plain.chars().take(12).collect(),
                            hash: key_hash(plain),
                            scope: Scope::Admin,
                            created_at: now,
                            revoked_at: None,
                        };
                        tx.insert_key(&key).await?;
                    }
            let mut keys = tx.signing_keys().await?;
            if keys.is_empty() {
                tx.insert_signing_key_if_none(&fresh_key).await?;
                keys = tx.signing_keys().await?;
            }
            // Every key must open: each may be (or become) the signing key.
            if keys.iter().any(|k| k.open(secret.expose()).is_err()) {
                return Err(ServiceError::Invalid(
                    "the stored signing key does not open under this SECRET_KEY: the database was created with another one".into(),
                ));
            }
            Ok(Bootstrapped { admin, keys })
        })
    })
    .await
}
