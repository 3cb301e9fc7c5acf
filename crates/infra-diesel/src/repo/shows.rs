//! Shows, with their movie's title and their available seats counted from the
//! confirmed bookings. Staff edits lock the show so that no booking slips in between
//! a rule's check and the change.

use std::sync::LazyLock;

use async_trait::async_trait;
use diesel::prelude::*;
use diesel::sql_types::BigInt;
use diesel_async::RunQueryDsl;
use domain::catalog::rules;
use domain::*;

use super::DieselStore;
use crate::db::{db_error, foreign_key_violation, found};
use crate::rows::{to_naive, NewShowRow, ShowChanges, ShowRow};
use crate::schema::{bookings, movies, shows};
use crate::sql::{confirmed, BackendOps};
use crate::tx::{refuse, rule, with_conn, write_tx, TxError};

/// What a [`ShowRow`] is read from: a show joined with its movie.
const SHOW_COLUMNS: (
    shows::id,
    shows::movie_id,
    movies::title,
    shows::screen_name,
    shows::start_time,
    shows::total_seats,
) = (
    shows::id,
    shows::movie_id,
    movies::title,
    shows::screen_name,
    shows::start_time,
    shows::total_seats,
);

/// The confirmed bookings of the show of the current row, as a correlated subquery.
static CONFIRMED_OF_SHOW: LazyLock<String> = LazyLock::new(|| {
    format!(
        "(SELECT count(*) FROM bookings WHERE bookings.show_id = shows.id AND bookings.status = '{}')",
        confirmed()
    )
});

fn confirmed_bookings_of_show() -> diesel::expression::SqlLiteral<BigInt> {
    diesel::dsl::sql::<BigInt>(&CONFIRMED_OF_SHOW)
}

impl DieselStore {
    /// Shows with their movie titles and available seats, in start-time order.
    async fn shows_where(
        &self,
        filter: &ShowFilter,
        page: Page,
    ) -> Result<Listing<Show>, StoreError> {
        let (rows, total): (Vec<(ShowRow, i64, i64)>, i64) = with_conn!(&self.db, |conn| {
            macro_rules! filtered {
                () => {{
                    let mut query = shows::table.inner_join(movies::table).into_boxed::<DB>();
                    if let Some(movie) = filter.movie {
                        query = query.filter(shows::movie_id.eq(movie.0));
                    }
                    if let Some(date) = filter.date {
                        let day = date.get().and_hms_opt(0, 0, 0).unwrap_or_default();
                        query = query.filter(shows::start_time.ge(day));
                        // Checked: the last day chrono knows has no next day.
                        if let Some(next) = day.checked_add_signed(chrono::Duration::days(1)) {
                            query = query.filter(shows::start_time.lt(next));
                        }
                    }
                    if let Some(after) = filter.starts_after {
                        query = query.filter(shows::start_time.gt(to_naive(after)));
                    }
                    query
                }};
            }
            // One query for the page, its shows' confirmed bookings and the total: a
            // correlated count per listed show, and the total as a window over the
            // filtered rows (computed before LIMIT/OFFSET).
            let rows: Vec<(ShowRow, i64, i64)> = filtered!()
                .order((shows::start_time.asc(), shows::id.asc()))
                .select((
                    SHOW_COLUMNS,
                    confirmed_bookings_of_show(),
                    diesel::dsl::sql::<BigInt>("count(*) OVER ()"),
                ))
                .limit(page.limit)
                .offset(page.offset)
                .load(conn)
                .await
                .map_err(db_error)?;
            let total = match <[_]>::first(&rows) {
                Some((_, _, total)) => *total,
                // Past the last page the window has no row to ride on.
                None if page.offset > 0 => filtered!()
                    .count()
                    .get_result::<i64>(conn)
                    .await
                    .map_err(db_error)?,
                None => 0,
            };
            Ok::<_, StoreError>((rows, total))
        })?;
        let items = rows
            .into_iter()
            .map(|(row, booked, _)| row.into_show(booked))
            .collect::<Result<_, _>>()?;
        Ok(Listing { items, total })
    }

    async fn show_by_id(&self, id: ShowId) -> Result<Option<Show>, StoreError> {
        let row: Option<(ShowRow, i64)> = with_conn!(&self.db, |conn| {
            found(
                shows::table
                    .inner_join(movies::table)
                    .filter(shows::id.eq(id.0))
                    .select((SHOW_COLUMNS, confirmed_bookings_of_show()))
                    .first(conn)
                    .await,
            )
        })?;
        row.map(|(row, booked)| row.into_show(booked)).transpose()
    }
}

