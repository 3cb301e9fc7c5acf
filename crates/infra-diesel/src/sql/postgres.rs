//! PostgreSQL: real row locks, and the booking insert as one prepared statement.

use async_trait::async_trait;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{Array, BigInt, Integer, Nullable, Text, Timestamp};
use diesel_async::{AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use domain::{HoldStatus, Ticket};

use super::{
    booking_row, confirmed, movie_show_ids, refresh_token_row, screen_row, show_lock_row,
    BackendOps, SeatRow,
};
use crate::rows::{BookingRow, HoldRow, RefreshTokenRow, ScreenRow, ShowLockRow};
use crate::schema::{holds, users};

#[async_trait]
impl BackendOps for AsyncPgConnection {
    async fn show_for_share(&mut self, id: i64) -> QueryResult<Option<ShowLockRow>> {
        show_lock_row(id).for_share().first(self).await.optional()
    }

    async fn show_for_update(&mut self, id: i64) -> QueryResult<Option<ShowLockRow>> {
        show_lock_row(id).for_update().first(self).await.optional()
    }

    async fn movie_shows_for_update(&mut self, movie: i64) -> QueryResult<Vec<i64>> {
        movie_show_ids(movie).for_update().load(self).await
    }

    async fn booking_for_update(&mut self, id: i64) -> QueryResult<Option<BookingRow>> {
        booking_row(id).for_update().first(self).await.optional()
    }

    async fn screen_for_share(&mut self, id: i64) -> QueryResult<Option<ScreenRow>> {
        screen_row(id).for_share().first(self).await.optional()
    }

    async fn screen_for_update(&mut self, id: i64) -> QueryResult<Option<ScreenRow>> {
        screen_row(id).for_update().first(self).await.optional()
    }

    async fn insert_free_seats(
        &mut self,
        show: i64,
        user: i64,
        tickets: &[Ticket],
        currency: &str,
        at: NaiveDateTime,
    ) -> QueryResult<Vec<BookingRow>> {
        InsertBookings::<true>::new(show, user, tickets, currency, at)
            .get_results(self)
            .await
    }

    async fn insert_bookings(
        &mut self,
        show: i64,
        user: i64,
        tickets: &[Ticket],
        currency: &str,
        at: NaiveDateTime,
    ) -> QueryResult<Vec<BookingRow>> {
        InsertBookings::<false>::new(show, user, tickets, currency, at)
            .get_results(self)
            .await
    }

    async fn claim_seats(
        &mut self,
        show: i64,
        seats: &[i32],
        hold: i64,
        expires_at: NaiveDateTime,
        now: NaiveDateTime,
    ) -> QueryResult<Vec<i32>> {
        // Ascending, as the booking insert claims them: no two claims deadlock.
        let rows: Vec<SeatRow> = diesel::sql_query(
            "INSERT INTO seat_claims (show_id, seat_number, hold_id, expires_at) \
             SELECT $1, seat, $2, $3 FROM unnest($4) WITH ORDINALITY AS c(seat, n) ORDER BY n \
             ON CONFLICT (show_id, seat_number) DO UPDATE \
             SET hold_id = EXCLUDED.hold_id, expires_at = EXCLUDED.expires_at \
             WHERE seat_claims.expires_at <= $5 \
             RETURNING seat_number",
        )
        .bind::<BigInt, _>(show)
        .bind::<BigInt, _>(hold)
        .bind::<Timestamp, _>(expires_at)
        .bind::<Array<Integer>, _>(seats)
        .bind::<Timestamp, _>(now)
        .load(self)
        .await?;
        Ok(rows.into_iter().map(|r| r.seat_number).collect())
    }

    async fn user_for_update(&mut self, id: i64) -> QueryResult<Option<i64>> {
        // NO KEY: the foreign-key checks of the caller's own inserts take KEY SHARE.
        users::table
            .find(id)
            .select(users::id)
            .for_no_key_update()
            .first(self)
            .await
            .optional()
    }

    async fn hold_for_update(&mut self, id: i64) -> QueryResult<Option<HoldRow>> {
        holds::table
            .find(id)
            .select(HoldRow::as_select())
            .for_update()
            .first(self)
            .await
            .optional()
    }

    async fn confirm_claims(&mut self, hold: i64, now: NaiveDateTime) -> QueryResult<Vec<i32>> {
        // The rows are locked in seat order first, as every claim takes them; a row a
        // takeover changed meanwhile is re-read and no longer matches.
        let rows: Vec<SeatRow> = diesel::sql_query(
            "UPDATE seat_claims SET expires_at = NULL WHERE (show_id, seat_number) IN \
             (SELECT show_id, seat_number FROM seat_claims \
              WHERE hold_id = $1 AND expires_at > $2 ORDER BY seat_number FOR UPDATE) \
             RETURNING seat_number",
        )
        .bind::<BigInt, _>(hold)
        .bind::<Timestamp, _>(now)
        .load(self)
        .await?;
        Ok(rows.into_iter().map(|r| r.seat_number).collect())
    }

    /// `SKIP LOCKED`: a hold being confirmed, extended or released is left alone, and
    /// two processes expiring at once share the rows out.
    async fn expired_hold_ids(&mut self, now: NaiveDateTime, limit: i64) -> QueryResult<Vec<i64>> {
        holds::table
            .filter(holds::status.eq(HoldStatus::Active.as_str()))
            .filter(holds::expires_at.le(now))
            .order(holds::expires_at)
            .limit(limit)
            .select(holds::id)
            .for_update()
            .skip_locked()
            .load(self)
            .await
    }

    async fn refresh_token_for_update(
        &mut self,
        jti: &str,
    ) -> QueryResult<Option<RefreshTokenRow>> {
        refresh_token_row(jti)
            .for_update()
            .first(self)
            .await
            .optional()
    }

    /// `SKIP LOCKED`: a row locked by a refresh or a logout in flight is left for a later
    /// clean-up, so a login never waits on one, and never deadlocks with a revocation
    /// that locks the same family's rows in another order.
    async fn delete_expired_refresh_tokens(&mut self, now: NaiveDateTime) -> QueryResult<usize> {
        // Written out: Diesel's builder takes no subquery on the table it deletes from.
        diesel::sql_query(
            "DELETE FROM refresh_tokens WHERE jti IN \
             (SELECT jti FROM refresh_tokens WHERE expires_at <= $1 FOR UPDATE SKIP LOCKED)",
        )
        .bind::<Timestamp, _>(now)
        .execute(self)
        .await
    }

    /// A one-row temporary table, dropped at commit: creating it extends a file, which a
    /// full disk refuses, and no schema or table anyone reads changes.
    async fn probe_write(&mut self) -> QueryResult<()> {
        self.batch_execute(
            "CREATE TEMPORARY TABLE mb_ready_probe ON COMMIT DROP AS SELECT 1 AS probe",
        )
        .await
    }

    /// `SKIP LOCKED` again: housekeeping never waits for a request that holds a key, and
    /// two processes purging at once share the rows out instead of queueing.
    async fn delete_idempotency_keys_before(
        &mut self,
        before: NaiveDateTime,
        limit: i64,
    ) -> QueryResult<usize> {
        diesel::sql_query(
            "DELETE FROM idempotency_keys WHERE scope_hash IN \
             (SELECT scope_hash FROM idempotency_keys WHERE created_at < $1 \
              LIMIT $2 FOR UPDATE SKIP LOCKED)",
        )
        .bind::<Timestamp, _>(before)
        .bind::<BigInt, _>(limit)
        .execute(self)
        .await
    }
}

/// The booking insert on PostgreSQL, one statement for any number of seats. With
/// `CLAIM` (a direct booking), the seats are first claimed, each taking over a claim
/// whose hold has expired; only the claimed ones are booked:
///
/// ```sql
/// WITH claimed AS (
///   INSERT INTO seat_claims (show_id, seat_number)
///   SELECT $2, seat FROM unnest($5) WITH ORDINALITY AS c(seat, n) ORDER BY n
///   ON CONFLICT (show_id, seat_number) DO UPDATE SET hold_id = NULL, expires_at = NULL
///   WHERE seat_claims.expires_at <= $3 RETURNING seat_number)
/// INSERT INTO bookings (user_id, show_id, seat_number, status, booking_time, price,
///                       currency, seat_label)
/// SELECT $1, $2, seat, 'CONFIRMED', $3, price, $4, label
/// FROM unnest($5, $6, $7) WITH ORDINALITY AS t(seat, price, label, n)
/// WHERE seat IN (SELECT seat_number FROM claimed) ORDER BY n
/// ON CONFLICT (show_id, seat_number) WHERE status = 'CONFIRMED' DO NOTHING RETURNING ...
/// ```
///
/// Without `CLAIM` (a confirmation, whose seats its hold already claims) the CTE and its
/// condition are left out.
/// - The seats arrive in ascending order and are claimed in that order, so the per-seat
///   locks are always taken in one order: two multi-seat requests cannot deadlock. A
///   seat being claimed by a transaction still in flight makes the insert wait for its
///   outcome; if that commits, the seat is skipped here and reported as taken.
/// - Its text never changes, so Diesel prepares it once per connection (the builder's
///   upsert is parsed and planned on every booking).
/// - `'CONFIRMED'` is a literal, not a parameter: once PostgreSQL switches a prepared
///   statement to a generic plan, `status = $n` no longer proves the partial index's
///   predicate and the conflict target stops matching the index.
struct InsertBookings<const CLAIM: bool> {
    user_id: i64,
    show_id: i64,
    /// Three arrays of one length: each seat with its price and label.
    seats: Vec<i32>,
    prices: Vec<i32>,
    labels: Vec<String>,
    currency: String,
    booking_time: NaiveDateTime,
}

impl<const CLAIM: bool> InsertBookings<CLAIM> {
    fn new(show: i64, user: i64, tickets: &[Ticket], currency: &str, at: NaiveDateTime) -> Self {
        Self {
            user_id: user,
            show_id: show,
            seats: tickets.iter().map(|t| t.seat_number).collect(),
            prices: tickets.iter().map(|t| t.price.get()).collect(),
            labels: tickets.iter().map(|t| t.label.clone()).collect(),
            currency: currency.to_owned(),
            booking_time: at,
        }
    }
}

impl<const CLAIM: bool> QueryId for InsertBookings<CLAIM> {
    // One prepared statement per form: the two forms are two types.
    type QueryId = Self;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl<const CLAIM: bool> QueryFragment<diesel::pg::Pg> for InsertBookings<CLAIM> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, diesel::pg::Pg>) -> QueryResult<()> {
        if CLAIM {
            out.push_sql("WITH claimed AS (INSERT INTO seat_claims (show_id, seat_number) SELECT ");
            out.push_bind_param::<BigInt, _>(&self.show_id)?;
            out.push_sql(", seat FROM unnest(");
            out.push_bind_param::<Array<Integer>, _>(&self.seats)?;
            out.push_sql(
                ") WITH ORDINALITY AS c(seat, n) ORDER BY n \
                 ON CONFLICT (show_id, seat_number) DO UPDATE \
                 SET hold_id = NULL, expires_at = NULL WHERE seat_claims.expires_at <= ",
            );
            out.push_bind_param::<Timestamp, _>(&self.booking_time)?;
            out.push_sql(" RETURNING seat_number) ");
        }
        out.push_sql(
            "INSERT INTO bookings (user_id, show_id, seat_number, status, booking_time, \
             price, currency, seat_label) SELECT ",
        );
        out.push_bind_param::<BigInt, _>(&self.user_id)?;
        out.push_sql(", ");
        out.push_bind_param::<BigInt, _>(&self.show_id)?;
        out.push_sql(", seat, '");
        out.push_sql(confirmed());
        out.push_sql("', ");
        out.push_bind_param::<Timestamp, _>(&self.booking_time)?;
        out.push_sql(", price, ");
        out.push_bind_param::<Text, _>(&self.currency)?;
        out.push_sql(", label FROM unnest(");
        out.push_bind_param::<Array<Integer>, _>(&self.seats)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Integer>, _>(&self.prices)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Text>, _>(&self.labels)?;
        out.push_sql(") WITH ORDINALITY AS t(seat, price, label, n) ");
        if CLAIM {
            out.push_sql("WHERE seat IN (SELECT seat_number FROM claimed) ");
        }
        out.push_sql("ORDER BY n ON CONFLICT (show_id, seat_number) WHERE status = '");
        out.push_sql(confirmed());
        out.push_sql(
            "' DO NOTHING \
             RETURNING id, user_id, show_id, seat_number, status, booking_time, cancelled_at, \
             price, currency, seat_label",
        );
        Ok(())
    }
}

impl<const CLAIM: bool> Query for InsertBookings<CLAIM> {
    type SqlType = (
        BigInt,
        BigInt,
        BigInt,
        Integer,
        Text,
        Timestamp,
        Nullable<Timestamp>,
        Integer,
        Text,
        Text,
    );
}
