use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::json;
use tg_service::Registration;

use crate::auth::Auth;
use crate::{ApiError, AppState, dto};

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/agents/register", web::post().to(register))
        // Before `/agents/{id}`, which would otherwise take `discover` for an id.
        .route("/agents/discover", web::get().to(discover))
        .route("/trust/verify", web::post().to(verify_trust))
        .route("/agents/{id}", web::get().to(get_agent))
        .route("/agents/{id}/trust", web::get().to(trust))
        .route("/agents/{id}/history", web::get().to(history))
        .route("/agents/{id}/card", web::get().to(card))
        .route("/agents/{id}/token", web::post().to(token))
        .route("/agents/{id}/attestation", web::post().to(reattest));
}

async fn register(
    state: web::Data<AppState>,
    auth: Auth,
    body: web::Json<dto::RegisterRequest>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    let reg = Registration {
        name: b.name,
        provider: b.provider,
        spiffe_id: b.spiffe_id,
        config_hash: b.config_hash,
        capabilities: b.capabilities,
        attestation: b.attestation,
    };
    let view = state
        .call(move |g| async move { g.register(&auth.principal, &auth.actor, reg).await })
        .await?;
    Ok(HttpResponse::Created().json(dto::agent(&view)))
}

async fn view(state: &AppState, id: String) -> Result<tg_service::TrustView, ApiError> {
    state
        .call(move |g| async move { g.trust_view(&id).await })
        .await
}

async fn get_agent(
    state: web::Data<AppState>,
    _auth: Auth,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let view = view(&state, id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(dto::agent(&view)))
}

async fn trust(
    state: web::Data<AppState>,
    _auth: Auth,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let (view, plan, vouches) = state
        .call(move |g| async move { g.trust_with_plan(&id).await })
        .await?;
    let mut body = dto::breakdown(&view);
    let result = tg_service::TrustResult::of(&view, plan, vouches, 0.0);
    if let Some(obj) = body.as_object_mut() {
        // Joy's evidence fields beside the V2 breakdown (DESIGN §4); `plan` is Joy's `tier`.
        obj.insert("plan".into(), json!(plan));
        obj.insert("trust_score".into(), json!(result.trust_score));
        obj.insert("verified".into(), json!(result.verified));
        obj.insert("vouch_count".into(), json!(result.vouch_count));
        obj.insert("withheld".into(), json!(result.withheld));
        obj.insert("trust_result".into(), dto::trust_result(&result));
    }
    Ok(HttpResponse::Ok().json(body))
}

async fn verify_trust(
    state: web::Data<AppState>,
    auth: Auth,
    body: web::Json<dto::VerifyRequest>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    let subject = match (b.agent_id, b.agent_name) {
        (Some(id), None) => tg_service::Subject::Id(id),
        (None, Some(name)) => tg_service::Subject::Name(name),
        _ => {
            return Err(tg_service::ServiceError::Invalid(
                "give exactly one of `agent_id` and `agent_name`".into(),
            )
            .into());
        }
    };
    let r = state
        .call(move |g| async move {
            g.verify_trust(&auth.principal, &auth.actor, subject, b.min_score)
                .await
        })
        .await?;
    Ok(HttpResponse::Ok().json(dto::trust_result(&r)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DiscoverQuery {
    query: String,
    #[serde(default)]
    offset: u32,
    #[serde(default = "default_discover_limit")]
    limit: u32,
}

fn default_discover_limit() -> u32 {
    20
}

async fn discover(
    state: web::Data<AppState>,
    auth: Auth,
    q: web::Query<DiscoverQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = q.into_inner();
    let (offset, limit) = (q.offset, q.limit);
    let found = state
        .call(move |g| async move { g.discover(&auth.principal, &q.query, offset, limit).await })
        .await?;
    let next = (found.len() == limit as usize).then(|| offset.saturating_add(limit));
    let agents: Vec<_> = found.iter().map(dto::agent).collect();
    Ok(HttpResponse::Ok()
        .json(json!({"agents": agents, "offset": offset, "limit": limit, "next_offset": next})))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HistoryQuery {
    #[serde(default = "crate::dto::default_page_limit")]
    limit: u32,
}

async fn history(
    state: web::Data<AppState>,
    _auth: Auth,
    id: web::Path<String>,
    q: web::Query<HistoryQuery>,
) -> Result<HttpResponse, ApiError> {
    let (id, limit) = (id.into_inner(), q.limit);
    let (agent_id, points) = state
        .call(move |g| async move { g.history(&id, limit).await })
        .await?;
    Ok(HttpResponse::Ok().json(json!({"agent_id": agent_id, "history": points})))
}

async fn card(
    state: web::Data<AppState>,
    _auth: Auth,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let view = view(&state, id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(dto::card(&view)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenQuery {
    #[serde(default = "default_expires_in")]
    expires_in: i64,
}

fn default_expires_in() -> i64 {
    3600
}

async fn token(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<String>,
    q: web::Query<TokenQuery>,
) -> Result<HttpResponse, ApiError> {
    let (id, expires_in) = (id.into_inner(), q.expires_in);
    let grant = state
        .call(move |g| async move {
            g.issue_token(&auth.principal, &auth.actor, &id, expires_in)
                .await
        })
        .await?;
    Ok(HttpResponse::Ok().json(json!({
        "token": grant.issued.token,
        "token_type": "Bearer",
        "expires_in": grant.expires_in,
        "expires_at": grant.issued.expires_at,
        "jti": grant.issued.jti,
        "alg": grant.issued.alg,
        "tier": grant.tier,
        "trust_score": grant.trust_score,
        "permitted_actions": grant.permitted_actions,
    })))
}

async fn reattest(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<String>,
    body: web::Json<dto::AttestationRequest>,
) -> Result<HttpResponse, ApiError> {
    let (id, attestation) = (id.into_inner(), body.into_inner().attestation);
    let view = state
        .call(move |g| async move {
            g.reattest(&auth.principal, &auth.actor, &id, attestation)
                .await
        })
        .await?;
    Ok(HttpResponse::Ok().json(dto::agent(&view)))
}
