//! Holds on both backends (one PostgreSQL-only test), at chosen instants (no sleeping): exact expiry and the
//! take-over of an expired hold's seats, housekeeping that is harmless twice and in two
//! processes at once, the per-user cap under a race, and (PostgreSQL) claims of
//! different seats of one show that do not wait for each other.

use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, SubsecRound, Utc};
use domain::*;
use infra_diesel::testing::Backend;

use super::{race, users, Fixture};

infra_diesel::on_both_backends!(
    setup = Fixture::new, worker_threads = 4;
    a_hold_takes_its_seats_until_its_exact_expiry,
    an_expired_hold_is_refused_and_its_seats_are_taken_over_in_one_statement,
    a_confirmation_books_every_seat_at_the_price_held_or_none,
    housekeeping_marks_expired_holds_once_even_from_two_processes,
    a_user_racing_twenty_holds_gets_no_more_than_the_cap,
    a_show_or_movie_goes_with_the_claims_of_its_expired_holds_and_not_with_active_ones,
);

fn policy() -> HoldPolicy {
    HoldPolicy::default()
}

fn seats(raw: &[i64]) -> HoldRequest {
    HoldRequest::Seats(SeatSelection::new(raw).unwrap())
}

impl Fixture {
    async fn hold(
        &self,
        show: &Show,
        user: &AuthUser,
        raw: &[i64],
        now: DateTime<Utc>,
    ) -> Result<Hold, HoldSeatsError> {
        self.store
            .hold_seats(show.id, user.id, &seats(raw), &policy(), now)
            .await
    }

    /// The booked and the held seats at `now`.
    async fn taken_at(&self, show: &Show) -> (Vec<i32>, Vec<i32>) {
        let seats = self.store.booked_seats(show.id).await.unwrap().unwrap();
        (seats.booked, seats.held)
    }
}

async fn a_hold_takes_its_seats_until_its_exact_expiry(f: Fixture) {
    let show = f.show(10).await;
    let [john, jane] = <[AuthUser; 2]>::try_from(users(&f, 2).await).unwrap();
    // PostgreSQL keeps microseconds.
    let now = Utc::now().trunc_subsecs(6);
    let hold = f.hold(&show, &john, &[3, 4], now).await.unwrap();
    assert_eq!(hold.expires_at, now + Duration::seconds(600));
    assert_eq!(hold.status(now), HoldStatus::Active);
    assert_eq!(f.taken_at(&show).await, (vec![], vec![3, 4]));
    let just_before = hold.expires_at - Duration::milliseconds(1);
    assert_eq!(
        f.hold(&show, &jane, &[4, 5], just_before).await,
        Err(HoldSeatsError::SeatTaken { seats: vec![4] })
    );
    let booked = f
        .store
        .book_seats(
            show.id,
            &jane,
            &SeatSelection::new(&[3]).unwrap(),
            just_before,
            None,
        )
        .await;
    assert_eq!(booked, Err(BookError::SeatTaken { seats: vec![3] }));
    // At the expiry instant itself the seats are free.
    let taken_over = f
        .hold(&show, &jane, &[4, 5], hold.expires_at)
        .await
        .unwrap();
    assert_eq!(taken_over.seats.len(), 2);
}

