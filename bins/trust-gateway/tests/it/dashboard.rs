//! `/ws/dashboard` with a real WebSocket client (tokio-tungstenite).

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest};

use crate::support::{Backend, Server, start};

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

fn ws_url(s: &Server, query: &str) -> String {
    format!("{}/ws/dashboard{query}", s.base.replace("http://", "ws://"))
}

async fn connect(s: &Server, key: Option<&str>, query: &str) -> Result<Ws, u16> {
    let mut req = ws_url(s, query).into_client_request().unwrap();
    if let Some(k) = key {
        req.headers_mut().insert("x-api-key", k.parse().unwrap());
    }
    match tokio_tungstenite::connect_async(req).await {
        Ok((ws, _)) => Ok(ws),
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => Err(resp.status().as_u16()),
        Err(e) => panic!("{e}"),
    }
}

/// The next JSON message (a hang guard bounds the wait; messages are awaited, not timed).
async fn next(ws: &mut Ws) -> Value {
    loop {
        let msg = tokio::time::timeout(std::time::Duration::from_secs(60), ws.next())
            .await
            .expect("a message within a minute")
            .expect("open")
            .expect("no error");
        if let Message::Text(t) = msg {
            return serde_json::from_str(&t).unwrap_or_else(|_| json!({"raw": t.to_string()}));
        }
    }
}

async fn until(ws: &mut Ws, kind: &str) -> Value {
    loop {
        let m = next(ws).await;
        if m["type"] == kind {
            return m;
        }
    }
}

/// Authentication (key, ticket), initial_stats, the live events in order, ping/pong, and
/// account scoping.
pub async fn dashboard_feed_over_websocket(backend: Backend) {
    let s = start(backend).await;
    assert_eq!(connect(&s, None, "").await.err(), Some(401));
    assert_eq!(
        connect(&s, Some("wrong-key-0123456789abcdef"), "")
            .await
            .err(),
        Some(401)
    );
    assert_eq!(connect(&s, None, "?ticket=wst_nope").await.err(), Some(401));

    let existing = s.register("before").await;
    let mut ws = connect(&s, Some(&s.key), "").await.unwrap();
    let first = next(&mut ws).await;
    assert_eq!(first["type"], "initial_stats", "{first}");
    assert_eq!(first["data"]["total_agents"], 1);
    assert_eq!(
        first["data"]["score_distribution"]
            .as_array()
            .unwrap()
            .len(),
        10
    );
    // V2's `/stats` fields, as V2's `initial_stats` carried them.
    assert_eq!(first["data"]["agents_by_tier"], json!({"0": 1}));
    assert_eq!(first["data"]["total_actions"], 0);
    assert_eq!(first["data"]["recent_actions"], 0);
    assert_eq!(first["data"]["trust_score_distribution"]["0.0-0.2"], 1);
    assert!(first["data"]["recent_events"].is_array());
    assert!(first["timestamp"].is_string());

    ws.send(Message::Text("ping".into())).await.unwrap();
    // Events committed before the connection may still be on their way: skip them.
    loop {
        let m = next(&mut ws).await;
        if m["raw"] == "pong" {
            break;
        }
        assert!(m["type"].is_string(), "{m}");
    }

    let id = s.register("live").await;
    // (The earlier agent's event may arrive first: it was committed before the connection.)
    loop {
        let registered = until(&mut ws, "agent_registered").await;
        if registered["data"]["agent_id"] == id.as_str() {
            break;
        }
        assert_eq!(registered["data"]["agent_id"], existing.as_str());
    }
    for _ in 0..7 {
        s.record(&id, "read_data", "success").await;
    }
    let mut seqs = Vec::new();
    let mut tier_changed = false;
    while seqs.len() < 7 {
        let m = next(&mut ws).await;
        match m["type"].as_str().unwrap() {
            "receipt_recorded" => {
                assert_eq!(m["data"]["agent_id"], id.as_str());
                assert!(m["data"]["new_score"].is_number() && m["data"]["new_tier"].is_number());
                seqs.push(m["data"]["seq"].as_u64().unwrap());
            }
            "tier_changed" => tier_changed = true,
            _ => {}
        }
    }
    assert_eq!(seqs, (1..=7).collect::<Vec<u64>>(), "in order");
    let (_, d) = s
        .post(
            "/authorize",
            json!({"agent_id": id, "action": "delete_database"}),
        )
        .await;
    assert_eq!(d["allowed"], false);
    let denied = until(&mut ws, "auth_denied").await;
    assert_eq!(denied["data"]["action"], "delete_database");
    if !tier_changed {
        until(&mut ws, "tier_changed").await;
    }

    // A browser ticket: single use.
    let (status, t) = s.post("/ws/ticket", json!({})).await;
    assert_eq!(status, reqwest::StatusCode::CREATED, "{t}");
    let ticket = t["ticket"].as_str().unwrap().to_owned();
    let mut browser = connect(&s, None, &format!("?ticket={ticket}"))
        .await
        .unwrap();
    assert_eq!(next(&mut browser).await["type"], "initial_stats");
    assert_eq!(
        connect(&s, None, &format!("?ticket={ticket}")).await.err(),
        Some(401)
    );

    // Another account's dashboard sees its own agents' events only.
    let (_, acct) = s
        .post("/admin/accounts", json!({"name": "other", "plan": "pro"}))
        .await;
    let other_key = crate::accounts::new_key(&s, acct["id"].as_str().unwrap(), "write").await;
    let mut other = connect(&s, Some(&other_key), "").await.unwrap();
    assert_eq!(next(&mut other).await["type"], "initial_stats");
    s.record(&existing, "read_data", "success").await;
    let (status, own) = crate::accounts::as_key(
        &s,
        &other_key,
        reqwest::Method::POST,
        "/agents/register",
        Some(json!({"name": "theirs", "provider": "p", "config_hash": "h"})),
    )
    .await;
    assert_eq!(status, reqwest::StatusCode::CREATED);
    let m = next(&mut other).await;
    assert_eq!(
        (m["type"].as_str(), m["data"]["agent_id"].as_str()),
        (Some("agent_registered"), own["id"].as_str())
    );
    // The admin dashboard saw both.
    let mine = until(&mut ws, "agent_registered").await;
    assert_eq!(mine["data"]["agent_id"], own["id"]);
}

