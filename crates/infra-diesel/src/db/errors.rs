//! Database failures as the domain sees them: "retry later", "the storage cannot write"
//! or "unexpected", and the constraint violations a repository turns into a rule's answer.

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

/// What a full or failing disk says: SQLite's `SQLITE_FULL` and `SQLITE_IOERR`, and
/// PostgreSQL's disk-full class (SQLSTATE 53100, which diesel does not expose, so its
/// messages). None of them is the client's fault, and they last until space is freed.
const STORAGE_FAILURES: &[&str] = &[
    "database or disk is full",
    "disk I/O error",
    "could not extend file",
    "No space left on device",
    "Disk quota exceeded",
];

/// Whether the disk under the database refused the write (full, or an I/O error).
pub(crate) fn is_storage_failure(error: &DieselError) -> bool {
    match error {
        DieselError::DatabaseError(_, info) => {
            let message = info.message();
            STORAGE_FAILURES
                .iter()
                .any(|needle| message.contains(needle))
        }
        // A COMMIT that failed for want of space, whose rollback then failed too (SQLite
        // has already rolled back): the commit's error is the cause.
        DieselError::RollbackErrorOnCommit { commit_error, .. } => is_storage_failure(commit_error),
        _ => false,
    }
}

pub(crate) fn db_error(error: DieselError) -> StoreError {
    if let DieselError::RollbackErrorOnCommit { commit_error, .. } = error {
        return db_error(*commit_error);
    }
    if is_storage_failure(&error) {
        return StoreError::StorageUnavailable(error.to_string());
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(message: &str) -> DieselError {
        DieselError::DatabaseError(DatabaseErrorKind::Unknown, Box::new(message.to_owned()))
    }

    #[test]
    fn a_full_or_failing_disk_is_storage_unavailable_on_both_backends() {
        for message in [
            // SQLite: SQLITE_FULL and SQLITE_IOERR
            "database or disk is full",
            "disk I/O error",
            // PostgreSQL: SQLSTATE 53100
            "could not extend file \"base/16384/16400\": No space left on device",
            "could not write to file \"base/pgsql_tmp/pgsql_tmp1.0\": No space left on device",
        ] {
            assert!(
                matches!(
                    db_error(failure(message)),
                    StoreError::StorageUnavailable(_)
                ),
                "{message}"
            );
        }
        let on_commit = DieselError::RollbackErrorOnCommit {
            rollback_error: Box::new(failure("cannot rollback - no transaction is active")),
            commit_error: Box::new(failure("database or disk is full")),
        };
        assert!(matches!(
            db_error(on_commit),
            StoreError::StorageUnavailable(_)
        ));
    }

    #[test]
    fn other_failures_keep_their_class() {
        assert!(matches!(
            db_error(failure("database is locked")),
            StoreError::Unavailable(_)
        ));
        assert!(matches!(
            db_error(failure("syntax error")),
            StoreError::Unexpected(_)
        ));
    }
}
