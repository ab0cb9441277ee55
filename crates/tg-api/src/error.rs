use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use serde_json::json;
use tg_service::ServiceError;

use crate::MAX_BODY_BYTES;

/// Every error the API answers with: a status and `{"detail", "code"}`.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    detail: String,
    /// Extra fields merged into the body (e.g. `allowed: false` on a failed decision).
    extra: Option<Box<serde_json::Value>>,
    retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        Self {
            status,
            code,
            detail: detail.into(),
            extra: None,
            retry_after: None,
        }
    }

    pub fn with(mut self, extra: serde_json::Value) -> Self {
        self.extra = Some(Box::new(extra));
        self
    }

    pub fn retry_after(mut self, secs: u64) -> Self {
        self.retry_after = Some(secs);
        self
    }

    /// An RFC 6749 §5.2 refusal of the token endpoint: `error` and `error_description`
    /// beside the usual `code` and `detail`.
    pub fn oauth(status: StatusCode, error: &'static str, description: impl Into<String>) -> Self {
        let description = description.into();
        Self::new(status, error, description.clone())
            .with(json!({"error": error, "error_description": description}))
    }

    /// This error as the token endpoint words it: a refused or missing key is RFC 6749's
    /// `invalid_client`.
    pub(crate) fn for_token_endpoint(self) -> Self {
        if self.status == StatusCode::UNAUTHORIZED && self.extra.is_none() {
            let description = self.detail.clone();
            self.with(json!({"error": "invalid_client", "error_description": description}))
        } else {
            self
        }
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status.as_u16(), self.code, self.detail)
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        let status = match &e {
            ServiceError::NotFound(_) => StatusCode::NOT_FOUND,
            ServiceError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ServiceError::Conflict(_) => StatusCode::CONFLICT,
            ServiceError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ServiceError::Forbidden(_) => StatusCode::FORBIDDEN,
            ServiceError::TooMany(_) => StatusCode::TOO_MANY_REQUESTS,
            ServiceError::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ServiceError::Internal { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        };
        match e {
            // Never leak internals: the error and every cause under it go to the log, the
            // client gets a generic line.
            e @ ServiceError::Internal { .. } => {
                tracing::error!(error = %tg_core::ErrorChain(&e), "internal error");
                ApiError::new(status, "internal_error", "internal server error")
            }
            e @ ServiceError::Unavailable { .. } => {
                tracing::error!(error = %tg_core::ErrorChain(&e), "store unavailable");
                ApiError::new(
                    status,
                    "unavailable",
                    "the trust store is unavailable; try again",
                )
            }
            other => ApiError::new(status, other.code(), other.to_string()),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut body = json!({"detail": self.detail, "code": self.code});
        if let (Some(serde_json::Value::Object(extra)), Some(obj)) =
            (self.extra.as_deref(), body.as_object_mut())
        {
            obj.extend(extra.clone());
        }
        let mut resp = HttpResponse::build(self.status);
        if let Some(secs) = self.retry_after {
            resp.insert_header(("Retry-After", secs.to_string()));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            resp.insert_header(("WWW-Authenticate", "ApiKey header=\"X-API-Key\""));
        }
        resp.json(body)
    }
}

/// How a JSON body that could not be read is answered.
pub(crate) fn json_error(err: &JsonPayloadError) -> ApiError {
    match err {
        JsonPayloadError::OverflowKnownLength { .. } | JsonPayloadError::Overflow { .. } => {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("request body exceeds {MAX_BODY_BYTES} bytes"),
            )
        }
        JsonPayloadError::ContentType => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the body as `application/json`",
        ),
        JsonPayloadError::Deserialize(de) if de.is_data() => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_request",
            format!("invalid request body: {de}"),
        ),
        JsonPayloadError::Deserialize(de) => ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed_json",
            format!("malformed JSON: {de}"),
        ),
        other => ApiError::new(StatusCode::BAD_REQUEST, "bad_request", other.to_string()),
    }
}

pub(crate) fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|err: QueryPayloadError, _req| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_query",
            format!("invalid query string: {err}"),
        )
        .into()
    })
}

pub(crate) fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|err: PathError, _req| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("not found: {err}"),
        )
        .into()
    })
}

/// A known path asked with a method it does not serve.
pub(crate) fn method_not_allowed(req: &HttpRequest, allow: &str) -> HttpResponse {
    let path: String = req.path().chars().take(200).collect();
    let mut answer = ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("{} is not served on {path}; allowed: {allow}", req.method()),
    )
    .error_response();
    if let Ok(value) = actix_web::http::header::HeaderValue::from_str(allow) {
        answer
            .headers_mut()
            .insert(actix_web::http::header::ALLOW, value);
    }
    answer
}

/// Unknown routes.
pub(crate) fn not_found(req: &HttpRequest) -> HttpResponse {
    let path: String = req.path().chars().take(200).collect();
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        format!("no route for {} {path}", req.method()),
    )
    .error_response()
}
