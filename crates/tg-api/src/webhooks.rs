use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};
use tg_core::Timestamp;
use tg_service::{NewWebhook, ServiceError, WebhookChange, WebhookSaved};
use tg_webhooks::Endpoint;

use crate::auth::Auth;
use crate::{ApiError, AppState};

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/config/webhooks", web::post().to(create))
        .route("/config/webhooks", web::get().to(list))
        .route("/config/webhooks/{id}", web::get().to(get))
        .route("/config/webhooks/{id}", web::patch().to(update))
        .route("/config/webhooks/{id}", web::delete().to(delete))
        .route("/config/webhooks/{id}/attempts", web::get().to(attempts))
        .route(
            "/config/webhooks/{id}/deliveries/{event_id}/retry",
            web::post().to(retry),
        )
        .route("/config/webhooks/{id}/recover", web::post().to(recover));
}

/// An endpoint; its secrets only ever appear once, in the answer that created them.
fn endpoint(e: &Endpoint) -> Value {
    json!({
        "id": e.id,
        "url": e.url,
        "events": e.events,
        "enabled": e.enabled,
        "disabled_reason": e.disabled_reason,
        "failing_since": e.failing_since,
        "signing_secrets": e.secrets.len(),
        "created_at": e.created_at,
        "updated_at": e.updated_at,
    })
}

fn saved(s: &WebhookSaved) -> Value {
    let mut v = endpoint(&s.endpoint);
    if let (Some(obj), Some(secret)) = (v.as_object_mut(), &s.secret) {
        obj.insert("secret".into(), json!(secret));
    }
    v
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    url: String,
    events: Vec<String>,
    secret: Option<String>,
    enabled: Option<bool>,
}

async fn create(
    state: web::Data<AppState>,
    auth: Auth,
    body: web::Json<CreateBody>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    let req = NewWebhook {
        url: b.url,
        events: b.events,
        secret: b.secret,
        enabled: b.enabled,
    };
    let s = state
        .call(move |g| async move { g.create_webhook(&auth.principal, req).await })
        .await?;
    Ok(HttpResponse::Created().json(saved(&s)))
}

async fn list(state: web::Data<AppState>, auth: Auth) -> Result<HttpResponse, ApiError> {
    let all = state
        .call(move |g| async move { g.webhooks(&auth.principal).await })
        .await?;
    Ok(HttpResponse::Ok().json(json!({"webhooks": all.iter().map(endpoint).collect::<Vec<_>>()})))
}

async fn get(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let e = state
        .call(move |g| async move { g.webhook(&auth.principal, &id).await })
        .await?;
    Ok(HttpResponse::Ok().json(endpoint(&e)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateBody {
    url: Option<String>,
    events: Option<Vec<String>>,
    enabled: Option<bool>,
    secret: Option<String>,
    #[serde(default)]
    rotate_secret: bool,
    #[serde(default)]
    expire_previous_secret: bool,
}

async fn update(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<String>,
    body: web::Json<UpdateBody>,
) -> Result<HttpResponse, ApiError> {
    let (id, b) = (id.into_inner(), body.into_inner());
    let change = WebhookChange {
        url: b.url,
        events: b.events,
        enabled: b.enabled,
        secret: b.secret,
        rotate_secret: b.rotate_secret,
        expire_previous_secret: b.expire_previous_secret,
    };
    let s = state
        .call(move |g| async move { g.update_webhook(&auth.principal, &id, change).await })
        .await?;
    Ok(HttpResponse::Ok().json(saved(&s)))
}

async fn delete(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let deleted = id.clone();
    state
        .call(move |g| async move { g.delete_webhook(&auth.principal, &id).await })
        .await?;
    Ok(HttpResponse::Ok().json(json!({"id": deleted, "deleted": true})))
}

async fn attempts(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<String>,
    q: web::Query<crate::dto::Page>,
) -> Result<HttpResponse, ApiError> {
    let (id, offset, limit) = (id.into_inner(), q.offset, q.limit);
    let items = state
        .call(move |g| async move {
            g.webhook_attempts(&auth.principal, &id, offset, limit)
                .await
        })
        .await?;
    let next = q.next_offset(items.len());
    Ok(HttpResponse::Ok().json(json!({"attempts": items, "next_offset": next})))
}

async fn retry(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (id, event_id) = path.into_inner();
    state
        .call(move |g| async move { g.retry_webhook(&auth.principal, &id, &event_id).await })
        .await?;
    Ok(HttpResponse::Accepted().json(json!({"queued": true})))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RecoverBody {
    /// RFC 3339.
    since: String,
    until: Option<String>,
}

fn timestamp(field: &str, value: &str) -> Result<Timestamp, ApiError> {
    Timestamp::parse_rfc3339(value)
        .map_err(|e| ServiceError::Invalid(format!("`{field}`: {e}")).into())
}

/// Sends the endpoint's failed deliveries of a time range again (after an outage).
async fn recover(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<String>,
    body: web::Json<RecoverBody>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let b = body.into_inner();
    let since = timestamp("since", &b.since)?;
    let until = b
        .until
        .as_deref()
        .map(|u| timestamp("until", u))
        .transpose()?;
    let n = state
        .call(move |g| async move { g.recover_webhook(&auth.principal, &id, since, until).await })
        .await?;
    Ok(HttpResponse::Accepted().json(json!({"requeued": n})))
}
