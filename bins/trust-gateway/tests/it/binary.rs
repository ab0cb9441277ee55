//! The README's command, as a newcomer runs it: the real binary, no environment, a fresh
//! directory.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use crate::support::Killed;

/// Starts `trust-gateway` with no configuration but a port, waits for its "listening" line
/// and returns the child, the address and the lines it printed.
fn launch(dir: &std::path::Path) -> (Killed, String, Vec<String>) {
    let (child, addr, lines, _) = launch_with(dir, &[("LOG_FORMAT", "text")]);
    (child, addr, lines)
}

/// As [`launch`], with `env`; also returns the log lines printed after start.
pub(crate) fn launch_with(
    dir: &std::path::Path,
    env: &[(&str, &str)],
) -> (
    Killed,
    String,
    Vec<String>,
    std::sync::mpsc::Receiver<String>,
) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_trust-gateway"))
        .current_dir(dir)
        .env_clear()
        .env("PORT", "0")
        .env("WORKERS", "1")
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut lines = Vec::new();
    let mut addr = None;
    let mut reader = BufReader::new(stderr).lines();
    for line in reader.by_ref() {
        let line = line.unwrap();
        if let Some(rest) = line
            .split("address=http://")
            .nth(1)
            .or_else(|| line.split("\"address\":\"http://").nth(1))
        {
            addr = rest
                .split(|c: char| c.is_whitespace() || c == '"')
                .next()
                .map(str::to_owned);
        }
        let done = line.contains("stored in this file");
        lines.push(line);
        if done {
            break;
        }
    }
    let addr = addr.unwrap_or_else(|| panic!("no listening line in {lines:#?}"));
    // Keep draining the log so the child never blocks on a full pipe.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in reader.map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    (Killed(child), addr, lines, rx)
}

/// The secrets file the binary generated in `dir`.
fn stored_secrets(dir: &std::path::Path) -> serde_json::Value {
    let file = dir.join("trust-gateway.db.secrets.json");
    serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap()
}

