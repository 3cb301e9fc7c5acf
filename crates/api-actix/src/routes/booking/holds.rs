//! Holds: keep seats while paying, then confirm them into bookings, extend or release.

use actix_web::HttpRequest;
use paperclip::actix::{api_v2_operation, web, CreatedJson, NoContent};

use super::dto::*;
use super::Booked;
use crate::http::extract::{Authenticated, Listed};
use crate::http::idempotency::{answer_committed, answer_for, Rendered};
use crate::http::ApiError;
use crate::state::AppState;

/// Hold seats
///
/// Keeps `seat_numbers` (1 to 10, distinct), or the best block of `count` adjacent free
/// seats (as `best-seats` chooses, optionally of `category` or wheelchair places), for
/// the caller until `expires_at` (`booking.hold_ttl_seconds`, default 10 minutes); all
/// or none. A seat booked or held by someone else: 409 `seat_taken` with `seats`; no
/// block fits `count`: 409 `no_adjacent_seats`; beyond
/// `booking.max_held_seats_per_user` seats in one's active holds: 409 `hold_limit`.
#[api_v2_operation(tags(Holds))]
pub async fn create_hold(
    state: web::Data<AppState>,
    caller: Authenticated,
    show: web::Path<i64>,
    body: web::Json<HoldRequest>,
) -> Result<CreatedJson<HoldResponse>, ApiError> {
    let result = state.holds.hold(&caller.0, *show, &(&*body).into()).await;
    match &result {
        Ok(_) => state.metrics.holds_created.inc(),
        Err(domain::HoldSeatsError::SeatTaken { .. }) => state.metrics.seat_conflicts.inc(),
        Err(_) => {}
    }
    Ok(CreatedJson(HoldResponse::at(result?, state.holds.now())))
}

/// List my holds
///
/// The caller's holds, newest first; filter with `?status=`, judged at this moment (an
/// active hold past its expiry is `EXPIRED`). `X-Total-Count` holds the total.
#[api_v2_operation(tags(Holds))]
pub async fn list_holds(
    state: web::Data<AppState>,
    caller: Authenticated,
    query: web::Query<HoldsQuery>,
) -> Result<Listed<HoldResponse>, ApiError> {
    let listing = state
        .holds
        .list(
            &caller.0,
            query.status.as_deref(),
            query.limit,
            query.offset,
        )
        .await?;
    let now = state.holds.now();
    let holds = listing
        .items
        .into_iter()
        .map(|hold| HoldResponse::at(hold, now))
        .collect();
    Ok(Listed(holds, listing.total))
}

/// Get one of my holds
///
/// Someone else's hold is 404.
#[api_v2_operation(tags(Holds))]
pub async fn get_hold(
    state: web::Data<AppState>,
    caller: Authenticated,
    id: web::Path<i64>,
) -> Result<web::Json<HoldResponse>, ApiError> {
    let hold = state.holds.get(&caller.0, *id).await?;
    Ok(web::Json(HoldResponse::at(hold, state.holds.now())))
}

/// Extend a hold
///
/// Sets `expires_at` to now + the hold's lifetime, never beyond
/// `booking.hold_max_seconds` after its creation, at most `booking.hold_max_extensions`
/// times: beyond, or when the cap leaves nothing to add, 409 `hold_extension_limit`.
/// Expired: 409 `hold_expired`; confirmed or released: 409 `hold_not_active`.
#[api_v2_operation(tags(Holds))]
pub async fn extend_hold(
    state: web::Data<AppState>,
    caller: Authenticated,
    id: web::Path<i64>,
) -> Result<web::Json<HoldResponse>, ApiError> {
    let hold = state.holds.extend(&caller.0, *id).await?;
    Ok(web::Json(HoldResponse::at(hold, state.holds.now())))
}

/// Confirm a hold
///
/// Turns every seat of the hold into a `CONFIRMED` booking at the price held, in one
/// transaction: all or none. Expired (even by a millisecond): 409 `hold_expired`, and
/// nothing is booked; confirmed or released: 409 `hold_not_active`; show started: 409
/// `show_started`. With an `Idempotency-Key`, the answer commits with the bookings, so a
/// retry after a lost answer gets this 201 again.
#[api_v2_operation(tags(Holds))]
pub async fn confirm_hold(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Authenticated,
    id: web::Path<i64>,
) -> Result<Rendered<Booked>, ApiError> {
    let render = Booked::render(true);
    let answer = answer_for(&req, &render);
    let bookings = state.holds.confirm(&caller.0, *id, answer.as_ref()).await?;
    answer_committed(&req, &answer);
    state.metrics.holds_confirmed.inc();
    state
        .metrics
        .bookings_confirmed
        .inc_by(bookings.len() as u64);
    Ok(Rendered::new(render(&bookings)))
}

/// Release a hold
///
/// Gives the seats back at once. Expired: 409 `hold_expired`; confirmed or released:
/// 409 `hold_not_active`.
#[api_v2_operation(tags(Holds))]
pub async fn release_hold(
    state: web::Data<AppState>,
    caller: Authenticated,
    id: web::Path<i64>,
) -> Result<NoContent, ApiError> {
    state.holds.release(&caller.0, *id).await?;
    state.metrics.holds_released.inc();
    Ok(NoContent)
}
