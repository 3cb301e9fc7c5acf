//! What the seat feed reads from the database: the catalogue of shows, one show with its
//! layout, and the live claims of some shows.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use domain::{Layout, Show, StoreError};

use crate::db::{db_error, Database};
use crate::repo::SeatingOps;
use crate::repo::{blocked_seats_of_show, prices_of_shows, shows_of, SHOW_COLUMNS};
use crate::rows::{prices_by_show, ShowRow};
use crate::schema::{movies, seat_claims, show_prices, shows};
use crate::tx::{with_conn, TxError};

/// A claim as the feed keeps it: booked, or held until an instant.
pub(crate) type ClaimRow = (i64, i32, Option<NaiveDateTime>);

/// Every show with its prices, in start-time order, its available seats counting only
/// blocked seats (claims are the feed's to count).
pub(crate) async fn catalogue(db: &Database) -> Result<Vec<Show>, StoreError> {
    let (rows, prices) = with_conn!(db, |conn| {
        let rows: Vec<(ShowRow, i32)> = shows::table
            .inner_join(movies::table)
            .order((shows::start_time.asc(), shows::id.asc()))
            .select((SHOW_COLUMNS, blocked_seats_of_show()))
            .load(conn)
            .await
            .map_err(db_error)?;
        let prices: Vec<(i64, String, i32)> = show_prices::table
            .select((
                show_prices::show_id,
                show_prices::category,
                show_prices::price,
            ))
            .load(conn)
            .await
            .map_err(db_error)?;
        let prices = prices_by_show(prices)?;
        Ok::<_, StoreError>((rows, prices))
    })?;
    let rows = rows
        .into_iter()
        .map(|(row, blocked)| (row, 0, blocked))
        .collect();
    shows_of(rows, prices)
}

/// One show (its available seats counting only blocked ones) and its layout.
pub(crate) async fn show(db: &Database, id: i64) -> Result<Option<(Show, Layout)>, StoreError> {
    let found = with_conn!(db, |conn| {
        let row: Option<(ShowRow, i32)> = crate::db::found(
            shows::table
                .inner_join(movies::table)
                .filter(shows::id.eq(id))
                .select((SHOW_COLUMNS, blocked_seats_of_show()))
                .first(conn)
                .await,
        )?;
        let Some((row, blocked)) = row else {
            return Ok(None);
        };
        let layout = conn
            .layout_of::<StoreError>(row.screen_id, row.total_seats)
            .await
            .map_err(TxError::into_error)?;
        let prices = prices_of_shows!(conn, [id])?;
        Ok::<_, StoreError>(Some((row, blocked, layout, prices)))
    })?;
    let Some((row, blocked, layout, prices)) = found else {
        return Ok(None);
    };
    let show = shows_of(vec![(row, 0, blocked)], prices)?
        .pop()
        .ok_or_else(|| StoreError::Unexpected(format!("show {id} vanished")))?;
    Ok(Some((show, layout)))
}

/// The claims of these shows unexpired at `now`, by show.
pub(crate) async fn claims(
    db: &Database,
    ids: &[i64],
    now: NaiveDateTime,
) -> Result<HashMap<i64, Vec<(i32, Option<NaiveDateTime>)>>, StoreError> {
    let mut by_show: HashMap<i64, Vec<_>> = ids.iter().map(|id| (*id, Vec::new())).collect();
    // Bounded IN lists: SQLite allows 32,766 parameters, and a huge list plans badly.
    for chunk in ids.chunks(500) {
        let rows: Vec<ClaimRow> = with_conn!(db, |conn| {
            seat_claims::table
                .filter(seat_claims::show_id.eq_any(chunk))
                .filter(
                    seat_claims::expires_at
                        .is_null()
                        .or(seat_claims::expires_at.gt(now)),
                )
                .select((
                    seat_claims::show_id,
                    seat_claims::seat_number,
                    seat_claims::expires_at,
                ))
                .load(conn)
                .await
                .map_err(db_error)
        })?;
        for (show, seat, expires_at) in rows {
            by_show.entry(show).or_default().push((seat, expires_at));
        }
    }
    Ok(by_show)
}
