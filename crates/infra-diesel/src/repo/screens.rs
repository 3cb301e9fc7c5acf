//! Screens and their layouts. A change of layout, or a deletion, locks the screen and
//! counts the shows on it under that lock: creating or moving a show onto a screen takes
//! the same lock shared, so no show can slip in between the rule's check and the change.

use async_trait::async_trait;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use domain::catalog::rules;
use domain::*;

use super::DieselStore;
use crate::db::{db_error, found};
use crate::rows::{layout_from_json, listing, LayoutColumns, ScreenRow};
use crate::schema::{screens, shows};
use crate::sql::{BackendOps, SCREEN_COLUMNS};
use crate::tx::{refuse, rule, with_conn, write_tx, TxError};

#[async_trait]
impl ScreenRepository for DieselStore {
    async fn list_screens(&self, page: Page) -> Result<Listing<Screen>, StoreError> {
        let (rows, total): (Vec<ScreenRow>, i64) = with_conn!(&self.db, |conn| {
            let total: i64 = screens::table
                .count()
                .get_result(conn)
                .await
                .map_err(db_error)?;
            let rows = screens::table
                .order((screens::name.asc(), screens::id.asc()))
                .limit(page.limit)
                .offset(page.offset)
                .select(SCREEN_COLUMNS)
                .load(conn)
                .await
                .map_err(db_error)?;
            Ok::<_, StoreError>((rows, total))
        })?;
        listing(rows, total)
    }

    async fn get_screen(&self, id: ScreenId) -> Result<Option<Screen>, StoreError> {
        let row: Option<ScreenRow> = with_conn!(&self.db, |conn| {
            found(
                screens::table
                    .find(id.0)
                    .select(SCREEN_COLUMNS)
                    .first(conn)
                    .await,
            )
        })?;
        row.map(Screen::try_from).transpose()
    }

    async fn create_screen(&self, screen: NewScreen) -> Result<Screen, StoreError> {
        let columns = LayoutColumns::of(&screen.layout)?;
        let name = screen.name.as_str();
        let created: ScreenRow = with_conn!(&self.db, |conn| {
            diesel::insert_into(screens::table)
                .values((screens::name.eq(name), &columns))
                .returning(SCREEN_COLUMNS)
                .get_result(conn)
                .await
                .map_err(db_error)
        })?;
        Screen::try_from(created)
    }

    async fn update_screen(
        &self,
        id: ScreenId,
        patch: ScreenPatch,
    ) -> Result<Screen, ScreenEditError> {
        let patch = &patch;
        let result: Result<ScreenRow, TxError<ScreenEditError>> = write_tx!(&self.db, |conn| {
            let Some(current) = conn.screen_for_update(id.0).await? else {
                return refuse(ScreenEditError::NotFound);
            };
            // The same layout again is no change, in use or not.
            let new_layout = match &patch.layout {
                Some(layout) if *layout != layout_from_json(&current.layout)? => Some(layout),
                _ => None,
            };
            if let Some(layout) = new_layout {
                let using: i64 = shows::table
                    .filter(shows::screen_id.eq(id.0))
                    .count()
                    .get_result(conn)
                    .await?;
                rule(rules::check_screen_unused(using))?;
                diesel::update(screens::table.find(id.0))
                    .set(&LayoutColumns::of(layout)?)
                    .execute(conn)
                    .await?;
            }
            if let Some(name) = &patch.name {
                diesel::update(screens::table.find(id.0))
                    .set(screens::name.eq(name.as_str()))
                    .execute(conn)
                    .await?;
                // A show on a screen is named after it.
                diesel::update(shows::table.filter(shows::screen_id.eq(id.0)))
                    .set(shows::screen_name.eq(name.as_str()))
                    .execute(conn)
                    .await?;
            }
            Ok(screens::table
                .find(id.0)
                .select(SCREEN_COLUMNS)
                .first(conn)
                .await?)
        });
        let row = result.map_err(TxError::into_error)?;
        // Its shows are named after it.
        self.live.catalogue_changed();
        Ok(Screen::try_from(row)?)
    }

    async fn delete_screen(&self, id: ScreenId) -> Result<(), ScreenEditError> {
        let result: Result<(), TxError<ScreenEditError>> = write_tx!(&self.db, |conn| {
            if conn.screen_for_update(id.0).await?.is_none() {
                return refuse(ScreenEditError::NotFound);
            }
            let using: i64 = shows::table
                .filter(shows::screen_id.eq(id.0))
                .count()
                .get_result(conn)
                .await?;
            rule(rules::check_screen_unused(using))?;
            diesel::delete(screens::table.find(id.0))
                .execute(conn)
                .await?;
            Ok(())
        });
        result.map_err(TxError::into_error)
    }
}
