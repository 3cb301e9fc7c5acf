//! The catalogue: anyone signed in browses movies, shows and seat maps; staff edit them.

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use thiserror::Error;

use crate::accounts::from_store_error;
use crate::model::*;
use crate::ports::*;

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
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    #[error("unexpected: {0}")]
    Unexpected(String),
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
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    #[error("unexpected: {0}")]
    Unexpected(String),
}

from_store_error!(BrowseError, EditCatalogError);

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
    catalog: Arc<dyn CatalogRepository>,
    clock: Arc<dyn Clock>,
}

impl CatalogService {
    pub fn new(catalog: Arc<dyn CatalogRepository>, clock: Arc<dyn Clock>) -> Self {
        Self { catalog, clock }
    }

    pub async fn list_movies(
        &self,
        limit: Option<i64>,
        offset: Option<i64>,
    ) -> Result<Listing<Movie>, BrowseError> {
        let page = Page::new(limit, offset).map_err(BrowseError::Invalid)?;
        Ok(self.catalog.list_movies(page).await?)
    }

    pub async fn movie(&self, id: i64) -> Result<Movie, BrowseError> {
        self.catalog
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
        let mut errors = Page::new(query.limit, query.offset)
            .err()
            .unwrap_or_default();
        let date = query.date.and_then(|d| errors.take("date", parse_date(d)));
        errors.into_result().map_err(BrowseError::Invalid)?;
        let page = Page::new(query.limit, query.offset).map_err(BrowseError::Invalid)?;
        let filter = ShowFilter {
            movie: query.movie.map(MovieId),
            date,
            starts_after: query.upcoming.then(|| self.clock.now()),
        };
        Ok(self.catalog.list_shows(filter, page).await?)
    }

    pub async fn show(&self, id: i64) -> Result<Show, BrowseError> {
        self.catalog
            .get_show(ShowId(id))
            .await?
            .ok_or(BrowseError::NotFound)
    }

    /// Every seat of the show, in order, with whether it is booked.
    pub async fn seat_map(&self, id: i64) -> Result<(Show, Vec<SeatState>), BrowseError> {
        let (show, booked) = self
            .catalog
            .booked_seats(ShowId(id))
            .await?
            .ok_or(BrowseError::NotFound)?;
        let mut booked = booked.into_iter().peekable();
        let seats = (1..=show.total_seats)
            .map(|seat_number| {
                // `booked` is ascending, so one merge pass marks every seat.
                let is_booked = booked
                    .next_if(|&b| b <= seat_number)
                    .is_some_and(|b| b == seat_number);
                while booked.next_if(|&b| b <= seat_number).is_some() {}
                SeatState {
                    seat_number,
                    booked: is_booked,
                }
            })
            .collect();
        Ok((show, seats))
    }

    pub async fn create_movie(
        &self,
        caller: &AuthUser,
        input: MovieInput,
    ) -> Result<Movie, EditCatalogError> {
        require_staff(caller)?;
        let mut errors = ValidationErrors::default();
        let title = required(
            &mut errors,
            "title",
            input.title.as_deref().map(parse_title),
        );
        let duration = required(
            &mut errors,
            "duration_minutes",
            input.duration_minutes.map(parse_duration),
        );
        let description = input
            .description
            .as_deref()
            .map(parse_description)
            .and_then(|r| errors.take("description", r))
            .unwrap_or_default();
        errors.into_result().map_err(EditCatalogError::Invalid)?;
        let (Some(title), Some(duration_minutes)) = (title, duration) else {
            return Err(EditCatalogError::Unexpected(
                "validation passed without values".into(),
            ));
        };
        Ok(self
            .catalog
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
            title: optional(
                &mut errors,
                "title",
                input.title.as_deref().map(parse_title),
            ),
            description: optional(
                &mut errors,
                "description",
                input.description.as_deref().map(parse_description),
            ),
            duration_minutes: optional(
                &mut errors,
                "duration_minutes",
                input.duration_minutes.map(parse_duration),
            ),
        };
        errors.into_result().map_err(EditCatalogError::Invalid)?;
        self.catalog
            .update_movie(MovieId(id), patch)
            .await?
            .ok_or(EditCatalogError::NotFound)
    }

    pub async fn delete_movie(&self, caller: &AuthUser, id: i64) -> Result<(), EditCatalogError> {
        require_staff(caller)?;
        Ok(self.catalog.delete_movie(MovieId(id)).await?)
    }

    pub async fn create_show(
        &self,
        caller: &AuthUser,
        input: ShowInput,
    ) -> Result<Show, EditCatalogError> {
        require_staff(caller)?;
        let mut errors = ValidationErrors::default();
        let movie_id = required(
            &mut errors,
            "movie_id",
            input.movie_id.map(|id| Ok(MovieId(id))),
        );
        let screen_name = required(
            &mut errors,
            "screen_name",
            input.screen_name.as_deref().map(parse_screen_name),
        );
        let start_time = required(
            &mut errors,
            "start_time",
            input.start_time.map(parse_start_time),
        );
        let total_seats = required(
            &mut errors,
            "total_seats",
            input.total_seats.map(parse_total_seats),
        );
        errors.into_result().map_err(EditCatalogError::Invalid)?;
        let (Some(movie_id), Some(screen_name), Some(start_time), Some(total_seats)) =
            (movie_id, screen_name, start_time, total_seats)
        else {
            return Err(EditCatalogError::Unexpected(
                "validation passed without values".into(),
            ));
        };
        Ok(self
            .catalog
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
            screen_name: optional(
                &mut errors,
                "screen_name",
                input.screen_name.as_deref().map(parse_screen_name),
            ),
            start_time: optional(
                &mut errors,
                "start_time",
                input.start_time.map(parse_start_time),
            ),
            total_seats: optional(
                &mut errors,
                "total_seats",
                input.total_seats.map(parse_total_seats),
            ),
        };
        errors.into_result().map_err(EditCatalogError::Invalid)?;
        Ok(self.catalog.update_show(ShowId(id), patch).await?)
    }

