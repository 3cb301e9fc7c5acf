//! What the catalogue needs from storage.

use async_trait::async_trait;
use thiserror::Error;

use super::model::*;
use crate::shared::{Listing, MovieId, Page, ScreenId, ShowId, StoreError};

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DeleteError {
    #[error("not found")]
    NotFound,
    #[error("has confirmed bookings or active holds")]
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
    #[error("screen not found")]
    ScreenNotFound,
    /// The prices do not match the layout's categories: some lack a price, or name no
    /// category of the layout.
    #[error("prices missing for {missing:?}, unknown categories {unknown:?}")]
    Prices {
        missing: Vec<String>,
        unknown: Vec<String>,
    },
    /// The new layout blocks seats that have a confirmed booking.
    #[error("seats {seats:?} are booked and blocked on the new layout")]
    BookedSeatsBlocked { seats: Vec<i32> },
    /// These fields of a show on a screen come from the screen.
    #[error("{fields:?} come from the show's screen")]
    SeatingFromScreen { fields: Vec<&'static str> },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a screen's change or deletion was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ScreenEditError {
    #[error("screen not found")]
    NotFound,
    /// A show uses the screen: its layout cannot change and it cannot go.
    #[error("a show uses this screen")]
    InUse,
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
    /// Creates the show, checking its prices against the layout
    /// ([`super::rules::check_prices`]) under a lock that keeps the screen's layout as read.
    async fn create_show(&self, show: NewShow) -> Result<Show, SaveShowError>;
    /// Applies the patch atomically, under a lock that keeps new bookings of the show
    /// out meanwhile: [`super::rules::check_flat_edit`], then for new seats
    /// [`super::rules::check_layout_fits`] against the confirmed bookings, and
    /// [`super::rules::check_prices`] on the prices the show ends up with.
    async fn update_show(&self, id: ShowId, patch: ShowPatch) -> Result<Show, SaveShowError>;
    /// Deletes a show (and its cancelled bookings), applying
    /// [`super::rules::check_deletable`] under the show's lock.
    async fn delete_show(&self, id: ShowId) -> Result<(), DeleteError>;
    /// The show, its layout and the seat numbers that have a confirmed booking.
    async fn booked_seats(&self, id: ShowId) -> Result<Option<ShowSeats>, StoreError>;
}

#[cfg_attr(test, mockall::automock)]
#[async_trait]
pub trait ScreenRepository: Send + Sync {
    /// Screens by name.
    async fn list_screens(&self, page: Page) -> Result<Listing<Screen>, StoreError>;
    async fn get_screen(&self, id: ScreenId) -> Result<Option<Screen>, StoreError>;
    async fn create_screen(&self, screen: NewScreen) -> Result<Screen, StoreError>;
    /// Applies the patch atomically. A new layout is checked with
    /// [`super::rules::check_screen_unused`] under a lock that keeps new shows of the
    /// screen out meanwhile; a new name becomes its shows' `screen_name` too.
    async fn update_screen(
        &self,
        id: ScreenId,
        patch: ScreenPatch,
    ) -> Result<Screen, ScreenEditError>;
    /// Deletes a screen no show uses ([`super::rules::check_screen_unused`]).
    async fn delete_screen(&self, id: ScreenId) -> Result<(), ScreenEditError>;
}