async fn an_expired_hold_is_refused_and_its_seats_are_taken_over_in_one_statement(f: Fixture) {
    let show = f.show(10).await;
    let [john, jane] = <[AuthUser; 2]>::try_from(users(&f, 2).await).unwrap();
    let t0 = Utc::now() - Duration::seconds(700);
    let hold = f.hold(&show, &john, &[1, 2], t0).await.unwrap();
    let now = Utc::now();
    for result in [
        f.store
            .extend_hold(hold.id, john.id, &policy(), now)
            .await
            .map(|_| ()),
        f.store
            .release_hold(hold.id, john.id, now)
            .await
            .map(|_| ()),
    ] {
        assert_eq!(result, Err(HoldError::Expired));
    }
    // Jane's booking takes seat 2 over, with no housekeeping in between.
    let booked = f
        .store
        .book_seats(
            show.id,
            &jane,
            &SeatSelection::new(&[2]).unwrap(),
            now,
            None,
        )
        .await
        .unwrap();
    assert_eq!(booked[0].seat_number, 2);
    assert_eq!(
        f.store.confirm_hold(hold.id, &john, now, None).await,
        Err(ConfirmError::Expired)
    );
    // Even a clock that lags behind cannot confirm a hold whose seat was taken over:
    // nothing is booked for John, not even seat 1.
    let lagging = hold.expires_at - Duration::seconds(1);
    assert_eq!(
        f.store.confirm_hold(hold.id, &john, lagging, None).await,
        Err(ConfirmError::Expired)
    );
    assert_eq!(f.taken_at(&show).await, (vec![2], vec![]));
    let stored = f.store.get_hold(hold.id).await.unwrap().unwrap();
    assert_eq!(stored.status(now), HoldStatus::Expired);
}

async fn a_confirmation_books_every_seat_at_the_price_held_or_none(f: Fixture) {
    let show = f.show(10).await;
    let [john] = <[AuthUser; 1]>::try_from(users(&f, 1).await).unwrap();
    let now = Utc::now();
    let hold = f.hold(&show, &john, &[7, 8], now).await.unwrap();
    let booked = f
        .store
        .confirm_hold(hold.id, &john, now + Duration::seconds(1), None)
        .await
        .unwrap();
    assert_eq!(
        booked.iter().map(|b| b.seat_number).collect::<Vec<_>>(),
        vec![7, 8]
    );
    assert!(booked.iter().all(|b| b.status == BookingStatus::Confirmed));
    assert_eq!(f.taken_at(&show).await, (vec![7, 8], vec![]));
    assert_eq!(
        f.store
            .get_hold(hold.id)
            .await
            .unwrap()
            .unwrap()
            .stored_status,
        HoldStatus::Confirmed
    );
    // Confirmed seats stay taken past the hold's expiry, and housekeeping leaves them.
    let later = hold.expires_at + Duration::seconds(1);
    assert_eq!(f.store.expire_holds(later, 100).await, Ok(0));
    assert_eq!(f.taken_at(&show).await, (vec![7, 8], vec![]));
    // Cancelling a confirmed seat frees it.
    f.store
        .cancel_booking(booked[0].id, &john, now, None)
        .await
        .unwrap();
    assert_eq!(f.taken_at(&show).await, (vec![8], vec![]));
}

async fn housekeeping_marks_expired_holds_once_even_from_two_processes(f: Fixture) {
    let show = f.show(40).await;
    let people = users(&f, 10).await;
    let t0 = Utc::now() - Duration::seconds(601);
    let mut holds = Vec::new();
    for (i, user) in people.iter().enumerate() {
        let at = if i < 8 { t0 } else { Utc::now() };
        let seat = i as i64 * 2 + 1;
        holds.push(f.hold(&show, user, &[seat, seat + 1], at).await.unwrap());
    }
    // One expired hold's seat was taken over before housekeeping ran.
    f.store
        .book_seats(
            show.id,
            &people[9],
            &SeatSelection::new(&[1]).unwrap(),
            Utc::now(),
            None,
        )
        .await
        .unwrap();
    let other = f.second_process().await;
    let now = Utc::now();
    let (a, b) = tokio::join!(f.store.expire_holds(now, 3), other.expire_holds(now, 3));
    let mut marked = a.unwrap() + b.unwrap();
    loop {
        match f.store.expire_holds(now, 3).await.unwrap() {
            0 => break,
            n => marked += n,
        }
    }
    assert_eq!(marked, 8);
    assert_eq!(
        f.store.expire_holds(now, 100).await,
        Ok(0),
        "harmless twice"
    );
    for (i, hold) in holds.iter().enumerate() {
        let stored = f.store.get_hold(hold.id).await.unwrap().unwrap();
        let expected = if i < 8 {
            HoldStatus::Expired
        } else {
            HoldStatus::Active
        };
        assert_eq!(stored.stored_status, expected, "hold {i}");
    }
    // The taken-over seat stays booked; the two active holds keep theirs.
    assert_eq!(f.taken_at(&show).await, (vec![1], vec![17, 18, 19, 20]));
}

