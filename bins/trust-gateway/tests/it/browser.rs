//! The dashboard page in a real headless Chromium, driven over the DevTools protocol: it
//! loads with every asset from the gateway itself, signs in, and shows events triggered
//! through the API as they happen.
//!
//! Chromium: `TEST_CHROMIUM` (a path; `.ci/run` installs Debian's `chromium` and sets it),
//! else `chromium` / `chromium-browser` / `google-chrome` on `PATH`. When neither is
//! there the test says so and does not run; when `TEST_CHROMIUM` is set it must work.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::support::{Backend, start};

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

fn chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("TEST_CHROMIUM").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| {
            ["chromium", "chromium-browser", "google-chrome"].map(|name| dir.join(name))
        })
        .find(|p| p.is_file())
}

/// A headless Chromium and a DevTools session on one page.
struct Browser {
    child: Child,
    _profile: tempfile::TempDir,
    ws: Ws,
    session: String,
    next_id: u64,
    /// Uncaught exceptions and console errors the page reported.
    errors: Vec<Value>,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Browser {
    async fn launch(binary: PathBuf) -> Self {
        let profile = tempfile::tempdir().unwrap();
        let mut child = Command::new(&binary)
            .args([
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--no-default-browser-check",
                "--remote-debugging-port=0",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
        let stderr = child.stderr.take().unwrap();
        // Chromium prints where its DevTools endpoint listens once it is up.
        let endpoint = tokio::task::spawn_blocking(move || {
            let mut lines = BufReader::new(stderr).lines();
            let found = lines.by_ref().map_while(Result::ok).find_map(|l| {
                l.strip_prefix("DevTools listening on ")
                    .map(|u| u.trim().to_owned())
            });
            // Keep draining so Chromium never blocks on a full pipe.
            std::thread::spawn(move || lines.for_each(drop));
            found
        })
        .await
        .unwrap()
        .expect("Chromium announces its DevTools endpoint");
        let (ws, _) = tokio_tungstenite::connect_async(endpoint.as_str())
            .await
            .unwrap();
        let mut browser = Self {
            child,
            _profile: profile,
            ws,
            session: String::new(),
            next_id: 0,
            errors: Vec::new(),
        };
        let target = browser
            .call("Target.createTarget", json!({"url": "about:blank"}))
            .await;
        let attached = browser
            .call(
                "Target.attachToTarget",
                json!({"targetId": target["targetId"], "flatten": true}),
            )
            .await;
        browser.session = attached["sessionId"].as_str().unwrap().to_owned();
        browser.call("Page.enable", json!({})).await;
        browser.call("Runtime.enable", json!({})).await;
        browser
    }

    /// The next DevTools message (a hang guard bounds the wait; nothing is timed).
    async fn receive(&mut self) -> Value {
        let msg = tokio::time::timeout(std::time::Duration::from_secs(60), self.ws.next())
            .await
            .expect("DevTools answers within a minute")
            .expect("DevTools connection open")
            .unwrap();
        let Message::Text(text) = msg else {
            return Value::Null;
        };
        let m: Value = serde_json::from_str(&text).unwrap();
        match m["method"].as_str() {
            Some("Runtime.exceptionThrown") => self.errors.push(m["params"].clone()),
            Some("Runtime.consoleAPICalled") if m["params"]["type"] == "error" => {
                self.errors.push(m["params"].clone());
            }
            _ => {}
        }
        m
    }

    /// Calls a DevTools method (on the page once attached) and returns its result.
    async fn call(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut msg = json!({"id": id, "method": method, "params": params});
        if !self.session.is_empty() {
            msg["sessionId"] = json!(self.session);
        }
        self.ws
            .send(Message::Text(msg.to_string().into()))
            .await
            .unwrap();
        loop {
            let m = self.receive().await;
            if m["id"] == id {
                assert!(m["error"].is_null(), "{method} failed: {m}");
                return m["result"].clone();
            }
        }
    }

    /// Navigates and waits for the load event.
    async fn open(&mut self, url: &str) {
        let nav = self.call("Page.navigate", json!({"url": url})).await;
        assert!(nav["errorText"].is_null(), "{nav}");
        while self.receive().await["method"] != "Page.loadEventFired" {}
    }

    /// Evaluates `expression` in the page (awaiting it if it is a promise).
    async fn eval(&mut self, expression: &str) -> Value {
        let r = self
            .call(
                "Runtime.evaluate",
                json!({"expression": expression, "awaitPromise": true, "returnByValue": true}),
            )
            .await;
        assert!(r["exceptionDetails"].is_null(), "{expression}: {r}");
        r["result"]["value"].clone()
    }

    /// Resolves once `condition` (a JS expression) holds, re-checking on every DOM change.
    async fn wait_for(&mut self, condition: &str) {
        let script = format!(
            "new Promise((resolve) => {{
                const ok = () => {{ try {{ return !!({condition}); }} catch (e) {{ return false; }} }};
                if (ok()) return resolve(true);
                const obs = new MutationObserver(() => {{ if (ok()) {{ obs.disconnect(); resolve(true); }} }});
                obs.observe(document, {{subtree: true, childList: true, characterData: true, attributes: true}});
            }})"
        );
        assert_eq!(self.eval(&script).await, json!(true), "{condition}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_page_shows_live_events_in_chromium() {
    let Some(binary) = chromium() else {
        eprintln!(
            "no Chromium (set TEST_CHROMIUM): dashboard_page_shows_live_events_in_chromium not run"
        );
        return;
    };
    let s = start(Backend::Sqlite).await;
    let mut browser = Browser::launch(binary).await;
    browser.open(&format!("{}/dashboard", s.base)).await;
    assert_eq!(
        browser.eval("document.title").await,
        "Trust Gateway — live dashboard"
    );
    // Everything the page loaded came from the gateway (no CDN: works offline).
    let origin = s.base.clone();
    let resources = browser
        .eval("performance.getEntriesByType('resource').map((e) => e.name)")
        .await;
    let resources = resources.as_array().unwrap();
    assert!(resources.len() >= 2, "script and stylesheet: {resources:?}");
    assert!(
        resources
            .iter()
            .all(|r| r.as_str().unwrap().starts_with(&origin)),
        "{resources:?}"
    );
    assert_eq!(
        browser
            .eval("getComputedStyle(document.body).backgroundColor")
            .await,
        "rgb(15, 20, 25)",
        "the embedded stylesheet applies"
    );

    // A wrong key is refused and said so.
    browser
        .eval("document.getElementById('api-key').value = 'not-a-key-0123456789'; document.getElementById('sign-in').requestSubmit(); true")
        .await;
    browser
        .wait_for("document.getElementById('sign-in-error').textContent.includes('Not accepted')")
        .await;

    // The right key: ticket, WebSocket, initial_stats.
    browser
        .eval(&format!(
            "document.getElementById('api-key').value = {}; document.getElementById('sign-in').requestSubmit(); true",
            json!(s.key)
        ))
        .await;
    browser
        .wait_for("document.getElementById('status').dataset.state === 'live'")
        .await;
    assert_eq!(
        browser
            .eval("document.getElementById('total-agents').textContent")
            .await,
        "0"
    );

    // Events triggered through the API appear.
    let id = s.register("seen-in-the-browser").await;
    s.record(&id, "read_data", "success").await;
    let (_, d) = s
        .post(
            "/authorize",
            json!({"agent_id": id, "action": "delete_database"}),
        )
        .await;
    assert_eq!(d["allowed"], false);
    browser
        .wait_for(&format!(
            "document.getElementById('receipts').textContent.includes({0}) && document.getElementById('denials').textContent.includes('delete_database')",
            json!(id)
        ))
        .await;
    assert_eq!(
        browser
            .eval("document.getElementById('total-agents').textContent")
            .await,
        "1"
    );
    assert_eq!(
        browser
            .eval("document.getElementById('total-receipts').textContent")
            .await,
        "1"
    );
    let row = browser
        .eval("[...document.querySelectorAll('#receipts tr:first-child td')].map((td) => td.textContent)")
        .await;
    let row: Vec<&str> = row
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert!(row[1].contains("seen-in-the-browser"), "{row:?}");
    assert_eq!((row[2], row[3]), ("read_data", "success"), "{row:?}");
    let tiers = browser
        .eval("[...document.querySelectorAll('#tiers .count')].reduce((n, c) => n + Number(c.textContent), 0)")
        .await;
    assert_eq!(tiers, 1, "the new agent is counted in a tier");
    assert!(
        browser.errors.is_empty(),
        "page errors: {:?}",
        browser.errors
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docs_page_renders_every_operation_in_chromium() {
    let Some(binary) = chromium() else {
        eprintln!(
            "no Chromium (set TEST_CHROMIUM): docs_page_renders_every_operation_in_chromium not run"
        );
        return;
    };
    let s = start(Backend::Sqlite).await;
    let (_, doc) = s.get("/openapi.json").await;
    let operations: usize = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|item| item.as_object().unwrap().len())
        .sum();
    let mut browser = Browser::launch(binary).await;
    browser.open(&format!("{}/docs", s.base)).await;
    // Swagger UI fetches the document and draws one block per operation.
    browser
        .wait_for(&format!(
            "document.querySelectorAll('.opblock').length === {operations}"
        ))
        .await;
    assert_eq!(
        browser
            .eval("document.querySelector('.info .title').textContent")
            .await
            .as_str()
            .map(|t| t.starts_with("Trust Gateway")),
        Some(true)
    );
    // Everything it loaded came from the gateway: the docs work offline.
    let resources = browser
        .eval("performance.getEntriesByType('resource').map((e) => e.name)")
        .await;
    let resources = resources.as_array().unwrap();
    assert!(
        resources
            .iter()
            .any(|r| r.as_str().unwrap().ends_with("/openapi.json")),
        "{resources:?}"
    );
    assert!(
        resources
            .iter()
            .all(|r| r.as_str().unwrap().starts_with(&s.base)),
        "{resources:?}"
    );
    assert!(
        browser.errors.is_empty(),
        "page errors: {:?}",
        browser.errors
    );
}
