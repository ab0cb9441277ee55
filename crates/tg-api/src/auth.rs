use std::future::{Ready, ready};

use actix_web::body::MessageBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use tg_access::Principal;
use tg_audit::Actor;

use crate::{ApiError, AppState};

/// The authenticated caller (`X-API-Key`) and the audit actor of the request.
#[derive(Debug, Clone)]
pub(crate) struct Auth {
    pub principal: Principal,
    pub actor: Actor,
}

/// A connection's peer address and its audit hash, taken once when the connection opens
/// ([`connection_peer`]) instead of at every request on it.
#[derive(Debug)]
pub(crate) struct ConnectionPeer {
    ip: std::net::IpAddr,
    ip_hash: String,
}

/// `HttpServer::on_connect`: notes a TCP connection's peer and its hash in the
/// connection's data.
pub(crate) fn connection_peer(
    gateway: &tg_service::Gateway,
    conn: &dyn std::any::Any,
    data: &mut actix_web::dev::Extensions,
) {
    let peer = conn
        .downcast_ref::<actix_web::rt::net::TcpStream>()
        .and_then(|stream| stream.peer_addr().ok());
    if let Some(peer) = peer {
        let ip = peer.ip();
        data.insert(ConnectionPeer {
            ip,
            ip_hash: gateway.ip_hash(&ip.to_string()),
        });
    }
}

/// The audit hash of the request's peer address: the connection's, taken when it opened,
/// or hashed now when the connection holds none (or another address).
pub(crate) fn peer_ip_hash(gateway: &tg_service::Gateway, req: &HttpRequest) -> Option<String> {
    let ip = req.peer_addr()?.ip();
    Some(match req.conn_data::<ConnectionPeer>() {
        Some(conn) if conn.ip == ip => conn.ip_hash.clone(),
        _ => gateway.ip_hash(&ip.to_string()),
    })
}

fn state(req: &HttpRequest) -> Result<web::Data<AppState>, ApiError> {
    req.app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| tg_service::ServiceError::internal("application state missing").into())
}

/// Authenticates every request but the public ones *before* any body or query is read, so
/// an unauthenticated caller learns nothing from validation errors: it gets 401.
pub(crate) async fn authenticate(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    // Swagger UI's asset files are served outside the route table.
    if crate::route_match::matched(&req).public
        || req.path().starts_with(crate::openapi::DOCS_PREFIX)
    {
        return next.call(req).await;
    }
    match admit(&req).await {
        Ok(Some(auth)) => {
            req.extensions_mut().insert(auth);
            next.call(req).await
        }
        Ok(None) => next.call(req).await,
        // The OAuth token endpoint words a refused key as RFC 6749 does.
        Err(e) if req.path() == crate::oauth::TOKEN_PATH => Err(e.for_token_endpoint().into()),
        Err(e) => Err(e.into()),
    }
}

/// The caller of a non-public route: `None` when the route is open anyway (public
/// metrics), an error when the key is missing, refused or over its plan's rate.
async fn admit(req: &ServiceRequest) -> Result<Option<Auth>, ApiError> {
    let state = state(req.request())?;
    if req.path() == crate::metrics::PATH && state.metrics_public {
        return Ok(None);
    }
    let key = match req
        .headers()
        .get("x-api-key")
        .map(|v| v.to_str().map(str::to_owned))
    {
        None => None,
        Some(Ok(k)) => Some(k),
        Some(Err(_)) => {
            return Err(ApiError::from(tg_service::ServiceError::Unauthorized(
                "invalid API key".into(),
            )));
        }
    };
    let peer = req.peer_addr().map(|a| a.ip());
    if let Some(wait) = peer.and_then(|ip| state.limiters.auth_blocked(ip)) {
        return Err(too_many_failures(wait));
    }
    let presented = key.is_some();
    let ip_hash = peer_ip_hash(&state.gateway, req.request());
    // From memory when it can answer (no hand-off to the runtime), else as a use case.
    let auth = match state.gateway.authenticate_now(key.as_deref()) {
        Some(answer) => answer
            .map(|principal| {
                let actor = state.gateway.actor(Some(&principal), ip_hash);
                Auth { principal, actor }
            })
            .map_err(ApiError::from),
        None => {
            state
                .call(move |g| async move {
                    let principal = g.authenticate(key.as_deref()).await?;
                    let actor = g.actor(Some(&principal), ip_hash);
                    Ok(Auth { principal, actor })
                })
                .await
        }
    };
    let auth = match auth {
        Ok(auth) => auth,
        // A key presented and refused counts against its source address.
        Err(e) if presented && e.status() == actix_web::http::StatusCode::UNAUTHORIZED => {
            if let Some(wait) = peer.and_then(|ip| state.limiters.auth_failed(ip)) {
                return Err(too_many_failures(wait));
            }
            return Err(e);
        }
        Err(e) => return Err(e),
    };
    if let Err(wait) = state.limiters.check(&auth.principal) {
        let e = ApiError::new(
            actix_web::http::StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!(
                "rate limit of the `{}` plan reached; retry in {wait} s",
                auth.principal.plan.as_str()
            ),
        );
        return Err(e.retry_after(wait));
    }
    Ok(Some(auth))
}

fn too_many_failures(wait: u64) -> ApiError {
    ApiError::new(
        actix_web::http::StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
        format!("too many refused API keys from this address; retry in {wait} s"),
    )
    .retry_after(wait)
}

impl FromRequest for Auth {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        // Set by `authenticate`; absent only if a route were mounted outside it.
        ready(
            req.extensions().get::<Auth>().cloned().ok_or_else(|| {
                tg_service::ServiceError::Unauthorized("missing API key".into()).into()
            }),
        )
    }
}
