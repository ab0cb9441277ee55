//! The blocking client from plain threads, as scripts and synchronous services use it.

use tg_sdk::wire::agents::TokenQuery;
use tg_sdk::wire::receipts::RecordRequest;
use tg_sdk::{Error, Outcome, blocking};

use crate::session::registration;
use crate::support::{Gateway, KEY};

/// A gateway served from a runtime on its own thread; the test thread has none.
/// A gateway on a thread of its own; calling the returned stop function stops it and
/// returns once it has stopped (so a call made after it cannot still reach the server).
fn gateway_thread() -> (String, impl FnOnce()) {
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
    let thread = std::thread::spawn(move || {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async {
            let gw = Gateway::start().await;
            ready_tx.send(gw.base.clone()).unwrap();
            tokio::task::spawn_blocking(move || stop_rx.recv())
                .await
                .ok();
            gw.stop().await;
        });
    });
    let stop = move || {
        stop_tx.send(()).unwrap();
        thread.join().unwrap();
    };
    (ready_rx.recv().unwrap(), stop)
}

#[test]
fn the_blocking_client_needs_no_runtime() {
    let (base, stop) = gateway_thread();
    let c = blocking::Client::new(&base, KEY).unwrap();
    assert_eq!(c.health().unwrap().status, "healthy");
    let agent = c.register_agent(&registration("sync-bot")).unwrap();
    assert_eq!(c.get_agent(&agent.id).unwrap().name, "sync-bot");
    assert!(!c.verify(&agent.id, 4.5).meets_threshold);

    let mut feed = c.live_feed().unwrap();
    let first = feed.next().unwrap().unwrap();
    assert_eq!(first.kind, "initial_stats");
    assert_eq!(first.data["total_agents"], 1);
    feed.close().unwrap();

    for _ in 0..20 {
        c.record_action(&RecordRequest::new(
            &agent.id,
            "read_data",
            Outcome::Success,
        ))
        .unwrap();
    }
    let grant = c.issue_token(&agent.id, &TokenQuery::default()).unwrap();
    let verifier = c.token_verifier("trust-gateway", "trust-gateway").unwrap();
    assert_eq!(
        verifier.authorize(&grant.token, "read_data").unwrap().sub,
        agent.id.as_str()
    );

    stop();
    let r = c.verify(&agent.id, 0.1);
    assert!(!r.meets_threshold);
    assert!(r.error.unwrap().contains("failed closed"));
}

#[tokio::test]
async fn inside_a_runtime_the_blocking_client_refuses_instead_of_stalling_it() {
    let c = blocking::Client::new("http://127.0.0.1:9", KEY).unwrap();
    assert_eq!(c.health().unwrap_err(), Error::BlockingInAsync);
    let r = c.verify(&tg_sdk::AgentId::generate(), 1.0);
    assert!(!r.meets_threshold);
}
