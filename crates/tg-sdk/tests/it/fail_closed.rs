//! Joy §7.1: `verify` denies on every failure, and says why.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::json;
use tg_sdk::{AgentId, Client, TrustResult};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

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

/// A listener that answers every request with `head` (no body) and counts the requests.
async fn answering(head: &'static str) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&hits);
    let location = format!("{base}/elsewhere");
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            let mut buf = vec![0u8; 16 * 1024];
            let mut read = 0;
            // Until the end of the request head, or the first bytes of a TLS ClientHello.
            while !buf[..read].windows(4).any(|w| w == b"\r\n\r\n") && buf[0] != 0x16 {
                match conn.read(&mut buf[read..]).await {
                    Ok(0) | Err(_) => break,
                    Ok(k) => read += k,
                }
            }
            counter.fetch_add(1, Ordering::SeqCst);
            let head = head.replace("{location}", &location);
            let _ = conn.write_all(head.as_bytes()).await;
        }
    });
    (base, hits)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirects_are_not_followed_and_https_means_tls() {
    // A 307 to the same host: a client that followed it would ask twice, sending its key
    // to the `Location`. It comes back as the refusal it is.
    let (base, hits) = answering(
        "HTTP/1.1 307 Temporary Redirect\r\nlocation: {location}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
    )
    .await;
    let c = Client::new(&base, KEY).unwrap();
    let e = c.get_agent(&AgentId::generate()).await.unwrap_err();
    assert_eq!(e.status(), Some(307), "{e:?}");
    assert_eq!(hits.load(Ordering::SeqCst), 1);

    // `https://` to a server that speaks plain HTTP: the TLS handshake fails, and the call
    // is a transport error (never a plaintext exchange).
    let (base, _) =
        answering("HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}").await;
    let c = Client::new(&base.replace("http://", "https://"), KEY).unwrap();
    let e = c.get_agent(&AgentId::generate()).await.unwrap_err();
    assert!(matches!(e, tg_sdk::Error::Transport(_)), "{e:?}");
}
