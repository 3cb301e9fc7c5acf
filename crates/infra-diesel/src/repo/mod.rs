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

pub(crate) use seating::SeatingOps;
pub(crate) use shows::{blocked_seats_of_show, prices_of_shows, shows_of, SHOW_COLUMNS};

use std::sync::Arc;

use chrono::{DateTime, Utc};
use domain::Clock;

use crate::db::Database;
use crate::live::{Claim, SeatFeed};

/// The storage adapter: every repository port over one [`Database`].
#[derive(Clone)]
pub struct DieselStore {
    db: Database,
    /// What "now" is for reads that report seats as taken: a hold stops counting at its
    /// expiry, whether or not housekeeping has run. Writes get their `now` from the
    /// use case.
    clock: Arc<dyn Clock>,
    /// Every committed seat change, kept for reads and streams.
    live: SeatFeed,
}

impl DieselStore {
    /// A store that reads the time from the system clock.
    pub fn new(db: Database) -> Self {
        Self::on(db, Arc::new(SystemTime))
    }

    /// The same store, reading the time from `clock`.
    pub fn with_clock(self, clock: Arc<dyn Clock>) -> Self {
        Self::on(self.db, clock)
    }

    /// The feed reads the time from the store's clock (for holds' expiry).
    fn on(db: Database, clock: Arc<dyn Clock>) -> Self {
        Self {
            live: SeatFeed::new(db.clone(), clock.clone()),
            db,
            clock,
        }
    }

    /// The seat feed of this store: start it ([`SeatFeed::start`]) to have reads served
    /// from memory and seat changes streamed.
    pub fn seat_feed(&self) -> &SeatFeed {
        &self.live
    }

    /// Tells the feed that a committed hold's seats are `claim` now.
    fn hold_changed(&self, hold: &domain::Hold, claim: Claim) {
        let seats: Vec<(i32, Claim)> = hold.seats.iter().map(|t| (t.seat_number, claim)).collect();
        self.live.seats_changed(hold.show_id.0, &seats);
    }

    /// Tells the feed that committed bookings claim their seats, or, cancelled, free them.
    fn bookings_changed(&self, bookings: &[domain::Booking]) {
        // One event per show, as one transaction's bookings are all of one show.
        let mut by_show: Vec<(i64, Vec<(i32, Claim)>)> = Vec::new();
        for booking in bookings {
            let claim = match booking.status {
                domain::BookingStatus::Confirmed => Claim::Booked,
                domain::BookingStatus::Cancelled => Claim::Free,
            };
            let show = booking.show_id.0;
            match by_show.iter_mut().find(|(id, _)| *id == show) {
                Some((_, seats)) => seats.push((booking.seat_number, claim)),
                None => by_show.push((show, vec![(booking.seat_number, claim)])),
            }
        }
        for (show, seats) in by_show {
            self.live.seats_changed(show, &seats);
        }
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