#[async_trait]
impl ShowRepository for DieselStore {
    async fn list_shows(
        &self,
        filter: ShowFilter,
        page: Page,
    ) -> Result<Listing<Show>, StoreError> {
        self.shows_where(&filter, page).await
    }

    async fn get_show(&self, id: ShowId) -> Result<Option<Show>, StoreError> {
        self.show_by_id(id).await
    }

    async fn create_show(&self, show: NewShow) -> Result<Show, SaveShowError> {
        let row = NewShowRow::from(show);
        let created: Result<i64, TxError<SaveShowError>> = write_tx!(&self.db, |conn| {
            Ok(diesel::insert_into(shows::table)
                .values(&row)
                .returning(shows::id)
                .get_result(conn)
                .await?)
        });
        let id = created.map_err(|e| match e {
            TxError::Db(e) if foreign_key_violation(&e) => SaveShowError::MovieNotFound,
            other => other.into_error(),
        })?;
        self.show_by_id(ShowId(id))
            .await?
            .ok_or(SaveShowError::ShowNotFound)
    }

    async fn update_show(&self, id: ShowId, patch: ShowPatch) -> Result<Show, SaveShowError> {
        let new_total = patch.total_seats;
        let changes = (!patch.is_empty()).then(|| ShowChanges::from(patch));
        let changes = &changes;
        let result: Result<(), TxError<SaveShowError>> = write_tx!(&self.db, |conn| {
            // Exclusive lock: waits for in-flight bookings (they hold it shared), so the
            // highest booked seat read below is final until we commit.
            if conn.show_for_update(id.0).await?.is_none() {
                return refuse(SaveShowError::ShowNotFound);
            }
            if let Some(total) = new_total {
                let highest: Option<i32> = bookings::table
                    .filter(bookings::show_id.eq(id.0))
                    .filter(bookings::status.eq(confirmed()))
                    .select(diesel::dsl::max(bookings::seat_number))
                    .first(conn)
                    .await?;
                rule(rules::check_total_seats(total, highest))?;
            }
            if let Some(changes) = changes {
                let updated = diesel::update(shows::table.find(id.0))
                    .set(changes)
                    .execute(conn)
                    .await;
                match updated {
                    Err(e) if foreign_key_violation(&e) => {
                        return refuse(SaveShowError::MovieNotFound)
                    }
                    other => other?,
                };
            }
            Ok(())
        });
        result.map_err(TxError::into_error)?;
        self.show_by_id(id)
            .await?
            .ok_or(SaveShowError::ShowNotFound)
    }

    async fn delete_show(&self, id: ShowId) -> Result<(), DeleteError> {
        let result: Result<(), TxError<DeleteError>> = write_tx!(&self.db, |conn| {
            if conn.show_for_update(id.0).await?.is_none() {
                return refuse(DeleteError::NotFound);
            }
            let confirmed: i64 = bookings::table
                .filter(bookings::show_id.eq(id.0))
                .filter(bookings::status.eq(confirmed()))
                .count()
                .get_result(conn)
                .await?;
            rule(rules::check_deletable(confirmed))?;
            diesel::delete(shows::table.find(id.0))
                .execute(conn)
                .await?;
            Ok(())
        });
        result.map_err(TxError::into_error)
    }

    async fn booked_seats(&self, id: ShowId) -> Result<Option<(Show, Vec<i32>)>, StoreError> {
        let found_show: Option<(ShowRow, Vec<i32>)> = with_conn!(&self.db, |conn| {
            let row: Option<ShowRow> = found(
                shows::table
                    .inner_join(movies::table)
                    .filter(shows::id.eq(id.0))
                    .select(SHOW_COLUMNS)
                    .first(conn)
                    .await,
            )?;
            let Some(row) = row else {
                return Ok(None);
            };
            let seats: Vec<i32> = bookings::table
                .filter(bookings::show_id.eq(id.0))
                .filter(bookings::status.eq(confirmed()))
                .order(bookings::seat_number.asc())
                .select(bookings::seat_number)
                .load(conn)
                .await
                .map_err(db_error)?;
            Ok::<_, StoreError>(Some((row, seats)))
        })?;
        let Some((row, seats)) = found_show else {
            return Ok(None);
        };
        // Counted from the same list, so the map and the count always agree.
        let show = row.into_show(seats.len() as i64)?;
        Ok(Some((show, seats)))
    }
}
