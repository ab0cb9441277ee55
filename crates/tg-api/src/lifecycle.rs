use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::json;
use tg_service::Lifecycle;

use crate::auth::Auth;
use crate::{ApiError, AppState, MAX_BODY_BYTES, dto};

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/agents/{id}/suspend", web::post().to(suspend))
        .route("/agents/{id}/reactivate", web::post().to(reactivate))
        .route("/agents/{id}/revoke", web::post().to(revoke))
        .route("/tokens/introspect", web::post().to(introspect));
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReasonBody {
    reason: Option<String>,
}

async fn change(
    state: web::Data<AppState>,
    auth: Auth,
    id: String,
    body: web::Bytes,
    change: Lifecycle,
) -> Result<HttpResponse, ApiError> {
    // The body is optional; when present it must be `{"reason": "..."}`.
    let reason = dto::optional_json::<ReasonBody>(&body)?.reason;
    let view = state
        .call(move |g| async move {
            g.change_status(&auth.principal, &auth.actor, &id, change, reason)
                .await
        })
        .await?;
    Ok(HttpResponse::Ok().json(dto::agent(&view)))
}

async fn suspend(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    change(state, auth, id.into_inner(), body, Lifecycle::Suspend).await
}

async fn reactivate(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    change(state, auth, id.into_inner(), body, Lifecycle::Reactivate).await
}

async fn revoke(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    change(state, auth, id.into_inner(), body, Lifecycle::Revoke).await
}

#[derive(Debug, Deserialize)]
struct TokenBody {
    token: String,
}

/// RFC 7662: `token=…` form-encoded, or `{"token": "…"}` as JSON.
async fn introspect(
    state: web::Data<AppState>,
    auth: Auth,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "request body too large",
        ));
    }
    let content_type = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let invalid =
        |what: String| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_request", what);
    let parsed: TokenBody = if content_type.starts_with("application/x-www-form-urlencoded") {
        serde_urlencoded::from_bytes(&body)
            .map_err(|e| invalid(format!("invalid form body: {e}")))?
    } else if content_type.starts_with("application/json") {
        serde_json::from_slice(&body).map_err(|e| invalid(format!("invalid request body: {e}")))?
    } else {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send `token` as application/x-www-form-urlencoded or JSON",
        ));
    };
    let token = parsed.token;
    let result = state
        .call(move |g| async move { g.introspect(&auth.principal, &token).await })
        .await?;
    let body = match result.claims {
        Some(c) if result.active => json!({
            "active": true,
            "token_type": "Bearer",
            "sub": c.sub, "iss": c.iss, "aud": c.aud, "jti": c.jti, "iat": c.iat, "exp": c.exp,
            "name": c.name, "tier": c.tier, "trust_score": c.trust_score, "permitted_actions": c.permitted_actions,
        }),
        _ => json!({"active": false}),
    };
    Ok(HttpResponse::Ok().json(body))
}
