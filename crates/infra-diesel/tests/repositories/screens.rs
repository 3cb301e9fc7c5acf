//! Screens, shows on a screen and what their bookings keep, on both backends: the
//! layout round-trips, prices per category, blocked seats refused by the booking
//! transaction, labels and prices kept by bookings, the rules on screens in use and on
//! moving a show, a race of new shows against a change of layout, and a database of the
//! previous schema migrated with its rows intact.

use chrono::{Duration, Utc};
use domain::*;
use infra_diesel::testing::{Backend, TestDatabase};
use infra_diesel::DieselStore;

use super::{flat_show, race, Fixture};

infra_diesel::on_both_backends!(
    setup = Fixture::new, worker_threads = 4;
    a_screen_keeps_its_layout_and_screens_are_listed_by_name,
    a_show_on_a_screen_has_its_seats_prices_and_currency,
    a_show_on_a_screen_needs_a_price_for_every_category_and_nothing_else,
    a_booking_keeps_the_label_and_the_price_of_its_seat,
    a_blocked_seat_is_refused_by_the_booking_transaction_all_or_none,
    the_layout_of_a_screen_in_use_cannot_change_and_the_screen_cannot_go,
    moving_a_show_keeps_every_booked_seat_bookable,
    a_show_on_a_screen_takes_its_seat_count_from_the_screen,
    race_new_shows_against_a_new_layout_every_show_matches_the_final_layout,
);

fn row(label: &str, count: i64, category: &str) -> RowInput {
    RowInput {
        label: Some(label.into()),
        count: Some(count),
        category: Some(category.into()),
        ..Default::default()
    }
}

/// Row A: 6 standard seats, an aisle after place 3, place 1 a wheelchair place and
/// place 6 blocked; row B: 4 premium seats. Seats 1-6 are A1-A6, 7-10 are B1-B4.
fn small_hall() -> Layout {
    Layout::parse(&[
        RowInput {
            aisles_after: vec![3],
            wheelchair: vec![1],
            blocked: vec![6],
            ..row("A", 6, "standard")
        },
        row("B", 4, "premium"),
    ])
    .unwrap()
}

fn prices(pairs: &[(&str, i64)]) -> Prices {
    pairs
        .iter()
        .map(|&(c, p)| (Category::parse(c).unwrap(), Price::parse(p).unwrap()))
        .collect()
}

fn hall_prices() -> Prices {
    prices(&[("standard", 1250), ("premium", 1800)])
}

impl Fixture {
    async fn screen(&self, name: &str, layout: Layout) -> Screen {
        self.store
            .create_screen(NewScreen {
                name: ScreenName::parse(name).unwrap(),
                layout,
            })
            .await
            .unwrap()
    }

    async fn show_on(&self, screen: &Screen, prices: Prices) -> Result<Show, SaveShowError> {
        let movie = self.movie("Up").await;
        self.store
            .create_show(NewShow {
                movie_id: movie.id,
                start_time: StartTime::parse(Utc::now() + Duration::days(1)).unwrap(),
                seating: Seating::Screen(screen.id),
                prices,
                currency: Currency::parse("EUR").unwrap(),
            })
            .await
    }

    async fn patch_show(&self, show: &Show, patch: ShowPatch) -> Result<Show, SaveShowError> {
        self.store.update_show(show.id, patch).await
    }

    async fn shows_total(&self) -> i64 {
        self.store
            .list_shows(ShowFilter::default(), Page::default())
            .await
            .unwrap()
            .total
    }
}

async fn a_screen_keeps_its_layout_and_screens_are_listed_by_name(f: Fixture) {
    let b = f.screen("Screen B", small_hall()).await;
    let a = f
        .screen(
            "Screen A",
            Layout::parse(&[row("A", 3, "standard")]).unwrap(),
        )
        .await;
    let read = f.store.get_screen(b.id).await.unwrap().unwrap();
    assert_eq!(read, b);
    assert_eq!(read.layout, small_hall());
    assert_eq!(read.layout.capacity(), 10);
    let listed = f.store.list_screens(Page::default()).await.unwrap();
    assert_eq!(listed.total, 2);
    let ids: Vec<ScreenId> = listed.items.iter().map(|s| s.id).collect();
    assert_eq!(ids, vec![a.id, b.id]);
    assert_eq!(f.store.get_screen(ScreenId(999)).await.unwrap(), None);
}

