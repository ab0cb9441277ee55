//! Detached JWS signatures (RFC 7515 appendix F) over RFC 8785 JSON.

use serde::{Deserialize, Serialize};

/// RFC 7515 JWS with detached payload: `protected` and `signature`, base64url. Rebuild
/// `protected.<base64url(JCS(value))>.signature` to verify.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DetachedSignature {
    pub protected: String,
    pub signature: String,
}
