//! Database failures as the domain sees them: "retry later" or "unexpected", and the
//! constraint violations a repository turns into a rule's answer.

use diesel::result::{DatabaseErrorKind, Error as DieselError, OptionalExtension, QueryResult};
use diesel_async::pooled_connection::deadpool::PoolError;
use domain::StoreError;

pub(crate) fn pool_error(error: PoolError) -> StoreError {
    StoreError::Unavailable(format!("database connection: {error}"))
}

/// Whether a failed transaction may simply be run again.
pub(crate) fn is_retryable(error: &DieselError) -> bool {
    match error {
        DieselError::DatabaseError(DatabaseErrorKind::SerializationFailure, _) => true,
        DieselError::DatabaseError(_, info) => info.message().contains("deadlock detected"),
        _ => false,
    }
}

pub(crate) fn unique_violation(error: &DieselError) -> bool {
    matches!(
        error,
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)
    )
}

pub(crate) fn foreign_key_violation(error: &DieselError) -> bool {
    matches!(
        error,
        DieselError::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, _)
    )
}

/// The one way to read a row that may not exist: absent is `None`, a failure a
/// [`StoreError`].
pub(crate) fn found<T>(result: QueryResult<T>) -> Result<Option<T>, StoreError> {
    result.optional().map_err(db_error)
}

pub(crate) fn db_error(error: DieselError) -> StoreError {
    match &error {
        DieselError::DatabaseError(kind, info) => {
            let message = info.message();
            let transient = matches!(
                kind,
                DatabaseErrorKind::ClosedConnection
                    | DatabaseErrorKind::UnableToSendCommand
                    | DatabaseErrorKind::SerializationFailure
            ) || [
                "lock timeout",
                "statement timeout",
                "deadlock detected",
                "database is locked",
                "database table is locked",
                "terminating connection",
                "connection closed",
                "the database system is",
            ]
            .iter()
            .any(|needle| message.contains(needle));
            if transient {
                StoreError::Unavailable(message.to_owned())
            } else {
                StoreError::Unexpected(format!("{kind:?}: {message}"))
            }
        }
        DieselError::BrokenTransactionManager => StoreError::Unavailable(error.to_string()),
        _ => StoreError::Unexpected(error.to_string()),
    }
}
