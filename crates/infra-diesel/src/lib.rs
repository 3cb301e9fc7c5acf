//! Storage adapter: the domain's repository ports on Diesel and diesel-async, for
//! PostgreSQL (`AsyncPgConnection`) and embedded SQLite (`SyncConnectionWrapper`).
//! `DATABASE_URL` picks the backend; migrations are embedded and applied at start-up.

// No unwrap in code a request or the database can reach; tests may.
#![cfg_attr(not(test), warn(clippy::unwrap_used))]

mod models;
mod pool;
mod repo;
mod schema;
#[cfg(feature = "testing")]
pub mod testing;

pub use pool::{redact_url, sqlite_path, ConnectError, Database, PoolStatus, StoreSettings};
pub use repo::DieselStore;
