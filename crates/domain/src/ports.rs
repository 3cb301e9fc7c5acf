//! Ports: what the use cases need from the outside world, never how it is done.
//! Storage adapters implement the repositories; the HTTP adapter implements hashing,
//! tokens and the clock.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use thiserror::Error;

use crate::model::*;

/// A storage failure that is not a rule of the cinema.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum StoreError {
    /// The database is down, the pool is exhausted or a lock wait timed out: retry later.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    #[error("unexpected storage error: {0}")]
    Unexpected(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CreateUserError {
    #[error("username already taken")]
    UsernameTaken,
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait UserRepository: Send + Sync {
    async fn create_user(&self, user: NewUser) -> Result<User, CreateUserError>;
    /// Looks a user up by name, ignoring case.
    async fn find_by_username(&self, username: &str) -> Result<Option<User>, StoreError>;
    async fn find_by_id(&self, id: UserId) -> Result<Option<User>, StoreError>;
}

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

#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait CatalogRepository: Send + Sync {
    async fn list_movies(&self, page: Page) -> Result<Listing<Movie>, StoreError>;
    async fn get_movie(&self, id: MovieId) -> Result<Option<Movie>, StoreError>;
    async fn create_movie(&self, movie: NewMovie) -> Result<Movie, StoreError>;
    async fn update_movie(
        &self,
        id: MovieId,
        patch: MoviePatch,
    ) -> Result<Option<Movie>, StoreError>;
    /// Deletes a movie and its shows, unless one of them has a confirmed booking.
    async fn delete_movie(&self, id: MovieId) -> Result<(), DeleteError>;

    async fn list_shows(&self, filter: ShowFilter, page: Page)
        -> Result<Listing<Show>, StoreError>;
    async fn get_show(&self, id: ShowId) -> Result<Option<Show>, StoreError>;
    async fn create_show(&self, show: NewShow) -> Result<Show, SaveShowError>;
    /// Applies the patch atomically; refuses to drop a seat that has a confirmed booking.
    async fn update_show(&self, id: ShowId, patch: ShowPatch) -> Result<Show, SaveShowError>;
    /// Deletes a show (and its cancelled bookings), unless it has a confirmed booking.
    async fn delete_show(&self, id: ShowId) -> Result<(), DeleteError>;
    /// The show and the seat numbers that have a confirmed booking, ascending.
    async fn booked_seats(&self, id: ShowId) -> Result<Option<(Show, Vec<i32>)>, StoreError>;
}

/// Why a booking was refused. Shared by the port and the use case: the storage adapter
/// applies [`crate::rules::check_booking`] inside its transaction, under its locks.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum BookError {
    #[error("{0}")]
    Invalid(ValidationErrors),
    #[error("show not found")]
    ShowNotFound,
    #[error("the show has already started")]
    ShowStarted,
    #[error("seat(s) {seats:?} do not exist in this show of {total_seats} seats")]
    SeatOutOfRange { seats: Vec<i32>, total_seats: i32 },
    #[error("seat(s) {seats:?} already booked")]
    SeatTaken { seats: Vec<i32> },
    /// The caller's token names a user that no longer exists.
    #[error("user not found")]
    UserNotFound,
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    #[error("unexpected storage error: {0}")]
    Unexpected(String),
}

impl From<StoreError> for BookError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Unavailable(m) => Self::Unavailable(m),
            StoreError::Unexpected(m) => Self::Unexpected(m),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CancelError {
    /// Unknown, or someone else's: the caller cannot tell which.
    #[error("booking not found")]
    NotFound,
    #[error("booking already cancelled")]
    AlreadyCancelled,
    #[error("the show has already started")]
    ShowStarted,
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    #[error("unexpected storage error: {0}")]
    Unexpected(String),
}

impl From<StoreError> for CancelError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Unavailable(m) => Self::Unavailable(m),
            StoreError::Unexpected(m) => Self::Unexpected(m),
        }
    }
}

#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait BookingRepository: Send + Sync {
    /// Books every seat or none, in one transaction, so that of any number of concurrent
    /// requests for a seat exactly one succeeds.
    async fn book_seats(
        &self,
        show: ShowId,
        user: &AuthUser,
        seats: &SeatSelection,
        now: DateTime<Utc>,
    ) -> Result<Vec<Booking>, BookError>;
    /// The user's bookings, newest first.
    async fn list_bookings(
        &self,
        user: &AuthUser,
        status: Option<BookingStatus>,
        page: Page,
    ) -> Result<Listing<Booking>, StoreError>;
    async fn get_booking(&self, id: BookingId) -> Result<Option<Booking>, StoreError>;
    /// Cancels the user's booking atomically, applying [`crate::rules::check_cancel`].
    async fn cancel_booking(
        &self,
        id: BookingId,
        user: &AuthUser,
        now: DateTime<Utc>,
    ) -> Result<Booking, CancelError>;
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("password hashing failed: {0}")]
pub struct HashError(pub String);

#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait PasswordHasher: Send + Sync {
    async fn hash(&self, password: &Password) -> Result<PasswordHash, HashError>;
    /// Checks a password. With no hash it does the same work and answers false, so an
    /// unknown user takes as long to refuse as a wrong password.
    async fn verify(&self, password: &Password, hash: Option<PasswordHash>) -> bool;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum TokenError {
    #[error("token expired")]
    Expired,
    #[error("invalid token")]
    Invalid,
    #[error("wrong kind of token")]
    WrongType,
}

#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait TokenService: Send + Sync {
    fn issue(&self, user: &AuthUser) -> Result<TokenPair, TokenError>;
    fn issue_access(&self, user: &AuthUser) -> Result<AccessToken, TokenError>;
    fn verify_access(&self, token: &str) -> Result<AuthUser, TokenError>;
    fn verify_refresh(&self, token: &str) -> Result<AuthUser, TokenError>;
}

#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}
