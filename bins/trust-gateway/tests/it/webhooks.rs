//! Webhooks: real deliveries to a local receiver (an actix-web server) that verifies them
//! with the reference Standard Webhooks implementation; retries, 410, redirects and
//! disabling driven by an injected clock.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use serde_json::{Value, json};
use tokio::sync::mpsc;

/// A delivery as the receiver saw it.
#[derive(Debug, Clone)]
pub struct Received {
    pub id: String,
    pub timestamp: String,
    pub signature: String,
    pub content_type: String,
    pub body: Value,
    pub raw: Vec<u8>,
}

/// A local webhook receiver: answers from `script` in order (then 204), forwards every
/// request.
pub struct Receiver {
    pub url: String,
    pub rx: mpsc::UnboundedReceiver<Received>,
}

type Script = Arc<Mutex<VecDeque<(u16, Vec<(&'static str, &'static str)>)>>>;

pub async fn receiver(script: Vec<(u16, Vec<(&'static str, &'static str)>)>) -> Receiver {
    scripted(std::net::TcpListener::bind("127.0.0.1:0").unwrap(), script).await
}

/// A receiver answering 204 to everything on `listener`.
pub async fn receiver_on(listener: std::net::TcpListener) -> Receiver {
    scripted(listener, vec![]).await
}

async fn scripted(
    listener: std::net::TcpListener,
    script: Vec<(u16, Vec<(&'static str, &'static str)>)>,
) -> Receiver {
    let (tx, rx) = mpsc::unbounded_channel();
    let script: Script = Arc::new(Mutex::new(script.into()));
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let server = HttpServer::new(move || {
        let (tx, script) = (tx.clone(), Arc::clone(&script));
        App::new().route(
            "/hook",
            web::post().to(move |req: HttpRequest, body: web::Bytes| {
                let (tx, script) = (tx.clone(), Arc::clone(&script));
                async move {
                    let header = |n: &str| {
                        req.headers()
                            .get(n)
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or_default()
                            .to_owned()
                    };
                    let _ = tx.send(Received {
                        id: header("webhook-id"),
                        timestamp: header("webhook-timestamp"),
                        signature: header("webhook-signature"),
                        content_type: header("content-type"),
                        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
                        raw: body.to_vec(),
                    });
                    let (status, headers) =
                        script.lock().unwrap().pop_front().unwrap_or((204, vec![]));
                    let mut resp =
                        HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap());
                    for (k, v) in headers {
                        resp.insert_header((k, v));
                    }
                    resp.finish()
                }
            }),
        )
    })
    .workers(1)
    .listen(listener)
    .unwrap()
    .run();
    tokio::spawn(server);
    Receiver { url, rx }
}

impl Receiver {
    /// The next delivery (a hang guard, not a synchronisation: deliveries are awaited).
    pub async fn next(&mut self) -> Received {
        tokio::time::timeout(std::time::Duration::from_secs(60), self.rx.recv())
            .await
            .expect("a delivery within a minute")
            .expect("receiver open")
    }

    /// Deliveries until one of `event` arrives.
    pub async fn until(&mut self, event: &str) -> Received {
        loop {
            let r = self.next().await;
            if r.body["event"] == event {
                return r;
            }
        }
    }
}

fn verify(secret: &str, r: &Received) {
    let mut headers = http::HeaderMap::new();
    headers.insert("webhook-id", r.id.parse().unwrap());
    headers.insert("webhook-timestamp", r.timestamp.parse().unwrap());
    headers.insert("webhook-signature", r.signature.parse().unwrap());
    standardwebhooks::Webhook::new(secret)
        .unwrap()
        .verify(&r.raw, &headers)
        .unwrap_or_else(|e| panic!("the reference implementation refuses {r:?}: {e}"));
}

