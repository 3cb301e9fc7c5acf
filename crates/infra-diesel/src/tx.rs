//! Running a body on a connection of whichever backend is configured, inside or
//! outside a write transaction, and the error type of a transaction body.

use diesel::result::Error as DieselError;
use domain::StoreError;

use crate::db::db_error;

/// Runs `$body` with a pooled connection of whichever backend is configured. The body
/// is expanded once per backend, so each expansion is type-checked against its own
/// connection type; `DB` names that backend inside the body.
macro_rules! with_conn {
    ($db:expr, |$conn:ident| $body:expr) => {
        match $db {
            $crate::db::Database::Postgres { pool, .. } => {
                #[allow(dead_code)]
                type DB = diesel::pg::Pg;
                let mut pooled = pool.get().await.map_err($crate::db::pool_error)?;
                let $conn: &mut diesel_async::AsyncPgConnection = &mut pooled;
                $body
            }
            $crate::db::Database::Sqlite { pool, .. } => {
                #[allow(dead_code)]
                type DB = diesel::sqlite::Sqlite;
                let mut pooled = pool.get().await.map_err($crate::db::pool_error)?;
                let $conn: &mut $crate::db::SqliteConn = &mut pooled;
                $body
            }
        }
    };
}
pub(crate) use with_conn;

/// Runs `$body` in a write transaction: a plain `BEGIN` on PostgreSQL, where the body
/// takes row locks, and `BEGIN IMMEDIATE` on SQLite, which takes the database's single
/// write lock up front (so a read-then-write transaction can never fail to upgrade), after
/// this process's writer queue, all within the lock timeout. The body returns
/// `Result<_, TxError<E>>`; any error rolls the transaction back. The outcome tells the
/// database's `WriteHealth` whether the storage takes writes.
macro_rules! write_tx {
    ($db:expr, |$conn:ident| $body:expr) => {
        match $db {
            $crate::db::Database::Postgres { pool, health, .. } => {
                use diesel_async::AsyncConnection as _;
                let mut pooled = pool.get().await.map_err($crate::db::pool_error)?;
                let result = pooled.transaction(async |$conn| $body).await;
                health.observe(&result);
                result
            }
            $crate::db::Database::Sqlite {
                pool,
                writer,
                health,
            } => {
                let mut turn = writer.turn().await?;
                let mut pooled = pool.get().await.map_err($crate::db::pool_error)?;
                turn.bound_busy_wait(&mut pooled).await?;
                let result = pooled.immediate_transaction(async |$conn| $body).await;
                turn.finish(pooled).await;
                health.observe(&result);
                result
            }
        }
    };
}
pub(crate) use write_tx;

/// How many times a transaction runs in all when it fails with a serialization failure
/// or a detected deadlock, which another attempt may not meet.
pub(crate) const ATTEMPTS: usize = 3;

/// Awaits `$attempt` (an expression making the transaction's future) again while it
/// fails in a way another attempt may not, up to [`ATTEMPTS`] times in all.
macro_rules! retried {
    ($attempt:expr) => {{
        let mut tries = 1;
        loop {
            match $attempt.await {
                Err($crate::tx::TxError::Db(e))
                    if $crate::db::is_retryable(&e) && tries < $crate::tx::ATTEMPTS =>
                {
                    tracing::debug!(tries, error = %e, "retrying a transaction");
                    tries += 1;
                }
                other => break other,
            }
        }
    }};
}
pub(crate) use retried;

/// The error of a transaction body: a database failure, or a rule of the cinema that
/// refused the change (which rolls the transaction back like any other error).
pub(crate) enum TxError<E> {
    Db(DieselError),
    Rule(E),
}

impl<E> From<DieselError> for TxError<E> {
    fn from(error: DieselError) -> Self {
        Self::Db(error)
    }
}

impl<E: From<StoreError>> From<StoreError> for TxError<E> {
    fn from(error: StoreError) -> Self {
        Self::Rule(error.into())
    }
}

impl<E: From<StoreError>> TxError<E> {
    pub(crate) fn into_error(self) -> E {
        match self {
            Self::Db(error) => db_error(error).into(),
            Self::Rule(error) => error,
        }
    }
}

/// A rule's refusal, as the result of a transaction body.
pub(crate) fn refuse<T, E>(error: E) -> Result<T, TxError<E>> {
    Err(TxError::Rule(error))
}

/// Applies a rule of the domain inside a transaction body: its refusal rolls back.
pub(crate) fn rule<E>(checked: Result<(), E>) -> Result<(), TxError<E>> {
    checked.map_err(TxError::Rule)
}
