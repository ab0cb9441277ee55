//! Webhook endpoint use cases (`/config/webhooks`, V2 shape) and manual retry.

use tg_access::{Principal, Scope};
use tg_core::{MessageId, Secret, Timestamp, WebhookId};
use tg_webhooks::{Attempt, DeliveryStatus, Endpoint, EventKind, SigningSecret};

use crate::trust_view::page_limit;
use crate::{Conflict, Gateway, ServiceError, in_transaction, reading};

/// Most endpoints per account.
pub const MAX_ENDPOINTS: usize = 50;

/// `POST /config/webhooks`.
#[derive(Debug, Clone)]
pub struct NewWebhook {
    pub url: String,
    pub events: Vec<String>,
    pub secret: Option<Secret<String>>,
    pub enabled: Option<bool>,
}

/// `PATCH /config/webhooks/{id}`: only what is given changes.
#[derive(Debug, Clone, Default)]
pub struct WebhookChange {
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    pub enabled: Option<bool>,
    /// A new secret (or `whsec_` generated when `rotate_secret`), signed with alongside
    /// the previous one until `expire_previous_secret`.
    pub secret: Option<Secret<String>>,
    pub rotate_secret: bool,
    pub expire_previous_secret: bool,
}

/// An endpoint, and a secret to show once (generated or rotated).
#[derive(Debug, Clone)]
pub struct WebhookSaved {
    pub endpoint: Endpoint,
    pub secret: Option<Secret<String>>,
    /// What the caller should fix, though it was accepted (a short V2 secret).
    pub warnings: Vec<String>,
}

/// Logs and returns the warning a given secret earns, if any.
fn secret_warnings(given: Option<&str>, account: &tg_core::AccountId) -> Vec<String> {
    let warning = given.and_then(tg_webhooks::weak_secret_warning);
    if let Some(w) = &warning {
        tracing::warn!(account = %account, "{w}");
    }
    warning.into_iter().collect()
}

fn events(raw: &[String]) -> Result<Vec<EventKind>, ServiceError> {
    if raw.is_empty() {
        return Err(ServiceError::Invalid(
            "`events` must name at least one event".into(),
        ));
    }
    let mut out = Vec::new();
    for e in raw {
        let kind = EventKind::parse(e).ok_or_else(|| {
            let known: Vec<&str> = EventKind::ALL.iter().map(|k| k.as_str()).collect();
            ServiceError::Invalid(format!("unknown event `{e}`; known: {}", known.join(", ")))
        })?;
        if !out.contains(&kind) {
            out.push(kind);
        }
    }
    Ok(out)
}

/// The secret to sign with, and the one to show (only a generated one).
fn secret(
    given: Option<Secret<String>>,
) -> Result<(Secret<String>, Option<Secret<String>>), ServiceError> {
    match given {
        Some(s) => {
            SigningSecret::parse(s.expose()).map_err(|e| ServiceError::Invalid(e.to_string()))?;
            Ok((s, None))
        }
        None => {
            let (form, _) = SigningSecret::generate();
            Ok((Secret::new(form.clone()), Some(Secret::new(form))))
        }
    }
}

/// Which endpoints a use case works on: webhooks (`/config/webhooks`) or Shared Signals
/// streams (`/ssf/streams`); neither API sees the other's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Delivered {
    Webhooks,
    SecurityEvents,
}

impl Delivered {
    fn holds(self, e: &Endpoint) -> bool {
        (self == Delivered::SecurityEvents) == e.stream.is_some()
    }
}

impl Gateway {
    pub(crate) async fn check_url(&self, url: &str) -> Result<(), ServiceError> {
        self.webhooks
            .policy()
            .check_url_resolved(url)
            .await
            .map(|_| ())
            .map_err(|e| ServiceError::Invalid(e.to_string()))
    }

    /// Creates an endpoint for the caller's account. Without a secret one is generated
    /// and returned once.
    pub async fn create_webhook(
        &self,
        principal: &Principal,
        req: NewWebhook,
    ) -> Result<WebhookSaved, ServiceError> {
        self.require(principal, Scope::Write)?;
        let kinds = events(&req.events)?;
        self.check_url(&req.url).await?;
        let given = req.secret.as_ref().map(|s| s.expose().as_str());
        let warnings = secret_warnings(given, &principal.account_id);
        let (plain, shown) = secret(req.secret)?;
        let now = self.now();
        let id = WebhookId::generate();
        let stored = self.webhooks.seal_secret(&id, plain.expose())?;
        let endpoint = Endpoint {
            id,
            account_id: principal.account_id.clone(),
            url: req.url,
            events: kinds,
            secrets: vec![stored],
            enabled: req.enabled.unwrap_or(true),
            disabled_reason: None,
            failing_since: None,
            created_at: now,
            updated_at: now,
            stream: None,
        };
        let saved = endpoint.clone();
        self.insert_endpoint(endpoint).await?;
        Ok(WebhookSaved {
            endpoint: saved,
            secret: shown,
            warnings,
        })
    }

