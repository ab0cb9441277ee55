use actix_web::{HttpResponse, web};
use tg_scoring::{ActionRule, TierEdit};
use tg_service::{PolicySnapshot, ServiceError};

use crate::auth::Auth;
use crate::routes::Routes;
use crate::{ApiError, AppState};
use tg_wire::policy::{ActionEntry, Catalog, POLICY_VERSION_HEADER, TierOut};

pub(crate) fn routes(r: &mut Routes) {
    r.get("/tiers", tiers)
        .put("/tiers/{n}", put_tier)
        .get("/actions", actions)
        .put("/actions/{name}", put_action);
}

fn tiers_body(p: &PolicySnapshot) -> HttpResponse {
    let tiers: Vec<TierOut> = p
        .policy
        .tiers
        .bands()
        .iter()
        .map(|b| TierOut::of(b, &p.policy.catalog))
        .collect();
    HttpResponse::Ok()
        .insert_header((POLICY_VERSION_HEADER, p.version.to_string()))
        .json(tiers)
}

async fn policy(state: &AppState) -> Result<PolicySnapshot, ApiError> {
    state.call(|g| async move { g.policy().await }).await
}

/// The tiers, lowest first: bands contiguous over [0, 1], with what each permits.
#[utoipa::path(get, path = "/tiers", tag = "policy", operation_id = "list_tiers",
    responses((status = 200, description = "Tiers", body = Vec<TierOut>,
        headers(("x-policy-version" = i64, description = "The policy version (bumped by every edit)"))),
        crate::openapi::Errors))]
async fn tiers(state: web::Data<AppState>, _auth: Auth) -> Result<HttpResponse, ApiError> {
    Ok(tiers_body(&policy(&state).await?))
}

/// Edits one tier; the neighbours' shared boundaries move with it. Takes V2's whole tier
/// object too: `permissions` then become exactly what the tier permits, by moving catalog
/// rules across its lower edge (an action it stops permitting goes up a tier, or leaves
/// the catalog above the top one). Operator admin only.
#[utoipa::path(put, path = "/tiers/{n}", tag = "policy", operation_id = "edit_tier",
    params(("n" = u8, Path, description = "Tier number")),
    request_body = tg_scoring::TierEdit,
    responses((status = 200, description = "The tier after the edit", body = TierOut,
        headers(("x-policy-version" = i64, description = "The policy version after the edit"))),
        crate::openapi::Errors))]
async fn put_tier(
    state: web::Data<AppState>,
    auth: Auth,
    n: web::Path<String>,
    body: crate::dto::Json<TierEdit>,
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
    let band = snapshot
        .policy
        .tiers
        .band(tier)
        .ok_or_else(|| ServiceError::NotFound(format!("tier `{tier}` does not exist")))?;
    Ok(HttpResponse::Ok()
        .insert_header((POLICY_VERSION_HEADER, snapshot.version.to_string()))
        .json(TierOut::of(band, &snapshot.policy.catalog)))
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
    body: crate::dto::Json<ActionRule>,
) -> Result<HttpResponse, ApiError> {
    let (name, rule) = (name.into_inner(), body.into_inner());
    let snapshot = state
        .call(move |g| async move { g.put_action(&auth.principal, &auth.actor, name, rule).await })
        .await?;
    Ok(actions_body(&snapshot))
}
