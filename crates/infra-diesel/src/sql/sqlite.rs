//! SQLite: every write transaction is `BEGIN IMMEDIATE` and holds the database's one
//! write lock, so plain reads are as good as locking ones.

use async_trait::async_trait;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::{RunQueryDsl, SimpleAsyncConnection};
use domain::Ticket;

use super::{
    booking_row, confirmed, movie_show_ids, refresh_token_row, screen_row, show_lock_row,
    BackendOps,
};
use crate::db::SqliteConn;
use crate::rows::{BookingRow, NewBookingRow, RefreshTokenRow, ScreenRow, ShowLockRow};
use crate::schema::{bookings, refresh_tokens};

#[async_trait]
impl BackendOps for SqliteConn {
    async fn show_for_share(&mut self, id: i64) -> QueryResult<Option<ShowLockRow>> {
        self.show_for_update(id).await
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
        let booked: Vec<i32> = bookings::table
            .filter(bookings::show_id.eq(show))
            .filter(bookings::seat_number.eq_any(tickets.iter().map(|t| t.seat_number)))
            .filter(bookings::status.eq(confirmed()))
            .select(bookings::seat_number)
            .load(self)
            .await?;
        let free = tickets.iter().filter(|t| !booked.contains(&t.seat_number));
        let mut inserted = Vec::with_capacity(tickets.len());
        for ticket in free {
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
                    .get_result(self)
                    .await?,
            );
        }
        Ok(inserted)
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

#[derive(QueryableByName)]
struct UserVersion {
    #[diesel(sql_type = diesel::sql_types::Integer)]
    user_version: i32,
}
