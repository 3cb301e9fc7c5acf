//! The repositories against real databases: every test runs on SQLite (a temp file)
//! and on PostgreSQL (a fresh database), each test on its own database. Refresh-token
//! records are tested in `repositories/sessions.rs`, holds in `repositories/holds.rs`,
//! idempotency keys in `repositories/idempotency.rs`; screens, shows on a screen and what
//! their bookings keep in `repositories/screens.rs`.

#[path = "repositories/holds.rs"]
mod holds;
#[path = "repositories/idempotency.rs"]
mod idempotency;
#[path = "repositories/screens.rs"]
mod screens;
#[path = "repositories/sessions.rs"]
mod sessions;

use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use domain::*;
use infra_diesel::testing::{Backend, TestDatabase};
use infra_diesel::{Database, DieselStore};

struct Fixture {
    store: DieselStore,
    db: TestDatabase,
}

impl Fixture {
    async fn new(backend: Backend) -> Self {
        let db = TestDatabase::new(backend).await;
        let store = DieselStore::new(db.connect().await);
        Self { store, db }
    }

    /// A second, independent pool on the same database: another server process.
    async fn second_process(&self) -> DieselStore {
        DieselStore::new(self.db.connect().await)
    }

    async fn user(&self, name: &str) -> AuthUser {
        let user = self
            .store
            .create_user(NewUser {
                username: Username::parse(name).unwrap(),
                email: None,
                password_hash: PasswordHash("hash".into()),
                is_staff: false,
                created_at: Utc::now(),
            })
            .await
            .unwrap();
        AuthUser {
            id: user.id,
            username: user.username.into_string(),
            is_staff: false,
        }
    }

    async fn movie(&self, title: &str) -> Movie {
        self.store
            .create_movie(NewMovie {
                title: Title::parse(title).unwrap(),
                description: Description::default(),
                duration_minutes: DurationMinutes::parse(100).unwrap(),
            })
            .await
            .unwrap()
    }

    async fn show_at(&self, movie: MovieId, start: DateTime<Utc>, seats: i32) -> Show {
        self.store
            .create_show(flat_show(movie, start, seats))
            .await
            .unwrap()
    }

    async fn show(&self, seats: i32) -> Show {
        let movie = self.movie("Up").await;
        self.show_at(movie.id, Utc::now() + Duration::days(1), seats)
            .await
    }

    async fn book(
        &self,
        show: &Show,
        user: &AuthUser,
        seats: &[i64],
    ) -> Result<Vec<Booking>, BookError> {
        self.store
            .book_seats(
                show.id,
                user,
                &SeatSelection::new(seats).unwrap(),
                Utc::now(),
                None,
            )
            .await
    }

    async fn booked(&self, show: &Show) -> Vec<i32> {
        self.store
            .booked_seats(show.id)
            .await
            .unwrap()
            .unwrap()
            .booked
    }
}

/// A show of the seed's form: seats 1 to `seats` on "Screen 1", free of charge.
fn flat_show(movie: MovieId, start: DateTime<Utc>, seats: i32) -> NewShow {
    NewShow {
        movie_id: movie,
        start_time: StartTime::parse(start).unwrap(),
        seating: Seating::Flat {
            screen_name: ScreenName::parse("Screen 1").unwrap(),
            total_seats: TotalSeats::parse(seats.into()).unwrap(),
        },
        prices: Prices::flat(),
        currency: Currency::parse("EUR").unwrap(),
    }
}

infra_diesel::on_both_backends!(
    setup = Fixture::new, worker_threads = 4;
    usernames_are_unique_regardless_of_case,
    movies_are_listed_by_title_with_total,
    movie_can_be_updated_and_deleted,
    probe_write_goes_through_repeatedly_and_changes_nothing,
    show_needs_an_existing_movie,
    shows_are_filtered_and_count_available_seats,
    booking_a_free_seat_confirms_it,
    second_booking_of_same_seat_is_rejected,
    seat_outside_the_show_is_rejected,
    started_show_cannot_be_booked,
    unknown_show_is_not_found,
    multi_seat_booking_is_all_or_none,
    cancelled_seat_can_be_booked_again,
    only_the_owner_cancels_and_only_once,
    started_show_cannot_be_cancelled,
    bookings_are_listed_newest_first_with_status_filter,
    show_with_confirmed_bookings_cannot_be_deleted_or_shrunk,
    movie_with_confirmed_bookings_cannot_be_deleted,
    race_64_tasks_for_one_seat_exactly_one_wins,
    race_64_tasks_for_64_seats_all_win,
    race_overlapping_multi_seat_requests_never_deadlock_or_half_book,
    race_across_two_processes_exactly_one_wins,
    booking_keeps_working_when_its_statement_is_reused_many_times,
);

