use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::auth::Auth;
use crate::routes::Routes;
use crate::{ApiError, AppState, dto};
use tg_wire::authorize::{Authorized, BatchAuthorized};

pub(crate) fn routes(r: &mut Routes) {
    r.post("/authorize", authorize)
        .post("/authorize/batch", batch);
}

/// A decision that could not be made is a denial, never an accidental allow.
fn fail_closed(err: ApiError) -> ApiError {
    if matches!(
        err.status(),
        StatusCode::SERVICE_UNAVAILABLE | StatusCode::INTERNAL_SERVER_ERROR
    ) {
        return err.with(json!({"allowed": false, "reason": "trust store unavailable: denied"}));
    }
    err
}

/// May the agent do this action now? Unknown actions are denied; so is every decision
/// the store cannot make (fail closed: the error body then carries `allowed: false`).
#[utoipa::path(post, path = "/authorize", tag = "authorization", operation_id = "authorize_action",
    request_body = dto::AuthorizeRequest,
    responses((status = 200, description = "The decision (`allowed` may be false)", body = Authorized), crate::openapi::Errors))]
async fn authorize(
    state: web::Data<AppState>,
    auth: Auth,
    body: crate::dto::Json<dto::AuthorizeRequest>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    crate::request_id::record_agent(&b.agent_id, None);
    let id = crate::ids::agent(&b.agent_id)?;
    // From memory when it can answer (nothing to wait on, so no hand-off to the runtime).
    // The answer is consumed inside the `if let`, so the handler's future does not carry
    // it across the slow path's wait.
    if let Some(answer) = state.gateway.authorize_now(
        &auth.principal,
        &auth.actor,
        &id,
        &b.action,
        b.min_state_version,
    ) {
        return answered(answer.map_err(ApiError::from));
    }
    let o = state
        .call(move |g| async move {
            let min = b.min_state_version;
            g.authorize(&auth.principal, &auth.actor, &id, &b.action, min)
                .await
        })
        .await;
    answered(o)
}

/// The response to one decision, or the error (failing closed).
fn answered(
    decided: Result<tg_service::AuthorizeOutcome, ApiError>,
) -> Result<HttpResponse, ApiError> {
    let o = decided.map_err(fail_closed)?;
    Ok(HttpResponse::Ok().json(Authorized {
        decision: dto::Decision::from(&o),
        agent_id: o.agent_id,
        action: o.action,
        state_version: o.state_version,
    }))
}

/// Decisions for several actions of one agent in one call.
#[utoipa::path(post, path = "/authorize/batch", tag = "authorization", operation_id = "authorize_batch",
    request_body = dto::BatchRequest,
    responses((status = 200, description = "One decision per action", body = BatchAuthorized), crate::openapi::Errors))]
async fn batch(
    state: web::Data<AppState>,
    auth: Auth,
    body: crate::dto::Json<dto::BatchRequest>,
) -> Result<HttpResponse, ApiError> {
    let req = body.into_inner();
    crate::request_id::record_agent(&req.agent_id, None);
    let id = crate::ids::agent(&req.agent_id)?;
    let b = state
        .call(move |g| async move {
            let min = req.min_state_version;
            g.authorize_batch(&auth.principal, &auth.actor, &id, &req.actions, min)
                .await
        })
        .await
        .map_err(fail_closed)?;
    let allowed = b.results.iter().filter(|o| o.decision.allowed).count();
    Ok(HttpResponse::Ok().json(BatchAuthorized {
        results: b
            .results
            .iter()
            .map(|o| (o.action.clone(), dto::Decision::from(o)))
            .collect(),
        allowed_count: allowed,
        denied_count: b.results.len() - allowed,
        agent_id: b.agent_id,
        state_version: b.state_version,
    }))
}
