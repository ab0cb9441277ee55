//! The error envelope of every 4xx/5xx answer.

use serde::{Deserialize, Serialize};

/// Every error: a machine-readable `code` and a human `detail`. Some carry more fields
/// beside them (a failed decision adds `allowed: false` and `reason`; a refused delegation
/// adds `trust_result`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"code": "not_found", "detail": "agent `ag_0123456789abcdef01234567` not found"})))]
pub struct ErrorBody {
    /// Stable, snake_case: `invalid_request`, `not_found`, `unauthorized`, …
    pub code: String,
    pub detail: String,
}
