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
    /// The store cannot be reached or refused service (connection, pool, timeout).
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// Anything else; the cause is kept for the log, never shown to clients.
    #[error("store error: {0}")]
    Other(String),
}
