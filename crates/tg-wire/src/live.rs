//! The live dashboard feed (`/ws/dashboard`) and its tickets.

use serde::{Deserialize, Serialize};
pub use tg_audit::LiveEvent;

/// A single-use ticket for `/ws/dashboard?ticket=…`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Ticket {
    pub ticket: String,
    /// Seconds the ticket stays redeemable.
    pub expires_in: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct DashboardQuery {
    /// From `POST /ws/ticket`, when the client cannot send `X-API-Key`.
    pub ticket: Option<String>,
}