/// Two instances on one PostgreSQL: an event caused through instance A reaches a dashboard
/// connected to instance B (LISTEN/NOTIFY), and A's own dashboard too, once each; the
/// instance that fanned it out does not read it back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_reach_dashboards_on_every_instance() {
    if tg_store::testing::postgres_url().is_none() {
        eprintln!("TEST_DATABASE_URL unset: events_reach_dashboards_on_every_instance not run");
        return;
    }
    let (db, dir_a) = crate::support::fresh_db(Backend::Postgres).await;
    let a = crate::support::start_on(&db, dir_a, &[]).await;
    let b = crate::support::start_on(&db, tempfile::tempdir().unwrap(), &[]).await;
    let mut on_a = connect(&a, Some(&a.key), "").await.unwrap();
    let mut on_b = connect(&b, Some(&b.key), "").await.unwrap();
    assert_eq!(next(&mut on_a).await["type"], "initial_stats");
    assert_eq!(next(&mut on_b).await["type"], "initial_stats");

    let mut ids = Vec::new();
    for i in 0..10 {
        // Alternate instances: whichever fans an event out, both feeds carry it.
        let s = if i % 2 == 0 { &a } else { &b };
        ids.push(s.register(&format!("seen-everywhere-{i}")).await);
    }
    for ws in [&mut on_a, &mut on_b] {
        let mut seen = Vec::new();
        while seen.len() < ids.len() {
            let m = until(ws, "agent_registered").await;
            seen.push(m["data"]["agent_id"].as_str().unwrap().to_owned());
        }
        assert_eq!(seen, ids, "every event once, in the order committed");
    }
    // Nothing further (no duplicates): the next message is the answer to a ping.
    for ws in [&mut on_a, &mut on_b] {
        ws.send(Message::Text("ping".into())).await.unwrap();
        let m = next(ws).await;
        assert_eq!(m["raw"], "pong", "{m}");
    }
    // Each event was fanned out by one instance, which published the copy it held; only the
    // other read it back from the outbox.
    let held = relayed(&a, "held").await + relayed(&b, "held").await;
    let read = relayed(&a, "outbox").await + relayed(&b, "outbox").await;
    assert!(held >= ids.len() as u64, "held {held}");
    assert!(read >= ids.len() as u64, "read {read}");
}

