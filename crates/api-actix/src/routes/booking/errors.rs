//! How the booking use cases' errors answer over HTTP.

use domain::{
    BestSeatsError, BookError, BookingsError, CancelError, ConfirmError, HoldError, HoldSeatsError,
    HoldsError, ValidationErrors,
};

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
                let mut e = Self::conflict(
                    "seat_taken",
                    format!("seat(s) {seats:?} already booked or held"),
                );
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

/// Answers shared by the hold routes.
fn hold_expired() -> ApiError {
    ApiError::conflict(
        "hold_expired",
        "the hold has expired and its seats may have gone to someone else",
    )
}

fn hold_not_active(status: domain::HoldStatus) -> ApiError {
    ApiError::conflict(
        "hold_not_active",
        format!("the hold is {}, not ACTIVE", status.as_str()),
    )
}

impl From<HoldSeatsError> for ApiError {
    fn from(error: HoldSeatsError) -> Self {
        // The seat rules are booking's, and answer as booking does.
        let booking = |e: BookError| Self::from(e);
        match error {
            HoldSeatsError::Invalid(fields) => {
                // Which seats: one code for them all; a category or wheelchair wish alone
                // is plain invalid input, as for best-seats.
                let seats = fields.0.contains_key("seat_numbers") || fields.0.contains_key("count");
                let mut e = Self::invalid(fields);
                if seats {
                    e.body.code = "invalid_seat".into();
                }
                e
            }
            HoldSeatsError::ShowNotFound => booking(BookError::ShowNotFound),
            HoldSeatsError::ShowStarted => booking(BookError::ShowStarted),
            HoldSeatsError::SeatOutOfRange {
                field,
                seats,
                total_seats,
            } => booking(BookError::SeatOutOfRange {
                field,
                seats,
                total_seats,
            }),
            HoldSeatsError::SeatTaken { seats } => booking(BookError::SeatTaken { seats }),
            HoldSeatsError::SeatBlocked { seats } => booking(BookError::SeatBlocked { seats }),
            HoldSeatsError::UserNotFound => booking(BookError::UserNotFound),
            HoldSeatsError::NoAdjacentSeats => Self::from(BestSeatsError::NoAdjacentSeats),
            HoldSeatsError::HoldLimit { held, max } => Self::conflict(
                "hold_limit",
                format!("you already hold {held} seats; at most {max} at a time"),
            ),
            HoldSeatsError::Store(error) => error.into(),
        }
    }
}

impl From<HoldError> for ApiError {
    fn from(error: HoldError) -> Self {
        match error {
            HoldError::NotFound => Self::not_found("hold"),
            HoldError::Expired => hold_expired(),
            HoldError::NotActive(status) => hold_not_active(status),
            HoldError::ExtensionLimit => Self::conflict(
                "hold_extension_limit",
                "the hold cannot be extended any further",
            ),
            HoldError::Store(error) => error.into(),
        }
    }
}

impl From<ConfirmError> for ApiError {
    fn from(error: ConfirmError) -> Self {
        match error {
            ConfirmError::NotFound => Self::not_found("hold"),
            ConfirmError::Expired => hold_expired(),
            ConfirmError::NotActive(status) => hold_not_active(status),
            ConfirmError::ShowStarted => {
                Self::conflict("show_started", "the show has already started")
            }
            ConfirmError::Store(error) => error.into(),
        }
    }
}

impl From<HoldsError> for ApiError {
    fn from(error: HoldsError) -> Self {
        match error {
            HoldsError::Invalid(fields) => Self::invalid(fields),
            HoldsError::Store(error) => error.into(),
        }
    }
}
