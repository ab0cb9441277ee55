use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};
use tg_delegation::{Delegation, DelegationOutcome, Delegator, Feedback};
use tg_service::{Delegated, NewDelegation};

use crate::auth::Auth;
use crate::{ApiError, AppState, dto};

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/delegations", web::post().to(create))
        .route("/delegations/{id}", web::get().to(get))
        .route("/delegations/{id}/outcome", web::patch().to(outcome))
        .route("/chains/{id}", web::get().to(chain))
        .route("/agents/{id}/delegation-history", web::get().to(history));
}

/// Joy §4.1 plus the chain fields.
fn delegation(d: &Delegation) -> Value {
    let (from_agent, from_principal) = match &d.from {
        Delegator::Agent(a) => (Some(a.to_string()), None),
        Delegator::Human(h) => (None, Some(h.clone())),
    };
    let o = d.outcome.as_ref();
    json!({
        "delegation_id": d.id,
        "chain_id": d.chain_id,
        "parent_delegation_id": d.parent,
        "depth": d.depth,
        "from_agent": from_agent,
        "from_principal": from_principal,
        "to_agent": d.to_agent,
        "root_authority": d.root_authority.to_string(),
        "task_type": d.task_type,
        "delegated_at": d.delegated_at,
        "trust_score_at_delegation": d.trust_score_at_delegation,
        "threshold_used": d.threshold,
        "outcome": o.map(|o| o.outcome),
        "feedback": o.and_then(|o| o.feedback),
        "notes": o.and_then(|o| o.notes.clone()),
        "completed_at": o.map(|o| o.completed_at),
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    from_agent: Option<String>,
    from_principal: Option<String>,
    to_agent: String,
    task_type: String,
    threshold: f64,
    parent_delegation_id: Option<String>,
}

async fn create(
    state: web::Data<AppState>,
    auth: Auth,
    body: web::Json<CreateBody>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
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
        Delegated::Made(d) => Ok(HttpResponse::Created().json(delegation(&d))),
        Delegated::BelowThreshold {
            reason,
            trust_result,
        } => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "below_threshold",
            format!("delegation refused: {reason}"),
        )
        .with(json!({"trust_result": dto::trust_result(&trust_result)}))),
    }
}

async fn get(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let d = state
        .call(move |g| async move { g.delegation(&auth.principal, &id).await })
        .await?;
    Ok(HttpResponse::Ok().json(delegation(&d)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OutcomeBody {
    outcome: DelegationOutcome,
    feedback: Option<Feedback>,
    notes: Option<String>,
}

async fn outcome(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<String>,
    body: web::Json<OutcomeBody>,
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
    let mut out = delegation(&d);
    if let (Some(v), Some(obj)) = (view, out.as_object_mut()) {
        obj.insert("delegatee_score".into(), json!(v.breakdown.composite));
    }
    Ok(HttpResponse::Ok().json(out))
}

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
    Ok(HttpResponse::Ok().json(json!({"agent_id": agent, "delegations": items.iter().map(delegation).collect::<Vec<_>>(), "next_offset": next})))
}
