//! Connection pools for both backends, start-up migrations, and the mapping of
//! database failures to the domain's storage errors.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel::sqlite::SqliteConnection;
use diesel_async::pooled_connection::deadpool::{Object, Pool, PoolError};
use diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod,
};
use diesel_async::sync_connection_wrapper::SyncConnectionWrapper;
use diesel_async::AsyncMigrationHarness;
use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use domain::StoreError;
use futures_util::FutureExt;

pub type SqliteConn = SyncConnectionWrapper<SqliteConnection>;

const PG_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");
const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");

/// How long the storage layer waits before answering "unavailable".
#[derive(Debug, Clone)]
pub struct StoreSettings {
    pub url: String,
    /// Connections in the pool (PostgreSQL); SQLite uses at most 4 readers anyway.
    pub pool_size: usize,
    /// Longest wait for a free pooled connection or a new one.
    pub pool_timeout: Duration,
    /// PostgreSQL `lock_timeout`; SQLite busy timeout.
    pub lock_timeout: Duration,
    /// PostgreSQL `statement_timeout`.
    pub statement_timeout: Duration,
}

impl StoreSettings {
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            pool_size: 16,
            pool_timeout: Duration::from_secs(2),
            lock_timeout: Duration::from_secs(2),
            statement_timeout: Duration::from_secs(5),
        }
    }
}

/// The pool of one backend. `DATABASE_URL` picks which.
#[derive(Clone)]
pub enum Database {
    Postgres(Pool<AsyncPgConnection>),
    Sqlite {
        pool: Pool<SqliteConn>,
        /// SQLite has one writer at a time. Queuing writers here, fairly, costs nothing
        /// and spares them the busy-timeout polling inside SQLite; the busy timeout still
        /// covers other processes on the same file.
        writer: Arc<tokio::sync::Mutex<()>>,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("DATABASE_URL must start with postgres://, postgresql:// or sqlite:// (got {0:?})")]
    UnknownScheme(String),
    #[error("cannot create the SQLite folder {path}: {source}")]
    SqliteFolder {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot build the connection pool: {0}")]
    Pool(String),
    #[error("cannot reach the database: {0}")]
    Unreachable(String),
    #[error("migrations failed: {0}")]
    Migration(String),
}

/// Where a `sqlite://` URL points: `sqlite://data/x.db` is relative, `sqlite:///abs/x.db`
/// absolute, `sqlite::memory:` in memory.
pub fn sqlite_path(url: &str) -> Option<&str> {
    url.strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
}

impl Database {
    /// Builds the pool. Connections are opened lazily, so this succeeds while the
    /// database is down and the service becomes ready when it comes back.
    pub fn connect(settings: &StoreSettings) -> Result<Self, ConnectError> {
        let url = settings.url.as_str();
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Self::postgres(settings)
        } else if let Some(path) = sqlite_path(url) {
            Self::sqlite(settings, path)
        } else {
            Err(ConnectError::UnknownScheme(redact_url(url)))
        }
    }

    fn postgres(settings: &StoreSettings) -> Result<Self, ConnectError> {
        let lock_ms = settings.lock_timeout.as_millis();
        let statement_ms = settings.statement_timeout.as_millis();
        let runtime = tokio::runtime::Handle::try_current().ok();
        let mut config = ManagerConfig::<AsyncPgConnection>::default();
        // Fast recycling: a broken connection is detected when it is used, and a ping
        // per checkout would cost a round trip on every request.
        config.recycling_method = RecyclingMethod::Fast;
        config.custom_setup = Box::new(move |url| {
            let url = url.to_owned();
            on_runtime(runtime.clone(), async move {
                let mut conn = AsyncPgConnection::establish(&url).await?;
                // Bounded waits: a blocked booking answers 503 instead of hanging.
                conn.batch_execute(&format!(
                    "SET lock_timeout = {lock_ms}; SET statement_timeout = {statement_ms}; \
                     SET idle_in_transaction_session_timeout = {statement_ms}; SET TIME ZONE 'UTC'"
                ))
                .await
                .map_err(|e| diesel::ConnectionError::BadConnection(e.to_string()))?;
                Ok(conn)
            })
        });
        let manager = AsyncDieselConnectionManager::new_with_config(&settings.url, config);
        let pool = build_pool(manager, settings.pool_size, settings)?;
        Ok(Self::Postgres(pool))
    }

    fn sqlite(settings: &StoreSettings, path: &str) -> Result<Self, ConnectError> {
        if path != ":memory:" {
            if let Some(dir) = Path::new(path)
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
            {
                std::fs::create_dir_all(dir).map_err(|source| ConnectError::SqliteFolder {
                    path: dir.display().to_string(),
                    source,
                })?;
            }
        }
        let busy_ms = settings.lock_timeout.as_millis();
        let runtime = tokio::runtime::Handle::try_current().ok();
        let mut config = ManagerConfig::<SqliteConn>::default();
        config.recycling_method = RecyclingMethod::Fast;
        config.custom_setup = Box::new(move |path| {
            let path = path.to_owned();
            on_runtime(runtime.clone(), async move {
                let mut conn = SqliteConn::establish(&path).await?;
                conn.batch_execute(&format!(
                    "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                     PRAGMA foreign_keys = ON; PRAGMA busy_timeout = {busy_ms};"
                ))
                .await
                .map_err(|e| diesel::ConnectionError::BadConnection(e.to_string()))?;
                Ok(conn)
            })
        });
        let manager = AsyncDieselConnectionManager::new_with_config(path, config);
        let pool = build_pool(manager, settings.pool_size.min(4), settings)?;
        Ok(Self::Sqlite {
            pool,
            writer: Arc::new(tokio::sync::Mutex::new(())),
        })
    }