/// Endpoints over HTTP, SSRF refusals, and real signed deliveries of the V2 events.
pub async fn webhooks_are_signed_delivered_and_verifiable(backend: crate::support::Backend) {
    use reqwest::StatusCode;

    let (db, dir) = crate::support::fresh_db(backend).await;
    let s = crate::support::start_on(&db, dir, &[("WEBHOOK_ALLOW_NETS", "127.0.0.0/8")]).await;
    let mut rx = receiver(vec![]).await;

    for url in [
        "http://10.0.0.5/hook",
        "http://169.254.169.254/latest",
        "http://[::ffff:10.0.0.1]/",
        "http://100.64.1.1/",
        "ftp://example.com/",
        "http://user:pw@127.0.0.1/",
        "http://no-such-host.invalid/",
    ] {
        let (status, body) = s
            .post(
                "/config/webhooks",
                json!({"url": url, "events": ["tier_changed"]}),
            )
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{url}: {body}");
    }
    let (status, body) = s
        .post(
            "/config/webhooks",
            json!({"url": rx.url, "events": ["tier_changed", "nonsense"]}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");

    let events = [
        "agent_registered",
        "trust_changed",
        "tier_changed",
        "authorization_denied",
        "receipt_chain_broken",
    ];
    let (status, hook) = s
        .post("/config/webhooks", json!({"url": rx.url, "events": events}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{hook}");
    let secret = hook["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"));
    let id = hook["id"].as_str().unwrap().to_owned();
    let (_, listed) = s.get("/config/webhooks").await;
    assert_eq!(listed[0]["id"], id.as_str());
    assert!(listed[0].get("secret").is_none(), "secrets are shown once");

    let agent = s.register("hooked").await;
    let r = rx.until("agent_registered").await;
    verify(&secret, &r);
    assert_eq!(r.body["data"]["agent_id"], agent.as_str());
    assert!(r.body["timestamp"].is_string());
    assert!(r.id.starts_with("msg_"));

    for _ in 0..8 {
        s.record(&agent, "read_data", "success").await;
    }
    let tier = rx.until("tier_changed").await;
    verify(&secret, &tier);
    assert_eq!(tier.body["data"]["agent_id"], agent.as_str());
    assert!(
        tier.body["data"]["new_tier"].as_u64().unwrap()
            > tier.body["data"]["old_tier"].as_u64().unwrap()
    );

    let (_, decision) = s
        .post(
            "/authorize",
            json!({"agent_id": agent, "action": "delete_database"}),
        )
        .await;
    assert_eq!(decision["allowed"], false);
    let denied = rx.until("authorization_denied").await;
    verify(&secret, &denied);
    assert_eq!(denied.body["data"]["action"], "delete_database");

    let (status, attempts) = s.get(&format!("/config/webhooks/{id}/attempts")).await;
    assert_eq!(status, StatusCode::OK);
    let first = &attempts["attempts"].as_array().unwrap()[0];
    assert_eq!(first["status_code"], 204);

    // A manual retry sends the same event again, with the same webhook-id. The receiver
    // has the event before the gateway has recorded the attempt (and released the
    // delivery, which a retry meanwhile answers with 409): wait for the record first.
    let mut polls = 0;
    loop {
        let (_, attempts) = s.get(&format!("/config/webhooks/{id}/attempts")).await;
        let recorded = attempts["attempts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["event_id"] == denied.id.as_str());
        if recorded {
            break;
        }
        polls += 1;
        assert!(
            polls < 10_000,
            "the attempt of {} is never recorded",
            denied.id
        );
        tokio::task::yield_now().await;
    }
    let (status, _) = s
        .post(
            &format!("/config/webhooks/{id}/deliveries/{}/retry", denied.id),
            json!({}),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let again = rx.until("authorization_denied").await;
    assert_eq!(again.id, denied.id);
    verify(&secret, &again);
    // An event id that names no delivery, well formed or not, is not found alike.
    for unknown in ["msg_000000000000000000000000", "evt_1", "msg_x"] {
        let (status, body) = s
            .post(
                &format!("/config/webhooks/{id}/deliveries/{unknown}/retry"),
                json!({}),
            )
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{unknown}: {body}");
        assert_eq!(
            body["detail"],
            format!("no delivery of `{unknown}` to this endpoint")
        );
    }

    // Rotation: both secrets sign until the previous one is expired.
    let (status, rotated) = s
        .call(
            reqwest::Method::PATCH,
            &format!("/config/webhooks/{id}"),
            Some(json!({"rotate_secret": true})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let new_secret = rotated["secret"].as_str().unwrap().to_owned();
    s.post(&format!("/agents/{agent}/suspend"), json!({})).await;
    let (_, decision) = s
        .post(
            "/authorize",
            json!({"agent_id": agent, "action": "read_data"}),
        )
        .await;
    assert_eq!(decision["allowed"], false);
    let during = rx.until("authorization_denied").await;
    assert_eq!(during.signature.split(' ').count(), 2);
    verify(&secret, &during);
    verify(&new_secret, &during);

    // Another account sees none of it.
    let (_, acct) = s
        .post("/admin/accounts", json!({"name": "other", "plan": "free"}))
        .await;
    let other = crate::accounts::new_key(&s, acct["id"].as_str().unwrap(), "write").await;
    let (status, _) = crate::accounts::as_key(
        &s,
        &other,
        reqwest::Method::GET,
        &format!("/config/webhooks/{id}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, theirs) =
        crate::accounts::as_key(&s, &other, reqwest::Method::GET, "/config/webhooks", None).await;
    assert_eq!(theirs, json!([]));

    let (status, _) = s
        .call(
            reqwest::Method::DELETE,
            &format!("/config/webhooks/{id}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = s.get(&format!("/config/webhooks/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

mod clocked {
    use std::sync::Arc;

    use tg_core::{ManualClock, Timestamp};
    use tg_identity::{Attestation, TrustBundles};
    use tg_scoring::{Policy, Preset};
    use tg_service::{Gateway, NewWebhook};

    use super::receiver;
    use crate::support::{SERVICE_KEY, service};

    const T0: Timestamp = Timestamp::from_secs(1_798_761_600);

    async fn setup() -> (Gateway, Arc<ManualClock>, tg_access::Principal) {
        crate::support::clocked(T0, Preset::Default).await
    }

    async fn hook(
        g: &Gateway,
        p: &tg_access::Principal,
        url: &str,
        events: &[&str],
    ) -> tg_core::WebhookId {
        let req = NewWebhook {
            url: url.into(),
            events: events.iter().map(|e| (*e).to_owned()).collect(),
            secret: None,
            enabled: None,
        };
        g.create_webhook(p, req).await.unwrap().endpoint.id
    }

    async fn register(g: &Gateway, p: &tg_access::Principal, name: &str) {
        let actor = g.actor(Some(p), None);
        let reg = crate::support::registration(name, Attestation::ApiKey);
        g.register(p, &actor, reg).await.unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_receiver_that_is_down_gets_the_event_when_it_comes_back() {
        let (g, clock, p) = setup().await;
        let mut rx = receiver(vec![(503, vec![("retry-after", "60")]), (500, vec![])]).await;
        let id = hook(&g, &p, &rx.url, &["agent_registered"]).await;
        register(&g, &p, "patient").await;

        assert_eq!(g.deliver_webhooks().await.unwrap(), 1);
        let first = rx.next().await;
        assert_eq!(g.deliver_webhooks().await.unwrap(), 0, "not due yet");
        clock.advance_secs(59);
        assert_eq!(
            g.deliver_webhooks().await.unwrap(),
            0,
            "Retry-After: 60 is honoured"
        );
        clock.advance_secs(2);
        assert_eq!(g.deliver_webhooks().await.unwrap(), 1);
        let second = rx.next().await;
        clock.advance_secs(40);
        assert_eq!(
            g.deliver_webhooks().await.unwrap(),
            1,
            "30 s ± 20 % after the second"
        );
        let third = rx.next().await;
        assert_eq!(
            (first.id.as_str(), second.id.as_str()),
            (third.id.as_str(), third.id.as_str()),
            "one webhook-id for every attempt"
        );

        // The secret is sealed at rest: the stored form is not the secret.
        let wid = id.clone();
        let stored = tg_service::reading(g.store().as_ref(), move |tx| {
            Box::pin(async move { Ok(tx.get_endpoint(&wid).await?) })
        })
        .await
        .unwrap()
        .unwrap();
        assert!(
            stored.secrets[0].starts_with("sealed:"),
            "{:?}",
            stored.secrets
        );
        assert!(!stored.secrets[0].contains("whsec_"));

        let attempts = g.webhook_attempts(&p, &id, 0, 10).await.unwrap();
        let codes: Vec<Option<u16>> = attempts.iter().map(|a| a.status_code).collect();
        assert_eq!(codes, vec![Some(204), Some(500), Some(503)], "newest first");
        assert_eq!(attempts[2].error.as_deref(), Some("HTTP 503"));
        assert!(
            g.webhook(&p, &id).await.unwrap().failing_since.is_none(),
            "a success clears it"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn gone_disables_redirects_fail_and_long_failure_disables() {
        let (g, clock, p) = setup().await;
        // 410 Gone disables the endpoint and says so on the admin's other endpoints.
        let mut watcher = receiver(vec![]).await;
        hook(&g, &p, &watcher.url, &["endpoint_disabled"]).await;
        let mut gone = receiver(vec![(410, vec![])]).await;
        let gone_id = hook(&g, &p, &gone.url, &["agent_registered"]).await;
        register(&g, &p, "a").await;
        g.deliver_webhooks().await.unwrap();
        gone.next().await;
        let e = g.webhook(&p, &gone_id).await.unwrap();
        assert!(!e.enabled);
        assert_eq!(
            e.disabled_reason.as_deref(),
            Some("the receiver answered 410 Gone")
        );
        g.deliver_webhooks().await.unwrap();
        let notice = watcher.until("endpoint_disabled").await;
        assert_eq!(notice.body["data"]["endpoint_id"], gone_id.as_str());

        // A redirect is a failure and is not followed.
        let mut moved = receiver(vec![(302, vec![("location", "http://169.254.169.254/")])]).await;
        let moved_id = hook(&g, &p, &moved.url, &["agent_registered"]).await;
        register(&g, &p, "b").await;
        g.deliver_webhooks().await.unwrap();
        moved.next().await;
        let attempts = g.webhook_attempts(&p, &moved_id, 0, 10).await.unwrap();
        assert_eq!(attempts[0].status_code, Some(302));
        assert!(
            attempts[0]
                .error
                .as_deref()
                .unwrap()
                .contains("not followed")
        );

        // An endpoint failing for longer than the configured period (5 days) is disabled.
        let mut down = receiver((0..20).map(|_| (500, vec![])).collect()).await;
        let down_id = hook(&g, &p, &down.url, &["agent_registered"]).await;
        register(&g, &p, "c").await;
        let mut attempts = 0;
        for _ in 0..12 {
            attempts += g.deliver_webhooks().await.unwrap();
            clock.advance_secs(86_400 + 3600);
            if !g.webhook(&p, &down_id).await.unwrap().enabled {
                break;
            }
        }
        let e = g.webhook(&p, &down_id).await.unwrap();
        assert!(
            !e.enabled,
            "disabled after 5 days of failures ({attempts} attempts)"
        );
        assert!(e.disabled_reason.unwrap().contains("120 hours"));
        while down.rx.try_recv().is_ok() {}
    }

    /// After an outage longer than the retry schedule, recovery sends the failed
    /// deliveries of a time range again, with their `webhook-id`.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn failed_deliveries_are_recovered_by_time_range() {
        let (g, clock, p) = setup().await;
        let attempts = tg_webhooks::RETRY_DELAYS_SECS.len() + 1;
        let mut rx = receiver((0..attempts).map(|_| (500, vec![])).collect()).await;
        let id = hook(&g, &p, &rx.url, &["agent_registered"]).await;
        register(&g, &p, "through-the-outage").await;
        let mut ids = Vec::new();
        for delay in tg_webhooks::RETRY_DELAYS_SECS.iter().copied().chain([0]) {
            assert_eq!(g.deliver_webhooks().await.unwrap(), 1);
            ids.push(rx.next().await.id);
            // Past the jittered delay (+20 %), never so far the endpoint is disabled.
            clock.advance_secs(delay + delay / 5 + 1);
        }
        clock.advance_secs(86_400);
        assert_eq!(
            g.deliver_webhooks().await.unwrap(),
            0,
            "the schedule is spent"
        );
        assert!(g.webhook(&p, &id).await.unwrap().enabled);

        let before = T0.plus_secs(-1);
        assert_eq!(
            g.recover_webhook(&p, &id, T0.plus_secs(1), None)
                .await
                .unwrap(),
            0,
            "the range starts after the delivery"
        );
        assert_eq!(g.recover_webhook(&p, &id, before, None).await.unwrap(), 1);
        assert_eq!(g.deliver_webhooks().await.unwrap(), 1);
        let delivered = rx.next().await;
        ids.push(delivered.id);
        ids.dedup();
        assert_eq!(ids.len(), 1, "one webhook-id throughout: {ids:?}");
        assert_eq!(delivered.body["event"], "agent_registered");
        assert_eq!(
            g.recover_webhook(&p, &id, before, None).await.unwrap(),
            0,
            "delivered ones stay delivered"
        );
        assert!(matches!(
            g.recover_webhook(&p, &id, T0, Some(T0)).await,
            Err(tg_service::ServiceError::Invalid(_))
        ));
    }

    /// A hostname URL goes through the checking resolver and reaches the URL's port.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn hostname_urls_are_resolved_checked_and_delivered() {
        let (g, _clock, p) = setup().await;
        let mut rx = receiver(vec![]).await;
        let url = rx.url.replace("127.0.0.1", "localhost");
        hook(&g, &p, &url, &["agent_registered"]).await;
        register(&g, &p, "named").await;
        assert_eq!(g.deliver_webhooks().await.unwrap(), 1);
        let r = rx.next().await;
        assert_eq!(r.body["event"], "agent_registered");
    }

    /// Config drift fires `trust_changed` (issue 3), even under a policy where the config
    /// factor carries no weight and the composite does not move.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn config_drift_fires_trust_changed() {
        for preset in [Preset::Default, Preset::JoyV1] {
            let clock = Arc::new(ManualClock::new(T0));
            let g = service(
                Arc::clone(&clock),
                TrustBundles::default(),
                Policy::preset(preset),
            )
            .await;
            let p = g.authenticate(Some(SERVICE_KEY)).await.unwrap();
            let actor = g.actor(Some(&p), None);
            let mut rx = receiver(vec![]).await;
            hook(&g, &p, &rx.url, &["trust_changed"]).await;
            register(&g, &p, "drifter").await;
            let id = g.discover(&p, "drifter", 0, 1).await.unwrap()[0]
                .agent
                .id
                .clone();
            g.update_config(&p, &actor, &id, Some("sha256-other"), false)
                .await
                .unwrap();
            g.deliver_webhooks().await.unwrap();
            let r = loop {
                let r = rx.next().await;
                if r.body["data"]["trigger"] == "config_drift" {
                    break r;
                }
            };
            assert_eq!(r.body["data"]["agent_id"], id.as_str(), "{preset:?}");
            assert_eq!(r.body["data"]["factors"]["config"], 0.3, "{preset:?}");
            // Approving the new hash is a change back, announced too.
            g.update_config(&p, &actor, &id, None, true).await.unwrap();
            g.deliver_webhooks().await.unwrap();
            let back = rx.until("trust_changed").await;
            assert_eq!(back.body["data"]["factors"]["config"], 1.0);
        }
    }
}

/// The outbox survives SIGKILL: a delivery that failed (receiver down) when the process was
/// killed is delivered by the restarted process once the receiver is back. The retry runs
/// on the schedule's first step (5 s ± 20 %) of a real process's clock.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undelivered_events_survive_sigkill() {
    use std::process::{Command, Stdio};

    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("gw.db");
    // The receiver's port, bound but not listening: connections to it are refused (the
    // receiver is down), and no other test's server can take it meanwhile (a port closed
    // again could be, and that server answered the first delivery).
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(([127, 0, 0, 1], 0).into()).unwrap();
    let port = socket.local_addr().unwrap().port();
    let url = format!("http://127.0.0.1:{port}/hook");
    let launch = || {
        let mut child = Command::new(env!("CARGO_BIN_EXE_trust-gateway"))
            .env_clear()
            .env("PORT", "0")
            .env("LOG_FORMAT", "text")
            .env("WORKERS", "1")
            .env("DATABASE_URL", format!("sqlite://{}", db.display()))
            .env("SECRET_KEY", crate::support::SECRET)
            .env("API_KEY", crate::support::API_KEY)
            .env("WEBHOOK_ALLOW_NETS", "127.0.0.0/8")
            // A proxy in the environment must not carry deliveries (it would connect past
            // the SSRF check): pointed at a closed port, it would fail every delivery.
            .env("HTTP_PROXY", "http://127.0.0.1:9")
            .env("HTTPS_PROXY", "http://127.0.0.1:9")
            .env("ALL_PROXY", "http://127.0.0.1:9")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let mut lines = std::io::BufRead::lines(std::io::BufReader::new(stderr));
        let addr = lines
            .by_ref()
            .find_map(|l| {
                l.ok()?
                    .split("address=http://")
                    .nth(1)
                    .map(|r| r.split_whitespace().next().unwrap_or("").to_owned())
            })
            .expect("a listening line");
        std::thread::spawn(move || lines.for_each(drop));
        (crate::support::Killed(child), format!("http://{addr}"))
    };
    let client = reqwest::Client::new();
    let post = |base: &str, path: &str, body: Value| {
        client
            .post(format!("{base}{path}"))
            .header("X-API-Key", crate::support::API_KEY)
            .json(&body)
            .send()
    };

    let (mut first, base) = launch();
    let hook: Value = post(
        &base,
        "/config/webhooks",
        json!({"url": url, "events": ["agent_registered"]}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let hook_id = hook["id"].as_str().unwrap().to_owned();
    let secret = hook["secret"].as_str().unwrap().to_owned();
    let agent: Value = post(
        &base,
        "/agents/register",
        json!({"name": "survivor", "provider": "p", "config_hash": "h"}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    // Wait until the first attempt has failed (connection refused) and been recorded.
    loop {
        let attempts: Value = client
            .get(format!("{base}/config/webhooks/{hook_id}/attempts"))
            .header("X-API-Key", crate::support::API_KEY)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if !attempts["attempts"].as_array().unwrap().is_empty() {
            assert!(attempts["attempts"][0]["status_code"].is_null());
            break;
        }
        tokio::task::yield_now().await;
    }
    first.kill().unwrap(); // SIGKILL
    first.wait().unwrap();

    // The receiver comes back on its port; a new process picks the outbox up.
    let listener = socket.listen(64).unwrap().into_std().unwrap();
    let mut rx = receiver_on(listener).await;
    let (mut second, _) = launch();
    let r = rx.until("agent_registered").await;
    verify(&secret, &r);
    assert_eq!(r.body["data"]["agent_id"], agent["id"]);
    second.kill().unwrap();
    second.wait().unwrap();
}

/// Two instances on one PostgreSQL share the outbox: every event is delivered, once, with
/// one `webhook-id`, whichever instance wrote it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_deliver_each_event_once() {
    if tg_store::testing::postgres_url().is_none() {
        eprintln!("TEST_DATABASE_URL unset: two_instances_deliver_each_event_once not run");
        return;
    }
    let (db, dir_a) = crate::support::fresh_db(crate::support::Backend::Postgres).await;
    let allow = [("WEBHOOK_ALLOW_NETS", "127.0.0.0/8")];
    let a = crate::support::start_on(&db, dir_a, &allow).await;
    let b = crate::support::start_on(&db, tempfile::tempdir().unwrap(), &allow).await;
    let mut rx = receiver(vec![]).await;
    let (status, hook) = a
        .post(
            "/config/webhooks",
            json!({"url": rx.url, "events": ["agent_registered"]}),
        )
        .await;
    assert_eq!(status, reqwest::StatusCode::CREATED);
    let secret = hook["secret"].as_str().unwrap().to_owned();
    let mut agents = std::collections::HashSet::new();
    for i in 0..20 {
        let s = if i % 2 == 0 { &a } else { &b };
        agents.insert(s.register(&format!("twin-{i}")).await);
    }
    let mut seen: std::collections::HashMap<String, String> = std::collections::HashMap::new();
    while seen.len() < 20 {
        let r = rx.until("agent_registered").await;
        verify(&secret, &r);
        let agent = r.body["data"]["agent_id"].as_str().unwrap().to_owned();
        assert!(agents.contains(&agent));
        assert!(
            seen.insert(r.id.clone(), agent).is_none(),
            "{} delivered twice",
            r.id
        );
    }
    let mut delivered: Vec<&String> = seen.values().collect();
    delivered.sort();
    delivered.dedup();
    assert_eq!(delivered.len(), 20, "one event per agent");
}
