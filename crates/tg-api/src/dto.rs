//! Wire shapes shared by several modules (the types themselves live in `tg-wire`).

pub(crate) use tg_wire::Page;
pub(crate) use tg_wire::agents::{
    AgentOut, AttestationRequest, Breakdown, Card, RegisterRequest, VerifyRequest,
};
pub(crate) use tg_wire::authorize::{AuthorizeRequest, BatchRequest, Decision};
pub(crate) use tg_wire::receipts::RecordRequest;

pub(crate) use crate::json_body::Json;

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

/// An optional JSON body: empty or `null` means `T::default()`; anything else must be a
/// JSON object of `T` (400 if it is not JSON, 422 if it is not a `T`).
pub(crate) fn optional_json<T: serde::de::DeserializeOwned + Default>(
    body: &[u8],
) -> Result<T, crate::ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    let value: serde_json::Value = serde_json::from_slice(body).map_err(|e| {
        crate::ApiError::new(
            actix_web::http::StatusCode::BAD_REQUEST,
            "malformed_json",
            format!("malformed JSON: {e}"),
        )
    })?;
    if value.is_null() {
        return Ok(T::default());
    }
    object_of(value)
}

/// `T` from a JSON value that must be an object: serde would also build a struct from an
/// array of its fields' values, which no client means.
pub(crate) fn object_of<T: serde::de::DeserializeOwned>(
    value: serde_json::Value,
) -> Result<T, crate::ApiError> {
    let invalid = |detail: String| {
        crate::ApiError::new(
            actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
            detail,
        )
    };
    if value.is_array() {
        return Err(invalid(
            "the request body must be a JSON object, not an array".into(),
        ));
    }
    serde_json::from_value(value).map_err(|e| invalid(format!("invalid request body: {e}")))
}

/// A 200 answer of `value` as JSON, written into one buffer of `capacity` bytes, the
/// answer's usual size. (`HttpResponse::json` starts at 128 bytes and copies a 2 KiB
/// trust breakdown four times as the buffer doubles.)
pub(crate) fn json_ok<T: serde::Serialize>(
    value: &T,
    capacity: usize,
) -> Result<actix_web::HttpResponse, crate::ApiError> {
    let mut body = Vec::with_capacity(capacity);
    serde_json::to_writer(&mut body, value).map_err(|e| {
        tg_service::ServiceError::internal_because("the answer could not be written as JSON", e)
    })?;
    Ok(actix_web::HttpResponse::Ok()
        .content_type(actix_web::http::header::ContentType::json())
        .body(body))
}
