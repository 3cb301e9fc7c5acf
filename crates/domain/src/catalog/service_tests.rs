//! Unit tests of the catalogue use cases, over mocks of their ports.

use std::sync::Arc;

use super::*;
use crate::accounts::AuthUser;
use crate::shared::*;
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
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
        screen: None,
        prices: Prices::flat(),
        currency: eur(),
    }
}

fn eur() -> Currency {
    Currency::parse("EUR").unwrap()
}

fn service(movies: MockMovieRepository, shows: MockShowRepository) -> CatalogService {
    with_screens(movies, shows, MockScreenRepository::new())
}

fn with_screens(
    movies: MockMovieRepository,
    shows: MockShowRepository,
    screens: MockScreenRepository,
) -> CatalogService {
    CatalogService::new(
        Arc::new(movies),
        Arc::new(shows),
        Arc::new(screens),
        clock(),
        eur(),
    )
}

fn row(label: &str, count: i64) -> RowInput {
    RowInput {
        label: Some(label.into()),
        count: Some(count),
        ..Default::default()
    }
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
            ..Default::default()
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
            ..Default::default()
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
        .withf(|f, p| f.starts_after == Some(now()) && f.movie == Some(MovieId(2)) && p.limit == 10)
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
    catalog.expect_booked_seats().returning(|_| {
        Ok(Some(ShowSeats {
            show: show(5),
            layout: Layout::flat(5),
            booked: vec![2, 5],
            held: vec![],
        }))
    });
    let svc = service(MockMovieRepository::new(), catalog);
    let (_, map) = block_on(svc.seat_map(3)).unwrap();
    let seats: Vec<SeatState> = map.seats().collect();
    let booked: Vec<bool> = seats
        .iter()
        .map(|s| s.status == SeatStatus::Booked)
        .collect();
    assert_eq!(booked, vec![false, true, false, false, true]);
    assert_eq!(seats.last().map(|s| s.seat_number), Some(5));
}

#[test]
fn a_flat_show_is_free_unless_priced_and_a_screen_show_needs_prices() {
    let mut shows = MockShowRepository::new();
    shows
        .expect_create_show()
        .withf(|s| {
            s.prices == Prices::flat()
                && s.currency == eur()
                && matches!(s.seating, Seating::Flat { .. })
        })
        .returning(|_| Ok(show(10)));
    let svc = service(MockMovieRepository::new(), shows);
    let flat = ShowInput {
        movie_id: Some(1),
        screen_name: Some("1".into()),
        start_time: Some(now()),
        total_seats: Some(10),
        ..Default::default()
    };
    assert!(block_on(svc.create_show(&staff(), flat)).is_ok());
    let unpriced = ShowInput {
        movie_id: Some(1),
        start_time: Some(now()),
        screen_id: Some(4),
        ..Default::default()
    };
    let err = block_on(svc.create_show(&staff(), unpriced)).unwrap_err();
    assert!(matches!(err, EditCatalogError::Invalid(f) if f.0.keys().eq(["prices"])));
}

#[test]
fn a_screen_and_a_flat_seat_count_contradict_each_other() {
    let svc = service(MockMovieRepository::new(), MockShowRepository::new());
    let both = ShowInput {
        movie_id: Some(1),
        start_time: Some(now()),
        screen_id: Some(4),
        total_seats: Some(10),
        prices: Some([("standard".to_owned(), 100)].into()),
        ..Default::default()
    };
    let err = block_on(svc.create_show(&staff(), both.clone())).unwrap_err();
    assert!(matches!(err, EditCatalogError::Invalid(f) if f.0.keys().eq(["total_seats"])));
    let err = block_on(svc.update_show(&staff(), 3, both)).unwrap_err();
    assert!(matches!(err, EditCatalogError::Invalid(f) if f.0.keys().eq(["total_seats"])));
}

#[test]
fn prices_that_miss_the_layout_name_each_category() {
    let mut shows = MockShowRepository::new();
    shows.expect_create_show().returning(|_| {
        Err(SaveShowError::Prices {
            missing: vec!["premium".into()],
            unknown: vec!["vip".into()],
        })
    });
    let svc = service(MockMovieRepository::new(), shows);
    let input = ShowInput {
        movie_id: Some(1),
        start_time: Some(now()),
        screen_id: Some(4),
        prices: Some([("vip".to_owned(), 100)].into()),
        ..Default::default()
    };
    let err = block_on(svc.create_show(&staff(), input)).unwrap_err();
    let EditCatalogError::Invalid(fields) = err else {
        panic!("expected Invalid, got {err:?}")
    };
    assert_eq!(
        fields.0.keys().collect::<Vec<_>>(),
        vec!["prices.premium", "prices.vip"]
    );
}

#[test]
fn create_screen_reports_every_layout_problem_by_row() {
    let svc = service(MockMovieRepository::new(), MockShowRepository::new());
    let input = ScreenInput {
        name: Some(" ".into()),
        rows: Some(vec![row("A", 5), row("A", 0)]),
    };
    let err = block_on(svc.create_screen(&staff(), input)).unwrap_err();
    let EditCatalogError::Invalid(fields) = err else {
        panic!("expected Invalid, got {err:?}")
    };
    assert_eq!(
        fields.0.keys().collect::<Vec<_>>(),
        vec!["name", "rows[1].count", "rows[1].label"]
    );
    let err = block_on(svc.create_screen(&staff(), ScreenInput::default())).unwrap_err();
    assert!(matches!(err, EditCatalogError::Invalid(f) if f.0.keys().eq(["name", "rows"])));
}

#[test]
fn create_screen_stores_the_parsed_layout() {
    let mut screens = MockScreenRepository::new();
    screens
        .expect_create_screen()
        .withf(|s| s.name.as_str() == "Screen 1" && s.layout.capacity() == 12)
        .returning(|s| {
            Ok(Screen {
                id: ScreenId(1),
                name: s.name,
                layout: s.layout,
            })
        });
    let svc = with_screens(
        MockMovieRepository::new(),
        MockShowRepository::new(),
        screens,
    );
    let screen = block_on(svc.create_screen(
        &staff(),
        ScreenInput {
            name: Some("Screen 1".into()),
            rows: Some(vec![row("A", 5), row("B", 7)]),
        },
    ))
    .unwrap();
    assert_eq!(screen.layout.rows()[1].first_seat(), 6);
}

#[test]
fn a_screen_in_use_is_a_conflict_and_only_staff_edit_screens() {
    let mut screens = MockScreenRepository::new();
    screens
        .expect_update_screen()
        .returning(|_, _| Err(ScreenEditError::InUse));
    screens
        .expect_delete_screen()
        .returning(|_| Err(ScreenEditError::InUse));
    let svc = with_screens(
        MockMovieRepository::new(),
        MockShowRepository::new(),
        screens,
    );
    let relayout = ScreenInput {
        rows: Some(vec![row("A", 3)]),
        ..Default::default()
    };
    assert_eq!(
        block_on(svc.update_screen(&staff(), 1, relayout.clone())).unwrap_err(),
        EditCatalogError::ScreenInUse
    );
    assert_eq!(
        block_on(svc.delete_screen(&staff(), 1)).unwrap_err(),
        EditCatalogError::ScreenInUse
    );
    assert_eq!(
        block_on(svc.update_screen(&plain(), 1, relayout)).unwrap_err(),
        EditCatalogError::Forbidden
    );
    assert_eq!(
        block_on(svc.create_screen(&plain(), ScreenInput::default())).unwrap_err(),
        EditCatalogError::Forbidden
    );
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
