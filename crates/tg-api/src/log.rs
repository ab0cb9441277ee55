//! `/log/...`: the transparency log (docs/LOG.md). Reading it is public — it holds receipt
//! hashes only, no agent, account or action — so monitors, witnesses and tool servers
//! need no key. Witnesses post cosignatures, which are checked against configured keys;
//! rotating the checkpoint key is the operator's.

use actix_web::{HttpResponse, web};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use tg_log::TilePath;
use tg_service::ServiceError;
use tg_wire::log::{
    ConsistencyProofOut, ConsistencyQuery, CosignatureRequest, CosignedOut, InclusionProofOut,
    InclusionQuery, LogKey, LogRoundOut,
};

use crate::auth::Auth;
use crate::dto;
use crate::routes::Routes;
use crate::{ApiError, AppState};

/// Every path under it is public.
/// The tile route's pattern: the rest of the path is a C2SP tile path.
pub(crate) const TILE_ROUTE: &str = "/log/tile/{path:.*}";

pub(crate) fn routes(r: &mut Routes) {
    // Anyone audits the log, and a witness cosigns with its own key: no API key.
    r.public()
        .get("/log/checkpoint", checkpoint)
        .public()
        .get("/log/checkpoint/witnessed", witnessed_checkpoint)
        .public()
        .get("/log/key", key)
        .public()
        .get("/log/proof/inclusion", inclusion)
        .public()
        .get("/log/proof/consistency", consistency)
        .public()
        .get(TILE_ROUTE, tile)
        .public()
        .post("/log/cosignature", cosignature)
        .post("/admin/log/keys", rotate_key)
        .post("/admin/log/integrate", integrate);
}

fn note(body: String) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .insert_header(("Cache-Control", "no-cache"))
        .body(body)
}

/// The newest checkpoint: a C2SP signed note (`<origin>\n<size>\n<base64 root>\n\n— <name>
/// <base64(key id ‖ Ed25519 signature)>\n`), with the cosignatures witnesses gave it.
#[utoipa::path(get, path = "/log/checkpoint", tag = "log", operation_id = "get_log_checkpoint",
    security(()),
    responses((status = 200, description = "The signed checkpoint", content_type = "text/plain", body = String),
        crate::openapi::PublicErrors))]
async fn checkpoint(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let text = state
        .call(|g| async move { g.log_checkpoint(false).await })
        .await?;
    Ok(note(text))
}

/// The newest checkpoint that witnesses have cosigned (tlog-cosignature), with their
/// cosignatures; 404 until one has.
#[utoipa::path(get, path = "/log/checkpoint/witnessed", tag = "log", operation_id = "get_witnessed_log_checkpoint",
    security(()),
    responses((status = 200, description = "The cosigned checkpoint", content_type = "text/plain", body = String),
        crate::openapi::PublicErrors))]
async fn witnessed_checkpoint(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let text = state
        .call(|g| async move { g.log_checkpoint(true).await })
        .await?;
    Ok(note(text))
}

/// The checkpoint origin and verifier keys (C2SP vkeys), and the accepted witnesses.
#[utoipa::path(get, path = "/log/key", tag = "log", operation_id = "get_log_key",
    security(()),
    responses((status = 200, description = "The log's keys", body = LogKey), crate::openapi::PublicErrors))]
async fn key(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let k = state.call(|g| async move { g.log_key().await }).await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "public, max-age=60"))
        .json(log_key(&k)))
}

fn log_key(k: &tg_service::LogKeyView) -> LogKey {
    LogKey {
        origin: k.origin.clone(),
        vkey: k.vkey.clone(),
        vkeys: k.vkeys.clone(),
        witnesses: k.witnesses.clone(),
    }
}

fn b64_all(hashes: &[[u8; 32]]) -> Vec<String> {
    hashes.iter().map(|h| B64.encode(h)).collect()
}

/// The inclusion proof (RFC 9162 §2.1.3) of a leaf in the tree of `tree_size` leaves.
/// 404 when no such leaf is in that tree.
#[utoipa::path(get, path = "/log/proof/inclusion", tag = "log", operation_id = "get_log_inclusion_proof",
    security(()), params(InclusionQuery),
    responses((status = 200, description = "The audit path", body = InclusionProofOut), crate::openapi::PublicErrors))]
async fn inclusion(
    state: web::Data<AppState>,
    q: web::Query<InclusionQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = q.into_inner();
    let leaf: [u8; 32] = B64
        .decode(q.hash.trim())
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| {
            ServiceError::Invalid("`hash` must be a base64 SHA-256 hash (32 bytes)".into())
        })?;
    let p = state
        .call(move |g| async move { g.log_inclusion(leaf, q.tree_size).await })
        .await?;
    Ok(HttpResponse::Ok().json(InclusionProofOut {
        leaf_index: p.leaf_index,
        tree_size: p.tree_size,
        hashes: b64_all(&p.hashes),
    }))
}

