use actix_web::{HttpResponse, web};
use serde_json::json;
use tg_scoring::{ActionRule, TierEdit};
use tg_service::{PolicySnapshot, ServiceError};

use crate::auth::Auth;
use crate::{ApiError, AppState, dto};

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/tiers", web::get().to(tiers))
        .route("/tiers/{n}", web::put().to(put_tier))
        .route("/actions", web::get().to(actions))
        .route("/actions/{name}", web::put().to(put_action));
}

fn tiers_body(p: &PolicySnapshot) -> HttpResponse {
    HttpResponse::Ok().json(dto::Tiers {
        tiers: p.policy.tiers.bands(),
        version: p.version,
    })
}

async fn policy(state: &AppState) -> Result<PolicySnapshot, ApiError> {
    state.call(|g| async move { g.policy().await }).await
}

async fn tiers(state: web::Data<AppState>, _auth: Auth) -> Result<HttpResponse, ApiError> {
    Ok(tiers_body(&policy(&state).await?))
}

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
    let actions: Vec<_> = p
        .policy
        .catalog
        .entries()
        .into_iter()
        .map(|(name, r)| json!({"action": name, "required_tier": r.required_tier, "min_score": r.min_score}))
        .collect();
    HttpResponse::Ok().json(json!({"actions": actions, "version": p.version}))
}

async fn actions(state: web::Data<AppState>, _auth: Auth) -> Result<HttpResponse, ApiError> {
    Ok(actions_body(&policy(&state).await?))
}

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
