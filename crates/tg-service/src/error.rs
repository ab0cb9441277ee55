use std::error::Error;

use tg_core::{Cause, StoreError};

use crate::Conflict;

/// What a use case can fail with. The API maps each to one status code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServiceError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Conflict(Conflict),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    TooMany(String),
    /// A dependency (the store) cannot serve now; the cause is for the log.
    #[error("{context}")]
    Unavailable {
        context: String,
        #[source]
        cause: Option<Cause>,
    },
    /// A fault of ours; the cause is for the log, never for the client.
    #[error("{context}")]
    Internal {
        context: String,
        #[source]
        cause: Option<Cause>,
    },
}

impl ServiceError {
    pub fn internal(context: impl Into<String>) -> Self {
        Self::Internal {
            context: context.into(),
            cause: None,
        }
    }

    /// Internal, because of `cause`, which the log shows under `context`.
    pub fn internal_because(
        context: impl Into<String>,
        cause: impl Error + Send + Sync + 'static,
    ) -> Self {
        Self::Internal {
            context: context.into(),
            cause: Some(Cause::new(cause)),
        }
    }

    pub fn unavailable(context: impl Into<String>) -> Self {
        Self::Unavailable {
            context: context.into(),
            cause: None,
        }
    }

    pub fn agent_not_found(id: &str) -> Self {
        Self::not_found("agent", id)
    }

    /// A vouch for the agent addressed, unknown or not the caller's to see.
    pub fn vouch_not_found(id: &str) -> Self {
        ServiceError::NotFound(format!("no active vouch `{}` for this agent", shown(id)))
    }

    /// No delivery of the outbox event `event_id` to the endpoint addressed (unknown, or
    /// not an event id at all).
    pub fn no_delivery(event_id: &str) -> Self {
        ServiceError::NotFound(format!(
            "no delivery of `{}` to this endpoint",
            shown(event_id)
        ))
    }

    /// "`noun` `id` not found", with at most 64 characters of `id`: how an unknown id and
    /// a malformed one are both answered.
    pub fn not_found(noun: &str, id: &str) -> Self {
        ServiceError::NotFound(format!("{noun} `{}` not found", shown(id)))
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
            ServiceError::Unavailable { .. } => "unavailable",
            ServiceError::Internal { .. } => "internal_error",
        }
    }
}

/// At most 64 characters of an id a caller sent, to echo back.
fn shown(id: &str) -> String {
    id.chars().take(64).collect()
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ServiceError::NotFound("not found".into()),
            StoreError::Conflict(m) => ServiceError::Conflict(Conflict::Refused(m)),
            StoreError::Taken(rule) => ServiceError::Conflict(Conflict::Taken(rule)),
            e @ StoreError::Unavailable { .. } => ServiceError::Unavailable {
                context: "the store is unavailable".into(),
                cause: Some(Cause::new(e)),
            },
            e @ StoreError::Other { .. } => ServiceError::Internal {
                context: "the store failed".into(),
                cause: Some(Cause::new(e)),
            },
        }
    }
}
