//! Unit tests of the booking use cases, over mocks of their ports.

use std::sync::Arc;

use super::*;
use crate::accounts::AuthUser;
use crate::catalog::*;
use crate::idempotency::*;
use crate::shared::*;
use chrono::{DateTime, TimeZone, Utc};
use futures_executor::block_on;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 15, 10, 0, 0).unwrap()
}

fn john() -> AuthUser {
    AuthUser {
        id: UserId(1),
        username: "john".into(),
        is_staff: false,
    }
}

fn booking(id: i64, user: i64) -> Booking {
    Booking {
        id: BookingId(id),
        user_id: UserId(user),
        username: "john".into(),
        show_id: ShowId(1),
        seat_number: 5,
        status: BookingStatus::Confirmed,
        booking_time: now(),
        cancelled_at: None,
        seat_label: "5".into(),
        price: Price::FREE,
        currency: Currency::parse("EUR").unwrap(),
    }
}

fn service(repo: MockBookingRepository) -> BookingService {
    with_shows(repo, MockShowRepository::new())
}

fn with_shows(repo: MockBookingRepository, shows: MockShowRepository) -> BookingService {
    let mut clock = MockClock::new();
    clock.expect_now().returning(now);
    BookingService::new(Arc::new(repo), Arc::new(shows), Arc::new(clock))
}

/// A show of `total` flat seats, starting `starts_in` after now, with `booked` taken.
fn shows_with(total: i32, starts_in: chrono::Duration, booked: Vec<i32>) -> MockShowRepository {
    shows_holding(total, starts_in, booked, vec![])
}

/// As [`shows_with`], with `held` seats in active holds too.
fn shows_holding(
    total: i32,
    starts_in: chrono::Duration,
    booked: Vec<i32>,
    held: Vec<i32>,
) -> MockShowRepository {
    let mut shows = MockShowRepository::new();
    shows.expect_booked_seats().returning(move |id| {
        Ok((id == ShowId(1)).then(|| ShowSeats {
            show: Show {
                id,
                movie: MovieRef {
                    id: MovieId(1),
                    title: Title::parse("Up").unwrap(),
                },
                screen_name: ScreenName::parse("Screen 1").unwrap(),
                start_time: StartTime::parse(now() + starts_in).unwrap(),
                total_seats: TotalSeats::parse(total.into()).unwrap(),
                available_seats: total - booked.len() as i32,
                screen: None,
                prices: Prices::flat(),
                currency: Currency::parse("EUR").unwrap(),
            },
            layout: Layout::flat(total),
            booked: booked.clone(),
            held: held.clone(),
        }))
    });
    shows
}

#[test]
fn best_seats_picks_from_the_layout_and_the_booked_seats() {
    let hour = chrono::Duration::hours(1);
    let svc = with_shows(MockBookingRepository::new(), shows_with(8, hour, vec![4]));
    // One row of 8: seat 4 taken, so 5-6 strands nothing and is nearest the middle.
    assert_eq!(
        block_on(svc.best_seats(1, Some(2), None, None)),
        Ok(vec![5, 6])
    );
    assert_eq!(
        block_on(svc.best_seats(1, Some(5), None, None)),
        Err(BestSeatsError::NoAdjacentSeats)
    );
    assert_eq!(
        block_on(svc.best_seats(2, Some(2), None, None)),
        Err(BestSeatsError::ShowNotFound)
    );
    assert!(matches!(
        block_on(svc.best_seats(1, Some(11), None, None)),
        Err(BestSeatsError::Invalid(f)) if f.0.contains_key("count")
    ));
    assert!(matches!(
        block_on(svc.best_seats(1, Some(2), Some("premium"), None)),
        Err(BestSeatsError::Invalid(f)) if f.0.contains_key("category")
    ));
}

#[test]
fn best_seats_count_held_seats_as_taken() {
    let hour = chrono::Duration::hours(1);
    let shows = shows_holding(8, hour, vec![], vec![3, 4]);
    let svc = with_shows(MockBookingRepository::new(), shows);
    // Free, the middle pair 4-5 would win; with 3-4 held, 5-6 is nearest without
    // stranding a seat.
    assert_eq!(
        block_on(svc.best_seats(1, Some(2), None, None)),
        Ok(vec![5, 6])
    );
}

#[test]
fn best_seats_of_a_started_show_is_refused() {
    let svc = with_shows(
        MockBookingRepository::new(),
        shows_with(8, chrono::Duration::zero(), vec![]),
    );
    assert_eq!(
        block_on(svc.best_seats(1, Some(2), None, None)),
        Err(BestSeatsError::ShowStarted)
    );
}

fn one(seat: i64) -> BookInput {
    BookInput {
        seat_number: Some(seat),
        seat_numbers: None,
    }
}

#[test]
fn booking_request_must_name_seats_one_way() {
    let both = BookInput {
        seat_number: Some(1),
        seat_numbers: Some(vec![2]),
    };
    assert!(both.parse().is_err());
    assert!(BookInput::default().parse().is_err());
    assert!(one(0).parse().is_err());
    assert!(one(-1).parse().is_err());
    let many = BookInput {
        seat_number: None,
        seat_numbers: Some(vec![3, 3]),
    };
    assert!(many.parse().is_err());
    let empty = BookInput {
        seat_number: None,
        seat_numbers: Some(vec![]),
    };
    assert!(empty.parse().is_err());
}

