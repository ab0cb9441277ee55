//! Delivers the outbox: fans events out to subscribed endpoints, claims due deliveries
//! under a lease (so several instances share the work and a crashed one's claims come
//! back), sends them, and records every attempt. At least once: a delivery is marked done
//! only after its 2xx, so a crash in between sends it again with the same `webhook-id`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use futures_util::StreamExt;
use serde_json::json;
use tg_core::{AccountId, Clock, Timestamp, WebhookId};
use tg_webhooks::security_events::{self, SetContext};
use tg_webhooks::{
    Attempt, AttemptResult, Body, Deliverer, Delivery, DeliveryStatus, Endpoint, EventKind,
    Message, OutboxEvent, SigningSecret, UrlPolicy, Verdict, next_attempt, parse_retry_after,
};
use tokio::sync::Notify;

use crate::runtime::metrics::DeliveryResult;
use crate::runtime::worker::Worker;
use crate::{ServiceError, Store, in_transaction};

/// How webhooks are delivered.
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    /// Networks endpoints may point into although they are not public
    /// (`WEBHOOK_ALLOW_NETS`).
    pub allow: Vec<ipnet::IpNet>,
    /// Per-attempt request timeout.
    pub timeout: Duration,
    /// An endpoint whose every attempt failed for this long is disabled.
    pub disable_after: Duration,
    /// How often the worker looks for due retries without being woken; `None` runs no
    /// worker (tests drive `deliver_webhooks`).
    pub poll: Option<Duration>,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        Self {
            allow: Vec::new(),
            timeout: Duration::from_secs(10),
            disable_after: Duration::from_secs(5 * 86_400),
            poll: Some(Duration::from_secs(1)),
        }
    }
}

const SEALED_PREFIX: &str = "sealed:";

/// Deliveries attempted concurrently by one worker.
const CONCURRENCY: usize = 32;
const CLAIM: u32 = 256;
const FAN_OUT: u32 = 1000;
/// After a pass that found work but not a full page, how long the worker lets events
/// gather before the next pass. Under a steady stream of writes this bounds the passes
/// (each a transaction of its own beside the writers') to 50 a second; the first event
/// after a quiet spell still goes at once.
const GATHER: Duration = Duration::from_millis(20);

/// What the dispatcher shares with the rest of the gateway.
pub(crate) struct Wiring {
    /// This instance's dashboards.
    pub(crate) live: Arc<crate::runtime::live::LiveFeed>,
    /// Where the store relays events across instances (`live_relay`): what it fans out is
    /// held here for the relay, which publishes in commit order. Else it publishes what it
    /// fans out itself.
    pub(crate) relayed: Option<Arc<crate::runtime::fanned_here::FannedHere>>,
    /// Woken by whoever commits outbox events.
    pub(crate) wake: Arc<Notify>,
    pub(crate) metrics: Arc<crate::Metrics>,
    /// Signs Security Event Tokens for Shared Signals streams.
    pub(crate) tokens: crate::token_issuer::CurrentIssuer,
}

/// What one pass did.
struct Pass {
    /// Outbox events fanned out.
    fanned: usize,
    /// Delivery attempts made.
    attempts: usize,
}

pub(crate) struct Dispatcher {
    /// This instance's dashboards.
    live: Arc<crate::runtime::live::LiveFeed>,
    /// See [`Wiring::relayed`].
    relayed: Option<Arc<crate::runtime::fanned_here::FannedHere>>,
    /// Seals endpoint secrets at rest (AES-256-GCM under a key derived from it).
    secret_key: tg_core::Secret<Vec<u8>>,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    deliverer: Deliverer,
    admin: AccountId,
    config: WebhookConfig,
    /// Woken by whoever commits outbox events.
    wake: Arc<Notify>,
    metrics: Arc<crate::Metrics>,
    tokens: crate::token_issuer::CurrentIssuer,
}

impl std::fmt::Debug for Dispatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dispatcher").finish_non_exhaustive()
    }
}