    pub async fn delete_show(&self, caller: &AuthUser, id: i64) -> Result<(), EditCatalogError> {
        require_staff(caller)?;
        Ok(self.catalog.delete_show(ShowId(id)).await?)
    }
}

fn require_staff(caller: &AuthUser) -> Result<(), EditCatalogError> {
    if caller.is_staff {
        Ok(())
    } else {
        Err(EditCatalogError::Forbidden)
    }
}

fn required<T>(
    errors: &mut ValidationErrors,
    field: &str,
    parsed: Option<Result<T, String>>,
) -> Option<T> {
    match parsed {
        None => {
            errors.add(field, "this field is required");
            None
        }
        Some(result) => errors.take(field, result),
    }
}

fn optional<T>(
    errors: &mut ValidationErrors,
    field: &str,
    parsed: Option<Result<T, String>>,
) -> Option<T> {
    parsed.and_then(|result| errors.take(field, result))
}

#[cfg(test)]
mod tests {
    use super::*;
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
                title: "Up".into(),
            },
            screen_name: "Screen 1".into(),
            start_time: now(),
            total_seats: total,
            available_seats: total,
        }
    }

    fn service(catalog: MockCatalogRepository) -> CatalogService {
        CatalogService::new(Arc::new(catalog), clock())
    }

    #[test]
    fn plain_user_cannot_edit_the_catalogue() {
        let svc = service(MockCatalogRepository::new());
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
        let svc = service(MockCatalogRepository::new());
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
        let mut catalog = MockCatalogRepository::new();
        catalog
            .expect_create_movie()
            .withf(|m| m.title == "Up" && m.description.is_empty() && m.duration_minutes == 96)
            .returning(|m| {
                Ok(Movie {
                    id: MovieId(1),
                    title: m.title,
                    description: m.description,
                    duration_minutes: m.duration_minutes,
                })
            });
        let svc = service(catalog);
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
        let svc = service(MockCatalogRepository::new());
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
        let mut catalog = MockCatalogRepository::new();
        catalog
            .expect_create_show()
            .returning(|_| Err(SaveShowError::MovieNotFound));
        let svc = service(catalog);
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
        let mut catalog = MockCatalogRepository::new();
        catalog
            .expect_update_show()
            .returning(|_, _| Err(SaveShowError::SeatBooked { highest_booked: 40 }));
        let svc = service(catalog);
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
        let mut catalog = MockCatalogRepository::new();
        catalog
            .expect_delete_movie()
            .returning(|_| Err(DeleteError::HasConfirmedBookings));
        catalog
            .expect_delete_show()
            .returning(|_| Err(DeleteError::HasConfirmedBookings));
        let svc = service(catalog);
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
        let mut catalog = MockCatalogRepository::new();
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
        let svc = service(catalog);
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
        let svc = service(MockCatalogRepository::new());
        let err = block_on(svc.list_shows(ShowQuery {
            date: NaiveDate::from_ymd_opt(262_142, 12, 31),
            ..Default::default()
        }))
        .unwrap_err();
        assert!(matches!(err, BrowseError::Invalid(f) if f.0.contains_key("date")));
    }

    #[test]
    fn list_with_bad_paging_is_invalid() {
        let svc = service(MockCatalogRepository::new());
        assert!(matches!(
            block_on(svc.list_movies(Some(0), None)),
            Err(BrowseError::Invalid(_))
        ));
    }

    #[test]
    fn shows_of_unknown_movie_is_not_found() {
        let mut catalog = MockCatalogRepository::new();
        catalog.expect_get_movie().returning(|_| Ok(None));
        let svc = service(catalog);
        assert_eq!(
            block_on(svc.movie_shows(5, ShowQuery::default())).unwrap_err(),
            BrowseError::NotFound
        );
    }

    #[test]
    fn seat_map_marks_booked_seats() {
        let mut catalog = MockCatalogRepository::new();
        catalog
            .expect_booked_seats()
            .returning(|_| Ok(Some((show(5), vec![2, 5]))));
        let svc = service(catalog);
        let (_, seats) = block_on(svc.seat_map(3)).unwrap();
        let booked: Vec<bool> = seats.iter().map(|s| s.booked).collect();
        assert_eq!(booked, vec![false, true, false, false, true]);
        assert_eq!(seats.last().map(|s| s.seat_number), Some(5));
    }

    #[test]
    fn seat_map_of_unknown_show_is_not_found() {
        let mut catalog = MockCatalogRepository::new();
        catalog.expect_booked_seats().returning(|_| Ok(None));
        assert_eq!(
            block_on(service(catalog).seat_map(3)).unwrap_err(),
            BrowseError::NotFound
        );
    }
}
