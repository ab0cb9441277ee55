//! Wire shapes shared by several modules (the types themselves live in `tg-wire`).

pub(crate) use tg_wire::Page;
pub(crate) use tg_wire::agents::{
    AgentOut, AttestationRequest, Breakdown, Card, RegisterRequest, VerifyRequest,
};
pub(crate) use tg_wire::authorize::{AuthorizeRequest, BatchRequest, Decision};
pub(crate) use tg_wire::policy::Tiers;
pub(crate) use tg_wire::receipts::RecordRequest;

/// An optional JSON body: empty means `T::default()`, anything else must parse (422 if not).
pub(crate) fn optional_json<T: serde::de::DeserializeOwned + Default>(
    body: &[u8],
) -> Result<T, crate::ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|e| {
        crate::ApiError::new(
            actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
            format!("invalid request body: {e}"),
        )
    })
}