impl Dispatcher {
    pub(crate) fn start(
        wiring: Wiring,
        secret_key: tg_core::Secret<Vec<u8>>,
        config: WebhookConfig,
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        admin: AccountId,
    ) -> Result<(Arc<Self>, Worker), ServiceError> {
        let policy = Arc::new(UrlPolicy::new(config.allow.clone()));
        let deliverer = Deliverer::new(policy, config.timeout).map_err(ServiceError::internal)?;
        let poll = config.poll;
        let Wiring {
            live,
            relayed,
            wake,
            metrics,
            tokens,
        } = wiring;
        let dispatcher = Arc::new(Self {
            live,
            relayed,
            secret_key,
            store,
            clock,
            deliverer,
            admin,
            config,
            wake,
            metrics,
            tokens,
        });
        let Some(poll) = poll else {
            return Ok((dispatcher, Worker::none()));
        };
        let weak = Arc::downgrade(&dispatcher);
        let handle = tokio::spawn(async move {
            loop {
                let Some(d) = weak.upgrade() else { return };
                match d.pass().await {
                    // A full page: more is waiting, go again at once.
                    Ok(Pass { fanned, attempts })
                        if fanned >= FAN_OUT as usize || attempts >= CLAIM as usize =>
                    {
                        continue;
                    }
                    // Work, but less than a page: let more gather, then go again.
                    Ok(Pass { fanned, attempts }) if fanned + attempts > 0 => {
                        drop(d);
                        tokio::time::sleep(GATHER).await;
                        continue;
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(error = %tg_core::ErrorChain(&e), "webhook delivery pass failed")
                    }
                }
                tokio::select! {
                    () = d.wake.notified() => {}
                    () = tokio::time::sleep(poll) => {}
                }
            }
        });
        Ok((dispatcher, Worker::new(handle)))
    }

    pub(crate) fn policy(&self) -> &UrlPolicy {
        self.deliverer.policy()
    }

    /// How an endpoint secret is stored: `sealed:` + base64 of the AES-GCM box, bound to
    /// the endpoint's id.
    pub(crate) fn seal_secret(
        &self,
        endpoint: &WebhookId,
        plain: &str,
    ) -> Result<String, ServiceError> {
        let sealed = tg_tokens::seal(
            self.secret_key.expose(),
            endpoint.as_str(),
            plain.as_bytes(),
        )
        .map_err(|e| ServiceError::internal_because("sealing the webhook secret", e))?;
        Ok(format!("{SEALED_PREFIX}{}", STANDARD.encode(sealed)))
    }

    /// The endpoint's signing secrets, opened. One that does not open (another
    /// `SECRET_KEY`) is left out and logged.
    fn signing_secrets(&self, endpoint: &Endpoint) -> Vec<SigningSecret> {
        endpoint
            .secrets
            .iter()
            .filter_map(|stored| {
                let plain = match stored.strip_prefix(SEALED_PREFIX) {
                    Some(b64) => STANDARD
                        .decode(b64)
                        .ok()
                        .and_then(|box_| tg_tokens::open(self.secret_key.expose(), endpoint.id.as_str(), &box_).ok())
                        .and_then(|p| String::from_utf8(p).ok()),
                    None => Some(stored.clone()),
                };
                if plain.is_none() {
                    tracing::error!(endpoint = %endpoint.id, "a webhook secret does not open under this SECRET_KEY");
                }
                plain.and_then(|p| SigningSecret::parse(&p).ok())
            })
            .collect()
    }

    pub(crate) fn wake(&self) {
        self.wake.notify_one();
    }

    /// One pass: fan out new events, then attempt every delivery due now. Returns the
    /// number of attempts made. The bookkeeping is batched: one transaction fans out,
    /// claims the due deliveries and reads their events and endpoints, the attempts run
    /// concurrently, and one transaction records them all.
    pub(crate) async fn run_once(&self) -> Result<usize, ServiceError> {
        Ok(self.pass().await?.attempts)
    }

