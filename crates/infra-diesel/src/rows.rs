//! Rows as Diesel reads and writes them, and their conversion to and from domain types.
//! A stored value no rule of the domain allows is reported as a storage error, never
//! quietly replaced.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use domain::*;
use serde::{Deserialize, Serialize};

use crate::schema::{
    bookings, holds, idempotency_keys, movies, refresh_tokens, screens, show_prices, shows, users,
};

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

/// A page of rows as a page of domain values; a stored value no rule allows fails it.
pub(crate) fn listing<R, T: TryFrom<R, Error = StoreError>>(
    rows: Vec<R>,
    total: i64,
) -> Result<Listing<T>, StoreError> {
    Ok(Listing {
        items: rows
            .into_iter()
            .map(T::try_from)
            .collect::<Result<_, _>>()?,
        total,
    })
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

/// A show joined with its movie's title; available seats and prices are read
/// separately.
#[derive(Queryable)]
pub(crate) struct ShowRow {
    pub id: i64,
    pub movie_id: i64,
    pub movie_title: String,
    pub screen_name: String,
    pub start_time: NaiveDateTime,
    pub total_seats: i32,
    pub screen_id: Option<i64>,
    pub currency: String,
}

impl ShowRow {
    /// The show, given its confirmed bookings, its blocked seats and its prices.
    pub fn into_show(self, booked: i64, blocked: i32, prices: Prices) -> Result<Show, StoreError> {
        let screen_name = stored("screen_name", ScreenName::parse(&self.screen_name))?;
        Ok(Show {
            id: ShowId(self.id),
            movie: MovieRef {
                id: MovieId(self.movie_id),
                title: stored("title", Title::parse(&self.movie_title))?,
            },
            screen: self.screen_id.map(|id| ScreenRef {
                id: ScreenId(id),
                name: screen_name.clone(),
            }),
            screen_name,
            start_time: stored("start_time", StartTime::parse(to_utc(self.start_time)))?,
            available_seats: self.total_seats - booked as i32 - blocked,
            total_seats: stored("total_seats", TotalSeats::parse(self.total_seats.into()))?,
            prices,
            currency: stored("currency", Currency::parse(&self.currency))?,
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
    pub screen_id: Option<i64>,
    pub currency: String,
}

/// The columns of a show an edit may change; `None` leaves one as it is.
#[derive(AsChangeset, Default)]
#[diesel(table_name = shows)]
pub(crate) struct ShowChanges {
    pub movie_id: Option<i64>,
    pub screen_name: Option<String>,
    pub start_time: Option<NaiveDateTime>,
    pub total_seats: Option<i32>,
    pub screen_id: Option<i64>,
}

impl ShowChanges {
    pub fn is_empty(&self) -> bool {
        self.movie_id.is_none()
            && self.screen_name.is_none()
            && self.start_time.is_none()
            && self.total_seats.is_none()
            && self.screen_id.is_none()
    }
}

/// What a transaction reads of a show under its lock.
#[derive(Queryable)]
pub(crate) struct ShowLockRow {
    pub id: i64,
    pub start_time: NaiveDateTime,
    pub total_seats: i32,
    pub screen_id: Option<i64>,
    pub currency: String,
}

pub(crate) fn snapshot(row: &ShowLockRow) -> Result<ShowSnapshot, StoreError> {
    Ok(ShowSnapshot {
        id: ShowId(row.id),
        start_time: stored("start_time", StartTime::parse(to_utc(row.start_time)))?,
        total_seats: stored("total_seats", TotalSeats::parse(row.total_seats.into()))?,
    })
}

pub(crate) fn currency(raw: &str) -> Result<Currency, StoreError> {
    stored("currency", Currency::parse(raw))
}

/// A show's prices from its `(category, price)` rows; a show without any is corrupt.
pub(crate) fn prices_from_rows(
    show: i64,
    rows: impl IntoIterator<Item = (String, i32)>,
) -> Result<Prices, StoreError> {
    let prices = rows
        .into_iter()
        .map(|(category, price)| {
            Ok((
                stored("category", Category::parse(&category))?,
                stored("price", Price::parse(price.into()))?,
            ))
        })
        .collect::<Result<Prices, StoreError>>()?;
    if prices.is_empty() {
        return Err(StoreError::Unexpected(format!("show {show} has no prices")));
    }
    Ok(prices)
}

/// The prices of several shows from their `(show, category, price)` rows.
pub(crate) fn prices_by_show(
    rows: Vec<(i64, String, i32)>,
) -> Result<BTreeMap<i64, Prices>, StoreError> {
    let mut grouped: BTreeMap<i64, Vec<(String, i32)>> = BTreeMap::new();
    for (show, category, price) in rows {
        grouped.entry(show).or_default().push((category, price));
    }
    grouped
        .into_iter()
        .map(|(show, rows)| Ok((show, prices_from_rows(show, rows)?)))
        .collect()
}

#[derive(Insertable)]
#[diesel(table_name = show_prices)]
pub(crate) struct PriceRow<'a> {
    pub show_id: i64,
    pub category: &'a str,
    pub price: i32,
}

pub(crate) fn price_rows(show: i64, prices: &Prices) -> Vec<PriceRow<'_>> {
    prices
        .iter()
        .map(|(category, price)| PriceRow {
            show_id: show,
            category: category.as_str(),
            price: price.get(),
        })
        .collect()
}

/// One row of a stored layout: the contract's compact form, every field written out.
#[derive(Serialize, Deserialize)]
struct StoredRow {
    label: String,
    count: i64,
    category: String,
    #[serde(default)]
    aisles_after: Vec<i64>,
    #[serde(default)]
    wheelchair: Vec<i64>,
    #[serde(default)]
    blocked: Vec<i64>,
}

/// A layout as stored: its compact form as JSON.
pub(crate) fn layout_to_json(layout: &Layout) -> Result<String, StoreError> {
    let rows: Vec<StoredRow> = layout
        .to_input()
        .into_iter()
        .map(|row| StoredRow {
            label: row.label.unwrap_or_default(),
            count: row.count.unwrap_or_default(),
            category: row.category.unwrap_or_default(),
            aisles_after: row.aisles_after,
            wheelchair: row.wheelchair,
            blocked: row.blocked,
        })
        .collect();
    serde_json::to_string(&rows).map_err(|e| StoreError::Unexpected(format!("layout: {e}")))
}

/// A stored layout, parsed by the domain like any submitted one.
pub(crate) fn layout_from_json(raw: &str) -> Result<Layout, StoreError> {
    let rows: Vec<StoredRow> = serde_json::from_str(raw)
        .map_err(|e| StoreError::Unexpected(format!("stored layout is not JSON: {e}")))?;
    let inputs: Vec<RowInput> = rows
        .into_iter()
        .map(|row| RowInput {
            label: Some(row.label),
            count: Some(row.count),
            category: Some(row.category),
            aisles_after: row.aisles_after,
            wheelchair: row.wheelchair,
            blocked: row.blocked,
        })
        .collect();
    Layout::parse(&inputs)
        .map_err(|problems| StoreError::Unexpected(format!("stored layout {problems}")))
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = screens)]
pub(crate) struct ScreenRow {
    pub id: i64,
    pub name: String,
    pub layout: String,
}

impl TryFrom<ScreenRow> for Screen {
    type Error = StoreError;

    fn try_from(row: ScreenRow) -> Result<Self, StoreError> {
        Ok(Screen {
            id: ScreenId(row.id),
            name: stored("name", ScreenName::parse(&row.name))?,
            layout: layout_from_json(&row.layout)?,
        })
    }
}

/// A screen's layout as written, with the counts derived from it that queries read
/// without parsing it.
#[derive(Insertable, AsChangeset)]
#[diesel(table_name = screens)]
pub(crate) struct LayoutColumns {
    pub capacity: i32,
    pub blocked_seats: i32,
    pub layout: String,
}

impl LayoutColumns {
    pub fn of(layout: &Layout) -> Result<Self, StoreError> {
        Ok(Self {
            capacity: layout.capacity(),
            blocked_seats: layout.blocked_seats().len() as i32,
            layout: layout_to_json(layout)?,
        })
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
    pub price: i32,
    pub currency: String,
    pub seat_label: String,
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
            seat_label: self.seat_label,
            price: stored("price", Price::parse(self.price.into()))?,
            currency: currency(&self.currency)?,
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
pub(crate) struct NewBookingRow<'a> {
    pub user_id: i64,
    pub show_id: i64,
    pub seat_number: i32,
    pub status: &'static str,
    pub booking_time: NaiveDateTime,
    pub price: i32,
    pub currency: &'a str,
    pub seat_label: &'a str,
}

/// One held seat as a hold stores it (JSON): what it was and cost when it was held.
#[derive(Serialize, Deserialize)]
struct HeldSeat {
    seat_number: i32,
    label: String,
    category: String,
    price: i32,
}

pub(crate) fn tickets_to_json(tickets: &[Ticket]) -> Result<String, StoreError> {
    let seats: Vec<HeldSeat> = tickets
        .iter()
        .map(|t| HeldSeat {
            seat_number: t.seat_number,
            label: t.label.clone(),
            category: t.category.as_str().to_owned(),
            price: t.price.get(),
        })
        .collect();
    serde_json::to_string(&seats).map_err(|e| StoreError::Unexpected(format!("held seats: {e}")))
}

fn tickets_from_json(raw: &str) -> Result<Vec<Ticket>, StoreError> {
    let seats: Vec<HeldSeat> = serde_json::from_str(raw)
        .map_err(|e| StoreError::Unexpected(format!("stored held seats are not JSON: {e}")))?;
    seats
        .into_iter()
        .map(|s| {
            Ok(Ticket {
                seat_number: s.seat_number,
                label: s.label,
                category: stored("category", Category::parse(&s.category))?,
                price: stored("price", Price::parse(s.price.into()))?,
            })
        })
        .collect()
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = holds)]
pub(crate) struct HoldRow {
    pub id: i64,
    pub user_id: i64,
    pub show_id: i64,
    pub status: String,
    pub seats: String,
    pub currency: String,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub extensions: i32,
}

impl TryFrom<HoldRow> for Hold {
    type Error = StoreError;

    fn try_from(row: HoldRow) -> Result<Self, StoreError> {
        Ok(Hold {
            id: HoldId(row.id),
            user_id: UserId(row.user_id),
            show_id: ShowId(row.show_id),
            seats: tickets_from_json(&row.seats)?,
            currency: currency(&row.currency)?,
            stored_status: HoldStatus::from_stored(&row.status).ok_or_else(|| {
                StoreError::Unexpected(format!("stored hold status {:?}", row.status))
            })?,
            created_at: to_utc(row.created_at),
            expires_at: to_utc(row.expires_at),
            extensions: stored(
                "extensions",
                u32::try_from(row.extensions).map_err(|e| e.to_string()),
            )?,
        })
    }
}

#[derive(Insertable)]
#[diesel(table_name = holds)]
pub(crate) struct NewHoldRow<'a> {
    pub user_id: i64,
    pub show_id: i64,
    pub status: &'static str,
    pub seat_count: i32,
    pub seats: &'a str,
    pub currency: &'a str,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub extensions: i32,
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
            price: 0,
            currency: "EUR".into(),
            seat_label: "1".into(),
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
    fn a_layout_round_trips_through_its_stored_form() {
        let layout = Layout::parse(&[
            RowInput {
                label: Some("A".into()),
                count: Some(10),
                category: Some("standard".into()),
                aisles_after: vec![5],
                wheelchair: vec![1, 2],
                blocked: vec![],
            },
            RowInput {
                label: Some("B".into()),
                count: Some(4),
                category: Some("premium".into()),
                blocked: vec![4],
                ..Default::default()
            },
        ])
        .unwrap();
        let json = layout_to_json(&layout).unwrap();
        assert_eq!(layout_from_json(&json).unwrap(), layout);
        assert!(matches!(
            layout_from_json(r#"[{"label": "A", "count": 0, "category": "standard"}]"#),
            Err(StoreError::Unexpected(_))
        ));
        assert!(matches!(
            layout_from_json("not json"),
            Err(StoreError::Unexpected(_))
        ));
        let columns = LayoutColumns::of(&layout).unwrap();
        assert_eq!((columns.capacity, columns.blocked_seats), (14, 1));
    }

    #[test]
    fn a_show_without_prices_is_corrupt() {
        assert!(matches!(
            prices_from_rows(1, Vec::new()),
            Err(StoreError::Unexpected(_))
        ));
        let prices = prices_from_rows(1, vec![("standard".to_owned(), 900)]).unwrap();
        assert_eq!(prices.get(&Category::standard()), Price::parse(900).ok());
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
