//! One HTTP attempt: signed, SSRF-checked, no redirects, bounded in time.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::security_events::SET_CONTENT_TYPE;
use crate::ssrf::{CheckedResolver, UrlError, UrlPolicy};
use crate::{SigningSecret, signature_header};

/// What the receiver did with an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// 2xx.
    Delivered,
    /// 410: the receiver says the endpoint is gone; it is disabled.
    Gone,
    /// Anything else (3xx included: redirects are not followed), or no answer.
    Failed,
    /// A SET receiver's 400 (RFC 8935 §2.4): it judged this SET invalid, so sending it
    /// again cannot help; the delivery fails without retries.
    Rejected,
}

/// The record of one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptResult {
    pub verdict: Verdict,
    pub status: Option<u16>,
    pub latency_ms: u64,
    pub error: Option<String>,
    /// The receiver's `Retry-After`, raw.
    pub retry_after: Option<String>,
}

/// The HTTP side of delivery.
#[derive(Debug, Clone)]
pub struct Deliverer {
    client: reqwest::Client,
    policy: Arc<UrlPolicy>,
}

/// A message ready to send.
#[derive(Debug, Clone)]
pub struct Message<'a> {
    pub url: &'a str,
    pub body: Body<'a>,
}

/// What is sent, and how.
#[derive(Debug, Clone)]
pub enum Body<'a> {
    /// Standard Webhooks: JSON, signed with the endpoint's secrets.
    Webhook {
        /// `webhook-id`: the outbox event id, the same on every attempt.
        id: &'a str,
        /// Unix seconds of this attempt.
        timestamp: i64,
        json: &'a [u8],
        secrets: &'a [SigningSecret],
    },
    /// A signed Security Event Token, pushed as RFC 8935 says.
    SecurityEvent(&'a str),
}

/// How much of a SET receiver's 400 body is read for its `err` and `description`.
const ERROR_BODY_LIMIT: usize = 4096;

impl Deliverer {
    pub fn new(policy: Arc<UrlPolicy>, timeout: Duration) -> Result<Self, String> {
        let client = reqwest::Client::builder()
            // Never through HTTP(S)_PROXY / ALL_PROXY: a proxy would connect to the target
            // itself, past the checked resolver (SSRF).
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .connect_timeout(timeout)
            .dns_resolver(Arc::new(CheckedResolver(Arc::clone(&policy))))
            .user_agent(concat!(
                "trust-gateway-webhooks/",
                env!("CARGO_PKG_VERSION")
            ))
            .pool_max_idle_per_host(8)
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Self { client, policy })
    }

    pub fn policy(&self) -> &UrlPolicy {
        &self.policy
    }

    pub async fn send(&self, m: Message<'_>) -> AttemptResult {
        let started = Instant::now();
        let failed = |error: String, started: Instant| AttemptResult {
            verdict: Verdict::Failed,
            status: None,
            latency_ms: elapsed_ms(started),
            error: Some(error),
            retry_after: None,
        };
        // IP-literal hosts never reach the resolver: check them here, every time.
        if let Err(e) = self.policy.check_url(m.url) {
            return failed(e.to_string(), started);
        }
        let request = match m.body {
            Body::Webhook {
                id,
                timestamp,
                json,
                secrets,
            } => self
                .client
                .post(m.url)
                .header("content-type", "application/json")
                .header("webhook-id", id)
                .header("webhook-timestamp", timestamp.to_string())
                .header(
                    "webhook-signature",
                    signature_header(secrets, id, timestamp, json),
                )
                .body(json.to_vec()),
            Body::SecurityEvent(set) => self
                .client
                .post(m.url)
                .header("content-type", SET_CONTENT_TYPE)
                .header("accept", "application/json")
                .body(set.to_owned()),
        };
        let set = matches!(m.body, Body::SecurityEvent(_));
        let response = match request.send().await {
            Ok(r) => r,
            Err(e) => return failed(describe(&e), started),
        };
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .map(|v| v.chars().take(64).collect());
        let verdict = match status {
            200..=299 => Verdict::Delivered,
            410 => Verdict::Gone,
            400 if set => Verdict::Rejected,
            _ => Verdict::Failed,
        };
        let error = match (verdict.clone(), status) {
            (Verdict::Delivered, _) => None,
            (Verdict::Rejected, _) => Some(set_error(response).await),
            (_, 300..=399) => Some(format!("HTTP {status} (redirects are not followed)")),
            _ => Some(format!("HTTP {status}")),
        };
        AttemptResult {
            verdict,
            status: Some(status),
            latency_ms: elapsed_ms(started),
            error,
            retry_after,
        }
    }
}

