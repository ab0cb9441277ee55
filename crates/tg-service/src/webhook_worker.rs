//! Delivers the outbox: fans events out to subscribed endpoints, claims due deliveries
//! under a lease (so several instances share the work and a crashed one's claims come
//! back), sends them, and records every attempt. At least once: a delivery is marked done
//! only after its 2xx, so a crash in between sends it again with the same `webhook-id`.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use serde_json::json;
use tg_core::{AccountId, Clock, Timestamp};
use tg_webhooks::{
    Attempt, Deliverer, Delivery, DeliveryStatus, Endpoint, EventKind, Message, OutboxEvent,
    SigningSecret, UrlPolicy, Verdict, next_attempt, parse_retry_after,
};
use tokio::sync::Notify;

use crate::vouch_engine::Worker;
use crate::{ServiceError, Store, in_transaction, reading};

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

/// Deliveries attempted concurrently by one worker.
const CONCURRENCY: usize = 32;
const CLAIM: u32 = 256;
const FAN_OUT: u32 = 1000;

pub(crate) struct Dispatcher {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    deliverer: Deliverer,
    admin: AccountId,
    config: WebhookConfig,
    wake: Notify,
}

impl std::fmt::Debug for Dispatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dispatcher").finish_non_exhaustive()
    }
}

