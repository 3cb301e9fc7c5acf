//! The embedded migrations of each backend, applied on a blocking thread.

use diesel_async::pooled_connection::deadpool::{Object, Pool};
use diesel_async::{AsyncMigrationHarness, AsyncPgConnection, SimpleAsyncConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use super::{ConnectError, SqliteConn};

const PG_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");
const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");

/// Takes a connection out of the pool for good (the pool opens another when needed).
macro_rules! take {
    ($pool:expr) => {
        $pool
            .get()
            .await
            .map(Object::take)
            .map_err(|e| ConnectError::Unreachable(e.to_string()))
    };
}

/// Several processes may start at once: a session-level advisory lock makes them migrate
/// one after the other. The lock goes with the connection, which is taken out of the pool
/// and closed afterwards, so it is never left held.
pub(super) async fn postgres(pool: &Pool<AsyncPgConnection>) -> Result<(), ConnectError> {
    let mut conn = take!(pool)?;
    conn.batch_execute("SELECT pg_advisory_lock(4242001)")
        .await
        .map_err(|e| ConnectError::Migration(e.to_string()))?;
    run(conn, PG_MIGRATIONS).await
}

pub(super) async fn sqlite(pool: &Pool<SqliteConn>) -> Result<(), ConnectError> {
    run(take!(pool)?, SQLITE_MIGRATIONS).await
}

/// Runs the synchronous migration harness on a blocking thread, off the async workers.
async fn run<C>(conn: C, migrations: EmbeddedMigrations) -> Result<(), ConnectError>
where
    AsyncMigrationHarness<C>: MigrationHarness<C::Backend> + Send + 'static,
    C: diesel_async::AsyncConnection + 'static,
{
    let mut harness = AsyncMigrationHarness::new(conn);
    tokio::task::spawn_blocking(move || {
        harness
            .run_pending_migrations(migrations)
            .map(|_| ())
            .map_err(|e| ConnectError::Migration(e.to_string()))
    })
    .await
    .map_err(|e| ConnectError::Migration(e.to_string()))?
}
