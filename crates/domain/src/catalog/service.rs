//! The catalogue use cases: browsing movies, shows and seat maps, and the staff's edits.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use thiserror::Error;

use super::model::*;
use super::ports::*;
use super::rules;
use crate::accounts::AuthUser;
use crate::shared::{Clock, Listing, MovieId, Page, ShowId, StoreError, ValidationErrors};

/// A movie as submitted: every field optional so one type serves create and patch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MovieInput {
    pub title: Option<String>,
    pub description: Option<String>,
    pub duration_minutes: Option<i64>,
}

/// A show as submitted: every field optional so one type serves create and patch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShowInput {
    pub movie_id: Option<i64>,
    pub screen_name: Option<String>,
    pub start_time: Option<DateTime<Utc>>,
    pub total_seats: Option<i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShowQuery {
    pub movie: Option<i64>,
    pub date: Option<NaiveDate>,
    pub upcoming: bool,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum BrowseError {
    #[error("invalid query: {0}")]
    Invalid(ValidationErrors),
    #[error("not found")]
    NotFound,
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EditCatalogError {
    #[error("only staff may edit the catalogue")]
    Forbidden,
    #[error("invalid input: {0}")]
    Invalid(ValidationErrors),
    #[error("not found")]
    NotFound,
    #[error("it has confirmed bookings")]
    HasConfirmedBookings,
    #[error("seat {highest_booked} has a confirmed booking")]
    SeatBooked { highest_booked: i32 },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<DeleteError> for EditCatalogError {
    fn from(error: DeleteError) -> Self {
        match error {
            DeleteError::NotFound => Self::NotFound,
            DeleteError::HasConfirmedBookings => Self::HasConfirmedBookings,
            DeleteError::Store(store) => store.into(),
        }
    }
}

impl From<SaveShowError> for EditCatalogError {
    fn from(error: SaveShowError) -> Self {
        match error {
            SaveShowError::ShowNotFound => Self::NotFound,
            SaveShowError::MovieNotFound => Self::Invalid(ValidationErrors::single(
                "movie_id",
                "no movie with this id",
            )),
            SaveShowError::SeatBooked { highest_booked } => Self::SeatBooked { highest_booked },
            SaveShowError::Store(store) => store.into(),
        }
    }
}

#[derive(Clone)]
pub struct CatalogService {
    movies: Arc<dyn MovieRepository>,
    shows: Arc<dyn ShowRepository>,
    clock: Arc<dyn Clock>,
}

impl CatalogService {
    pub fn new(
        movies: Arc<dyn MovieRepository>,
        shows: Arc<dyn ShowRepository>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            movies,
            shows,
            clock,
        }
    }

    pub async fn list_movies(
        &self,
        limit: Option<i64>,
        offset: Option<i64>,
    ) -> Result<Listing<Movie>, BrowseError> {
        let page = Page::new(limit, offset).map_err(BrowseError::Invalid)?;
        Ok(self.movies.list_movies(page).await?)
    }

    pub async fn movie(&self, id: i64) -> Result<Movie, BrowseError> {
        self.movies
            .get_movie(MovieId(id))
            .await?
            .ok_or(BrowseError::NotFound)
    }

    /// The shows of one movie; 404 when the movie does not exist.
    pub async fn movie_shows(
        &self,
        id: i64,
        query: ShowQuery,
    ) -> Result<Listing<Show>, BrowseError> {
        self.movie(id).await?;
        self.list_shows(ShowQuery {
            movie: Some(id),
            ..query
        })
        .await
    }

    pub async fn list_shows(&self, query: ShowQuery) -> Result<Listing<Show>, BrowseError> {
        let mut errors = ValidationErrors::default();
        let page = Page::collect(&mut errors, query.limit, query.offset);
        let date = errors.optional("date", query.date.map(ShowDate::parse));
        errors.into_result().map_err(BrowseError::Invalid)?;
        let filter = ShowFilter {
            movie: query.movie.map(MovieId),
            date,
            starts_after: query.upcoming.then(|| self.clock.now()),
        };
        Ok(self.shows.list_shows(filter, page).await?)
    }

    pub async fn show(&self, id: i64) -> Result<Show, BrowseError> {
        self.shows
            .get_show(ShowId(id))
            .await?
            .ok_or(BrowseError::NotFound)
    }

    /// Every seat of the show, in order, with whether it is booked.
    pub async fn seat_map(&self, id: i64) -> Result<(Show, Vec<SeatState>), BrowseError> {
        let (show, booked) = self
            .shows
            .booked_seats(ShowId(id))
            .await?
            .ok_or(BrowseError::NotFound)?;
        let seats = rules::seat_map(show.total_seats, &booked);
        Ok((show, seats))
    }

    pub async fn create_movie(
        &self,
        caller: &AuthUser,
        input: MovieInput,
    ) -> Result<Movie, EditCatalogError> {
        require_staff(caller)?;
        let mut errors = ValidationErrors::default();
        let title = errors.required("title", input.title.as_deref().map(Title::parse));
        let duration_minutes = errors.required(
            "duration_minutes",
            input.duration_minutes.map(DurationMinutes::parse),
        );
        let description = errors
            .optional(
                "description",
                input.description.as_deref().map(Description::parse),
            )
            .unwrap_or_default();
        let (Some(title), Some(duration_minutes)) = (title, duration_minutes) else {
            return Err(EditCatalogError::Invalid(errors));
        };
        errors.into_result().map_err(EditCatalogError::Invalid)?;
        Ok(self
            .movies
            .create_movie(NewMovie {
                title,
                description,
                duration_minutes,
            })
            .await?)
    }

    pub async fn update_movie(
        &self,
        caller: &AuthUser,
        id: i64,
        input: MovieInput,
    ) -> Result<Movie, EditCatalogError> {
        require_staff(caller)?;
        let mut errors = ValidationErrors::default();
        let patch = MoviePatch {
            title: errors.optional("title", input.title.as_deref().map(Title::parse)),
            description: errors.optional(
                "description",
                input.description.as_deref().map(Description::parse),
            ),
            duration_minutes: errors.optional(
                "duration_minutes",
                input.duration_minutes.map(DurationMinutes::parse),
            ),
        };
        errors.into_result().map_err(EditCatalogError::Invalid)?;
        self.movies
            .update_movie(MovieId(id), patch)
            .await?
            .ok_or(EditCatalogError::NotFound)
    }

    pub async fn delete_movie(&self, caller: &AuthUser, id: i64) -> Result<(), EditCatalogError> {
        require_staff(caller)?;
        Ok(self.movies.delete_movie(MovieId(id)).await?)
    }

    pub async fn create_show(
        &self,
        caller: &AuthUser,
        input: ShowInput,
    ) -> Result<Show, EditCatalogError> {
        require_staff(caller)?;
        let mut errors = ValidationErrors::default();
        let movie_id = errors.required("movie_id", input.movie_id.map(|id| Ok(MovieId(id))));
        let screen_name = errors.required(
            "screen_name",
            input.screen_name.as_deref().map(ScreenName::parse),
        );
        let start_time = errors.required("start_time", input.start_time.map(StartTime::parse));
        let total_seats = errors.required("total_seats", input.total_seats.map(TotalSeats::parse));
        let (Some(movie_id), Some(screen_name), Some(start_time), Some(total_seats)) =
            (movie_id, screen_name, start_time, total_seats)
        else {
            return Err(EditCatalogError::Invalid(errors));
        };
        Ok(self
            .shows
            .create_show(NewShow {
                movie_id,
                screen_name,
                start_time,
                total_seats,
            })
            .await?)
    }

    pub async fn update_show(
        &self,
        caller: &AuthUser,
        id: i64,
        input: ShowInput,
    ) -> Result<Show, EditCatalogError> {
        require_staff(caller)?;
        let mut errors = ValidationErrors::default();
        let patch = ShowPatch {
            movie_id: input.movie_id.map(MovieId),
            screen_name: errors.optional(
                "screen_name",
                input.screen_name.as_deref().map(ScreenName::parse),
            ),
            start_time: errors.optional("start_time", input.start_time.map(StartTime::parse)),
            total_seats: errors.optional("total_seats", input.total_seats.map(TotalSeats::parse)),
        };
        errors.into_result().map_err(EditCatalogError::Invalid)?;
        Ok(self.shows.update_show(ShowId(id), patch).await?)
    }

    pub async fn delete_show(&self, caller: &AuthUser, id: i64) -> Result<(), EditCatalogError> {
        require_staff(caller)?;
        Ok(self.shows.delete_show(ShowId(id)).await?)
    }
}

fn require_staff(caller: &AuthUser) -> Result<(), EditCatalogError> {
    if caller.is_staff {
        Ok(())
    } else {
        Err(EditCatalogError::Forbidden)
    }
}