impl Dispatcher {
    pub(crate) fn start(
        config: WebhookConfig,
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        admin: AccountId,
    ) -> Result<(Arc<Self>, Worker), ServiceError> {
        let policy = Arc::new(UrlPolicy::new(config.allow.clone()));
        let deliverer = Deliverer::new(policy, config.timeout).map_err(ServiceError::Internal)?;
        let poll = config.poll;
        let dispatcher = Arc::new(Self {
            store,
            clock,
            deliverer,
            admin,
            config,
            wake: Notify::new(),
        });
        let Some(poll) = poll else {
            return Ok((dispatcher, Worker::none()));
        };
        let weak = Arc::downgrade(&dispatcher);
        let handle = tokio::spawn(async move {
            loop {
                let Some(d) = weak.upgrade() else { return };
                match d.run_once().await {
                    // More may be due: go again at once.
                    Ok(n) if n > 0 => continue,
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "webhook delivery pass failed"),
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

    pub(crate) fn wake(&self) {
        self.wake.notify_one();
    }

    /// One pass: fan out new events, then attempt every delivery due now. Returns the
    /// number of attempts made.
    pub(crate) async fn run_once(&self) -> Result<usize, ServiceError> {
        let now = self.clock.now();
        let admin = self.admin.clone();
        in_transaction(self.store.as_ref(), move |tx| {
            Box::pin(async move { Ok(tx.fan_out(&admin, now, FAN_OUT).await?) })
        })
        .await?;
        let lease = self
            .config
            .timeout
            .as_secs()
            .saturating_mul(2)
            .saturating_add(30);
        let lease_until = now.plus_secs(i64::try_from(lease).unwrap_or(i64::MAX));
        let due = in_transaction(self.store.as_ref(), move |tx| {
            Box::pin(async move { Ok(tx.claim_due(now, lease_until, CLAIM).await?) })
        })
        .await?;
        let n = due.len();
        let results: Vec<Result<(), ServiceError>> = futures_util::stream::iter(due)
            .map(|d| self.attempt(d))
            .buffer_unordered(CONCURRENCY)
            .collect()
            .await;
        for r in results {
            if let Err(e) = r {
                tracing::warn!(error = %e, "recording a webhook attempt failed");
            }
        }
        Ok(n)
    }

    async fn attempt(&self, mut d: Delivery) -> Result<(), ServiceError> {
        let (event_id, endpoint_id) = (d.event_id.clone(), d.endpoint_id.clone());
        let (endpoint, event) = reading(self.store.as_ref(), move |tx| {
            Box::pin(async move {
                Ok((
                    tx.get_endpoint(&endpoint_id).await?,
                    tx.outbox_event(&event_id).await?,
                ))
            })
        })
        .await?;
        let now = self.clock.now();
        d.attempts = d.attempts.saturating_add(1);
        d.lease_until = None;
        let (Some(mut endpoint), Some(event)) = (endpoint, event) else {
            return self
                .give_up(d, now, "endpoint or event no longer exists")
                .await;
        };
        if !endpoint.enabled {
            return self.give_up(d, now, "endpoint is disabled").await;
        }
        let secrets: Vec<SigningSecret> = endpoint
            .secrets
            .iter()
            .filter_map(|s| SigningSecret::parse(s).ok())
            .collect();
        let result = self
            .deliverer
            .send(Message {
                url: &endpoint.url,
                id: &event.id,
                timestamp: now.as_micros().div_euclid(1_000_000),
                body: event.payload.as_bytes(),
                secrets: &secrets,
            })
            .await;
        let attempt = Attempt {
            event_id: d.event_id.clone(),
            endpoint_id: d.endpoint_id.clone(),
            attempt: d.attempts,
            at: now,
            status_code: result.status,
            latency_ms: result.latency_ms,
            error: result.error.clone(),
        };
        d.last_status = result.status;
        d.last_error = result.error.clone();
        let mut disabled: Option<String> = None;
        let endpoint_before = endpoint.clone();
        match result.verdict {
            Verdict::Delivered => {
                d.status = DeliveryStatus::Delivered;
                d.delivered_at = Some(now);
                endpoint.failing_since = None;
            }
            Verdict::Gone => {
                d.status = DeliveryStatus::Failed;
                disabled = Some("the receiver answered 410 Gone".into());
            }
            Verdict::Failed => {
                let retry_after = result
                    .retry_after
                    .as_deref()
                    .and_then(|v| parse_retry_after(v, std::time::SystemTime::now()));
                match next_attempt(d.attempts, now, jitter(), retry_after) {
                    Some(at) => d.next_attempt_at = at,
                    None => d.status = DeliveryStatus::Failed,
                }
                let since = *endpoint.failing_since.get_or_insert(now);
                let limit =
                    i64::try_from(self.config.disable_after.as_micros()).unwrap_or(i64::MAX);
                if now.as_micros().saturating_sub(since.as_micros()) >= limit {
                    disabled = Some(format!(
                        "every attempt failed for {} hours",
                        self.config.disable_after.as_secs() / 3600
                    ));
                }
            }
        }
        let mut notice = None;
        if let Some(reason) = disabled {
            endpoint.enabled = false;
            endpoint.disabled_reason = Some(reason.clone());
            tracing::warn!(endpoint = %endpoint.id, %reason, "webhook endpoint disabled");
            notice = Some(disabled_event(&endpoint, &reason, now));
        }
        if endpoint != endpoint_before {
            endpoint.updated_at = now;
        }
        let changed = endpoint != endpoint_before;
        in_transaction(self.store.as_ref(), move |tx| {
            Box::pin(async move {
                tx.finish_attempt(&attempt, &d).await?;
                if changed {
                    tx.update_endpoint(&endpoint).await?;
                }
                if let Some(e) = notice {
                    tx.append_outbox(&e).await?;
                }
                Ok(())
            })
        })
        .await
    }

    async fn give_up(
        &self,
        mut d: Delivery,
        now: Timestamp,
        why: &str,
    ) -> Result<(), ServiceError> {
        d.status = DeliveryStatus::Failed;
        d.last_error = Some(why.to_owned());
        let attempt = Attempt {
            event_id: d.event_id.clone(),
            endpoint_id: d.endpoint_id.clone(),
            attempt: d.attempts,
            at: now,
            status_code: None,
            latency_ms: 0,
            error: Some(format!("not sent: {why}")),
        };
        in_transaction(self.store.as_ref(), move |tx| {
            Box::pin(async move { Ok(tx.finish_attempt(&attempt, &d).await?) })
        })
        .await
    }
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
