//! What booking needs from storage, and why storage may refuse a booking or a cancel.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use thiserror::Error;

use super::best_seats::SeatQuery;
use super::hold::{Hold, HoldPolicy, HoldRefusal, HoldStatus};
use super::model::*;
use crate::accounts::AuthUser;
use crate::idempotency::IdempotentAnswer;
use crate::shared::{
    BookingId, HoldId, Listing, Page, ShowId, StoreError, UserId, ValidationErrors,
};

/// Why a booking was refused. Shared by the port and the use case: the storage adapter
/// applies [`super::rules::check_booking`] inside its transaction, under its locks.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum BookError {
    #[error("{0}")]
    Invalid(ValidationErrors),
    #[error("show not found")]
    ShowNotFound,
    #[error("the show has already started")]
    ShowStarted,
    /// `field` is the request field that named the seats (`seat_number(s)`).
    #[error("seat(s) {seats:?} do not exist in this show of {total_seats} seats")]
    SeatOutOfRange {
        field: &'static str,
        seats: Vec<i32>,
        total_seats: i32,
    },
    #[error("seat(s) {seats:?} already booked")]
    SeatTaken { seats: Vec<i32> },
    /// Blocked in the layout: never bookable.
    #[error("seat(s) {seats:?} are blocked")]
    SeatBlocked { seats: Vec<i32> },
    /// The caller's token names a user that no longer exists.
    #[error("user not found")]
    UserNotFound,
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CancelError {
    /// Unknown, or someone else's: the caller cannot tell which.
    #[error("booking not found")]
    NotFound,
    #[error("booking already cancelled")]
    AlreadyCancelled,
    #[error("the show has already started")]
    ShowStarted,
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[cfg_attr(test, mockall::automock)]
#[async_trait]
pub trait BookingRepository: Send + Sync {
    /// Books every seat or none, in one transaction, so that of any number of concurrent
    /// requests for a seat exactly one succeeds. With `answer`, the rendered answer is
    /// stored for its claim in that same transaction.
    async fn book_seats<'a>(
        &self,
        show: ShowId,
        user: &AuthUser,
        seats: &SeatSelection,
        now: DateTime<Utc>,
        answer: Option<&'a IdempotentAnswer<[Booking]>>,
    ) -> Result<Vec<Booking>, BookError>;
    /// The user's bookings, newest first.
    async fn list_bookings(
        &self,
        user: &AuthUser,
        status: Option<BookingStatus>,
        page: Page,
    ) -> Result<Listing<Booking>, StoreError>;
    async fn get_booking(&self, id: BookingId) -> Result<Option<Booking>, StoreError>;
    /// Cancels the user's booking atomically, applying [`super::rules::check_cancel`].
    /// With `answer`, the rendered answer is stored for its claim in that transaction.
    async fn cancel_booking<'a>(
        &self,
        id: BookingId,
        user: &AuthUser,
        now: DateTime<Utc>,
        answer: Option<&'a IdempotentAnswer<Booking>>,
    ) -> Result<Booking, CancelError>;
}

/// What a new hold asks for: seats by number, or the best block of adjacent free seats.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HoldRequest {
    Seats(SeatSelection),
    Best(SeatQuery),
}

/// Why a new hold was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum HoldSeatsError {
    #[error("{0}")]
    Invalid(ValidationErrors),
    #[error("show not found")]
    ShowNotFound,
    #[error("the show has already started")]
    ShowStarted,
    #[error("seat(s) {seats:?} do not exist in this show of {total_seats} seats")]
    SeatOutOfRange {
        field: &'static str,
        seats: Vec<i32>,
        total_seats: i32,
    },
    #[error("seat(s) {seats:?} already booked or held")]
    SeatTaken { seats: Vec<i32> },
    #[error("seat(s) {seats:?} are blocked")]
    SeatBlocked { seats: Vec<i32> },
    #[error("no block of adjacent free seats fits the request")]
    NoAdjacentSeats,
    #[error("{held} seats already held; at most {max} at a time")]
    HoldLimit { held: usize, max: usize },
    #[error("user not found")]
    UserNotFound,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A hold shares the seat rules of a booking.
impl From<BookError> for HoldSeatsError {
    fn from(e: BookError) -> Self {
        match e {
            BookError::Invalid(e) => Self::Invalid(e),
            BookError::ShowNotFound => Self::ShowNotFound,
            BookError::ShowStarted => Self::ShowStarted,
            BookError::SeatOutOfRange {
                field,
                seats,
                total_seats,
            } => Self::SeatOutOfRange {
                field,
                seats,
                total_seats,
            },
            BookError::SeatTaken { seats } => Self::SeatTaken { seats },
            BookError::SeatBlocked { seats } => Self::SeatBlocked { seats },
            BookError::UserNotFound => Self::UserNotFound,
            BookError::Store(e) => Self::Store(e),
        }
    }
}

