use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};
use tg_core::{AgentId, Timestamp, VouchId};
use tg_service::{NewVouch, Vouched};
use tg_vouch::{Direction, Vouch};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Auth;
use crate::routes::Routes;
use crate::{ApiError, AppState};

pub(crate) fn routes(r: &mut Routes) {
    r.post("/agents/{id}/vouches", create)
        .get("/agents/{id}/vouches", list)
        .delete("/agents/{id}/vouches/{vouch_id}", revoke)
        .put("/agents/{id}/anchor", set_anchor)
        .delete("/agents/{id}/anchor", unset_anchor);
}

/// One agent vouching for another.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct VouchOut {
    #[schema(value_type = String)]
    vouch_id: VouchId,
    #[schema(value_type = String)]
    from_agent: AgentId,
    #[schema(value_type = String)]
    to_agent: AgentId,
    /// In (0, 1].
    weight: f64,
    note: Option<String>,
    /// The voucher's Ed25519 signature (base64), when given.
    signature: Option<String>,
    signed: bool,
    created_at: Timestamp,
    updated_at: Timestamp,
    revoked_at: Option<Timestamp>,
}

impl From<&Vouch> for VouchOut {
    fn from(v: &Vouch) -> Self {
        Self {
            vouch_id: v.id.clone(),
            from_agent: v.from_agent.clone(),
            to_agent: v.to_agent.clone(),
            weight: v.weight,
            note: v.note.clone(),
            signature: v.signature.clone(),
            signed: v.signature.is_some(),
            created_at: v.created_at,
            updated_at: v.updated_at,
            revoked_at: v.revoked_at,
        }
    }
}

/// A page of an agent's vouches.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct VouchPage {
    agent_id: String,
    /// `received` or `given`.
    direction: String,
    vouches: Vec<VouchOut>,
    next_offset: Option<u32>,
}

/// Whether the agent is a trust anchor (its vouches count in full).
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Anchor {
    agent_id: String,
    anchor: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct VouchRequest {
    /// The voucher, an agent of the caller's account.
    from_agent: String,
    /// In (0, 1].
    weight: f64,
    note: Option<String>,
    signature: Option<String>,
}

/// `from_agent` vouches for the agent (again: the vouch is updated).
#[utoipa::path(post, path = "/agents/{id}/vouches", tag = "vouches", operation_id = "create_vouch",
    params(crate::openapi::AgentPath), request_body = VouchRequest,
    responses((status = 201, description = "Created", body = VouchOut),
        (status = 200, description = "An existing vouch updated", body = VouchOut), crate::openapi::Errors))]
async fn create(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<String>,
    body: web::Json<VouchRequest>,
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
        HttpResponse::Created().json(VouchOut::from(&v))
    } else {
        HttpResponse::Ok().json(VouchOut::from(&v))
    })
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    /// `received` (vouches for the agent) or `given` (by it).
    #[serde(default = "received")]
    #[param(default = "received")]
    direction: String,
    #[serde(default)]
    offset: u32,
    #[serde(default = "crate::dto::default_page_limit")]
    #[param(default = 100)]
    limit: u32,
}

fn received() -> String {
    "received".into()
}

/// The agent's vouches, received or given.
#[utoipa::path(get, path = "/agents/{id}/vouches", tag = "vouches", operation_id = "list_vouches",
    params(crate::openapi::AgentPath, ListQuery),
    responses((status = 200, description = "A page of vouches", body = VouchPage), crate::openapi::Errors))]
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
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (id, vouch_id) = path.into_inner();
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
    id: String,
    on: bool,
) -> Result<HttpResponse, ApiError> {
    let agent = id.clone();
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
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    anchor(state, auth, id.into_inner(), true).await
}

/// Removes the agent's trust-anchor mark. Admin only.
#[utoipa::path(delete, path = "/agents/{id}/anchor", tag = "vouches", operation_id = "unset_anchor",
    params(crate::openapi::AgentPath),
    responses((status = 200, description = "Anchor removed", body = Anchor), crate::openapi::Errors))]
async fn unset_anchor(
    state: web::Data<AppState>,
    auth: Auth,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    anchor(state, auth, id.into_inner(), false).await
}
