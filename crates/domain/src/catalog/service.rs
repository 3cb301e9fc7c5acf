//! The catalogue use cases: browsing movies, screens, shows and seat maps, and the
//! staff's edits.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use thiserror::Error;

use super::layout::{Layout, RowInput};
use super::model::*;
use super::ports::*;
use super::rules;
use crate::accounts::AuthUser;
use crate::shared::{
    Clock, Listing, MovieId, Page, ScreenId, ShowId, StoreError, ValidationErrors,
};

/// A movie as submitted: every field optional so one type serves create and patch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MovieInput {
    pub title: Option<String>,
    pub description: Option<String>,
    pub duration_minutes: Option<i64>,
}

/// A show as submitted: every field optional so one type serves create and patch. Its
/// seats come from `screen_id`, or from `screen_name` and `total_seats` (a flat show).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShowInput {
    pub movie_id: Option<i64>,
    pub screen_name: Option<String>,
    pub start_time: Option<DateTime<Utc>>,
    pub total_seats: Option<i64>,
    pub screen_id: Option<i64>,
    /// Category -> price in minor units of the show's currency.
    pub prices: Option<BTreeMap<String, i64>>,
}

/// A screen as submitted, its layout in the compact form.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScreenInput {
    pub name: Option<String>,
    pub rows: Option<Vec<RowInput>>,
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
    #[error("it has confirmed bookings or active holds")]
    HasConfirmedBookings,
    #[error("seat {highest_booked} has a confirmed booking")]
    SeatBooked { highest_booked: i32 },
    #[error("seats {seats:?} have confirmed bookings and would be blocked")]
    BookedSeatsBlocked { seats: Vec<i32> },
    #[error("a show uses this screen")]
    ScreenInUse,
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
            SaveShowError::ScreenNotFound => Self::Invalid(ValidationErrors::single(
                "screen_id",
                "no screen with this id",
            )),
            SaveShowError::Prices { missing, unknown } => {
                let mut fields = ValidationErrors::default();
                for category in missing {
                    fields.add(
                        &format!("prices.{category}"),
                        "this category of the layout needs a price",
                    );
                }
                for category in unknown {
                    fields.add(
                        &format!("prices.{category}"),
                        "no seat of the layout has this category",
                    );
                }
                Self::Invalid(fields)
            }
            SaveShowError::BookedSeatsBlocked { seats } => Self::BookedSeatsBlocked { seats },
            SaveShowError::SeatingFromScreen { fields } => {
                let mut errors = ValidationErrors::default();
                for field in fields {
                    errors.add(field, FROM_THE_SCREEN);
                }
                Self::Invalid(errors)
            }
            SaveShowError::Store(store) => store.into(),
        }
    }
}

impl From<ScreenEditError> for EditCatalogError {
    fn from(error: ScreenEditError) -> Self {
        match error {
            ScreenEditError::NotFound => Self::NotFound,
            ScreenEditError::InUse => Self::ScreenInUse,
            ScreenEditError::Store(store) => store.into(),
        }
    }
}

const FROM_THE_SCREEN: &str =
    "comes from the show's screen; give screen_id to move the show to another screen";
const SCREEN_OR_FLAT: &str = "give either screen_id, or screen_name and total_seats";

#[derive(Clone)]
pub struct CatalogService {
    movies: Arc<dyn MovieRepository>,
    shows: Arc<dyn ShowRepository>,
    screens: Arc<dyn ScreenRepository>,
    clock: Arc<dyn Clock>,
    /// The currency new shows are priced in.
    currency: Currency,
}

