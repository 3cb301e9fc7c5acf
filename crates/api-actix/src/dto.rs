//! The JSON shapes of the contract, documented for OpenAPI. Conversions from domain
//! types live here too, so handlers stay one line per step.

use chrono::{DateTime, NaiveDate, Utc};
use domain::*;
use paperclip::actix::Apiv2Schema;
use serde::{Deserialize, Serialize};

#[derive(Debug, Deserialize, Apiv2Schema)]
#[openapi(
    example = r#"{"username": "john", "password": "correct-horse-9", "email": "john@example.com"}"#
)]
pub struct SignupRequest {
    /// 1 to 150 letters, digits or `@.+-_`; unique regardless of case.
    #[serde(default)]
    pub username: String,
    /// 8 to 128 characters, not all digits, not the username.
    #[serde(default)]
    pub password: String,
    /// Optional e-mail address.
    pub email: Option<String>,
}

#[derive(Debug, Deserialize, Apiv2Schema)]
#[openapi(example = r#"{"username": "john", "password": "correct-horse-9"}"#)]
pub struct LoginRequest {
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    pub password: String,
}

#[derive(Debug, Deserialize, Apiv2Schema)]
#[openapi(example = r#"{"refresh": "<refresh token from login>"}"#)]
pub struct RefreshRequest {
    /// The refresh token from login.
    #[serde(default)]
    pub refresh: String,
}

#[derive(Debug, Serialize, Apiv2Schema)]
pub struct UserResponse {
    pub id: i64,
    pub username: String,
    pub email: Option<String>,
}

#[derive(Debug, Serialize, Apiv2Schema)]
pub struct MeResponse {
    pub id: i64,
    pub username: String,
    pub email: Option<String>,
    pub is_staff: bool,
}

#[derive(Serialize, Apiv2Schema)]
pub struct LoginResponse {
    /// Access token: send as `Authorization: Bearer <access>`.
    pub access: String,
    /// Refresh token: exchange at `/api/token/refresh/` for a new access token.
    pub refresh: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: i64,
}

#[derive(Serialize, Apiv2Schema)]
pub struct RefreshResponse {
    pub access: String,
    pub token_type: String,
    pub expires_in: i64,
}

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
    pub total_seats: i32,
    pub available_seats: i32,
}

#[derive(Debug, Serialize, Apiv2Schema)]
pub struct SeatResponse {
    pub seat_number: i32,
    /// `available` or `booked`.
    pub status: &'static str,
}

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
}

#[derive(Debug, Serialize, Apiv2Schema)]
pub struct BookingsResponse {
    pub bookings: Vec<BookingResponse>,
}

#[derive(Debug, Serialize, Apiv2Schema)]
pub struct StatusResponse {
    pub status: String,
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

#[derive(Debug, Deserialize, Apiv2Schema)]
pub struct BookingsQuery {
    /// `CONFIRMED` or `CANCELLED`.
    pub status: Option<String>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

impl From<User> for UserResponse {
    fn from(user: User) -> Self {
        Self {
            id: user.id.0,
            username: user.username,
            email: user.email,
        }
    }
}

impl From<User> for MeResponse {
    fn from(user: User) -> Self {
        Self {
            id: user.id.0,
            username: user.username,
            email: user.email,
            is_staff: user.is_staff,
        }
    }
}

impl From<TokenPair> for LoginResponse {
    fn from(pair: TokenPair) -> Self {
        Self {
            access: pair.access.token,
            refresh: pair.refresh,
            token_type: "Bearer".into(),
            expires_in: pair.access.expires_in,
        }
    }
}

impl From<AccessToken> for RefreshResponse {
    fn from(token: AccessToken) -> Self {
        Self {
            access: token.token,
            token_type: "Bearer".into(),
            expires_in: token.expires_in,
        }
    }
}

impl From<Movie> for MovieResponse {
    fn from(movie: Movie) -> Self {
        Self {
            id: movie.id.0,
            title: movie.title,
            description: movie.description,
            duration_minutes: movie.duration_minutes,
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
        }
    }
}

impl From<Show> for ShowResponse {
    fn from(show: Show) -> Self {
        Self {
            id: show.id.0,
            movie: MovieRefResponse {
                id: show.movie.id.0,
                title: show.movie.title,
            },
            screen_name: show.screen_name,
            start_time: show.start_time,
            total_seats: show.total_seats,
            available_seats: show.available_seats,
        }
    }
}

impl From<SeatState> for SeatResponse {
    fn from(seat: SeatState) -> Self {
        Self {
            seat_number: seat.seat_number,
            status: if seat.booked { "booked" } else { "available" },
        }
    }
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
        }
    }
}

impl From<&BookRequest> for BookInput {
    fn from(request: &BookRequest) -> Self {
        Self {
            seat_number: request.seat_number,
            seat_numbers: request.seat_numbers.clone(),
        }
    }
}
