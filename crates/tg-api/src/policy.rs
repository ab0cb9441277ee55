use actix_web::{HttpResponse, web};
use tg_scoring::{ActionRule, TierEdit};
use tg_service::{PolicySnapshot, ServiceError};

use crate::auth::Auth;
use crate::routes::Routes;
use crate::{ApiError, AppState, dto};
use tg_wire::policy::{ActionEntry, Catalog};

pub(crate) fn routes(r: &mut Routes) {
    r.get("/tiers", tiers)
        .put("/tiers/{n}", put_tier)
        .get("/actions", actions)
        .put("/actions/{name}", put_action);
}

fn tiers_body(p: &PolicySnapshot) -> HttpResponse {
    HttpResponse::Ok().json(dto::Tiers {
        tiers: p.policy.tiers.bands().to_vec(),
        version: p.version,
    })
}

async fn policy(state: &AppState) -> Result<PolicySnapshot, ApiError> {
    state.call(|g| async move { g.policy().await }).await
}

/// The tier bands, contiguous over [0, 1].
#[utoipa::path(get, path = "/tiers", tag = "policy", operation_id = "list_tiers",
    responses((status = 200, description = "Tiers", body = dto::Tiers), crate::openapi::Errors))]
async fn tiers(state: web::Data<AppState>, _auth: Auth) -> Result<HttpResponse, ApiError> {
    Ok(tiers_body(&policy(&state).await?))
}

/// Edits one band; the neighbours' shared boundaries move with it. Admin only.
#[utoipa::path(put, path = "/tiers/{n}", tag = "policy", operation_id = "edit_tier",
    params(("n" = u8, Path, description = "Tier number")),
    request_body = tg_scoring::TierEdit,
    responses((status = 200, description = "Tiers after the edit", body = dto::Tiers), crate::openapi::Errors))]
async fn put_tier(
    state: web::Data<AppState>,
    auth: Auth,
    n: web::Path<String>,
    body: web::Json<TierEdit>,
) -> Result<HttpResponse, ApiError> {
    let tier: u8 = n.parse().map_err(|_| {
        ServiceError::NotFound(format!(
            "tier `{}` does not exist",
            n.chars().take(16).collect::<String>()
        ))
    })?;
    let edit = body.into_inner();
    let snapshot = state
        .call(move |g| async move {
            g.edit_tier(&auth.principal, &auth.actor, tier, edit)
                .await
                .map_err(|e| match e {
                    ServiceError::Invalid(m)
                        if m.starts_with("tier ") && m.ends_with("does not exist") =>
                    {
                        ServiceError::NotFound(m)
                    }
                    other => other,
                })
        })
        .await?;
    Ok(tiers_body(&snapshot))
}

fn actions_body(p: &PolicySnapshot) -> HttpResponse {
    let actions = p
        .policy
        .catalog
        .entries()
        .into_iter()
        .map(|(name, r)| ActionEntry {
            action: name.to_owned(),
            required_tier: r.required_tier,
            min_score: r.min_score,
        })
        .collect();
    HttpResponse::Ok().json(Catalog {
        actions,
        version: p.version,
    })
}

/// The action catalog.
#[utoipa::path(get, path = "/actions", tag = "policy", operation_id = "list_actions",
    responses((status = 200, description = "The catalog", body = Catalog), crate::openapi::Errors))]
async fn actions(state: web::Data<AppState>, _auth: Auth) -> Result<HttpResponse, ApiError> {
    Ok(actions_body(&policy(&state).await?))
}

/// Adds or replaces an action's rule. Admin only.
#[utoipa::path(put, path = "/actions/{name}", tag = "policy", operation_id = "put_action",
    params(("name" = String, Path, description = "Action name: 1–64 of a-z, 0-9, `_`, `.`, `-`")),
    request_body = tg_scoring::ActionRule,
    responses((status = 200, description = "The catalog after the change", body = Catalog), crate::openapi::Errors))]
async fn put_action(
    state: web::Data<AppState>,
    auth: Auth,
    name: web::Path<String>,
    body: web::Json<ActionRule>,
) -> Result<HttpResponse, ApiError> {
    let (name, rule) = (name.into_inner(), body.into_inner());
    let snapshot = state
        .call(move |g| async move { g.put_action(&auth.principal, &auth.actor, name, rule).await })
        .await?;
    Ok(actions_body(&snapshot))
}
