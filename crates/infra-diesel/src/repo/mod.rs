//! The repositories: one file per aggregate, each implementing its domain port over one
//! [`Database`]. Queries are written once for both backends through
//! [`crate::tx::with_conn!`] and [`crate::tx::write_tx!`]; what must differ lives in
//! [`crate::sql`].

mod bookings;
mod holds;
pub(crate) mod idempotency;
mod movies;
mod screens;
mod seating;
mod sessions;
mod shows;
mod users;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use domain::Clock;

use crate::db::Database;

/// The storage adapter: every repository port over one [`Database`].
#[derive(Clone)]
pub struct DieselStore {
    db: Database,
    /// What "now" is for reads that report seats as taken: a hold stops counting at its
    /// expiry, whether or not housekeeping has run. Writes get their `now` from the
    /// use case.
    clock: Arc<dyn Clock>,
}

impl DieselStore {
    /// A store that reads the time from the system clock.
    pub fn new(db: Database) -> Self {
        Self {
            db,
            clock: Arc::new(SystemTime),
        }
    }

    /// The same store, reading the time from `clock`.
    pub fn with_clock(self, clock: Arc<dyn Clock>) -> Self {
        Self { clock, ..self }
    }

    fn now(&self) -> chrono::NaiveDateTime {
        self.clock.now().naive_utc()
    }
}

struct SystemTime;

impl Clock for SystemTime {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}
