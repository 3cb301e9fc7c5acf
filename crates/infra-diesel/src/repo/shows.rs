//! Shows, with their movie's title, their prices, and their available seats counted
//! from the seats taken (booked or held) and the blocked seats of their screen. Staff edits lock
//! the show so that no booking slips in between a rule's check and the change, and the
//! screen they put a show on, so that its layout cannot change meanwhile.

use async_trait::async_trait;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Integer, Timestamp};
use diesel_async::RunQueryDsl;
use domain::catalog::rules;
use domain::*;

use super::seating::SeatingOps;
use super::DieselStore;
use crate::db::{db_error, foreign_key_violation, found};
use crate::rows::{layout_from_json, prices_by_show, to_naive, NewShowRow, ShowChanges, ShowRow};
use crate::schema::{movies, seat_claims, show_prices, shows};
use crate::sql::BackendOps;
use crate::tx::{refuse, rule, with_conn, write_tx, TxError};

/// What a [`ShowRow`] is read from: a show joined with its movie.
pub(crate) const SHOW_COLUMNS: (
    shows::id,
    shows::movie_id,
    movies::title,
    shows::screen_name,
    shows::start_time,
    shows::total_seats,
    shows::screen_id,
    shows::currency,
) = (
    shows::id,
    shows::movie_id,
    movies::title,
    shows::screen_name,
    shows::start_time,
    shows::total_seats,
    shows::screen_id,
    shows::currency,
);

/// The seats of the current row's show taken at `$now` (booked, or in an unexpired
/// hold), as a correlated subquery.
macro_rules! taken_seats_of_show {
    ($now:expr) => {
        diesel::dsl::sql::<BigInt>(
            "(SELECT count(*) FROM seat_claims WHERE seat_claims.show_id = shows.id \
             AND (seat_claims.expires_at IS NULL OR seat_claims.expires_at > ",
        )
        .bind::<Timestamp, _>($now)
        .sql("))")
    };
}

/// The blocked seats of the current row's screen (0 for a flat show), as stored beside
/// the screen's layout so that a list need not parse layouts.
pub(crate) fn blocked_seats_of_show() -> diesel::expression::SqlLiteral<Integer> {
    diesel::dsl::sql::<Integer>(
        "COALESCE((SELECT screens.blocked_seats FROM screens WHERE screens.id = shows.screen_id), 0)",
    )
}

/// The prices of these shows, by show.
macro_rules! prices_of_shows {
    ($conn:expr, $ids:expr) => {
        show_prices::table
            .filter(show_prices::show_id.eq_any($ids))
            .select((
                show_prices::show_id,
                show_prices::category,
                show_prices::price,
            ))
            .load::<(i64, String, i32)>($conn)
            .await
            .map_err(db_error)
            .and_then(prices_by_show)
    };
}
pub(crate) use prices_of_shows;

/// Shows from their rows, each with its prices.
pub(crate) fn shows_of(
    rows: Vec<(ShowRow, i64, i32)>,
    mut prices: std::collections::BTreeMap<i64, Prices>,
) -> Result<Vec<Show>, StoreError> {
    rows.into_iter()
        .map(|(row, booked, blocked)| {
            let id = row.id;
            let prices = prices
                .remove(&id)
                .ok_or_else(|| StoreError::Unexpected(format!("show {id} has no prices")))?;
            row.into_show(booked, blocked, prices)
        })
        .collect()
}

impl DieselStore {
    /// Shows with their movie titles and available seats, in start-time order.
    async fn shows_where(
        &self,
        filter: &ShowFilter,
        page: Page,
    ) -> Result<Listing<Show>, StoreError> {
        let now = self.now();
        let read = with_conn!(&self.db, |conn| {
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
            // One query for the page, its shows' taken seats and the total: a
            // correlated count per listed show, and the total as a window over the
            // filtered rows (computed before LIMIT/OFFSET).
            let rows: Vec<(ShowRow, i64, i32, i64)> = filtered!()
                .order((shows::start_time.asc(), shows::id.asc()))
                .select((
                    SHOW_COLUMNS,
                    taken_seats_of_show!(now),
                    blocked_seats_of_show(),
                    diesel::dsl::sql::<BigInt>("count(*) OVER ()"),
                ))
                .limit(page.limit)
                .offset(page.offset)
                .load(conn)
                .await
                .map_err(db_error)?;
            let total = match <[_]>::first(&rows) {
                Some((_, _, _, total)) => *total,
                // Past the last page the window has no row to ride on.
                None if page.offset > 0 => filtered!()
                    .count()
                    .get_result::<i64>(conn)
                    .await
                    .map_err(db_error)?,
                None => 0,
            };
            let ids: Vec<i64> = rows.iter().map(|(row, ..)| row.id).collect();
            let prices = prices_of_shows!(conn, ids)?;
            Ok::<_, StoreError>((rows, total, prices))
        })?;
        let (rows, total, prices) = read;
        let rows = rows
            .into_iter()
            .map(|(row, booked, blocked, _)| (row, booked, blocked))
            .collect();
        Ok(Listing {
            items: shows_of(rows, prices)?,
            total,
        })
    }

