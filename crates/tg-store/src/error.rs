use diesel::result::{DatabaseErrorInformation, DatabaseErrorKind, Error};
use tg_core::{StoreError, Unique};

/// The one place diesel errors become `StoreError`.
pub(crate) fn store_error(e: Error) -> StoreError {
    match e {
        Error::NotFound => StoreError::NotFound,
        Error::DatabaseError(kind, info) => {
            let detail = match info.constraint_name() {
                Some(c) => format!("{} ({c})", info.message()),
                None => info.message().to_owned(),
            };
            match kind {
                DatabaseErrorKind::UniqueViolation => match unique(info.as_ref()) {
                    Some(rule) => StoreError::Taken(rule),
                    None => StoreError::Conflict(detail),
                },
                DatabaseErrorKind::ForeignKeyViolation
                | DatabaseErrorKind::SerializationFailure => StoreError::Conflict(detail),
                DatabaseErrorKind::ClosedConnection => StoreError::Unavailable(detail),
                // SQLite's busy timeout ran out: another process holds the file's write lock.
                _ if detail.contains("database is locked") => StoreError::Unavailable(detail),
                _ => StoreError::Other(detail),
            }
        }
        Error::BrokenTransactionManager => StoreError::Unavailable("broken transaction".into()),
        other => StoreError::Other(other.to_string()),
    }
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
    StoreError::Other(format!("stored {what} `{value}` is invalid"))
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
        assert_eq!(
            store_error(busy),
            StoreError::Unavailable("database is locked".into())
        );
        let other = Error::DatabaseError(DatabaseErrorKind::Unknown, Box::new(String::from("x")));
        assert_eq!(store_error(other), StoreError::Other("x".into()));
    }
}
