//! Rows as Diesel reads and writes them, and their conversion to domain types.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use domain::*;

use crate::schema::{bookings, movies, shows, users};

pub(crate) const CONFIRMED: &str = "CONFIRMED";
pub(crate) const CANCELLED: &str = "CANCELLED";

pub(crate) fn to_utc(t: NaiveDateTime) -> DateTime<Utc> {
    t.and_utc()
}

pub(crate) fn to_naive(t: DateTime<Utc>) -> NaiveDateTime {
    t.naive_utc()
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = users)]
pub(crate) struct UserRow {
    pub id: i64,
    pub username: String,
    pub email: Option<String>,
    pub password_hash: String,
    pub is_staff: bool,
}

impl From<UserRow> for User {
    fn from(row: UserRow) -> Self {
        User {
            id: UserId(row.id),
            username: row.username,
            email: row.email,
            is_staff: row.is_staff,
            password_hash: PasswordHash(row.password_hash),
        }
    }
}

#[derive(Insertable)]
#[diesel(table_name = users)]
pub(crate) struct NewUserRow {
    pub username: String,
    pub username_key: String,
    pub email: Option<String>,
    pub password_hash: String,
    pub is_staff: bool,
    pub created_at: NaiveDateTime,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = movies)]
pub(crate) struct MovieRow {
    pub id: i64,
    pub title: String,
    pub description: String,
    pub duration_minutes: i32,
}

impl From<MovieRow> for Movie {
    fn from(row: MovieRow) -> Self {
        Movie {
            id: MovieId(row.id),
            title: row.title,
            description: row.description,
            duration_minutes: row.duration_minutes,
        }
    }
}

#[derive(Insertable)]
#[diesel(table_name = movies)]
pub(crate) struct NewMovieRow {
    pub title: String,
    pub description: String,
    pub duration_minutes: i32,
}

#[derive(AsChangeset, Default)]
#[diesel(table_name = movies)]
pub(crate) struct MovieChanges {
    pub title: Option<String>,
    pub description: Option<String>,
    pub duration_minutes: Option<i32>,
}

impl MovieChanges {
    pub fn is_empty(&self) -> bool {
        self.title.is_none() && self.description.is_none() && self.duration_minutes.is_none()
    }
}

/// A show joined with its movie's title; available seats are counted separately.
#[derive(Queryable)]
pub(crate) struct ShowRow {
    pub id: i64,
    pub movie_id: i64,
    pub movie_title: String,
    pub screen_name: String,
    pub start_time: NaiveDateTime,
    pub total_seats: i32,
}

impl ShowRow {
    pub fn into_show(self, booked: i64) -> Show {
        Show {
            id: ShowId(self.id),
            movie: MovieRef {
                id: MovieId(self.movie_id),
                title: self.movie_title,
            },
            screen_name: self.screen_name,
            start_time: to_utc(self.start_time),
            available_seats: self.total_seats - booked as i32,
            total_seats: self.total_seats,
        }
    }
}

#[derive(Insertable)]
#[diesel(table_name = shows)]
pub(crate) struct NewShowRow {
    pub movie_id: i64,
    pub screen_name: String,
    pub start_time: NaiveDateTime,
    pub total_seats: i32,
}

#[derive(AsChangeset, Default)]
#[diesel(table_name = shows)]
pub(crate) struct ShowChanges {
    pub movie_id: Option<i64>,
    pub screen_name: Option<String>,
    pub start_time: Option<NaiveDateTime>,
    pub total_seats: Option<i32>,
}

impl ShowChanges {
    pub fn is_empty(&self) -> bool {
        self.movie_id.is_none()
            && self.screen_name.is_none()
            && self.start_time.is_none()
            && self.total_seats.is_none()
    }
}

/// What a booking transaction reads of a show under its lock.
pub(crate) type ShowLockRow = (i64, NaiveDateTime, i32);

pub(crate) fn snapshot((id, start_time, total_seats): ShowLockRow) -> ShowSnapshot {
    ShowSnapshot {
        id: ShowId(id),
        start_time: to_utc(start_time),
        total_seats,
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = bookings)]
pub(crate) struct BookingRow {
    pub id: i64,
    pub user_id: i64,
    pub show_id: i64,
    pub seat_number: i32,
    pub status: String,
    pub booking_time: NaiveDateTime,
    pub cancelled_at: Option<NaiveDateTime>,
}

impl BookingRow {
    pub fn into_booking(self, username: String) -> Booking {
        Booking {
            id: BookingId(self.id),
            user_id: UserId(self.user_id),
            username,
            show_id: ShowId(self.show_id),
            seat_number: self.seat_number,
            status: if self.status == CANCELLED {
                BookingStatus::Cancelled
            } else {
                BookingStatus::Confirmed
            },
            booking_time: to_utc(self.booking_time),
            cancelled_at: self.cancelled_at.map(to_utc),
        }
    }
}

#[derive(Insertable)]
#[diesel(table_name = bookings)]
pub(crate) struct NewBookingRow {
    pub user_id: i64,
    pub show_id: i64,
    pub seat_number: i32,
    pub status: &'static str,
    pub booking_time: NaiveDateTime,
}