/// Events the instance's live relay found `source` (`held`, `outbox`), from `/metrics`.
async fn relayed(s: &Server, source: &str) -> u64 {
    let body = s.fetch("/metrics").await.text().await.unwrap();
    let name = format!("trust_gateway_live_relay_events_total{{source=\"{source}\"}} ");
    body.lines()
        .find_map(|l| l.strip_prefix(&name))
        .unwrap_or_else(|| panic!("{name} not in {body}"))
        .trim()
        .parse()
        .unwrap()
}

async fn dashboard_clients(s: &Server) -> u64 {
    let (_, stats) = s.get("/stats").await;
    stats["instance"]["dashboard_clients"].as_u64().unwrap()
}

/// A client that never reads is dropped, server side, while another client connected at
/// the same time receives every event, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_reads_is_dropped_and_the_others_keep_up() {
    let s = start(Backend::Sqlite).await;
    let agent = s.register("busy").await;

    // The slow client: a tiny receive buffer, handshake done, then never reads again.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(2048).unwrap();
    let addr = s.base.trim_start_matches("http://").parse().unwrap();
    let stream = socket.connect(addr).await.unwrap();
    let mut req = ws_url(&s, "").into_client_request().unwrap();
    req.headers_mut()
        .insert("x-api-key", s.key.parse().unwrap());
    let (slow, _) = tokio_tungstenite::client_async(req, stream).await.unwrap();

    let mut fast = connect(&s, Some(&s.key), "").await.unwrap();
    assert_eq!(next(&mut fast).await["type"], "initial_stats");
    assert_eq!(dashboard_clients(&s).await, 2);
    // 100 catalog actions with long names, above the new agent's tier: a batch of them is
    // one `auth_denied` carrying every name (a large message).
    let names: Vec<String> = (0..100)
        .map(|i| format!("{:x<64}", format!("probe-{i}-")))
        .collect();
    for name in &names {
        let (status, body) = s
            .put(
                &format!("/actions/{name}"),
                json!({"required_tier": 3, "min_score": 0.9}),
            )
            .await;
        assert_eq!(status, reqwest::StatusCode::OK, "{body}");
    }
    let busy = agent.clone();
    let reader = tokio::spawn(async move {
        let mut denied = Vec::new();
        loop {
            let m = next(&mut fast).await;
            match m["type"].as_str() {
                Some("auth_denied") => {
                    assert_eq!(m["data"]["actions"].as_array().unwrap().len(), 100);
                    denied.push(m["data"]["action"].as_str().unwrap().to_owned());
                }
                // The marker registered once the slow client is gone.
                Some("agent_registered") if m["data"]["agent_id"] != busy.as_str() => {
                    return (denied, fast);
                }
                _ => {}
            }
        }
    });

    // Denials of 100 actions to a request, each batch led by another action, until the
    // server has dropped the slow client.
    let mut sent = Vec::new();
    let mut batches = 0;
    while dashboard_clients(&s).await == 2 {
        assert!(batches < 20_000, "the slow client was never dropped");
        let mut actions = names.clone();
        actions.rotate_left(batches % names.len());
        let (status, body) = s
            .post(
                "/authorize/batch",
                json!({"agent_id": agent, "actions": actions}),
            )
            .await;
        assert_eq!(status, reqwest::StatusCode::OK, "{body}");
        sent.push(actions[0].clone());
        batches += 1;
    }
    eprintln!("slow client dropped after {} events", sent.len());
    // The feed is in commit order, and decisions' events are group-committed after the
    // answer: reading the agent's trail first (it flushes the queue) puts every denial
    // before the marker.
    let (status, _) = s.get(&format!("/agents/{agent}/audit?limit=1")).await;
    assert_eq!(status, reqwest::StatusCode::OK);
    s.register("after-the-drop").await;
    let (denied, mut fast) = reader.await.unwrap();
    assert_eq!(
        denied.len(),
        sent.len(),
        "the reading client missed nothing"
    );
    assert_eq!(denied, sent, "and got them in order");
    fast.send(Message::Text("ping".into())).await.unwrap();
    assert_eq!(next(&mut fast).await["raw"], "pong");
    assert_eq!(dashboard_clients(&s).await, 1);
    drop(slow);
}

