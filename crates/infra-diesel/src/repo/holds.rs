//! Holds. A seat is taken while `seat_claims` has a row for it that is a booking's
//! (no expiry) or an unexpired hold's; the table's primary key lets one row per seat
//! exist, and a statement that wants a seat whose hold has expired takes its row over.
//! So expiry is exact with no background job, and housekeeping only tidies up.
//!
//! Lock order, the same everywhere: the show (shared), then the user (for the cap) or
//! the hold, then the claims in seat order.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use domain::booking::rules;
use domain::*;

use super::seating::SeatingOps;
use super::DieselStore;
use crate::db::{db_error, found};
use crate::live::Claim;
use crate::rows::{
    bookings_of, currency, listing, prices_from_rows, snapshot, tickets_to_json, to_naive, HoldRow,
    NewHoldRow,
};
use crate::schema::{holds, seat_claims};
use crate::sql::BackendOps;
use crate::tx::{refuse, retried, rule, with_conn, write_tx, TxError};

/// How many times a best-available hold chooses again after another request took a
/// seat it chose.
const BEST_ATTEMPTS: usize = 3;

fn active() -> &'static str {
    HoldStatus::Active.as_str()
}

impl DieselStore {
    async fn hold_once(
        &self,
        show: ShowId,
        user: UserId,
        request: &HoldRequest,
        policy: &HoldPolicy,
        now: DateTime<Utc>,
    ) -> Result<Hold, TxError<HoldSeatsError>> {
        let at = to_naive(now);
        write_tx!(&self.db, |conn| {
            let Some((locked, prices)) = conn.show_for_sale(show.0).await? else {
                return refuse(HoldSeatsError::ShowNotFound);
            };
            let sale = ShowForSale {
                snapshot: snapshot(&locked)?,
                layout: conn.layout_of(locked.screen_id, locked.total_seats).await?,
                prices: prices_from_rows(show.0, prices)?,
                currency: currency(&locked.currency)?,
            };
            let seats = match request {
                HoldRequest::Seats(seats) => seats.clone(),
                HoldRequest::Best(query) => {
                    let taken = conn.claims_of(show.0, at).await?.taken();
                    let best = rules::choose_block(
                        &sale.layout,
                        |n| taken.binary_search(&n).is_ok(),
                        query,
                        sale.snapshot.has_started(now),
                    )
                    .map_err(|e| TxError::Rule(e.into()))?;
                    let best: Vec<i64> = best.into_iter().map(i64::from).collect();
                    SeatSelection::new(&best).map_err(StoreError::Unexpected)?
                }
            };
            rule(rules::check_booking(&sale, &seats, now).map_err(HoldSeatsError::from))?;
            // Counted under the user's lock: two holds of one user cannot both fit
            // under the cap that only one of them fits under.
            if conn.user_for_update(user.0).await?.is_none() {
                return refuse(HoldSeatsError::UserNotFound);
            }
            let held = conn.held_seats(user.0, at).await?;
            let held = usize::try_from(held).unwrap_or(usize::MAX);
            let expires_at = check_new_hold(policy, held, seats.len(), now)
                .map_err(|e| TxError::Rule(e.into()))?;
            let tickets = Ticket::for_seats(&sale, &seats)?;
            let seats_json = tickets_to_json(&tickets)?;
            let new_hold = NewHoldRow {
                user_id: user.0,
                show_id: show.0,
                status: active(),
                seat_count: seats.len() as i32,
                seats: &seats_json,
                currency: sale.currency.as_str(),
                created_at: at,
                expires_at: to_naive(expires_at),
                extensions: 0,
            };
            let (row, claimed) = conn.insert_hold(&new_hold, &seats.numbers()).await?;
            if claimed.len() < seats.len() {
                // Rolls back the hold and the seats it did claim: all or none.
                return refuse(HoldSeatsError::SeatTaken {
                    seats: seats.missing_from(&claimed),
                });
            }
            Ok(Hold::try_from(row)?)
        })
    }

