//! Bookings: the booking transaction (lock the show shared, read its layout and prices,
//! check the rules, claim and insert the free seats in order with their labels and
//! prices, all or none) and the cancel transaction (lock the booking, free its seat).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use domain::booking::rules;
use domain::*;

use super::seating::SeatingOps;
use super::DieselStore;
use crate::db::{db_error, foreign_key_violation, found, unique_violation};
use crate::rows::{
    bookings_of, currency, prices_from_rows, snapshot, to_naive, BookingRow, ShowLockRow,
};
use crate::schema::{bookings, seat_claims, shows, users};
use crate::sql::{BackendOps, SHOW_LOCK_COLUMNS};
use crate::tx::{refuse, retried, rule, with_conn, write_tx, TxError};

impl DieselStore {
    async fn book_once(
        &self,
        show: ShowId,
        user: &AuthUser,
        seats: &SeatSelection,
        now: DateTime<Utc>,
        answer: Option<&IdempotentAnswer<[Booking]>>,
    ) -> Result<Vec<Booking>, TxError<BookError>> {
        write_tx!(&self.db, |conn| {
            let Some((locked, prices)) = conn.show_for_sale(show.0).await? else {
                return refuse(BookError::ShowNotFound);
            };
            // Under the show's lock its screen cannot change, and a screen that a show
            // uses cannot change its layout: what is read here holds until the commit.
            let sale = ShowForSale {
                snapshot: snapshot(&locked)?,
                layout: conn.layout_of(locked.screen_id, locked.total_seats).await?,
                prices: prices_from_rows(show.0, prices)?,
                currency: currency(&locked.currency)?,
            };
            rule(rules::check_booking(&sale, seats, now))?;
            let tickets = Ticket::for_seats(&sale, seats)?;
            let inserted = conn
                .insert_free_seats(
                    show.0,
                    user.id.0,
                    &tickets,
                    sale.currency.as_str(),
                    to_naive(now),
                )
                .await?;
            if inserted.len() < seats.len() {
                let got: Vec<i32> = inserted.iter().map(|b| b.seat_number).collect();
                // Returning an error rolls back the seats that were free: all or none.
                return refuse(BookError::SeatTaken {
                    seats: seats.missing_from(&got),
                });
            }
            let booked = bookings_of(inserted, &user.username)?;
            // Committed with the bookings: a crash after the commit still leaves a retry
            // its answer, never a 409 for the caller's own seats.
            conn.keep_answer(answer, &booked).await?;
            Ok(booked)
        })
    }
}

#[async_trait]
impl BookingRepository for DieselStore {
    async fn book_seats<'a>(
        &self,
        show: ShowId,
        user: &AuthUser,
        seats: &SeatSelection,
        now: DateTime<Utc>,
        answer: Option<&'a IdempotentAnswer<[Booking]>>,
    ) -> Result<Vec<Booking>, BookError> {
        match retried!(self.book_once(show, user, seats, now, answer)) {
            Ok(booked) => {
                self.bookings_changed(&booked);
                Ok(booked)
            }
            // The claims' primary key and the partial unique index are the last line of
            // defence: if one fires, someone else holds a seat.
            Err(TxError::Db(e)) if unique_violation(&e) => Err(BookError::SeatTaken {
                seats: seats.numbers(),
            }),
            // The show is locked, so only the user can be missing: a valid token of a
            // deleted account.
            Err(TxError::Db(e)) if foreign_key_violation(&e) => Err(BookError::UserNotFound),
            Err(e) => Err(e.into_error()),
        }
    }

    async fn list_bookings(
        &self,
        user: &AuthUser,
        status: Option<BookingStatus>,
        page: Page,
    ) -> Result<Listing<Booking>, StoreError> {
        let status = status.map(BookingStatus::as_str);
        let (rows, total): (Vec<BookingRow>, i64) = with_conn!(&self.db, |conn| {
            let mut count = bookings::table
                .filter(bookings::user_id.eq(user.id.0))
                .into_boxed::<DB>();
            let mut query = bookings::table
                .filter(bookings::user_id.eq(user.id.0))
                .into_boxed::<DB>();
            if let Some(status) = status {
                count = count.filter(bookings::status.eq(status));
                query = query.filter(bookings::status.eq(status));
            }
            let total: i64 = count.count().get_result(conn).await.map_err(db_error)?;
            let rows = query
                .order((bookings::booking_time.desc(), bookings::id.desc()))
                .limit(page.limit)
                .offset(page.offset)
                .select(BookingRow::as_select())
                .load(conn)
                .await
                .map_err(db_error)?;
            Ok::<_, StoreError>((rows, total))
        })?;
        Ok(Listing {
            items: bookings_of(rows, &user.username)?,
            total,
        })
    }

    async fn get_booking(&self, id: BookingId) -> Result<Option<Booking>, StoreError> {
        let row: Option<(BookingRow, String)> = with_conn!(&self.db, |conn| {
            found(
                bookings::table
                    .inner_join(users::table)
                    .filter(bookings::id.eq(id.0))
                    .select((BookingRow::as_select(), users::username))
                    .first(conn)
                    .await,
            )
        })?;
        row.map(|(row, username)| row.into_booking(username))
            .transpose()
    }

    async fn cancel_booking<'a>(
        &self,
        id: BookingId,
        user: &AuthUser,
        now: DateTime<Utc>,
        answer: Option<&'a IdempotentAnswer<Booking>>,
    ) -> Result<Booking, CancelError> {
        let result: Result<Booking, TxError<CancelError>> = write_tx!(&self.db, |conn| {
            // Locked, so of two concurrent cancels the second sees the first's result.
            let Some(row) = conn.booking_for_update(id.0).await? else {
                return refuse(CancelError::NotFound);
            };
            let show: ShowLockRow = shows::table
                .find(row.show_id)
                .select(SHOW_LOCK_COLUMNS)
                .first(conn)
                .await?;
            let booking = row.into_booking(user.username.clone())?;
            rule(rules::check_cancel(
                &booking,
                user.id,
                &snapshot(&show)?,
                now,
            ))?;
            let updated = diesel::update(bookings::table.find(id.0))
                .set((
                    bookings::status.eq(BookingStatus::Cancelled.as_str()),
                    bookings::cancelled_at.eq(Some(to_naive(now))),
                ))
                .returning(BookingRow::as_returning())
                .get_result(conn)
                .await?;
            // The seat is free again at the commit.
            diesel::delete(
                seat_claims::table
                    .filter(seat_claims::show_id.eq(booking.show_id.0))
                    .filter(seat_claims::seat_number.eq(booking.seat_number))
                    .filter(seat_claims::expires_at.is_null()),
            )
            .execute(conn)
            .await?;
            let cancelled = updated.into_booking(user.username.clone())?;
            // Committed with the cancellation, as for a booking.
            conn.keep_answer(answer, &cancelled).await?;
            Ok(cancelled)
        });
        let cancelled = result.map_err(TxError::into_error)?;
        self.bookings_changed(std::slice::from_ref(&cancelled));
        Ok(cancelled)
    }
}
