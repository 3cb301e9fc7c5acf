//! Idempotency keys on both backends: claiming, replaying, reuse, release, take-over of
//! expired and abandoned keys, scoping, housekeeping, a race of claims of one key, and
//! answers committed in the booking and cancel transactions themselves.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use domain::idempotency::rules::Verdict;
use domain::*;

use super::{race, Fixture};

infra_diesel::on_both_backends!(
    setup = Fixture::new, worker_threads = 4;
    a_key_is_claimed_once_and_its_answer_replayed,
    a_released_key_runs_again_and_only_its_holder_releases_it,
    an_abandoned_or_expired_key_is_taken_over_and_the_old_claim_loses_it,
    a_key_is_scoped_to_user_method_and_path,
    a_booking_commits_its_answer_with_the_seats,
    a_refused_booking_commits_nothing_and_a_lost_claim_books_nothing,
    a_cancel_commits_its_answer_with_the_cancellation,
    housekeeping_deletes_only_expired_keys_and_may_run_in_two_processes_at_once,
    race_32_claims_of_one_key_exactly_one_runs,
);

fn policy() -> IdempotencyPolicy {
    IdempotencyPolicy {
        retention: Duration::days(1),
        in_flight_timeout: Duration::seconds(60),
    }
}

fn scope(user: &AuthUser, method: &str, path: &str, key: &str) -> IdempotencyScope {
    IdempotencyScope {
        user: user.id,
        method: method.into(),
        path: path.into(),
        key: IdempotencyKey::parse(key).unwrap(),
    }
}

fn claim(scope: &IdempotencyScope, token: &str) -> IdempotencyClaim {
    IdempotencyClaim {
        scope: scope.clone(),
        token: ClaimToken(token.into()),
    }
}

fn body(n: u8) -> RequestFingerprint {
    RequestFingerprint(vec![n; 32])
}

fn answer(status: u16, body: &str) -> StoredAnswer {
    StoredAnswer {
        status,
        content_type: Some("application/json".into()),
        body: body.as_bytes().to_vec(),
    }
}

impl Fixture {
    async fn begin(
        &self,
        claim: &IdempotencyClaim,
        fingerprint: &RequestFingerprint,
        at: DateTime<Utc>,
    ) -> Verdict {
        self.store
            .begin(claim, fingerprint, at, &policy())
            .await
            .unwrap()
    }
}