/// The page and its assets are served without a key, from the binary, under a strict CSP.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_page_is_public_and_self_contained() {
    let s = start(Backend::Sqlite).await;
    let client = reqwest::Client::new();
    let page = client
        .get(format!("{}/dashboard", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), reqwest::StatusCode::OK);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("default-src 'none'") && csp.contains("script-src 'self'"));
    assert!(!csp.contains("unsafe-inline"));
    let html = page.text().await.unwrap();
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "no external asset"
    );
    for (path, kind) in [
        ("/dashboard/dashboard.js", "text/javascript"),
        ("/dashboard/dashboard.css", "text/css"),
    ] {
        assert!(html.contains(path));
        let r = client
            .get(format!("{}{path}", s.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), reqwest::StatusCode::OK);
        assert!(
            r.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with(kind)
        );
        assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    }
    let r = client
        .get(format!("{}/dashboard/other.js", s.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), reqwest::StatusCode::UNAUTHORIZED);
}

/// One tenant can take neither every dashboard slot nor the whole ticket pool: each account
/// has its own caps (429 beyond them), and other accounts are unaffected.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_tenant_cannot_take_every_dashboard_slot_or_ticket() {
    use tg_service::{MAX_CLIENTS_PER_ACCOUNT, MAX_TICKETS_PER_ACCOUNT};
    let s = start(Backend::Sqlite).await;
    let (_, greedy) = s.tenant("greedy").await;
    let (_, other) = s.tenant("other").await;

    let mut held = Vec::new();
    for _ in 0..MAX_CLIENTS_PER_ACCOUNT {
        let mut ws = connect(&s, Some(&greedy), "").await.unwrap();
        assert_eq!(next(&mut ws).await["type"], "initial_stats");
        held.push(ws);
    }
    assert_eq!(connect(&s, Some(&greedy), "").await.err(), Some(429));
    let mut theirs = connect(&s, Some(&other), "").await.unwrap();
    assert_eq!(next(&mut theirs).await["type"], "initial_stats");
    assert_eq!(
        dashboard_clients(&s).await,
        MAX_CLIENTS_PER_ACCOUNT as u64 + 1
    );
    drop(held);

    let ticket = |key: &str| {
        let (s, key) = (&s, key.to_owned());
        async move {
            s.call_as(&key, reqwest::Method::POST, "/ws/ticket", None)
                .await
        }
    };
    for _ in 0..MAX_TICKETS_PER_ACCOUNT {
        assert_eq!(ticket(&greedy).await.0, reqwest::StatusCode::CREATED);
    }
    let (status, body) = ticket(&greedy).await;
    assert_eq!(status, reqwest::StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(ticket(&other).await.0, reqwest::StatusCode::CREATED);
}

/// A dropped subscription gives its account's slot back (in-process, no timing involved).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_dashboard_gives_its_slot_back() {
    use tg_service::MAX_CLIENTS_PER_ACCOUNT;
    let (g, _, operator) = crate::support::clocked(
        tg_core::Timestamp::from_secs(1_798_761_600),
        tg_scoring::Preset::Default,
    )
    .await;
    let viewer = crate::support::tenant_principal(
        &g,
        &operator,
        "viewer",
        tg_access::Plan::Free,
        tg_access::Scope::Read,
    )
    .await;
    let mut held: Vec<_> = (0..MAX_CLIENTS_PER_ACCOUNT)
        .map(|_| g.subscribe_live(&viewer).unwrap())
        .collect();
    assert!(matches!(
        g.subscribe_live(&viewer),
        Err(tg_service::ServiceError::TooMany(_))
    ));
    assert!(
        g.subscribe_live(&operator).is_ok(),
        "the operator is not capped per account"
    );
    held.pop();
    assert!(g.subscribe_live(&viewer).is_ok());
}

