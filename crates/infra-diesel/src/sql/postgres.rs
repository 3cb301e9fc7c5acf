//! PostgreSQL: real row locks, and the booking insert as one prepared statement.

use async_trait::async_trait;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{Array, BigInt, Integer, Nullable, Text, Timestamp};
use diesel_async::{AsyncPgConnection, RunQueryDsl, SimpleAsyncConnection};
use domain::{HoldStatus, IdempotencyClaim, StoredAnswer, Ticket};

use super::{
    booking_row, confirmed, hold_row, movie_show_ids, refresh_token_row, screen_row, show_lock_row,
    user_id_row, BackendOps,
};
use crate::repo::idempotency::scope_hash;
use crate::rows::{BookingRow, HoldRow, NewHoldRow, RefreshTokenRow, ScreenRow, ShowLockRow};
use crate::schema::holds;

#[async_trait]
impl BackendOps for AsyncPgConnection {
    async fn show_for_share(&mut self, id: i64) -> QueryResult<Option<ShowLockRow>> {
        show_lock_row(id).for_share().first(self).await.optional()
    }

    async fn show_for_sale(
        &mut self,
        id: i64,
    ) -> QueryResult<Option<(ShowLockRow, Vec<(String, i32)>)>> {
        let row: Option<(ShowLockRow, Vec<String>, Vec<i32>)> = ShowForSale { show_id: id }
            .get_result(self)
            .await
            .optional()?;
        Ok(row
            .map(|(show, categories, prices)| (show, categories.into_iter().zip(prices).collect())))
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
        InsertFreeSeats(BookingValues::new(show, user, tickets, currency, at))
            .get_results(self)
            .await
    }

    async fn insert_hold(
        &mut self,
        hold: &NewHoldRow<'_>,
        seats: &[i32],
    ) -> QueryResult<(HoldRow, Vec<i32>)> {
        InsertHold {
            user_id: hold.user_id,
            show_id: hold.show_id,
            seat_count: hold.seat_count,
            seats_json: hold.seats.to_owned(),
            currency: hold.currency.to_owned(),
            created_at: hold.created_at,
            expires_at: hold.expires_at,
            seats: seats.to_vec(),
        }
        .get_result(self)
        .await
    }

    async fn user_for_update(&mut self, id: i64) -> QueryResult<Option<i64>> {
        // NO KEY: the foreign-key checks of the caller's own inserts take KEY SHARE.
        user_id_row(id)
            .for_no_key_update()
            .first(self)
            .await
            .optional()
    }

    async fn held_seats(&mut self, user: i64, now: NaiveDateTime) -> QueryResult<i64> {
        HeldSeats { user_id: user, now }.get_result(self).await
    }

    async fn hold_for_update(&mut self, id: i64) -> QueryResult<Option<HoldRow>> {
        hold_row(id).for_update().first(self).await.optional()
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
        ConfirmHold {
            hold_id: hold,
            values: BookingValues::new(show, user, tickets, currency, now),
        }
        .get_results(self)
        .await
    }

