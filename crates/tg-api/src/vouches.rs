use actix_web::{HttpResponse, web};
use tg_core::AgentId;
use tg_service::{NewVouch, Vouched};
use tg_vouch::Direction;

use crate::auth::Auth;
use crate::ids::{AgentPath, PathId};
use crate::routes::Routes;
use crate::{ApiError, AppState};
use tg_wire::vouches::{Anchor, ListQuery, VouchOut, VouchPage, VouchRequest};

pub(crate) fn routes(r: &mut Routes) {
    r.post("/agents/{id}/vouches", create)
        .get("/agents/{id}/vouches", list)
        .delete("/agents/{id}/vouches/{vouch_id}", revoke)
        .put("/agents/{id}/anchor", set_anchor)
        .delete("/agents/{id}/anchor", unset_anchor);
}

/// `from_agent` vouches for the agent (again: the vouch is updated).
#[utoipa::path(post, path = "/agents/{id}/vouches", tag = "vouches", operation_id = "create_vouch",
    params(crate::openapi::AgentPath), request_body = VouchRequest,
    responses((status = 201, description = "Created", body = VouchOut),
        (status = 200, description = "An existing vouch updated", body = VouchOut), crate::openapi::Errors))]
async fn create(
    state: web::Data<AppState>,
    auth: Auth,
    PathId(id): AgentPath,
    body: crate::dto::Json<VouchRequest>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    let from_agent = tg_core::AgentId::parse(&b.from_agent).map_err(|_| {
        tg_service::ServiceError::Invalid("`from_agent` must be an agent id (`ag_…`)".into())
    })?;
    let req = NewVouch {
        from_agent,
        weight: b.weight,
        note: b.note,
        signature: b.signature,
    };
    let Vouched { vouch: v, created } = state
        .call(move |g| async move { g.vouch(&auth.principal, &auth.actor, &id, req).await })
        .await?;
    Ok(if created {
        HttpResponse::Created().json(VouchOut::from(&v))
    } else {
        HttpResponse::Ok().json(VouchOut::from(&v))
    })
}

/// The agent's vouches, received or given.
#[utoipa::path(get, path = "/agents/{id}/vouches", tag = "vouches", operation_id = "list_vouches",
    params(crate::openapi::AgentPath, ListQuery),
    responses((status = 200, description = "A page of vouches", body = VouchPage), crate::openapi::Errors))]
async fn list(
    state: web::Data<AppState>,
    auth: Auth,
    PathId(id): AgentPath,
    q: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = q.into_inner();
    let direction = Direction::parse(&q.direction).ok_or_else(|| {
        ApiError::from(tg_service::ServiceError::Invalid(
            "`direction` must be `received` or `given`".into(),
        ))
    })?;
    let (id, offset, limit) = (id, q.offset, q.limit);
    let agent = id.as_str().to_owned();
    let items = state
        .call(move |g| async move {
            g.vouches(&auth.principal, &id, direction, offset, limit)
                .await
        })
        .await?;
    let next = (items.len() == limit as usize).then(|| offset.saturating_add(limit));
    Ok(HttpResponse::Ok().json(VouchPage {
        agent_id: agent,
        direction: q.direction,
        vouches: items.iter().map(VouchOut::from).collect(),
        next_offset: next,
    }))
}

/// Revokes a vouch.
#[utoipa::path(delete, path = "/agents/{id}/vouches/{vouch_id}", tag = "vouches", operation_id = "revoke_vouch",
    params(crate::openapi::AgentPath, ("vouch_id" = String, Path, description = "The vouch's id")),
    responses((status = 200, description = "The revoked vouch", body = VouchOut), crate::openapi::Errors))]
async fn revoke(
    state: web::Data<AppState>,
    auth: Auth,
    PathId(id): AgentPath,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (_, raw) = path.into_inner();
    let vouch_id = tg_core::VouchId::parse(&raw)
        .map_err(|_| tg_service::ServiceError::vouch_not_found(&raw))?;
    let v = state
        .call(move |g| async move {
            g.revoke_vouch(&auth.principal, &auth.actor, &id, &vouch_id)
                .await
        })
        .await?;
    Ok(HttpResponse::Ok().json(VouchOut::from(&v)))
}

async fn anchor(
    state: web::Data<AppState>,
    auth: Auth,
    id: AgentId,
    on: bool,
) -> Result<HttpResponse, ApiError> {
    let agent = id.as_str().to_owned();
    let anchor = state
        .call(move |g| async move { g.set_anchor(&auth.principal, &auth.actor, &id, on).await })
        .await?;
    Ok(HttpResponse::Ok().json(Anchor {
        agent_id: agent,
        anchor,
    }))
}

/// Makes the agent a trust anchor. Admin only.
#[utoipa::path(put, path = "/agents/{id}/anchor", tag = "vouches", operation_id = "set_anchor",
    params(crate::openapi::AgentPath),
    responses((status = 200, description = "Anchor set", body = Anchor), crate::openapi::Errors))]
async fn set_anchor(
    state: web::Data<AppState>,
    auth: Auth,
    PathId(id): AgentPath,
) -> Result<HttpResponse, ApiError> {
    anchor(state, auth, id, true).await
}

/// Removes the agent's trust-anchor mark. Admin only.
#[utoipa::path(delete, path = "/agents/{id}/anchor", tag = "vouches", operation_id = "unset_anchor",
    params(crate::openapi::AgentPath),
    responses((status = 200, description = "Anchor removed", body = Anchor), crate::openapi::Errors))]
async fn unset_anchor(
    state: web::Data<AppState>,
    auth: Auth,
    PathId(id): AgentPath,
) -> Result<HttpResponse, ApiError> {
    anchor(state, auth, id, false).await
}
