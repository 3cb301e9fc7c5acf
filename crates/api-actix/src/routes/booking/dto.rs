//! The JSON shapes of the booking routes, documented for OpenAPI, and their
//! conversions from and to domain types.

use chrono::{DateTime, Utc};
use domain::{BookInput, Booking};
use paperclip::actix::Apiv2Schema;
use serde::{Deserialize, Serialize};

#[derive(Debug, Deserialize, Apiv2Schema)]
#[openapi(example = r#"{"seat_number": 5}"#)]
pub struct BookRequest {
    /// One seat (use this or `seat_numbers`).
    pub seat_number: Option<i64>,
    /// 1 to 10 distinct seats, booked all or none.
    pub seat_numbers: Option<Vec<i64>>,
}

#[derive(Debug, Serialize, Apiv2Schema)]
pub struct BookingResponse {
    pub id: i64,
    /// The username of the booker.
    pub user: String,
    /// The show id.
    pub show: i64,
    pub seat_number: i32,
    /// `CONFIRMED` or `CANCELLED`.
    pub status: String,
    pub booking_time: DateTime<Utc>,
    pub cancelled_at: Option<DateTime<Utc>>,
    /// The seat's label when booked, e.g. `B7` (the number on a flat show).
    pub seat_label: String,
    /// What the seat cost when booked, in minor units (cents) of `currency`.
    pub price: i32,
    /// ISO 4217, e.g. `EUR`.
    pub currency: String,
}

#[derive(Debug, Serialize, Apiv2Schema)]
pub struct BookingsResponse {
    pub bookings: Vec<BookingResponse>,
}

#[derive(Debug, Deserialize, Apiv2Schema)]
pub struct BookingsQuery {
    /// `CONFIRMED` or `CANCELLED`.
    pub status: Option<String>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

impl From<Booking> for BookingResponse {
    fn from(booking: Booking) -> Self {
        Self {
            id: booking.id.0,
            user: booking.username,
            show: booking.show_id.0,
            seat_number: booking.seat_number,
            status: booking.status.as_str().into(),
            booking_time: booking.booking_time,
            cancelled_at: booking.cancelled_at,
            seat_label: booking.seat_label,
            price: booking.price.get(),
            currency: booking.currency.as_str().to_owned(),
        }
    }
}

#[derive(Debug, Deserialize, Apiv2Schema)]
pub struct BestSeatsQuery {
    /// How many adjacent seats, 1 to 10.
    pub count: Option<i64>,
    /// Only seats of this category.
    pub category: Option<String>,
    /// `true`: only wheelchair places; otherwise none.
    pub wheelchair: Option<bool>,
}

#[derive(Debug, Serialize, Apiv2Schema)]
pub struct BestSeatsResponse {
    /// Adjacent seats of one row, ascending.
    pub seat_numbers: Vec<i32>,
}

impl From<&BookRequest> for BookInput {
    fn from(request: &BookRequest) -> Self {
        Self {
            seat_number: request.seat_number,
            seat_numbers: request.seat_numbers.clone(),
        }
    }
}
