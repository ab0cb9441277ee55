use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde_json::{Map, json};

use crate::auth::Auth;
use crate::{ApiError, AppState, dto};

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/authorize", web::post().to(authorize))
        .route("/authorize/batch", web::post().to(batch));
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

async fn authorize(
    state: web::Data<AppState>,
    auth: Auth,
    body: web::Json<dto::AuthorizeRequest>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    let o = state
        .call(move |g| async move {
            g.authorize(&auth.principal, &auth.actor, &b.agent_id, &b.action)
                .await
        })
        .await
        .map_err(fail_closed)?;
    let mut out = dto::decision(&o);
    if let Some(obj) = out.as_object_mut() {
        obj.insert("agent_id".into(), json!(o.agent_id));
        obj.insert("action".into(), json!(o.action));
    }
    Ok(HttpResponse::Ok().json(out))
}

async fn batch(
    state: web::Data<AppState>,
    auth: Auth,
    body: web::Json<dto::BatchRequest>,
) -> Result<HttpResponse, ApiError> {
    let req = body.into_inner();
    let b = state
        .call(move |g| async move {
            g.authorize_batch(&auth.principal, &auth.actor, &req.agent_id, &req.actions)
                .await
        })
        .await
        .map_err(fail_closed)?;
    let mut results = Map::new();
    for o in &b.results {
        results.insert(o.action.clone(), dto::decision(o));
    }
    let allowed = b.results.iter().filter(|o| o.decision.allowed).count();
    Ok(HttpResponse::Ok().json(json!({
        "agent_id": b.agent_id,
        "results": results,
        "allowed_count": allowed,
        "denied_count": b.results.len() - allowed,
    })))
}
