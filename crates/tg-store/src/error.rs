use diesel::result::{DatabaseErrorInformation, DatabaseErrorKind, Error};
use tg_core::{StoreError, Unique};

/// The one place diesel errors become `StoreError`. Refusals the model explains (conflicts)
/// keep their text; failures keep diesel's error as their cause, for the log.
pub(crate) fn store_error(e: Error) -> StoreError {
    match &e {
        Error::NotFound => StoreError::NotFound,
        Error::DatabaseError(kind, info) => match kind {
            DatabaseErrorKind::UniqueViolation => {
                unique(info.as_ref()).map_or_else(|| conflict(info.as_ref()), StoreError::Taken)
            }
            DatabaseErrorKind::ForeignKeyViolation | DatabaseErrorKind::SerializationFailure => {
                conflict(info.as_ref())
            }
            DatabaseErrorKind::ClosedConnection => {
                StoreError::unavailable_because("the connection closed", e)
            }
            // SQLite's busy timeout ran out: another process holds the file's write lock.
            _ if info.message().contains("database is locked") => {
                StoreError::unavailable_because("the database is locked", e)
            }
            _ => StoreError::other_because("the query failed", e),
        },
        Error::BrokenTransactionManager => {
            StoreError::unavailable_because("the transaction manager broke", e)
        }
        _ => StoreError::other_because("the query failed", e),
    }
}

/// A refused write, in the database's words and naming the constraint when it says.
fn conflict(info: &dyn DatabaseErrorInformation) -> StoreError {
    StoreError::Conflict(match info.constraint_name() {
        Some(c) => format!("{} ({c})", info.message()),
        None => info.message().to_owned(),
    })
}

/// Which of the model's uniqueness rules a violation broke: PostgreSQL names the
/// constraint, SQLite the columns ("UNIQUE constraint failed: agents.spiffe_id").
fn unique(info: &dyn DatabaseErrorInformation) -> Option<Unique> {
    match info.constraint_name() {
        Some("agents_account_name") => Some(Unique::AgentName),
        Some("agents_spiffe_id_unrevoked" | "agents_spiffe_id_held") => Some(Unique::SpiffeId),
        Some("accounts_name_key") => Some(Unique::AccountName),
        Some(_) => None,
        None => match info.message().strip_prefix("UNIQUE constraint failed: ")? {
            "agents.account_id, agents.name" => Some(Unique::AgentName),
            "agents.spiffe_id" => Some(Unique::SpiffeId),
            "accounts.name" => Some(Unique::AccountName),
            _ => None,
        },
    }
}

/// A stored value that does not parse back into its domain type.
pub(crate) fn corrupt(what: &str, value: impl std::fmt::Display) -> StoreError {
    StoreError::other(format!("stored {what} `{value}` is invalid"))
}

/// An UPDATE or DELETE of one row by key: `NotFound` when it touched none.
pub(crate) fn touched(rows: usize) -> Result<(), StoreError> {
    if rows == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_locked_sqlite_file_is_unavailable_not_an_internal_error() {
        let busy = Error::DatabaseError(
            DatabaseErrorKind::Unknown,
            Box::new(String::from("database is locked")),
        );
        let e = store_error(busy);
        assert!(matches!(e, StoreError::Unavailable { .. }), "{e:?}");
        assert_eq!(
            tg_core::ErrorChain(&e).to_string(),
            "store unavailable: the database is locked: database is locked"
        );
        let other = Error::DatabaseError(
            DatabaseErrorKind::Unknown,
            Box::new(String::from("no such table: receipts")),
        );
        let e = store_error(other);
        assert!(matches!(e, StoreError::Other { .. }), "{e:?}");
        // The driver's error is the cause, for the log.
        assert_eq!(
            tg_core::ErrorChain(&e).to_string(),
            "store error: the query failed: no such table: receipts"
        );
    }
}
