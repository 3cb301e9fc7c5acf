//! SQLite: every write transaction is `BEGIN IMMEDIATE` and holds the database's one
//! write lock, so plain reads are as good as locking ones.

use async_trait::async_trait;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::{RunQueryDsl, SimpleAsyncConnection};
use domain::{HoldStatus, IdempotencyClaim, StoredAnswer, Ticket};

use super::{
    booking_row, confirmed, hold_row, movie_show_ids, refresh_token_row, screen_row, show_lock_row,
    user_id_row, BackendOps,
};
use crate::db::SqliteConn;
use crate::repo::idempotency::scope_hash;
use crate::rows::{
    AnswerRow, BookingRow, HoldRow, NewBookingRow, NewHoldRow, RefreshTokenRow, ScreenRow,
    ShowLockRow,
};
use crate::schema::{bookings, holds, idempotency_keys, refresh_tokens, seat_claims, show_prices};

#[async_trait]
impl BackendOps for SqliteConn {
    async fn show_for_share(&mut self, id: i64) -> QueryResult<Option<ShowLockRow>> {
        self.show_for_update(id).await
    }

    async fn show_for_sale(
        &mut self,
        id: i64,
    ) -> QueryResult<Option<(ShowLockRow, Vec<(String, i32)>)>> {
        let Some(show) = self.show_for_update(id).await? else {
            return Ok(None);
        };
        let prices = show_prices::table
            .filter(show_prices::show_id.eq(id))
            .select((show_prices::category, show_prices::price))
            .load(self)
            .await?;
        Ok(Some((show, prices)))
    }

    async fn show_for_update(&mut self, id: i64) -> QueryResult<Option<ShowLockRow>> {
        show_lock_row(id).first(self).await.optional()
    }

    async fn movie_shows_for_update(&mut self, movie: i64) -> QueryResult<Vec<i64>> {
        movie_show_ids(movie).load(self).await
    }

    async fn booking_for_update(&mut self, id: i64) -> QueryResult<Option<BookingRow>> {
        booking_row(id).first(self).await.optional()
    }

    async fn screen_for_share(&mut self, id: i64) -> QueryResult<Option<ScreenRow>> {
        self.screen_for_update(id).await
    }

    async fn screen_for_update(&mut self, id: i64) -> QueryResult<Option<ScreenRow>> {
        screen_row(id).first(self).await.optional()
    }

    async fn insert_free_seats(
        &mut self,
        show: i64,
        user: i64,
        tickets: &[Ticket],
        currency: &str,
        at: NaiveDateTime,
    ) -> QueryResult<Vec<BookingRow>> {
        let mut claimed = Vec::with_capacity(tickets.len());
        for ticket in tickets {
            if claim_one(self, show, ticket.seat_number, None, at).await? {
                claimed.push(ticket.clone());
            }
        }
        insert_bookings(self, show, user, &claimed, currency, at).await
    }

    async fn insert_hold(
        &mut self,
        hold: &NewHoldRow<'_>,
        seats: &[i32],
    ) -> QueryResult<(HoldRow, Vec<i32>)> {
        let row: HoldRow = diesel::insert_into(holds::table)
            .values(hold)
            .returning(HoldRow::as_returning())
            .get_result(self)
            .await?;
        let mut claimed = Vec::with_capacity(seats.len());
        for &seat in seats {
            if claim_one(
                self,
                hold.show_id,
                seat,
                Some((row.id, hold.expires_at)),
                hold.created_at,
            )
            .await?
            {
                claimed.push(seat);
            }
        }
        Ok((row, claimed))
    }

    async fn user_for_update(&mut self, id: i64) -> QueryResult<Option<i64>> {
        user_id_row(id).first(self).await.optional()
    }

    async fn held_seats(&mut self, user: i64, now: NaiveDateTime) -> QueryResult<i64> {
        let held: Option<i64> = holds::table
            .filter(holds::user_id.eq(user))
            .filter(holds::status.eq(HoldStatus::Active.as_str()))
            .filter(holds::expires_at.gt(now))
            .select(diesel::dsl::sum(holds::seat_count))
            .first(self)
            .await?;
        Ok(held.unwrap_or(0))
    }

    async fn hold_for_update(&mut self, id: i64) -> QueryResult<Option<HoldRow>> {
        hold_row(id).first(self).await.optional()
    }

    async fn confirm_hold_seats(
        &mut self,
        hold: i64,
        user: i64,
        show: i64,
        tickets: &[Ticket],
        currency: &str,
        now: NaiveDateTime,
    ) -> QueryResult<Vec<BookingRow>> {
        let kept: Vec<i32> = diesel::update(
            seat_claims::table
                .filter(seat_claims::hold_id.eq(hold))
                .filter(seat_claims::expires_at.gt(now)),
        )
        .set(seat_claims::expires_at.eq(None::<NaiveDateTime>))
        .returning(seat_claims::seat_number)
        .get_results(self)
        .await?;
        diesel::update(holds::table.find(hold))
            .set(holds::status.eq(HoldStatus::Confirmed.as_str()))
            .execute(self)
            .await?;
        let kept: Vec<Ticket> = tickets
            .iter()
            .filter(|t| kept.contains(&t.seat_number))
            .cloned()
            .collect();
        insert_bookings(self, show, user, &kept, currency, now).await
    }

