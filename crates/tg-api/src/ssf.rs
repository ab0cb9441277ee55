//! Shared Signals (OpenID SSF 1.0): the transmitter metadata and the stream configuration
//! endpoint. SETs themselves are pushed by the webhook dispatcher.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use tg_service::{NewStream, StreamChange};
use tg_webhooks::Endpoint;
use tg_webhooks::security_events::PUSH_DELIVERY;
use tg_wire::ssf::{StreamConfiguration, StreamRequest, StreamUpdate, TransmitterConfiguration};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Auth;
use crate::ids::parse;
use crate::routes::Routes;
use crate::{ApiError, AppState};
use tg_core::WebhookKind;

pub(crate) fn routes(r: &mut Routes) {
    r.public()
        .get("/.well-known/ssf-configuration", configuration)
        .post("/ssf/streams", create)
        .get("/ssf/streams", read)
        .patch("/ssf/streams", update)
        .delete("/ssf/streams", delete);
}

/// `?stream_id=`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct StreamQuery {
    /// A stream of the caller's account; without it, reads list every stream.
    stream_id: Option<String>,
}

/// `?stream_id=` where it is required.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct StreamId {
    /// A stream of the caller's account.
    stream_id: String,
}

/// One stream (with `stream_id`) or all of the caller's.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
enum StreamRead {
    One(StreamConfiguration),
    All(Vec<StreamConfiguration>),
}

fn config(issuer: &str, stream: &Endpoint) -> Result<StreamConfiguration, ApiError> {
    StreamConfiguration::of(stream, issuer).ok_or_else(|| {
        tg_service::ServiceError::internal("a webhook endpoint read as a stream").into()
    })
}

/// The transmitter's metadata (SSF 1.0 §7): where streams are configured, how SETs are
/// delivered (push, RFC 8935), and the JWKS that verifies them. No key needed.
#[utoipa::path(get, path = "/.well-known/ssf-configuration", tag = "signals", operation_id = "get_ssf_configuration",
    security(()),
    responses((status = 200, description = "Transmitter configuration metadata", body = TransmitterConfiguration)))]
async fn configuration(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let base = crate::origin(&req);
    // Built from the host the caller reached (and the proxy's forwarding headers): not for
    // shared caches, where one caller's forwarded host would be served to others.
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-cache"))
        .json(TransmitterConfiguration {
            spec_version: "1_0".to_owned(),
            issuer: state.gateway.tokens().issuer().to_owned(),
            jwks_uri: format!("{base}/.well-known/jwks.json"),
            delivery_methods_supported: vec![PUSH_DELIVERY.to_owned()],
            configuration_endpoint: format!("{base}/ssf/streams"),
            default_subjects: "ALL".to_owned(),
        })
}

/// Creates a stream for the caller's account: SETs about its agents are pushed to
/// `delivery.endpoint_url` (RFC 8935) from the durable outbox, with retries.
#[utoipa::path(post, path = "/ssf/streams", tag = "signals", operation_id = "create_ssf_stream",
    request_body = StreamRequest,
    responses((status = 201, description = "The stream's configuration", body = StreamConfiguration), crate::openapi::Errors))]
async fn create(
    state: web::Data<AppState>,
    auth: Auth,
    body: crate::dto::Json<StreamRequest>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    let req = NewStream {
        method: b.delivery.method,
        endpoint_url: b.delivery.endpoint_url,
        events_requested: b.events_requested,
        description: b.description,
    };
    let stream = state
        .call(move |g| async move { g.create_stream(&auth.principal, req).await })
        .await?;
    Ok(HttpResponse::Created().json(config(state.gateway.tokens().issuer(), &stream)?))
}

/// One stream's configuration (`stream_id`), or every stream of the caller's account.
#[utoipa::path(get, path = "/ssf/streams", tag = "signals", operation_id = "read_ssf_streams",
    params(StreamQuery),
    responses((status = 200, description = "A stream's configuration, or a list of them", body = StreamRead), crate::openapi::Errors))]
async fn read(
    state: web::Data<AppState>,
    auth: Auth,
    q: web::Query<StreamQuery>,
) -> Result<HttpResponse, ApiError> {
    let answer = match q.into_inner().stream_id {
        Some(id) => {
            let id = parse::<WebhookKind>(&id)?;
            let s = state
                .call(move |g| async move { g.stream(&auth.principal, &id).await })
                .await?;
            StreamRead::One(config(state.gateway.tokens().issuer(), &s)?)
        }
        None => {
            let all = state
                .call(move |g| async move { g.streams(&auth.principal).await })
                .await?;
            let tokens = state.gateway.tokens();
            StreamRead::All(
                all.iter()
                    .map(|s| config(tokens.issuer(), s))
                    .collect::<Result<_, _>>()?,
            )
        }
    };
    Ok(HttpResponse::Ok().json(answer))
}

/// Changes a stream: only the properties given.
#[utoipa::path(patch, path = "/ssf/streams", tag = "signals", operation_id = "update_ssf_stream",
    request_body = StreamUpdate,
    responses((status = 200, description = "The stream's configuration", body = StreamConfiguration), crate::openapi::Errors))]
async fn update(
    state: web::Data<AppState>,
    auth: Auth,
    body: crate::dto::Json<StreamUpdate>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    let (method, endpoint_url) = b
        .delivery
        .map_or((None, None), |d| (Some(d.method), Some(d.endpoint_url)));
    let change = StreamChange {
        method,
        endpoint_url,
        events_requested: b.events_requested,
        description: b.description,
    };
    let id = parse::<WebhookKind>(&b.stream_id)?;
    let stream = state
        .call(move |g| async move { g.update_stream(&auth.principal, &id, change).await })
        .await?;
    Ok(HttpResponse::Ok().json(config(state.gateway.tokens().issuer(), &stream)?))
}

/// Deletes a stream; nothing more is pushed to it.
#[utoipa::path(delete, path = "/ssf/streams", tag = "signals", operation_id = "delete_ssf_stream",
    params(StreamId),
    responses((status = 204, description = "Deleted"), crate::openapi::Errors))]
async fn delete(
    state: web::Data<AppState>,
    auth: Auth,
    q: web::Query<StreamId>,
) -> Result<HttpResponse, ApiError> {
    let id = parse::<WebhookKind>(&q.into_inner().stream_id)?;
    state
        .call(move |g| async move { g.delete_stream(&auth.principal, &id).await })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
