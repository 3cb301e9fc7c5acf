//! How the booking use cases' errors answer over HTTP.

use domain::{BestSeatsError, BookError, BookingsError, CancelError, ValidationErrors};

use crate::http::ApiError;

impl From<BookError> for ApiError {
    fn from(error: BookError) -> Self {
        match error {
            BookError::Invalid(fields) => {
                // Every booking validation problem is about seats: one code for them all.
                let mut e = Self::invalid(fields);
                e.body.code = "invalid_seat".into();
                e
            }
            BookError::ShowNotFound => Self::not_found("show"),
            BookError::ShowStarted => {
                Self::conflict("show_started", "the show has already started")
            }
            BookError::SeatOutOfRange {
                field,
                seats,
                total_seats,
            } => {
                let mut e = Self::bad_request(
                    "invalid_seat",
                    format!("seat numbers go from 1 to {total_seats} in this show"),
                );
                let problem = format!("seats {seats:?} do not exist (1 to {total_seats})");
                e.body.fields = Some(ValidationErrors::single(field, problem).0);
                e
            }
            BookError::SeatTaken { seats } => {
                let mut e =
                    Self::conflict("seat_taken", format!("seat(s) {seats:?} already booked"));
                e.body.seats = Some(seats);
                e
            }
            BookError::SeatBlocked { seats } => {
                let mut e = Self::conflict(
                    "seat_blocked",
                    format!("seat(s) {seats:?} are blocked and never bookable"),
                );
                e.body.seats = Some(seats);
                e
            }
            BookError::UserNotFound => {
                Self::unauthorized("token_invalid", "the user of this token no longer exists")
            }
            BookError::Store(error) => error.into(),
        }
    }
}

impl From<BestSeatsError> for ApiError {
    fn from(error: BestSeatsError) -> Self {
        match error {
            BestSeatsError::Invalid(fields) => {
                // The count is a seat request, as for booking and holding; a malformed or
                // unknown category alone is plain invalid input.
                let seats = fields.0.contains_key("count");
                let mut e = Self::invalid(fields);
                if seats {
                    e.body.code = "invalid_seat".into();
                }
                e
            }
            BestSeatsError::ShowNotFound => Self::not_found("show"),
            BestSeatsError::ShowStarted => {
                Self::conflict("show_started", "the show has already started")
            }
            BestSeatsError::NoAdjacentSeats => Self::conflict(
                "no_adjacent_seats",
                "no block of that many adjacent free seats fits the request",
            ),
            BestSeatsError::Store(error) => error.into(),
        }
    }
}

impl From<BookingsError> for ApiError {
    fn from(error: BookingsError) -> Self {
        match error {
            BookingsError::Invalid(fields) => Self::invalid(fields),
            BookingsError::NotFound => Self::not_found("booking"),
            BookingsError::Store(error) => error.into(),
        }
    }
}

impl From<CancelError> for ApiError {
    fn from(error: CancelError) -> Self {
        match error {
            CancelError::NotFound => Self::not_found("booking"),
            CancelError::AlreadyCancelled => {
                Self::conflict("already_cancelled", "the booking is already cancelled")
            }
            CancelError::ShowStarted => {
                Self::conflict("show_started", "the show has already started")
            }
            CancelError::Store(error) => error.into(),
        }
    }
}
