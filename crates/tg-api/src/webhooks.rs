use actix_web::{HttpResponse, web};
use tg_core::{MessageId, Timestamp};
use tg_service::{NewWebhook, ServiceError, WebhookChange};
use utoipa::IntoParams;

use crate::auth::Auth;
use crate::ids::PathId;
use crate::routes::Routes;
use crate::{ApiError, AppState};
use tg_core::WebhookKind;
use tg_wire::webhooks::{
    AttemptPage, Deleted, EndpointOut, Queued, RecoverRequest, Requeued, WebhookRequest,
    WebhookUpdate,
};

pub(crate) fn routes(r: &mut Routes) {
    r.post("/config/webhooks", create)
        .get("/config/webhooks", list)
        .get("/config/webhooks/{id}", get)
        .patch("/config/webhooks/{id}", update)
        .delete("/config/webhooks/{id}", delete)
        .get("/config/webhooks/{id}/attempts", attempts)
        .post("/config/webhooks/{id}/deliveries/{event_id}/retry", retry)
        .post("/config/webhooks/{id}/recover", recover);
}

/// `{id}`: a webhook endpoint id.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // Describes the path; handlers take `web::Path<String>`.
struct EndpointPath {
    /// The endpoint's id (`wh_…`).
    id: String,
}

/// Adds a Standard Webhooks endpoint for the caller's account.
#[utoipa::path(post, path = "/config/webhooks", tag = "webhooks", operation_id = "create_webhook",
    request_body = WebhookRequest,
    responses((status = 201, description = "Created; `secret` holds the signing secret", body = EndpointOut), crate::openapi::Errors))]
async fn create(
    state: web::Data<AppState>,
    auth: Auth,
    body: crate::dto::Json<WebhookRequest>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    let req = NewWebhook {
        url: b.url,
        events: b.events,
        secret: b.secret.map(tg_core::Secret::new),
        enabled: b.enabled,
    };
    let s = state
        .call(move |g| async move { g.create_webhook(&auth.principal, req).await })
        .await?;
    Ok(HttpResponse::Created().json(EndpointOut::from(&s)))
}

/// The caller's endpoints, as a list (V2's shape).
#[utoipa::path(get, path = "/config/webhooks", tag = "webhooks", operation_id = "list_webhooks",
    responses((status = 200, description = "Endpoints", body = Vec<EndpointOut>), crate::openapi::Errors))]
async fn list(state: web::Data<AppState>, auth: Auth) -> Result<HttpResponse, ApiError> {
    let all = state
        .call(move |g| async move { g.webhooks(&auth.principal).await })
        .await?;
    let all: Vec<EndpointOut> = all.iter().map(EndpointOut::from).collect();
    Ok(HttpResponse::Ok().json(all))
}

/// One endpoint.
#[utoipa::path(get, path = "/config/webhooks/{id}", tag = "webhooks", operation_id = "get_webhook",
    params(EndpointPath),
    responses((status = 200, description = "The endpoint", body = EndpointOut), crate::openapi::Errors))]
async fn get(
    state: web::Data<AppState>,
    auth: Auth,
    PathId(id): PathId<WebhookKind>,
) -> Result<HttpResponse, ApiError> {
    let e = state
        .call(move |g| async move { g.webhook(&auth.principal, &id).await })
        .await?;
    Ok(HttpResponse::Ok().json(EndpointOut::from(&e)))
}

/// Changes an endpoint: URL, events, enabled, secret rotation.
#[utoipa::path(patch, path = "/config/webhooks/{id}", tag = "webhooks", operation_id = "update_webhook",
    params(EndpointPath), request_body = WebhookUpdate,
    responses((status = 200, description = "The endpoint (with `secret` after a rotation)", body = EndpointOut), crate::openapi::Errors))]
