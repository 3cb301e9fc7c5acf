//! What must differ between the backends inside a write transaction: row locks, the
//! booking insert, the clean-up of expired refresh tokens and idempotency keys, and
//! readiness's probe write. Everything else is written once, in `repo/`, for both.

mod postgres;
mod sqlite;

use async_trait::async_trait;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use domain::{BookingStatus, IdempotencyClaim, IdempotentAnswer, StoreError, StoredAnswer, Ticket};

use crate::repo::idempotency::claim_lost;
use crate::rows::{BookingRow, HoldRow, NewHoldRow, RefreshTokenRow, ScreenRow, ShowLockRow};
use crate::schema::{bookings, holds, refresh_tokens, screens, shows, users};
use crate::tx::TxError;

/// The status every confirmed-seat query filters on, from the domain's own spelling.
pub(crate) fn confirmed() -> &'static str {
    BookingStatus::Confirmed.as_str()
}

#[async_trait]
pub(crate) trait BackendOps {
    /// The show, with a shared lock on PostgreSQL: bookings of one show don't wait
    /// for each other, but staff edits of the show wait for them.
    async fn show_for_share(&mut self, id: i64) -> QueryResult<Option<ShowLockRow>>;
    /// The show with its prices (category, price), with the shared lock of
    /// [`Self::show_for_share`]: what a booking or a hold reads first, in one statement
    /// on PostgreSQL.
    async fn show_for_sale(
        &mut self,
        id: i64,
    ) -> QueryResult<Option<(ShowLockRow, Vec<(String, i32)>)>>;
    /// The show, locked against bookings and other edits.
    async fn show_for_update(&mut self, id: i64) -> QueryResult<Option<ShowLockRow>>;
    /// The ids of a movie's shows, locked in id order.
    async fn movie_shows_for_update(&mut self, movie: i64) -> QueryResult<Vec<i64>>;
    async fn booking_for_update(&mut self, id: i64) -> QueryResult<Option<BookingRow>>;
    /// The screen, with a shared lock on PostgreSQL: creating or moving a show onto it
    /// keeps its layout from changing (and the screen from going) until the commit.
    async fn screen_for_share(&mut self, id: i64) -> QueryResult<Option<ScreenRow>>;
    /// The screen, locked against new shows on it and other edits.
    async fn screen_for_update(&mut self, id: i64) -> QueryResult<Option<ScreenRow>>;
    /// Claims and books the seats of `tickets` (ascending) that are free at `at`, each
    /// with its label and price, and returns the new bookings; a seat with a confirmed
    /// booking or in an unexpired hold is skipped, never an error, and the claim of an
    /// expired hold is taken over.
    async fn insert_free_seats(
        &mut self,
        show: i64,
        user: i64,
        tickets: &[Ticket],
        currency: &str,
        at: NaiveDateTime,
    ) -> QueryResult<Vec<BookingRow>>;
    /// Inserts a hold and claims its seats (ascending) that are free at its creation,
    /// taking over the claims of expired holds; returns the hold and the seats it got.
    async fn insert_hold(
        &mut self,
        hold: &NewHoldRow<'_>,
        seats: &[i32],
    ) -> QueryResult<(HoldRow, Vec<i32>)>;
    /// The user's row, locked: one user's new holds are counted against the cap one at
    /// a time, while other users' holds go on.
    async fn user_for_update(&mut self, id: i64) -> QueryResult<Option<i64>>;
    /// The seats in the user's unexpired active holds.
    async fn held_seats(&mut self, user: i64, now: NaiveDateTime) -> QueryResult<i64>;
    /// A hold, locked against every other change of it.
    async fn hold_for_update(&mut self, id: i64) -> QueryResult<Option<HoldRow>>;
    /// Confirms a hold: its claims still its own at `now` become a booking's, the hold
    /// `CONFIRMED`, and those seats bookings at the prices held. Returns the bookings;
    /// fewer than `tickets` means a seat was taken over, and the caller rolls back.
    async fn confirm_hold_seats(
        &mut self,
        hold: i64,
        user: i64,
        show: i64,
        tickets: &[Ticket],
        currency: &str,
        now: NaiveDateTime,
    ) -> QueryResult<Vec<BookingRow>>;
    /// Stores an `Idempotency-Key`'s answer for the claim that holds the key; returns 1,
    /// or 0 when the claim no longer holds it.
    async fn store_answer(
        &mut self,
        claim: &IdempotencyClaim,
        answer: &StoredAnswer,
    ) -> QueryResult<usize>;
    /// Stores `answer`, when there is one, for the result of the transaction it runs in,
    /// so that both commit together; a claim no longer the request's own rolls it back.
    async fn keep_answer<T, E>(
        &mut self,
        answer: Option<&IdempotentAnswer<T>>,
        result: &T,
    ) -> Result<(), TxError<E>>
    where
        T: ?Sized + Sync,
        E: From<StoreError> + Send,
    {
        if let Some(answer) = answer {
            if self
                .store_answer(&answer.claim, &answer.render(result))
                .await?
                != 1
            {
                return Err(TxError::Rule(claim_lost().into()));
            }
        }
        Ok(())
    }
    /// At most `limit` active holds whose expiry has passed at `now`, locked; on
    /// PostgreSQL one another transaction holds is skipped.
    async fn expired_hold_ids(&mut self, now: NaiveDateTime, limit: i64) -> QueryResult<Vec<i64>>;
    /// A refresh token's record, locked: of two exchanges of one token, the second
    /// waits for the first and then sees it retired.
    async fn refresh_token_for_update(&mut self, jti: &str)
        -> QueryResult<Option<RefreshTokenRow>>;
    /// Deletes the refresh-token records expired at `now`, without ever waiting for a
    /// row another transaction holds (that row goes at a later clean-up).
    async fn delete_expired_refresh_tokens(&mut self, now: NaiveDateTime) -> QueryResult<usize>;
    /// A write that changes nothing anyone reads yet needs the disk, for readiness to
    /// learn whether a full or failing disk takes writes again.
    async fn probe_write(&mut self) -> QueryResult<()>;

