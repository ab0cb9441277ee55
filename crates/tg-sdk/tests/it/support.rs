//! A real gateway (the server binary's own start-up, on a fresh SQLite file) and a
//! scriptable stand-in for gateways that misbehave.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

pub const KEY: &str = "sdk-test-admin-key-7c1e9a3b5d";

/// A running gateway.
pub struct Gateway {
    pub base: String,
    handle: actix_web::dev::ServerHandle,
    _dir: tempfile::TempDir,
}

impl Gateway {
    /// Starts a gateway on the current (multi-threaded) runtime.
    pub async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db = format!("sqlite://{}", dir.path().join("gateway.db").display());
        let key_file = dir.path().join("admin.key").display().to_string();
        let vars = [
            (
                "SECRET_KEY",
                "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a6978",
            ),
            ("API_KEY", KEY),
            ("PORT", "0"),
            ("WORKERS", "1"),
            ("DATABASE_URL", db.as_str()),
            ("ADMIN_KEY_FILE", key_file.as_str()),
            ("WEBHOOK_ALLOW_NETS", "127.0.0.0/8"),
        ];
        let settings = trust_gateway::Settings::from_vars(|k| {
            vars.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| (*v).to_owned())
        })
        .unwrap();
        let running = trust_gateway::start(&settings).await.unwrap();
        let handle = running.server.handle();
        tokio::spawn(running.server);
        Self {
            base: format!("http://{}", running.addr),
            handle,
            _dir: dir,
        }
    }

    pub fn client(&self) -> tg_sdk::Client {
        tg_sdk::Client::new(&self.base, KEY).unwrap()
    }

    /// Stops the server; its port refuses connections afterwards.
    pub async fn stop(&self) {
        self.handle.stop(false).await;
    }
}

/// A stand-in that answers the n-th request with the n-th canned answer (the last one
/// repeats), and counts requests. `None` accepts the connection and never answers.
pub struct Script {
    pub base: String,
    pub hits: Arc<AtomicUsize>,
}

pub async fn script(answers: Vec<Option<(u16, String)>>) -> Script {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&hits);
    tokio::spawn(async move {
        let mut open = Vec::new();
        loop {
            let Ok((mut conn, _)) = listener.accept().await else {
                return;
            };
            let n = counter.fetch_add(1, Ordering::SeqCst);
            let answer = answers.get(n).or(answers.last()).cloned().flatten();
            let mut buf = vec![0u8; 64 * 1024];
            let mut read = 0;
            // The request head (bodies are small and ignored).
            while !buf[..read].windows(4).any(|w| w == b"\r\n\r\n") {
                match conn.read(&mut buf[read..]).await {
                    Ok(0) | Err(_) => break,
                    Ok(k) => read += k,
                }
            }
            match answer {
                Some((status, body)) => {
                    let head = format!(
                        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = conn.write_all(head.as_bytes()).await;
                    let _ = conn.write_all(body.as_bytes()).await;
                }
                // Keep the connection open and silent.
                None => open.push(conn),
            }
        }
    });
    Script { base, hits }
}
