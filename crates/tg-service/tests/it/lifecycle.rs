use tg_service::{Conflict, Lifecycle, ServiceError};

use crate::support::Setup;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suspension_denies_decisions_and_voids_tokens_at_once() {
    let s = Setup::new().await;
    let acme = s.tenant("acme").await;
    let actor = s.actor(&acme);
    let agent = s.agent(&acme, "reader").await;
    s.successes(&acme, &agent, 6).await;

    let before =
        s.g.authorize(&acme, &actor, &agent, "read_data", None)
            .await
            .unwrap();
    assert!(before.decision.allowed, "{:?}", before.decision);
    let grant = s.g.issue_token(&acme, &actor, &agent, 600).await.unwrap();
    assert!(
        s.g.introspect(&acme, &grant.issued.token)
            .await
            .unwrap()
            .active
    );

    s.g.change_status(&acme, &actor, &agent, Lifecycle::Suspend, None)
        .await
        .unwrap();
    let after =
        s.g.authorize(&acme, &actor, &agent, "read_data", None)
            .await
            .unwrap();
    assert!(!after.decision.allowed);
    assert_eq!(after.decision.reason(), "agent suspended");
    let seen = s.g.introspect(&acme, &grant.issued.token).await.unwrap();
    assert!(!seen.active, "{seen:?}");
    // A suspended agent gets no new token either.
    let refused =
        s.g.issue_token(&acme, &actor, &agent, 600)
            .await
            .map(|_| ())
            .unwrap_err();
    assert_eq!(
        refused,
        ServiceError::Conflict(Conflict::NoTokenWhile {
            id: agent.clone(),
            status: "suspended"
        })
    );
    assert_eq!(
        refused.to_string(),
        format!("agent `{agent}` is suspended: no token can be issued")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_score_decays_with_the_injected_clock_not_the_wall_clock() {
    let s = Setup::new().await;
    let acme = s.tenant("acme").await;
    let actor = s.actor(&acme);
    let agent = s.agent(&acme, "sleeper").await;
    s.successes(&acme, &agent, 8).await;
    let (fresh, _, _) =
        s.g.trust_with_plan(&acme, &actor, &agent, None)
            .await
            .unwrap();
    s.clock.advance_secs(180 * 86_400);
    let (idle, _, _) =
        s.g.trust_with_plan(&acme, &actor, &agent, None)
            .await
            .unwrap();
    assert!(
        idle.breakdown.composite < fresh.breakdown.composite,
        "{} then {}",
        fresh.breakdown.composite,
        idle.breakdown.composite
    );
    assert!((idle.breakdown.days_inactive - 180.0).abs() < 0.01);
}

/// Token issue reads the agent from memory and joins a group commit for its audit record,
/// but hands the token out only once that record is committed: the store holds it, read
/// directly (no flush), when `issue_token` returns.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_is_handed_out_only_once_its_issue_is_on_record() {
    let s = Setup::new().await;
    let acme = s.tenant("acme").await;
    let actor = s.actor(&acme);
    let agent = s.agent(&acme, "issued").await;
    let grant = s.g.issue_token(&acme, &actor, &agent, 600).await.unwrap();
    let stored = s
        .stored_audit(&agent, tg_audit::EventType::TokenIssued)
        .await;
    let jtis: Vec<_> = stored.iter().map(|e| e.details["jti"].clone()).collect();
    assert_eq!(jtis, [serde_json::json!(grant.issued.jti)]);
}
