//! One HTTP attempt: signed, SSRF-checked, no redirects, bounded in time.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::ssrf::{CheckedResolver, UrlPolicy};
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
    /// `webhook-id`: the outbox event id, the same on every attempt.
    pub id: &'a str,
    /// Unix seconds of this attempt.
    pub timestamp: i64,
    pub body: &'a [u8],
    pub secrets: &'a [SigningSecret],
}

impl Deliverer {
    pub fn new(policy: Arc<UrlPolicy>, timeout: Duration) -> Result<Self, String> {
        let client = reqwest::Client::builder()
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
        let signature = signature_header(m.secrets, m.id, m.timestamp, m.body);
        let response = self
            .client
            .post(m.url)
            .header("content-type", "application/json")
            .header("webhook-id", m.id)
            .header("webhook-timestamp", m.timestamp.to_string())
            .header("webhook-signature", signature)
            .body(m.body.to_vec())
            .send()
            .await;
        let response = match response {
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
            _ => Verdict::Failed,
        };
        let error = (verdict != Verdict::Delivered).then(|| match status {
            300..=399 => format!("HTTP {status} (redirects are not followed)"),
            _ => format!("HTTP {status}"),
        });
        AttemptResult {
            verdict,
            status: Some(status),
            latency_ms: elapsed_ms(started),
            error,
            retry_after,
        }
    }
}

fn elapsed_ms(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// The error chain, so "connection refused" or the SSRF refusal shows in the attempt.
fn describe(e: &reqwest::Error) -> String {
    let mut out = if e.is_timeout() {
        "timed out".to_owned()
    } else {
        e.to_string()
    };
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out.chars().take(500).collect()
}