    async fn extend_once(
        &self,
        id: HoldId,
        user: UserId,
        policy: &HoldPolicy,
        now: DateTime<Utc>,
    ) -> Result<Hold, TxError<HoldError>> {
        let at = to_naive(now);
        write_tx!(&self.db, |conn| {
            let Some(row) = conn.hold_for_update(id.0).await? else {
                return refuse(HoldError::NotFound);
            };
            let hold = Hold::try_from(row)?;
            let until = to_naive(
                check_extend(&hold, user, policy, now).map_err(|e| TxError::Rule(e.into()))?,
            );
            let moved = diesel::update(
                seat_claims::table
                    .filter(seat_claims::hold_id.eq(id.0))
                    .filter(seat_claims::expires_at.gt(at)),
            )
            .set(seat_claims::expires_at.eq(Some(until)))
            .execute(conn)
            .await?;
            if moved < hold.seats.len() {
                // A seat was taken over the instant the hold expired.
                return refuse(HoldError::Expired);
            }
            let row = diesel::update(holds::table.find(id.0))
                .set((
                    holds::expires_at.eq(until),
                    holds::extensions.eq(holds::extensions + 1),
                ))
                .returning(HoldRow::as_returning())
                .get_result(conn)
                .await?;
            Ok(Hold::try_from(row)?)
        })
    }

    async fn release_once(
        &self,
        id: HoldId,
        user: UserId,
        now: DateTime<Utc>,
    ) -> Result<Hold, TxError<HoldError>> {
        write_tx!(&self.db, |conn| {
            let Some(row) = conn.hold_for_update(id.0).await? else {
                return refuse(HoldError::NotFound);
            };
            let hold = Hold::try_from(row)?;
            check_usable(&hold, user, now).map_err(|e| TxError::Rule(e.into()))?;
            diesel::delete(
                seat_claims::table
                    .filter(seat_claims::hold_id.eq(id.0))
                    .filter(seat_claims::expires_at.is_not_null()),
            )
            .execute(conn)
            .await?;
            let row = diesel::update(holds::table.find(id.0))
                .set(holds::status.eq(HoldStatus::Released.as_str()))
                .returning(HoldRow::as_returning())
                .get_result(conn)
                .await?;
            Ok(Hold::try_from(row)?)
        })
    }

    async fn confirm_once(
        &self,
        id: HoldId,
        user: &AuthUser,
        now: DateTime<Utc>,
        answer: Option<&IdempotentAnswer<[Booking]>>,
    ) -> Result<Vec<Booking>, TxError<ConfirmError>> {
        let at = to_naive(now);
        write_tx!(&self.db, |conn| {
            let Some(row) = conn.hold_for_update(id.0).await? else {
                return refuse(ConfirmError::NotFound);
            };
            let hold = Hold::try_from(row)?;
            check_usable(&hold, user.id, now).map_err(|e| TxError::Rule(e.into()))?;
            let Some(show) = conn.show_for_share(hold.show_id.0).await? else {
                return refuse(ConfirmError::NotFound);
            };
            if snapshot(&show)?.has_started(now) {
                return refuse(ConfirmError::ShowStarted);
            }
            let inserted = conn
                .confirm_hold_seats(
                    id.0,
                    user.id.0,
                    hold.show_id.0,
                    &hold.seats,
                    hold.currency.as_str(),
                    at,
                )
                .await?;
            if inserted.len() < hold.seats.len() {
                // A seat was taken over the instant the hold expired: nothing is booked.
                return refuse(ConfirmError::Expired);
            }
            let booked = bookings_of(inserted, &user.username)?;
            // Committed with the bookings, as for a direct booking.
            conn.keep_answer(answer, &booked).await?;
            Ok(booked)
        })
    }
}

#[async_trait]
impl HoldRepository for DieselStore {
    async fn hold_seats(
        &self,
        show: ShowId,
        user: UserId,
        request: &HoldRequest,
        policy: &HoldPolicy,
        now: DateTime<Utc>,
    ) -> Result<Hold, HoldSeatsError> {
        let mut tries = 1;
        loop {
            match retried!(self.hold_once(show, user, request, policy, now)) {
                // Another request took a seat the best-available choice picked: choose
                // again from what is free now.
                Err(TxError::Rule(HoldSeatsError::SeatTaken { .. }))
                    if matches!(request, HoldRequest::Best(_)) && tries < BEST_ATTEMPTS =>
                {
                    tries += 1;
                }
                other => {
                    let hold = other.map_err(TxError::into_error)?;
                    self.hold_changed(&hold, Claim::Held(to_naive(hold.expires_at)));
                    return Ok(hold);
                }
            }
        }
    }

