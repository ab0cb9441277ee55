use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::json;
use tg_identity::CHALLENGE_TTL_SECS;

use crate::auth::Auth;
use crate::{ApiError, AppState, dto};

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/agents/{id}/public-key", web::put().to(public_key))
        .route("/agents/{id}/challenge", web::post().to(challenge))
        .route("/agents/{id}/challenge/verify", web::post().to(verify))
        .route("/agents/{id}/config", web::post().to(report_config))
        .route(
            "/agents/{id}/config/approve",
            web::post().to(approve_config),
        );
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PublicKey {
    public_key: String,
    key_algorithm: String,
}

async fn public_key(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<String>,
    body: web::Json<PublicKey>,
) -> Result<HttpResponse, ApiError> {
    let (id, b) = (id.into_inner(), body.into_inner());
    let view = state
        .call(move |g| async move {
            g.set_public_key(
                &auth.principal,
                &auth.actor,
                &id,
                &b.public_key,
                &b.key_algorithm,
            )
            .await
        })
        .await?;
    Ok(HttpResponse::Ok().json(dto::agent(&view)))
}

async fn challenge(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let c = state
        .call(move |g| async move { g.issue_challenge(&auth.principal, &id).await })
        .await?;
    Ok(HttpResponse::Created().json(json!({
        "agent_id": c.agent_id,
        "nonce": c.nonce,
        "expires_at": c.expires_at,
        "ttl_seconds": CHALLENGE_TTL_SECS,
        "algorithm": "Ed25519",
        "sign": "the bytes of \"trust-gateway/ed25519-challenge/v1\\u0000\" followed by agent_id and nonce (UTF-8), no separators; send the 64-byte signature in base64",
    })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Answer {
    nonce: String,
    signature: String,
}

async fn verify(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<String>,
    body: web::Json<Answer>,
) -> Result<HttpResponse, ApiError> {
    let (id, b) = (id.into_inner(), body.into_inner());
    let view = state
        .call(move |g| async move {
            g.verify_challenge(&auth.principal, &auth.actor, &id, &b.nonce, &b.signature)
                .await
        })
        .await?;
    Ok(HttpResponse::Ok().json(dto::agent(&view)))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigBody {
    config_hash: Option<String>,
}

async fn update(
    state: web::Data<AppState>,
    auth: Auth,
    id: String,
    body: web::Bytes,
    approve: bool,
) -> Result<HttpResponse, ApiError> {
    let hash = dto::optional_json::<ConfigBody>(&body)?.config_hash;
    let view = state
        .call(move |g| async move {
            g.update_config(&auth.principal, &auth.actor, &id, hash.as_deref(), approve)
                .await
        })
        .await?;
    Ok(HttpResponse::Ok().json(dto::breakdown(&view)))
}

async fn report_config(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    update(state, auth, id.into_inner(), body, false).await
}

async fn approve_config(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    update(state, auth, id.into_inner(), body, true).await
}
