//! Shared Signals streams (OpenID SSF 1.0 §8): an account's receivers of Security Event
//! Tokens. A stream is a webhook endpoint with a stream configuration, so it is delivered
//! from the same durable outbox, under the same SSRF guard, retries and disabling; only
//! the body differs (a SET pushed per RFC 8935, signed by the token key).
//!
//! Who may call: `read` keys list and read their account's streams, `write` keys create,
//! change and delete them; the operator sees every account's. Another account's stream is
//! a 404, as is a webhook id here (and a stream id under `/config/webhooks`).

use tg_access::{Principal, Scope};
use tg_core::WebhookId;
use tg_webhooks::security_events::{PUSH_DELIVERY, kinds_for};
use tg_webhooks::{Endpoint, SetStream};

use crate::webhooks::Delivered;
use crate::{Gateway, ServiceError, in_transaction};

/// Most event types a stream may request.
pub const MAX_EVENTS_REQUESTED: usize = 32;
const MAX_EVENT_TYPE_LEN: usize = 256;
const MAX_DESCRIPTION_CHARS: usize = 500;

/// `POST /ssf/streams`: what the receiver supplies.
#[derive(Debug, Clone)]
pub struct NewStream {
    /// `delivery.method`: only push (`urn:ietf:rfc:8935`).
    pub method: String,
    /// `delivery.endpoint_url`.
    pub endpoint_url: String,
    pub events_requested: Vec<String>,
    pub description: Option<String>,
}

/// `PATCH /ssf/streams`: only what is given changes.
#[derive(Debug, Clone, Default)]
pub struct StreamChange {
    pub method: Option<String>,
    pub endpoint_url: Option<String>,
    pub events_requested: Option<Vec<String>>,
    pub description: Option<String>,
}

fn method(m: &str) -> Result<(), ServiceError> {
    if m == PUSH_DELIVERY {
        return Ok(());
    }
    Err(ServiceError::Invalid(format!(
        "`delivery.method` must be `{PUSH_DELIVERY}` (push); poll delivery is not offered"
    )))
}

fn requested(events: Vec<String>) -> Result<Vec<String>, ServiceError> {
    if events.len() > MAX_EVENTS_REQUESTED {
        return Err(ServiceError::Invalid(format!(
            "`events_requested` names at most {MAX_EVENTS_REQUESTED} event types"
        )));
    }
    let mut out: Vec<String> = Vec::with_capacity(events.len());
    for e in events {
        if e.is_empty() || e.chars().count() > MAX_EVENT_TYPE_LEN || e.chars().any(char::is_control)
        {
            return Err(ServiceError::Invalid(format!(
                "each of `events_requested` is a URI of 1–{MAX_EVENT_TYPE_LEN} characters"
            )));
        }
        if !out.contains(&e) {
            out.push(e);
        }
    }
    Ok(out)
}

fn description(d: Option<String>) -> Result<Option<String>, ServiceError> {
    if d.as_ref()
        .is_some_and(|d| d.chars().count() > MAX_DESCRIPTION_CHARS)
    {
        return Err(ServiceError::Invalid(format!(
            "`description` must be at most {MAX_DESCRIPTION_CHARS} characters"
        )));
    }
    Ok(d)
}

impl Gateway {
    /// Creates a stream for the caller's account. Event types the gateway does not send
    /// are kept as requested but not delivered (`events_delivered` leaves them out).
    pub async fn create_stream(
        &self,
        principal: &Principal,
        req: NewStream,
    ) -> Result<Endpoint, ServiceError> {
        self.require(principal, Scope::Write)?;
        method(&req.method)?;
        let events_requested = requested(req.events_requested)?;
        let description = description(req.description)?;
        self.check_url(&req.endpoint_url).await?;
        let now = self.now();
        let stream = Endpoint {
            id: WebhookId::generate(),
            account_id: principal.account_id.clone(),
            url: req.endpoint_url,
            events: kinds_for(&events_requested),
            secrets: Vec::new(),
            enabled: true,
            disabled_reason: None,
            failing_since: None,
            created_at: now,
            updated_at: now,
            stream: Some(SetStream {
                events_requested,
                description,
            }),
        };
        self.insert_endpoint(stream.clone()).await?;
        Ok(stream)
    }

    /// The caller's streams (the operator's: every account's).
    pub async fn streams(&self, principal: &Principal) -> Result<Vec<Endpoint>, ServiceError> {
        self.endpoints(principal, Delivered::SecurityEvents).await
    }

    /// One stream of the caller's account (404 for anything else).
    pub async fn stream(
        &self,
        principal: &Principal,
        id: &WebhookId,
    ) -> Result<Endpoint, ServiceError> {
        self.endpoint(principal, id, Delivered::SecurityEvents)
            .await
    }

    pub async fn update_stream(
        &self,
        principal: &Principal,
        id: &WebhookId,
        change: StreamChange,
    ) -> Result<Endpoint, ServiceError> {
        self.require(principal, Scope::Write)?;
        if let Some(m) = &change.method {
            method(m)?;
        }
        let events = change.events_requested.map(requested).transpose()?;
        let new_description = description(change.description)?;
        if let Some(url) = &change.endpoint_url {
            self.check_url(url).await?;
        }
        let mut stream = self.stream(principal, id).await?;
        let mut config = stream.stream.clone().unwrap_or_else(|| SetStream {
            events_requested: Vec::new(),
            description: None,
        });
        if let Some(url) = change.endpoint_url {
            stream.url = url;
        }
        if let Some(events) = events {
            stream.events = kinds_for(&events);
            config.events_requested = events;
        }
        if new_description.is_some() {
            config.description = new_description;
        }
        stream.stream = Some(config);
        stream.updated_at = self.now();
        let saved = stream.clone();
        in_transaction(self.store.as_ref(), move |tx| {
            Box::pin(async move { Ok(tx.update_endpoint(&stream).await?) })
        })
        .await?;
        self.webhooks.wake();
        Ok(saved)
    }

    /// Deletes a stream; what was queued for it is marked failed.
    pub async fn delete_stream(
        &self,
        principal: &Principal,
        id: &WebhookId,
    ) -> Result<(), ServiceError> {
        self.require(principal, Scope::Write)?;
        let stream = self.stream(principal, id).await?;
        in_transaction(self.store.as_ref(), move |tx| {
            Box::pin(async move { Ok(tx.delete_endpoint(&stream.id).await?) })
        })
        .await
    }
}