#[test]
fn invalid_request_never_reaches_storage() {
    let svc = service(MockBookingRepository::new());
    assert!(matches!(
        block_on(svc.book(&john(), 1, &one(0), None)),
        Err(BookError::Invalid(_))
    ));
}

#[test]
fn valid_request_is_booked_in_seat_order_at_the_current_time() {
    let mut repo = MockBookingRepository::new();
    repo.expect_book_seats()
        .withf(|show, user, seats, at, answer| {
            *show == ShowId(1)
                && user.id == UserId(1)
                && seats.numbers() == vec![5, 6, 7]
                && *at == now()
                && answer.is_none()
        })
        .returning(|_, _, _, _, _| Ok(vec![booking(1, 1)]));
    let svc = service(repo);
    let input = BookInput {
        seat_number: None,
        seat_numbers: Some(vec![7, 5, 6]),
    };
    assert_eq!(
        block_on(svc.book(&john(), 1, &input, None)).unwrap().len(),
        1
    );
}

#[test]
fn seat_taken_passes_through_with_its_seats() {
    let mut repo = MockBookingRepository::new();
    repo.expect_book_seats()
        .returning(|_, _, _, _, _| Err(BookError::SeatTaken { seats: vec![5] }));
    let svc = service(repo);
    assert_eq!(
        block_on(svc.book(&john(), 1, &one(5), None)).unwrap_err(),
        BookError::SeatTaken { seats: vec![5] }
    );
}

#[test]
fn someone_elses_booking_is_not_found() {
    let mut repo = MockBookingRepository::new();
    repo.expect_get_booking()
        .returning(|id| Ok(Some(booking(id.0, 2))));
    let svc = service(repo);
    assert_eq!(
        block_on(svc.get(&john(), 4)).unwrap_err(),
        BookingsError::NotFound
    );
}

#[test]
fn own_booking_is_found() {
    let mut repo = MockBookingRepository::new();
    repo.expect_get_booking()
        .returning(|id| Ok(Some(booking(id.0, 1))));
    assert_eq!(
        block_on(service(repo).get(&john(), 4)).unwrap().id,
        BookingId(4)
    );
}

#[test]
fn list_parses_status_filter() {
    let mut repo = MockBookingRepository::new();
    repo.expect_list_bookings()
        .withf(|user, status, _| user.id == UserId(1) && *status == Some(BookingStatus::Cancelled))
        .returning(|_, _, _| {
            Ok(Listing {
                items: vec![],
                total: 0,
            })
        });
    let svc = service(repo);
    block_on(svc.list(&john(), Some("cancelled"), None, None)).unwrap();
    let err = block_on(svc.list(&john(), Some("nope"), Some(0), None)).unwrap_err();
    let BookingsError::Invalid(fields) = err else {
        panic!("expected Invalid")
    };
    assert!(fields.0.contains_key("status") && fields.0.contains_key("limit"));
}

#[test]
fn cancel_is_done_by_the_adapter_at_the_current_time() {
    let mut repo = MockBookingRepository::new();
    repo.expect_cancel_booking()
        .withf(|id, user, at, answer| {
            *id == BookingId(4) && user.id == UserId(1) && *at == now() && answer.is_none()
        })
        .returning(|_, _, _, _| Err(CancelError::AlreadyCancelled));
    assert_eq!(
        block_on(service(repo).cancel(&john(), 4, None)).unwrap_err(),
        CancelError::AlreadyCancelled
    );
}

fn claim() -> IdempotencyClaim {
    IdempotencyClaim {
        scope: IdempotencyScope {
            user: UserId(1),
            method: "POST".into(),
            path: "/api/shows/1/book/".into(),
            key: IdempotencyKey::parse("k").unwrap(),
        },
        token: ClaimToken("t".into()),
    }
}

fn rendered(status: u16) -> StoredAnswer {
    StoredAnswer {
        status,
        content_type: None,
        body: vec![],
    }
}

#[test]
fn a_booking_hands_its_idempotent_answer_to_the_transaction() {
    let mut repo = MockBookingRepository::new();
    repo.expect_book_seats()
        .withf(|_, _, _, _, answer| {
            answer.is_some_and(|a| a.claim == claim() && a.render(&[]).status == 201)
        })
        .times(1)
        .returning(|_, _, _, _, _| Ok(vec![booking(1, 1)]));
    let answer: IdempotentAnswer<[Booking]> = IdempotentAnswer {
        claim: claim(),
        render: Arc::new(|_: &[Booking]| rendered(201)),
    };
    assert!(block_on(service(repo).book(&john(), 1, &one(5), Some(&answer))).is_ok());
}

#[test]
fn a_cancel_hands_its_idempotent_answer_to_the_transaction() {
    let mut repo = MockBookingRepository::new();
    repo.expect_cancel_booking()
        .withf(|_, _, _, answer| answer.is_some_and(|a| a.claim == claim()))
        .times(1)
        .returning(|id, _, _, _| Ok(booking(id.0, 1)));
    let answer: IdempotentAnswer<Booking> = IdempotentAnswer {
        claim: claim(),
        render: Arc::new(|_: &Booking| rendered(200)),
    };
    assert!(block_on(service(repo).cancel(&john(), 4, Some(&answer))).is_ok());
}
