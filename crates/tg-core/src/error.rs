use std::error::Error;
use std::fmt;
use std::sync::Arc;

/// The error underneath another, kept as its [`Error::source`] so the log can print the
/// whole chain. Cheap to clone (one failure may answer several coalesced callers); two
/// causes are equal when they print the same.
#[derive(Clone)]
pub struct Cause(Arc<dyn Error + Send + Sync>);

impl Cause {
    pub fn new(e: impl Error + Send + Sync + 'static) -> Self {
        Self(Arc::new(e))
    }
}

impl From<Box<dyn Error + Send + Sync>> for Cause {
    fn from(e: Box<dyn Error + Send + Sync>) -> Self {
        Self(Arc::from(e))
    }
}

impl fmt::Debug for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl Error for Cause {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        self.0.source()
    }
}

impl PartialEq for Cause {
    fn eq(&self, other: &Self) -> bool {
        self.0.to_string() == other.0.to_string()
    }
}

impl Eq for Cause {}

/// An error and every cause under it, `outer: inner: innermost`: what a log line shows.
#[derive(Debug, Clone, Copy)]
pub struct ErrorChain<'a>(pub &'a (dyn Error + 'static));

impl fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(e) = source {
            write!(f, ": {e}")?;
            source = e.source();
        }
        Ok(())
    }
}

/// The one error vocabulary of every storage adapter (SQLite, PostgreSQL).
///
/// Adapters map their driver errors into these in exactly one place, keeping the driver's
/// error as the cause.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The addressed row does not exist.
    #[error("not found")]
    NotFound,
    /// A uniqueness or concurrency constraint refused the write; nothing was written.
    #[error("conflict: {0}")]
    Conflict(String),
    /// One of the model's uniqueness rules refused the write; nothing was written.
    #[error("conflict: {0}")]
    Taken(Unique),
    /// The store cannot be reached or refused service (connection, pool, timeout).
    #[error("store unavailable: {context}")]
    Unavailable {
        context: String,
        #[source]
        cause: Option<Cause>,
    },
    /// Anything else; the cause is kept for the log, never shown to clients.
    #[error("store error: {context}")]
    Other {
        context: String,
        #[source]
        cause: Option<Cause>,
    },
}

impl StoreError {
    pub fn unavailable(context: impl Into<String>) -> Self {
        Self::Unavailable {
            context: context.into(),
            cause: None,
        }
    }

    /// Unavailable, because of `cause` (the driver's error).
    pub fn unavailable_because(
        context: impl Into<String>,
        cause: impl Error + Send + Sync + 'static,
    ) -> Self {
        Self::Unavailable {
            context: context.into(),
            cause: Some(Cause::new(cause)),
        }
    }

    pub fn other(context: impl Into<String>) -> Self {
        Self::Other {
            context: context.into(),
            cause: None,
        }
    }

    /// Failed, because of `cause` (the driver's error, a stored value's parse error).
    pub fn other_because(
        context: impl Into<String>,
        cause: impl Error + Send + Sync + 'static,
    ) -> Self {
        Self::Other {
            context: context.into(),
            cause: Some(Cause::new(cause)),
        }
    }
}

/// The uniqueness rules of the model a write can run into, so a use case can say which
/// (adapters recognise them by their constraint, in one place).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unique {
    /// An agent's name within its account.
    AgentName,
    /// A SPIFFE ID among unrevoked agents, claimed or held.
    SpiffeId,
    /// An account's name.
    AccountName,
}

impl std::fmt::Display for Unique {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Unique::AgentName => "an agent of this account already has the name",
            Unique::SpiffeId => "an active agent already has the SPIFFE ID",
            Unique::AccountName => "an account already has the name",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("disk I/O error")]
    struct Driver(#[source] std::io::Error);

    #[test]
    fn the_chain_keeps_every_cause_and_clones_share_it() {
        let e = StoreError::other_because(
            "query failed",
            Driver(std::io::Error::other("sector 7 unreadable")),
        );
        assert_eq!(e.to_string(), "store error: query failed");
        assert_eq!(
            ErrorChain(&e).to_string(),
            "store error: query failed: disk I/O error: sector 7 unreadable"
        );
        let copy = e.clone();
        assert_eq!(copy, e);
        assert_eq!(ErrorChain(&copy).to_string(), ErrorChain(&e).to_string());
        assert_ne!(e, StoreError::other("query failed"));
        assert_eq!(ErrorChain(&StoreError::NotFound).to_string(), "not found");
    }
}
