use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::auth::Auth;
use crate::{ApiError, AppState};

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/health", web::get().to(health))
        .route("/ready", web::get().to(ready))
        .route("/.well-known/jwks.json", web::get().to(jwks))
        .route("/stats", web::get().to(stats))
        .route("/admin/trust-bundles", web::get().to(trust_bundles))
        .route(
            "/admin/trust-bundles/reload",
            web::post().to(reload_trust_bundles),
        );
}

/// Liveness: the process answers. No key needed.
async fn health(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(json!({
        "status": "healthy",
        "version": env!("CARGO_PKG_VERSION"),
        "database": state.gateway.store().backend(),
    }))
}

/// Readiness: the store answers and is migrated.
async fn ready(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    state
        .call(|g| async move {
            g.store()
                .ready()
                .await
                .map_err(tg_service::ServiceError::from)
        })
        .await?;
    Ok(HttpResponse::Ok().json(json!({"status": "ready"})))
}

async fn jwks(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "public, max-age=300"))
        .json(state.gateway.tokens().jwks())
}

async fn stats(state: web::Data<AppState>, _auth: Auth) -> Result<HttpResponse, ApiError> {
    let s = state.call(|g| async move { g.stats().await }).await?;
    let by_tier: serde_json::Map<String, serde_json::Value> = s
        .agents_by_tier
        .iter()
        .map(|(t, n)| (t.to_string(), json!(n)))
        .collect();
    Ok(HttpResponse::Ok().json(json!({
        "total_agents": s.total_agents,
        "agents_by_status": {"active": s.active_agents, "suspended": s.suspended_agents, "revoked": s.revoked_agents},
        "agents_by_tier": by_tier,
        "total_receipts": s.total_receipts,
        "actions_by_result": {"success": s.successes, "failure": s.failures, "violation": s.violations},
        "average_score": s.average_score,
        "instance": {"dashboard_clients": state.gateway.live_clients()},
    })))
}

async fn trust_bundles(state: web::Data<AppState>, auth: Auth) -> Result<HttpResponse, ApiError> {
    let bundles = state
        .call(move |g| async move { g.trust_bundles(&auth.principal) })
        .await?;
    Ok(HttpResponse::Ok().json(json!({"bundles": bundles})))
}

/// Re-reads `TRUST_BUNDLE_DIR` now (changes are also picked up by a file watch).
async fn reload_trust_bundles(
    state: web::Data<AppState>,
    auth: Auth,
) -> Result<HttpResponse, ApiError> {
    let bundles = state
        .call(move |g| async move {
            g.trust_bundles(&auth.principal)?;
            g.reload_trust_bundles()
        })
        .await?;
    Ok(HttpResponse::Ok().json(json!({"bundles": bundles})))
}