/// The admin key the binary generated in `dir`.
fn admin_key(dir: &std::path::Path) -> String {
    stored_secrets(dir)["admin_api_key"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
fn the_binary_starts_on_embedded_sqlite_with_generated_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, addr, lines) = launch(dir.path());
    let secrets = dir.path().join("trust-gateway.db.secrets.json");
    assert!(
        lines
            .iter()
            .any(|l| l.contains("trust-gateway.db.secrets.json")),
        "{lines:#?}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // The secrets and the database (and its WAL, which SQLite gives the same mode).
        for file in [
            "trust-gateway.db.secrets.json",
            "trust-gateway.db",
            "trust-gateway.db-wal",
        ] {
            let mode = std::fs::metadata(dir.path().join(file))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{file}");
        }
    }
    let stored = stored_secrets(dir.path());
    let key = admin_key(dir.path());
    assert!(key.starts_with("tgk_"));
    assert!(stored["secret_key"].as_str().unwrap().len() >= 64);

    let get = |path: &str, key: Option<&str>| http::get(format!("http://{addr}{path}"), key);
    let (status, body) = get("/health", None);
    assert_eq!(status, 200, "{body}");
    let (status, _) = get("/stats", None);
    assert_eq!(status, 401);
    let (status, _) = get("/stats", Some(&key));
    assert_eq!(status, 200);
    child.kill().unwrap();
    child.wait().unwrap();

    // A restart reuses the secrets: the same key still works; loosening the file's mode is refused.
    let (mut child, addr2, _) = launch(dir.path());
    let (status, _) = http::get(format!("http://{addr2}/stats"), Some(&key));
    assert_eq!(status, 200);
    child.kill().unwrap();
    child.wait().unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&secrets, std::fs::Permissions::from_mode(0o644)).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_trust-gateway"))
            .current_dir(dir.path())
            .env_clear()
            .env("PORT", "0")
            .output()
            .unwrap();
        assert!(!out.status.success());
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("chmod 600"),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn placeholder_secrets_are_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    for (var, value) in [
        ("SECRET_KEY", "your-secret-key"),
        ("API_KEY", "your-api-key"),
        ("JWT_SECRET", "short"),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_trust-gateway"))
            .current_dir(dir.path())
            .env_clear()
            .env("PORT", "0")
            .env(var, value)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{var}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(var),
            "{var}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let out = Command::new(env!("CARGO_BIN_EXE_trust-gateway"))
        .current_dir(dir.path())
        .env_clear()
        .env("DATABASE_URL", "postgres://nobody@127.0.0.1:1/none")
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("SECRET_KEY must be set"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every request runs under a request id: the caller's (if sane) or a fresh one, echoed in
/// `X-Request-Id` and carried by the JSON log lines written while serving it; the client's
/// address is never logged.
#[test]
fn requests_carry_a_request_id_into_the_json_log() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, addr, _, log) = launch_with(
        dir.path(),
        &[("LOG_FORMAT", "json"), ("LOG_LEVEL", "info,tg_api=debug")],
    );
    let (id, _) = http::get_with_id(format!("http://{addr}/health"), "ci-trace-42");
    assert_eq!(id, "ci-trace-42");
    let (id, _) = http::get_with_id(format!("http://{addr}/health"), "forged\tlevel=ERROR");
    assert!(id.starts_with("req_") && id.len() == 20, "{id}");
    let line = loop {
        let line = log
            .recv_timeout(std::time::Duration::from_secs(60))
            .expect("the access line within a minute");
        if line.contains("ci-trace-42") {
            break line;
        }
    };
    let v: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(v["span"]["request_id"], "ci-trace-42", "{line}");
    assert_eq!(v["span"]["http.route"], "/health", "{line}");
    assert_eq!(v["fields"]["status"], 200, "{line}");
    assert!(!line.contains("127.0.0.1"), "no client address: {line}");
    child.kill().unwrap();
    child.wait().unwrap();
}

/// A 5xx tells the client nothing of its cause, and logs the whole chain: the use case's
/// context, the store's, and the database's own words.
#[test]
fn a_5xx_logs_every_cause_and_tells_the_client_nothing() {
    use diesel::{Connection, RunQueryDsl};

    let dir = tempfile::tempdir().unwrap();
    let (mut child, addr, _, log) = launch_with(dir.path(), &[("LOG_FORMAT", "json")]);
    let key = admin_key(dir.path());
    let url = format!("http://{addr}/config/webhooks");
    assert_eq!(http::get(url.clone(), Some(&key)).0, 200);

    // A table goes missing under the running server (an operator's mistake, a bad restore).
    let db = dir.path().join("trust-gateway.db");
    let mut conn = diesel::SqliteConnection::establish(db.to_str().unwrap()).unwrap();
    diesel::sql_query("PRAGMA busy_timeout = 5000")
        .execute(&mut conn)
        .unwrap();
    diesel::sql_query("ALTER TABLE webhook_endpoints RENAME TO webhook_endpoints_gone")
        .execute(&mut conn)
        .unwrap();

    let (status, body) = http::get(url, Some(&key));
    assert_eq!(status, 500, "{body}");
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        body,
        serde_json::json!({"code": "internal_error", "detail": "internal server error"})
    );
    let line = loop {
        let line = log
            .recv_timeout(std::time::Duration::from_secs(60))
            .expect("the error line within a minute");
        if line.contains("\"internal error\"") {
            break line;
        }
    };
    let v: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(v["level"], "ERROR", "{line}");
    assert_eq!(
        v["fields"]["error"],
        "the store failed: store error: the query failed: no such table: webhook_endpoints",
        "{line}"
    );
    assert_eq!(v["span"]["http.route"], "/config/webhooks", "{line}");
    child.kill().unwrap();
    child.wait().unwrap();
}

