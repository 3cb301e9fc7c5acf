//! Throw-away databases for tests: a temp-file SQLite database, or a fresh PostgreSQL
//! database created on `TEST_DATABASE_URL` and dropped when the guard goes.

use std::sync::mpsc;

use diesel::connection::SimpleConnection;
use diesel::Connection;
use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};

use crate::db::{sqlite_path, Database, StoreSettings};

pub const DEFAULT_TEST_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A migrated, empty database that disappears when dropped.
pub struct TestDatabase {
    pub url: String,
    pub backend: Backend,
    _dir: Option<tempfile::TempDir>,
    pg_cleanup: Option<(String, String)>,
}

impl TestDatabase {
    pub async fn new(backend: Backend) -> Self {
        let db = Self::empty(backend).await;
        let store = db.connect().await;
        store.migrate().await.expect("migrate the test database");
        store.close();
        db
    }

    /// A database with no tables yet.
    pub async fn empty(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("create a temp dir for SQLite");
                let url = format!("sqlite://{}/test.sqlite3", dir.path().display());
                Self {
                    url,
                    backend,
                    _dir: Some(dir),
                    pg_cleanup: None,
                }
            }
            Backend::Postgres => {
                let admin = std::env::var("TEST_DATABASE_URL")
                    .unwrap_or_else(|_| DEFAULT_TEST_DATABASE_URL.to_owned());
                let name = format!("mb_test_{}", uuid::Uuid::new_v4().simple());
                let mut conn = AsyncPgConnection::establish(&admin).await.unwrap_or_else(|e| {
                    panic!(
                        "PostgreSQL tests need a server at TEST_DATABASE_URL ({admin}): {e}.\n\
                         Start one with `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start` \
                         or `docker compose up -d db`, or point TEST_DATABASE_URL at yours."
                    )
                });
                conn.batch_execute(&format!("CREATE DATABASE {name}"))
                    .await
                    .expect("create the test database");
                let url = match admin.rsplit_once('/') {
                    Some((base, _)) => format!("{base}/{name}"),
                    None => panic!("TEST_DATABASE_URL must end in /<database>"),
                };
                Self {
                    url,
                    backend,
                    _dir: None,
                    pg_cleanup: Some((admin, name)),
                }
            }
        }
    }

    pub fn settings(&self) -> StoreSettings {
        let mut settings = StoreSettings::new(&self.url);
        settings.pool_size = 8;
        settings
    }

    /// SQLite's own consistency check of the database file: `ok` when it is sound.
    pub fn sqlite_integrity_check(&self) -> String {
        use diesel::{Connection, RunQueryDsl};

        #[derive(diesel::QueryableByName)]
        struct Check {
            #[diesel(sql_type = diesel::sql_types::Text)]
            integrity_check: String,
        }

        assert_eq!(self.backend, Backend::Sqlite, "integrity_check is SQLite's");
        let path = crate::db::sqlite_path(&self.url).expect("a sqlite:// URL");
        let mut conn =
            diesel::sqlite::SqliteConnection::establish(path).expect("open the SQLite file");
        diesel::sql_query("PRAGMA integrity_check")
            .load::<Check>(&mut conn)
            .expect("run integrity_check")
            .into_iter()
            .map(|row| row.integrity_check)
            .collect::<Vec<_>>()
            .join("; ")
    }

    pub async fn connect(&self) -> Database {
        Database::connect(&self.settings()).expect("build the test pool")
    }

    /// The number of rows in `table`, read on a connection of its own.
    pub async fn count_rows(&self, table: &str) -> i64 {
        use diesel::RunQueryDsl as _;

        #[derive(diesel::QueryableByName)]
        struct Count {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }

        let query = format!("SELECT COUNT(*) AS n FROM {table}");
        let counted = match self.backend {
            Backend::Sqlite => {
                use diesel::Connection;
                let path = crate::db::sqlite_path(&self.url).expect("a sqlite:// URL");
                let mut conn = diesel::sqlite::SqliteConnection::establish(path)
                    .expect("open the SQLite file");
                diesel::sql_query(query).get_result::<Count>(&mut conn)
            }
            Backend::Postgres => {
                let mut conn = AsyncPgConnection::establish(&self.url)
                    .await
                    .expect("connect to the test database");
                diesel_async::RunQueryDsl::get_result::<Count>(diesel::sql_query(query), &mut conn)
                    .await
            }
        };
        counted.expect("count the rows").n
    }

    /// Terminates the backends of every connection of this database that listens for
    /// notifications (the seat feeds'), as a network failure or an administrator
    /// would; returns how many. PostgreSQL only.
    pub async fn terminate_listeners(&self) -> i64 {
        #[derive(diesel::QueryableByName)]
        struct Count {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }

        assert_eq!(self.backend, Backend::Postgres, "LISTEN is PostgreSQL's");
        let mut conn = AsyncPgConnection::establish(&self.url)
            .await
            .expect("connect to the test database");
        let query = diesel::sql_query(
            "SELECT COUNT(pg_terminate_backend(pid)) AS n FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid() \
             AND query ILIKE 'LISTEN%'",
        );
        diesel_async::RunQueryDsl::get_result::<Count>(query, &mut conn)
            .await
            .expect("terminate the listeners")
            .n
    }

    /// Runs `sql` in a transaction of its own that stays open, holding whatever locks
    /// it took, until [`HeldLocks::release`] (or the drop, which closes the connection).
    /// PostgreSQL only.
    pub async fn hold_locks(&self, sql: &str) -> HeldLocks {
        assert_eq!(
            self.backend,
            Backend::Postgres,
            "row locks are PostgreSQL's"
        );
        let mut conn = AsyncPgConnection::establish(&self.url)
            .await
            .expect("connect to the test database");
        conn.batch_execute(&format!("BEGIN; {sql}"))
            .await
            .expect("take the locks");
        HeldLocks { conn }
    }
}

