//! The JSON shapes of the booking routes, documented for OpenAPI, and their
//! conversions from and to domain types.

use chrono::{DateTime, Utc};
use domain::{BookInput, Booking, Hold, HoldInput};
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

#[derive(Debug, Deserialize, Apiv2Schema)]
#[openapi(example = r#"{"seat_numbers": [5, 6]}"#)]
pub struct HoldRequest {
    /// 1 to 10 distinct seats (use this or `count`).
    pub seat_numbers: Option<Vec<i64>>,
    /// The best block of this many adjacent free seats, 1 to 10 (use this or `seat_numbers`).
    pub count: Option<i64>,
    /// With `count`: only seats of this category.
    pub category: Option<String>,
    /// With `count`: `true` for wheelchair places only; otherwise none.
    pub wheelchair: Option<bool>,
}

impl From<&HoldRequest> for HoldInput {
    fn from(request: &HoldRequest) -> Self {
        Self {
            seat_numbers: request.seat_numbers.clone(),
            count: request.count,
            category: request.category.clone(),
            wheelchair: request.wheelchair,
        }
    }
}

#[derive(Debug, Serialize, Apiv2Schema)]
pub struct HeldSeatResponse {
    pub seat_number: i32,
    /// e.g. `B7` (the number on a flat show).
    pub label: String,
    pub category: String,
    /// In minor units (cents) of the hold's `currency`: what confirming charges.
    pub price: i32,
}

#[derive(Debug, Serialize, Apiv2Schema)]
pub struct HoldResponse {
    pub id: i64,
    /// The show id.
    pub show: i64,
    /// Ascending by seat number.
    pub seats: Vec<HeldSeatResponse>,
    /// The sum of the seats' prices.
    pub total_price: i64,
    /// ISO 4217, e.g. `EUR`.
    pub currency: String,
    /// `ACTIVE`, `CONFIRMED`, `RELEASED` or `EXPIRED`: an active hold past `expires_at`
    /// is `EXPIRED`.
    pub status: String,
    pub created_at: DateTime<Utc>,
    /// From this instant on the seats are free to anyone.
    pub expires_at: DateTime<Utc>,
    /// How many times the hold has been extended.
    pub extensions: u32,
}

impl HoldResponse {
    /// The hold as it stands at `now`.
    pub fn at(hold: Hold, now: DateTime<Utc>) -> Self {
        Self {
            id: hold.id.0,
            show: hold.show_id.0,
            total_price: hold.total_price(),
            currency: hold.currency.as_str().to_owned(),
            status: hold.status(now).as_str().to_owned(),
            created_at: hold.created_at,
            expires_at: hold.expires_at,
            extensions: hold.extensions,
            seats: hold
                .seats
                .into_iter()
                .map(|t| HeldSeatResponse {
                    seat_number: t.seat_number,
                    label: t.label,
                    category: t.category.as_str().to_owned(),
                    price: t.price.get(),
                })
                .collect(),
        }
    }
}

#[derive(Debug, Deserialize, Apiv2Schema)]
pub struct HoldsQuery {
    /// `ACTIVE`, `CONFIRMED`, `RELEASED` or `EXPIRED`, judged at the moment of the request.
    pub status: Option<String>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}