async fn update(
    state: web::Data<AppState>,
    auth: Auth,
    PathId(id): PathId<WebhookKind>,
    body: crate::dto::Json<WebhookUpdate>,
) -> Result<HttpResponse, ApiError> {
    let (id, b) = (id, body.into_inner());
    let change = WebhookChange {
        url: b.url,
        events: b.events,
        enabled: b.enabled,
        secret: b.secret.map(tg_core::Secret::new),
        rotate_secret: b.rotate_secret,
        expire_previous_secret: b.expire_previous_secret,
    };
    let s = state
        .call(move |g| async move { g.update_webhook(&auth.principal, &id, change).await })
        .await?;
    Ok(HttpResponse::Ok().json(EndpointOut::from(&s)))
}

/// Deletes an endpoint and its pending deliveries.
#[utoipa::path(delete, path = "/config/webhooks/{id}", tag = "webhooks", operation_id = "delete_webhook",
    params(EndpointPath),
    responses((status = 200, description = "Deleted", body = Deleted), crate::openapi::Errors))]
async fn delete(
    state: web::Data<AppState>,
    auth: Auth,
    PathId(id): PathId<WebhookKind>,
) -> Result<HttpResponse, ApiError> {
    let deleted = id.to_string();
    state
        .call(move |g| async move { g.delete_webhook(&auth.principal, &id).await })
        .await?;
    Ok(HttpResponse::Ok().json(Deleted {
        id: deleted,
        deleted: true,
    }))
}

/// Delivery attempts to the endpoint, newest first.
#[utoipa::path(get, path = "/config/webhooks/{id}/attempts", tag = "webhooks", operation_id = "list_webhook_attempts",
    params(EndpointPath, crate::dto::Page),
    responses((status = 200, description = "A page of attempts", body = AttemptPage), crate::openapi::Errors))]
async fn attempts(
    state: web::Data<AppState>,
    auth: Auth,
    PathId(id): PathId<WebhookKind>,
    q: web::Query<crate::dto::Page>,
) -> Result<HttpResponse, ApiError> {
    let (id, offset, limit) = (id, q.offset, q.limit);
    let items = state
        .call(move |g| async move {
            g.webhook_attempts(&auth.principal, &id, offset, limit)
                .await
        })
        .await?;
    let next = q.next_offset(items.len());
    Ok(HttpResponse::Ok().json(AttemptPage {
        attempts: items,
        next_offset: next,
    }))
}

/// Sends one delivery again now.
#[utoipa::path(post, path = "/config/webhooks/{id}/deliveries/{event_id}/retry", tag = "webhooks", operation_id = "retry_webhook_delivery",
    params(EndpointPath, ("event_id" = String, Path, description = "The delivery's `webhook-id`")),
    responses((status = 202, description = "Queued", body = Queued), crate::openapi::Errors))]
async fn retry(
    state: web::Data<AppState>,
    auth: Auth,
    PathId(id): PathId<WebhookKind>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (_, event_id) = path.into_inner();
    let event_id = MessageId::parse(&event_id).map_err(|_| ServiceError::no_delivery(&event_id))?;
    state
        .call(move |g| async move { g.retry_webhook(&auth.principal, &id, &event_id).await })
        .await?;
    Ok(HttpResponse::Accepted().json(Queued { queued: true }))
}

fn timestamp(field: &str, value: &str) -> Result<Timestamp, ApiError> {
    Timestamp::parse_rfc3339(value)
        .map_err(|e| ServiceError::Invalid(format!("`{field}`: {e}")).into())
}

/// Sends the endpoint's failed deliveries of a time range again (after an outage).
#[utoipa::path(post, path = "/config/webhooks/{id}/recover", tag = "webhooks", operation_id = "recover_webhook",
    params(EndpointPath), request_body = RecoverRequest,
    responses((status = 202, description = "Requeued", body = Requeued), crate::openapi::Errors))]
async fn recover(
    state: web::Data<AppState>,
    auth: Auth,
    PathId(path): PathId<WebhookKind>,
    body: crate::dto::Json<RecoverRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = path;
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
    Ok(HttpResponse::Accepted().json(Requeued { requeued: n }))
}
