//! The OAuth token endpoint, `POST /oauth/token`: token exchange (RFC 8693).

use serde::{Deserialize, Serialize};

/// The grant type of a token exchange (RFC 8693 §2.1).
pub const TOKEN_EXCHANGE_GRANT: &str = "urn:ietf:params:oauth:grant-type:token-exchange";

/// RFC 8693 §2.1 request, form-encoded. `audience` and `resource` may be repeated.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenExchangeRequest {
    /// `urn:ietf:params:oauth:grant-type:token-exchange`.
    pub grant_type: String,
    /// A gateway token, or a JWT-SVID of an agent that holds its SPIFFE ID.
    pub subject_token: String,
    /// `urn:ietf:params:oauth:token-type:access_token` or `…:jwt` (`…:jwt` for a JWT-SVID).
    pub subject_token_type: String,
    /// The acting agent's own gateway token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor_token: Option<String>,
    /// Required with `actor_token`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor_token_type: Option<String>,
    /// `…:access_token` (the default) or `…:jwt`: both are the same signed JWT.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_token_type: Option<String>,
    /// Space-separated actions to narrow the grant to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// The token's audience (repeatable); replaces the gateway's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
    /// An RFC 8707 resource indicator, an absolute URI (repeatable); added to `aud`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
}

/// RFC 8693 §2.2.1 response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenExchangeResponse {
    pub access_token: String,
    pub issued_token_type: String,
    /// `Bearer`.
    pub token_type: String,
    pub expires_in: i64,
    /// The actions granted, space-separated.
    pub scope: String,
}

/// RFC 6749 §5.2 error body, as the token endpoint answers refusals, with the gateway's
/// usual `code` and `detail` beside it (the same words).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OAuthErrorBody {
    /// `invalid_request`, `invalid_client`, `invalid_grant`, `unauthorized_client`,
    /// `unsupported_grant_type`, `invalid_scope` or `invalid_target`.
    pub error: String,
    pub error_description: String,
    pub code: String,
    pub detail: String,
}