    /// Saves a new endpoint or stream, within the account's [`MAX_ENDPOINTS`].
    pub(crate) async fn insert_endpoint(&self, endpoint: Endpoint) -> Result<(), ServiceError> {
        in_transaction(self.store.as_ref(), move |tx| {
            Box::pin(async move {
                let existing = tx.list_endpoints(Some(&endpoint.account_id)).await?;
                if existing.len() >= MAX_ENDPOINTS {
                    return Err(ServiceError::Conflict(Conflict::EndpointLimit(
                        MAX_ENDPOINTS,
                    )));
                }
                Ok(tx.insert_endpoint(&endpoint).await?)
            })
        })
        .await
    }

    /// The caller's endpoints (an admin's: every endpoint).
    pub async fn webhooks(&self, principal: &Principal) -> Result<Vec<Endpoint>, ServiceError> {
        self.endpoints(principal, Delivered::Webhooks).await
    }

    /// The caller's endpoints or streams (an admin's: every one).
    pub(crate) async fn endpoints(
        &self,
        principal: &Principal,
        kind: Delivered,
    ) -> Result<Vec<Endpoint>, ServiceError> {
        self.require(principal, Scope::Read)?;
        let account = (!principal.is_operator()).then(|| principal.account_id.clone());
        let all = reading(self.store.as_ref(), move |tx| {
            Box::pin(async move { Ok(tx.list_endpoints(account.as_ref()).await?) })
        })
        .await?;
        Ok(all.into_iter().filter(|e| kind.holds(e)).collect())
    }

    /// One endpoint of the caller's account (404 for others').
    pub async fn webhook(
        &self,
        principal: &Principal,
        id: &WebhookId,
    ) -> Result<Endpoint, ServiceError> {
        self.endpoint(principal, id, Delivered::Webhooks).await
    }

    /// One endpoint or stream of the caller's account: 404 for another account's, an
    /// unknown id, or the other kind.
    pub(crate) async fn endpoint(
        &self,
        principal: &Principal,
        id: &WebhookId,
        kind: Delivered,
    ) -> Result<Endpoint, ServiceError> {
        self.require(principal, Scope::Read)?;
        let wid = id.clone();
        let principal = principal.clone();
        reading(self.store.as_ref(), move |tx| {
            Box::pin(async move {
                match tx.get_endpoint(&wid).await? {
                    Some(e) if principal.sees(&e.account_id) && kind.holds(&e) => Ok(e),
                    _ => Err(ServiceError::not_found("webhook", wid.as_str())),
                }
            })
        })
        .await
    }

    pub async fn update_webhook(
        &self,
        principal: &Principal,
        id: &WebhookId,
        change: WebhookChange,
    ) -> Result<WebhookSaved, ServiceError> {
        self.require(principal, Scope::Write)?;
        let kinds = change.events.as_deref().map(events).transpose()?;
        if let Some(url) = &change.url {
            self.check_url(url).await?;
        }
        let given = change.secret.as_ref().map(|s| s.expose().as_str());
        let warnings = secret_warnings(given, &principal.account_id);
        let new_secret = if change.secret.is_some() || change.rotate_secret {
            Some(secret(change.secret.clone())?)
        } else {
            None
        };
        let mut endpoint = self.webhook(principal, id).await?;
        let now = self.now();
        if let Some(url) = change.url {
            endpoint.url = url;
        }
        if let Some(k) = kinds {
            endpoint.events = k;
        }
        if let Some(enabled) = change.enabled {
            if enabled && !endpoint.enabled {
                endpoint.disabled_reason = None;
                endpoint.failing_since = None;
            }
            if !enabled && endpoint.enabled {
                endpoint.disabled_reason = Some("disabled by the account".into());
            }
            endpoint.enabled = enabled;
        }
        let mut shown = None;
        if let Some((plain, generated)) = new_secret {
            let stored = self.webhooks.seal_secret(&endpoint.id, plain.expose())?;
            let previous = endpoint.secrets.first().cloned();
            endpoint.secrets = std::iter::once(stored).chain(previous).collect();
            shown = generated;
        }
        if change.expire_previous_secret {
            endpoint.secrets.truncate(1);
        }
        endpoint.updated_at = now;
        let saved = endpoint.clone();
        in_transaction(self.store.as_ref(), move |tx| {
            Box::pin(async move { Ok(tx.update_endpoint(&endpoint).await?) })
        })
        .await?;
        self.webhooks.wake();
        Ok(WebhookSaved {
            endpoint: saved,
            secret: shown,
            warnings,
        })
    }

