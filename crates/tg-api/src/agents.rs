use actix_web::{HttpResponse, web};
use tg_core::AgentId;
use tg_service::Registration;

use crate::auth::Auth;
use crate::ids::{AgentPath, PathId};
use crate::routes::Routes;
use crate::{ApiError, AppState, dto};
use tg_wire::agents::{
    AgentPage, DiscoverQuery, History, HistoryPoint, HistoryQuery, ListQuery, TokenGrant,
    TokenQuery, TrustBreakdown, TrustQuery,
};

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
    body: crate::dto::Json<dto::RegisterRequest>,
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

async fn view(state: &AppState, id: AgentId) -> Result<tg_service::TrustView, ApiError> {
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
    PathId(id): AgentPath,
) -> Result<HttpResponse, ApiError> {
    let view = view(&state, id).await?;
    Ok(HttpResponse::Ok().json(dto::AgentOut::from(&view)))
}

/// The score explained factor by factor; logged as a `trust_check` (Joy §5.2).
#[utoipa::path(get, path = "/agents/{id}/trust", tag = "agents", operation_id = "get_trust_breakdown",
    params(crate::openapi::AgentPath, TrustQuery),
    responses((status = 200, description = "The breakdown", body = TrustBreakdown), crate::openapi::Errors))]
async fn trust(
    state: web::Data<AppState>,
    auth: Auth,
    PathId(id): AgentPath,
    query: web::Query<TrustQuery>,
) -> Result<HttpResponse, ApiError> {
    let min = query.into_inner().min_state_version;
    // From memory when it can answer (nothing to wait on, so no hand-off to the runtime).
    // The answer is consumed inside the `if let`, so the handler's future does not carry
    // it (a whole breakdown) across the slow path's wait.
    if let Some(answer) = state
        .gateway
        .trust_now(&auth.principal, &auth.actor, &id, min)
    {
        return breakdown_response(answer?);
    }
    let answer = state
        .call(move |g| async move {
            g.trust_with_plan(&auth.principal, &auth.actor, &id, min)
                .await
        })
        .await?;
    breakdown_response(answer)
}

fn breakdown_response(
    (view, plan, result): (tg_service::TrustView, tg_access::Plan, tg_joy::TrustResult),
) -> Result<HttpResponse, ApiError> {
    let state_version = view.state.version;
    let answer = TrustBreakdown {
        breakdown: dto::Breakdown::from(view),
        plan,
        joy_score: result.trust_score,
        verified: result.verified,
        vouch_count: result.vouch_count,
        withheld: result.withheld,
        state_version,
        trust_result: result,
    };
    // A breakdown is about 2.2 KiB; longer evidence words take one more growth.
    dto::json_ok(&answer, 3 * 1024)
}

/// Joy §7.1: does the agent meet `min_score`? Always a trust result, denials included.
#[utoipa::path(post, path = "/trust/verify", tag = "agents", operation_id = "verify_trust",
    request_body = dto::VerifyRequest,
    responses((status = 200, description = "The trust result", body = tg_joy::TrustResult), crate::openapi::Errors))]
async fn verify_trust(
    state: web::Data<AppState>,
    auth: Auth,
    body: crate::dto::Json<dto::VerifyRequest>,
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

/// The score history, newest first.
#[utoipa::path(get, path = "/agents/{id}/history", tag = "agents", operation_id = "get_trust_history",
    params(crate::openapi::AgentPath, HistoryQuery),
    responses((status = 200, description = "Score history", body = History), crate::openapi::Errors))]
async fn history(
    state: web::Data<AppState>,
    auth: Auth,
    PathId(id): AgentPath,
    q: web::Query<HistoryQuery>,
) -> Result<HttpResponse, ApiError> {
    let (id, limit) = (id, q.limit);
    let (agent_id, points) = state
        .call(move |g| async move { g.history(&auth.principal, &id, limit).await })
        .await?;
    Ok(HttpResponse::Ok().json(History {
        agent_id,
        history: points.iter().map(HistoryPoint::from).collect(),
    }))
}

/// The V2 agent card.
#[utoipa::path(get, path = "/agents/{id}/card", tag = "agents", operation_id = "get_agent_card",
    params(crate::openapi::AgentPath),
    responses((status = 200, description = "The card", body = dto::Card), crate::openapi::Errors))]
async fn card(
    state: web::Data<AppState>,
    _auth: Auth,
    PathId(id): AgentPath,
) -> Result<HttpResponse, ApiError> {
    let view = view(&state, id).await?;
    Ok(HttpResponse::Ok().json(dto::Card::from(&view)))
}

/// Issues a short-lived token that tool servers verify offline. With a `DPoP` proof header
/// (RFC 9449), the token is bound to the proof's key (`cnf.jkt`, `token_type: DPoP`): it is
/// then used only with fresh proofs by that key. An agent that proved an Ed25519 key binds
/// to that key only.
#[utoipa::path(post, path = "/agents/{id}/token", tag = "tokens", operation_id = "issue_token",
    params(crate::openapi::AgentPath, TokenQuery,
        ("DPoP" = Option<String>, Header, description = "A DPoP proof (RFC 9449) for `POST` to this URL: binds the token to its key")),
    responses((status = 200, description = "The token", body = TokenGrant),
        (status = 400, description = "`invalid_dpop_proof`, or a malformed query", body = crate::openapi::ErrorBody),
        crate::openapi::Errors))]
async fn token(
    state: web::Data<AppState>,
    auth: Auth,
    req: actix_web::HttpRequest,
    PathId(id): AgentPath,
    q: web::Query<TokenQuery>,
) -> Result<HttpResponse, ApiError> {
    let dpop = crate::dpop::presented(&req, &state.gateway)?;
    let (id, expires_in) = (id, q.expires_in);
    let grant = state
        .call(move |g| async move {
            g.issue_bound_token(&auth.principal, &auth.actor, &id, expires_in, dpop)
                .await
        })
        .await?;
    Ok(HttpResponse::Ok().json(TokenGrant {
        token: grant.issued.token,
        token_type: crate::dpop::token_type(grant.jkt.as_deref()).to_owned(),
        expires_in: grant.expires_in,
        expires_at: grant.issued.expires_at,
        jti: grant.issued.jti,
        alg: grant.issued.alg.to_owned(),
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
    PathId(id): AgentPath,
    body: crate::dto::Json<dto::AttestationRequest>,
) -> Result<HttpResponse, ApiError> {
    let (id, attestation) = (id, body.into_inner().attestation);
    let view = state
        .call(move |g| async move {
            g.reattest(&auth.principal, &auth.actor, &id, attestation)
                .await
        })
        .await?;
    Ok(HttpResponse::Ok().json(dto::AgentOut::from(&view)))
}
