//! The `DPoP` request header (RFC 9449): a proof of possession presented to a token
//! endpoint, checked for this request before the token is issued.

use actix_web::HttpRequest;
use actix_web::http::StatusCode;
use tg_service::Gateway;
use tg_tokens::{DpopProof, DpopTarget};

use crate::error::ApiError;

/// The request's `DPoP` proof, checked against its method and URI (scheme and host as the
/// connection info gives them, honouring `Forwarded` from a proxy) and recorded against
/// replay; `None` without the header. More than one header, or a bad proof, is 400
/// `invalid_dpop_proof` (RFC 9449 §5, §7.1).
pub(crate) fn presented(
    req: &HttpRequest,
    gateway: &Gateway,
) -> Result<Option<DpopProof>, ApiError> {
    let refused = |why: String| ApiError::oauth(StatusCode::BAD_REQUEST, "invalid_dpop_proof", why);
    let mut headers = req.headers().get_all("dpop");
    let Some(value) = headers.next() else {
        return Ok(None);
    };
    if headers.next().is_some() {
        return Err(refused("send exactly one `DPoP` header".into()));
    }
    let proof = value
        .to_str()
        .map_err(|_| refused("the `DPoP` header is not ASCII".into()))?;
    let uri = format!("{}{}", crate::origin(req), req.path());
    let target = DpopTarget {
        method: req.method().as_str(),
        uri: &uri,
    };
    gateway
        .check_dpop(proof, target)
        .map(Some)
        .map_err(|e| refused(e.to_string()))
}

/// `token_type` of a token bound to a key (`DPoP`) or not (`Bearer`).
pub(crate) fn token_type(jkt: Option<&str>) -> &'static str {
    if jkt.is_some() { "DPoP" } else { "Bearer" }
}
