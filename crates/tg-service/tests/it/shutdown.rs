//! `Gateway::shutdown`: what was answered is on record, then the background stops.

use std::time::Duration;

use tg_audit::EventType;

use crate::support::Setup;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_writes_every_queued_decision_then_stops_the_workers() {
    // Background workers on, with periods long enough that none runs a round here.
    let hour = Some(Duration::from_secs(3600));
    let s = Setup::with(|c| {
        c.maintenance.every = hour;
        c.log.every = hour;
        c.decisions.probe_every = hour;
    })
    .await;
    // One decision read the agent into memory; the next are answered from it, their audit
    // records only queued.
    let (acme, actor, agent) = s.reader_in_memory().await;
    let mut queued = 0;
    for _ in 0..200 {
        if let Some(answer) =
            s.g.authorize_now(&acme, &actor, &agent, "read_config", None)
        {
            assert!(answer.unwrap().decision.allowed);
            queued += 1;
        }
    }
    assert!(queued > 0, "decisions answered from memory");
    let running = s.g.background_workers();
    assert!(running > 0, "workers run before shutdown");

    s.g.shutdown().await;
    assert_eq!(s.g.background_workers(), 0);
    // Read the store directly (the audit use cases flush the queue themselves).
    let stored = s.stored_audit(&agent, EventType::TrustCheck).await;
    assert_eq!(
        stored.len(),
        1 + queued,
        "every decision answered is on record"
    );

    // Again: nothing left to stop; use cases still answer.
    s.g.shutdown().await;
    assert!(s.g.trust_view(&agent).await.is_ok());
}