    async fn pass(&self) -> Result<Pass, ServiceError> {
        let now = self.clock.now();
        let admin = self.admin.clone();
        let lease = self
            .config
            .timeout
            .as_secs()
            .saturating_mul(2)
            .saturating_add(30);
        let lease_until = now.plus_secs(i64::try_from(lease).unwrap_or(i64::MAX));
        let relayed = self.relayed.clone();
        let (fanned, due, endpoints, events) = in_transaction(self.store.as_ref(), move |tx| {
            Box::pin(async move {
                let fanned = tx.fan_out(&admin, now, FAN_OUT).await?;
                // Before the commit that signals them.
                if let Some(relayed) = &relayed {
                    relayed.hold(&fanned);
                }
                let due = tx.claim_due(now, lease_until, CLAIM).await?;
                if due.is_empty() {
                    return Ok((fanned, due, Vec::new(), Vec::new()));
                }
                let ids: Vec<String> = due.iter().map(|d| d.event_id.clone()).collect();
                let events = tx.outbox_events(&ids).await?;
                Ok((fanned, due, tx.list_endpoints(None).await?, events))
            })
        })
        .await?;
        // Committed: dashboards may see them now.
        if self.relayed.is_none() {
            self.live.publish(&fanned);
        }
        let fanned = fanned.len();
        if due.is_empty() {
            return Ok(Pass {
                fanned,
                attempts: 0,
            });
        }
        let endpoints: HashMap<WebhookId, Endpoint> =
            endpoints.into_iter().map(|e| (e.id.clone(), e)).collect();
        let events: HashMap<String, OutboxEvent> =
            events.into_iter().map(|e| (e.id.clone(), e)).collect();
        let n = due.len();
        let sent: Vec<(Delivery, Option<AttemptResult>)> = futures_util::stream::iter(due)
            .map(|d| {
                let target = endpoints
                    .get(&d.endpoint_id)
                    .filter(|e| e.enabled)
                    .zip(events.get(&d.event_id));
                async move {
                    let result = match target {
                        Some((endpoint, event)) => self.send(endpoint, event, now).await,
                        None => None,
                    };
                    (d, result)
                }
            })
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        let mut endpoints = endpoints;
        let before = endpoints.clone();
        let mut records = Vec::with_capacity(n);
        let mut notices = Vec::new();
        for (d, result) in sent {
            let (attempt, delivery) = match result {
                Some(r) => {
                    self.metrics.delivery(match r.verdict {
                        Verdict::Delivered => DeliveryResult::delivered,
                        Verdict::Gone => DeliveryResult::gone,
                        Verdict::Failed | Verdict::Rejected => DeliveryResult::failed,
                    });
                    self.judge(d, r, now, &mut endpoints, &mut notices)
                }
                None => {
                    self.metrics.delivery(DeliveryResult::not_sent);
                    give_up(d, now)
                }
            };
            records.push((attempt, delivery));
        }
        let changed: Vec<Endpoint> = endpoints
            .into_values()
            .filter(|e| before.get(&e.id) != Some(e))
            .map(|mut e| {
                e.updated_at = now;
                e
            })
            .collect();
        in_transaction(self.store.as_ref(), move |tx| {
            Box::pin(async move {
                tx.finish_attempts(&records).await?;
                for e in &changed {
                    tx.update_endpoint(e).await?;
                }
                for e in &notices {
                    tx.append_outbox(e).await?;
                }
                Ok(())
            })
        })
        .await?;
        Ok(Pass {
            fanned,
            attempts: n,
        })
    }

    /// One attempt; `None` when there is nothing to send: a stream no longer requests the
    /// event, or its SET could not be signed.
    async fn send(
        &self,
        endpoint: &Endpoint,
        event: &OutboxEvent,
        now: Timestamp,
    ) -> Option<AttemptResult> {
        let Some(stream) = &endpoint.stream else {
            let secrets = self.signing_secrets(endpoint);
            let body = Body::Webhook {
                id: &event.id,
                timestamp: now.as_micros().div_euclid(1_000_000),
                json: event.payload.as_bytes(),
                secrets: &secrets,
            };
            return Some(
                self.deliverer
                    .send(Message {
                        url: &endpoint.url,
                        body,
                    })
                    .await,
            );
        };
        let set = self.security_event(endpoint, &stream.events_requested, event)?;
        let body = Body::SecurityEvent(&set);
        Some(
            self.deliverer
                .send(Message {
                    url: &endpoint.url,
                    body,
                })
                .await,
        )
    }

    /// The SET `event` becomes on `endpoint`'s stream, signed by the token key in force.
    fn security_event(
        &self,
        endpoint: &Endpoint,
        requested: &[String],
        event: &OutboxEvent,
    ) -> Option<String> {
        let tokens = crate::token_issuer::current(&self.tokens);
        let cx = SetContext {
            issuer: tokens.issuer(),
            audience: endpoint.account_id.as_str(),
            stream_id: endpoint.id.as_str(),
        };
        let claims = security_events::set_claims(event, requested, cx)?;
        match tokens.sign_compact(
            claims.to_string().as_bytes(),
            tg_tokens::Signed::SecurityEvent,
        ) {
            Ok(set) => Some(set),
            Err(e) => {
                tracing::error!(error = %tg_core::ErrorChain(&e), endpoint = %endpoint.id, "a security event token could not be signed");
                None
            }
        }
    }

