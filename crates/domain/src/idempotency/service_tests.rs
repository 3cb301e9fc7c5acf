//! Unit tests of the idempotency use cases, over mocks of their ports.

use std::sync::Arc;

use super::rules::Verdict;
use super::*;
use crate::shared::*;
use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use futures_executor::block_on;
use mockall::predicate::eq;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 15, 10, 0, 0).unwrap()
}

fn policy() -> IdempotencyPolicy {
    IdempotencyPolicy {
        retention: TimeDelta::seconds(3600),
        in_flight_timeout: TimeDelta::seconds(60),
    }
}

fn service(store: MockIdempotencyStore) -> IdempotencyService {
    let mut clock = MockClock::new();
    clock.expect_now().returning(now);
    IdempotencyService::new(Arc::new(store), Arc::new(clock), policy())
}

fn scope() -> IdempotencyScope {
    IdempotencyScope {
        user: UserId(1),
        method: "POST".into(),
        path: "/api/shows/1/book/".into(),
        key: IdempotencyKey::parse("k-1").unwrap(),
    }
}

fn claim() -> IdempotencyClaim {
    IdempotencyClaim {
        scope: scope(),
        token: ClaimToken("t".into()),
    }
}

fn answer(status: u16) -> StoredAnswer {
    StoredAnswer {
        status,
        content_type: Some("application/json".into()),
        body: b"{}".to_vec(),
    }
}

fn fingerprint() -> RequestFingerprint {
    RequestFingerprint(vec![7; 32])
}

#[test]
fn begin_asks_storage_with_the_clock_and_the_policy() {
    let mut store = MockIdempotencyStore::new();
    store
        .expect_begin()
        .withf(|c, f, at, p| *c == claim() && *f == fingerprint() && *at == now() && *p == policy())
        .times(1)
        .returning(|_, _, _, _| Ok(Verdict::Claim));
    let begun = block_on(service(store).begin(scope(), &fingerprint(), ClaimToken("t".into())));
    assert_eq!(begun, Ok(Begin::Run(claim())));
}

#[test]
fn begin_passes_the_verdict_on() {
    for (verdict, expected) in [
        (Verdict::Replay(answer(201)), Begin::Replay(answer(201))),
        (Verdict::Reused, Begin::Reused),
        (Verdict::InFlight, Begin::InFlight),
    ] {
        let mut store = MockIdempotencyStore::new();
        store
            .expect_begin()
            .returning(move |_, _, _, _| Ok(verdict.clone()));
        let begun = block_on(service(store).begin(scope(), &fingerprint(), ClaimToken("t".into())));
        assert_eq!(begun, Ok(expected));
    }
}

#[test]
fn a_kept_answer_completes_the_claim() {
    let mut store = MockIdempotencyStore::new();
    store
        .expect_complete()
        .with(eq(claim()), eq(answer(409)))
        .times(1)
        .returning(|_, _| Ok(true));
    assert_eq!(
        block_on(service(store).finish(&claim(), &answer(409))),
        Ok(())
    );
}

#[test]
fn an_answer_stored_with_the_change_is_left_alone() {
    let mut store = MockIdempotencyStore::new();
    store.expect_complete().times(1).returning(|_, _| Ok(false));
    assert_eq!(
        block_on(service(store).finish(&claim(), &answer(201))),
        Ok(())
    );
}

#[test]
fn a_429_or_5xx_releases_the_claim_so_a_retry_runs_again() {
    for status in [429, 500, 503] {
        let mut store = MockIdempotencyStore::new();
        store
            .expect_release()
            .with(eq(claim()))
            .times(1)
            .returning(|_| Ok(()));
        assert_eq!(
            block_on(service(store).finish(&claim(), &answer(status))),
            Ok(())
        );
    }
}

#[test]
fn purge_deletes_what_is_past_retention() {
    let mut store = MockIdempotencyStore::new();
    store
        .expect_purge_created_before()
        .with(eq(now() - TimeDelta::seconds(3600)))
        .times(1)
        .returning(|_| Ok(3));
    assert_eq!(block_on(service(store).purge_expired()), Ok(3));
}

#[test]
fn storage_failures_pass_through() {
    let mut store = MockIdempotencyStore::new();
    store
        .expect_begin()
        .returning(|_, _, _, _| Err(StoreError::Unavailable("down".into())));
    assert!(matches!(
        block_on(service(store).begin(scope(), &fingerprint(), ClaimToken("t".into()))),
        Err(StoreError::Unavailable(_))
    ));
}
