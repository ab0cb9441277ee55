//! A2A v1.0 AgentCards: `GET /agents/{id}/agent-card.json` (public) serves the signed card
//! of an agent with an A2A profile (built and signed by `Gateway::agent_card`). The owner
//! sets the profile with `PUT /agents/{id}/a2a` (or at registration) and removes it with
//! `DELETE`.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use tg_identity::A2aProfile;
use tg_wire::a2a::AgentCard;

use crate::auth::Auth;
use crate::ids::{AgentPath, PathId};
use crate::routes::Routes;
use crate::{ApiError, AppState, dto};

pub(crate) fn routes(r: &mut Routes) {
    // Public: agent cards are discoverable by design.
    r.public()
        .get("/agents/{id}/agent-card.json", card)
        .put("/agents/{id}/a2a", set_profile)
        .delete("/agents/{id}/a2a", clear_profile);
}

/// The agent's A2A v1.0 AgentCard, signed by the gateway. Public.
#[utoipa::path(get, path = "/agents/{id}/agent-card.json", tag = "agents", operation_id = "get_a2a_agent_card",
    security(()),
    params(crate::openapi::AgentPath),
    responses((status = 200, description = "The signed card (trust data in the `urn:trust-gateway:a2a:trust:v1` extension)", body = AgentCard),
        (status = 404, description = "No such agent, no A2A profile, or revoked", body = crate::openapi::ErrorBody)))]
async fn card(state: web::Data<AppState>, PathId(id): AgentPath) -> Result<HttpResponse, ApiError> {
    let body = state
        .call(move |g| async move { g.agent_card(&id).await })
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=60"))
        .json(body))
}

/// Sets the agent's A2A endpoint and self-description; its card is published from now.
#[utoipa::path(put, path = "/agents/{id}/a2a", tag = "agents", operation_id = "set_a2a_profile",
    params(crate::openapi::AgentPath), request_body = A2aProfile,
    responses((status = 200, description = "The agent", body = dto::AgentOut), crate::openapi::Errors))]
async fn set_profile(
    state: web::Data<AppState>,
    auth: Auth,
    PathId(id): AgentPath,
    body: crate::dto::Json<A2aProfile>,
) -> Result<HttpResponse, ApiError> {
    let (id, profile) = (id, body.into_inner());
    let view = state
        .call(move |g| async move {
            g.set_a2a_profile(&auth.principal, &auth.actor, &id, Some(profile))
                .await
        })
        .await?;
    Ok(HttpResponse::Ok().json(dto::AgentOut::from(&view)))
}

/// Removes the agent's A2A profile; its card is no longer served.
#[utoipa::path(delete, path = "/agents/{id}/a2a", tag = "agents", operation_id = "clear_a2a_profile",
    params(crate::openapi::AgentPath),
    responses((status = 200, description = "The agent", body = dto::AgentOut), crate::openapi::Errors))]
async fn clear_profile(
    state: web::Data<AppState>,
    auth: Auth,
    PathId(id): AgentPath,
) -> Result<HttpResponse, ApiError> {
    let view = state
        .call(move |g| async move {
            g.set_a2a_profile(&auth.principal, &auth.actor, &id, None)
                .await
        })
        .await?;
    Ok(HttpResponse::Ok().json(dto::AgentOut::from(&view)))
}
