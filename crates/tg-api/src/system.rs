use actix_web::{HttpResponse, web};

use crate::auth::Auth;
use crate::routes::Routes;
use crate::{ApiError, AppState};
use tg_wire::system::{Bundles, ByResult, ByStatus, Health, InstanceStats, Ready, Stats};

pub(crate) fn routes(r: &mut Routes) {
    r.public()
        .get("/health", health)
        .public()
        .get("/ready", ready)
        .public()
        .get("/.well-known/jwks.json", jwks)
        .get("/stats", stats)
        .get("/admin/trust-bundles", trust_bundles)
        .post("/admin/trust-bundles/reload", reload_trust_bundles);
}

/// Liveness: the process answers. No key needed.
#[utoipa::path(get, path = "/health", tag = "system", operation_id = "health", security(()),
    responses((status = 200, description = "Alive", body = Health)))]
async fn health(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(Health {
        status: "healthy".to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        database: state.gateway.store().backend().to_owned(),
    })
}

/// Readiness: the store answers and is migrated.
#[utoipa::path(get, path = "/ready", tag = "system", operation_id = "ready", security(()),
    responses((status = 200, description = "Ready", body = Ready),
        (status = 503, description = "The store is unreachable or not migrated", body = crate::openapi::ErrorBody)))]
async fn ready(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    state
        .call(|g| async move {
            g.store()
                .ready()
                .await
                .map_err(tg_service::ServiceError::from)
        })
        .await?;
    Ok(HttpResponse::Ok().json(Ready {
        status: "ready".to_owned(),
    }))
}

/// The token-signing public keys (RFC 7517 JWK Set): verify tokens offline with them.
#[utoipa::path(get, path = "/.well-known/jwks.json", tag = "tokens", operation_id = "get_jwks",
    security(()),
    responses((status = 200, description = "JWK Set (OKP / Ed25519 keys, `kid`, `alg: EdDSA`)", body = Object)))]
async fn jwks(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "public, max-age=300"))
        .json(state.gateway.tokens().jwks())
}

/// Gateway-wide counters.
#[utoipa::path(get, path = "/stats", tag = "system", operation_id = "get_stats",
    responses((status = 200, description = "Counters", body = Stats), crate::openapi::Errors))]
async fn stats(state: web::Data<AppState>, _auth: Auth) -> Result<HttpResponse, ApiError> {
    let s = state.call(|g| async move { g.stats().await }).await?;
    let policy = state.call(|g| async move { g.policy().await }).await?;
    let trust_score_distribution = s.by_band(&policy.policy.tiers);
    Ok(HttpResponse::Ok().json(Stats {
        total_agents: s.total_agents,
        agents_by_status: ByStatus {
            active: s.active_agents,
            suspended: s.suspended_agents,
            revoked: s.revoked_agents,
        },
        agents_by_tier: s.tier_counts(),
        total_receipts: s.total_receipts,
        total_actions: s.total_receipts,
        recent_actions: s.recent_receipts,
        trust_score_distribution,
        actions_by_result: ByResult {
            success: s.successes,
            failure: s.failures,
            violation: s.violations,
        },
        average_score: s.average_score,
        instance: InstanceStats {
            dashboard_clients: state.gateway.live_clients(),
        },
    }))
}

/// The SPIFFE trust bundles X509-SVIDs and JWT-SVIDs are verified against.
#[utoipa::path(get, path = "/admin/trust-bundles", tag = "admin", operation_id = "list_trust_bundles",
    responses((status = 200, description = "Loaded bundles", body = Bundles), crate::openapi::Errors))]
async fn trust_bundles(state: web::Data<AppState>, auth: Auth) -> Result<HttpResponse, ApiError> {
    let bundles = state
        .call(move |g| async move { g.trust_bundles(&auth.principal) })
        .await?;
    Ok(HttpResponse::Ok().json(Bundles { bundles }))
}

/// Re-reads `TRUST_BUNDLE_DIR` now (changes are also picked up by a file watch).
#[utoipa::path(post, path = "/admin/trust-bundles/reload", tag = "admin", operation_id = "reload_trust_bundles",
    responses((status = 200, description = "Bundles after the reload", body = Bundles), crate::openapi::Errors))]
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
    Ok(HttpResponse::Ok().json(Bundles { bundles }))
}
