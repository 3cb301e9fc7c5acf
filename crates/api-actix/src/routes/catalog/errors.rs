//! How the catalogue use cases' errors answer over HTTP.

use actix_web::http::StatusCode;
use domain::{BrowseError, EditCatalogError};

use crate::http::ApiError;

impl From<BrowseError> for ApiError {
    fn from(error: BrowseError) -> Self {
        match error {
            BrowseError::Invalid(fields) => Self::invalid(fields),
            BrowseError::NotFound => Self::not_found("resource"),
            BrowseError::Store(error) => error.into(),
        }
    }
}

impl From<EditCatalogError> for ApiError {
    fn from(error: EditCatalogError) -> Self {
        match error {
            EditCatalogError::Forbidden => Self::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "only staff may edit the catalogue",
            ),
            EditCatalogError::Invalid(fields) => Self::invalid(fields),
            EditCatalogError::NotFound => Self::not_found("resource"),
            EditCatalogError::HasConfirmedBookings => Self::conflict(
                "has_bookings",
                "it has confirmed bookings or active holds; cancel or release them first",
            ),
            EditCatalogError::SeatBooked { highest_booked } => Self::conflict(
                "seat_booked",
                format!(
                    "seat {highest_booked} has a confirmed booking; total_seats cannot go below it"
                ),
            ),
            EditCatalogError::BookedSeatsBlocked { seats } => {
                let mut e = Self::conflict(
                    "seat_booked",
                    format!(
                        "seat(s) {seats:?} have confirmed bookings and are blocked on that screen"
                    ),
                );
                e.body.seats = Some(seats);
                e
            }
            EditCatalogError::ScreenInUse => Self::conflict(
                "screen_in_use",
                "a show uses this screen: its layout cannot change and it cannot be deleted",
            ),
            EditCatalogError::Store(error) => error.into(),
        }
    }
}
