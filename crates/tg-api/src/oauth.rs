//! `POST /oauth/token`: the OAuth token endpoint, for token exchange (RFC 8693). Refusals
//! carry RFC 6749 §5.2's `error` and `error_description` beside the usual `code` and
//! `detail`.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use tg_service::{ExchangeError, TokenExchange};
use tg_wire::oauth::{
    OAuthErrorBody, TOKEN_EXCHANGE_GRANT, TokenExchangeRequest, TokenExchangeResponse,
};

use crate::auth::Auth;
use crate::error::ApiError;
use crate::routes::Routes;
use crate::{AppState, dto};

/// The token endpoint's path.
pub(crate) const TOKEN_PATH: &str = "/oauth/token";

pub(crate) fn routes(r: &mut Routes) {
    r.post(TOKEN_PATH, token);
}

fn invalid_request(why: impl Into<String>) -> ApiError {
    ApiError::oauth(StatusCode::BAD_REQUEST, "invalid_request", why)
}

/// The form's parameters by name, every value kept; empty values count as omitted
/// (RFC 6749 §3.1).
fn parameters(body: &[u8]) -> HashMap<String, Vec<String>> {
    let mut params: HashMap<String, Vec<String>> = HashMap::new();
    for (name, value) in url::form_urlencoded::parse(body) {
        if !value.is_empty() {
            params
                .entry(name.into_owned())
                .or_default()
                .push(value.into_owned());
        }
    }
    params
}

/// A parameter that may be given once (RFC 6749 §3.2); unknown parameters are ignored.
fn once(params: &mut HashMap<String, Vec<String>>, name: &str) -> Result<Option<String>, ApiError> {
    match params.remove(name) {
        None => Ok(None),
        Some(mut v) if v.len() == 1 => Ok(v.pop()),
        Some(_) => Err(invalid_request(format!("`{name}` is given more than once"))),
    }
}

/// Exchanges a token (RFC 8693): the subject token (a gateway token, or a JWT-SVID) for a
/// new one, optionally with the acting agent's token as `actor_token`. An actor needs an
/// open delegation from the token's current holder (accepted, no outcome yet) and trust at
/// the delegation's threshold; it is added to the `act` chain. The grant is the
/// intersection of the chain's permitted actions, narrowed by `scope`; `audience` and
/// `resource` set `aud`. The caller's account must own the agent that will hold the token.
/// A `DPoP` proof header binds the new token to the proof's key (RFC 9449 §5); a bound
/// subject or actor token is refused here (it needs its own proof).
#[utoipa::path(post, path = "/oauth/token", tag = "tokens", operation_id = "exchange_token",
    params(("DPoP" = Option<String>, Header, description = "A DPoP proof (RFC 9449) for `POST` to this URL: binds the new token to its key")),
    request_body(content = TokenExchangeRequest, content_type = "application/x-www-form-urlencoded",
        description = "RFC 8693 §2.1; `audience` and `resource` may be repeated"),
    responses((status = 200, description = "The new token (`Cache-Control: no-store`)", body = TokenExchangeResponse),
        (status = 400, description = "`invalid_request`, `invalid_grant`, `unauthorized_client`, `unsupported_grant_type`, `invalid_scope`, `invalid_target` or `invalid_dpop_proof`", body = OAuthErrorBody),
        (status = 401, description = "`invalid_client`: no API key, or an unknown or revoked one", body = OAuthErrorBody),
        (status = 429, description = "The plan's rate limit is reached; `Retry-After` says when to retry.", body = crate::openapi::ErrorBody),
        (status = 503, description = "The trust store is unavailable.", body = crate::openapi::ErrorBody)))]
async fn token(
    state: web::Data<AppState>,
    auth: Auth,
    req: HttpRequest,
    body: dto::RawBody,
) -> Result<HttpResponse, ApiError> {
    let form = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/x-www-form-urlencoded"));
    if !form {
        return Err(invalid_request(
            "send the parameters as application/x-www-form-urlencoded (RFC 6749 §3.2)",
        ));
    }
    let dpop = crate::dpop::presented(&req, &state.gateway)?;
    let mut params = parameters(&body);
    let mut one = |name: &str| once(&mut params, name);
    match one("grant_type")?.as_deref() {
        None => return Err(invalid_request("`grant_type` is required")),
        Some(TOKEN_EXCHANGE_GRANT) => {}
        Some(_) => {
            return Err(ApiError::oauth(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                format!("the only grant type is `{TOKEN_EXCHANGE_GRANT}`"),
            ));
        }
    }
    let mut required =
        |name: &str| one(name)?.ok_or_else(|| invalid_request(format!("`{name}` is required")));
    let subject_token = required("subject_token")?;
    let subject_token_type = required("subject_token_type")?;
    let exchange = TokenExchange {
        subject_token,
        subject_token_type,
        actor_token: one("actor_token")?,
        actor_token_type: one("actor_token_type")?,
        requested_token_type: one("requested_token_type")?,
        scope: one("scope")?,
        audience: params.remove("audience").unwrap_or_default(),
        resource: params.remove("resource").unwrap_or_default(),
        dpop,
    };
    let outcome = state
        .call(move |g| async move {
            match g
                .exchange_token(&auth.principal, &auth.actor, exchange)
                .await
            {
                Ok(x) => Ok(Ok(x)),
                Err(ExchangeError::Refused(code, why)) => Ok(Err((code, why))),
                Err(ExchangeError::Service(e)) => Err(e),
            }
        })
        .await?;
    let x = outcome
        .map_err(|(code, why)| ApiError::oauth(StatusCode::BAD_REQUEST, code.as_str(), why))?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .insert_header(("Pragma", "no-cache"))
        .json(TokenExchangeResponse {
            access_token: x.issued.token,
            issued_token_type: x.issued_token_type.to_owned(),
            token_type: crate::dpop::token_type(x.jkt.as_deref()).to_owned(),
            expires_in: x.expires_in,
            scope: x.permitted_actions.join(" "),
        }))
}
