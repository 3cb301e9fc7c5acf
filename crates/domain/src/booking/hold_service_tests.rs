//! Unit tests of the hold use cases, over mocks of their ports.

use std::sync::Arc;

use super::*;
use crate::accounts::AuthUser;
use crate::catalog::*;
use crate::shared::*;
use chrono::{DateTime, Duration, TimeZone, Utc};
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

fn hold(id: i64, user: i64) -> Hold {
    Hold {
        id: HoldId(id),
        user_id: UserId(user),
        show_id: ShowId(1),
        seats: vec![Ticket {
            seat_number: 5,
            label: "A5".into(),
            category: Category::parse("standard").unwrap(),
            price: Price::parse(1250).unwrap(),
        }],
        currency: Currency::parse("EUR").unwrap(),
        stored_status: HoldStatus::Active,
        created_at: now(),
        expires_at: now() + Duration::seconds(600),
        extensions: 0,
    }
}

fn service(repo: MockHoldRepository) -> HoldService {
    let mut clock = MockClock::new();
    clock.expect_now().returning(now);
    HoldService::new(Arc::new(repo), Arc::new(clock), HoldPolicy::default())
}

fn seats(raw: &[i64]) -> HoldInput {
    HoldInput {
        seat_numbers: Some(raw.to_vec()),
        ..Default::default()
    }
}

#[test]
fn a_hold_names_seats_or_a_count_never_both_nor_neither() {
    // No storage access for a malformed request: the mock expects none.
    let svc = service(MockHoldRepository::new());
    let both = HoldInput {
        seat_numbers: Some(vec![1]),
        count: Some(1),
        ..Default::default()
    };
    for input in [
        both,
        HoldInput::default(),
        seats(&[]),
        seats(&[1, 1]),
        seats(&(1..=11).collect::<Vec<_>>()),
        HoldInput {
            count: Some(11),
            ..Default::default()
        },
        HoldInput {
            seat_numbers: Some(vec![1]),
            category: Some("premium".into()),
            ..Default::default()
        },
    ] {
        assert!(
            matches!(
                block_on(svc.hold(&john(), 1, &input)),
                Err(HoldSeatsError::Invalid(_))
            ),
            "{input:?}"
        );
    }
}

#[test]
fn a_hold_passes_the_request_the_policy_and_the_clock_to_storage() {
    let mut repo = MockHoldRepository::new();
    repo.expect_hold_seats()
        .withf(|show, user, request, policy, at| {
            *show == ShowId(1)
                && *user == UserId(1)
                && *request
                    == HoldRequest::Best(SeatQuery {
                        count: 2,
                        category: Some(Category::parse("premium").unwrap()),
                        wheelchair: false,
                    })
                && *policy == HoldPolicy::default()
                && *at == now()
        })
        .returning(|_, _, _, _, _| Ok(hold(7, 1)));
    let input = HoldInput {
        count: Some(2),
        category: Some("premium".into()),
        ..Default::default()
    };
    assert_eq!(
        block_on(service(repo).hold(&john(), 1, &input)).unwrap().id,
        HoldId(7)
    );
}

#[test]
fn storage_refusals_of_a_new_hold_reach_the_caller() {
    let mut repo = MockHoldRepository::new();
    repo.expect_hold_seats()
        .returning(|_, _, _, _, _| Err(HoldSeatsError::HoldLimit { held: 9, max: 10 }));
    assert_eq!(
        block_on(service(repo).hold(&john(), 1, &seats(&[1, 2]))),
        Err(HoldSeatsError::HoldLimit { held: 9, max: 10 })
    );
}

#[test]
fn someone_elses_hold_is_not_found() {
    let mut repo = MockHoldRepository::new();
    repo.expect_get_hold()
        .returning(|id| Ok((id == HoldId(7)).then(|| hold(7, 2))));
    let svc = service(repo);
    assert_eq!(block_on(svc.get(&john(), 7)), Err(HoldError::NotFound));
    assert_eq!(block_on(svc.get(&john(), 8)), Err(HoldError::NotFound));
}

#[test]
fn ones_own_hold_is_read() {
    let mut repo = MockHoldRepository::new();
    repo.expect_get_hold().returning(|_| Ok(Some(hold(7, 1))));
    assert_eq!(block_on(service(repo).get(&john(), 7)), Ok(hold(7, 1)));
}

#[test]
fn the_list_filter_is_validated_and_judged_at_now() {
    let svc = service(MockHoldRepository::new());
    assert!(matches!(
        block_on(svc.list(&john(), Some("gone"), None, None)),
        Err(HoldsError::Invalid(_))
    ));
    let mut repo = MockHoldRepository::new();
    repo.expect_list_holds()
        .withf(|user, status, _, at| {
            *user == UserId(1) && *status == Some(HoldStatus::Expired) && *at == now()
        })
        .returning(|_, _, _, _| {
            Ok(Listing {
                items: vec![],
                total: 0,
            })
        });
    assert_eq!(
        block_on(service(repo).list(&john(), Some("expired"), None, None))
            .unwrap()
            .total,
        0
    );
}

#[test]
fn extend_release_and_confirm_act_for_the_caller_at_now() {
    let mut repo = MockHoldRepository::new();
    repo.expect_extend_hold()
        .withf(|id, user, _, at| *id == HoldId(7) && *user == UserId(1) && *at == now())
        .returning(|_, _, _, _| Err(HoldError::ExtensionLimit));
    repo.expect_release_hold()
        .withf(|id, user, at| *id == HoldId(7) && *user == UserId(1) && *at == now())
        .returning(|_, _, _| Err(HoldError::Expired));
    repo.expect_confirm_hold()
        .withf(|id, user, at, answer| {
            *id == HoldId(7) && user.id == UserId(1) && *at == now() && answer.is_none()
        })
        .returning(|_, _, _, _| Err(ConfirmError::NotActive(HoldStatus::Released)));
    let svc = service(repo);
    assert_eq!(
        block_on(svc.extend(&john(), 7)),
        Err(HoldError::ExtensionLimit)
    );
    assert_eq!(block_on(svc.release(&john(), 7)), Err(HoldError::Expired));
    assert_eq!(
        block_on(svc.confirm(&john(), 7, None)),
        Err(ConfirmError::NotActive(HoldStatus::Released))
    );
}

#[test]
fn refusals_of_the_rules_map_onto_each_use_cases_errors() {
    assert_eq!(
        HoldError::from(HoldRefusal::ExtensionLimit),
        HoldError::ExtensionLimit
    );
    assert_eq!(
        ConfirmError::from(HoldRefusal::Expired),
        ConfirmError::Expired
    );
    assert_eq!(
        HoldSeatsError::from(HoldRefusal::HoldLimit { held: 3, max: 10 }),
        HoldSeatsError::HoldLimit { held: 3, max: 10 }
    );
    assert_eq!(
        HoldSeatsError::from(BookError::SeatBlocked { seats: vec![3] }),
        HoldSeatsError::SeatBlocked { seats: vec![3] }
    );
}
