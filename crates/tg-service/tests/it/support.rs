use std::sync::Arc;

use tg_access::{Plan, Principal, Scope};
use tg_audit::Actor;
use tg_core::{ManualClock, Outcome, Timestamp};
use tg_service::{Gateway, GatewayConfig, RecordAction, Registration};

pub const T0: Timestamp = Timestamp::from_secs(1_800_000_000);

/// A gateway on a fresh SQLite file whose clock only moves when the test moves it.
pub struct Setup {
    pub g: Gateway,
    pub clock: Arc<ManualClock>,
    pub operator: Principal,
    _dir: tempfile::TempDir,
}

impl Setup {
    pub async fn new() -> Self {
        Self::with(|_| {}).await
    }

    /// As [`Setup::new`], with `edit` applied to the configuration.
    pub async fn with(edit: impl FnOnce(&mut GatewayConfig)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gateway.db").to_string_lossy().into_owned();
        let db = tg_store::Db::connect(&tg_store::DbConfig::Sqlite(path))
            .await
            .unwrap();
        let admin = "service-test-admin-key-0123456789";
        let clock = Arc::new(ManualClock::new(T0));
        let mut config = GatewayConfig::in_process(vec![7; 32], admin);
        config.clock = clock.clone();
        edit(&mut config);
        let g = Gateway::start(Arc::new(db), config).await.unwrap();
        let operator = g.authenticate(Some(admin)).await.unwrap();
        Self {
            g,
            clock,
            operator,
            _dir: dir,
        }
    }

    /// The agent's audit events of `kind` in the store, read directly (the audit use
    /// cases flush the queue first).
    pub async fn stored_audit(
        &self,
        agent: &tg_core::AgentId,
        kind: tg_audit::EventType,
    ) -> Vec<tg_audit::AuditEvent> {
        let query = tg_audit::AuditQuery {
            agent_id: Some(agent.clone()),
            start: Timestamp::from_secs(0),
            end: Timestamp::from_secs(i64::from(u32::MAX)),
            event_type: Some(kind),
            after: None,
            limit: 5000,
        };
        tg_service::reading(self.g.store().as_ref(), move |tx| {
            Box::pin(async move { Ok(tx.query_audit(&query).await?) })
        })
        .await
        .unwrap()
    }

    /// A tenant `acme`, its actor and an agent `reader` whose decisions memory answers: the
    /// first decision reads it in, and memory is known current.
    pub async fn reader_in_memory(&self) -> (Principal, Actor, tg_core::AgentId) {
        let acme = self.tenant("acme").await;
        let actor = self.actor(&acme);
        let agent = self.agent(&acme, "reader").await;
        self.g
            .authorize(&acme, &actor, &agent, "read_config", None)
            .await
            .unwrap();
        assert!(self.g.sync_decision_state().await.unwrap());
        (acme, actor, agent)
    }

    pub fn actor(&self, p: &Principal) -> Actor {
        self.g.actor(Some(p), None)
    }

    /// A tenant account and the principal of a write key of it.
    pub async fn tenant(&self, name: &str) -> Principal {
        let actor = self.actor(&self.operator);
        let account = self
            .g
            .create_account(&self.operator, &actor, name, Plan::Pro)
            .await
            .unwrap();
        let key = self
            .g
            .create_key(&self.operator, &actor, &account.id, Scope::Write)
            .await
            .unwrap();
        self.g.authenticate(Some(&key.plaintext)).await.unwrap()
    }

    /// Registers an agent of `p`'s account; returns its id.
    pub async fn agent(&self, p: &Principal, name: &str) -> tg_core::AgentId {
        let reg = Registration {
            name: name.into(),
            provider: "openai".into(),
            spiffe_id: None,
            config_hash: "sha256-abc".into(),
            capabilities: vec!["read_data".into()],
            attestation: None,
            a2a: None,
        };
        let view = self.g.register(p, &self.actor(p), reg).await.unwrap();
        view.agent.id.clone()
    }

    /// `n` self-reported successes, a minute apart.
    pub async fn successes(&self, p: &Principal, agent: &tg_core::AgentId, n: usize) {
        for _ in 0..n {
            self.clock.advance_secs(60);
            let req = RecordAction {
                agent_id: agent.clone(),
                action: "read_data".into(),
                result: Outcome::Success,
                reported_at: None,
                token: None,
            };
            self.g.record_action(p, &self.actor(p), req).await.unwrap();
        }
    }
}
