//! Joy §7.1: `verify` denies on every failure, and says why.

use std::time::Duration;

use serde_json::json;
use tg_sdk::{AgentId, Client, TrustResult};

use crate::session::{record, registration};
use crate::support::{Gateway, KEY, script};

fn denied(r: &TrustResult, why: &str) {
    assert!(!r.meets_threshold, "{r:?}");
    let error = r.error.as_deref().unwrap_or_default();
    assert!(error.contains(why), "`{error}` should say `{why}`");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_gateway_allows_only_what_meets_the_threshold() {
    let gw = Gateway::start().await;
    let c = gw.client();
    let agent = c.register_agent(&registration("worker")).await.unwrap();
    record(&c, &agent.id, "read_data", 20).await;

    let ok = c.verify(&agent.id, 0.5).await;
    assert!(ok.meets_threshold, "{ok:?}");
    assert_eq!(ok.agent_id.as_ref(), Some(&agent.id));
    assert!(ok.error.is_none());
    assert!(c.verify_named("worker", 0.5).await.meets_threshold);

    let high = c.verify(&agent.id, 5.0).await;
    assert!(!high.meets_threshold, "{high:?}");
    denied(&c.verify(&AgentId::generate(), 0.5).await, "unknown agent");
    denied(&c.verify_named("nobody", 0.5).await, "unknown agent");
    denied(&c.verify(&agent.id, f64::NAN).await, "min_score");
    denied(&c.verify(&agent.id, 7.0).await, "min_score");

    let wrong_key = Client::new(&gw.base, "not-a-key-0123456789abcdef").unwrap();
    denied(&wrong_key.verify(&agent.id, 0.5).await, "401");

    // The same gateway, stopped: connections are refused. A new client, so the call opens
    // a connection: on one the old client keeps alive, a stopping worker may still answer
    // a request that reaches it first (it now answers from memory, fast enough to).
    gw.stop().await;
    let c = gw.client();
    let r = c.verify(&agent.id, 0.5).await;
    denied(&r, "cannot reach the gateway");
    assert_eq!(r.agent_id.as_ref(), Some(&agent.id));
    assert_eq!(r.threshold_used, 0.5);
    assert_eq!(r.trust_score, 0.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_gateways_and_networks_deny() {
    let agent = AgentId::generate();
    let verify = |base: String| {
        let agent = agent.clone();
        async move {
            let c = Client::builder(&base)
                .api_key(KEY)
                .timeout(Duration::from_millis(300))
                .build()
                .unwrap();
            c.verify(&agent, 1.0).await
        }
    };

    let s = script(vec![Some((500, "internal error".into()))]).await;
    denied(&verify(s.base).await, "500");
    let s = script(vec![Some((
        503,
        json!({"code": "unavailable", "detail": "store down"}).to_string(),
    ))])
    .await;
    denied(&verify(s.base).await, "store down");
    let s = script(vec![Some((200, "<html>login</html>".into()))]).await;
    denied(&verify(s.base).await, "unexpected answer");
    let s = script(vec![Some((
        200,
        json!({"meets_threshold": true}).to_string(),
    ))])
    .await;
    denied(&verify(s.base).await, "unexpected answer");

    // Well-formed answers that contradict themselves are not believed.
    let answer = |score: f64, threshold: f64, about: &AgentId| {
        json!({"agent_id": about, "agent_name": "x", "trust_score": score, "verified": true,
            "meets_threshold": true, "threshold_used": threshold, "vouch_count": 0,
            "evidence_count": 9, "capabilities": [], "tier": "free", "badges": [],
            "last_activity": null, "withheld": false, "error": null,
            "provider": "trust-gateway", "provider_version": "0"})
        .to_string()
    };
    let s = script(vec![Some((200, answer(0.4, 1.0, &agent)))]).await;
    denied(&verify(s.base).await, "below the threshold");
    let s = script(vec![Some((200, answer(4.0, 0.0, &agent)))]).await;
    denied(&verify(s.base).await, "another threshold");
    let s = script(vec![Some((200, answer(4.0, 1.0, &AgentId::generate())))]).await;
    denied(&verify(s.base).await, "another agent");
    let s = script(vec![Some((200, answer(4.0, 1.0, &agent)))]).await;
    assert!(
        verify(s.base).await.meets_threshold,
        "control: a consistent answer"
    );

    // Accepted, then silence: the client's timeout, then a denial.
    let s = script(vec![None]).await;
    denied(&verify(s.base).await, "did not answer within");

    // Nothing listens on a port just released.
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", free.local_addr().unwrap());
    drop(free);
    denied(&verify(base).await, "cannot reach the gateway");
}
