//! The SQLite pool: WAL, foreign keys and a busy timeout on every connection, and the
//! database's folder created on first use.

use std::path::Path;

use diesel_async::pooled_connection::deadpool::Pool;
use diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod,
};
use diesel_async::{AsyncConnection, SimpleAsyncConnection};

use super::{build_pool, on_runtime, ConnectError, SqliteConn, StoreSettings};

/// At most this many connections: SQLite has one writer, and readers gain little more.
const MAX_CONNECTIONS: usize = 4;

pub(super) fn pool(settings: &StoreSettings, path: &str) -> Result<Pool<SqliteConn>, ConnectError> {
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
    build_pool(manager, settings.pool_size.min(MAX_CONNECTIONS), settings)
}
