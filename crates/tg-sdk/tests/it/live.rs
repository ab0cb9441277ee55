//! The live feed through the SDK's WebSocket client.

use std::time::Duration;

use tg_sdk::{Client, LiveEvent, LiveFeed};

use crate::session::{record, registration};
use crate::support::Gateway;

/// The next event (a hang guard bounds the wait; events are awaited, not timed).
async fn next(feed: &mut LiveFeed) -> LiveEvent {
    tokio::time::timeout(Duration::from_secs(60), feed.next())
        .await
        .expect("an event within a minute")
        .expect("the feed is open")
        .expect("a well-formed event")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_feed_starts_with_stats_then_streams_events() {
    let gw = Gateway::start().await;
    let c = gw.client();
    let mut feed = c.live_feed().await.unwrap();
    // The feed is a `Stream` too.
    let first = futures_util::StreamExt::next(&mut feed)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.kind, "initial_stats");
    assert_eq!(first.data["total_agents"], 0);

    // The protocol's text ping: its pong is consumed, not handed out as an event.
    feed.ping().await.unwrap();
    let agent = c.register_agent(&registration("streamer")).await.unwrap();
    let registered = next(&mut feed).await;
    assert_eq!(registered.kind, "agent_registered");
    assert_eq!(registered.data["agent_id"], agent.id.as_str());
    record(&c, &agent.id, "read_data", 1).await;
    let mut kinds = Vec::new();
    while !kinds.iter().any(|k| k == "receipt_recorded") {
        kinds.push(next(&mut feed).await.kind);
    }
    feed.close().await.unwrap();

    let anonymous = Client::builder(&gw.base).build().unwrap();
    let e = anonymous.live_feed().await.unwrap_err();
    assert_eq!(e.status(), Some(401), "{e}");
}