async fn a_key_is_claimed_once_and_its_answer_replayed(f: Fixture) {
    let user = f.user("john").await;
    let scope = scope(&user, "POST", "/api/shows/1/book/", "k1");
    let (first, retry) = (claim(&scope, "t1"), claim(&scope, "t2"));
    let now = Utc::now();
    assert_eq!(f.begin(&first, &body(1), now).await, Verdict::Claim);
    assert_eq!(f.begin(&retry, &body(1), now).await, Verdict::InFlight);
    assert_eq!(f.begin(&retry, &body(2), now).await, Verdict::Reused);

    let kept = answer(201, r#"{"id":7}"#);
    assert!(f.store.complete(&first, &kept).await.unwrap());
    // Once answered, a second write changes nothing.
    assert!(!f
        .store
        .complete(&first, &answer(201, "other"))
        .await
        .unwrap());
    assert_eq!(
        f.begin(&retry, &body(1), now).await,
        Verdict::Replay(kept.clone())
    );
    assert_eq!(f.begin(&retry, &body(2), now).await, Verdict::Reused);
    // Releasing an answered key changes nothing either.
    f.store.release(&first).await.unwrap();
    assert_eq!(f.begin(&retry, &body(1), now).await, Verdict::Replay(kept));
}

async fn a_released_key_runs_again_and_only_its_holder_releases_it(f: Fixture) {
    let user = f.user("john").await;
    let scope = scope(&user, "POST", "/api/movies/", "k");
    let (first, second) = (claim(&scope, "t1"), claim(&scope, "t2"));
    let now = Utc::now();
    assert_eq!(f.begin(&first, &body(1), now).await, Verdict::Claim);
    // Not the holder: nothing happens.
    f.store.release(&second).await.unwrap();
    assert_eq!(f.begin(&second, &body(1), now).await, Verdict::InFlight);
    f.store.release(&first).await.unwrap();
    // Released, even another body is a new request.
    assert_eq!(f.begin(&second, &body(2), now).await, Verdict::Claim);
}

async fn an_abandoned_or_expired_key_is_taken_over_and_the_old_claim_loses_it(f: Fixture) {
    let user = f.user("john").await;
    let scope = scope(&user, "PATCH", "/api/movies/1/", "k");
    let (dead, retry, later) = (
        claim(&scope, "dead"),
        claim(&scope, "retry"),
        claim(&scope, "later"),
    );
    let t0 = Utc::now() - Duration::days(2);
    assert_eq!(f.begin(&dead, &body(1), t0).await, Verdict::Claim);
    let before_timeout = t0 + Duration::seconds(59);
    assert_eq!(
        f.begin(&retry, &body(1), before_timeout).await,
        Verdict::InFlight
    );
    let past_timeout = t0 + Duration::seconds(60);
    assert_eq!(
        f.begin(&retry, &body(1), past_timeout).await,
        Verdict::Claim
    );
    // The first request's process is gone; were it not, it could no longer answer.
    assert!(!f.store.complete(&dead, &answer(200, "dead")).await.unwrap());
    f.store.release(&dead).await.unwrap();
    assert!(f.store.complete(&retry, &answer(200, "ok")).await.unwrap());
    assert_eq!(
        f.begin(&later, &body(1), past_timeout).await,
        Verdict::Replay(answer(200, "ok"))
    );
    // Past retention, the key is new again, whatever its body.
    let expired = past_timeout + Duration::days(1);
    assert_eq!(f.begin(&later, &body(2), expired).await, Verdict::Claim);
}

async fn a_key_is_scoped_to_user_method_and_path(f: Fixture) {
    let (john, jane) = (f.user("john").await, f.user("jane").await);
    let now = Utc::now();
    let long_path = format!("/api/movies/{}/", "9".repeat(20_000));
    let scopes = [
        scope(&john, "POST", "/api/bookings/1/cancel/", "same"),
        scope(&jane, "POST", "/api/bookings/1/cancel/", "same"),
        scope(&john, "DELETE", "/api/bookings/1/cancel/", "same"),
        scope(&john, "POST", "/api/bookings/2/cancel/", "same"),
        scope(&john, "POST", &long_path, "same"),
        scope(&john, "POST", "/api/bookings/1/cancel/", "other"),
    ];
    for (i, scope) in scopes.iter().enumerate() {
        let verdict = f
            .begin(&claim(scope, &format!("t{i}")), &body(1), now)
            .await;
        assert_eq!(verdict, Verdict::Claim, "{scope:?}");
    }
    let again = claim(&scopes[4], "again");
    assert_eq!(f.begin(&again, &body(1), now).await, Verdict::InFlight);
}

/// A booking's answer, as the HTTP adapter would render it.
fn rendered_bookings() -> RenderAnswer<[Booking]> {
    Arc::new(|bookings: &[Booking]| {
        let ids: Vec<String> = bookings.iter().map(|b| b.id.to_string()).collect();
        answer(201, &format!("[{}]", ids.join(",")))
    })
}

async fn a_booking_commits_its_answer_with_the_seats(f: Fixture) {
    let show = f.show(10).await;
    let user = f.user("john").await;
    let scope = scope(&user, "POST", "/api/shows/1/book/", "k");
    let first = claim(&scope, "t1");
    assert_eq!(f.begin(&first, &body(1), Utc::now()).await, Verdict::Claim);
    let with_answer = IdempotentAnswer {
        claim: first.clone(),
        render: rendered_bookings(),
    };
    let booked = f
        .store
        .book_seats(
            show.id,
            &user,
            &SeatSelection::new(&[3, 4]).unwrap(),
            Utc::now(),
            Some(&with_answer),
        )
        .await
        .unwrap();
    // Nothing else wrote the answer: it came with the seats.
    let expected = answer(201, &format!("[{},{}]", booked[0].id, booked[1].id));
    assert_eq!(
        f.begin(&claim(&scope, "t2"), &body(1), Utc::now()).await,
        Verdict::Replay(expected)
    );
    assert!(!f
        .store
        .complete(&first, &answer(201, "again"))
        .await
        .unwrap());
    assert_eq!(f.booked(&show).await, vec![3, 4]);
}

async fn a_refused_booking_commits_nothing_and_a_lost_claim_books_nothing(f: Fixture) {
    let show = f.show(10).await;
    let (john, jane) = (f.user("john").await, f.user("jane").await);
    f.book(&show, &jane, &[5]).await.unwrap();

    let refused = claim(&scope(&john, "POST", "/book/", "refused"), "t1");
    assert_eq!(
        f.begin(&refused, &body(1), Utc::now()).await,
        Verdict::Claim
    );
    let with_answer = IdempotentAnswer {
        claim: refused.clone(),
        render: rendered_bookings(),
    };
    let seats = SeatSelection::new(&[4, 5]).unwrap();
    let error = f
        .store
        .book_seats(show.id, &john, &seats, Utc::now(), Some(&with_answer))
        .await
        .unwrap_err();
    assert_eq!(error, BookError::SeatTaken { seats: vec![5] });
    // Rolled back with the seats: the key is still in flight, for the caller to keep
    // the refusal as its answer.
    let retry = claim(&refused.scope, "t2");
    assert_eq!(
        f.begin(&retry, &body(1), Utc::now()).await,
        Verdict::InFlight
    );

    // A claim that no longer holds its key (never claimed here) books nothing.
    let lost = IdempotentAnswer {
        claim: claim(&scope(&john, "POST", "/book/", "lost"), "t3"),
        render: rendered_bookings(),
    };
    let seats = SeatSelection::new(&[6]).unwrap();
    let error = f
        .store
        .book_seats(show.id, &john, &seats, Utc::now(), Some(&lost))
        .await
        .unwrap_err();
    assert!(
        matches!(error, BookError::Store(StoreError::Unavailable(_))),
        "{error:?}"
    );
    assert_eq!(f.booked(&show).await, vec![5]);
}

async fn a_cancel_commits_its_answer_with_the_cancellation(f: Fixture) {
    let show = f.show(10).await;
    let user = f.user("john").await;
    let booking = f.book(&show, &user, &[2]).await.unwrap().remove(0);
    let scope = scope(&user, "DELETE", "/api/bookings/1/cancel/", "k");
    let first = claim(&scope, "t1");
    assert_eq!(f.begin(&first, &body(0), Utc::now()).await, Verdict::Claim);
    let with_answer: IdempotentAnswer<Booking> = IdempotentAnswer {
        claim: first,
        render: Arc::new(|b: &Booking| answer(200, b.status.as_str())),
    };
    let cancelled = f
        .store
        .cancel_booking(booking.id, &user, Utc::now(), Some(&with_answer))
        .await
        .unwrap();
    assert_eq!(cancelled.status, BookingStatus::Cancelled);
    assert_eq!(
        f.begin(&claim(&scope, "t2"), &body(0), Utc::now()).await,
        Verdict::Replay(answer(200, "CANCELLED"))
    );
    assert!(f.booked(&show).await.is_empty());
}

async fn housekeeping_deletes_only_expired_keys_and_may_run_in_two_processes_at_once(f: Fixture) {
    let user = f.user("john").await;
    let now = Utc::now();
    let old = now - Duration::days(2);
    for i in 0..30 {
        let c = claim(
            &scope(&user, "POST", "/api/movies/", &format!("old{i}")),
            "t",
        );
        assert_eq!(f.begin(&c, &body(1), old).await, Verdict::Claim);
        if i % 2 == 0 {
            assert!(f.store.complete(&c, &answer(201, "{}")).await.unwrap());
        }
    }
    let fresh = claim(&scope(&user, "POST", "/api/movies/", "fresh"), "t");
    assert_eq!(f.begin(&fresh, &body(1), now).await, Verdict::Claim);

    let second = f.second_process().await;
    let before = now - Duration::days(1);
    let purged = race(8, |i| {
        let store = if i % 2 == 0 {
            f.store.clone()
        } else {
            second.clone()
        };
        async move { store.purge_created_before(before).await }
    })
    .await;
    let total: u64 = purged.into_iter().map(Result::unwrap).sum();
    assert_eq!(total, 30, "each expired key deleted exactly once");
    // Late or repeated: nothing left to do.
    assert_eq!(f.store.purge_created_before(before).await.unwrap(), 0);
    assert_eq!(
        f.begin(&claim(&fresh.scope, "t2"), &body(1), now).await,
        Verdict::InFlight
    );
}

async fn race_32_claims_of_one_key_exactly_one_runs(f: Fixture) {
    let user = f.user("john").await;
    let scope = scope(&user, "POST", "/api/shows/1/book/", "raced");
    let now = Utc::now();
    let verdicts = race(32, |i| {
        let store = f.store.clone();
        let claim = claim(&scope, &format!("t{i}"));
        async move { store.begin(&claim, &body(1), now, &policy()).await }
    })
    .await;
    let verdicts: Vec<Verdict> = verdicts.into_iter().map(Result::unwrap).collect();
    let claimed = verdicts.iter().filter(|v| **v == Verdict::Claim).count();
    let in_flight = verdicts.iter().filter(|v| **v == Verdict::InFlight).count();
    assert_eq!((claimed, in_flight), (1, 31), "{verdicts:?}");
}
