//! The audit queue is bounded: a decision that finds it full waits for room, and every
//! decision answered is on record once the writer catches up.

use std::future::Future;

use tg_audit::EventType;
use tokio::sync::oneshot;

use crate::support::Setup;

/// Holds the store's one SQLite writer in a transaction until `release` is sent: the audit
/// writer's batches wait behind it. Resolves once the writer is held.
async fn hold_the_writer(s: &Setup) -> (oneshot::Sender<()>, impl Future<Output = ()>) {
    let (release, released) = oneshot::channel::<()>();
    let (held, holding) = oneshot::channel::<()>();
    let store = std::sync::Arc::clone(s.g.store());
    let holder = tokio::spawn(async move {
        tg_service::in_transaction(store.as_ref(), move |_tx| {
            Box::pin(async move {
                let _ = held.send(());
                let _ = released.await;
                Ok(())
            })
        })
        .await
        .unwrap();
    });
    holding.await.unwrap();
    (release, async move { holder.await.unwrap() })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_audit_queue_holds_decisions_back_and_loses_none() {
    const QUEUE: usize = 8;
    let s = Setup::with(|c| c.audit_queue = QUEUE).await;
    let (acme, actor, agent) = s.reader_in_memory().await;

    let (release, holder_done) = hold_the_writer(&s).await;
    // Decide until a decision's record finds no room. The writer takes at most three
    // batches off the queue (two committing, one formed), so that comes soon.
    let mut decided = 0;
    let mut waiting = loop {
        let mut decision = Box::pin(s.g.authorize(&acme, &actor, &agent, "read_config", None));
        tokio::select! {
            biased;
            answer = &mut decision => {
                assert!(answer.unwrap().decision.allowed);
                decided += 1;
                assert!(decided <= QUEUE + 3 * 512, "the queue is bounded");
            }
            () = async {
                while s.g.metrics().audit_queue_fulls() == 0 {
                    tokio::task::yield_now().await;
                }
            } => break decision,
        }
    };
    // The queue is full and the writer held: memory answers nothing either (its records
    // would have no room), and the waiting decision stays unanswered.
    assert!(
        s.g.authorize_now(&acme, &actor, &agent, "read_config", None)
            .is_none()
    );
    tokio::select! {
        biased;
        _ = &mut waiting => panic!("answered while its record had no room"),
        () = tokio::task::yield_now() => {}
    }
    release.send(()).unwrap();
    holder_done.await;
    assert!(waiting.await.unwrap().decision.allowed);

    // Every decision is on record: the first, those that found room and the one that
    // waited.
    s.g.shutdown().await;
    let stored = s.stored_audit(&agent, EventType::TrustCheck).await;
    assert_eq!(stored.len(), 1 + decided + 1);
    assert_eq!(s.g.metrics().audit_queue_fulls(), 1);
}
