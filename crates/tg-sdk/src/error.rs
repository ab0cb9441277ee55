//! What can go wrong talking to the gateway.

use std::time::Duration;

/// An SDK error. Gateway refusals keep the gateway's own `code` and `detail`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// The gateway answered with a 4xx or 5xx.
    #[error("the gateway answered {status} {code}: {detail}")]
    Api {
        status: u16,
        /// The envelope's `code` (`not_found`, `unauthorized`, …), or `http_<status>` when
        /// the answer carried no envelope (a proxy's error page, say).
        code: String,
        detail: String,
    },
    /// No answer in time.
    #[error("the gateway did not answer within {0:?}")]
    Timeout(Duration),
    /// The gateway could not be reached, or the connection broke.
    #[error("cannot reach the gateway: {0}")]
    Transport(String),
    /// A 2xx whose body is not what the API documents.
    #[error("unexpected answer from the gateway (HTTP {status}): {detail}")]
    InvalidResponse { status: u16, detail: String },
    /// The request could not be built (bad base URL, bad header value).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The live feed's WebSocket failed or was closed by the gateway.
    #[error("live feed: {0}")]
    LiveFeed(String),
    /// A token failed offline verification.
    #[error("token refused: {0}")]
    Token(#[from] tg_tokens::TokenError),
    /// A valid token that does not permit the action.
    #[error("the token does not permit `{0}`")]
    NotPermitted(String),
    /// The blocking client was called on an async runtime's thread, where blocking would
    /// stall the runtime (use [`crate::Client`] there).
    #[error("the blocking client cannot run inside an async runtime; use tg_sdk::Client")]
    BlockingInAsync,
}

impl Error {
    /// The HTTP status of a gateway refusal.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Api { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The gateway's error code (`not_found`, `forbidden`, …) of a refusal.
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Api { code, .. } => Some(code),
            _ => None,
        }
    }

    /// Whether the gateway answered 404.
    pub fn is_not_found(&self) -> bool {
        self.status() == Some(404)
    }
}