    /// The delivery's next state after `result`, and what it does to its endpoint.
    fn judge(
        &self,
        mut d: Delivery,
        result: AttemptResult,
        now: Timestamp,
        endpoints: &mut HashMap<WebhookId, Endpoint>,
        notices: &mut Vec<OutboxEvent>,
    ) -> (Attempt, Delivery) {
        d.attempts = d.attempts.saturating_add(1);
        d.lease_until = None;
        d.last_status = result.status;
        d.last_error = result.error.clone();
        let attempt = Attempt {
            event_id: d.event_id.clone(),
            endpoint_id: d.endpoint_id.clone(),
            attempt: d.attempts,
            at: now,
            status_code: result.status,
            latency_ms: result.latency_ms,
            error: result.error.clone(),
        };
        let endpoint = endpoints.get_mut(&d.endpoint_id);
        match result.verdict {
            Verdict::Delivered => {
                d.status = DeliveryStatus::Delivered;
                d.delivered_at = Some(now);
                if let Some(e) = endpoint {
                    e.failing_since = None;
                }
            }
            Verdict::Gone => {
                d.status = DeliveryStatus::Failed;
                if let Some(e) = endpoint {
                    disable(e, "the receiver answered 410 Gone".into(), now, notices);
                }
            }
            Verdict::Rejected => d.status = DeliveryStatus::Failed,
            Verdict::Failed => {
                let retry_after = result
                    .retry_after
                    .as_deref()
                    .and_then(|v| parse_retry_after(v, now));
                match next_attempt(d.attempts, now, jitter(), retry_after) {
                    Some(at) => d.next_attempt_at = at,
                    None => d.status = DeliveryStatus::Failed,
                }
                if let Some(e) = endpoint {
                    let since = *e.failing_since.get_or_insert(now);
                    let limit =
                        i64::try_from(self.config.disable_after.as_micros()).unwrap_or(i64::MAX);
                    if e.enabled && now.as_micros().saturating_sub(since.as_micros()) >= limit {
                        let reason = format!(
                            "every attempt failed for {} hours",
                            self.config.disable_after.as_secs() / 3600
                        );
                        disable(e, reason, now, notices);
                    }
                }
            }
        }
        (attempt, d)
    }
}

fn disable(e: &mut Endpoint, reason: String, now: Timestamp, notices: &mut Vec<OutboxEvent>) {
    if !e.enabled {
        return;
    }
    e.enabled = false;
    e.disabled_reason = Some(reason.clone());
    tracing::warn!(endpoint = %e.id, %reason, "webhook endpoint disabled");
    notices.push(disabled_event(e, &reason, now));
}

/// A delivery whose endpoint is gone or disabled, or whose event is missing: failed, with
/// an attempt saying it was not sent.
fn give_up(mut d: Delivery, now: Timestamp) -> (Attempt, Delivery) {
    d.attempts = d.attempts.saturating_add(1);
    d.lease_until = None;
    d.status = DeliveryStatus::Failed;
    d.last_error = Some("endpoint disabled or deleted, event missing, or not requested".into());
    let attempt = Attempt {
        event_id: d.event_id.clone(),
        endpoint_id: d.endpoint_id.clone(),
        attempt: d.attempts,
        at: now,
        status_code: None,
        latency_ms: 0,
        error: Some(
            "not sent: endpoint disabled or deleted, event missing, or no longer requested by the stream"
                .into(),
        ),
    };
    (attempt, d)
}

/// `endpoint_disabled`, for the account's other endpoints (and the admin's).
pub(crate) fn disabled_event(endpoint: &Endpoint, reason: &str, now: Timestamp) -> OutboxEvent {
    OutboxEvent::new(
        EventKind::EndpointDisabled,
        Some(endpoint.account_id.clone()),
        None,
        json!({"endpoint_id": endpoint.id, "url": endpoint.url, "reason": reason}),
        now,
    )
}

fn jitter() -> f64 {
    let bytes = tg_core::random_bytes::<8>();
    (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64
}
