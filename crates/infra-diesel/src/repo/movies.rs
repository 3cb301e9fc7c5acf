//! Movies. Deleting one deletes its shows, so it locks them as a show edit would.

use async_trait::async_trait;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use domain::catalog::rules;
use domain::*;

use super::DieselStore;
use crate::db::{db_error, found};
use crate::rows::{listing, MovieChanges, MovieRow, NewMovieRow};
use crate::schema::{movies, seat_claims};
use crate::sql::BackendOps;
use crate::tx::{refuse, rule, with_conn, write_tx, TxError};

#[async_trait]
impl MovieRepository for DieselStore {
    async fn list_movies(&self, page: Page) -> Result<Listing<Movie>, StoreError> {
        let (rows, total): (Vec<MovieRow>, i64) = with_conn!(&self.db, |conn| {
            let total: i64 = movies::table
                .count()
                .get_result(conn)
                .await
                .map_err(db_error)?;
            let rows = movies::table
                .order((movies::title.asc(), movies::id.asc()))
                .limit(page.limit)
                .offset(page.offset)
                .select(MovieRow::as_select())
                .load(conn)
                .await
                .map_err(db_error)?;
            Ok::<_, StoreError>((rows, total))
        })?;
        listing(rows, total)
    }

    async fn get_movie(&self, id: MovieId) -> Result<Option<Movie>, StoreError> {
        let row: Option<MovieRow> = with_conn!(&self.db, |conn| {
            found(
                movies::table
                    .find(id.0)
                    .select(MovieRow::as_select())
                    .first(conn)
                    .await,
            )
        })?;
        row.map(Movie::try_from).transpose()
    }

    async fn create_movie(&self, movie: NewMovie) -> Result<Movie, StoreError> {
        let row = NewMovieRow::from(movie);
        let created: Result<MovieRow, TxError<StoreError>> = write_tx!(&self.db, |conn| {
            Ok(diesel::insert_into(movies::table)
                .values(&row)
                .returning(MovieRow::as_returning())
                .get_result(conn)
                .await?)
        });
        Movie::try_from(created.map_err(TxError::into_error)?)
    }

    async fn update_movie(
        &self,
        id: MovieId,
        patch: MoviePatch,
    ) -> Result<Option<Movie>, StoreError> {
        if patch.is_empty() {
            return self.get_movie(id).await;
        }
        let changes = MovieChanges::from(patch);
        let row: Result<Option<MovieRow>, TxError<StoreError>> = write_tx!(&self.db, |conn| {
            Ok(diesel::update(movies::table.find(id.0))
                .set(&changes)
                .returning(MovieRow::as_returning())
                .get_result(conn)
                .await
                .optional()?)
        });
        let row = row.map_err(TxError::into_error)?;
        // Its shows' titles changed.
        self.live.catalogue_changed();
        row.map(Movie::try_from).transpose()
    }

    async fn delete_movie(&self, id: MovieId) -> Result<(), DeleteError> {
        let result: Result<Vec<i64>, TxError<DeleteError>> = write_tx!(&self.db, |conn| {
            // Lock the movie's shows first: in-flight bookings of them finish, and new
            // ones wait, so the count below cannot miss a booking.
            let show_ids = conn.movie_shows_for_update(id.0).await?;
            // Seats booked or in an unexpired hold, as for deleting one show.
            let now = self.now();
            let taken: i64 = seat_claims::table
                .filter(seat_claims::show_id.eq_any(&show_ids))
                .filter(
                    seat_claims::expires_at
                        .is_null()
                        .or(seat_claims::expires_at.gt(now)),
                )
                .count()
                .get_result(conn)
                .await?;
            rule(rules::check_deletable(taken))?;
            // Claims of expired holds: seat_claims has no foreign key to cascade them.
            diesel::delete(seat_claims::table.filter(seat_claims::show_id.eq_any(&show_ids)))
                .execute(conn)
                .await?;
            let deleted = diesel::delete(movies::table.find(id.0))
                .execute(conn)
                .await?;
            if deleted == 0 {
                return refuse(DeleteError::NotFound);
            }
            Ok(show_ids)
        });
        for show in result.map_err(TxError::into_error)? {
            self.live.show_changed(show);
        }
        self.live.catalogue_changed();
        Ok(())
    }
}