async fn a_show_on_a_screen_has_its_seats_prices_and_currency(f: Fixture) {
    let screen = f.screen("Screen 1", small_hall()).await;
    let show = f.show_on(&screen, hall_prices()).await.unwrap();
    assert_eq!(
        show.screen,
        Some(ScreenRef {
            id: screen.id,
            name: screen.name.clone()
        })
    );
    assert_eq!(show.screen_name.as_str(), "Screen 1");
    assert_eq!(show.total_seats.get(), 10);
    // One seat is blocked: never available.
    assert_eq!(show.available_seats, 9);
    assert_eq!(show.prices, hall_prices());
    assert_eq!(show.currency.as_str(), "EUR");
    let seats = f.store.booked_seats(show.id).await.unwrap().unwrap();
    assert_eq!(seats.layout, small_hall());
    assert_eq!(seats.show, show);
    let listed = f
        .store
        .list_shows(ShowFilter::default(), Page::default())
        .await
        .unwrap();
    assert_eq!(listed.items, vec![show]);
}

async fn a_show_on_a_screen_needs_a_price_for_every_category_and_nothing_else(f: Fixture) {
    let screen = f.screen("Screen 1", small_hall()).await;
    assert_eq!(
        f.show_on(&screen, prices(&[("standard", 1250), ("vip", 3000)]))
            .await
            .unwrap_err(),
        SaveShowError::Prices {
            missing: vec!["premium".into()],
            unknown: vec!["vip".into()],
        }
    );
    let gone = Screen {
        id: ScreenId(999),
        ..screen.clone()
    };
    assert_eq!(
        f.show_on(&gone, hall_prices()).await.unwrap_err(),
        SaveShowError::ScreenNotFound
    );
    // A flat show's one category is `standard`.
    let movie = f.movie("Alien").await;
    let mut priced_wrong = flat_show(movie.id, Utc::now() + Duration::days(1), 10);
    priced_wrong.prices = prices(&[("premium", 100)]);
    assert!(matches!(
        f.store.create_show(priced_wrong).await.unwrap_err(),
        SaveShowError::Prices { .. }
    ));
    assert_eq!(f.shows_total().await, 0, "nothing is stored");
}

