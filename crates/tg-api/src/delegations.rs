use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tg_core::{AgentId, ChainId, DelegationId, Timestamp};
use tg_delegation::{Delegation, DelegationOutcome, Delegator, Feedback};
use tg_service::{Delegated, NewDelegation};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Auth;
use crate::routes::Routes;
use crate::{ApiError, AppState};

pub(crate) fn routes(r: &mut Routes) {
    r.post("/delegations", create)
        .get("/delegations/{id}", get)
        .patch("/delegations/{id}/outcome", outcome)
        .get("/chains/{id}", chain)
        .get("/agents/{id}/delegation-history", history);
}

/// Joy §4.1 plus the chain fields.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct DelegationOut {
    #[schema(value_type = String)]
    delegation_id: DelegationId,
    #[schema(value_type = String)]
    chain_id: ChainId,
    #[schema(value_type = Option<String>)]
    parent_delegation_id: Option<DelegationId>,
    /// 1 for a chain's first delegation.
    depth: u32,
    /// Set when an agent delegated…
    from_agent: Option<String>,
    /// …or when a human principal did.
    from_principal: Option<String>,
    #[schema(value_type = String)]
    to_agent: AgentId,
    root_authority: String,
    task_type: String,
    delegated_at: Timestamp,
    trust_score_at_delegation: f64,
    /// Joy's 0–5 scale.
    threshold_used: f64,
    outcome: Option<DelegationOutcome>,
    feedback: Option<Feedback>,
    notes: Option<String>,
    completed_at: Option<Timestamp>,
    /// After an outcome: the delegatee's score once the outcome counted.
    #[serde(skip_serializing_if = "Option::is_none")]
    delegatee_score: Option<f64>,
}

impl From<&Delegation> for DelegationOut {
    fn from(d: &Delegation) -> Self {
        let (from_agent, from_principal) = match &d.from {
            Delegator::Agent(a) => (Some(a.to_string()), None),
            Delegator::Human(h) => (None, Some(h.clone())),
        };
        let o = d.outcome.as_ref();
        Self {
            delegation_id: d.id.clone(),
            chain_id: d.chain_id.clone(),
            parent_delegation_id: d.parent.clone(),
            depth: d.depth,
            from_agent,
            from_principal,
            to_agent: d.to_agent.clone(),
            root_authority: d.root_authority.to_string(),
            task_type: d.task_type.clone(),
            delegated_at: d.delegated_at,
            trust_score_at_delegation: d.trust_score_at_delegation,
            threshold_used: d.threshold,
            outcome: o.map(|o| o.outcome),
            feedback: o.and_then(|o| o.feedback),
            notes: o.and_then(|o| o.notes.clone()),
            completed_at: o.map(|o| o.completed_at),
            delegatee_score: None,
        }
    }
}

/// An agent's delegations, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct DelegationPage {
    agent_id: String,
    delegations: Vec<DelegationOut>,
    next_offset: Option<u32>,
}

/// `{id}`: a delegation id.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // Describes the path; handlers take `web::Path<String>`.
struct DelegationPath {
    /// The delegation's id (`del_…`).
    id: String,
}

/// Exactly one of `from_agent` and `from_principal`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct DelegationRequest {
    from_agent: Option<String>,
    from_principal: Option<String>,
    to_agent: String,
    task_type: String,
    /// Joy's 0–5 scale: the delegatee must score at least this.
    threshold: f64,
    /// Extends that delegation's chain (the delegator must be its delegatee).
    parent_delegation_id: Option<String>,
}

/// Delegates a task to an agent if it meets the threshold (Joy §4).
#[utoipa::path(post, path = "/delegations", tag = "delegations", operation_id = "create_delegation",
    request_body = DelegationRequest,
    responses((status = 201, description = "Delegated", body = DelegationOut),
        (status = 422, description = "Below the threshold (`code: below_threshold`, with `trust_result`) or invalid", body = crate::openapi::ErrorBody),
        crate::openapi::Errors))]
