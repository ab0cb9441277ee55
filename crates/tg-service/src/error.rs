use tg_core::StoreError;

/// What a use case can fail with. The API maps each to one status code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServiceError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    TooMany(String),
    #[error("{0}")]
    Unavailable(String),
    #[error("{0}")]
    Internal(String),
}

impl ServiceError {
    pub fn agent_not_found(id: &str) -> Self {
        ServiceError::NotFound(format!(
            "agent `{}` not found",
            id.chars().take(64).collect::<String>()
        ))
    }

    /// A short machine-readable code for the error envelope.
    pub fn code(&self) -> &'static str {
        match self {
            ServiceError::NotFound(_) => "not_found",
            ServiceError::Invalid(_) => "invalid_request",
            ServiceError::Conflict(_) => "conflict",
            ServiceError::Unauthorized(_) => "unauthorized",
            ServiceError::Forbidden(_) => "forbidden",
            ServiceError::TooMany(_) => "too_many_requests",
            ServiceError::Unavailable(_) => "unavailable",
            ServiceError::Internal(_) => "internal_error",
        }
    }
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ServiceError::NotFound("not found".into()),
            StoreError::Conflict(m) => ServiceError::Conflict(m),
            StoreError::Taken(rule) => ServiceError::Conflict(rule.to_string()),
            StoreError::Unavailable(m) => {
                ServiceError::Unavailable(format!("store unavailable: {m}"))
            }
            StoreError::Other(m) => ServiceError::Internal(m),
        }
    }
}
