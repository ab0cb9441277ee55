use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use tg_core::{AgentId, Timestamp};
use tg_service::{HistoryPoint, Registration};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Auth;
use crate::routes::Routes;
use crate::{ApiError, AppState, dto};

pub(crate) fn routes(r: &mut Routes) {
    r.post("/agents/register", register)
        .get("/agents", list)
        // Before `/agents/{id}`, which would otherwise take `discover` for an id.
        .get("/agents/discover", discover)
        .post("/trust/verify", verify_trust)
        .get("/agents/{id}", get_agent)
        .get("/agents/{id}/trust", trust)
        .get("/agents/{id}/history", history)
        .get("/agents/{id}/card", card)
        .post("/agents/{id}/token", token)
        .post("/agents/{id}/attestation", reattest);
}

/// Registers an agent. Its first score comes from the attestation it presents.
#[utoipa::path(post, path = "/agents/register", tag = "agents", operation_id = "register_agent",
    request_body = dto::RegisterRequest,
    responses((status = 201, description = "Registered", body = dto::AgentOut), crate::openapi::Errors))]
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
        a2a: b.a2a,
    };
    let view = state
        .call(move |g| async move { g.register(&auth.principal, &auth.actor, reg).await })
        .await?;
    crate::request_id::record_agent(view.agent.id.as_str(), Some(&view.agent.name));
    Ok(HttpResponse::Created().json(dto::AgentOut::from(&view)))
}

async fn view(state: &AppState, id: String) -> Result<tg_service::TrustView, ApiError> {
    state
        .call(move |g| async move { g.trust_view(&id).await })
        .await
}

/// One agent.
#[utoipa::path(get, path = "/agents/{id}", tag = "agents", operation_id = "get_agent",
    params(crate::openapi::AgentPath),
    responses((status = 200, description = "The agent", body = dto::AgentOut), crate::openapi::Errors))]
async fn get_agent(
    state: web::Data<AppState>,
    _auth: Auth,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let view = view(&state, id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(dto::AgentOut::from(&view)))
}

/// The V2 breakdown with Joy's evidence fields beside it (DESIGN §4).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TrustBreakdown {
    #[serde(flatten)]
    breakdown: dto::Breakdown,
    /// Joy's `tier`: the owning account's plan.
    plan: tg_access::Plan,
    trust_score: f64,
    verified: bool,
    vouch_count: u64,
    withheld: bool,
    trust_result: tg_service::TrustResult,
}

/// The score explained factor by factor.
#[utoipa::path(get, path = "/agents/{id}/trust", tag = "agents", operation_id = "get_trust_breakdown",
    params(crate::openapi::AgentPath),
    responses((status = 200, description = "The breakdown", body = TrustBreakdown), crate::openapi::Errors))]
async fn trust(
    state: web::Data<AppState>,
    _auth: Auth,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let (view, plan, vouches) = state
        .call(move |g| async move { g.trust_with_plan(&id).await })
        .await?;
    let result = tg_service::TrustResult::of(&view, plan, vouches, 0.0);
    Ok(HttpResponse::Ok().json(TrustBreakdown {
        breakdown: dto::Breakdown::from(&view),
        plan,
        trust_score: result.trust_score,
        verified: result.verified,
        vouch_count: result.vouch_count,
        withheld: result.withheld,
        trust_result: result,
    }))
}

/// Joy §7.1: does the agent meet `min_score`? Always a trust result, denials included.
#[utoipa::path(post, path = "/trust/verify", tag = "agents", operation_id = "verify_trust",
    request_body = dto::VerifyRequest,
    responses((status = 200, description = "The trust result", body = tg_service::TrustResult), crate::openapi::Errors))]
async fn verify_trust(
    state: web::Data<AppState>,
    auth: Auth,
    body: web::Json<dto::VerifyRequest>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    if let Some(id) = &b.agent_id {
        crate::request_id::record_agent(id, None);
    }
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
    Ok(HttpResponse::Ok().json(r))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct DiscoverQuery {
    /// Matched against names and capabilities.
    query: String,
    #[serde(default)]
    offset: u32,
    #[serde(default = "default_discover_limit")]
    #[param(default = 20)]
    limit: u32,
}

/// A page of agents.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AgentPage {
    agents: Vec<dto::AgentOut>,
    offset: u32,
    limit: u32,
    /// The next page's offset; null on the last page.
    next_offset: Option<u32>,
}

