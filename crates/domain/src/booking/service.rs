//! The booking use cases: book seats, list and read one's bookings, cancel one.

use std::sync::Arc;

use thiserror::Error;

use super::best_seats::SeatQuery;
use super::model::*;
use super::ports::*;
use crate::accounts::AuthUser;
use crate::catalog::ShowRepository;
use crate::idempotency::IdempotentAnswer;
use crate::shared::{BookingId, Clock, Listing, Page, ShowId, StoreError, ValidationErrors};

/// A booking request as submitted: one seat or a list of seats, never both.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BookInput {
    pub seat_number: Option<i64>,
    pub seat_numbers: Option<Vec<i64>>,
}

impl BookInput {
    pub fn parse(&self) -> Result<SeatSelection, ValidationErrors> {
        match (self.seat_number, &self.seat_numbers) {
            (Some(_), Some(_)) => Err(ValidationErrors::single(
                "seat_numbers",
                "give either seat_number or seat_numbers, not both",
            )),
            (None, None) => Err(ValidationErrors::single(
                "seat_number",
                "this field is required (or seat_numbers)",
            )),
            (Some(one), None) => {
                SeatSelection::single(one).map_err(|e| ValidationErrors::single("seat_number", e))
            }
            (None, Some(many)) => {
                SeatSelection::new(many).map_err(|e| ValidationErrors::single("seat_numbers", e))
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum BookingsError {
    #[error("invalid query: {0}")]
    Invalid(ValidationErrors),
    #[error("booking not found")]
    NotFound,
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum BestSeatsError {
    #[error("invalid query: {0}")]
    Invalid(ValidationErrors),
    #[error("show not found")]
    ShowNotFound,
    #[error("the show has already started")]
    ShowStarted,
    #[error("no block of adjacent free seats fits the request")]
    NoAdjacentSeats,
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Clone)]
pub struct BookingService {
    bookings: Arc<dyn BookingRepository>,
    shows: Arc<dyn ShowRepository>,
    clock: Arc<dyn Clock>,
}

impl BookingService {
    pub fn new(
        bookings: Arc<dyn BookingRepository>,
        shows: Arc<dyn ShowRepository>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            bookings,
            shows,
            clock,
        }
    }

    /// The seats `count` would get now: the best block of adjacent free seats
    /// ([`super::rules::choose_block`]), from the show's layout, its confirmed bookings and its active
    /// holds. Nothing is held; a booking of them may still find one taken meanwhile.
    pub async fn best_seats(
        &self,
        show: i64,
        count: Option<i64>,
        category: Option<&str>,
        wheelchair: Option<bool>,
    ) -> Result<Vec<i32>, BestSeatsError> {
        let query =
            SeatQuery::parse(count, category, wheelchair).map_err(BestSeatsError::Invalid)?;
        let seats = self
            .shows
            .booked_seats(ShowId(show))
            .await?
            .ok_or(BestSeatsError::ShowNotFound)?;
        let started = seats.show.start_time.has_passed(self.clock.now());
        super::rules::choose_block(&seats.layout, |n| seats.is_taken(n), &query, started)
    }

    /// Books every requested seat or none. Malformed requests are refused before any
    /// storage access; the rest of the rules are applied by the adapter under its locks.
    /// With `answer`, the answer to a retry commits with the bookings.
    pub async fn book(
        &self,
        caller: &AuthUser,
        show: i64,
        input: &BookInput,
        answer: Option<&IdempotentAnswer<[Booking]>>,
    ) -> Result<Vec<Booking>, BookError> {
        let seats = input.parse().map_err(BookError::Invalid)?;
        self.bookings
            .book_seats(ShowId(show), caller, &seats, self.clock.now(), answer)
            .await
    }

    pub async fn list(
        &self,
        caller: &AuthUser,
        status: Option<&str>,
        limit: Option<i64>,
        offset: Option<i64>,
    ) -> Result<Listing<Booking>, BookingsError> {
        let mut errors = ValidationErrors::default();
        let page = Page::collect(&mut errors, limit, offset);
        let status = errors.optional("status", status.map(BookingStatus::parse));
        errors.into_result().map_err(BookingsError::Invalid)?;
        Ok(self.bookings.list_bookings(caller, status, page).await?)
    }

    /// One of the caller's bookings; someone else's is reported as not found.
    pub async fn get(&self, caller: &AuthUser, id: i64) -> Result<Booking, BookingsError> {
        match self.bookings.get_booking(BookingId(id)).await? {
            Some(booking) if booking.user_id == caller.id => Ok(booking),
            _ => Err(BookingsError::NotFound),
        }
    }

    /// With `answer`, the answer to a retry commits with the cancellation.
    pub async fn cancel(
        &self,
        caller: &AuthUser,
        id: i64,
        answer: Option<&IdempotentAnswer<Booking>>,
    ) -> Result<Booking, CancelError> {
        self.bookings
            .cancel_booking(BookingId(id), caller, self.clock.now(), answer)
            .await
    }
}
