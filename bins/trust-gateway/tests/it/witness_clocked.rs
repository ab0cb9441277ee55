//! Witnesses on the service with an injected clock and the vouch recompute run explicitly:
//! the token's expiry grace, and a witness account's credibility following the vouch
//! factor of its agents (so trust traces to the pre-trusted).

use std::sync::Arc;
use tg_core::AgentId;

use tg_access::{Plan, Principal, Scope};
use tg_core::{ManualClock, Outcome, Timestamp};
use tg_identity::Attestation;
use tg_scoring::Preset;
use tg_service::{Gateway, RecordAction, ServiceError, WITNESS_GRACE_SECS};

use crate::support::{clocked, tenant_principal};

/// 2027-01-01T00:00:00Z
const T0: Timestamp = Timestamp::from_secs(1_798_761_600);

struct World {
    g: Gateway,
    clock: Arc<ManualClock>,
    operator: Principal,
    actor: tg_audit::Actor,
}

impl World {
    async fn new() -> Self {
        let (g, clock, operator) = clocked(T0, Preset::Default).await;
        let actor = g.actor(Some(&operator), None);
        Self {
            g,
            clock,
            operator,
            actor,
        }
    }

    async fn tenant(&self, name: &str) -> Principal {
        tenant_principal(&self.g, &self.operator, name, Plan::Pro, Scope::Write).await
    }

    async fn agent(&self, owner: &Principal, name: &str) -> AgentId {
        let reg = crate::support::registration(name, Attestation::ApiKey);
        let view = self.g.register(owner, &self.actor, reg).await.unwrap();
        view.agent.id
    }

    async fn report(
        &self,
        who: &Principal,
        agent: &AgentId,
        token: Option<&str>,
    ) -> Result<tg_service::Recorded, ServiceError> {
        self.clock.advance_secs(1);
        let req = RecordAction {
            agent_id: agent.clone(),
            action: "read_data".into(),
            result: Outcome::Success,
            reported_at: None,
            token: token.map(str::to_owned),
        };
        self.g.record_action(who, &self.actor, req).await
    }

    async fn token(&self, owner: &Principal, agent: &AgentId, expires_in: i64) -> String {
        let grant = self
            .g
            .issue_token(owner, &self.actor, agent, expires_in)
            .await
            .unwrap();
        grant.issued.token
    }

    async fn proven_weight(&self, agent: &AgentId) -> f64 {
        let view = self.g.trust_view(agent).await.unwrap();
        view.breakdown.proof.proven_weight
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_proves_an_interaction_until_its_grace_runs_out() {
    let w = World::new().await;
    let acme = w.tenant("acme").await;
    let agent = w.agent(&acme, "bot").await;
    let token = w.token(&acme, &agent, 60).await;
    // Expired, but within the grace (60 s + 30 s leeway + WITNESS_GRACE_SECS).
    w.clock.advance_secs(60 + 30 + WITNESS_GRACE_SECS - 5);
    let r = w.report(&w.operator, &agent, Some(&token)).await.unwrap();
    assert_eq!(r.receipt.provenance, tg_core::Provenance::Witnessed);
    w.clock.advance_secs(10);
    let err = w
        .report(&w.operator, &agent, Some(&token))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ServiceError::Forbidden(m) if m.contains("expired")),
        "{err:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_witness_counts_as_far_as_its_account_traces_to_the_pretrusted() {
    let w = World::new().await;
    let acme = w.tenant("acme").await;
    let tools = w.tenant("tools").await;
    let agent = w.agent(&acme, "bot").await;
    let token = w.token(&acme, &agent, 3600).await;

    // The tool server's account has an agent nobody vouches for: its reports prove nothing.
    let tool_agent = w.agent(&tools, "tool-agent").await;
    for _ in 0..3 {
        w.report(&tools, &agent, Some(&token)).await.unwrap();
    }
    assert_eq!(w.proven_weight(&agent).await, 0.0);

    // The operator anchors the tool server's agent: pre-trusted, vouch factor 1 once the
    // recompute runs, and the account's reports now count in full.
    w.g.set_anchor(&w.operator, &w.actor, &tool_agent, true)
        .await
        .unwrap();
    w.g.recompute_vouches().await.unwrap();
    for _ in 0..5 {
        w.report(&tools, &agent, Some(&token)).await.unwrap();
    }
    let weight = w.proven_weight(&agent).await;
    assert!((weight - 5.0).abs() < 1e-3, "{weight}");
    let view = w.g.trust_view(&agent).await.unwrap();
    assert!(view.breakdown.proof.proven);

    // A suspended agent passes on no credibility.
    w.g.change_status(
        &w.operator,
        &w.actor,
        &tool_agent,
        tg_service::Lifecycle::Suspend,
        None,
    )
    .await
    .unwrap();
    let before = w.proven_weight(&agent).await;
    w.report(&tools, &agent, Some(&w.token(&acme, &agent, 3600).await))
        .await
        .unwrap();
    assert!((w.proven_weight(&agent).await - before).abs() < 1e-3);
}
