use std::future::Future;
use std::pin::Pin;

use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use tg_access::Principal;
use tg_audit::Actor;

use crate::{ApiError, AppState};

/// The authenticated caller (`X-API-Key`) and the audit actor of the request.
#[derive(Debug, Clone)]
pub(crate) struct Auth {
    pub principal: Principal,
    pub actor: Actor,
}

pub(crate) fn state(req: &HttpRequest) -> Result<web::Data<AppState>, ApiError> {
    req.app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| tg_service::ServiceError::Internal("application state missing".into()).into())
}

impl FromRequest for Auth {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let key = req.headers().get("x-api-key").map(|v| v.to_str().map(str::to_owned));
        let ip = req.peer_addr().map(|a| a.ip().to_string());
        let state = state(req);
        Box::pin(async move {
            let state = state?;
            let key = match key {
                None => None,
                Some(Ok(k)) => Some(k),
                Some(Err(_)) => return Err(tg_service::ServiceError::Unauthorized("invalid API key".into()).into()),
            };
            state
                .call(move |g| async move {
                    let principal = g.authenticate(key.as_deref()).await?;
                    let actor = g.actor(Some(&principal), ip.as_deref());
                    Ok(Auth { principal, actor })
                })
                .await
        })
    }
}
