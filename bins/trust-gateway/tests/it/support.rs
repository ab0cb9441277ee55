use std::path::PathBuf;

use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};
use tg_store::DbConfig;
use trust_gateway::Settings;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub const SECRET: &str = "3f9a1c7e5b2d4f6a8c0e1b3d5f7a9c2e4b6d8f0a1c3e5b7d";
pub const API_KEY: &str = "test-admin-key-5b2d4f6a8c0e1b3d";

/// A running gateway and a client for it.
pub struct Server {
    pub base: String,
    /// The gateway behind the server, for what a test must force rather than wait for.
    pub gateway: std::sync::Arc<tg_service::Gateway>,
    pub client: Client,
    pub key: String,
    pub db: DbConfig,
    pub dir: tempfile::TempDir,
}

/// A fresh database for `backend`: a SQLite file in a temporary directory, or a fresh schema.
pub async fn fresh_db(backend: Backend) -> (DbConfig, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let db = match backend {
        Backend::Sqlite => {
            DbConfig::Sqlite(dir.path().join("gateway.db").to_string_lossy().into_owned())
        }
        Backend::Postgres => {
            tg_store::testing::postgres()
                .await
                .expect("TEST_DATABASE_URL set")
                .1
        }
    };
    (db, dir)
}

pub fn settings(db: &DbConfig, dir: &tempfile::TempDir, extra: &[(&str, &str)]) -> Settings {
    let vars: Vec<(String, String)> = [
        ("SECRET_KEY", SECRET),
        ("API_KEY", API_KEY),
        ("PORT", "0"),
        ("WORKERS", "2"),
    ]
    .iter()
    .chain(extra.iter())
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    let mut s = Settings::from_vars(|k| {
        vars.iter()
            .rev()
            .find(|(name, _)| name == k)
            .map(|(_, v)| v.clone())
    })
    .unwrap();
    s.database = db.clone();
    s.admin_key_file = dir.path().join("admin.key");
    s
}

/// Starts a gateway on `db` (the same `db` twice gives two instances on one database).
pub async fn start_on(db: &DbConfig, dir: tempfile::TempDir, extra: &[(&str, &str)]) -> Server {
    let running = trust_gateway::start(&settings(db, &dir, extra))
        .await
        .unwrap();
    let base = format!("http://{}", running.addr);
    let gateway = std::sync::Arc::clone(&running.gateway);
    tokio::spawn(running.server);
    Server {
        base,
        gateway,
        client: Client::new(),
        key: API_KEY.to_owned(),
        db: db.clone(),
        dir,
    }
}

pub async fn start(backend: Backend) -> Server {
    start_on_fresh(backend, &[]).await
}

/// [`start`] with `extra` settings.
pub async fn start_on_fresh(backend: Backend, extra: &[(&str, &str)]) -> Server {
    let (db, dir) = fresh_db(backend).await;
    start_on(&db, dir, extra).await
}

