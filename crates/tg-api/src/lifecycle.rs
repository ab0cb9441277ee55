use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use tg_core::AgentId;
use tg_service::{Lifecycle, TokenRevocation};

use crate::auth::Auth;
use crate::ids::{AgentPath, PathId};
use crate::routes::Routes;
use crate::{ApiError, AppState, dto};
use tg_wire::lifecycle::{
    Introspection, IntrospectionRequest, ReasonRequest, RevocationRequest, RevokedToken,
};

pub(crate) fn routes(r: &mut Routes) {
    r.post("/agents/{id}/suspend", suspend)
        .post("/agents/{id}/reactivate", reactivate)
        .post("/agents/{id}/revoke", revoke)
        .post("/tokens/introspect", introspect)
        .post("/tokens/revoke", revoke_token);
}

async fn change(
    state: web::Data<AppState>,
    auth: Auth,
    id: AgentId,
    body: dto::RawBody,
    change: Lifecycle,
) -> Result<HttpResponse, ApiError> {
    // The body is optional; when present it must be `{"reason": "..."}`.
    let reason = dto::optional_json::<ReasonRequest>(&body)?.reason;
    let view = state
        .call(move |g| async move {
            g.change_status(&auth.principal, &auth.actor, &id, change, reason)
                .await
        })
        .await?;
    Ok(HttpResponse::Ok().json(dto::AgentOut::from(&view)))
}

/// Suspends the agent: every decision for it is denied until it is reactivated.
#[utoipa::path(post, path = "/agents/{id}/suspend", tag = "lifecycle", operation_id = "suspend_agent",
    params(crate::openapi::AgentPath), request_body(content = Option<ReasonRequest>, description = "Optional"),
    responses((status = 200, description = "The agent", body = dto::AgentOut), crate::openapi::Errors))]
async fn suspend(
    state: web::Data<AppState>,
    auth: Auth,
    PathId(id): AgentPath,
    body: dto::RawBody,
) -> Result<HttpResponse, ApiError> {
    change(state, auth, id, body, Lifecycle::Suspend).await
}

/// Reactivates a suspended agent.
#[utoipa::path(post, path = "/agents/{id}/reactivate", tag = "lifecycle", operation_id = "reactivate_agent",
    params(crate::openapi::AgentPath), request_body(content = Option<ReasonRequest>, description = "Optional"),
    responses((status = 200, description = "The agent", body = dto::AgentOut), crate::openapi::Errors))]
async fn reactivate(
    state: web::Data<AppState>,
    auth: Auth,
    PathId(id): AgentPath,
    body: dto::RawBody,
) -> Result<HttpResponse, ApiError> {
    change(state, auth, id, body, Lifecycle::Reactivate).await
}

/// Revokes the agent for good; its tokens stop introspecting as active.
#[utoipa::path(post, path = "/agents/{id}/revoke", tag = "lifecycle", operation_id = "revoke_agent",
    params(crate::openapi::AgentPath), request_body(content = Option<ReasonRequest>, description = "Optional"),
    responses((status = 200, description = "The agent", body = dto::AgentOut), crate::openapi::Errors))]
async fn revoke(
    state: web::Data<AppState>,
    auth: Auth,
    PathId(id): AgentPath,
    body: dto::RawBody,
) -> Result<HttpResponse, ApiError> {
    change(state, auth, id, body, Lifecycle::Revoke).await
}

/// A body sent as `application/x-www-form-urlencoded` (the OAuth token endpoints' form) or
/// as JSON; anything else is a 415, a bad body a 422.
fn form_or_json<T: serde::de::DeserializeOwned>(
    req: &HttpRequest,
    body: &[u8],
) -> Result<T, ApiError> {
    let content_type = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let invalid =
        |what: String| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_request", what);
    if content_type.starts_with("application/x-www-form-urlencoded") {
        serde_urlencoded::from_bytes(body).map_err(|e| invalid(format!("invalid form body: {e}")))
    } else if content_type.starts_with("application/json") {
        let value = serde_json::from_slice(body)
            .map_err(|e| invalid(format!("invalid request body: {e}")))?;
        dto::object_of(value)
    } else {
        Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the fields as application/x-www-form-urlencoded or JSON",
        ))
    }
}