    async fn list_holds(
        &self,
        user: UserId,
        status: Option<HoldStatus>,
        page: Page,
        now: DateTime<Utc>,
    ) -> Result<Listing<Hold>, StoreError> {
        let at = to_naive(now);
        let (rows, total): (Vec<HoldRow>, i64) = with_conn!(&self.db, |conn| {
            // The stored status, corrected by the expiry: an ACTIVE hold past it is
            // EXPIRED, whether or not housekeeping has marked it.
            macro_rules! filtered {
                () => {{
                    let query = holds::table
                        .filter(holds::user_id.eq(user.0))
                        .into_boxed::<DB>();
                    match status {
                        None => query,
                        Some(HoldStatus::Active) => query
                            .filter(holds::status.eq(active()))
                            .filter(holds::expires_at.gt(at)),
                        Some(HoldStatus::Expired) => query.filter(
                            holds::status
                                .eq(HoldStatus::Expired.as_str())
                                .or(holds::status.eq(active()).and(holds::expires_at.le(at))),
                        ),
                        Some(other) => query.filter(holds::status.eq(other.as_str())),
                    }
                }};
            }
            let total: i64 = filtered!()
                .count()
                .get_result(conn)
                .await
                .map_err(db_error)?;
            let rows = filtered!()
                .order((holds::created_at.desc(), holds::id.desc()))
                .limit(page.limit)
                .offset(page.offset)
                .select(HoldRow::as_select())
                .load(conn)
                .await
                .map_err(db_error)?;
            Ok::<_, StoreError>((rows, total))
        })?;
        listing(rows, total)
    }

    async fn get_hold(&self, id: HoldId) -> Result<Option<Hold>, StoreError> {
        let row: Option<HoldRow> = with_conn!(&self.db, |conn| {
            found(
                holds::table
                    .find(id.0)
                    .select(HoldRow::as_select())
                    .first(conn)
                    .await,
            )
        })?;
        row.map(Hold::try_from).transpose()
    }

    async fn extend_hold(
        &self,
        id: HoldId,
        user: UserId,
        policy: &HoldPolicy,
        now: DateTime<Utc>,
    ) -> Result<Hold, HoldError> {
        let hold =
            retried!(self.extend_once(id, user, policy, now)).map_err(TxError::into_error)?;
        self.hold_changed(&hold, Claim::Held(to_naive(hold.expires_at)));
        Ok(hold)
    }

    async fn release_hold(
        &self,
        id: HoldId,
        user: UserId,
        now: DateTime<Utc>,
    ) -> Result<Hold, HoldError> {
        let hold = retried!(self.release_once(id, user, now)).map_err(TxError::into_error)?;
        self.hold_changed(&hold, Claim::Free);
        Ok(hold)
    }

    async fn confirm_hold<'a>(
        &self,
        id: HoldId,
        user: &AuthUser,
        now: DateTime<Utc>,
        answer: Option<&'a IdempotentAnswer<[Booking]>>,
    ) -> Result<Vec<Booking>, ConfirmError> {
        let booked =
            retried!(self.confirm_once(id, user, now, answer)).map_err(TxError::into_error)?;
        self.bookings_changed(&booked);
        Ok(booked)
    }

    async fn expire_holds(&self, now: DateTime<Utc>, limit: i64) -> Result<usize, StoreError> {
        let at = to_naive(now);
        let result: Result<usize, TxError<StoreError>> = write_tx!(&self.db, |conn| {
            let ids = conn.expired_hold_ids(at, limit).await?;
            if ids.is_empty() {
                return Ok(0);
            }
            diesel::update(holds::table.filter(holds::id.eq_any(&ids)))
                .set(holds::status.eq(HoldStatus::Expired.as_str()))
                .execute(conn)
                .await?;
            // A seat taken over since has another owner now and stays.
            diesel::delete(
                seat_claims::table
                    .filter(seat_claims::hold_id.eq_any(&ids))
                    .filter(seat_claims::expires_at.le(at)),
            )
            .execute(conn)
            .await?;
            Ok(ids.len())
        });
        result.map_err(TxError::into_error)
    }
}
