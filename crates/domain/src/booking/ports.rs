//! What booking needs from storage, and why storage may refuse a booking or a cancel.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use thiserror::Error;

use super::model::*;
use crate::accounts::AuthUser;
use crate::idempotency::IdempotentAnswer;
use crate::shared::{BookingId, Listing, Page, ShowId, StoreError, ValidationErrors};

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
