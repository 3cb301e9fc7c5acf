//! Booking: book seats, list one's bookings, cancel; hold seats and confirm them.

mod dto;
mod errors;
mod holds;

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::HttpRequest;
use domain::{BookError, Booking, RenderAnswer};
use paperclip::actix::{api_v2_operation, web, OperationModifier};
use paperclip::v2::models::{DefaultOperationRaw, DefaultSchemaRaw, Either, Response};
use paperclip::v2::schema::Apiv2Schema;

use crate::http::extract::{Authenticated, Listed};
use crate::http::idempotency::{answer_committed, answer_for, json_answer, Rendered};
use crate::http::ApiError;
use crate::state::AppState;
use dto::*;
pub use holds::*;

/// The OpenAPI description of a booking's answer: a 201 with one booking (for
/// `seat_number`) or `{"bookings": [...]}` (for `seat_numbers`).
pub struct Booked;

impl Booked {
    /// The answer, for the client and, with an `Idempotency-Key`, for the row that
    /// commits with the bookings.
    fn render(many: bool) -> RenderAnswer<[Booking]> {
        Arc::new(move |bookings: &[Booking]| {
            let mut bookings: Vec<BookingResponse> =
                bookings.iter().cloned().map(Into::into).collect();
            match (many, bookings.pop()) {
                (false, Some(one)) if bookings.is_empty() => json_answer(StatusCode::CREATED, &one),
                (_, last) => {
                    bookings.extend(last);
                    json_answer(StatusCode::CREATED, &BookingsResponse { bookings })
                }
            }
        })
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
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Authenticated,
    show: web::Path<i64>,
    body: web::Json<BookRequest>,
) -> Result<Rendered<Booked>, ApiError> {
    let render = Booked::render(body.seat_numbers.is_some());
    let answer = answer_for(&req, &render);
    let result = state
        .bookings
        .book(&caller.0, *show, &(&*body).into(), answer.as_ref())
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
    answer_committed(&req, &answer);
    Ok(Rendered::new(render(&bookings)))
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
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Authenticated,
    id: web::Path<i64>,
) -> Result<Rendered<web::Json<BookingResponse>>, ApiError> {
    cancel(&req, &state, &caller, *id).await
}

/// Cancel a booking (alias: POST)
#[api_v2_operation(tags(Booking))]
pub async fn cancel_booking_post(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Authenticated,
    id: web::Path<i64>,
) -> Result<Rendered<web::Json<BookingResponse>>, ApiError> {
    cancel(&req, &state, &caller, *id).await
}

async fn cancel(
    req: &HttpRequest,
    state: &AppState,
    caller: &Authenticated,
    id: i64,
) -> Result<Rendered<web::Json<BookingResponse>>, ApiError> {
    let render: RenderAnswer<Booking> = Arc::new(|booking: &Booking| {
        json_answer(StatusCode::OK, &BookingResponse::from(booking.clone()))
    });
    let answer = answer_for(req, &render);
    let booking = state
        .bookings
        .cancel(&caller.0, id, answer.as_ref())
        .await?;
    answer_committed(req, &answer);
    state.metrics.bookings_cancelled.inc();
    Ok(Rendered::new(render(&booking)))
}
