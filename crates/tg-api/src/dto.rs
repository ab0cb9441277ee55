//! Wire shapes shared by several modules (the types themselves live in `tg-wire`).

pub(crate) use tg_wire::Page;
pub(crate) use tg_wire::agents::{
    AgentOut, AttestationRequest, Breakdown, Card, RegisterRequest, VerifyRequest,
};
pub(crate) use tg_wire::authorize::{AuthorizeRequest, BatchRequest, Decision};
pub(crate) use tg_wire::receipts::RecordRequest;

/// An optional JSON body: empty means `T::default()`, anything else must parse (422 if not).
/// A raw request body (the routes whose body is optional or not only JSON), at most
/// [`crate::MAX_BODY_BYTES`]: a larger one is a JSON 413 like every other route's, not
/// actix's plain-text answer.
pub(crate) struct RawBody(actix_web::web::Bytes);

impl std::ops::Deref for RawBody {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl actix_web::FromRequest for RawBody {
    type Error = crate::ApiError;
    type Future =
        std::pin::Pin<Box<dyn std::future::Future<Output = Result<Self, crate::ApiError>>>>;

    fn from_request(
        req: &actix_web::HttpRequest,
        payload: &mut actix_web::dev::Payload,
    ) -> Self::Future {
        let bytes = actix_web::web::Bytes::from_request(req, payload);
        Box::pin(async move {
            bytes.await.map(RawBody).map_err(|e| {
                let status = e.as_response_error().status_code();
                if status == actix_web::http::StatusCode::PAYLOAD_TOO_LARGE {
                    crate::ApiError::new(
                        status,
                        "payload_too_large",
                        format!("request body exceeds {} bytes", crate::MAX_BODY_BYTES),
                    )
                } else {
                    crate::ApiError::new(
                        actix_web::http::StatusCode::BAD_REQUEST,
                        "bad_request",
                        format!("unreadable request body: {e}"),
                    )
                }
            })
        })
    }
}

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
