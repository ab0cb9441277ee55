use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::json;
use tg_service::RecordAction;

use crate::auth::Auth;
use crate::{ApiError, AppState, dto};

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/actions/record", web::post().to(record))
        .route("/receipts/{agent_id}", web::get().to(list))
        .route("/receipts/{agent_id}/verify", web::get().to(verify));
}

async fn record(
    state: web::Data<AppState>,
    auth: Auth,
    body: web::Json<dto::RecordRequest>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    let req = RecordAction {
        agent_id: b.agent_id,
        action: b.action,
        result: b.result,
        reported_at: b.timestamp,
    };
    let r = state
        .call(move |g| async move { g.record_action(&auth.principal, &auth.actor, req).await })
        .await?;
    let after = &r.view.breakdown;
    Ok(HttpResponse::Created().json(json!({
        "receipt": dto::receipt(&r.receipt),
        "previous_score": r.old_score,
        "new_score": after.composite,
        "previous_tier": r.old_tier,
        "new_tier": after.tier,
        "tier_name": after.tier_name,
        "tier_changed": r.old_tier != after.tier,
    })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    #[serde(default = "crate::dto::default_page_limit")]
    limit: u32,
    before_seq: Option<u64>,
}

async fn list(
    state: web::Data<AppState>,
    _auth: Auth,
    id: web::Path<String>,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let (agent, limit, before) = (id.clone(), q.limit, q.before_seq);
    let receipts = state
        .call(move |g| async move { g.receipts(&agent, limit, before).await })
        .await?;
    let next = receipts
        .last()
        .filter(|_| receipts.len() == q.limit as usize)
        .map(|r| r.seq);
    let items: Vec<_> = receipts.iter().map(dto::receipt).collect();
    Ok(HttpResponse::Ok()
        .json(json!({"agent_id": id.as_str(), "receipts": items, "next_before_seq": next})))
}

async fn verify(
    state: web::Data<AppState>,
    _auth: Auth,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let report = state
        .call(move |g| async move { g.verify_chain(&id).await })
        .await?;
    Ok(HttpResponse::Ok().json(report))
}