/// One connection, so the booking statement is prepared once and then reused: past
/// PostgreSQL's fifth execution it may run on a generic plan, which must still find the
/// partial unique index.
async fn booking_keeps_working_when_its_statement_is_reused_many_times(f: Fixture) {
    let mut settings = f.db.settings();
    settings.pool_size = 1;
    let store = DieselStore::new(Database::connect(&settings).unwrap());
    let show = f.show(100).await;
    let (a, b) = (f.user("a").await, f.user("b").await);
    for seat in 1..=12i64 {
        let seats = SeatSelection::new(&[seat]).unwrap();
        assert!(
            store
                .book_seats(show.id, &a, &seats, Utc::now(), None)
                .await
                .is_ok(),
            "seat {seat}"
        );
        assert_eq!(
            store
                .book_seats(show.id, &b, &seats, Utc::now(), None)
                .await
                .unwrap_err(),
            BookError::SeatTaken {
                seats: vec![seat as i32]
            }
        );
    }
    for start in (20..80i64).step_by(5) {
        let seats = SeatSelection::new(&[start, start + 1, start + 2]).unwrap();
        assert_eq!(
            store
                .book_seats(show.id, &a, &seats, Utc::now(), None)
                .await
                .unwrap()
                .len(),
            3
        );
        let overlapping = SeatSelection::new(&[start + 2, start + 3]).unwrap();
        assert_eq!(
            store
                .book_seats(show.id, &b, &overlapping, Utc::now(), None)
                .await
                .unwrap_err(),
            BookError::SeatTaken {
                seats: vec![start as i32 + 2]
            }
        );
    }
    assert_eq!(f.booked(&show).await.len(), 12 + 12 * 3);
}

async fn usernames_are_unique_regardless_of_case(f: Fixture) {
    let john = f.user("John").await;
    let err = f
        .store
        .create_user(NewUser {
            username: Username::parse("jOhN").unwrap(),
            email: Some(Email::parse("j@x.io").unwrap()),
            password_hash: PasswordHash("h".into()),
            is_staff: false,
            created_at: Utc::now(),
        })
        .await
        .unwrap_err();
    assert_eq!(err, CreateUserError::UsernameTaken);
    let found = f
        .store
        .find_by_username(&Username::parse("JOHN").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.id, john.id);
    assert_eq!(found.username.as_str(), "John");
    assert!(f
        .store
        .find_by_username(&Username::parse("nobody").unwrap())
        .await
        .unwrap()
        .is_none());
    assert!(f.store.find_by_id(john.id).await.unwrap().is_some());
}

async fn movies_are_listed_by_title_with_total(f: Fixture) {
    for title in ["Zodiac", "Alien", "Memento"] {
        f.movie(title).await;
    }
    let page = f
        .store
        .list_movies(Page::new(Some(2), Some(0)).unwrap())
        .await
        .unwrap();
    assert_eq!(page.total, 3);
    let titles: Vec<_> = page.items.iter().map(|m| m.title.as_str()).collect();
    assert_eq!(titles, vec!["Alien", "Memento"]);
    let rest = f
        .store
        .list_movies(Page::new(Some(2), Some(2)).unwrap())
        .await
        .unwrap();
    assert_eq!(rest.items[0].title.as_str(), "Zodiac");
}

