//! Booking: book seats, list one's bookings, cancel.

mod dto;
mod errors;

use actix_web::body::BoxBody;
use actix_web::{HttpRequest, HttpResponse, Responder};
use domain::BookError;
use paperclip::actix::{api_v2_operation, web, OperationModifier};
use paperclip::v2::models::{DefaultOperationRaw, DefaultSchemaRaw, Either, Response};
use paperclip::v2::schema::Apiv2Schema;

use crate::http::extract::{Authenticated, Listed};
use crate::http::ApiError;
use crate::state::AppState;
use dto::*;

/// A 201 with one booking (for `seat_number`) or `{"bookings": [...]}` (for `seat_numbers`).
pub enum Booked {
    One(BookingResponse),
    Many(BookingsResponse),
}

impl Responder for Booked {
    type Body = BoxBody;

    fn respond_to(self, _: &HttpRequest) -> HttpResponse<BoxBody> {
        let mut response = HttpResponse::Created();
        match self {
            Self::One(booking) => response.json(booking),
            Self::Many(bookings) => response.json(bookings),
        }
    }
}

impl Apiv2Schema for Booked {}

impl OperationModifier for Booked {
    fn update_response(op: &mut DefaultOperationRaw) {
        op.responses.insert(
            "201".into(),
            Either::Right(Response {
                description: Some(
                    "Created: the booking for `seat_number`; `{\"bookings\": [...]}` for `seat_numbers`".into(),
                ),
                schema: Some({
                    let mut def = BookingResponse::schema_with_ref();
                    def.retain_ref();
                    def
                }),
                ..Default::default()
            }),
        );
    }

    fn update_definitions(map: &mut std::collections::BTreeMap<String, DefaultSchemaRaw>) {
        BookingResponse::update_definitions(map);
        BookingsResponse::update_definitions(map);
    }
}

/// Book seats
///
/// Books `seat_number`, or every seat of `seat_numbers` (1 to 10, distinct) or none.
/// Of any number of concurrent requests for a seat exactly one succeeds; the others get
/// 409 `seat_taken` with the taken seats in `seats`. A blocked seat: 409 `seat_blocked`
/// with `seats`. A show that has started: 409 `show_started`. Each booking keeps its
/// seat's label and price.
#[api_v2_operation(tags(Booking))]
pub async fn book(
    state: web::Data<AppState>,
    caller: Authenticated,
    show: web::Path<i64>,
    body: web::Json<BookRequest>,
) -> Result<Booked, ApiError> {
    let many = body.seat_numbers.is_some();
    let result = state
        .bookings
        .book(&caller.0, *show, &(&*body).into())
        .await;
    match &result {
        Ok(bookings) => state
            .metrics
            .bookings_confirmed
            .inc_by(bookings.len() as u64),
        Err(BookError::SeatTaken { .. }) => state.metrics.seat_conflicts.inc(),
        Err(_) => {}
    }
    let bookings = result?;
    let mut bookings: Vec<BookingResponse> = bookings.into_iter().map(Into::into).collect();
    Ok(match (many, bookings.pop()) {
        (false, Some(one)) if bookings.is_empty() => Booked::One(one),
        (_, last) => {
            bookings.extend(last);
            Booked::Many(BookingsResponse { bookings })
        }
    })
}

/// Best available seats
///
/// The seats `count` adjacent seats would get now: one row, never across an aisle, of
/// `category` when given, wheelchair places only with `wheelchair=true` (and none
/// otherwise); blocks that strand no single free seat first, then the row nearest
/// two-thirds of the way back, then the block nearest the row's middle. Nothing is
/// held. None fits: 409 `no_adjacent_seats`.
#[api_v2_operation(tags(Booking))]
pub async fn best_seats(
    state: web::Data<AppState>,
    _caller: Authenticated,
    show: web::Path<i64>,
    query: web::Query<BestSeatsQuery>,
) -> Result<web::Json<BestSeatsResponse>, ApiError> {
    let seat_numbers = state
        .bookings
        .best_seats(
            *show,
            query.count,
            query.category.as_deref(),
            query.wheelchair,
        )
        .await?;
    Ok(web::Json(BestSeatsResponse { seat_numbers }))
}

/// List my bookings
///
/// The caller's bookings, newest first, cancelled ones included; filter with
/// `?status=CONFIRMED|CANCELLED`. `X-Total-Count` holds the total.
#[api_v2_operation(tags(Booking))]
pub async fn list_bookings(
    state: web::Data<AppState>,
    caller: Authenticated,
    query: web::Query<BookingsQuery>,
) -> Result<Listed<BookingResponse>, ApiError> {
    list(&state, &caller, &query).await
}

/// List my bookings (alias of GET /api/bookings/)
#[api_v2_operation(tags(Booking))]
pub async fn my_bookings(
    state: web::Data<AppState>,
    caller: Authenticated,
    query: web::Query<BookingsQuery>,
) -> Result<Listed<BookingResponse>, ApiError> {
    list(&state, &caller, &query).await
}

async fn list(
    state: &AppState,
    caller: &Authenticated,
    query: &BookingsQuery,
) -> Result<Listed<BookingResponse>, ApiError> {
    let listing = state
        .bookings
        .list(
            &caller.0,
            query.status.as_deref(),
            query.limit,
            query.offset,
        )
        .await?;
    Ok(Listed::from_listing(listing))
}

/// Get one of my bookings
///
/// Someone else's booking is 404.
#[api_v2_operation(tags(Booking))]
pub async fn get_booking(
    state: web::Data<AppState>,
    caller: Authenticated,
    id: web::Path<i64>,
) -> Result<web::Json<BookingResponse>, ApiError> {
    Ok(web::Json(state.bookings.get(&caller.0, *id).await?.into()))
}

/// Cancel a booking
///
/// A soft delete: the booking stays, with status `CANCELLED` and `cancelled_at`, and
/// the seat is free again. Someone else's booking: 404. Already cancelled, or the show
/// has started: 409.
#[api_v2_operation(tags(Booking))]
pub async fn cancel_booking(
    state: web::Data<AppState>,
    caller: Authenticated,
    id: web::Path<i64>,
) -> Result<web::Json<BookingResponse>, ApiError> {
    cancel(&state, &caller, *id).await
}

/// Cancel a booking (alias: POST)
#[api_v2_operation(tags(Booking))]
pub async fn cancel_booking_post(
    state: web::Data<AppState>,
    caller: Authenticated,
    id: web::Path<i64>,
) -> Result<web::Json<BookingResponse>, ApiError> {
    cancel(&state, &caller, *id).await
}

async fn cancel(
    state: &AppState,
    caller: &Authenticated,
    id: i64,
) -> Result<web::Json<BookingResponse>, ApiError> {
    let booking = state.bookings.cancel(&caller.0, id).await?;
    state.metrics.bookings_cancelled.inc();
    Ok(web::Json(booking.into()))
}