    pub fn backend_name(&self) -> &'static str {
        match self {
            Self::Postgres(_) => "postgres",
            Self::Sqlite { .. } => "sqlite",
        }
    }

    /// Applies the embedded migrations that are not applied yet.
    pub async fn migrate(&self) -> Result<(), ConnectError> {
        match self {
            // Several processes may start at once: a session lock makes them migrate one
            // after the other (it goes with the connection, which is not returned to the pool).
            Self::Postgres(pool) => {
                migrate_with!(pool, PG_MIGRATIONS, "SELECT pg_advisory_lock(4242001)")
            }
            Self::Sqlite { pool, .. } => migrate_with!(pool, SQLITE_MIGRATIONS),
        }
    }

    /// Does the database answer? Used by `/ready/`.
    pub async fn ping(&self) -> Result<(), StoreError> {
        match self {
            Self::Postgres(pool) => {
                let mut conn = pool.get().await.map_err(pool_error)?;
                conn.batch_execute("SELECT 1").await.map_err(db_error)
            }
            Self::Sqlite { pool, .. } => {
                let mut conn = pool.get().await.map_err(pool_error)?;
                conn.batch_execute("SELECT 1").await.map_err(db_error)
            }
        }
    }

    /// Size, idle connections and waiting requests of the pool, for metrics.
    pub fn pool_status(&self) -> PoolStatus {
        let status = match self {
            Self::Postgres(pool) => pool.status(),
            Self::Sqlite { pool, .. } => pool.status(),
        };
        PoolStatus {
            max_size: status.max_size,
            size: status.size,
            idle: status.available,
            waiting: status.waiting,
        }
    }

    pub fn close(&self) {
        match self {
            Self::Postgres(pool) => pool.close(),
            Self::Sqlite { pool, .. } => pool.close(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStatus {
    pub max_size: usize,
    pub size: usize,
    pub idle: usize,
    pub waiting: usize,
}

/// Opens a connection on the runtime that built the pool. A connection keeps using the
/// runtime it was opened on (PostgreSQL's connection task, SQLite's blocking threads);
/// opened on an HTTP worker's runtime it would die with that worker, for instance while
/// another worker still finishes a request during a graceful shutdown.
fn on_runtime<C: Send + 'static>(
    runtime: Option<tokio::runtime::Handle>,
    establish: impl std::future::Future<Output = diesel::ConnectionResult<C>> + Send + 'static,
) -> futures_util::future::BoxFuture<'static, diesel::ConnectionResult<C>> {
    match runtime {
        Some(runtime) => async move {
            runtime
                .spawn(establish)
                .await
                .unwrap_or_else(|e| Err(diesel::ConnectionError::BadConnection(e.to_string())))
        }
        .boxed(),
        None => establish.boxed(),
    }
}

fn build_pool<M: deadpool::managed::Manager>(
    manager: M,
    size: usize,
    settings: &StoreSettings,
) -> Result<deadpool::managed::Pool<M>, ConnectError> {
    deadpool::managed::Pool::builder(manager)
        .max_size(size.max(1))
        .wait_timeout(Some(settings.pool_timeout))
        .create_timeout(Some(settings.pool_timeout))
        .recycle_timeout(Some(settings.pool_timeout))
        .runtime(deadpool::Runtime::Tokio1)
        .build()
        .map_err(|e| ConnectError::Pool(e.to_string()))
}

/// Runs the synchronous migration harness on a blocking thread, off the async workers.
macro_rules! migrate_with {
    ($pool:expr, $migrations:expr $(, $before:literal)?) => {{
        #[allow(unused_mut)]
        let mut conn = Object::take(
            $pool
                .get()
                .await
                .map_err(|e| ConnectError::Unreachable(e.to_string()))?,
        );
        $(conn
            .batch_execute($before)
            .await
            .map_err(|e| ConnectError::Migration(e.to_string()))?;)?
        let mut harness = AsyncMigrationHarness::new(conn);
        tokio::task::spawn_blocking(move || {
            harness
                .run_pending_migrations($migrations)
                .map(|_| ())
                .map_err(|e| ConnectError::Migration(e.to_string()))
        })
        .await
        .map_err(|e| ConnectError::Migration(e.to_string()))?
    }};
}
use migrate_with;

/// Hides the password of a database URL for messages and logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => {
                    format!("{}{}:[redacted]{}", &url[..scheme + 3], user, &url[at..])
                }
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_password_is_redacted() {
        assert_eq!(
            redact_url("postgres://app:s3cret@db:5432/x"),
            "postgres://app:[redacted]@db:5432/x"
        );
        assert_eq!(redact_url("sqlite://data/x.db"), "sqlite://data/x.db");
    }

    #[test]
    fn sqlite_urls() {
        assert_eq!(sqlite_path("sqlite://data/x.db"), Some("data/x.db"));
        assert_eq!(sqlite_path("sqlite:///tmp/x.db"), Some("/tmp/x.db"));
        assert_eq!(sqlite_path("postgres://x"), None);
    }
}
