//! The JSON shapes of the catalogue routes, documented for OpenAPI, and their
//! conversions from and to domain types.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use domain::{
    Movie, MovieInput, Prices, SeatLabel, SeatMap, SeatState, Show, ShowInput, ShowQuery,
};
use paperclip::actix::Apiv2Schema;
use paperclip::v2::models::DataType;
use paperclip::v2::schema::TypedData;
use serde::{Deserialize, Serialize};

#[derive(Debug, Default, Deserialize, Apiv2Schema)]
#[openapi(
    example = r#"{"title": "Inception", "description": "Dreams within dreams.", "duration_minutes": 148}"#
)]
pub struct MovieRequest {
    pub title: Option<String>,
    pub description: Option<String>,
    /// 1 to 1000.
    pub duration_minutes: Option<i64>,
}

#[derive(Debug, Serialize, Apiv2Schema)]
pub struct MovieResponse {
    pub id: i64,
    pub title: String,
    pub description: String,
    pub duration_minutes: i32,
}

#[derive(Debug, Default, Deserialize, Apiv2Schema)]
#[openapi(
    example = r#"{"movie_id": 1, "screen_name": "Screen 1", "start_time": "2030-01-15T19:30:00Z", "total_seats": 100}"#
)]
pub struct ShowRequest {
    pub movie_id: Option<i64>,
    pub screen_name: Option<String>,
    /// RFC 3339, e.g. `2026-01-15T19:30:00Z`.
    pub start_time: Option<DateTime<Utc>>,
    /// 1 to 10,000.
    pub total_seats: Option<i64>,
    /// A screen whose layout the show uses, instead of `screen_name` and `total_seats`.
    pub screen_id: Option<i64>,
    /// Category -> price in minor units (cents) of the currency: every category of the
    /// layout. Required with `screen_id`; a flat show's one category is `standard`
    /// (default price 0).
    pub prices: Option<BTreeMap<String, i64>>,
}

#[derive(Debug, Serialize, Apiv2Schema)]
pub struct MovieRefResponse {
    pub id: i64,
    pub title: String,
}

#[derive(Debug, Serialize, Apiv2Schema)]
pub struct ShowResponse {
    pub id: i64,
    pub movie: MovieRefResponse,
    pub screen_name: String,
    pub start_time: DateTime<Utc>,
    /// Every seat of the layout, blocked ones included.
    pub total_seats: i32,
    /// Seats neither booked nor blocked.
    pub available_seats: i32,
    /// The screen whose layout the show uses; null for a flat show (seats 1 to
    /// total_seats).
    pub screen: Option<ScreenRefResponse>,
    /// Category -> price in minor units (cents) of `currency`.
    pub prices: BTreeMap<String, i32>,
    /// ISO 4217, e.g. `EUR`.
    pub currency: String,
}

#[derive(Debug, Serialize, Apiv2Schema)]
pub struct ScreenRefResponse {
    pub id: i64,
    pub name: String,
}

/// One seat of a seat map.
// Borrowed from the show's layout, so a map of 10,000 seats is written out without an
// allocation per seat.
#[derive(Debug, Serialize, Apiv2Schema)]
pub struct SeatResponse<'a> {
    pub seat_number: i32,
    /// `available`, `booked` or `blocked`.
    pub status: &'static str,
    /// The row's label; `""` on a flat show.
    pub row: &'a str,
    /// The row label and the place in the row, e.g. `B7`; the number on a flat show.
    pub label: LabelJson<'a>,
    /// `standard`, `wheelchair` or `blocked`.
    #[serde(rename = "type")]
    pub seat_type: &'static str,
    pub category: &'a str,
    /// In minor units (cents) of the show's currency.
    pub price: i32,
}

/// A seat's label, written as a JSON string as it is serialized.
#[derive(Debug)]
pub struct LabelJson<'a>(SeatLabel<'a>);

impl Serialize for LabelJson<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&self.0)
    }
}

impl TypedData for LabelJson<'_> {
    fn data_type() -> DataType {
        DataType::String
    }
}

/// The seat map as the contract writes it: every seat, in order.
pub struct SeatsBody<'a>(pub &'a SeatMap);

impl Serialize for SeatsBody<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.seats().map(SeatResponse::from))
    }
}

#[derive(Debug, Deserialize, Apiv2Schema)]
pub struct PageQuery {
    /// 1 to 500, default 50.
    pub limit: Option<i64>,
    /// From 0.
    pub offset: Option<i64>,
}

#[derive(Debug, Deserialize, Apiv2Schema)]
pub struct ShowsQuery {
    /// Only shows of this movie.
    pub movie: Option<i64>,
    /// Only shows starting on this UTC date (`YYYY-MM-DD`).
    pub date: Option<NaiveDate>,
    /// Only shows that have not started.
    pub upcoming: Option<bool>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

impl ShowsQuery {
    pub fn into_domain(self) -> ShowQuery {
        ShowQuery {
            movie: self.movie,
            date: self.date,
            upcoming: self.upcoming.unwrap_or(false),
            limit: self.limit,
            offset: self.offset,
        }
    }
}

impl From<Movie> for MovieResponse {
    fn from(movie: Movie) -> Self {
        Self {
            id: movie.id.0,
            title: movie.title.into_string(),
            description: movie.description.into_string(),
            duration_minutes: movie.duration_minutes.get(),
        }
    }
}

impl From<MovieRequest> for MovieInput {
    fn from(request: MovieRequest) -> Self {
        Self {
            title: request.title,
            description: request.description,
            duration_minutes: request.duration_minutes,
        }
    }
}

impl From<ShowRequest> for ShowInput {
    fn from(request: ShowRequest) -> Self {
        Self {
            movie_id: request.movie_id,
            screen_name: request.screen_name,
            start_time: request.start_time,
            total_seats: request.total_seats,
            screen_id: request.screen_id,
            prices: request.prices,
        }
    }
}

/// Prices as the contract writes them: category -> minor units.
pub fn prices_json(prices: &Prices) -> BTreeMap<String, i32> {
    prices
        .iter()
        .map(|(category, price)| (category.to_string(), price.get()))
        .collect()
}

impl From<Show> for ShowResponse {
    fn from(show: Show) -> Self {
        Self {
            id: show.id.0,
            movie: MovieRefResponse {
                id: show.movie.id.0,
                title: show.movie.title.into_string(),
            },
            screen_name: show.screen_name.into_string(),
            start_time: show.start_time.get(),
            total_seats: show.total_seats.get(),
            available_seats: show.available_seats,
            screen: show.screen.map(|screen| ScreenRefResponse {
                id: screen.id.0,
                name: screen.name.into_string(),
            }),
            prices: prices_json(&show.prices),
            currency: show.currency.as_str().to_owned(),
        }
    }
}

impl<'a> From<SeatState<'a>> for SeatResponse<'a> {
    fn from(seat: SeatState<'a>) -> Self {
        Self {
            seat_number: seat.seat_number,
            status: seat.status.as_str(),
            row: seat.row,
            label: LabelJson(seat.label()),
            seat_type: seat.seat_type.as_str(),
            category: seat.category.as_str(),
            price: seat.price.get(),
        }
    }
}