async fn movie_can_be_updated_and_deleted(f: Fixture) {
    let movie = f.movie("Up").await;
    let updated = f
        .store
        .update_movie(
            movie.id,
            MoviePatch {
                title: Some(Title::parse("Up!").unwrap()),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(updated.title.as_str(), "Up!");
    assert_eq!(updated.duration_minutes.get(), 100);
    assert!(f
        .store
        .update_movie(MovieId(9999), MoviePatch::default())
        .await
        .unwrap()
        .is_none());
    f.store.delete_movie(movie.id).await.unwrap();
    assert!(f.store.get_movie(movie.id).await.unwrap().is_none());
    assert_eq!(
        f.store.delete_movie(movie.id).await.unwrap_err(),
        DeleteError::NotFound
    );
}

/// Readiness's probe write goes through on a healthy database, again and again on one
/// connection (PostgreSQL's temporary table goes at commit), and changes nothing.
async fn probe_write_goes_through_repeatedly_and_changes_nothing(f: Fixture) {
    let mut settings = f.db.settings();
    settings.pool_size = 1;
    let db = Database::connect(&settings).unwrap();
    let movie = f.movie("Up").await;
    for _ in 0..3 {
        db.probe_write().await.unwrap();
        db.ping().await.unwrap();
    }
    let movies = f.store.list_movies(Page::default()).await.unwrap();
    assert_eq!(movies.items, vec![movie]);
}

async fn show_needs_an_existing_movie(f: Fixture) {
    let err = f
        .store
        .create_show(flat_show(MovieId(4242), Utc::now(), 10))
        .await
        .unwrap_err();
    assert_eq!(err, SaveShowError::MovieNotFound);
}

async fn shows_are_filtered_and_count_available_seats(f: Fixture) {
    let up = f.movie("Up").await;
    let alien = f.movie("Alien").await;
    let day = |d: u32, h: u32| Utc.with_ymd_and_hms(2099, 3, d, h, 0, 0).unwrap();
    let late = f.show_at(up.id, day(2, 20), 10).await;
    let early = f.show_at(up.id, day(2, 9), 10).await;
    let other = f.show_at(alien.id, day(3, 9), 10).await;
    let past = f
        .show_at(alien.id, Utc::now() - Duration::hours(1), 10)
        .await;
    let user = f.user("john").await;
    f.book(&late, &user, &[1, 2, 3]).await.unwrap();

    let all = f
        .store
        .list_shows(ShowFilter::default(), Page::default())
        .await
        .unwrap();
    let ids: Vec<_> = all.items.iter().map(|s| s.id).collect();
    assert_eq!(ids, vec![past.id, early.id, late.id, other.id]);
    assert_eq!(all.total, 4);
    let late_listed = all.items.iter().find(|s| s.id == late.id).unwrap();
    assert_eq!(late_listed.available_seats, 7);
    assert_eq!(late_listed.movie.title.as_str(), "Up");

    let of_up = f
        .store
        .list_shows(
            ShowFilter {
                movie: Some(up.id),
                ..Default::default()
            },
            Page::default(),
        )
        .await
        .unwrap();
    assert_eq!(of_up.total, 2);
    let on_day = f
        .store
        .list_shows(
            ShowFilter {
                date: NaiveDate::from_ymd_opt(2099, 3, 3).map(|d| ShowDate::parse(d).unwrap()),
                ..Default::default()
            },
            Page::default(),
        )
        .await
        .unwrap();
    assert_eq!(
        on_day.items.iter().map(|s| s.id).collect::<Vec<_>>(),
        vec![other.id]
    );
    let upcoming = f
        .store
        .list_shows(
            ShowFilter {
                starts_after: Some(Utc::now()),
                ..Default::default()
            },
            Page::new(Some(1), Some(1)).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(upcoming.total, 3);
    assert_eq!(
        upcoming.items.iter().map(|s| s.id).collect::<Vec<_>>(),
        vec![late.id]
    );

    let past_the_end = f
        .store
        .list_shows(ShowFilter::default(), Page::new(Some(2), Some(10)).unwrap())
        .await
        .unwrap();
    assert!(past_the_end.items.is_empty());
    assert_eq!(
        past_the_end.total, 4,
        "the total is known past the last page"
    );
    let second_page = f
        .store
        .list_shows(ShowFilter::default(), Page::new(Some(2), Some(2)).unwrap())
        .await
        .unwrap();
    assert_eq!(second_page.total, 4);
    assert_eq!(
        second_page.items.iter().map(|s| s.id).collect::<Vec<_>>(),
        vec![late.id, other.id]
    );
    assert_eq!(second_page.items[0].available_seats, 7);

    let one = f.store.get_show(late.id).await.unwrap().unwrap();
    assert_eq!(one.available_seats, 7);
    assert_eq!(one.start_time.get(), day(2, 20));
}

async fn booking_a_free_seat_confirms_it(f: Fixture) {
    let show = f.show(10).await;
    let user = f.user("john").await;
    let booked = f.book(&show, &user, &[5]).await.unwrap();
    assert_eq!(booked.len(), 1);
    assert_eq!(booked[0].seat_number, 5);
    assert_eq!(booked[0].status, BookingStatus::Confirmed);
    assert_eq!(booked[0].username, "john");
    assert_eq!(booked[0].cancelled_at, None);
    let got = f.store.get_booking(booked[0].id).await.unwrap().unwrap();
    assert_eq!(got, booked[0]);
    assert_eq!(f.booked(&show).await, vec![5]);
}

async fn second_booking_of_same_seat_is_rejected(f: Fixture) {
    let show = f.show(10).await;
    let (a, b) = (f.user("a").await, f.user("b").await);
    f.book(&show, &a, &[5]).await.unwrap();
    assert_eq!(
        f.book(&show, &b, &[5]).await.unwrap_err(),
        BookError::SeatTaken { seats: vec![5] }
    );
}

async fn seat_outside_the_show_is_rejected(f: Fixture) {
    let show = f.show(10).await;
    let user = f.user("john").await;
    assert_eq!(
        f.book(&show, &user, &[10, 11]).await.unwrap_err(),
        BookError::SeatOutOfRange {
            field: "seat_numbers",
            seats: vec![11],
            total_seats: 10
        }
    );
    assert!(f.booked(&show).await.is_empty());
}

async fn started_show_cannot_be_booked(f: Fixture) {
    let movie = f.movie("Up").await;
    let show = f
        .show_at(movie.id, Utc::now() - Duration::minutes(1), 10)
        .await;
    let user = f.user("john").await;
    assert_eq!(
        f.book(&show, &user, &[1]).await.unwrap_err(),
        BookError::ShowStarted
    );
}

async fn unknown_show_is_not_found(f: Fixture) {
    let user = f.user("john").await;
    let err = f
        .store
        .book_seats(
            ShowId(777),
            &user,
            &SeatSelection::new(&[1]).unwrap(),
            Utc::now(),
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(err, BookError::ShowNotFound);
}

async fn multi_seat_booking_is_all_or_none(f: Fixture) {
    let show = f.show(10).await;
    let (a, b) = (f.user("a").await, f.user("b").await);
    f.book(&show, &a, &[6]).await.unwrap();
    assert_eq!(
        f.book(&show, &b, &[4, 5, 6, 7]).await.unwrap_err(),
        BookError::SeatTaken { seats: vec![6] }
    );
    assert_eq!(
        f.booked(&show).await,
        vec![6],
        "no seat of a refused request is kept"
    );
    let ok = f.book(&show, &b, &[7, 4, 5]).await.unwrap();
    assert_eq!(
        ok.iter().map(|b| b.seat_number).collect::<Vec<_>>(),
        vec![4, 5, 7]
    );
}

async fn cancelled_seat_can_be_booked_again(f: Fixture) {
    let show = f.show(10).await;
    let (a, b) = (f.user("a").await, f.user("b").await);
    let first = f.book(&show, &a, &[3]).await.unwrap().remove(0);
    let cancelled = f
        .store
        .cancel_booking(first.id, &a, Utc::now(), None)
        .await
        .unwrap();
    assert_eq!(cancelled.status, BookingStatus::Cancelled);
    assert!(cancelled.cancelled_at.is_some());
    assert!(f.booked(&show).await.is_empty());
    let again = f.book(&show, &b, &[3]).await.unwrap();
    assert_eq!(again[0].seat_number, 3);
    // The cancelled row is kept: a soft delete.
    let history = f.store.get_booking(first.id).await.unwrap().unwrap();
    assert_eq!(history.status, BookingStatus::Cancelled);
}

async fn only_the_owner_cancels_and_only_once(f: Fixture) {
    let show = f.show(10).await;
    let (a, b) = (f.user("a").await, f.user("b").await);
    let booking = f.book(&show, &a, &[1]).await.unwrap().remove(0);
    assert_eq!(
        f.store
            .cancel_booking(booking.id, &b, Utc::now(), None)
            .await
            .unwrap_err(),
        CancelError::NotFound
    );
    assert_eq!(
        f.store
            .cancel_booking(BookingId(99_999), &a, Utc::now(), None)
            .await
            .unwrap_err(),
        CancelError::NotFound
    );
    f.store
        .cancel_booking(booking.id, &a, Utc::now(), None)
        .await
        .unwrap();
    assert_eq!(
        f.store
            .cancel_booking(booking.id, &a, Utc::now(), None)
            .await
            .unwrap_err(),
        CancelError::AlreadyCancelled
    );
}

async fn started_show_cannot_be_cancelled(f: Fixture) {
    let show = f.show(10).await;
    let user = f.user("john").await;
    let booking = f.book(&show, &user, &[1]).await.unwrap().remove(0);
    let after_start = show.start_time.get() + Duration::minutes(1);
    assert_eq!(
        f.store
            .cancel_booking(booking.id, &user, after_start, None)
            .await
            .unwrap_err(),
        CancelError::ShowStarted
    );
}

async fn bookings_are_listed_newest_first_with_status_filter(f: Fixture) {
    let show = f.show(10).await;
    let (a, b) = (f.user("a").await, f.user("b").await);
    let first = f.book(&show, &a, &[1]).await.unwrap().remove(0);
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let second = f.book(&show, &a, &[2]).await.unwrap().remove(0);
    f.book(&show, &b, &[3]).await.unwrap();
    f.store
        .cancel_booking(first.id, &a, Utc::now(), None)
        .await
        .unwrap();

    let all = f
        .store
        .list_bookings(&a, None, Page::default())
        .await
        .unwrap();
    assert_eq!(all.total, 2);
    assert_eq!(
        all.items.iter().map(|b| b.id).collect::<Vec<_>>(),
        vec![second.id, first.id]
    );
    let cancelled = f
        .store
        .list_bookings(&a, Some(BookingStatus::Cancelled), Page::default())
        .await
        .unwrap();
    assert_eq!(
        cancelled.items.iter().map(|b| b.id).collect::<Vec<_>>(),
        vec![first.id]
    );
}

async fn show_with_confirmed_bookings_cannot_be_deleted_or_shrunk(f: Fixture) {
    let show = f.show(50).await;
    let user = f.user("john").await;
    let booking = f.book(&show, &user, &[40]).await.unwrap().remove(0);
    assert_eq!(
        f.store.delete_show(show.id).await.unwrap_err(),
        DeleteError::HasConfirmedBookings
    );
    assert_eq!(
        f.store
            .update_show(
                show.id,
                ShowPatch {
                    total_seats: Some(TotalSeats::parse(39).unwrap()),
                    ..Default::default()
                }
            )
            .await
            .unwrap_err(),
        SaveShowError::SeatBooked { highest_booked: 40 }
    );
    let shrunk = f
        .store
        .update_show(
            show.id,
            ShowPatch {
                total_seats: Some(TotalSeats::parse(40).unwrap()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!((shrunk.total_seats.get(), shrunk.available_seats), (40, 39));
    assert_eq!(
        f.store
            .update_show(
                show.id,
                ShowPatch {
                    movie_id: Some(MovieId(999)),
                    ..Default::default()
                }
            )
            .await
            .unwrap_err(),
        SaveShowError::MovieNotFound
    );
    f.store
        .cancel_booking(booking.id, &user, Utc::now(), None)
        .await
        .unwrap();
    f.store.delete_show(show.id).await.unwrap();
    assert!(f.store.get_show(show.id).await.unwrap().is_none());
    assert_eq!(
        f.store.delete_show(show.id).await.unwrap_err(),
        DeleteError::NotFound
    );
}

async fn movie_with_confirmed_bookings_cannot_be_deleted(f: Fixture) {
    let show = f.show(10).await;
    let user = f.user("john").await;
    f.book(&show, &user, &[1]).await.unwrap();
    assert_eq!(
        f.store.delete_movie(show.movie.id).await.unwrap_err(),
        DeleteError::HasConfirmedBookings
    );
    assert!(f.store.get_show(show.id).await.unwrap().is_some());
}

/// Starts every task at once (behind a barrier) and collects the results.
async fn race<F, Fut, T>(tasks: usize, make: F) -> Vec<T>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let barrier = Arc::new(tokio::sync::Barrier::new(tasks));
    let handles: Vec<_> = (0..tasks)
        .map(|i| {
            let barrier = barrier.clone();
            let work = make(i);
            tokio::spawn(async move {
                barrier.wait().await;
                work.await
            })
        })
        .collect();
    let mut results = Vec::with_capacity(tasks);
    for handle in handles {
        results.push(handle.await.expect("task panicked"));
    }
    results
}

async fn users(f: &Fixture, n: usize) -> Vec<AuthUser> {
    let mut users = Vec::with_capacity(n);
    for i in 0..n {
        users.push(f.user(&format!("racer{i}")).await);
    }
    users
}

async fn race_64_tasks_for_one_seat_exactly_one_wins(f: Fixture) {
    let show = f.show(100).await;
    let users = users(&f, 64).await;
    let store = f.store.clone();
    let results = race(64, |i| {
        let (store, user) = (store.clone(), users[i].clone());
        let seats = SeatSelection::new(&[7]).unwrap();
        async move {
            store
                .book_seats(show.id, &user, &seats, Utc::now(), None)
                .await
        }
    })
    .await;
    let wins = results.iter().filter(|r| r.is_ok()).count();
    let taken = results
        .iter()
        .filter(|r| matches!(r, Err(BookError::SeatTaken { seats }) if seats == &vec![7]))
        .count();
    assert_eq!((wins, taken), (1, 63), "results: {results:?}");
    assert_eq!(f.booked(&show).await, vec![7]);
}

async fn race_64_tasks_for_64_seats_all_win(f: Fixture) {
    let show = f.show(64).await;
    let users = users(&f, 64).await;
    let store = f.store.clone();
    let results = race(64, |i| {
        let (store, user) = (store.clone(), users[i].clone());
        let seats = SeatSelection::new(&[i as i64 + 1]).unwrap();
        async move {
            store
                .book_seats(show.id, &user, &seats, Utc::now(), None)
                .await
        }
    })
    .await;
    let failures: Vec<_> = results.iter().filter(|r| r.is_err()).collect();
    assert!(failures.is_empty(), "failures: {failures:?}");
    assert_eq!(f.booked(&show).await, (1..=64).collect::<Vec<i32>>());
    assert_eq!(
        f.store
            .get_show(show.id)
            .await
            .unwrap()
            .unwrap()
            .available_seats,
        0
    );
}

async fn race_overlapping_multi_seat_requests_never_deadlock_or_half_book(f: Fixture) {
    let show = f.show(100).await;
    let users = users(&f, 2).await;
    let store = f.store.clone();
    for round in 0..10i64 {
        let base = round * 10 + 1;
        // Written in opposite orders; each wants the other's first seat.
        let requests = [
            vec![base, base + 1, base + 2, base + 3],
            vec![base + 4, base + 3, base + 2, base + 1],
        ];
        let results = race(2, |i| {
            let (store, user) = (store.clone(), users[i].clone());
            let seats = SeatSelection::new(&requests[i]).unwrap();
            async move {
                store
                    .book_seats(show.id, &user, &seats, Utc::now(), None)
                    .await
            }
        })
        .await;
        let wins: Vec<usize> = (0..2).filter(|&i| results[i].is_ok()).collect();
        assert_eq!(wins.len(), 1, "round {round}: {results:?}");
        let loser = 1 - wins[0];
        assert!(
            matches!(&results[loser], Err(BookError::SeatTaken { .. })),
            "round {round}: {results:?}"
        );
        let mut expected: Vec<i32> = requests[wins[0]].iter().map(|&n| n as i32).collect();
        expected.sort_unstable();
        let booked: Vec<i32> = f
            .booked(&show)
            .await
            .into_iter()
            .filter(|&s| s >= base as i32 && s < base as i32 + 10)
            .collect();
        assert_eq!(
            booked, expected,
            "round {round}: exactly the winner's seats"
        );
    }
}

async fn race_across_two_processes_exactly_one_wins(f: Fixture) {
    let show = f.show(10).await;
    let users = users(&f, 32).await;
    let stores = [f.store.clone(), f.second_process().await];
    let results = race(32, |i| {
        let (store, user) = (stores[i % 2].clone(), users[i].clone());
        let seats = SeatSelection::new(&[3]).unwrap();
        async move {
            store
                .book_seats(show.id, &user, &seats, Utc::now(), None)
                .await
        }
    })
    .await;
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "{results:?}"
    );
    // Which task wins is a real race; exactly one does, and every other loses on the seat.
    assert!(
        results
            .iter()
            .all(|r| r.is_ok()
                || matches!(r, Err(BookError::SeatTaken { seats }) if seats == &vec![3])),
        "{results:?}"
    );
    assert_eq!(f.booked(&show).await, vec![3]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_database_scheme_is_refused() {
    let err = Database::connect(&infra_diesel::StoreSettings::new("mysql://x")).err();
    assert!(err.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_start_ups_migrate_once_without_failing() {
    let db = TestDatabase::empty(Backend::Postgres).await;
    let mut pools = Vec::new();
    for _ in 0..4 {
        pools.push(db.connect().await);
    }
    let results = futures_util::future::join_all(pools.iter().map(Database::migrate)).await;
    let errors: Vec<String> = results
        .iter()
        .filter_map(|r| r.as_ref().err().map(ToString::to_string))
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    let store = DieselStore::new(pools.remove(0));
    assert!(store.list_movies(Page::default()).await.is_ok());
}
