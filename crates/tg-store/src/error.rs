use diesel::result::{DatabaseErrorKind, Error};
use tg_core::StoreError;

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
                DatabaseErrorKind::UniqueViolation
                | DatabaseErrorKind::ForeignKeyViolation
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
