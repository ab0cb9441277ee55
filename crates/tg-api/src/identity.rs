use actix_web::{HttpResponse, web};
use tg_core::AgentId;
use tg_identity::CHALLENGE_TTL_SECS;

use crate::auth::Auth;
use crate::ids::{AgentPath, PathId};
use crate::routes::Routes;
use crate::{ApiError, AppState, dto};
use tg_wire::identity::{
    AttestationNonce, Challenge, ChallengeAnswer, ConfigHashRequest, PublicKeyRequest,
};

pub(crate) fn routes(r: &mut Routes) {
    r.post("/attestation/nonce", attestation_nonce)
        .put("/agents/{id}/public-key", public_key)
        .post("/agents/{id}/challenge", challenge)
        .post("/agents/{id}/challenge/verify", verify)
        .post("/agents/{id}/config", report_config)
        .post("/agents/{id}/config/approve", approve_config);
}

/// A single-use nonce (120 s) for this account: an X509-SVID's key signs its UTF-8 bytes
/// (ECDSA SHA-256 DER, RSA PKCS#1 v1.5 or PSS SHA-256, or Ed25519), and the x509
/// attestation carries `nonce` and `signature` (base64). Without that proof a certificate
/// counts as a self-declared claim.
#[utoipa::path(post, path = "/attestation/nonce", tag = "identity", operation_id = "issue_attestation_nonce",
    responses((status = 201, description = "The nonce", body = AttestationNonce),
        (status = 429, description = "Too many unanswered nonces", body = crate::openapi::ErrorBody),
        crate::openapi::Errors))]
async fn attestation_nonce(
    state: web::Data<AppState>,
    auth: Auth,
) -> Result<HttpResponse, ApiError> {
    let n = state
        .call(move |g| async move { g.issue_attestation_nonce(&auth.principal).await })
        .await?;
    Ok(HttpResponse::Created().json(AttestationNonce {
        nonce: n.nonce,
        expires_in: n.expires_in,
    }))
}

/// Registers (or replaces) the agent's Ed25519 public key; possession is proven by a
/// challenge.
#[utoipa::path(put, path = "/agents/{id}/public-key", tag = "identity", operation_id = "set_public_key",
    params(crate::openapi::AgentPath), request_body = PublicKeyRequest,
    responses((status = 200, description = "The agent", body = dto::AgentOut), crate::openapi::Errors))]
async fn public_key(
    state: web::Data<AppState>,
    auth: Auth,
    PathId(id): AgentPath,
    body: crate::dto::Json<PublicKeyRequest>,
) -> Result<HttpResponse, ApiError> {
    let (id, b) = (id, body.into_inner());
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
    Ok(HttpResponse::Ok().json(dto::AgentOut::from(&view)))
}

/// Issues a single-use nonce for the agent to sign with its key.
#[utoipa::path(post, path = "/agents/{id}/challenge", tag = "identity", operation_id = "issue_challenge",
    params(crate::openapi::AgentPath),
    responses((status = 201, description = "The challenge", body = Challenge), crate::openapi::Errors))]
async fn challenge(
    state: web::Data<AppState>,
    auth: Auth,
    PathId(id): AgentPath,
) -> Result<HttpResponse, ApiError> {
    let c = state
        .call(move |g| async move { g.issue_challenge(&auth.principal, &id).await })
        .await?;
    Ok(HttpResponse::Created().json(Challenge {
        agent_id: c.agent_id,
        nonce: c.nonce,
        expires_at: c.expires_at,
        ttl_seconds: CHALLENGE_TTL_SECS,
        algorithm: "Ed25519".to_owned(),
        sign: "the bytes of \"trust-gateway/ed25519-challenge/v1\\u0000\" followed by agent_id and nonce (UTF-8), no separators; send the 64-byte signature in base64".to_owned(),
    }))
}

/// Checks the signed nonce; on success the agent gets the `key_verified` badge.
#[utoipa::path(post, path = "/agents/{id}/challenge/verify", tag = "identity", operation_id = "verify_challenge",
    params(crate::openapi::AgentPath), request_body = ChallengeAnswer,
    responses((status = 200, description = "The agent", body = dto::AgentOut), crate::openapi::Errors))]
async fn verify(
    state: web::Data<AppState>,
    auth: Auth,
    PathId(id): AgentPath,
    body: crate::dto::Json<ChallengeAnswer>,
) -> Result<HttpResponse, ApiError> {
    let (id, b) = (id, body.into_inner());
    let view = state
        .call(move |g| async move {
            g.verify_challenge(&auth.principal, &auth.actor, &id, &b.nonce, &b.signature)
                .await
        })
        .await?;
    Ok(HttpResponse::Ok().json(dto::AgentOut::from(&view)))
}

async fn update(
    state: web::Data<AppState>,
    auth: Auth,
    id: AgentId,
    body: dto::RawBody,
    approve: bool,
) -> Result<HttpResponse, ApiError> {
    let hash = dto::optional_json::<ConfigHashRequest>(&body)?.config_hash;
    let view = state
        .call(move |g| async move {
            g.update_config(&auth.principal, &auth.actor, &id, hash.as_deref(), approve)
                .await
        })
        .await?;
    Ok(HttpResponse::Ok().json(dto::Breakdown::from(view)))
}

/// The agent reports its configuration hash; a hash other than the approved one is drift
/// and lowers the config factor.
#[utoipa::path(post, path = "/agents/{id}/config", tag = "identity", operation_id = "report_config",
    params(crate::openapi::AgentPath), request_body = tg_wire::identity::ConfigReport,
    responses((status = 200, description = "The breakdown after the report", body = dto::Breakdown), crate::openapi::Errors))]
async fn report_config(
    state: web::Data<AppState>,
    auth: Auth,
    PathId(id): AgentPath,
    body: dto::RawBody,
) -> Result<HttpResponse, ApiError> {
    update(state, auth, id, body, false).await
}

/// An operator approves a configuration hash (default: the one last reported).
#[utoipa::path(post, path = "/agents/{id}/config/approve", tag = "identity", operation_id = "approve_config",
    params(crate::openapi::AgentPath), request_body(content = Option<ConfigHashRequest>, description = "Optional"),
    responses((status = 200, description = "The breakdown after the approval", body = dto::Breakdown), crate::openapi::Errors))]
async fn approve_config(
    state: web::Data<AppState>,
    auth: Auth,
    PathId(id): AgentPath,
    body: dto::RawBody,
) -> Result<HttpResponse, ApiError> {
    update(state, auth, id, body, true).await
}
