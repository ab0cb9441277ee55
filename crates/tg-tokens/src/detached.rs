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

impl From<crate::DetachedJws> for DetachedSignature {
    fn from(jws: crate::DetachedJws) -> Self {
        Self {
            protected: jws.protected,
            signature: jws.signature,
        }
    }
}

impl From<&DetachedSignature> for crate::DetachedJws {
    fn from(s: &DetachedSignature) -> Self {
        Self {
            protected: s.protected.clone(),
            signature: s.signature.clone(),
        }
    }
}
