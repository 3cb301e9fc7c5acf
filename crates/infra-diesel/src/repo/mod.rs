//! The repositories: one file per aggregate, each implementing its domain port over one
//! [`Database`]. Queries are written once for both backends through
//! [`crate::tx::with_conn!`] and [`crate::tx::write_tx!`]; what must differ lives in
//! [`crate::sql`].

mod bookings;
pub(crate) mod idempotency;
mod movies;
mod screens;
mod seating;
mod sessions;
mod shows;
mod users;

use crate::db::Database;

/// The storage adapter: every repository port over one [`Database`].
#[derive(Clone)]
pub struct DieselStore {
    db: Database,
}

impl DieselStore {
    pub fn new(db: Database) -> Self {
        Self { db }
    }
}