async fn create(
    state: web::Data<AppState>,
    auth: Auth,
    body: web::Json<DelegationRequest>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    crate::request_id::record_agent(&b.to_agent, None);
    let req = NewDelegation {
        from_agent: b.from_agent,
        from_principal: b.from_principal,
        to_agent: b.to_agent,
        task_type: b.task_type,
        threshold: b.threshold,
        parent_delegation_id: b.parent_delegation_id,
    };
    match state
        .call(move |g| async move { g.delegate(&auth.principal, &auth.actor, req).await })
        .await?
    {
        Delegated::Made(d) => Ok(HttpResponse::Created().json(DelegationOut::from(&d))),
        Delegated::BelowThreshold {
            reason,
            trust_result,
        } => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "below_threshold",
            format!("delegation refused: {reason}"),
        )
        .with(json!({"trust_result": trust_result}))),
    }
}

/// One delegation.
#[utoipa::path(get, path = "/delegations/{id}", tag = "delegations", operation_id = "get_delegation",
    params(DelegationPath),
    responses((status = 200, description = "The delegation", body = DelegationOut), crate::openapi::Errors))]
async fn get(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let d = state
        .call(move |g| async move { g.delegation(&auth.principal, &id).await })
        .await?;
    Ok(HttpResponse::Ok().json(DelegationOut::from(&d)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct OutcomeRequest {
    outcome: DelegationOutcome,
    feedback: Option<Feedback>,
    notes: Option<String>,
}

/// Records how the delegation ended; it counts as behaviour evidence for the delegatee.
#[utoipa::path(patch, path = "/delegations/{id}/outcome", tag = "delegations", operation_id = "record_delegation_outcome",
    params(DelegationPath), request_body = OutcomeRequest,
    responses((status = 200, description = "The delegation with its outcome", body = DelegationOut), crate::openapi::Errors))]
async fn outcome(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<String>,
    body: web::Json<OutcomeRequest>,
) -> Result<HttpResponse, ApiError> {
    let (id, b) = (id.into_inner(), body.into_inner());
    let (d, view) = state
        .call(move |g| async move {
            g.record_outcome(
                &auth.principal,
                &auth.actor,
                &id,
                b.outcome,
                b.feedback,
                b.notes,
            )
            .await
        })
        .await?;
    let mut out = DelegationOut::from(&d);
    out.delegatee_score = view.map(|v| v.breakdown.composite);
    Ok(HttpResponse::Ok().json(out))
}

/// Joy §4.2: a delegation chain from its root authority to its terminal agent.
#[utoipa::path(get, path = "/chains/{id}", tag = "delegations", operation_id = "get_delegation_chain",
    params(("id" = String, Path, description = "The chain's id (`chain_…`)")),
    responses((status = 200, description = "The chain", body = tg_delegation::ChainView), crate::openapi::Errors))]
async fn chain(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let c = state
        .call(move |g| async move { g.chain(&auth.principal, &id).await })
        .await?;
    Ok(HttpResponse::Ok().json(c))
}

/// The delegations the agent received or gave, newest first.
#[utoipa::path(get, path = "/agents/{id}/delegation-history", tag = "delegations", operation_id = "get_delegation_history",
    params(crate::openapi::AgentPath, crate::dto::Page),
    responses((status = 200, description = "A page of delegations", body = DelegationPage), crate::openapi::Errors))]
async fn history(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<String>,
    q: web::Query<crate::dto::Page>,
) -> Result<HttpResponse, ApiError> {
    let (id, offset, limit) = (id.into_inner(), q.offset, q.limit);
    let agent = id.clone();
    let items = state
        .call(move |g| async move {
            g.delegation_history(&auth.principal, &id, offset, limit)
                .await
        })
        .await?;
    let next = q.next_offset(items.len());
    Ok(HttpResponse::Ok().json(DelegationPage {
        agent_id: agent,
        delegations: items.iter().map(DelegationOut::from).collect(),
        next_offset: next,
    }))
}
