//! The SQLite pool: WAL, foreign keys and a busy timeout on every connection, and the
//! database's folder created on first use.

use std::path::Path;

use diesel_async::pooled_connection::deadpool::Pool;
use diesel_async::pooled_connection::AsyncDieselConnectionManager;

use super::{build_pool, manager_config, ConnectError, SqliteConn, StoreSettings};

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
    let setup = format!(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
         PRAGMA foreign_keys = ON; PRAGMA busy_timeout = {busy_ms};"
    );
    let manager = AsyncDieselConnectionManager::new_with_config(path, manager_config(setup));
    build_pool(manager, settings.pool_size.min(MAX_CONNECTIONS), settings)
}
