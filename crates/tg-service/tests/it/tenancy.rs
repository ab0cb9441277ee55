use tg_core::Outcome;
use tg_service::{Lifecycle, RecordAction, ServiceError};

use crate::support::Setup;

/// Another tenant changes nothing about an agent: every write use case answers as for an
/// agent that does not exist.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_tenant_cannot_issue_record_or_suspend() {
    let s = Setup::new().await;
    let (acme, globex) = (s.tenant("acme").await, s.tenant("globex").await);
    let agent = s.agent(&acme, "payroll").await;
    s.successes(&acme, &agent, 3).await;
    let outsider = s.actor(&globex);

    let not_found = |r: Result<_, ServiceError>, what: &str| match r {
        Err(ServiceError::NotFound(m)) => assert!(m.contains(agent.as_str()), "{what}: {m}"),
        other => panic!("{what}: expected not found, got {:?}", other.map(|_| ())),
    };
    // Public by design (docs/API.md, "Tenancy"): relying parties ask about agents they do
    // not own, for the trust breakdown and for decisions. Tokens, records and the
    // lifecycle are the owner's.
    assert!(
        s.g.trust_with_plan(&globex, &outsider, &agent, None)
            .await
            .is_ok()
    );
    let decided =
        s.g.authorize(&globex, &outsider, &agent, "read_data", None)
            .await;
    assert!(decided.is_ok(), "{decided:?}");
    not_found(
        s.g.issue_token(&globex, &outsider, &agent, 600)
            .await
            .map(|_| ()),
        "token",
    );
    let req = RecordAction {
        agent_id: agent.clone(),
        action: "read_data".into(),
        result: Outcome::Violation,
        reported_at: None,
        token: None,
    };
    not_found(
        s.g.record_action(&globex, &outsider, req).await.map(|_| ()),
        "record",
    );
    not_found(
        s.g.change_status(&globex, &outsider, &agent, Lifecycle::Suspend, None)
            .await
            .map(|_| ()),
        "suspend",
    );

    // The owner sees its agent as it left it: active, three receipts, no violation.
    let (view, _, _) =
        s.g.trust_with_plan(&acme, &s.actor(&acme), &agent, None)
            .await
            .unwrap();
    assert_eq!(view.agent.status, tg_identity::AgentStatus::Active);
    assert_eq!(
        (view.state.evidence.count(), view.state.evidence.violations),
        (3, 0)
    );
}
