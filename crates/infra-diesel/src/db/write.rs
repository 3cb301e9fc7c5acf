//! Writing: SQLite's in-process writer queue, bounded like every other wait, and what
//! the last writes said about the storage, for readiness.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use diesel_async::pooled_connection::deadpool::Object;
use diesel_async::SimpleAsyncConnection;
use domain::StoreError;

use super::{db_error, is_storage_failure, SqliteConn};
use crate::tx::TxError;

/// Whether the storage takes writes. A write that fails because the disk is full or
/// failing marks it failing. While it is marked, `Database::ping` answers "storage
/// unavailable" unless a probe write of its own commits, which clears the mark: a load
/// balancer sends no traffic to an instance that is not ready, so nothing else may be
/// there to find out. Other commits do not clear it: one that changed no page (an
/// update to the same values) reaches no disk, so it proves nothing.
#[derive(Debug, Default)]
pub struct WriteHealth(Mutex<Option<String>>);

impl WriteHealth {
    /// Learns from the outcome of a write transaction: a refusal or another failure
    /// says nothing about the disk.
    pub(crate) fn observe<T, E>(&self, result: &Result<T, TxError<E>>) {
        if let Err(TxError::Db(error)) = result {
            if is_storage_failure(error) {
                self.set(Some(error.to_string()));
            }
        }
    }

    /// The last storage failure, until a probe write commits.
    pub(crate) fn failure(&self) -> Option<String> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// A probe write committed: the disk takes writes again.
    pub(crate) fn recovered(&self) {
        self.set(None);
    }

    fn set(&self, failure: Option<String>) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = failure;
    }
}

/// Below this much time spent queueing, SQLite's busy wait is left as it is: setting it
/// costs a statement, and the total stays near the lock timeout anyway.
const QUEUE_SLACK: Duration = Duration::from_millis(10);

/// SQLite has one writer at a time. This process's writers queue here, fairly, instead
/// of polling SQLite's busy handler; the busy timeout still covers other processes on the
/// same file. The queue and the busy wait share one budget, the lock timeout, so a
/// writer answers "unavailable" after about that long in all, however long the queue.
#[derive(Debug)]
pub struct Writer {
    queue: tokio::sync::Mutex<()>,
    lock_timeout: Duration,
}

/// One writer's turn: the queue is theirs until it is dropped.
pub(crate) struct Turn<'a> {
    _queue: tokio::sync::MutexGuard<'a, ()>,
    deadline: Instant,
    lock_timeout: Duration,
    shortened: bool,
}

impl Writer {
    pub(crate) fn new(lock_timeout: Duration) -> Self {
        Self {
            queue: tokio::sync::Mutex::new(()),
            lock_timeout,
        }
    }

    /// Waits for this process's turn to write, at most the lock timeout.
    pub(crate) async fn turn(&self) -> Result<Turn<'_>, StoreError> {
        let deadline = Instant::now() + self.lock_timeout;
        let queue = tokio::time::timeout(self.lock_timeout, self.queue.lock())
            .await
            .map_err(|_| waited_too_long(self.lock_timeout))?;
        Ok(Turn {
            _queue: queue,
            deadline,
            lock_timeout: self.lock_timeout,
            shortened: false,
        })
    }
}

fn waited_too_long(lock_timeout: Duration) -> StoreError {
    StoreError::Unavailable(format!(
        "no write lock within the lock timeout ({} ms)",
        lock_timeout.as_millis()
    ))
}

impl Turn<'_> {
    /// Gives SQLite's busy wait on `conn` only what is left of the budget, when the
    /// queue (or the pool) took a noticeable part of it.
    pub(crate) async fn bound_busy_wait(
        &mut self,
        conn: &mut SqliteConn,
    ) -> Result<(), StoreError> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(waited_too_long(self.lock_timeout));
        }
        if self.lock_timeout.saturating_sub(left) < QUEUE_SLACK {
            return Ok(());
        }
        conn.batch_execute(&format!(
            "PRAGMA busy_timeout = {}",
            left.as_millis().max(1)
        ))
        .await
        .map_err(db_error)?;
        self.shortened = true;
        Ok(())
    }

    /// Ends the turn. A connection whose busy wait was shortened gets the full one back,
    /// or leaves the pool if that fails: a later writer must not inherit a short wait.
    pub(crate) async fn finish(self, mut conn: Object<SqliteConn>) {
        if !self.shortened {
            return;
        }
        let restore = format!("PRAGMA busy_timeout = {}", self.lock_timeout.as_millis());
        if let Err(error) = conn.batch_execute(&restore).await {
            tracing::warn!(%error, "cannot restore the busy timeout; closing the connection");
            drop(Object::take(conn));
        }
    }
}
