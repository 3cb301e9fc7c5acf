//! Storage adapter: the domain's repository ports on Diesel and diesel-async, for
//! PostgreSQL (`AsyncPgConnection`) and embedded SQLite (`SyncConnectionWrapper`).
//!
//! - [`db`]: connecting (`DATABASE_URL` picks the backend), migrations, error mapping.
//! - `tx`: running a body on either backend, in or out of a write transaction.
//! - `sql`: what differs per backend inside a transaction (row locks, the booking insert).
//! - `repo`: one repository per aggregate, written once for both backends.
//! - `rows`: Diesel rows and their conversion to domain types.

// No unwrap in code a request or the database can reach; tests may.
#![cfg_attr(not(test), warn(clippy::unwrap_used))]

pub mod db;
mod live;
mod repo;
mod rows;
mod schema;
mod sql;
#[cfg(feature = "testing")]
pub mod testing;
mod tx;

pub use db::{redact_url, sqlite_path, ConnectError, Database, PoolStatus, StoreSettings};
pub use live::{SeatFeed, Start, Subscription};
pub use repo::DieselStore;
