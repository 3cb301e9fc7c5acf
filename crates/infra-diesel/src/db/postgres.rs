//! The PostgreSQL pool: every connection bounds its lock and statement waits and speaks UTC.

use diesel_async::pooled_connection::deadpool::Pool;
use diesel_async::pooled_connection::AsyncDieselConnectionManager;
use diesel_async::AsyncPgConnection;

use super::{build_pool, manager_config, ConnectError, StoreSettings};

pub(super) fn pool(settings: &StoreSettings) -> Result<Pool<AsyncPgConnection>, ConnectError> {
    let lock_ms = settings.lock_timeout.as_millis();
    let statement_ms = settings.statement_timeout.as_millis();
    // Bounded waits: a blocked booking answers 503 instead of hanging.
    let setup = format!(
        "SET lock_timeout = {lock_ms}; SET statement_timeout = {statement_ms}; \
         SET idle_in_transaction_session_timeout = {statement_ms}; SET TIME ZONE 'UTC'"
    );
    let manager =
        AsyncDieselConnectionManager::new_with_config(&settings.url, manager_config(setup));
    build_pool(manager, settings.pool_size, settings)
}