impl CatalogService {
    pub fn new(
        movies: Arc<dyn MovieRepository>,
        shows: Arc<dyn ShowRepository>,
        screens: Arc<dyn ScreenRepository>,
        clock: Arc<dyn Clock>,
        currency: Currency,
    ) -> Self {
        Self {
            movies,
            shows,
            screens,
            clock,
            currency,
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

    /// Every seat of the show, in order: where it is, what it costs, and whether it is
    /// available, held, booked or blocked.
    pub async fn seat_map(&self, id: i64) -> Result<(Show, SeatMap), BrowseError> {
        let seats = self
            .shows
            .booked_seats(ShowId(id))
            .await?
            .ok_or(BrowseError::NotFound)?;
        let map = rules::seat_map(seats.layout, &seats.show.prices, seats.booked, seats.held)?;
        Ok((seats.show, map))
    }

    pub async fn list_screens(
        &self,
        limit: Option<i64>,
        offset: Option<i64>,
    ) -> Result<Listing<Screen>, BrowseError> {
        let page = Page::new(limit, offset).map_err(BrowseError::Invalid)?;
        Ok(self.screens.list_screens(page).await?)
    }

    pub async fn screen(&self, id: i64) -> Result<Screen, BrowseError> {
        self.screens
            .get_screen(ScreenId(id))
            .await?
            .ok_or(BrowseError::NotFound)
    }

    pub async fn create_screen(
        &self,
        caller: &AuthUser,
        input: ScreenInput,
    ) -> Result<Screen, EditCatalogError> {
        require_staff(caller)?;
        let mut errors = ValidationErrors::default();
        let name = errors.required("name", input.name.as_deref().map(ScreenName::parse));
        let layout = match &input.rows {
            None => {
                errors.add("rows", "this field is required");
                None
            }
            Some(rows) => parse_layout(&mut errors, rows),
        };
        let (Some(name), Some(layout)) = (name, layout) else {
            return Err(EditCatalogError::Invalid(errors));
        };
        errors.into_result().map_err(EditCatalogError::Invalid)?;
        Ok(self
            .screens
            .create_screen(NewScreen { name, layout })
            .await?)
    }

    /// Renames a screen and/or replaces its layout; a layout only while no show uses it.
    pub async fn update_screen(
        &self,
        caller: &AuthUser,
        id: i64,
        input: ScreenInput,
    ) -> Result<Screen, EditCatalogError> {
        require_staff(caller)?;
        let mut errors = ValidationErrors::default();
        let patch = ScreenPatch {
            name: errors.optional("name", input.name.as_deref().map(ScreenName::parse)),
            layout: input
                .rows
                .as_deref()
                .and_then(|rows| parse_layout(&mut errors, rows)),
        };
        errors.into_result().map_err(EditCatalogError::Invalid)?;
        Ok(self.screens.update_screen(ScreenId(id), patch).await?)
    }

    pub async fn delete_screen(&self, caller: &AuthUser, id: i64) -> Result<(), EditCatalogError> {
        require_staff(caller)?;
        Ok(self.screens.delete_screen(ScreenId(id)).await?)
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

    /// A show on a screen (`screen_id` and `prices` for every category of its layout), or
    /// a flat show (`screen_name` and `total_seats`, prices optional: free by default).
    pub async fn create_show(
        &self,
        caller: &AuthUser,
        input: ShowInput,
    ) -> Result<Show, EditCatalogError> {
        require_staff(caller)?;
        let mut errors = ValidationErrors::default();
        let movie_id = errors.required("movie_id", input.movie_id.map(|id| Ok(MovieId(id))));
        let seating = match input.screen_id {
            Some(screen) => {
                flat_fields_beside_screen(&mut errors, &input);
                Some(Seating::Screen(ScreenId(screen)))
            }
            None => {
                let screen_name = errors.required(
                    "screen_name",
                    input.screen_name.as_deref().map(ScreenName::parse),
                );
                let total_seats =
                    errors.required("total_seats", input.total_seats.map(TotalSeats::parse));
                screen_name
                    .zip(total_seats)
                    .map(|(screen_name, total_seats)| Seating::Flat {
                        screen_name,
                        total_seats,
                    })
            }
        };
        let start_time = errors.required("start_time", input.start_time.map(StartTime::parse));
        let prices = match (&input.prices, &seating) {
            (Some(raw), _) => Prices::parse(&mut errors, "prices", raw),
            (None, Some(Seating::Screen(_))) => {
                errors.add("prices", "this field is required");
                None
            }
            (None, _) => Some(Prices::flat()),
        };
        let (Some(movie_id), Some(seating), Some(start_time), Some(prices)) =
            (movie_id, seating, start_time, prices)
        else {
            return Err(EditCatalogError::Invalid(errors));
        };
        errors.into_result().map_err(EditCatalogError::Invalid)?;
        Ok(self
            .shows
            .create_show(NewShow {
                movie_id,
                start_time,
                seating,
                prices,
                currency: self.currency.clone(),
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
        if input.screen_id.is_some() {
            flat_fields_beside_screen(&mut errors, &input);
        }
        let patch = ShowPatch {
            movie_id: input.movie_id.map(MovieId),
            screen_name: errors.optional(
                "screen_name",
                input.screen_name.as_deref().map(ScreenName::parse),
            ),
            start_time: errors.optional("start_time", input.start_time.map(StartTime::parse)),
            total_seats: errors.optional("total_seats", input.total_seats.map(TotalSeats::parse)),
            screen: input.screen_id.map(ScreenId),
            prices: input
                .prices
                .as_ref()
                .and_then(|raw| Prices::parse(&mut errors, "prices", raw)),
        };
        errors.into_result().map_err(EditCatalogError::Invalid)?;
        Ok(self.shows.update_show(ShowId(id), patch).await?)
    }

    pub async fn delete_show(&self, caller: &AuthUser, id: i64) -> Result<(), EditCatalogError> {
        require_staff(caller)?;
        Ok(self.shows.delete_show(ShowId(id)).await?)
    }
}

/// A layout in the compact form, its problems added to `errors`.
fn parse_layout(errors: &mut ValidationErrors, rows: &[RowInput]) -> Option<Layout> {
    match Layout::parse(rows) {
        Ok(layout) => Some(layout),
        Err(problems) => {
            errors.merge(problems);
            None
        }
    }
}

/// `screen_id` names where the seats come from; `screen_name` and `total_seats` beside it
/// would contradict it.
fn flat_fields_beside_screen(errors: &mut ValidationErrors, input: &ShowInput) {
    for (field, given) in [
        ("screen_name", input.screen_name.is_some()),
        ("total_seats", input.total_seats.is_some()),
    ] {
        if given {
            errors.add(field, SCREEN_OR_FLAT);
        }
    }
}

fn require_staff(caller: &AuthUser) -> Result<(), EditCatalogError> {
    if caller.is_staff {
        Ok(())
    } else {
        Err(EditCatalogError::Forbidden)
    }
}
