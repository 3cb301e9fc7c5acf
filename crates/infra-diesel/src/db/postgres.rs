//! The PostgreSQL pool: every connection bounds its lock and statement waits and speaks UTC.

use diesel_async::pooled_connection::deadpool::Pool;
use diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod,
};
use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};

use super::{build_pool, on_runtime, ConnectError, StoreSettings};

pub(super) fn pool(settings: &StoreSettings) -> Result<Pool<AsyncPgConnection>, ConnectError> {
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
    build_pool(manager, settings.pool_size, settings)
}