/// Reads until the server closes the socket; the close reason.
async fn closed<S>(ws: &mut S) -> String
where
    S: futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    loop {
        let msg = tokio::time::timeout(std::time::Duration::from_secs(60), ws.next())
            .await
            .expect("a close within a minute")
            .expect("open")
            .expect("no error");
        if let Message::Close(frame) = msg {
            return frame.unwrap().reason.to_string();
        }
    }
}

/// Revoking a key closes the dashboards opened with it (by header or by ticket) and voids
/// its unused tickets; dashboards of other keys stay open.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoking_a_key_closes_its_dashboards_and_voids_its_tickets() {
    use reqwest::Method;
    let s = start(Backend::Sqlite).await;
    let (account, key) = s.tenant("viewer").await;
    let (status, other) = s
        .post(
            &format!("/admin/accounts/{account}/keys"),
            json!({"scope": "read"}),
        )
        .await;
    assert_eq!(status, reqwest::StatusCode::CREATED);
    let other = other["key"].as_str().unwrap().to_owned();
    let ticket = |k: &str| {
        let (s, k) = (&s, k.to_owned());
        async move {
            let (_, t) = s.call_as(&k, Method::POST, "/ws/ticket", None).await;
            t["ticket"].as_str().unwrap().to_owned()
        }
    };
    let mut by_header = connect(&s, Some(&key), "").await.unwrap();
    let mut by_ticket = connect(&s, None, &format!("?ticket={}", ticket(&key).await))
        .await
        .unwrap();
    let mut bystander = connect(&s, Some(&other), "").await.unwrap();
    for ws in [&mut by_header, &mut by_ticket, &mut bystander] {
        assert_eq!(next(ws).await["type"], "initial_stats");
    }
    let unused = ticket(&key).await;

    let id = &key[4..12];
    let resp = s
        .client
        .delete(format!("{}/admin/keys/{id}", s.base))
        .header("X-API-Key", &s.key)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), reqwest::StatusCode::NO_CONTENT);

    for ws in [&mut by_header, &mut by_ticket] {
        assert_eq!(closed(ws).await, "the API key was revoked");
    }
    assert_eq!(
        connect(&s, None, &format!("?ticket={unused}")).await.err(),
        Some(401)
    );
    bystander.send(Message::Text("ping".into())).await.unwrap();
    assert_eq!(next(&mut bystander).await["raw"], "pong");
}

/// Two instances on one PostgreSQL: a key revoked through instance A closes the dashboard
/// opened with it on instance B, and voids its tickets there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoking_a_key_closes_its_dashboards_on_every_instance() {
    if tg_store::testing::postgres_url().is_none() {
        eprintln!(
            "TEST_DATABASE_URL unset: revoking_a_key_closes_its_dashboards_on_every_instance not run"
        );
        return;
    }
    let (db, dir_a) = crate::support::fresh_db(Backend::Postgres).await;
    let a = crate::support::start_on(&db, dir_a, &[]).await;
    let b = crate::support::start_on(&db, tempfile::tempdir().unwrap(), &[]).await;
    let (_, key) = a.tenant("viewer").await;
    let mut on_b = connect(&b, Some(&key), "").await.unwrap();
    assert_eq!(next(&mut on_b).await["type"], "initial_stats");
    let (_, t) = b
        .call_as(&key, reqwest::Method::POST, "/ws/ticket", None)
        .await;
    let unused = t["ticket"].as_str().unwrap().to_owned();

    let resp = a
        .client
        .delete(format!("{}/admin/keys/{}", a.base, &key[4..12]))
        .header("X-API-Key", &a.key)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), reqwest::StatusCode::NO_CONTENT);
    assert_eq!(closed(&mut on_b).await, "the API key was revoked");
    assert_eq!(
        connect(&b, None, &format!("?ticket={unused}")).await.err(),
        Some(401)
    );
}
