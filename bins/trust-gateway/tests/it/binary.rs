//! The README's command, as a newcomer runs it: the real binary, no environment, a fresh
//! directory.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

/// Starts `trust-gateway` with no configuration but a port, waits for its "listening" line
/// and returns the child, the address and the lines it printed.
fn launch(dir: &std::path::Path) -> (std::process::Child, String, Vec<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_trust-gateway"))
        .current_dir(dir)
        .env_clear()
        .env("PORT", "0")
        .env("LOG_FORMAT", "text")
        .env("WORKERS", "1")
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
        if let Some(rest) = line.split("address=http://").nth(1) {
            addr = rest.split_whitespace().next().map(str::to_owned);
        }
        let done = line.contains("stored in this file");
        lines.push(line);
        if done {
            break;
        }
    }
    let addr = addr.unwrap_or_else(|| panic!("no listening line in {lines:#?}"));
    // Keep draining the log so the child never blocks on a full pipe.
    std::thread::spawn(move || reader.for_each(drop));
    (child, addr, lines)
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
        assert_eq!(
            std::fs::metadata(&secrets).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let stored: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&secrets).unwrap()).unwrap();
    let key = stored["admin_api_key"].as_str().unwrap().to_owned();
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
}
