//! PostgreSQL: real row locks, and the booking insert as one prepared statement.

use async_trait::async_trait;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{Array, BigInt, Integer, Nullable, Text, Timestamp};
use diesel_async::{AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use domain::Ticket;

use super::{
    booking_row, confirmed, movie_show_ids, refresh_token_row, screen_row, show_lock_row,
    BackendOps,
};
use crate::rows::{BookingRow, RefreshTokenRow, ScreenRow, ShowLockRow};

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
        InsertFreeSeats {
            user_id: user,
            show_id: show,
            seats: tickets.iter().map(|t| t.seat_number).collect(),
            prices: tickets.iter().map(|t| t.price.get()).collect(),
            labels: tickets.iter().map(|t| t.label.clone()).collect(),
            currency: currency.to_owned(),
            booking_time: at,
        }
        .get_results(self)
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

/// The booking insert on PostgreSQL, one statement for any number of seats:
///
/// ```sql
/// INSERT INTO bookings (user_id, show_id, seat_number, status, booking_time, price,
///                       currency, seat_label)
/// SELECT $1, $2, seat, 'CONFIRMED', $3, price, $4, label
/// FROM unnest($5, $6, $7) WITH ORDINALITY AS t(seat, price, label, n) ORDER BY n
/// ON CONFLICT (show_id, seat_number) WHERE status = 'CONFIRMED' DO NOTHING RETURNING ...
/// ```
///
/// - The seats arrive in ascending order and are inserted in that order, so the partial
///   unique index's entries (the per-seat locks) are always taken in one order: two
///   multi-seat requests cannot deadlock. A seat being booked by a transaction still in
///   flight makes the insert wait for its outcome; if that commits, the seat is skipped
///   here and reported as taken.
/// - Its text never changes, so Diesel prepares it once per connection (the builder's
///   upsert is parsed and planned on every booking).
/// - `'CONFIRMED'` is a literal, not a parameter: once PostgreSQL switches a prepared
///   statement to a generic plan, `status = $n` no longer proves the partial index's
///   predicate and the conflict target stops matching the index.
struct InsertFreeSeats {
    user_id: i64,
    show_id: i64,
    /// Three arrays of one length: each seat with its price and label.
    seats: Vec<i32>,
    prices: Vec<i32>,
    labels: Vec<String>,
    currency: String,
    booking_time: NaiveDateTime,
}

impl QueryId for InsertFreeSeats {
    type QueryId = Self;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl QueryFragment<diesel::pg::Pg> for InsertFreeSeats {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, diesel::pg::Pg>) -> QueryResult<()> {
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
        out.push_sql(
            ") WITH ORDINALITY AS t(seat, price, label, n) ORDER BY n \
             ON CONFLICT (show_id, seat_number) WHERE status = '",
        );
        out.push_sql(confirmed());
        out.push_sql(
            "' DO NOTHING \
             RETURNING id, user_id, show_id, seat_number, status, booking_time, cancelled_at, \
             price, currency, seat_label",
        );
        Ok(())
    }
}

impl Query for InsertFreeSeats {
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
