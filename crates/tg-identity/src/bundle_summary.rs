//! What an operator is shown of a trust bundle.

use serde::Serialize;

/// What an operator sees of a bundle (`GET /admin/trust-bundles`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BundleSummary {
    pub trust_domain: String,
    pub x509_authorities: usize,
    pub jwt_authorities: Vec<String>,
}
