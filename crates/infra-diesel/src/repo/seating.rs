//! Reads and writes of a show's seating that several repositories make, inside their
//! transactions or not: its layout, its prices, its taken seats. They are the same on
//! both backends, so they are written once and the macro below implements them for each
//! connection type, as `with_conn!` expands a body once per backend.

use async_trait::async_trait;
use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use domain::{Layout, Prices, StoreError};

use crate::db::SqliteConn;
use crate::rows::{layout_from_json, price_rows, prices_from_rows};
use crate::schema::{screens, seat_claims, show_prices};
use crate::tx::TxError;

/// A show's taken seats, each list ascending.
#[derive(Debug, Default)]
pub(crate) struct Claims {
    pub booked: Vec<i32>,
    pub held: Vec<i32>,
}

impl Claims {
    /// Every taken seat, ascending.
    pub fn taken(&self) -> Vec<i32> {
        let mut all = [self.booked.as_slice(), self.held.as_slice()].concat();
        all.sort_unstable();
        all
    }
}

#[async_trait]
pub(crate) trait SeatingOps {
    /// The layout a show's seats follow: its screen's, or one flat row of `total_seats`.
    async fn layout_of<E: From<StoreError> + Send>(
        &mut self,
        screen: Option<i64>,
        total_seats: i32,
    ) -> Result<Layout, TxError<E>>;
    /// What the show charges per category.
    async fn prices_of<E: From<StoreError> + Send>(
        &mut self,
        show: i64,
    ) -> Result<Prices, TxError<E>>;
    /// The show's taken seats at `now`, each ascending: those with a confirmed booking,
    /// and those in an unexpired hold.
    async fn claims_of(&mut self, show: i64, now: NaiveDateTime) -> QueryResult<Claims>;
    /// Replaces every price of the show.
    async fn replace_prices(&mut self, show: i64, prices: &Prices) -> QueryResult<()>;
}

macro_rules! seating_ops {
    ($($conn:ty),*) => {$(
        #[async_trait]
        impl SeatingOps for $conn {
            async fn layout_of<E: From<StoreError> + Send>(
                &mut self,
                screen: Option<i64>,
                total_seats: i32,
            ) -> Result<Layout, TxError<E>> {
                let Some(screen) = screen else {
                    return Ok(Layout::flat(total_seats));
                };
                let raw: String = screens::table
                    .find(screen)
                    .select(screens::layout)
                    .first(self)
                    .await?;
                Ok(layout_from_json(&raw)?)
            }

            async fn prices_of<E: From<StoreError> + Send>(
                &mut self,
                show: i64,
            ) -> Result<Prices, TxError<E>> {
                let rows: Vec<(String, i32)> = show_prices::table
                    .filter(show_prices::show_id.eq(show))
                    .select((show_prices::category, show_prices::price))
                    .load(self)
                    .await?;
                Ok(prices_from_rows(show, rows)?)
            }

            async fn claims_of(&mut self, show: i64, now: NaiveDateTime) -> QueryResult<Claims> {
                let rows: Vec<(i32, Option<NaiveDateTime>)> = seat_claims::table
                    .filter(seat_claims::show_id.eq(show))
                    .filter(
                        seat_claims::expires_at
                            .is_null()
                            .or(seat_claims::expires_at.gt(now)),
                    )
                    .order(seat_claims::seat_number.asc())
                    .select((seat_claims::seat_number, seat_claims::expires_at))
                    .load(self)
                    .await?;
                let mut claims = Claims::default();
                for (seat, expires_at) in rows {
                    match expires_at {
                        None => claims.booked.push(seat),
                        Some(_) => claims.held.push(seat),
                    }
                }
                Ok(claims)
            }

            async fn replace_prices(&mut self, show: i64, prices: &Prices) -> QueryResult<()> {
                diesel::delete(show_prices::table.filter(show_prices::show_id.eq(show)))
                    .execute(self)
                    .await?;
                // One row at a time: SQLite has no batch insert here, and a show has few
                // categories.
                for row in price_rows(show, prices) {
                    diesel::insert_into(show_prices::table)
                        .values(&row)
                        .execute(self)
                        .await?;
                }
                Ok(())
            }
        }
    )*};
}

seating_ops!(AsyncPgConnection, SqliteConn);