async fn a_user_racing_twenty_holds_gets_no_more_than_the_cap(f: Fixture) {
    let show = f.show(40).await;
    let [john] = <[AuthUser; 1]>::try_from(users(&f, 1).await).unwrap();
    let store = f.store.clone();
    let results = race(20, |i| {
        let (store, john) = (store.clone(), john.clone());
        let request = seats(&[i as i64 + 1]);
        async move {
            store
                .hold_seats(show.id, john.id, &request, &policy(), Utc::now())
                .await
        }
    })
    .await;
    let held = results.iter().filter(|r| r.is_ok()).count();
    let refused = results
        .iter()
        .filter(|r| matches!(r, Err(HoldSeatsError::HoldLimit { max: 10, .. })))
        .count();
    assert_eq!((held, refused), (10, 10), "{results:?}");
    assert_eq!(f.taken_at(&show).await.1.len(), 10);
}

/// Row locks are PostgreSQL's; SQLite has one writer at a time by design.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_claims_of_different_seats_do_not_wait_for_each_other() {
    let f = Fixture::new(Backend::Postgres).await;
    let show = f.show(10).await;
    let [john, jane] = <[AuthUser; 2]>::try_from(users(&f, 2).await).unwrap();
    // A transaction in flight claiming seat 1 of the show.
    let held =
        f.db.hold_locks(&format!(
            "SELECT 1 FROM shows WHERE id = {} FOR SHARE; \
             INSERT INTO seat_claims (show_id, seat_number) VALUES ({}, 1);",
            show.id.0, show.id.0
        ))
        .await;
    let quick = StdDuration::from_secs(2);
    let other_seat = tokio::time::timeout(quick, f.hold(&show, &john, &[2, 3], Utc::now())).await;
    assert!(matches!(other_seat, Ok(Ok(_))), "{other_seat:?}");
    let booked = tokio::time::timeout(
        quick,
        f.store.book_seats(
            show.id,
            &jane,
            &SeatSelection::new(&[4]).unwrap(),
            Utc::now(),
            None,
        ),
    )
    .await;
    assert!(matches!(booked, Ok(Ok(_))), "{booked:?}");
    // The same seat waits for the transaction in flight, and is free once it rolls back.
    let store = f.store.clone();
    let same_seat = tokio::spawn(async move {
        store
            .hold_seats(show.id, jane.id, &seats(&[1]), &policy(), Utc::now())
            .await
    });
    tokio::time::sleep(StdDuration::from_millis(300)).await;
    assert!(!same_seat.is_finished(), "seat 1 did not wait");
    held.release().await;
    assert!(same_seat.await.unwrap().is_ok());
}

async fn a_show_or_movie_goes_with_the_claims_of_its_expired_holds_and_not_with_active_ones(
    f: Fixture,
) {
    let movie = f.movie("Alien").await;
    let start = Utc::now() + Duration::days(1);
    let (first, second) = (
        f.show_at(movie.id, start, 10).await,
        f.show_at(movie.id, start, 10).await,
    );
    let [john] = <[AuthUser; 1]>::try_from(users(&f, 1).await).unwrap();
    let long_ago = Utc::now() - Duration::seconds(700);
    f.hold(&first, &john, &[1, 2], long_ago).await.unwrap();
    f.hold(&second, &john, &[3], long_ago).await.unwrap();
    let active = f.hold(&second, &john, &[4], Utc::now()).await.unwrap();
    assert_eq!(
        f.store.delete_show(second.id).await,
        Err(DeleteError::HasConfirmedBookings)
    );
    assert_eq!(f.store.delete_show(first.id).await, Ok(()));
    assert_eq!(f.db.count_rows("seat_claims").await, 2);
    f.store
        .release_hold(active.id, john.id, Utc::now())
        .await
        .unwrap();
    assert_eq!(f.store.delete_movie(movie.id).await, Ok(()));
    assert_eq!(f.db.count_rows("seat_claims").await, 0);
}
