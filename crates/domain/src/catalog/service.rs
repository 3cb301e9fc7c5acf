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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shared::{MockClock, UserId};
    use chrono::TimeZone;
    use futures_executor::block_on;

    fn staff() -> AuthUser {
        AuthUser {
            id: UserId(1),
            username: "admin".into(),
            is_staff: true,
        }
    }

    fn plain() -> AuthUser {
        AuthUser {
            id: UserId(2),
            username: "john".into(),
            is_staff: false,
        }
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 15, 10, 0, 0).unwrap()
    }

    fn clock() -> Arc<dyn Clock> {
        let mut clock = MockClock::new();
        clock.expect_now().returning(now);
        Arc::new(clock)
    }

    fn show(total: i32) -> Show {
        Show {
            id: ShowId(3),
            movie: MovieRef {
                id: MovieId(1),
                title: Title::parse("Up").unwrap(),
            },
            screen_name: ScreenName::parse("Screen 1").unwrap(),
            start_time: StartTime::parse(now()).unwrap(),
            total_seats: TotalSeats::parse(total.into()).unwrap(),
            available_seats: total,
        }
    }

    fn service(movies: MockMovieRepository, shows: MockShowRepository) -> CatalogService {
        CatalogService::new(Arc::new(movies), Arc::new(shows), clock())
    }

    #[test]
    fn plain_user_cannot_edit_the_catalogue() {
        let svc = service(MockMovieRepository::new(), MockShowRepository::new());
        assert_eq!(
            block_on(svc.create_movie(&plain(), MovieInput::default())).unwrap_err(),
            EditCatalogError::Forbidden
        );
        assert_eq!(
            block_on(svc.update_show(&plain(), 1, ShowInput::default())).unwrap_err(),
            EditCatalogError::Forbidden
        );
        assert_eq!(
            block_on(svc.delete_movie(&plain(), 1)).unwrap_err(),
            EditCatalogError::Forbidden
        );
        assert_eq!(
            block_on(svc.delete_show(&plain(), 1)).unwrap_err(),
            EditCatalogError::Forbidden
        );
        assert_eq!(
            block_on(svc.create_show(&plain(), ShowInput::default())).unwrap_err(),
            EditCatalogError::Forbidden
        );
    }

    #[test]
    fn create_movie_requires_title_and_duration() {
        let svc = service(MockMovieRepository::new(), MockShowRepository::new());
        let err = block_on(svc.create_movie(&staff(), MovieInput::default())).unwrap_err();
        let EditCatalogError::Invalid(fields) = err else {
            panic!("expected Invalid, got {err:?}")
        };
        assert_eq!(
            fields.0.keys().collect::<Vec<_>>(),
            vec!["duration_minutes", "title"]
        );
    }

    #[test]
    fn create_movie_stores_trimmed_values() {
        let mut catalog = MockMovieRepository::new();
        catalog
            .expect_create_movie()
            .withf(|m| {
                m.title.as_str() == "Up"
                    && m.description.as_str().is_empty()
                    && m.duration_minutes.get() == 96
            })
            .returning(|m| {
                Ok(Movie {
                    id: MovieId(1),
                    title: m.title,
                    description: m.description,
                    duration_minutes: m.duration_minutes,
                })
            });
        let svc = service(catalog, MockShowRepository::new());
        let movie = block_on(svc.create_movie(
            &staff(),
            MovieInput {
                title: Some(" Up ".into()),
                description: None,
                duration_minutes: Some(96),
            },
        ))
        .unwrap();
        assert_eq!(movie.id, MovieId(1));
    }

    #[test]
    fn create_show_validates_seats_and_requires_fields() {
        let svc = service(MockMovieRepository::new(), MockShowRepository::new());
        let err = block_on(svc.create_show(
            &staff(),
            ShowInput {
                movie_id: Some(1),
                screen_name: Some("1".into()),
                start_time: Some(now()),
                total_seats: Some(10_001),
            },
        ))
        .unwrap_err();
        assert!(matches!(err, EditCatalogError::Invalid(f) if f.0.contains_key("total_seats")));
        let err = block_on(svc.create_show(&staff(), ShowInput::default())).unwrap_err();
        let EditCatalogError::Invalid(fields) = err else {
            panic!("expected Invalid")
        };
        assert_eq!(fields.0.len(), 4);
    }

    #[test]
    fn create_show_for_unknown_movie_is_a_field_error() {
        let mut catalog = MockShowRepository::new();
        catalog
            .expect_create_show()
            .returning(|_| Err(SaveShowError::MovieNotFound));
        let svc = service(MockMovieRepository::new(), catalog);
        let err = block_on(svc.create_show(
            &staff(),
            ShowInput {
                movie_id: Some(99),
                screen_name: Some("1".into()),
                start_time: Some(now()),
                total_seats: Some(10),
            },
        ))
        .unwrap_err();
        assert!(matches!(err, EditCatalogError::Invalid(f) if f.0.contains_key("movie_id")));
    }

    #[test]
    fn shrinking_below_a_booked_seat_is_a_conflict() {
        let mut catalog = MockShowRepository::new();
        catalog
            .expect_update_show()
            .returning(|_, _| Err(SaveShowError::SeatBooked { highest_booked: 40 }));
        let svc = service(MockMovieRepository::new(), catalog);
        let err = block_on(svc.update_show(
            &staff(),
            3,
            ShowInput {
                total_seats: Some(20),
                ..Default::default()
            },
        ))
        .unwrap_err();
        assert_eq!(err, EditCatalogError::SeatBooked { highest_booked: 40 });
    }

    #[test]
    fn deleting_what_has_confirmed_bookings_is_a_conflict() {
        let mut movies = MockMovieRepository::new();
        let mut shows = MockShowRepository::new();
        movies
            .expect_delete_movie()
            .returning(|_| Err(DeleteError::HasConfirmedBookings));
        shows
            .expect_delete_show()
            .returning(|_| Err(DeleteError::HasConfirmedBookings));
        let svc = service(movies, shows);
        assert_eq!(
            block_on(svc.delete_movie(&staff(), 1)).unwrap_err(),
            EditCatalogError::HasConfirmedBookings
        );
        assert_eq!(
            block_on(svc.delete_show(&staff(), 1)).unwrap_err(),
            EditCatalogError::HasConfirmedBookings
        );
    }

    #[test]
    fn upcoming_filter_uses_the_clock() {
        let mut catalog = MockShowRepository::new();
        catalog
            .expect_list_shows()
            .withf(|f, p| {
                f.starts_after == Some(now()) && f.movie == Some(MovieId(2)) && p.limit == 10
            })
            .returning(|_, _| {
                Ok(Listing {
                    items: vec![],
                    total: 0,
                })
            });
        let svc = service(MockMovieRepository::new(), catalog);
        block_on(svc.list_shows(ShowQuery {
            movie: Some(2),
            upcoming: true,
            limit: Some(10),
            ..Default::default()
        }))
        .unwrap();
    }

    #[test]
    fn date_filter_outside_storable_years_is_invalid() {
        let svc = service(MockMovieRepository::new(), MockShowRepository::new());
        let err = block_on(svc.list_shows(ShowQuery {
            date: NaiveDate::from_ymd_opt(262_142, 12, 31),
            ..Default::default()
        }))
        .unwrap_err();
        assert!(matches!(err, BrowseError::Invalid(f) if f.0.contains_key("date")));
    }

    #[test]
    fn list_with_bad_paging_is_invalid() {
        let svc = service(MockMovieRepository::new(), MockShowRepository::new());
        assert!(matches!(
            block_on(svc.list_movies(Some(0), None)),
            Err(BrowseError::Invalid(_))
        ));
    }

    #[test]
    fn shows_of_unknown_movie_is_not_found() {
        let mut catalog = MockMovieRepository::new();
        catalog.expect_get_movie().returning(|_| Ok(None));
        let svc = service(catalog, MockShowRepository::new());
        assert_eq!(
            block_on(svc.movie_shows(5, ShowQuery::default())).unwrap_err(),
            BrowseError::NotFound
        );
    }

    #[test]
    fn seat_map_marks_booked_seats() {
        let mut catalog = MockShowRepository::new();
        catalog
            .expect_booked_seats()
            .returning(|_| Ok(Some((show(5), vec![2, 5]))));
        let svc = service(MockMovieRepository::new(), catalog);
        let (_, seats) = block_on(svc.seat_map(3)).unwrap();
        let booked: Vec<bool> = seats.iter().map(|s| s.booked).collect();
        assert_eq!(booked, vec![false, true, false, false, true]);
        assert_eq!(seats.last().map(|s| s.seat_number), Some(5));
    }

    #[test]
    fn seat_map_of_unknown_show_is_not_found() {
        let mut catalog = MockShowRepository::new();
        catalog.expect_booked_seats().returning(|_| Ok(None));
        assert_eq!(
            block_on(service(MockMovieRepository::new(), catalog).seat_map(3)).unwrap_err(),
            BrowseError::NotFound
        );
    }
}