/// An open PostgreSQL transaction holding locks, from [`TestDatabase::hold_locks`].
pub struct HeldLocks {
    conn: AsyncPgConnection,
}

impl HeldLocks {
    pub async fn release(mut self) {
        self.conn
            .batch_execute("ROLLBACK")
            .await
            .expect("release the locks");
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Some((admin, name)) = self.pg_cleanup.take() else {
            return;
        };
        // Drop may run inside a runtime, which cannot block: use a thread of its own.
        let _ = std::thread::spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(async move {
                if let Ok(mut conn) = AsyncPgConnection::establish(&admin).await {
                    let _ = conn
                        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .await;
                }
            });
        })
        .join();
    }
}

/// SQLite's write lock, held by a connection of its own, as another process would hold
/// it, until the guard is dropped.
pub struct HeldWriteLock {
    release: Option<mpsc::Sender<()>>,
    holder: Option<std::thread::JoinHandle<()>>,
}

/// Takes the write lock of the SQLite database at `url` (`BEGIN IMMEDIATE`) and returns
/// once it is held.
pub fn hold_sqlite_write_lock(url: &str) -> HeldWriteLock {
    let path = sqlite_path(url).expect("a sqlite:// URL").to_owned();
    let (held, is_held) = mpsc::channel();
    let (release, released) = mpsc::channel::<()>();
    let holder = std::thread::spawn(move || {
        let mut conn = diesel::SqliteConnection::establish(&path).expect("open the database");
        conn.batch_execute("BEGIN IMMEDIATE")
            .expect("take the write lock");
        let _ = held.send(());
        // Until the guard sends or is dropped.
        let _ = released.recv();
        let _ = conn.batch_execute("ROLLBACK");
    });
    is_held.recv().expect("the write lock is held");
    HeldWriteLock {
        release: Some(release),
        holder: Some(holder),
    }
}

impl Drop for HeldWriteLock {
    fn drop(&mut self) {
        drop(self.release.take());
        if let Some(holder) = self.holder.take() {
            let _ = holder.join();
        }
    }
}

/// Runs each named test on both backends: a `mod sqlite` and a `mod postgres`, each with
/// one multi-threaded `#[tokio::test]` per name, so the tests are listed as
/// `sqlite::<name>` and `postgres::<name>`. Each one calls the caller's
/// `async fn <name>(fixture)` with `setup(Backend::Sqlite).await` (or `Postgres`).
///
/// ```ignore
/// infra_diesel::on_both_backends!(setup = TestApp::spawn; books_a_seat, lists_shows);
/// infra_diesel::on_both_backends!(setup = Fixture::new, worker_threads = 4; races);
/// ```
///
/// `setup` is any `async fn(Backend) -> T`, named as at the call site (the generated
/// modules import everything of their parent); `worker_threads` is the runtime's, 2
/// unless given. The calling crate needs tokio with its `macros` and `rt-multi-thread`
/// features, as `#[tokio::test]` does.
#[macro_export]
macro_rules! on_both_backends {
    (setup = $setup:path; $($name:ident),* $(,)?) => {
        $crate::on_both_backends!(setup = $setup, worker_threads = 2; $($name),*);
    };
    (setup = $setup:path, worker_threads = $workers:tt; $($name:ident),* $(,)?) => {
        $crate::on_both_backends!(@backend sqlite, Sqlite, $setup, $workers; $($name),*);
        $crate::on_both_backends!(@backend postgres, Postgres, $setup, $workers; $($name),*);
    };
    (@backend $module:ident, $backend:ident, $setup:path, $workers:tt; $($name:ident),*) => {
        mod $module {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = $workers)]
                async fn $name() {
                    super::$name($setup($crate::testing::Backend::$backend).await).await;
                }
            )*
        }
    };
}