    async fn store_answer(
        &mut self,
        claim: &IdempotencyClaim,
        answer: &StoredAnswer,
    ) -> QueryResult<usize> {
        let stored: i32 = StoreAnswer {
            scope_hash: scope_hash(&claim.scope),
            claim_token: claim.token.0.clone(),
            status: i32::from(answer.status),
            content_type: answer.content_type.clone(),
            body: answer.body.clone(),
        }
        .get_result(self)
        .await?;
        Ok(stored as usize)
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

/// The booking insert on PostgreSQL, one statement for any number of seats: the seats
/// are first claimed, each taking over a claim whose hold has expired, and only the
/// claimed ones are booked:
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
/// - The seats arrive in ascending order and are claimed in that order, so the per-seat
///   locks are always taken in one order: two multi-seat requests cannot deadlock. A
///   seat being claimed by a transaction still in flight makes the insert wait for its
///   outcome; if that commits, the seat is skipped here and reported as taken.
/// - Its text never changes, so Diesel prepares it once per connection (the builder's
///   upsert is parsed and planned on every booking).
/// - `'CONFIRMED'` is a literal, not a parameter: once PostgreSQL switches a prepared
///   statement to a generic plan, `status = $n` no longer proves the partial index's
///   predicate and the conflict target stops matching the index.
struct InsertFreeSeats(BookingValues);

impl QueryId for InsertFreeSeats {
    type QueryId = Self;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl QueryFragment<diesel::pg::Pg> for InsertFreeSeats {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, diesel::pg::Pg>) -> QueryResult<()> {
        let values = &self.0;
        out.push_sql("WITH claimed AS (INSERT INTO seat_claims (show_id, seat_number) SELECT ");
        out.push_bind_param::<BigInt, _>(&values.show_id)?;
        out.push_sql(", seat FROM unnest(");
        out.push_bind_param::<Array<Integer>, _>(&values.seats)?;
        out.push_sql(
            ") WITH ORDINALITY AS c(seat, n) ORDER BY n \
             ON CONFLICT (show_id, seat_number) DO UPDATE \
             SET hold_id = NULL, expires_at = NULL WHERE seat_claims.expires_at <= ",
        );
        out.push_bind_param::<Timestamp, _>(&values.at)?;
        out.push_sql(" RETURNING seat_number) ");
        values.walk_insert(&mut out, "seat IN (SELECT seat_number FROM claimed)")
    }
}

impl Query for InsertFreeSeats {
    type SqlType = BookingSql;
}

/// The bookings of one statement: three arrays of one length (each seat with its price
/// and label), and what every booking shares.
struct BookingValues {
    user_id: i64,
    show_id: i64,
    seats: Vec<i32>,
    prices: Vec<i32>,
    labels: Vec<String>,
    currency: String,
    at: NaiveDateTime,
}

impl BookingValues {
    fn new(show: i64, user: i64, tickets: &[Ticket], currency: &str, at: NaiveDateTime) -> Self {
        Self {
            user_id: user,
            show_id: show,
            seats: tickets.iter().map(|t| t.seat_number).collect(),
            prices: tickets.iter().map(|t| t.price.get()).collect(),
            labels: tickets.iter().map(|t| t.label.clone()).collect(),
            currency: currency.to_owned(),
            at,
        }
    }

    /// `INSERT INTO bookings ... SELECT ... FROM unnest(...) WHERE <only> ORDER BY n ON
    /// CONFLICT ... DO NOTHING RETURNING ...`: the seats in their (ascending) order, each
    /// skipped when a confirmed booking has it.
    fn walk_insert<'b>(
        &'b self,
        out: &mut AstPass<'_, 'b, diesel::pg::Pg>,
        only: &'static str,
    ) -> QueryResult<()> {
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
        out.push_bind_param::<Timestamp, _>(&self.at)?;
        out.push_sql(", price, ");
        out.push_bind_param::<Text, _>(&self.currency)?;
        out.push_sql(", label FROM unnest(");
        out.push_bind_param::<Array<Integer>, _>(&self.seats)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Integer>, _>(&self.prices)?;
        out.push_sql(", ");
        out.push_bind_param::<Array<Text>, _>(&self.labels)?;
        out.push_sql(") WITH ORDINALITY AS t(seat, price, label, n) WHERE ");
        out.push_sql(only);
        out.push_sql(" ORDER BY n ON CONFLICT (show_id, seat_number) WHERE status = '");
        out.push_sql(confirmed());
        out.push_sql("' DO NOTHING RETURNING ");
        out.push_sql(BOOKING_RETURNING);
        Ok(())
    }
}

/// The columns of a [`BookingRow`], in its fields' order.
const BOOKING_RETURNING: &str = "id, user_id, show_id, seat_number, status, booking_time, \
     cancelled_at, price, currency, seat_label";

/// SQL types of a [`BookingRow`].
type BookingSql = (
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

/// Declares a fixed-text PostgreSQL statement: its struct of bound values, a static
/// query id (so each connection prepares it once, which Diesel does not do for an
/// `UPDATE`, an upsert with `DO UPDATE` or raw SQL) and its result's SQL type. The body
/// writes the text, binding fields with `bind!(field as SqlType)`.
macro_rules! fixed_statement {
    (
        $(#[$meta:meta])*
        $name:ident { $($field:ident: $ty:ty),* $(,)? } -> $sql_type:ty;
        |$self_:ident, $out:ident| $body:block
    ) => {
        $(#[$meta])*
        struct $name { $($field: $ty),* }

        impl QueryId for $name {
            type QueryId = Self;
            const HAS_STATIC_QUERY_ID: bool = true;
        }

        impl QueryFragment<diesel::pg::Pg> for $name {
            fn walk_ast<'b>(&'b $self_, mut $out: AstPass<'_, 'b, diesel::pg::Pg>) -> QueryResult<()> {
                $body
                Ok(())
            }
        }

        impl Query for $name {
            type SqlType = $sql_type;
        }
    };
}

/// The columns of a [`HoldRow`], in its fields' order.
const HOLD_RETURNING: &str =
    "id, user_id, show_id, status, seats, currency, created_at, expires_at, extensions";

/// SQL types of a [`HoldRow`].
type HoldSql = (
    BigInt,
    BigInt,
    BigInt,
    Text,
    Text,
    Text,
    Timestamp,
    Timestamp,
    Integer,
);

fixed_statement! {
    /// A new hold and the claims of its seats, in one statement: the hold is inserted,
    /// then its seats are claimed in ascending order (taking over the claims of expired
    /// holds), and the hold comes back with the seats it got.
    InsertHold {
        user_id: i64,
        show_id: i64,
        seat_count: i32,
        seats_json: String,
        currency: String,
        created_at: NaiveDateTime,
        expires_at: NaiveDateTime,
        seats: Vec<i32>,
    } -> (HoldSql, Array<Integer>);
    |self, out| {
        out.push_sql(
            "WITH hold AS (INSERT INTO holds (user_id, show_id, status, seat_count, seats, \
             currency, created_at, expires_at, extensions) VALUES (",
        );
        out.push_bind_param::<BigInt, _>(&self.user_id)?;
        out.push_sql(", ");
        out.push_bind_param::<BigInt, _>(&self.show_id)?;
        out.push_sql(", '");
        out.push_sql(HoldStatus::Active.as_str());
        out.push_sql("', ");
        out.push_bind_param::<Integer, _>(&self.seat_count)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(&self.seats_json)?;
        out.push_sql(", ");
        out.push_bind_param::<Text, _>(&self.currency)?;
        out.push_sql(", ");
        out.push_bind_param::<Timestamp, _>(&self.created_at)?;
        out.push_sql(", ");
        out.push_bind_param::<Timestamp, _>(&self.expires_at)?;
        out.push_sql(", 0) RETURNING ");
        out.push_sql(HOLD_RETURNING);
        out.push_sql(
            "), claimed AS (INSERT INTO seat_claims (show_id, seat_number, hold_id, expires_at) \
             SELECT ",
        );
        out.push_bind_param::<BigInt, _>(&self.show_id)?;
        out.push_sql(", seat, (SELECT id FROM hold), ");
        out.push_bind_param::<Timestamp, _>(&self.expires_at)?;
        out.push_sql(" FROM unnest(");
        out.push_bind_param::<Array<Integer>, _>(&self.seats)?;
        out.push_sql(
            ") WITH ORDINALITY AS c(seat, n) ORDER BY n \
             ON CONFLICT (show_id, seat_number) DO UPDATE \
             SET hold_id = EXCLUDED.hold_id, expires_at = EXCLUDED.expires_at \
             WHERE seat_claims.expires_at <= ",
        );
        out.push_bind_param::<Timestamp, _>(&self.created_at)?;
        out.push_sql(" RETURNING seat_number) SELECT ");
        out.push_sql(HOLD_RETURNING);
        out.push_sql(", ARRAY(SELECT seat_number FROM claimed ORDER BY seat_number) FROM hold");
    }
}

fixed_statement! {
    /// The seats in a user's unexpired active holds. `'ACTIVE'` is a literal so that the
    /// partial index of active holds serves it on a generic plan too.
    HeldSeats { user_id: i64, now: NaiveDateTime } -> BigInt;
    |self, out| {
        out.push_sql("SELECT COALESCE(SUM(seat_count), 0)::int8 FROM holds WHERE user_id = ");
        out.push_bind_param::<BigInt, _>(&self.user_id)?;
        out.push_sql(" AND status = '");
        out.push_sql(HoldStatus::Active.as_str());
        out.push_sql("' AND expires_at > ");
        out.push_bind_param::<Timestamp, _>(&self.now)?;
    }
}

fixed_statement! {
    /// A confirmation in one statement: the hold's claims still its own and unexpired
    /// become a booking's (locked in seat order first, as every claim takes them), the
    /// hold becomes `CONFIRMED`, and those seats are booked at the prices held. Fewer
    /// bookings than seats means a seat was taken over: the caller rolls back.
    ConfirmHold {
        hold_id: i64,
        values: BookingValues,
    } -> BookingSql;
    |self, out| {
        out.push_sql(
            "WITH kept AS (UPDATE seat_claims SET expires_at = NULL \
             WHERE (show_id, seat_number) IN (SELECT show_id, seat_number FROM seat_claims \
             WHERE hold_id = ",
        );
        out.push_bind_param::<BigInt, _>(&self.hold_id)?;
        out.push_sql(" AND expires_at > ");
        out.push_bind_param::<Timestamp, _>(&self.values.at)?;
        out.push_sql(
            " ORDER BY seat_number FOR UPDATE) RETURNING seat_number), \
             ended AS (UPDATE holds SET status = '",
        );
        out.push_sql(HoldStatus::Confirmed.as_str());
        out.push_sql("' WHERE id = ");
        out.push_bind_param::<BigInt, _>(&self.hold_id)?;
        out.push_sql(" RETURNING id) ");
        self.values.walk_insert(
            &mut out,
            "seat IN (SELECT seat_number FROM kept) AND EXISTS (SELECT 1 FROM ended)",
        )?;
    }
}

fixed_statement! {
    /// An `Idempotency-Key`'s answer, stored for the claim that holds it.
    StoreAnswer {
        scope_hash: Vec<u8>,
        claim_token: String,
        status: i32,
        content_type: Option<String>,
        body: Vec<u8>,
    } -> Integer;
    |self, out| {
        out.push_sql("WITH stored AS (UPDATE idempotency_keys SET status = ");
        out.push_bind_param::<Integer, _>(&self.status)?;
        out.push_sql(", content_type = ");
        out.push_bind_param::<Nullable<Text>, _>(&self.content_type)?;
        out.push_sql(", body = ");
        out.push_bind_param::<diesel::sql_types::Binary, _>(&self.body)?;
        out.push_sql(" WHERE scope_hash = ");
        out.push_bind_param::<diesel::sql_types::Binary, _>(&self.scope_hash)?;
        out.push_sql(" AND claim_token = ");
        out.push_bind_param::<Text, _>(&self.claim_token)?;
        out.push_sql(" AND status IS NULL RETURNING 1) SELECT count(*)::int4 FROM stored");
    }
}

fixed_statement! {
    /// `show_for_share` and the show's prices in one statement, for a booking or a hold.
    ShowForSale { show_id: i64 } -> (
        (BigInt, Timestamp, Integer, Nullable<BigInt>, Text),
        Array<Text>,
        Array<Integer>,
    );
    |self, out| {
        out.push_sql(
            "SELECT id, start_time, total_seats, screen_id, currency, \
             ARRAY(SELECT category FROM show_prices WHERE show_id = shows.id ORDER BY category), \
             ARRAY(SELECT price FROM show_prices WHERE show_id = shows.id ORDER BY category) \
             FROM shows WHERE id = ",
        );
        out.push_bind_param::<BigInt, _>(&self.show_id)?;
        out.push_sql(" FOR SHARE");
    }
}