impl AgentPage {
    fn of(found: &[tg_service::TrustView], offset: u32, limit: u32) -> Self {
        Self {
            agents: found.iter().map(dto::AgentOut::from).collect(),
            offset,
            limit,
            next_offset: (found.len() == limit as usize).then(|| offset.saturating_add(limit)),
        }
    }
}

fn default_discover_limit() -> u32 {
    20
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    /// Admin keys only: one account's agents (default: every account's).
    account: Option<String>,
    #[serde(default)]
    offset: u32,
    #[serde(default = "crate::dto::default_page_limit")]
    #[param(default = 100, maximum = 1000)]
    limit: u32,
}

/// The caller's account's agents, oldest first; an admin key sees every account's.
#[utoipa::path(get, path = "/agents", tag = "agents", operation_id = "list_agents",
    params(ListQuery),
    responses((status = 200, description = "A page of agents", body = AgentPage), crate::openapi::Errors))]
async fn list(
    state: web::Data<AppState>,
    auth: Auth,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = q.into_inner();
    let (offset, limit) = (q.offset, q.limit);
    let found = state
        .call(move |g| async move {
            g.list_agents(&auth.principal, q.account.as_deref(), offset, limit)
                .await
        })
        .await?;
    Ok(HttpResponse::Ok().json(AgentPage::of(&found, offset, limit)))
}

/// Finds agents by name or capability.
#[utoipa::path(get, path = "/agents/discover", tag = "agents", operation_id = "discover_agents",
    params(DiscoverQuery),
    responses((status = 200, description = "Matching agents", body = AgentPage), crate::openapi::Errors))]
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
    Ok(HttpResponse::Ok().json(AgentPage::of(&found, offset, limit)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct HistoryQuery {
    #[serde(default = "crate::dto::default_page_limit")]
    #[param(default = 100)]
    limit: u32,
}

/// An agent's score over time.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct History {
    #[schema(value_type = String)]
    agent_id: AgentId,
    history: Vec<HistoryPoint>,
}

/// The score history, newest first.
#[utoipa::path(get, path = "/agents/{id}/history", tag = "agents", operation_id = "get_trust_history",
    params(crate::openapi::AgentPath, HistoryQuery),
    responses((status = 200, description = "Score history", body = History), crate::openapi::Errors))]
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
    Ok(HttpResponse::Ok().json(History {
        agent_id,
        history: points,
    }))
}

/// The V2 agent card.
#[utoipa::path(get, path = "/agents/{id}/card", tag = "agents", operation_id = "get_agent_card",
    params(crate::openapi::AgentPath),
    responses((status = 200, description = "The card", body = dto::Card), crate::openapi::Errors))]
async fn card(
    state: web::Data<AppState>,
    _auth: Auth,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let view = view(&state, id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(dto::Card::from(&view)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct TokenQuery {
    /// Lifetime in seconds.
    #[serde(default = "default_expires_in")]
    #[param(default = 3600)]
    expires_in: i64,
}

/// A signed EdDSA JWT carrying the agent's tier and permitted actions.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TokenGrant {
    /// Compact JWS; verify it offline with `/.well-known/jwks.json`.
    token: String,
    #[schema(example = "Bearer")]
    token_type: &'static str,
    expires_in: i64,
    expires_at: Timestamp,
    jti: String,
    #[schema(example = "EdDSA")]
    alg: &'static str,
    tier: u8,
    trust_score: f64,
    permitted_actions: Vec<String>,
}

fn default_expires_in() -> i64 {
    3600
}

/// Issues a short-lived token that tool servers verify offline.
#[utoipa::path(post, path = "/agents/{id}/token", tag = "tokens", operation_id = "issue_token",
    params(crate::openapi::AgentPath, TokenQuery),
    responses((status = 200, description = "The token", body = TokenGrant), crate::openapi::Errors))]
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
    Ok(HttpResponse::Ok().json(TokenGrant {
        token: grant.issued.token,
        token_type: "Bearer",
        expires_in: grant.expires_in,
        expires_at: grant.issued.expires_at,
        jti: grant.issued.jti,
        alg: grant.issued.alg,
        tier: grant.tier,
        trust_score: grant.trust_score,
        permitted_actions: grant.permitted_actions,
    }))
}

/// Presents a new attestation (e.g. a renewed SVID).
#[utoipa::path(post, path = "/agents/{id}/attestation", tag = "identity", operation_id = "reattest_agent",
    params(crate::openapi::AgentPath), request_body = dto::AttestationRequest,
    responses((status = 200, description = "The agent", body = dto::AgentOut), crate::openapi::Errors))]
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
    Ok(HttpResponse::Ok().json(dto::AgentOut::from(&view)))
}