/// A `count` hold chooses its seats as best-seats does, and is refused alike.
impl From<super::service::BestSeatsError> for HoldSeatsError {
    fn from(e: super::service::BestSeatsError) -> Self {
        use super::service::BestSeatsError as E;
        match e {
            E::Invalid(e) => Self::Invalid(e),
            E::ShowNotFound => Self::ShowNotFound,
            E::ShowStarted => Self::ShowStarted,
            E::NoAdjacentSeats => Self::NoAdjacentSeats,
            E::Store(e) => Self::Store(e),
        }
    }
}

/// Why a hold could not be read, extended or released.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum HoldError {
    /// Unknown, or someone else's: the caller cannot tell which.
    #[error("hold not found")]
    NotFound,
    #[error("the hold has expired")]
    Expired,
    #[error("the hold is {}, not active", .0.as_str())]
    NotActive(HoldStatus),
    #[error("the hold cannot be extended any further")]
    ExtensionLimit,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a hold could not be confirmed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ConfirmError {
    #[error("hold not found")]
    NotFound,
    #[error("the hold has expired")]
    Expired,
    #[error("the hold is {}, not active", .0.as_str())]
    NotActive(HoldStatus),
    #[error("the show has already started")]
    ShowStarted,
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum HoldsError {
    #[error("invalid query: {0}")]
    Invalid(ValidationErrors),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<HoldRefusal> for HoldError {
    fn from(e: HoldRefusal) -> Self {
        match e {
            HoldRefusal::NotFound => Self::NotFound,
            HoldRefusal::Expired => Self::Expired,
            HoldRefusal::NotActive(status) => Self::NotActive(status),
            HoldRefusal::ExtensionLimit => Self::ExtensionLimit,
            // Only a new hold meets the cap; an existing one never does.
            HoldRefusal::HoldLimit { .. } => Self::Store(StoreError::Unexpected(
                "the hold cap applies to new holds only".into(),
            )),
        }
    }
}

impl From<HoldRefusal> for ConfirmError {
    fn from(e: HoldRefusal) -> Self {
        match e {
            HoldRefusal::NotFound => Self::NotFound,
            HoldRefusal::Expired => Self::Expired,
            HoldRefusal::NotActive(status) => Self::NotActive(status),
            other => Self::Store(StoreError::Unexpected(format!(
                "a confirmation cannot be refused for: {other}"
            ))),
        }
    }
}

impl From<HoldRefusal> for HoldSeatsError {
    fn from(e: HoldRefusal) -> Self {
        match e {
            HoldRefusal::HoldLimit { held, max } => Self::HoldLimit { held, max },
            other => Self::Store(StoreError::Unexpected(format!(
                "a new hold cannot be refused for: {other}"
            ))),
        }
    }
}

/// What holds need from storage. Each write is one transaction in which the adapter
/// applies the rules of [`super::hold`] to what it read under its locks; how it locks
/// is its own business, as long as no seat is ever in two active holds or bookings.
#[cfg_attr(test, mockall::automock)]
#[async_trait]
pub trait HoldRepository: Send + Sync {
    /// Holds the requested seats (or the best free block) for the user until
    /// `now + policy.ttl`, all or none, within the user's seat cap. A seat of an
    /// expired hold counts as free.
    async fn hold_seats(
        &self,
        show: ShowId,
        user: UserId,
        request: &HoldRequest,
        policy: &HoldPolicy,
        now: DateTime<Utc>,
    ) -> Result<Hold, HoldSeatsError>;
    /// The user's holds, newest first; the status filter judges expiry at `now`.
    async fn list_holds(
        &self,
        user: UserId,
        status: Option<HoldStatus>,
        page: Page,
        now: DateTime<Utc>,
    ) -> Result<Listing<Hold>, StoreError>;
    async fn get_hold(&self, id: HoldId) -> Result<Option<Hold>, StoreError>;
    /// Applies [`super::hold::check_extend`] and moves the expiry of the hold's seats.
    async fn extend_hold(
        &self,
        id: HoldId,
        user: UserId,
        policy: &HoldPolicy,
        now: DateTime<Utc>,
    ) -> Result<Hold, HoldError>;
    /// Applies [`super::hold::check_usable`] and frees the hold's seats at once.
    async fn release_hold(
        &self,
        id: HoldId,
        user: UserId,
        now: DateTime<Utc>,
    ) -> Result<Hold, HoldError>;
    /// Turns every seat of the hold into a confirmed booking at the price held, all or
    /// none; with `answer`, the rendered answer is stored in the same transaction.
    async fn confirm_hold<'a>(
        &self,
        id: HoldId,
        user: &AuthUser,
        now: DateTime<Utc>,
        answer: Option<&'a IdempotentAnswer<[Booking]>>,
    ) -> Result<Vec<Booking>, ConfirmError>;
    /// Marks at most `limit` active holds past their expiry `EXPIRED` and frees the
    /// seats no one took over; returns how many were marked. Harmless when run late,
    /// twice, or by two processes at once.
    async fn expire_holds(&self, now: DateTime<Utc>, limit: i64) -> Result<usize, StoreError>;
}
