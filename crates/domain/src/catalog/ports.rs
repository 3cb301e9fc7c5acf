//! What the catalogue needs from storage.

use async_trait::async_trait;
use thiserror::Error;

use super::model::*;
use crate::shared::{Listing, MovieId, Page, ShowId, StoreError};

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DeleteError {
    #[error("not found")]
    NotFound,
    #[error("has confirmed bookings")]
    HasConfirmedBookings,
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SaveShowError {
    #[error("show not found")]
    ShowNotFound,
    #[error("movie not found")]
    MovieNotFound,
    /// Shrinking the show would drop a seat that has a confirmed booking.
    #[error("seat {highest_booked} is booked")]
    SeatBooked { highest_booked: i32 },
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[cfg_attr(test, mockall::automock)]
#[async_trait]
pub trait MovieRepository: Send + Sync {
    async fn list_movies(&self, page: Page) -> Result<Listing<Movie>, StoreError>;
    async fn get_movie(&self, id: MovieId) -> Result<Option<Movie>, StoreError>;
    async fn create_movie(&self, movie: NewMovie) -> Result<Movie, StoreError>;
    async fn update_movie(
        &self,
        id: MovieId,
        patch: MoviePatch,
    ) -> Result<Option<Movie>, StoreError>;
    /// Deletes a movie and its shows, applying [`super::rules::check_deletable`] under
    /// locks that keep new bookings of its shows out meanwhile.
    async fn delete_movie(&self, id: MovieId) -> Result<(), DeleteError>;
}

#[cfg_attr(test, mockall::automock)]
#[async_trait]
pub trait ShowRepository: Send + Sync {
    async fn list_shows(&self, filter: ShowFilter, page: Page)
        -> Result<Listing<Show>, StoreError>;
    async fn get_show(&self, id: ShowId) -> Result<Option<Show>, StoreError>;
    async fn create_show(&self, show: NewShow) -> Result<Show, SaveShowError>;
    /// Applies the patch atomically, applying [`super::rules::check_total_seats`] to a
    /// new seat count under a lock that keeps new bookings of the show out meanwhile.
    async fn update_show(&self, id: ShowId, patch: ShowPatch) -> Result<Show, SaveShowError>;
    /// Deletes a show (and its cancelled bookings), applying
    /// [`super::rules::check_deletable`] under the show's lock.
    async fn delete_show(&self, id: ShowId) -> Result<(), DeleteError>;
    /// The show and the seat numbers that have a confirmed booking, ascending.
    async fn booked_seats(&self, id: ShowId) -> Result<Option<(Show, Vec<i32>)>, StoreError>;
}
