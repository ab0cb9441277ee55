/// The one error vocabulary of every storage adapter (SQLite, PostgreSQL).
///
/// Adapters map their driver errors into these in exactly one place.
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
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// Anything else; the cause is kept for the log, never shown to clients.
    #[error("store error: {0}")]
    Other(String),
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
