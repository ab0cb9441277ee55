use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde_json::json;
use tg_delegation::Delegator;
use tg_service::{Delegated, NewDelegation, ServiceError};
use utoipa::IntoParams;

use crate::auth::Auth;
use crate::ids::{self, AgentPath, PathId};
use crate::routes::Routes;
use crate::{ApiError, AppState};
use tg_core::{ChainKind, DelegationKind};
use tg_wire::delegations::{DelegationOut, DelegationPage, DelegationRequest, OutcomeRequest};

pub(crate) fn routes(r: &mut Routes) {
    r.post("/delegations", create)
        .get("/delegations/{id}", get)
        .post("/delegations/{id}/accept", accept)
        .patch("/delegations/{id}/outcome", outcome)
        .get("/chains/{id}", chain)
        .get("/agents/{id}/delegation-history", history);
}

/// `{id}`: a delegation id.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // Describes the path; handlers take `web::Path<String>`.
struct DelegationPath {
    /// The delegation's id (`del_…`).
    id: String,
}

/// Who delegates: exactly one of an agent (`from_agent`) and a person (`from_principal`).
fn delegator(agent: Option<&str>, principal: Option<&str>) -> Result<Delegator, ApiError> {
    let invalid = |m: &str| ApiError::from(ServiceError::Invalid(m.to_owned()));
    match (agent, principal) {
        (Some(a), None) => Ok(Delegator::Agent(ids::agent(a)?)),
        (None, Some(p)) if p.starts_with("user:") => Delegator::parse(p).ok_or_else(|| {
            invalid("`from_principal` must be `user:` followed by 1–128 of A-Z a-z 0-9 . _ @ -")
        }),
        (None, Some(_)) => Err(invalid("`from_principal` must start with `user:`")),
        _ => Err(invalid(
            "give exactly one of `from_agent` and `from_principal`",
        )),
    }
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
    body: crate::dto::Json<DelegationRequest>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    crate::request_id::record_agent(&b.to_agent, None);
    let req = NewDelegation {
        from: delegator(b.from_agent.as_deref(), b.from_principal.as_deref())?,
        to_agent: ids::agent(&b.to_agent)?,
        task_type: b.task_type,
        threshold: b.threshold,
        parent_delegation_id: b
            .parent_delegation_id
            .as_deref()
            .map(ids::parse::<DelegationKind>)
            .transpose()?,
        token: b.token,
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
    PathId(id): PathId<DelegationKind>,
) -> Result<HttpResponse, ApiError> {
    let d = state
        .call(move |g| async move { g.delegation(&auth.principal, &id).await })
        .await?;
    Ok(HttpResponse::Ok().json(DelegationOut::from(&d)))
}

/// The delegatee's account accepts a delegation to its agent, so its outcome will count.
#[utoipa::path(post, path = "/delegations/{id}/accept", tag = "delegations", operation_id = "accept_delegation",
    params(DelegationPath),
    responses((status = 200, description = "The accepted delegation", body = DelegationOut),
        (status = 409, description = "The outcome is already recorded", body = crate::openapi::ErrorBody),
        crate::openapi::Errors))]
async fn accept(
    state: web::Data<AppState>,
    auth: Auth,
    PathId(id): PathId<DelegationKind>,
) -> Result<HttpResponse, ApiError> {
    let d = state
        .call(move |g| async move { g.accept_delegation(&auth.principal, &auth.actor, &id).await })
        .await?;
    Ok(HttpResponse::Ok().json(DelegationOut::from(&d)))
}

/// Records how the delegation ended. It counts as behaviour evidence for the delegatee once
/// the delegatee's account accepted the delegation.
#[utoipa::path(patch, path = "/delegations/{id}/outcome", tag = "delegations", operation_id = "record_delegation_outcome",
    params(DelegationPath), request_body = OutcomeRequest,
    responses((status = 200, description = "The delegation with its outcome", body = DelegationOut), crate::openapi::Errors))]
async fn outcome(
    state: web::Data<AppState>,
    auth: Auth,
    PathId(id): PathId<DelegationKind>,
    body: crate::dto::Json<OutcomeRequest>,
) -> Result<HttpResponse, ApiError> {
    let (id, b) = (id, body.into_inner());
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
    PathId(id): PathId<ChainKind>,
) -> Result<HttpResponse, ApiError> {
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
    PathId(id): AgentPath,
    q: web::Query<crate::dto::Page>,
) -> Result<HttpResponse, ApiError> {
    let (id, offset, limit) = (id, q.offset, q.limit);
    let agent = id.as_str().to_owned();
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