    async fn show_by_id(&self, id: ShowId) -> Result<Option<Show>, StoreError> {
        let now = self.now();
        let found_show = with_conn!(&self.db, |conn| {
            let row: Option<(ShowRow, i64, i32)> = found(
                shows::table
                    .inner_join(movies::table)
                    .filter(shows::id.eq(id.0))
                    .select((
                        SHOW_COLUMNS,
                        taken_seats_of_show!(now),
                        blocked_seats_of_show(),
                    ))
                    .first(conn)
                    .await,
            )?;
            let Some(row) = row else {
                return Ok(None);
            };
            let prices = prices_of_shows!(conn, [id.0])?;
            Ok::<_, StoreError>(Some((row, prices)))
        })?;
        let Some((row, prices)) = found_show else {
            return Ok(None);
        };
        Ok(shows_of(vec![row], prices)?.pop())
    }
}

#[async_trait]
impl ShowRepository for DieselStore {
    async fn list_shows(
        &self,
        filter: ShowFilter,
        page: Page,
    ) -> Result<Listing<Show>, StoreError> {
        match self.live.list_shows(&filter, page).await {
            Some(listed) => listed,
            None => self.shows_where(&filter, page).await,
        }
    }

    async fn get_show(&self, id: ShowId) -> Result<Option<Show>, StoreError> {
        match self.live.show(id.0).await {
            Some(found) => found,
            None => self.show_by_id(id).await,
        }
    }

    async fn create_show(&self, show: NewShow) -> Result<Show, SaveShowError> {
        let show = &show;
        let result: Result<i64, TxError<SaveShowError>> = write_tx!(&self.db, |conn| {
            let (layout, screen_name, screen_id) = match &show.seating {
                Seating::Flat {
                    screen_name,
                    total_seats,
                } => (
                    Layout::flat(total_seats.get()),
                    screen_name.as_str().to_owned(),
                    None,
                ),
                Seating::Screen(screen) => {
                    // Shared: other shows may be put on it meanwhile, but its layout
                    // cannot change until this show exists and holds it.
                    let Some(row) = conn.screen_for_share(screen.0).await? else {
                        return refuse(SaveShowError::ScreenNotFound);
                    };
                    (layout_from_json(&row.layout)?, row.name, Some(row.id))
                }
            };
            rule(rules::check_prices(&layout, &show.prices))?;
            let row = NewShowRow {
                movie_id: show.movie_id.0,
                screen_name,
                start_time: to_naive(show.start_time.get()),
                total_seats: layout.capacity(),
                screen_id,
                currency: show.currency.as_str().to_owned(),
            };
            let inserted = diesel::insert_into(shows::table)
                .values(&row)
                .returning(shows::id)
                .get_result(conn)
                .await;
            let id = match inserted {
                Err(e) if foreign_key_violation(&e) => return refuse(SaveShowError::MovieNotFound),
                other => other?,
            };
            conn.replace_prices(id, &show.prices).await?;
            Ok(id)
        });
        let id = result.map_err(TxError::into_error)?;
        self.live.catalogue_changed();
        self.show_by_id(ShowId(id))
            .await?
            .ok_or(SaveShowError::ShowNotFound)
    }