/// Revokes one token of an agent (RFC 7009 style: `token=…`, or JSON `{"token"}` or
/// `{"jti", "agent_id"}`), by the agent's account or the operator (404 to others).
/// Introspection, witness reports and delegation hand-offs refuse it at once; offline
/// verifiers see it only at `exp`.
#[utoipa::path(post, path = "/tokens/revoke", tag = "tokens", operation_id = "revoke_token",
    request_body(content = RevocationRequest, content_type = "application/json",
        description = "The token, or its `jti` and `agent_id`; `token=…` form-encoded is accepted too"),
    responses((status = 200, description = "Revoked", body = RevokedToken),
        (status = 415, description = "Neither form nor JSON", body = crate::openapi::ErrorBody),
        crate::openapi::Errors))]
async fn revoke_token(
    state: web::Data<AppState>,
    auth: Auth,
    req: HttpRequest,
    body: dto::RawBody,
) -> Result<HttpResponse, ApiError> {
    let parsed: RevocationRequest = form_or_json(&req, &body)?;
    let what = match parsed {
        RevocationRequest {
            token: Some(token),
            jti: None,
            agent_id: None,
        } => TokenRevocation::Token(token),
        RevocationRequest {
            token: None,
            jti: Some(jti),
            agent_id: Some(agent_id),
        } => TokenRevocation::Jti { jti, agent_id },
        _ => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_request",
                "give `token`, or `jti` and `agent_id`",
            ));
        }
    };
    let r = state
        .call(move |g| async move { g.revoke_token(&auth.principal, &auth.actor, what).await })
        .await?;
    Ok(HttpResponse::Ok().json(RevokedToken {
        revoked: true,
        jti: r.jti,
        agent_id: r.agent_id.to_string(),
        expires_at: r.expires_at,
    }))
}

/// RFC 7662 introspection: `token=…` form-encoded, or `{"token": "…"}` as JSON.
#[utoipa::path(post, path = "/tokens/introspect", tag = "tokens", operation_id = "introspect_token",
    // Described as RFC 7662's form only: the same fields are accepted as JSON, but client
    // generators mishandle one schema under two media types.
    request_body(content = IntrospectionRequest, content_type = "application/x-www-form-urlencoded",
        description = "RFC 7662 form; `{\"token\": \"…\"}` as `application/json` is accepted too"),
    responses((status = 200, description = "Active or not", body = Introspection),
        (status = 415, description = "Neither form nor JSON", body = crate::openapi::ErrorBody),
        crate::openapi::Errors))]
async fn introspect(
    state: web::Data<AppState>,
    auth: Auth,
    req: HttpRequest,
    body: dto::RawBody,
) -> Result<HttpResponse, ApiError> {
    let parsed: IntrospectionRequest = form_or_json(&req, &body)?;
    let token = parsed.token;
    let result = state
        .call(move |g| async move { g.introspect(&auth.principal, &token).await })
        .await?;
    let body = match result.claims {
        Some(c) if result.active => Introspection {
            act: c.act_claim(),
            active: true,
            token_type: Some(crate::dpop::token_type(c.cnf_jkt.as_deref()).to_owned()),
            cnf: c
                .cnf_jkt
                .as_ref()
                .map(|jkt| serde_json::json!({ "jkt": jkt })),
            sub: Some(c.sub),
            iss: Some(c.iss),
            aud: Some(c.aud),
            jti: Some(c.jti),
            iat: c.iat,
            exp: Some(c.exp),
            name: c.name,
            tier: c.tier,
            trust_score: c.trust_score,
            permitted_actions: Some(c.permitted_actions),
            state_version: c.state_version,
        },
        _ => Introspection::default(),
    };
    Ok(HttpResponse::Ok().json(body))
}