/// A SET receiver's 400, as RFC 8935 §2.4 words it: `{"err", "description"}`; both
/// shortened, the code kept only when it is a plain token.
async fn set_error(mut response: reqwest::Response) -> String {
    let mut body = Vec::new();
    while body.len() < ERROR_BODY_LIMIT {
        match response.chunk().await {
            Ok(Some(c)) => body.extend_from_slice(&c),
            _ => break,
        }
    }
    body.truncate(ERROR_BODY_LIMIT);
    let parsed: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    let err = parsed
        .get("err")
        .and_then(serde_json::Value::as_str)
        .filter(|e| e.len() <= 64 && e.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
        .unwrap_or("unknown");
    let description: String = parsed
        .get("description")
        .and_then(serde_json::Value::as_str)
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect();
    format!("HTTP 400: the receiver rejected the SET ({err}) {description}")
        .trim_end()
        .to_owned()
}

fn elapsed_ms(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// What a failed attempt records, in coarse classes only: the endpoint's owner learns
/// that its endpoint failed and roughly why, but the attempt log is no port scanner — a
/// refused connection, an unreachable host and a failed DNS lookup read the same, and a
/// host resolving to a non-public address is not named.
fn describe(e: &reqwest::Error) -> String {
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if s.downcast_ref::<UrlError>().is_some() {
            return "refused: the URL's host resolves to a non-public address (allow-list it in WEBHOOK_ALLOW_NETS)".into();
        }
        source = s.source();
    }
    if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        "could not connect".into()
    } else if e.is_body() || e.is_decode() {
        "the response could not be read".into()
    } else {
        "the request failed".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deliverer(allow: &str) -> Deliverer {
        let allow = UrlPolicy::parse_allow_list(allow).unwrap();
        Deliverer::new(Arc::new(UrlPolicy::new(allow)), Duration::from_secs(5)).unwrap()
    }

    async fn attempt(d: &Deliverer, url: &str) -> AttemptResult {
        d.send(Message {
            url,
            body: Body::Webhook {
                id: "msg_1",
                timestamp: 1_700_000_000,
                json: b"{}",
                secrets: &[],
            },
        })
        .await
    }

    /// A one-shot HTTP server on loopback answering `response` to the first request.
    fn answering(response: String) -> String {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/events", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            let (mut conn, _) = listener.accept().unwrap();
            let mut seen = Vec::new();
            let mut buf = [0u8; 1024];
            // The request: headers, then Content-Length bytes of body.
            while let Ok(n) = conn.read(&mut buf) {
                seen.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&seen);
                if let Some(end) = text.find("\r\n\r\n") {
                    let length = text
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse::<usize>().unwrap())
                        })
                        .unwrap_or(0);
                    if seen.len() >= end + 4 + length || n == 0 {
                        break;
                    }
                }
            }
            conn.write_all(response.as_bytes()).unwrap();
        });
        url
    }

    /// RFC 8935 §2.4: a receiver's 400 rejects the SET for good (no retry), and its `err`
    /// and `description` are recorded; a code that is not a plain token is not.
    #[tokio::test]
    async fn a_set_receivers_400_rejects_the_set() {
        let d = deliverer("127.0.0.0/8");
        let body = r#"{"err":"invalid_key","description":"unknown kid"}"#;
        let response = format!(
            "HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        let url = answering(response.clone());
        let r = d
            .send(Message {
                url: &url,
                body: Body::SecurityEvent("a.b.c"),
            })
            .await;
        assert_eq!(r.verdict, Verdict::Rejected, "{r:?}");
        assert_eq!(
            r.error.as_deref(),
            Some("HTTP 400: the receiver rejected the SET (invalid_key) unknown kid")
        );
        // A webhook's 400 is an ordinary failure, retried.
        let url = answering(response);
        let r = attempt(&d, &url).await;
        assert_eq!((r.verdict, r.status), (Verdict::Failed, Some(400)));
        let url = answering(
            "HTTP/1.1 400 Bad Request\r\ncontent-length: 18\r\nconnection: close\r\n\r\n{\"err\":\"<script>\"}"
                .into(),
        );
        let r = d
            .send(Message {
                url: &url,
                body: Body::SecurityEvent("a.b.c"),
            })
            .await;
        assert_eq!(
            r.error.as_deref(),
            Some("HTTP 400: the receiver rejected the SET (unknown)")
        );
    }

    /// Attempt errors are coarse: a closed port reads "could not connect" with no detail a
    /// tenant could scan with, and a hostname resolving to a private address is refused
    /// without naming the address.
    #[tokio::test]
    async fn attempt_errors_say_what_failed_but_not_what_is_there() {
        // Bound but not listening: connections are refused, and no other test's server can
        // take the port meanwhile (one closed again could be).
        let closed = tokio::net::TcpSocket::new_v4().unwrap();
        closed.bind(([127, 0, 0, 1], 0).into()).unwrap();
        let port = closed.local_addr().unwrap().port();
        let open = deliverer("127.0.0.0/8,::1");
        let r = attempt(&open, &format!("http://127.0.0.1:{port}/hook")).await;
        assert_eq!(r.error.as_deref(), Some("could not connect"), "{r:?}");
        let r = attempt(&open, &format!("http://localhost:{port}/hook")).await;
        assert_eq!(r.error.as_deref(), Some("could not connect"), "{r:?}");

        let closed_policy = deliverer("");
        let r = attempt(&closed_policy, &format!("http://localhost:{port}/hook")).await;
        let error = r.error.unwrap();
        assert!(error.starts_with("refused"), "{error}");
        assert!(
            !error.contains("127.0.0.1") && !error.contains("::1"),
            "{error}"
        );
    }
}