async fn a_booking_keeps_the_label_and_the_price_of_its_seat(f: Fixture) {
    let screen = f.screen("Screen 1", small_hall()).await;
    let show = f.show_on(&screen, hall_prices()).await.unwrap();
    let user = f.user("john").await;
    let booked = f.book(&show, &user, &[3, 8]).await.unwrap();
    let kept: Vec<(i32, &str, i32, &str)> = booked
        .iter()
        .map(|b| {
            (
                b.seat_number,
                b.seat_label.as_str(),
                b.price.get(),
                b.currency.as_str(),
            )
        })
        .collect();
    assert_eq!(kept, vec![(3, "A3", 1250, "EUR"), (8, "B2", 1800, "EUR")]);
    // New prices apply to new bookings only.
    let repriced = f
        .patch_show(
            &show,
            ShowPatch {
                prices: Some(prices(&[("standard", 1000), ("premium", 2000)])),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        repriced.prices.get(&Category::standard()),
        Price::parse(1000).ok()
    );
    let later = f.book(&show, &user, &[4]).await.unwrap();
    assert_eq!(
        (later[0].seat_label.as_str(), later[0].price.get()),
        ("A4", 1000)
    );
    let listed = f
        .store
        .list_bookings(&user, None, Page::default())
        .await
        .unwrap();
    let prices_paid: Vec<(i32, i32)> = listed
        .items
        .iter()
        .map(|b| (b.seat_number, b.price.get()))
        .collect();
    assert!(prices_paid.contains(&(3, 1250)) && prices_paid.contains(&(4, 1000)));
    let one = f.store.get_booking(booked[1].id).await.unwrap().unwrap();
    assert_eq!((one.seat_label.as_str(), one.price.get()), ("B2", 1800));
    // A flat show's seats are labelled by their number and free.
    let flat = f.show(20).await;
    let free = f.book(&flat, &user, &[17]).await.unwrap();
    assert_eq!(
        (free[0].seat_label.as_str(), free[0].price),
        ("17", Price::FREE)
    );
}

async fn a_blocked_seat_is_refused_by_the_booking_transaction_all_or_none(f: Fixture) {
    let screen = f.screen("Screen 1", small_hall()).await;
    let show = f.show_on(&screen, hall_prices()).await.unwrap();
    let user = f.user("john").await;
    assert_eq!(
        f.book(&show, &user, &[5, 6, 7]).await.unwrap_err(),
        BookError::SeatBlocked { seats: vec![6] }
    );
    assert!(f.booked(&show).await.is_empty(), "nothing is half-booked");
    // A wheelchair place may be booked by number.
    assert_eq!(
        f.book(&show, &user, &[1]).await.unwrap()[0].seat_label,
        "A1"
    );
    assert_eq!(
        f.book(&show, &user, &[11]).await.unwrap_err(),
        BookError::SeatOutOfRange {
            field: "seat_numbers",
            seats: vec![11],
            total_seats: 10
        }
    );
}

async fn the_layout_of_a_screen_in_use_cannot_change_and_the_screen_cannot_go(f: Fixture) {
    let screen = f.screen("Screen 1", small_hall()).await;
    let unused = f.screen("Spare", small_hall()).await;
    let show = f.show_on(&screen, hall_prices()).await.unwrap();
    let other = Layout::parse(&[row("A", 12, "standard")]).unwrap();
    let relayout = |layout: Layout| ScreenPatch {
        layout: Some(layout),
        ..Default::default()
    };
    assert_eq!(
        f.store
            .update_screen(screen.id, relayout(other.clone()))
            .await
            .unwrap_err(),
        ScreenEditError::InUse
    );
    // The same layout again is no change.
    assert!(f
        .store
        .update_screen(screen.id, relayout(small_hall()))
        .await
        .is_ok());
    // Renaming is fine, and the show is named after its screen.
    let renamed = f
        .store
        .update_screen(
            screen.id,
            ScreenPatch {
                name: Some(ScreenName::parse("Hall 1").unwrap()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (renamed.name.as_str(), renamed.layout.clone()),
        ("Hall 1", small_hall())
    );
    let show_now = f.store.get_show(show.id).await.unwrap().unwrap();
    assert_eq!(show_now.screen_name.as_str(), "Hall 1");
    assert_eq!(show_now.screen.unwrap().name.as_str(), "Hall 1");
    assert_eq!(
        f.store.delete_screen(screen.id).await.unwrap_err(),
        ScreenEditError::InUse
    );
    // Unused: its layout changes, and it goes.
    let changed = f
        .store
        .update_screen(unused.id, relayout(other.clone()))
        .await
        .unwrap();
    assert_eq!(changed.layout, other);
    f.store.delete_screen(unused.id).await.unwrap();
    assert_eq!(f.store.get_screen(unused.id).await.unwrap(), None);
    assert_eq!(
        f.store.delete_screen(unused.id).await.unwrap_err(),
        ScreenEditError::NotFound
    );
    // Once its show is gone, so may the screen be.
    f.store.delete_show(show.id).await.unwrap();
    f.store.delete_screen(screen.id).await.unwrap();
}

async fn moving_a_show_keeps_every_booked_seat_bookable(f: Fixture) {
    let screen = f.screen("Screen 1", small_hall()).await;
    let show = f.show_on(&screen, hall_prices()).await.unwrap();
    let user = f.user("john").await;
    f.book(&show, &user, &[2, 9]).await.unwrap();
    let smaller = f
        .screen("Small", Layout::parse(&[row("A", 8, "standard")]).unwrap())
        .await;
    let blocks_two = f
        .screen(
            "Blocks 2",
            Layout::parse(&[RowInput {
                blocked: vec![2],
                ..row("A", 12, "standard")
            }])
            .unwrap(),
        )
        .await;
    let bigger = f
        .screen("Big", Layout::parse(&[row("A", 20, "standard")]).unwrap())
        .await;
    let move_to = |screen: &Screen, prices: Option<Prices>| ShowPatch {
        screen: Some(screen.id),
        prices,
        ..Default::default()
    };
    let standard = prices(&[("standard", 900)]);
    assert_eq!(
        f.patch_show(&show, move_to(&smaller, Some(standard.clone())))
            .await
            .unwrap_err(),
        SaveShowError::SeatBooked { highest_booked: 9 }
    );
    assert_eq!(
        f.patch_show(&show, move_to(&blocks_two, Some(standard.clone())))
            .await
            .unwrap_err(),
        SaveShowError::BookedSeatsBlocked { seats: vec![2] }
    );
    // The current prices name `premium`, which the new layout lacks.
    assert_eq!(
        f.patch_show(&show, move_to(&bigger, None))
            .await
            .unwrap_err(),
        SaveShowError::Prices {
            missing: vec![],
            unknown: vec!["premium".into()],
        }
    );
    let unchanged = f.store.get_show(show.id).await.unwrap().unwrap();
    assert_eq!(unchanged.screen.as_ref().map(|s| s.id), Some(screen.id));
    assert_eq!(unchanged.prices, hall_prices());
    let moved = f
        .patch_show(&show, move_to(&bigger, Some(standard.clone())))
        .await
        .unwrap();
    assert_eq!(moved.screen.as_ref().map(|s| s.id), Some(bigger.id));
    assert_eq!(
        (
            moved.screen_name.as_str(),
            moved.total_seats.get(),
            moved.available_seats
        ),
        ("Big", 20, 18)
    );
    assert_eq!(moved.prices, standard);
    // The bookings keep what they were sold as.
    let kept = f
        .store
        .list_bookings(&user, None, Page::default())
        .await
        .unwrap();
    let mut labels: Vec<&str> = kept.items.iter().map(|b| b.seat_label.as_str()).collect();
    labels.sort_unstable();
    assert_eq!(labels, vec!["A2", "B3"]);
    // A flat show moves onto a screen the same way.
    let flat = f.show(5).await;
    let onto = f
        .patch_show(&flat, move_to(&screen, Some(hall_prices())))
        .await
        .unwrap();
    assert_eq!((onto.total_seats.get(), onto.available_seats), (10, 9));
    assert_eq!(
        f.patch_show(&flat, move_to(&screen, None))
            .await
            .unwrap()
            .prices,
        hall_prices(),
        "naming the screen it is on changes nothing"
    );
}

async fn a_show_on_a_screen_takes_its_seat_count_from_the_screen(f: Fixture) {
    let screen = f.screen("Screen 1", small_hall()).await;
    let show = f.show_on(&screen, hall_prices()).await.unwrap();
    assert_eq!(
        f.patch_show(
            &show,
            ShowPatch {
                total_seats: Some(TotalSeats::parse(50).unwrap()),
                screen_name: Some(ScreenName::parse("Other").unwrap()),
                ..Default::default()
            }
        )
        .await
        .unwrap_err(),
        SaveShowError::SeatingFromScreen {
            fields: vec!["screen_name", "total_seats"]
        }
    );
    let moved_later = f
        .patch_show(
            &show,
            ShowPatch {
                start_time: Some(StartTime::parse(Utc::now() + Duration::days(2)).unwrap()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(moved_later.total_seats.get(), 10);
}

/// Staff create shows on a screen while another changes its layout, ten rounds: either
/// the change comes first (every show gets the new layout) or a show does (the change is
/// refused). A show never ends up with seats its screen's layout does not have.
async fn race_new_shows_against_a_new_layout_every_show_matches_the_final_layout(f: Fixture) {
    let movie = f.movie("Up").await;
    let wider = Layout::parse(&[row("A", 30, "standard")]).unwrap();
    for round in 0..10 {
        let screen = f
            .screen(
                &format!("Race {round}"),
                Layout::parse(&[row("A", 10, "standard")]).unwrap(),
            )
            .await;
        let store = f.store.clone();
        let results = race(9, |i| {
            let (store, screen, wider) = (store.clone(), screen.id, wider.clone());
            async move {
                if i == 4 {
                    store
                        .update_screen(
                            screen,
                            ScreenPatch {
                                layout: Some(wider),
                                ..Default::default()
                            },
                        )
                        .await
                        .map(|_| ())
                        .map_err(|e| format!("{e:?}"))
                } else {
                    store
                        .create_show(NewShow {
                            movie_id: movie.id,
                            start_time: StartTime::parse(Utc::now() + Duration::days(1)).unwrap(),
                            seating: Seating::Screen(screen),
                            prices: Prices::flat(),
                            currency: Currency::parse("EUR").unwrap(),
                        })
                        .await
                        .map(|_| ())
                        .map_err(|e| format!("{e:?}"))
                }
            }
        })
        .await;
        let creations_failed: Vec<_> = results
            .iter()
            .enumerate()
            .filter(|(i, r)| *i != 4 && r.is_err())
            .collect();
        assert!(creations_failed.is_empty(), "{creations_failed:?}");
        assert!(
            results[4].is_ok() || results[4].as_ref().err().map(String::as_str) == Some("InUse"),
            "{:?}",
            results[4]
        );
        let final_capacity = f
            .store
            .get_screen(screen.id)
            .await
            .unwrap()
            .unwrap()
            .layout
            .capacity();
        let shows = f
            .store
            .list_shows(ShowFilter::default(), Page::new(Some(500), None).unwrap())
            .await
            .unwrap();
        let on_screen: Vec<i32> = shows
            .items
            .iter()
            .filter(|s| s.screen.as_ref().is_some_and(|r| r.id == screen.id))
            .map(|s| s.total_seats.get())
            .collect();
        assert_eq!(on_screen.len(), 8);
        assert!(
            on_screen.iter().all(|&n| n == final_capacity),
            "round {round}: shows {on_screen:?}, screen {final_capacity}"
        );
    }
}

/// A database of the schema before screens, migrated to this one.
mod previous_schema {
    use super::*;

    infra_diesel::on_both_backends!(
        setup = TestDatabase::empty;
        rows_of_the_previous_schema_stay_valid_after_migrating,
    );

    /// The schema before screens, with a user, a movie, a show and two bookings in it, then
    /// every migration since: the show is flat and free, the bookings keep their seats with
    /// labels, and the show can still be booked.
    async fn rows_of_the_previous_schema_stay_valid_after_migrating(db: TestDatabase) {
        let previous = [
            (
                "20260101000000",
                include_str!("../../../../migrations/postgres/2026-01-01-000000_init/up.sql"),
                include_str!("../../../../migrations/sqlite/2026-01-01-000000_init/up.sql"),
            ),
            (
                "20260201000000",
                include_str!(
                    "../../../../migrations/postgres/2026-02-01-000000_refresh_tokens/up.sql"
                ),
                include_str!(
                    "../../../../migrations/sqlite/2026-02-01-000000_refresh_tokens/up.sql"
                ),
            ),
        ];
        let mut script = String::from(
            "CREATE TABLE __diesel_schema_migrations (version VARCHAR(50) PRIMARY KEY NOT NULL, \
             run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP);\n",
        );
        for (version, postgres, sqlite) in previous {
            script.push_str(if db.backend == Backend::Postgres {
                postgres
            } else {
                sqlite
            });
            script.push_str(&format!(
                "\nINSERT INTO __diesel_schema_migrations (version) VALUES ('{version}');\n"
            ));
        }
        script.push_str(
            "INSERT INTO users (username, username_key, password_hash, is_staff, created_at) \
             VALUES ('john', 'john', 'hash', FALSE, '2026-01-01 10:00:00');
             INSERT INTO movies (title, description, duration_minutes) VALUES ('Up', '', 96);
             INSERT INTO shows (movie_id, screen_name, start_time, total_seats)
                 VALUES (1, 'Screen 1', '2099-01-01 20:00:00', 50);
             INSERT INTO bookings (user_id, show_id, seat_number, status, booking_time)
                 VALUES (1, 1, 5, 'CONFIRMED', '2026-01-01 10:00:00'),
                        (1, 1, 6, 'CANCELLED', '2026-01-01 10:00:00');",
        );
        run_script(&db, &script).await;
        let database = db.connect().await;
        database.migrate().await.unwrap();
        let store = DieselStore::new(database);
        let show = store.get_show(ShowId(1)).await.unwrap().unwrap();
        assert_eq!(show.screen, None);
        assert_eq!((show.total_seats.get(), show.available_seats), (50, 49));
        assert_eq!(show.prices, Prices::flat());
        assert_eq!(show.currency.as_str(), "EUR");
        let john = AuthUser {
            id: UserId(1),
            username: "john".into(),
            is_staff: false,
        };
        let kept = store
            .list_bookings(&john, None, Page::default())
            .await
            .unwrap();
        let mut rows: Vec<(i32, &str, i32)> = kept
            .items
            .iter()
            .map(|b| (b.seat_number, b.seat_label.as_str(), b.price.get()))
            .collect();
        rows.sort_unstable();
        assert_eq!(rows, vec![(5, "5", 0), (6, "6", 0)]);
        let seats = SeatSelection::new(&[6]).unwrap();
        let booked = store
            .book_seats(ShowId(1), &john, &seats, Utc::now(), None)
            .await
            .unwrap();
        assert_eq!(booked[0].seat_label, "6");
    }

    /// Runs SQL on the test database outside the service, as an older version would have.
    async fn run_script(db: &TestDatabase, script: &str) {
        match db.backend {
            Backend::Postgres => {
                use diesel_async::{AsyncConnection, AsyncPgConnection, SimpleAsyncConnection};
                let mut conn = AsyncPgConnection::establish(&db.url).await.unwrap();
                conn.batch_execute(script).await.unwrap();
            }
            Backend::Sqlite => {
                use diesel::connection::SimpleConnection;
                use diesel::Connection;
                let path = infra_diesel::sqlite_path(&db.url).unwrap();
                let mut conn = diesel::sqlite::SqliteConnection::establish(path).unwrap();
                conn.batch_execute(script).unwrap();
            }
        }
    }
}