impl Server {
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let (status, text) = self.send(&self.key, method, path, body).await;
        let value = serde_json::from_str(&text)
            .unwrap_or_else(|_| panic!("{status} body is not JSON: {text:?}"));
        (status, value)
    }

    /// `method path` with `key`: the status and the body as text.
    async fn send(
        &self,
        key: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, String) {
        let mut req = self
            .client
            .request(method, format!("{}{path}", self.base))
            .header("X-API-Key", key);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        (status, resp.text().await.unwrap())
    }

    /// `GET path` with the key, the raw answer (for non-JSON bodies and headers).
    pub async fn fetch(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.base))
            .header("X-API-Key", &self.key)
            .send()
            .await
            .unwrap()
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::PUT, path, Some(body)).await
    }

    /// Registers an agent and returns its id.
    pub async fn register(&self, name: &str) -> String {
        let (status, body) = self
            .post("/agents/register", json!({"name": name, "provider": "openai", "config_hash": "sha256-abc", "capabilities": ["send_email"], "attestation": {"type": "api_key"}}))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["id"].as_str().unwrap().to_owned()
    }

    pub async fn record(&self, agent: &str, action: &str, result: &str) -> Value {
        let (status, body) = self
            .post(
                "/actions/record",
                json!({"agent_id": agent, "action": action, "result": result}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body
    }

    /// `method path` with another key; a body that is not JSON (e.g. empty) reads as null.
    pub async fn call_as(
        &self,
        key: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let (status, text) = self.send(key, method, path, body).await;
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// A new tenant account (enterprise plan) and a `write` key of it.
    pub async fn tenant(&self, name: &str) -> (String, String) {
        let (status, account) = self
            .post(
                "/admin/accounts",
                json!({"name": name, "plan": "enterprise"}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{account}");
        let id = account["id"].as_str().unwrap().to_owned();
        let (status, key) = self
            .post(
                &format!("/admin/accounts/{id}/keys"),
                json!({"scope": "write"}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{key}");
        (id, key["key"].as_str().unwrap().to_owned())
    }

    /// The published `/.well-known/jwks.json`.
    pub async fn jwks<T: serde::de::DeserializeOwned>(&self) -> T {
        self.client
            .get(format!("{}/.well-known/jwks.json", self.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Registers an agent with `key` and returns its id.
    pub async fn register_as(&self, key: &str, name: &str) -> String {
        let body = json!({"name": name, "provider": "openai", "config_hash": "sha256-abc", "attestation": {"type": "api_key"}});
        let (status, agent) = self
            .call_as(key, Method::POST, "/agents/register", Some(body))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{agent}");
        agent["id"].as_str().unwrap().to_owned()
    }

    /// A gateway token for `agent`, issued with its owner's `key`.
    pub async fn token_as(&self, key: &str, agent: &str) -> String {
        let (status, t) = self
            .call_as(
                key,
                Method::POST,
                &format!("/agents/{agent}/token"),
                Some(json!({})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{t}");
        t["token"].as_str().unwrap().to_owned()
    }

    /// `POST /actions/record` with `key`, as a witness when `token` is given.
    pub async fn record_as(
        &self,
        key: &str,
        agent: &str,
        action: &str,
        result: &str,
        token: Option<&str>,
    ) -> (StatusCode, Value) {
        let mut body = json!({"agent_id": agent, "action": action, "result": result});
        if let Some(t) = token {
            body["token"] = json!(t);
        }
        self.call_as(key, Method::POST, "/actions/record", Some(body))
            .await
    }

    /// An agent of the tenant holding `key`, past cold start on six reports of its own and
    /// proven by five the operator witnessed with its token (docs/TRUST-MODEL.md), so the
    /// default policy does not hold its score at tier 1.
    pub async fn proven_agent(&self, key: &str, name: &str) -> String {
        let id = self.register_as(key, name).await;
        for _ in 0..6 {
            let (status, r) = self.record_as(key, &id, "read_data", "success", None).await;
            assert_eq!(status, StatusCode::CREATED, "{r}");
        }
        let token = self.token_as(key, &id).await;
        for _ in 0..5 {
            let (status, r) = self
                .record_as(&self.key, &id, "read_data", "success", Some(&token))
                .await;
            assert_eq!(status, StatusCode::CREATED, "{r}");
        }
        id
    }

    pub fn sqlite_path(&self) -> Option<PathBuf> {
        match &self.db {
            DbConfig::Sqlite(p) => Some(PathBuf::from(p)),
            DbConfig::Postgres { .. } => None,
        }
    }
}

/// Runs raw SQL against the server's database, as an attacker with database access would.
pub async fn tamper(db: &DbConfig, sql: &str) {
    use diesel_async::{AsyncConnection, RunQueryDsl};
    match db {
        DbConfig::Sqlite(path) => {
            use diesel::Connection;
            let mut conn = diesel::SqliteConnection::establish(path).unwrap();
            // Wait for the server's write lock as its own connection does.
            diesel::RunQueryDsl::execute(
                diesel::sql_query("PRAGMA busy_timeout = 5000"),
                &mut conn,
            )
            .unwrap();
            diesel::RunQueryDsl::execute(diesel::sql_query(sql), &mut conn).unwrap();
        }
        DbConfig::Postgres { url, .. } => {
            let mut conn = diesel_async::AsyncPgConnection::establish(url)
                .await
                .unwrap();
            diesel::sql_query(sql).execute(&mut conn).await.unwrap();
        }
    }
}

/// The admin key of [`service`] gateways.
pub const SERVICE_KEY: &str = "clocked-admin-key-0123456789";

/// A gateway without HTTP on a fresh SQLite database, driven by `clock`, with no background
/// vouch worker (tests run the recompute themselves, deterministically).
pub async fn service(
    clock: std::sync::Arc<tg_core::ManualClock>,
    bundles: tg_identity::TrustBundles,
    policy: tg_scoring::Policy,
) -> tg_service::Gateway {
    service_on(tg_store::testing::sqlite().await, clock, bundles, policy).await
}

/// [`service`] on `store` (a second call on the same database is a second instance).
pub async fn service_on(
    store: tg_store::Db,
    clock: std::sync::Arc<tg_core::ManualClock>,
    bundles: tg_identity::TrustBundles,
    policy: tg_scoring::Policy,
) -> tg_service::Gateway {
    service_with(store, clock, bundles, policy, |_| {}).await
}

/// [`service_on`], with `edit` applied to the configuration.
pub async fn service_with(
    store: tg_store::Db,
    clock: std::sync::Arc<tg_core::ManualClock>,
    bundles: tg_identity::TrustBundles,
    policy: tg_scoring::Policy,
    edit: impl FnOnce(&mut tg_service::GatewayConfig),
) -> tg_service::Gateway {
    let mut config = tg_service::GatewayConfig::in_process(
        b"clocked-secret-0123456789abcdefghijklmnop".to_vec(),
        SERVICE_KEY,
    );
    config.policy = policy;
    config.clock = clock;
    config.trust_bundles = bundles;
    config.webhooks.allow = tg_webhooks::UrlPolicy::parse_allow_list("127.0.0.0/8,::1").unwrap();
    edit(&mut config);
    tg_service::Gateway::start(std::sync::Arc::new(store), config)
        .await
        .unwrap()
}

/// The agent's own account reporting one successful `read_data`.
pub fn success(agent: &tg_core::AgentId) -> tg_service::RecordAction {
    tg_service::RecordAction {
        agent_id: agent.clone(),
        action: "read_data".into(),
        result: tg_core::Outcome::Success,
        reported_at: None,
        token: None,
    }
}

/// A registration with an API-key attestation (identity strength 0.6), nothing else.
pub fn registration(name: &str, attestation: tg_identity::Attestation) -> tg_service::Registration {
    tg_service::Registration {
        name: name.into(),
        provider: "p".into(),
        spiffe_id: None,
        config_hash: "h".into(),
        capabilities: vec![],
        attestation: Some(attestation),
        a2a: None,
    }
}

/// A [`service`] gateway at `t0` under `preset`, its clock, and the operator's principal.
pub async fn clocked(
    t0: tg_core::Timestamp,
    preset: tg_scoring::Preset,
) -> (
    tg_service::Gateway,
    std::sync::Arc<tg_core::ManualClock>,
    tg_access::Principal,
) {
    let clock = std::sync::Arc::new(tg_core::ManualClock::new(t0));
    let g = service(
        std::sync::Arc::clone(&clock),
        tg_identity::TrustBundles::default(),
        tg_scoring::Policy::preset(preset),
    )
    .await;
    let operator = g.authenticate(Some(SERVICE_KEY)).await.unwrap();
    (g, clock, operator)
}

/// On a [`service`] gateway: a new account of `plan` and the principal of a `scope` key of it.
pub async fn tenant_principal(
    g: &tg_service::Gateway,
    operator: &tg_access::Principal,
    name: &str,
    plan: tg_access::Plan,
    scope: tg_access::Scope,
) -> tg_access::Principal {
    let actor = g.actor(Some(operator), None);
    let account = g
        .create_account(operator, &actor, name, plan)
        .await
        .unwrap();
    let key = g
        .create_key(operator, &actor, &account.id, scope)
        .await
        .unwrap();
    g.authenticate(Some(&key.plaintext)).await.unwrap()
}

/// A python3 for a test's tools: the one `var` names (then it must be used), else `python3`
/// if it can import `module`, else none (the test says it did not run).
pub fn python_with(var: &str, module: &str) -> Option<String> {
    if let Some(p) = std::env::var(var).ok().filter(|p| !p.is_empty()) {
        return Some(p);
    }
    let ok = std::process::Command::new("python3")
        .args(["-c", &format!("import {module}")])
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    ok.then(|| "python3".to_owned())
}

/// Runs a finished command's check: success, or the panic shows what it printed.
pub fn assert_ran(out: &std::process::Output, what: &str) {
    assert!(
        out.status.success(),
        "{what}:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A gateway trusting an `example.org` JWT-SVID bundle (an ES256 key, and an Ed25519 key
/// JWT-SVIDs cannot use, which is skipped with a warning), and a signer of JWT-SVIDs
/// `(sub, aud)` valid for ten minutes under it.
pub async fn jwt_svid_server(backend: Backend) -> (Server, impl Fn(&str, &str) -> String) {
    use josekit::jws::{ES256, JwsHeader};
    use josekit::jwt::{self, JwtPayload};

    let (db, dir) = fresh_db(backend).await;
    let bundles = dir.path().join("bundles");
    std::fs::create_dir(&bundles).unwrap();
    let pair = ES256.generate_key_pair().unwrap();
    let mut jwk = pair.to_jwk_public_key();
    jwk.set_key_id("k1");
    jwk.set_key_use("jwt-svid");
    let okp = json!({"use": "jwt-svid", "kid": "ed-1", "kty": "OKP", "crv": "Ed25519",
        "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"});
    let spiffe_bundle = json!({"keys": [okp, serde_json::to_value(jwk.as_ref()).unwrap()],
        "spiffe_refresh_hint": 300});
    std::fs::write(
        bundles.join("example.org.jwks.json"),
        spiffe_bundle.to_string(),
    )
    .unwrap();
    let s = start_on(&db, dir, &[("TRUST_BUNDLE_DIR", bundles.to_str().unwrap())]).await;

    let signer = ES256.signer_from_der(pair.to_der_private_key()).unwrap();
    let svid = move |sub: &str, aud: &str| {
        let mut header = JwsHeader::new();
        header.set_key_id("k1");
        header.set_token_type("JWT");
        let exp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
            + 600;
        let claims = json!({"sub": sub, "aud": [aud], "exp": exp});
        jwt::encode_with_signer(
            &JwtPayload::from_map(claims.as_object().unwrap().clone()).unwrap(),
            &header,
            &signer,
        )
        .unwrap()
    };
    (s, svid)
}

/// A spawned process, killed (and reaped) when dropped: a test that fails half-way does not
/// leave it running, serving on its port and writing its files, after the test run.
pub struct Killed(pub std::process::Child);

impl std::ops::Deref for Killed {
    type Target = std::process::Child;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl std::ops::DerefMut for Killed {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

impl Drop for Killed {
    fn drop(&mut self) {
        // Both fail only when the process is gone already.
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A store that counts the reads it serves and its log queue reclaims, around a real one.
#[derive(Debug)]
pub struct Counting {
    inner: tg_store::Db,
    pub reads: std::sync::atomic::AtomicUsize,
    pub reclaims: std::sync::atomic::AtomicUsize,
}

impl Counting {
    pub fn new(inner: tg_store::Db) -> Self {
        Self {
            inner,
            reads: Default::default(),
            reclaims: Default::default(),
        }
    }
}

#[async_trait::async_trait]
impl tg_service::Store for Counting {
    async fn transaction(
        &self,
        work: tg_service::TxWork,
    ) -> Result<Box<dyn std::any::Any + Send>, tg_service::ServiceError> {
        self.inner.transaction(work).await
    }
    async fn single_write(
        &self,
        work: tg_service::TxWork,
    ) -> Result<Box<dyn std::any::Any + Send>, tg_service::ServiceError> {
        self.inner.single_write(work).await
    }
    async fn read(
        &self,
        work: tg_service::TxWork,
    ) -> Result<Box<dyn std::any::Any + Send>, tg_service::ServiceError> {
        self.reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.inner.read(work).await
    }
    async fn ready(&self) -> Result<(), tg_core::StoreError> {
        self.inner.ready().await
    }
    fn backend(&self) -> &'static str {
        self.inner.backend()
    }
    async fn listen_events(&self) -> Result<Option<tg_service::EventSignals>, tg_core::StoreError> {
        self.inner.listen_events().await
    }
    fn pool_status(&self) -> tg_service::PoolStatus {
        self.inner.pool_status()
    }
    async fn outside_writes(&self) -> Result<Option<i64>, tg_core::StoreError> {
        self.inner.outside_writes().await
    }
    fn on_commit(&self, hook: tg_service::CommitHook) {
        self.inner.on_commit(hook);
    }
    async fn signal(&self, signals: &[String]) -> Result<(), tg_core::StoreError> {
        self.inner.signal(signals).await
    }
    async fn reclaim_log_queue(&self) -> Result<(), tg_core::StoreError> {
        self.reclaims
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.inner.reclaim_log_queue().await
    }
}