    async fn update_show(&self, id: ShowId, patch: ShowPatch) -> Result<Show, SaveShowError> {
        let patch = &patch;
        let result: Result<(), TxError<SaveShowError>> = write_tx!(&self.db, |conn| {
            // Exclusive lock: waits for in-flight bookings (they hold it shared), so the
            // booked seats read below are final until we commit.
            let Some(locked) = conn.show_for_update(id.0).await? else {
                return refuse(SaveShowError::ShowNotFound);
            };
            rule(rules::check_flat_edit(locked.screen_id.is_some(), patch))?;
            let mut changes = ShowChanges {
                movie_id: patch.movie_id.map(|m| m.0),
                screen_name: patch.screen_name.as_ref().map(|n| n.as_str().to_owned()),
                start_time: patch.start_time.map(|t| to_naive(t.get())),
                ..Default::default()
            };
            // The seats the show ends up with, when the patch changes them. Naming the
            // screen the show is on already changes nothing (and takes no lock on it).
            let new_layout = match (patch.screen, patch.total_seats) {
                (Some(screen), _) if locked.screen_id != Some(screen.0) => {
                    let Some(row) = conn.screen_for_share(screen.0).await? else {
                        return refuse(SaveShowError::ScreenNotFound);
                    };
                    changes.screen_id = Some(row.id);
                    changes.screen_name = Some(row.name);
                    Some(layout_from_json(&row.layout)?)
                }
                (Some(_), _) => None,
                (None, Some(total)) => Some(Layout::flat(total.get())),
                (None, None) => None,
            };
            if let Some(layout) = &new_layout {
                changes.total_seats = Some(layout.capacity());
                // A held seat is kept as a booked one is: its hold may yet be confirmed.
                let taken = conn.claims_of(id.0, self.now()).await?.taken();
                rule(rules::check_layout_fits(layout, &taken))?;
            }
            if new_layout.is_some() || patch.prices.is_some() {
                let layout = match new_layout {
                    Some(layout) => layout,
                    None => conn.layout_of(locked.screen_id, locked.total_seats).await?,
                };
                let prices = match &patch.prices {
                    Some(prices) => prices.clone(),
                    None => conn.prices_of(id.0).await?,
                };
                rule(rules::check_prices(&layout, &prices))?;
                if patch.prices.is_some() {
                    conn.replace_prices(id.0, &prices).await?;
                }
            }
            if !changes.is_empty() {
                let updated = diesel::update(shows::table.find(id.0))
                    .set(&changes)
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
        self.live.show_changed(id.0);
        self.show_by_id(id)
            .await?
            .ok_or(SaveShowError::ShowNotFound)
    }

    async fn delete_show(&self, id: ShowId) -> Result<(), DeleteError> {
        let result: Result<(), TxError<DeleteError>> = write_tx!(&self.db, |conn| {
            if conn.show_for_update(id.0).await?.is_none() {
                return refuse(DeleteError::NotFound);
            }
            // Active holds count as bookings: their owners are paying for them.
            let taken = conn.claims_of(id.0, self.now()).await?.taken().len();
            rule(rules::check_deletable(taken as i64))?;
            // Claims of expired holds: seat_claims has no foreign key to cascade them.
            diesel::delete(seat_claims::table.filter(seat_claims::show_id.eq(id.0)))
                .execute(conn)
                .await?;
            diesel::delete(shows::table.find(id.0))
                .execute(conn)
                .await?;
            Ok(())
        });
        result.map_err(TxError::into_error)?;
        self.live.show_changed(id.0);
        Ok(())
    }

    async fn booked_seats(&self, id: ShowId) -> Result<Option<ShowSeats>, StoreError> {
        if let Some(found) = self.live.show_seats(id.0).await {
            return found;
        }
        let now = self.now();
        let found_show = with_conn!(&self.db, |conn| {
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
            let claims = conn.claims_of(id.0, now).await.map_err(db_error)?;
            let layout = conn
                .layout_of::<StoreError>(row.screen_id, row.total_seats)
                .await
                .map_err(TxError::into_error)?;
            let prices = conn
                .prices_of::<StoreError>(id.0)
                .await
                .map_err(TxError::into_error)?;
            Ok::<_, StoreError>(Some((row, claims, layout, prices)))
        })?;
        let Some((row, claims, layout, prices)) = found_show else {
            return Ok(None);
        };
        // Counted from the same reads, so the map and the count always agree.
        let blocked = layout.blocked_seats().len() as i32;
        let taken = (claims.booked.len() + claims.held.len()) as i64;
        let show = row.into_show(taken, blocked, prices)?;
        Ok(Some(ShowSeats {
            show,
            layout,
            booked: claims.booked,
            held: claims.held,
        }))
    }
}
