use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};
use tg_service::{NewVouch, Vouched};
use tg_vouch::{Direction, Vouch};

use crate::auth::Auth;
use crate::{ApiError, AppState};

pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/agents/{id}/vouches", web::post().to(create))
        .route("/agents/{id}/vouches", web::get().to(list))
        .route("/agents/{id}/vouches/{vouch_id}", web::delete().to(revoke))
        .route("/agents/{id}/anchor", web::put().to(set_anchor))
        .route("/agents/{id}/anchor", web::delete().to(unset_anchor));
}

fn vouch(v: &Vouch) -> Value {
    json!({
        "vouch_id": v.id,
        "from_agent": v.from_agent,
        "to_agent": v.to_agent,
        "weight": v.weight,
        "note": v.note,
        "signature": v.signature,
        "signed": v.signature.is_some(),
        "created_at": v.created_at,
        "updated_at": v.updated_at,
        "revoked_at": v.revoked_at,
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    from_agent: String,
    weight: f64,
    note: Option<String>,
    signature: Option<String>,
}

async fn create(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<String>,
    body: web::Json<CreateBody>,
) -> Result<HttpResponse, ApiError> {
    let (id, b) = (id.into_inner(), body.into_inner());
    let req = NewVouch {
        from_agent: b.from_agent,
        weight: b.weight,
        note: b.note,
        signature: b.signature,
    };
    let Vouched { vouch: v, created } = state
        .call(move |g| async move { g.vouch(&auth.principal, &auth.actor, &id, req).await })
        .await?;
    Ok(if created {
        HttpResponse::Created().json(vouch(&v))
    } else {
        HttpResponse::Ok().json(vouch(&v))
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    #[serde(default = "received")]
    direction: String,
    #[serde(default)]
    offset: u32,
    #[serde(default = "crate::dto::default_page_limit")]
    limit: u32,
}

fn received() -> String {
    "received".into()
}

async fn list(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<String>,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = q.into_inner();
    let direction = Direction::parse(&q.direction).ok_or_else(|| {
        ApiError::from(tg_service::ServiceError::Invalid(
            "`direction` must be `received` or `given`".into(),
        ))
    })?;
    let (id, offset, limit) = (id.into_inner(), q.offset, q.limit);
    let agent = id.clone();
    let items = state
        .call(move |g| async move {
            g.vouches(&auth.principal, &id, direction, offset, limit)
                .await
        })
        .await?;
    let next = (items.len() == limit as usize).then(|| offset.saturating_add(limit));
    Ok(HttpResponse::Ok().json(json!({
        "agent_id": agent,
        "direction": q.direction,
        "vouches": items.iter().map(vouch).collect::<Vec<_>>(),
        "next_offset": next,
    })))
}

async fn revoke(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (id, vouch_id) = path.into_inner();
    let v = state
        .call(move |g| async move {
            g.revoke_vouch(&auth.principal, &auth.actor, &id, &vouch_id)
                .await
        })
        .await?;
    Ok(HttpResponse::Ok().json(vouch(&v)))
}

async fn anchor(
    state: web::Data<AppState>,
    auth: Auth,
    id: String,
    on: bool,
) -> Result<HttpResponse, ApiError> {
    let agent = id.clone();
    let anchor = state
        .call(move |g| async move { g.set_anchor(&auth.principal, &auth.actor, &id, on).await })
        .await?;
    Ok(HttpResponse::Ok().json(json!({"agent_id": agent, "anchor": anchor})))
}

async fn set_anchor(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    anchor(state, auth, id.into_inner(), true).await
}

async fn unset_anchor(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    anchor(state, auth, id.into_inner(), false).await
}