/// SIGTERM stops the server the way an orchestrator does: it exits 0, and every decision it
/// answered (answered from memory, its audit record only queued) is on record.
#[test]
fn sigterm_writes_every_answered_decision_before_exiting() {
    use diesel::{Connection, QueryableByName, RunQueryDsl};

    let dir = tempfile::tempdir().unwrap();
    let (mut child, addr, _, log) = launch_with(dir.path(), &[("LOG_FORMAT", "text")]);
    let key = admin_key(dir.path());
    let decisions = 50;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let c = ::reqwest::Client::new();
        let agent: serde_json::Value = c
            .post(format!("http://{addr}/agents/register"))
            .header("X-API-Key", &key)
            .json(&serde_json::json!({"name": "worker", "provider": "p", "config_hash": "h"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        for _ in 0..decisions {
            let resp = c
                .post(format!("http://{addr}/authorize"))
                .header("X-API-Key", &key)
                .json(&serde_json::json!({"agent_id": agent["id"], "action": "read_config"}))
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), 200);
        }
    });
    drop(rt);

    let term = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    // A guard against a hang, not a timing: the process exits when it has stopped.
    let (tx, exited) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait());
    });
    let status = exited
        .recv_timeout(std::time::Duration::from_secs(120))
        .expect("the gateway exits after SIGTERM")
        .unwrap();
    assert!(status.success(), "{status}");
    // Everything it printed: the pipe closed when it exited.
    let lines: Vec<String> = log.iter().collect();
    assert!(
        lines.iter().any(|l| l.contains("trust-gateway stopped")),
        "{lines:#?}"
    );

    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let db = dir.path().join("trust-gateway.db");
    let mut conn = diesel::SqliteConnection::establish(db.to_str().unwrap()).unwrap();
    let checks: Count = diesel::sql_query(
        "SELECT COUNT(*) AS n FROM audit_events WHERE event_type = 'trust_check'",
    )
    .get_result(&mut conn)
    .unwrap();
    assert_eq!(checks.n, decisions);
}

/// `trust-gateway demo`: runs on its own temporary database, shows trust rising with good
/// behaviour and falling with violations, and verifies both receipt chains.
#[test]
fn the_demo_shows_scores_tiers_and_decisions_moving() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_trust-gateway"))
        .arg("demo")
        .current_dir(dir.path())
        .env_clear()
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = |step: &str| {
        text.lines()
            .find(|l| l.contains(step))
            .unwrap_or_else(|| panic!("no `{step}` line in\n{text}"))
    };
    assert!(line("just registered").contains("send_email: no"));
    assert!(
        line("after 20 self-reported").contains("send_email: no"),
        "what the tenant says alone stops at tier 1: {text}"
    );
    assert!(
        line("after 5 witnessed").contains("send_email: yes"),
        "{text}"
    );
    assert!(
        line("after 15 successes").contains("send_email: yes"),
        "{text}"
    );
    assert!(
        line("after 3 violations").contains("send_email: no"),
        "{text}"
    );
    assert_eq!(text.matches("intact").count(), 2, "{text}");
    assert!(
        std::fs::read_dir(dir.path()).unwrap().next().is_none(),
        "nothing written where it runs"
    );
}

/// A tiny blocking GET for the process tests (no async runtime needed).
mod http {
    pub fn get(url: String, key: Option<&str>) -> (u16, String) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let mut req = ::reqwest::Client::new().get(url);
            if let Some(k) = key {
                req = req.header("X-API-Key", k);
            }
            let resp = req.send().await.unwrap();
            (resp.status().as_u16(), resp.text().await.unwrap())
        })
    }

    /// GET with `X-Request-Id: id`; the id the answer carries, and its status.
    pub fn get_with_id(url: String, id: &str) -> (String, u16) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let resp = ::reqwest::Client::new()
                .get(url)
                .header("X-Request-Id", id)
                .send()
                .await
                .unwrap();
            let echoed = resp.headers()["x-request-id"].to_str().unwrap().to_owned();
            (echoed, resp.status().as_u16())
        })
    }
}