/// The consistency proof (RFC 9162 §2.1.4) between the trees of `first` and `second`
/// leaves.
#[utoipa::path(get, path = "/log/proof/consistency", tag = "log", operation_id = "get_log_consistency_proof",
    security(()), params(ConsistencyQuery),
    responses((status = 200, description = "The proof", body = ConsistencyProofOut), crate::openapi::PublicErrors))]
async fn consistency(
    state: web::Data<AppState>,
    q: web::Query<ConsistencyQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = q.into_inner();
    let hashes = state
        .call(move |g| async move { g.log_consistency(q.first, q.second).await })
        .await?;
    Ok(HttpResponse::Ok().json(ConsistencyProofOut {
        hashes: b64_all(&hashes),
    }))
}

/// `{path}`: a C2SP tlog-tiles path.
#[derive(Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // Describes the path; the handler takes `web::Path<String>`.
struct TilePathParam {
    /// `<L>/<N>[.p/<W>]` (a hash tile) or `entries/<N>[.p/<W>]` (an entry bundle);
    /// `N` in zero-padded 3-digit elements, all but the last prefixed `x`.
    path: String,
}

/// C2SP tlog-tiles: a hash tile (256 hashes of tree level 8·L, or the W of a partial
/// tile) or an entry bundle (each entry a big-endian uint16 length and the receipt's
/// 32-byte hash). Immutable. 404 for a tile not (or not yet) in the signed tree.
#[utoipa::path(get, path = "/log/tile/{path}", tag = "log", operation_id = "get_log_tile",
    security(()), params(TilePathParam),
    responses((status = 200, description = "The tile", content_type = "application/octet-stream", body = Vec<u8>),
        crate::openapi::PublicErrors))]
async fn tile(
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let raw = path.into_inner();
    let parsed = TilePath::parse(&raw).ok_or_else(|| {
        ServiceError::NotFound(format!(
            "`tile/{}` is not a tile path",
            raw.chars().take(80).collect::<String>()
        ))
    })?;
    let bytes = state
        .call(move |g| async move { g.log_tile(parsed).await })
        .await?;
    Ok(HttpResponse::Ok()
        .content_type("application/octet-stream")
        .insert_header(("Cache-Control", "public, max-age=31536000, immutable"))
        .body(bytes.0))
}

/// A witness's cosignature: `{"note"}`, the checkpoint as the log signed it with the
/// witness's `cosignature/v1` line(s) (C2SP tlog-cosignature). Kept when the note carries the log's
/// signature over a checkpoint it stored and a valid cosignature by a witness in
/// `LOG_WITNESSES`; then served with `/log/checkpoint`.
#[utoipa::path(post, path = "/log/cosignature", tag = "log", operation_id = "post_log_cosignature",
    security(()),
    request_body = CosignatureRequest,
    responses((status = 200, description = "Stored", body = CosignedOut), crate::openapi::PublicErrors))]
async fn cosignature(
    state: web::Data<AppState>,
    req: actix_web::HttpRequest,
    body: dto::Json<CosignatureRequest>,
) -> Result<HttpResponse, ApiError> {
    let text = body.into_inner().note;
    if text.chars().count() > tg_wire::log::MAX_NOTE_CHARS {
        return Err(ServiceError::Invalid(format!(
            "`note` is longer than {} characters",
            tg_wire::log::MAX_NOTE_CHARS
        ))
        .into());
    }
    let actor = state
        .gateway
        .actor(None, crate::auth::peer_ip_hash(&state.gateway, &req));
    let done = state
        .call(move |g| async move { g.add_cosignature(&text, &actor).await })
        .await?;
    Ok(HttpResponse::Ok().json(CosignedOut {
        size: done.size,
        witnesses: done.witnesses,
    }))
}

/// Rotates the checkpoint key: a new Ed25519 key signs from the next integration on; the
/// old ones stay published in `/log/key`. Operator only.
#[utoipa::path(post, path = "/admin/log/keys", tag = "admin", operation_id = "rotate_log_key",
    responses((status = 201, description = "The log's keys, the new one signing", body = LogKey), crate::openapi::Errors))]
async fn rotate_key(state: web::Data<AppState>, auth: Auth) -> Result<HttpResponse, ApiError> {
    let k = state
        .call(move |g| async move { g.rotate_log_key(&auth.principal, &auth.actor).await })
        .await?;
    Ok(HttpResponse::Created().json(log_key(&k)))
}

/// Runs one round of the log now — integrate pending receipts when this instance holds
/// the sequencer lease, then check the newest checkpoint — instead of waiting for the next
/// period (`LOG_INTEGRATE_MS`). Operator only.
#[utoipa::path(post, path = "/admin/log/integrate", tag = "admin", operation_id = "integrate_log",
    responses((status = 200, description = "What the round did", body = LogRoundOut), crate::openapi::Errors))]
async fn integrate(state: web::Data<AppState>, auth: Auth) -> Result<HttpResponse, ApiError> {
    let r = state
        .call(move |g| async move { g.integrate_log_as(&auth.principal).await })
        .await?;
    Ok(HttpResponse::Ok().json(LogRoundOut {
        leader: r.leader,
        integrated: r.integrated,
        size: r.size,
        inconsistencies: r.inconsistencies,
    }))
}