    pub async fn delete_webhook(
        &self,
        principal: &Principal,
        id: &WebhookId,
    ) -> Result<(), ServiceError> {
        self.require(principal, Scope::Write)?;
        let endpoint = self.webhook(principal, id).await?;
        in_transaction(self.store.as_ref(), move |tx| {
            Box::pin(async move { Ok(tx.delete_endpoint(&endpoint.id).await?) })
        })
        .await
    }

    /// Delivery attempts to an endpoint, newest first.
    pub async fn webhook_attempts(
        &self,
        principal: &Principal,
        id: &WebhookId,
        offset: u32,
        limit: u32,
    ) -> Result<Vec<Attempt>, ServiceError> {
        let limit = page_limit(limit)?;
        let endpoint = self.webhook(principal, id).await?;
        reading(self.store.as_ref(), move |tx| {
            Box::pin(async move { Ok(tx.list_attempts(&endpoint.id, offset, limit).await?) })
        })
        .await
    }

    /// Sends an event to an endpoint again now (a failed delivery gets one more attempt;
    /// a delivered one is sent again, with the same `webhook-id`).
    pub async fn retry_webhook(
        &self,
        principal: &Principal,
        id: &WebhookId,
        event_id: &MessageId,
    ) -> Result<(), ServiceError> {
        self.require(principal, Scope::Write)?;
        let endpoint = self.webhook(principal, id).await?;
        if !endpoint.enabled {
            return Err(ServiceError::Conflict(Conflict::EndpointDisabled));
        }
        let now: Timestamp = self.now();
        let event_id = event_id.clone();
        in_transaction(self.store.as_ref(), move |tx| {
            Box::pin(async move {
                let mut d = tx
                    .get_delivery(event_id.as_str(), &endpoint.id)
                    .await?
                    .ok_or_else(|| ServiceError::no_delivery(event_id.as_str()))?;
                if d.status == DeliveryStatus::Pending && d.lease_until.is_some_and(|l| l > now) {
                    return Err(ServiceError::Conflict(Conflict::DeliveryInFlight));
                }
                d.status = DeliveryStatus::Pending;
                d.next_attempt_at = now;
                d.lease_until = None;
                Ok(tx.requeue_delivery(&d).await?)
            })
        })
        .await?;
        self.webhooks.wake();
        Ok(())
    }

    /// Recovery after an outage: sends every failed delivery to this endpoint created in
    /// `[since, until)` (`until` defaults to now) again, with its `webhook-id`. Returns how
    /// many were queued.
    pub async fn recover_webhook(
        &self,
        principal: &Principal,
        id: &WebhookId,
        since: Timestamp,
        until: Option<Timestamp>,
    ) -> Result<u64, ServiceError> {
        self.require(principal, Scope::Write)?;
        let endpoint = self.webhook(principal, id).await?;
        if !endpoint.enabled {
            return Err(ServiceError::Conflict(Conflict::EndpointDisabled));
        }
        let now = self.now();
        let until = until.unwrap_or(now);
        if since >= until {
            return Err(ServiceError::Invalid(
                "`since` must be earlier than `until` (or now)".into(),
            ));
        }
        let n = in_transaction(self.store.as_ref(), move |tx| {
            Box::pin(async move { Ok(tx.requeue_failed(&endpoint.id, since, until, now).await?) })
        })
        .await?;
        if n > 0 {
            self.webhooks.wake();
        }
        Ok(n)
    }

    /// Runs one delivery pass now (the worker's job; for operators and tests). Returns the
    /// number of attempts made.
    pub async fn deliver_webhooks(&self) -> Result<usize, ServiceError> {
        self.webhooks.run_once().await
    }
}
