//! Rows as Diesel reads and writes them, and their conversion to and from domain types.
//! A stored value no rule of the domain allows is reported as a storage error, never
//! quietly replaced.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use domain::*;

use crate::schema::{bookings, idempotency_keys, movies, refresh_tokens, shows, users};

pub(crate) fn to_utc(t: NaiveDateTime) -> DateTime<Utc> {
    t.and_utc()
}

pub(crate) fn to_naive(t: DateTime<Utc>) -> NaiveDateTime {
    t.naive_utc()
}

/// Parses a stored value with the domain's own parser; a refusal means the row is corrupt.
fn stored<T>(column: &str, parsed: Result<T, String>) -> Result<T, StoreError> {
    parsed.map_err(|problem| StoreError::Unexpected(format!("stored {column} {problem}")))
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

impl TryFrom<UserRow> for User {
    type Error = StoreError;

    fn try_from(row: UserRow) -> Result<Self, StoreError> {
        Ok(User {
            id: UserId(row.id),
            username: stored("username", Username::parse(&row.username))?,
            email: row
                .email
                .map(|e| stored("email", Email::parse(&e)))
                .transpose()?,
            is_staff: row.is_staff,
            password_hash: PasswordHash(row.password_hash),
        })
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

impl From<NewUser> for NewUserRow {
    fn from(user: NewUser) -> Self {
        Self {
            username_key: user.username.key(),
            username: user.username.into_string(),
            email: user.email.map(Email::into_string),
            password_hash: user.password_hash.0,
            is_staff: user.is_staff,
            created_at: to_naive(user.created_at),
        }
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = movies)]
pub(crate) struct MovieRow {
    pub id: i64,
    pub title: String,
    pub description: String,
    pub duration_minutes: i32,
}

impl TryFrom<MovieRow> for Movie {
    type Error = StoreError;

    fn try_from(row: MovieRow) -> Result<Self, StoreError> {
        Ok(Movie {
            id: MovieId(row.id),
            title: stored("title", Title::parse(&row.title))?,
            description: stored("description", Description::parse(&row.description))?,
            duration_minutes: stored(
                "duration_minutes",
                DurationMinutes::parse(row.duration_minutes.into()),
            )?,
        })
    }
}

#[derive(Insertable)]
#[diesel(table_name = movies)]
pub(crate) struct NewMovieRow {
    pub title: String,
    pub description: String,
    pub duration_minutes: i32,
}

impl From<NewMovie> for NewMovieRow {
    fn from(movie: NewMovie) -> Self {
        Self {
            title: movie.title.into_string(),
            description: movie.description.into_string(),
            duration_minutes: movie.duration_minutes.get(),
        }
    }
}

#[derive(AsChangeset)]
#[diesel(table_name = movies)]
pub(crate) struct MovieChanges {
    pub title: Option<String>,
    pub description: Option<String>,
    pub duration_minutes: Option<i32>,
}

impl From<MoviePatch> for MovieChanges {
    fn from(patch: MoviePatch) -> Self {
        Self {
            title: patch.title.map(Title::into_string),
            description: patch.description.map(Description::into_string),
            duration_minutes: patch.duration_minutes.map(DurationMinutes::get),
        }
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
    pub fn into_show(self, booked: i64) -> Result<Show, StoreError> {
        Ok(Show {
            id: ShowId(self.id),
            movie: MovieRef {
                id: MovieId(self.movie_id),
                title: stored("title", Title::parse(&self.movie_title))?,
            },
            screen_name: stored("screen_name", ScreenName::parse(&self.screen_name))?,
            start_time: stored("start_time", StartTime::parse(to_utc(self.start_time)))?,
            available_seats: self.total_seats - booked as i32,
            total_seats: stored("total_seats", TotalSeats::parse(self.total_seats.into()))?,
        })
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

impl From<NewShow> for NewShowRow {
    fn from(show: NewShow) -> Self {
        Self {
            movie_id: show.movie_id.0,
            screen_name: show.screen_name.into_string(),
            start_time: to_naive(show.start_time.get()),
            total_seats: show.total_seats.get(),
        }
    }
}

#[derive(AsChangeset)]
#[diesel(table_name = shows)]
pub(crate) struct ShowChanges {
    pub movie_id: Option<i64>,
    pub screen_name: Option<String>,
    pub start_time: Option<NaiveDateTime>,
    pub total_seats: Option<i32>,
}

impl From<ShowPatch> for ShowChanges {
    fn from(patch: ShowPatch) -> Self {
        Self {
            movie_id: patch.movie_id.map(|m| m.0),
            screen_name: patch.screen_name.map(ScreenName::into_string),
            start_time: patch.start_time.map(|t| to_naive(t.get())),
            total_seats: patch.total_seats.map(TotalSeats::get),
        }
    }
}

/// What a transaction reads of a show under its lock.
pub(crate) type ShowLockRow = (i64, NaiveDateTime, i32);

pub(crate) fn snapshot(
    (id, start_time, total_seats): ShowLockRow,
) -> Result<ShowSnapshot, StoreError> {
    Ok(ShowSnapshot {
        id: ShowId(id),
        start_time: stored("start_time", StartTime::parse(to_utc(start_time)))?,
        total_seats: stored("total_seats", TotalSeats::parse(total_seats.into()))?,
    })
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
    pub fn into_booking(self, username: String) -> Result<Booking, StoreError> {
        let status = BookingStatus::from_stored(&self.status)
            .ok_or_else(|| StoreError::Unexpected(format!("stored status {:?}", self.status)))?;
        Ok(Booking {
            id: BookingId(self.id),
            user_id: UserId(self.user_id),
            username,
            show_id: ShowId(self.show_id),
            seat_number: self.seat_number,
            status,
            booking_time: to_utc(self.booking_time),
            cancelled_at: self.cancelled_at.map(to_utc),
        })
    }
}

/// Bookings of one user, all named after them.
pub(crate) fn bookings_of(
    rows: Vec<BookingRow>,
    username: &str,
) -> Result<Vec<Booking>, StoreError> {
    rows.into_iter()
        .map(|row| row.into_booking(username.to_owned()))
        .collect()
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

#[cfg(test)]
mod tests {
    use super::*;

    fn booking_row(status: &str) -> BookingRow {
        BookingRow {
            id: 1,
            user_id: 1,
            show_id: 1,
            seat_number: 1,
            status: status.into(),
            booking_time: NaiveDateTime::default(),
            cancelled_at: None,
        }
    }

    #[test]
    fn an_unknown_stored_status_is_an_error_not_a_default() {
        assert!(matches!(
            booking_row("PENDING").into_booking("john".into()),
            Err(StoreError::Unexpected(_))
        ));
        assert_eq!(
            booking_row("CANCELLED")
                .into_booking("john".into())
                .unwrap()
                .status,
            BookingStatus::Cancelled
        );
    }

    #[test]
    fn a_stored_value_no_rule_allows_is_an_error() {
        let row = MovieRow {
            id: 1,
            title: " ".into(),
            description: String::new(),
            duration_minutes: 90,
        };
        assert!(matches!(
            Movie::try_from(row),
            Err(StoreError::Unexpected(_))
        ));
    }
}

/// A refresh token's record. Inserted whole (a new record is neither retired nor revoked).
#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = refresh_tokens)]
pub(crate) struct RefreshTokenRow {
    pub jti: String,
    pub family: String,
    pub user_id: i64,
    pub issued_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub retired_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
}

impl From<&RefreshRecord> for RefreshTokenRow {
    fn from(record: &RefreshRecord) -> Self {
        Self {
            jti: record.jti.0.clone(),
            family: record.family.0.clone(),
            user_id: record.user.0,
            issued_at: to_naive(record.issued_at),
            expires_at: to_naive(record.expires_at),
            retired_at: None,
            revoked_at: None,
        }
    }
}

impl From<RefreshTokenRow> for StoredRefresh {
    fn from(row: RefreshTokenRow) -> Self {
        Self {
            record: RefreshRecord {
                jti: TokenId(row.jti),
                family: FamilyId(row.family),
                user: UserId(row.user_id),
                issued_at: to_utc(row.issued_at),
                expires_at: to_utc(row.expires_at),
            },
            retired_at: row.retired_at.map(to_utc),
            revoked_at: row.revoked_at.map(to_utc),
        }
    }
}

/// What an idempotency row holds for its scope.
#[derive(Queryable, Selectable)]
#[diesel(table_name = idempotency_keys)]
pub(crate) struct IdempotencyRow {
    pub fingerprint: Vec<u8>,
    pub claim_token: String,
    pub created_at: NaiveDateTime,
    pub status: Option<i32>,
    pub content_type: Option<String>,
    pub body: Option<Vec<u8>>,
}

impl TryFrom<IdempotencyRow> for IdempotencyRecord {
    type Error = StoreError;

    fn try_from(row: IdempotencyRow) -> Result<Self, StoreError> {
        let state = match (row.status, row.body) {
            (None, _) => KeyState::InFlight,
            (Some(status), Some(body)) => KeyState::Done(StoredAnswer {
                status: stored(
                    "idempotency status",
                    u16::try_from(status).map_err(|e| e.to_string()),
                )?,
                content_type: row.content_type,
                body,
            }),
            (Some(_), None) => {
                return Err(StoreError::Unexpected(
                    "stored idempotency answer has a status but no body".into(),
                ))
            }
        };
        Ok(Self {
            fingerprint: RequestFingerprint(row.fingerprint),
            created_at: to_utc(row.created_at),
            state,
        })
    }
}

/// A claim in flight: inserted for a new scope, or written over an expired or abandoned
/// row (so every answer column is set, to NULL).
#[derive(Insertable, AsChangeset)]
#[diesel(table_name = idempotency_keys, treat_none_as_null = true)]
pub(crate) struct ClaimRow<'a> {
    pub scope_hash: &'a [u8],
    pub user_id: i64,
    pub method: &'a str,
    pub path: &'a str,
    pub idem_key: &'a str,
    pub fingerprint: &'a [u8],
    pub claim_token: &'a str,
    pub created_at: NaiveDateTime,
    pub status: Option<i32>,
    pub content_type: Option<&'a str>,
    pub body: Option<&'a [u8]>,
}

/// The answer written into a claim's row.
#[derive(AsChangeset)]
#[diesel(table_name = idempotency_keys, treat_none_as_null = true)]
pub(crate) struct AnswerRow<'a> {
    pub status: i32,
    pub content_type: Option<&'a str>,
    pub body: &'a [u8],
}

impl<'a> From<&'a StoredAnswer> for AnswerRow<'a> {
    fn from(answer: &'a StoredAnswer) -> Self {
        Self {
            status: i32::from(answer.status),
            content_type: answer.content_type.as_deref(),
            body: &answer.body,
        }
    }
}
