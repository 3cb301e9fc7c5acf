//! The storage failure every use case can meet and none can fix.

use thiserror::Error;

/// A storage failure that is not a rule of the cinema. Every use-case error carries it
/// as `Store(StoreError)`, so one mapping at the edge serves all of them.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum StoreError {
    /// The database is down, the pool is exhausted or a lock wait timed out: retry later.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// The disk under the database is full or failing (an I/O error): writes fail until
    /// space is freed or the disk is fixed, so retry later. Unlike `Unavailable`, it
    /// lasts, and readiness reports it.
    #[error("storage unavailable: {0}")]
    StorageUnavailable(String),
    /// A failure no retry will cure, such as a stored value no rule allows.
    #[error("unexpected storage error: {0}")]
    Unexpected(String),
}
