//! Connecting to the database `DATABASE_URL` names: one pool per backend, the settings
//! that bound every wait, and the health figures the service reports.

mod errors;
mod migrate;
mod postgres;
mod sqlite;
mod url;
mod write;

use std::sync::Arc;
use std::time::Duration;

use diesel_async::pooled_connection::deadpool::Pool;
use diesel_async::pooled_connection::{ManagerConfig, RecyclingMethod};
use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};
use domain::StoreError;
use futures_util::FutureExt;

use crate::sql::BackendOps;
use crate::tx::{write_tx, TxError};

pub(crate) use errors::*;
pub use url::{redact_url, sqlite_path};
pub use write::{WriteHealth, Writer};

pub type SqliteConn =
    diesel_async::sync_connection_wrapper::SyncConnectionWrapper<diesel::sqlite::SqliteConnection>;

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

/// The pool of one backend. `DATABASE_URL` picks which. Both remember whether the
/// storage takes writes ([`WriteHealth`]), for readiness.
#[derive(Clone)]
pub enum Database {
    Postgres {
        pool: Pool<AsyncPgConnection>,
        health: Arc<WriteHealth>,
        /// For the seat feed's own connections, outside the pool.
        url: Arc<str>,
    },
    Sqlite {
        pool: Pool<SqliteConn>,
        /// This process's writers queue here, within the lock timeout.
        writer: Arc<Writer>,
        health: Arc<WriteHealth>,
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

/// Size, idle connections and waiting requests of the pool, for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStatus {
    pub max_size: usize,
    pub size: usize,
    pub idle: usize,
    pub waiting: usize,
}

impl Database {
    /// Builds the pool. Connections are opened lazily, so this succeeds while the
    /// database is down and the service becomes ready when it comes back.
    pub fn connect(settings: &StoreSettings) -> Result<Self, ConnectError> {
        let url = settings.url.as_str();
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Self::Postgres {
                pool: postgres::pool(settings)?,
                health: Arc::default(),
                url: url.into(),
            })
        } else if let Some(path) = sqlite_path(url) {
            Ok(Self::Sqlite {
                pool: sqlite::pool(settings, path)?,
                writer: Arc::new(Writer::new(settings.lock_timeout)),
                health: Arc::default(),
            })
        } else {
            Err(ConnectError::UnknownScheme(redact_url(url)))
        }
    }

    pub fn backend_name(&self) -> &'static str {
        match self {
            Self::Postgres { .. } => "postgres",
            Self::Sqlite { .. } => "sqlite",
        }
    }

    /// Applies the embedded migrations that are not applied yet.
    pub async fn migrate(&self) -> Result<(), ConnectError> {
        match self {
            Self::Postgres { pool, .. } => migrate::postgres(pool).await,
            Self::Sqlite { pool, .. } => migrate::sqlite(pool).await,
        }
    }

    /// Does the database answer, and take writes? Used by `/ready/`. A plain query
    /// while writes go through; after a write failed for want of space or with an I/O
    /// error, a probe write too, until one commits (see [`WriteHealth`]). Probing only
    /// then keeps a healthy database's readiness check off the write lock.
    pub async fn ping(&self) -> Result<(), StoreError> {
        match self {
            Self::Postgres { pool, .. } => {
                let mut conn = pool.get().await.map_err(pool_error)?;
                conn.batch_execute("SELECT 1").await.map_err(db_error)?;
            }
            Self::Sqlite { pool, .. } => {
                let mut conn = pool.get().await.map_err(pool_error)?;
                conn.batch_execute("SELECT 1").await.map_err(db_error)?;
            }
        }
        if self.health().failure().is_some() {
            self.probe_write().await?;
        }
        Ok(())
    }

    /// A small committed write that needs the disk as any other does and changes
    /// nothing anyone reads. Its commit clears [`WriteHealth`]'s mark.
    pub async fn probe_write(&self) -> Result<(), StoreError> {
        let probed: Result<(), TxError<StoreError>> =
            write_tx!(self, |conn| Ok(conn.probe_write().await?));
        probed.map_err(TxError::into_error)?;
        self.health().recovered();
        Ok(())
    }

    fn health(&self) -> &WriteHealth {
        match self {
            Self::Postgres { health, .. } | Self::Sqlite { health, .. } => health,
        }
    }

    pub fn pool_status(&self) -> PoolStatus {
        let status = match self {
            Self::Postgres { pool, .. } => pool.status(),
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
            Self::Postgres { pool, .. } => pool.close(),
            Self::Sqlite { pool, .. } => pool.close(),
        }
    }
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

/// How every pooled connection is opened: on the pool's runtime, then `setup` (the
/// session settings) run on it. Recycling is fast: a broken connection is detected when
/// it is used, and a ping per checkout would cost a round trip on every request.
fn manager_config<C>(setup: String) -> ManagerConfig<C>
where
    C: AsyncConnection + SimpleAsyncConnection + Send + 'static,
{
    let runtime = tokio::runtime::Handle::try_current().ok();
    let mut config = ManagerConfig::<C>::default();
    config.recycling_method = RecyclingMethod::Fast;
    config.custom_setup = Box::new(move |url| {
        let (url, setup) = (url.to_owned(), setup.clone());
        on_runtime(runtime.clone(), async move {
            let mut conn = C::establish(&url).await?;
            conn.batch_execute(&setup)
                .await
                .map_err(|e| diesel::ConnectionError::BadConnection(e.to_string()))?;
            Ok(conn)
        })
    });
    config
}

/// A deadpool pool whose every wait is bounded by the settings.
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