    /// Deletes at most `limit` idempotency rows created before `before` and returns how
    /// many went; on PostgreSQL a row another transaction holds is left for next time.
    async fn delete_idempotency_keys_before(
        &mut self,
        before: NaiveDateTime,
        limit: i64,
    ) -> QueryResult<usize>;
}

/// The columns of a [`ShowLockRow`], in its fields' order.
pub(crate) type ShowLockColumns = (
    shows::id,
    shows::start_time,
    shows::total_seats,
    shows::screen_id,
    shows::currency,
);
pub(crate) const SHOW_LOCK_COLUMNS: ShowLockColumns = (
    shows::id,
    shows::start_time,
    shows::total_seats,
    shows::screen_id,
    shows::currency,
);

/// What a booking or a staff edit reads of a show before the row lock (if any) is added.
fn show_lock_row(
    id: i64,
) -> diesel::dsl::Select<diesel::dsl::Find<shows::table, i64>, ShowLockColumns> {
    shows::table.find(id).select(SHOW_LOCK_COLUMNS)
}

/// The columns of a [`ScreenRow`], in its fields' order.
pub(crate) type ScreenColumns = (screens::id, screens::name, screens::layout);
pub(crate) const SCREEN_COLUMNS: ScreenColumns = (screens::id, screens::name, screens::layout);

/// One screen, before the row lock (if any) is added.
fn screen_row(
    id: i64,
) -> diesel::dsl::Select<diesel::dsl::Find<screens::table, i64>, ScreenColumns> {
    screens::table.find(id).select(SCREEN_COLUMNS)
}

/// The shows of one movie, in id order.
type MovieShows = diesel::dsl::Order<
    diesel::dsl::Filter<shows::table, diesel::dsl::Eq<shows::movie_id, i64>>,
    shows::id,
>;

/// A movie's show ids in id order, the order in which a movie's deletion locks them.
fn movie_show_ids(movie: i64) -> diesel::dsl::Select<MovieShows, shows::id> {
    shows::table
        .filter(shows::movie_id.eq(movie))
        .order(shows::id)
        .select(shows::id)
}

/// The id of one user, before the row lock (if any) is added.
fn user_id_row(id: i64) -> diesel::dsl::Select<diesel::dsl::Find<users::table, i64>, users::id> {
    users::table.find(id).select(users::id)
}

/// The columns of a [`HoldRow`], in its fields' order.
type HoldColumns = (
    holds::id,
    holds::user_id,
    holds::show_id,
    holds::status,
    holds::seats,
    holds::currency,
    holds::created_at,
    holds::expires_at,
    holds::extensions,
);

/// One hold, before the row lock (if any) is added.
fn hold_row(id: i64) -> diesel::dsl::Select<diesel::dsl::Find<holds::table, i64>, HoldColumns> {
    holds::table.find(id).select((
        holds::id,
        holds::user_id,
        holds::show_id,
        holds::status,
        holds::seats,
        holds::currency,
        holds::created_at,
        holds::expires_at,
        holds::extensions,
    ))
}

/// One booking row, before the row lock (if any) is added. Every column, in the
/// table's order, which is the order of [`BookingRow`]'s fields.
fn booking_row(id: i64) -> diesel::dsl::Find<bookings::table, i64> {
    bookings::table.find(id)
}

/// One refresh token's record, before the row lock (if any) is added. Every column, in
/// the table's order, which is the order of [`RefreshTokenRow`]'s fields.
fn refresh_token_row(jti: &str) -> diesel::dsl::Find<refresh_tokens::table, &str> {
    refresh_tokens::table.find(jti)
}