    async fn store_answer(
        &mut self,
        claim: &IdempotencyClaim,
        answer: &StoredAnswer,
    ) -> QueryResult<usize> {
        diesel::update(
            idempotency_keys::table
                .find(scope_hash(&claim.scope))
                .filter(idempotency_keys::claim_token.eq(&claim.token.0))
                .filter(idempotency_keys::status.is_null()),
        )
        .set(AnswerRow::from(answer))
        .execute(self)
        .await
    }
    async fn expired_hold_ids(&mut self, now: NaiveDateTime, limit: i64) -> QueryResult<Vec<i64>> {
        holds::table
            .filter(holds::status.eq(HoldStatus::Active.as_str()))
            .filter(holds::expires_at.le(now))
            .order(holds::expires_at)
            .limit(limit)
            .select(holds::id)
            .load(self)
            .await
    }

    async fn refresh_token_for_update(
        &mut self,
        jti: &str,
    ) -> QueryResult<Option<RefreshTokenRow>> {
        refresh_token_row(jti).first(self).await.optional()
    }

    async fn delete_expired_refresh_tokens(&mut self, now: NaiveDateTime) -> QueryResult<usize> {
        diesel::delete(refresh_tokens::table.filter(refresh_tokens::expires_at.le(now)))
            .execute(self)
            .await
    }

    async fn delete_idempotency_keys_before(
        &mut self,
        before: NaiveDateTime,
        limit: i64,
    ) -> QueryResult<usize> {
        // In batches, so that a large backlog never holds the write lock for long.
        diesel::sql_query(
            "DELETE FROM idempotency_keys WHERE scope_hash IN \
             (SELECT scope_hash FROM idempotency_keys WHERE created_at < ? LIMIT ?)",
        )
        .bind::<diesel::sql_types::Timestamp, _>(before)
        .bind::<diesel::sql_types::BigInt, _>(limit)
        .execute(self)
        .await
    }

    /// Writes the header's `user_version` back unchanged: nothing uses it, and the commit
    /// still appends a page to the WAL, as every write does.
    async fn probe_write(&mut self) -> QueryResult<()> {
        let version: UserVersion = diesel::sql_query("PRAGMA user_version")
            .get_result(self)
            .await?;
        self.batch_execute(&format!("PRAGMA user_version = {}", version.user_version))
            .await
    }
}

/// Books `tickets`, whose seats the transaction has claimed.
async fn insert_bookings(
    conn: &mut SqliteConn,
    show: i64,
    user: i64,
    tickets: &[Ticket],
    currency: &str,
    at: NaiveDateTime,
) -> QueryResult<Vec<BookingRow>> {
    let mut inserted = Vec::with_capacity(tickets.len());
    for ticket in tickets {
        let row = NewBookingRow {
            user_id: user,
            show_id: show,
            seat_number: ticket.seat_number,
            status: confirmed(),
            booking_time: at,
            price: ticket.price.get(),
            currency,
            seat_label: &ticket.label,
        };
        inserted.push(
            diesel::insert_into(bookings::table)
                .values(&row)
                .returning(BookingRow::as_returning())
                .get_result(conn)
                .await?,
        );
    }
    Ok(inserted)
}

/// Claims one seat: for a hold until its expiry, or for a booking (`None`) for good.
/// A claim whose expiry has passed at `now` is taken over; any other means the seat is
/// taken. Answers whether the seat was claimed. Under SQLite's write lock nothing can
/// come between the read and the write, and the read and the insert are statements
/// Diesel prepares once per connection (an upsert it prepares every time).
async fn claim_one(
    conn: &mut SqliteConn,
    show: i64,
    seat: i32,
    hold: Option<(i64, NaiveDateTime)>,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let (hold_id, until) = (hold.map(|(id, _)| id), hold.map(|(_, until)| until));
    let existing: Option<Option<NaiveDateTime>> = seat_claims::table
        .find((show, seat))
        .select(seat_claims::expires_at)
        .first(conn)
        .await
        .optional()?;
    match existing {
        None => {
            diesel::insert_into(seat_claims::table)
                .values((
                    seat_claims::show_id.eq(show),
                    seat_claims::seat_number.eq(seat),
                    seat_claims::hold_id.eq(hold_id),
                    seat_claims::expires_at.eq(until),
                ))
                .execute(conn)
                .await?;
            Ok(true)
        }
        Some(Some(expired)) if expired <= now => {
            diesel::update(seat_claims::table.find((show, seat)))
                .set((
                    seat_claims::hold_id.eq(hold_id),
                    seat_claims::expires_at.eq(until),
                ))
                .execute(conn)
                .await?;
            Ok(true)
        }
        Some(_) => Ok(false),
    }
}

#[derive(QueryableByName)]
struct UserVersion {
    #[diesel(sql_type = diesel::sql_types::Integer)]
    user_version: i32,
}
