//! Holds over HTTP: hold → extend → confirm, release, the owner-only rule, the seat and
//! extension caps, exact expiry with housekeeping off, and the races of the contract.

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::{Rng, SeedableRng};
use reqwest::{Method, Response, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{
    assert_error, bookings_of, delete, get_json, id_of, ints, json_body, key_set, keys, listed,
    send_all_together, send_together, Backend, TestApp, TestDatabase,
};

infra_diesel::on_both_backends!(
    setup = TestApp::spawn;
    hold_extend_confirm_books_the_seats_at_the_prices_held,
    a_held_seat_is_taken_for_everyone_else_and_shown_held,
    a_count_holds_the_best_block_and_best_seats_skips_held_ones,
    release_frees_the_seats_at_once_and_ends_the_hold,
    another_users_hold_is_404_for_every_route,
    the_seat_cap_counts_active_holds_across_shows,
    extensions_stop_at_their_count,
    malformed_hold_requests_are_400_and_hold_nothing,
    holds_of_unknown_or_started_shows_are_refused,
    the_list_is_the_callers_newest_first_with_a_status_filter,
    two_hundred_users_holding_random_pairs_never_share_a_seat,
    fifty_concurrent_confirms_of_one_hold_book_it_once,
    fifty_keyed_confirms_of_one_hold_give_one_answer,
);

const HOLD_KEYS: &[&str] = &[
    "id",
    "show",
    "seats",
    "total_price",
    "currency",
    "status",
    "created_at",
    "expires_at",
    "extensions",
];

pub async fn hold(app: &TestApp, token: &str, show: i64, body: Value) -> Response {
    app.post(&format!("/api/shows/{show}/holds/"), Some(token), body)
        .await
}

/// Holds the seats and returns the hold.
pub async fn hold_ok(app: &TestApp, token: &str, show: i64, seats: &[i64]) -> Value {
    json_body(
        hold(app, token, show, json!({"seat_numbers": seats})).await,
        StatusCode::CREATED,
    )
    .await
}

async fn act(app: &TestApp, token: &str, hold: i64, action: &str) -> Response {
    app.post(
        &format!("/api/holds/{hold}/{action}/"),
        Some(token),
        json!({}),
    )
    .await
}

/// The seat numbers of the show in `status` (`available`, `held`, `booked`, `blocked`).
async fn seats_in(app: &TestApp, token: &str, show: i64, status: &str) -> Vec<i64> {
    let map = get_json(app, &format!("/api/shows/{show}/seats/"), token).await;
    map.as_array()
        .expect("seat map")
        .iter()
        .filter(|s| s["status"] == status)
        .map(|s| s["seat_number"].as_i64().expect("seat"))
        .collect()
}

fn time(value: &Value) -> DateTime<Utc> {
    value
        .as_str()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .unwrap_or_else(|| panic!("not a time: {value}"))
        .with_timezone(&Utc)
}

/// `n` users signed up and logged in, a few at a time.
async fn users(app: &TestApp, prefix: &str, n: usize) -> Vec<String> {
    let mut tokens = Vec::with_capacity(n);
    let names: Vec<String> = (0..n).map(|i| format!("{prefix}{i}")).collect();
    for chunk in names.chunks(8) {
        let batch = chunk.iter().map(|name| app.user_token(name));
        tokens.extend(futures_util::future::join_all(batch).await);
    }
    tokens
}

/// A show priced 1250 a seat, on a screen of two rows of 10 (row B premium at 1800).
async fn priced_show(app: &TestApp, staff: &str) -> i64 {
    let screen = json_body(
        app.post(
            "/api/screens/",
            Some(staff),
            json!({"name": "Screen 1", "rows": [
                {"label": "A", "count": 10, "category": "standard", "blocked": [10]},
                {"label": "B", "count": 10, "category": "premium"}]}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let movie = app.create_movie(staff, "Heat").await;
    let start = (Utc::now() + chrono::Duration::days(1)).to_rfc3339();
    let show = json_body(
        app.post(
            "/api/shows/",
            Some(staff),
            json!({"movie_id": movie, "screen_id": id_of(&screen), "start_time": start,
                   "prices": {"standard": 1250, "premium": 1800}}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    id_of(&show)
}

async fn hold_extend_confirm_books_the_seats_at_the_prices_held(app: TestApp) {
    let staff = app.staff_token("admin").await;
    let show = priced_show(&app, &staff).await;
    let john = app.user_token("john").await;
    let held = hold_ok(&app, &john, show, &[11, 5]).await;
    assert_eq!(keys(&held), key_set(HOLD_KEYS));
    assert_eq!(held["show"], show);
    assert_eq!(held["status"], "ACTIVE");
    assert_eq!(held["currency"], "EUR");
    assert_eq!(held["total_price"], 1250 + 1800);
    assert_eq!(held["extensions"], 0);
    assert_eq!(
        held["seats"],
        json!([
            {"seat_number": 5, "label": "A5", "category": "standard", "price": 1250},
            {"seat_number": 11, "label": "B1", "category": "premium", "price": 1800}
        ])
    );
    let lifetime = time(&held["expires_at"]) - time(&held["created_at"]);
    assert_eq!(lifetime.num_seconds(), 600);

    let id = id_of(&held);
    let extended = json_body(act(&app, &john, id, "extend").await, StatusCode::OK).await;
    assert!(time(&extended["expires_at"]) > time(&held["expires_at"]));
    assert_eq!(extended["extensions"], 1);
    assert_eq!(extended["status"], "ACTIVE");

    // A price change after holding does not change what confirming charges.
    let patched = app
        .request(
            Method::PATCH,
            &format!("/api/shows/{show}/"),
            Some(&staff),
            Some(json!({"prices": {"standard": 9999, "premium": 9999}})),
        )
        .await;
    assert_eq!(patched.status(), StatusCode::OK);

    let confirmed = json_body(act(&app, &john, id, "confirm").await, StatusCode::CREATED).await;
    let bookings = confirmed["bookings"].as_array().expect("bookings");
    assert_eq!(ints(bookings, "seat_number"), vec![5, 11]);
    assert_eq!(ints(bookings, "price"), vec![1250, 1800]);
    assert!(bookings.iter().all(|b| b["status"] == "CONFIRMED"));
    assert!(bookings.iter().all(|b| b["user"] == "john"));
    assert_eq!(seats_in(&app, &john, show, "booked").await, vec![5, 11]);
    assert!(seats_in(&app, &john, show, "held").await.is_empty());
    assert_eq!(bookings_of(&app, &john).await.len(), 2);

    let after = get_json(&app, &format!("/api/holds/{id}/"), &john).await;
    assert_eq!(after["status"], "CONFIRMED");
    for action in ["confirm", "extend"] {
        assert_error(
            act(&app, &john, id, action).await,
            StatusCode::CONFLICT,
            "hold_not_active",
        )
        .await;
    }
    assert_error(
        delete(&app, &format!("/api/holds/{id}/"), &john).await,
        StatusCode::CONFLICT,
        "hold_not_active",
    )
    .await;
    assert_eq!(
        bookings_of(&app, &john).await.len(),
        2,
        "nothing booked twice"
    );
}

async fn a_held_seat_is_taken_for_everyone_else_and_shown_held(app: TestApp) {
    let (staff, show) = app.show_with_staff(10).await;
    let john = app.user_token("john").await;
    let jane = app.user_token("jane").await;
    hold_ok(&app, &john, show, &[5, 6]).await;
    assert_eq!(seats_in(&app, &jane, show, "held").await, vec![5, 6]);
    let listed_show = get_json(&app, &format!("/api/shows/{show}/"), &jane).await;
    assert_eq!(listed_show["available_seats"], 8);

    let body = assert_error(
        app.book(&jane, show, json!({"seat_numbers": [4, 5]})).await,
        StatusCode::CONFLICT,
        "seat_taken",
    )
    .await;
    assert_eq!(body["seats"], json!([5]));
    let body = assert_error(
        hold(&app, &jane, show, json!({"seat_numbers": [6, 7]})).await,
        StatusCode::CONFLICT,
        "seat_taken",
    )
    .await;
    assert_eq!(body["seats"], json!([6]));
    // The owner cannot book or hold them twice either: the hold is what they confirm.
    assert_error(
        app.book(&john, show, json!({"seat_number": 5})).await,
        StatusCode::CONFLICT,
        "seat_taken",
    )
    .await;
    // All or none: seat 4 and 7 stay free.
    assert_eq!(seats_in(&app, &staff, show, "held").await, vec![5, 6]);
    assert!(seats_in(&app, &staff, show, "booked").await.is_empty());
    // A held seat keeps a show from going and from shrinking below it.
    assert_error(
        delete(&app, &format!("/api/shows/{show}/"), &staff).await,
        StatusCode::CONFLICT,
        "has_bookings",
    )
    .await;
}

async fn a_count_holds_the_best_block_and_best_seats_skips_held_ones(app: TestApp) {
    let (_, show) = app.show_with_staff(8).await;
    let john = app.user_token("john").await;
    let jane = app.user_token("jane").await;
    let best = get_json(
        &app,
        &format!("/api/shows/{show}/best-seats/?count=2"),
        &john,
    )
    .await;
    assert_eq!(best["seat_numbers"], json!([4, 5]));
    let held = json_body(
        hold(&app, &john, show, json!({"count": 2})).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(
        ints(held["seats"].as_array().unwrap(), "seat_number"),
        vec![4, 5]
    );
    // Seats 4-5 held: the next best block for someone else avoids them.
    let best = get_json(
        &app,
        &format!("/api/shows/{show}/best-seats/?count=3"),
        &jane,
    )
    .await;
    let next: Vec<i64> = best["seat_numbers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_i64().unwrap())
        .collect();
    assert!(next.iter().all(|n| ![4, 5].contains(n)), "{next:?}");
    let held = json_body(
        hold(&app, &jane, show, json!({"count": 3})).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(ints(held["seats"].as_array().unwrap(), "seat_number"), next);
    // A flat show has no wheelchair places; three adjacent free seats remain nowhere.
    assert_error(
        hold(&app, &jane, show, json!({"count": 1, "wheelchair": true})).await,
        StatusCode::CONFLICT,
        "no_adjacent_seats",
    )
    .await;
    assert_error(
        hold(&app, &jane, show, json!({"count": 4})).await,
        StatusCode::CONFLICT,
        "no_adjacent_seats",
    )
    .await;
}

async fn release_frees_the_seats_at_once_and_ends_the_hold(app: TestApp) {
    let (_, show) = app.show_with_staff(10).await;
    let john = app.user_token("john").await;
    let jane = app.user_token("jane").await;
    let id = id_of(&hold_ok(&app, &john, show, &[3, 4]).await);
    let released = delete(&app, &format!("/api/holds/{id}/"), &john).await;
    assert_eq!(released.status(), StatusCode::NO_CONTENT);
    assert!(seats_in(&app, &jane, show, "held").await.is_empty());
    let booked = app.book(&jane, show, json!({"seat_numbers": [3, 4]})).await;
    assert_eq!(booked.status(), StatusCode::CREATED);
    let after = get_json(&app, &format!("/api/holds/{id}/"), &john).await;
    assert_eq!(after["status"], "RELEASED");
    assert_error(
        delete(&app, &format!("/api/holds/{id}/"), &john).await,
        StatusCode::CONFLICT,
        "hold_not_active",
    )
    .await;
    assert_error(
        act(&app, &john, id, "confirm").await,
        StatusCode::CONFLICT,
        "hold_not_active",
    )
    .await;
    assert!(bookings_of(&app, &john).await.is_empty());
}

async fn another_users_hold_is_404_for_every_route(app: TestApp) {
    let (_, show) = app.show_with_staff(10).await;
    let john = app.user_token("john").await;
    let jane = app.user_token("jane").await;
    let id = id_of(&hold_ok(&app, &john, show, &[1]).await);
    for response in [
        app.get(&format!("/api/holds/{id}/"), &jane).await,
        act(&app, &jane, id, "extend").await,
        act(&app, &jane, id, "confirm").await,
        delete(&app, &format!("/api/holds/{id}/"), &jane).await,
        app.get("/api/holds/999999/", &john).await,
    ] {
        assert_error(response, StatusCode::NOT_FOUND, "not_found").await;
    }
    let (holds, total) = listed(app.get("/api/holds/", &jane).await).await;
    assert!(holds.is_empty() && total == 0);
    // Untouched by all that.
    let mine = get_json(&app, &format!("/api/holds/{id}/"), &john).await;
    assert_eq!(
        (mine["status"].clone(), mine["extensions"].clone()),
        (json!("ACTIVE"), json!(0))
    );
    assert!(bookings_of(&app, &jane).await.is_empty());
}

async fn the_seat_cap_counts_active_holds_across_shows(app: TestApp) {
    let (staff, show) = app.show_with_staff(20).await;
    let movie = app.create_movie(&staff, "Alien").await;
    let other = app.create_show(&staff, movie, 20, 48).await;
    let john = app.user_token("john").await;
    hold_ok(&app, &john, show, &[1, 2, 3, 4, 5, 6]).await;
    let last = id_of(&hold_ok(&app, &john, other, &[1, 2, 3, 4]).await);
    let body = assert_error(
        hold(&app, &john, show, json!({"seat_numbers": [7]})).await,
        StatusCode::CONFLICT,
        "hold_limit",
    )
    .await;
    assert!(body["error"].as_str().unwrap().contains("10"), "{body}");
    // Releasing makes room again; a confirmed hold no longer counts either.
    delete(&app, &format!("/api/holds/{last}/"), &john).await;
    let more = id_of(&hold_ok(&app, &john, show, &[7, 8, 9, 10]).await);
    assert_eq!(
        act(&app, &john, more, "confirm").await.status(),
        StatusCode::CREATED
    );
    hold_ok(&app, &john, show, &[11, 12, 13, 14]).await;
    // Another user's cap is their own.
    let jane = app.user_token("jane").await;
    hold_ok(
        &app,
        &jane,
        other,
        &[10, 11, 12, 13, 14, 15, 16, 17, 18, 19],
    )
    .await;
}

async fn extensions_stop_at_their_count(app: TestApp) {
    let (_, show) = app.show_with_staff(10).await;
    let john = app.user_token("john").await;
    let id = id_of(&hold_ok(&app, &john, show, &[1]).await);
    let mut expires = DateTime::<Utc>::MIN_UTC;
    for n in 1..=2 {
        let extended = json_body(act(&app, &john, id, "extend").await, StatusCode::OK).await;
        assert_eq!(extended["extensions"], n);
        assert!(time(&extended["expires_at"]) >= expires);
        expires = time(&extended["expires_at"]);
    }
    assert_error(
        act(&app, &john, id, "extend").await,
        StatusCode::CONFLICT,
        "hold_extension_limit",
    )
    .await;
    let after = get_json(&app, &format!("/api/holds/{id}/"), &john).await;
    assert_eq!(time(&after["expires_at"]), expires);
    assert_eq!(
        act(&app, &john, id, "confirm").await.status(),
        StatusCode::CREATED
    );
}

async fn malformed_hold_requests_are_400_and_hold_nothing(app: TestApp) {
    let (staff, show) = app.show_with_staff(10).await;
    let john = app.user_token("john").await;
    for body in [
        json!({}),
        json!({"seat_numbers": [1], "count": 1}),
        json!({"seat_numbers": []}),
        json!({"seat_numbers": [1, 1]}),
        json!({"seat_numbers": (1..=11).collect::<Vec<_>>()}),
        json!({"seat_numbers": [0]}),
        json!({"seat_numbers": [11]}),
        json!({"seat_numbers": ["a"]}),
        json!({"count": 0}),
        json!({"count": 11}),
        json!({"count": 1.5}),
        json!({"seat_numbers": [1], "wheelchair": true}),
    ] {
        let response = hold(&app, &john, show, body.clone()).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{body}");
        let error: Value = response.json().await.unwrap();
        assert!(error["code"].is_string(), "{body}: {error}");
    }
    assert_error(
        hold(&app, &john, show, json!({"count": 1, "category": "vip"})).await,
        StatusCode::BAD_REQUEST,
        "invalid_input",
    )
    .await;
    assert!(seats_in(&app, &staff, show, "held").await.is_empty());
    let (holds, _) = listed(app.get("/api/holds/", &john).await).await;
    assert!(holds.is_empty());
}

async fn holds_of_unknown_or_started_shows_are_refused(app: TestApp) {
    let (staff, _) = app.show_with_staff(10).await;
    let movie = app.create_movie(&staff, "Alien").await;
    let started = app.create_show(&staff, movie, 10, -1).await;
    let john = app.user_token("john").await;
    assert_error(
        hold(&app, &john, 999_999, json!({"seat_numbers": [1]})).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    for body in [json!({"seat_numbers": [1]}), json!({"count": 1})] {
        assert_error(
            hold(&app, &john, started, body).await,
            StatusCode::CONFLICT,
            "show_started",
        )
        .await;
    }
    let blocked = priced_show(&app, &staff).await;
    let body = assert_error(
        hold(&app, &john, blocked, json!({"seat_numbers": [9, 10]})).await,
        StatusCode::CONFLICT,
        "seat_blocked",
    )
    .await;
    assert_eq!(body["seats"], json!([10]));
}

async fn the_list_is_the_callers_newest_first_with_a_status_filter(app: TestApp) {
    let (_, show) = app.show_with_staff(10).await;
    let john = app.user_token("john").await;
    let first = id_of(&hold_ok(&app, &john, show, &[1]).await);
    let second = id_of(&hold_ok(&app, &john, show, &[2]).await);
    let third = id_of(&hold_ok(&app, &john, show, &[3]).await);
    delete(&app, &format!("/api/holds/{first}/"), &john).await;
    act(&app, &john, second, "confirm").await;
    let (all, total) = listed(app.get("/api/holds/", &john).await).await;
    assert_eq!((ints(&all, "id"), total), (vec![third, second, first], 3));
    for (status, id) in [
        ("ACTIVE", third),
        ("confirmed", second),
        ("Released", first),
    ] {
        let (some, total) = listed(
            app.get(&format!("/api/holds/?status={status}"), &john)
                .await,
        )
        .await;
        assert_eq!((ints(&some, "id"), total), (vec![id], 1), "{status}");
    }
    let (none, _) = listed(app.get("/api/holds/?status=EXPIRED", &john).await).await;
    assert!(none.is_empty());
    assert_error(
        app.get("/api/holds/?status=gone", &john).await,
        StatusCode::BAD_REQUEST,
        "invalid_input",
    )
    .await;
}

async fn two_hundred_users_holding_random_pairs_never_share_a_seat(app: TestApp) {
    let (staff, show) = app.show_with_staff(100).await;
    let tokens = users(&app, "u", 200).await;
    let mut rng = rand::rngs::StdRng::seed_from_u64(12);
    let pairs: Vec<[i64; 2]> = (0..tokens.len())
        .map(|_| {
            let a = rng.gen_range(1..=100);
            let mut b = rng.gen_range(1..=100);
            while b == a {
                b = rng.gen_range(1..=100);
            }
            [a, b]
        })
        .collect();
    let requests = tokens
        .iter()
        .zip(&pairs)
        .map(|(token, pair)| {
            app.client
                .post(app.url(&format!("/api/shows/{show}/holds/")))
                .bearer_auth(token)
                .json(&json!({"seat_numbers": pair}))
        })
        .collect();
    let answers = send_together(requests).await;
    let mut held = BTreeSet::new();
    let mut created = 0;
    for ((status, body), pair) in answers.iter().zip(&pairs) {
        match *status {
            StatusCode::CREATED => {
                created += 1;
                for seat in ints(body["seats"].as_array().unwrap(), "seat_number") {
                    assert!(held.insert(seat), "seat {seat} in two holds");
                }
            }
            StatusCode::CONFLICT => {
                assert_eq!(body["code"], "seat_taken", "{body}");
                let taken = body["seats"].as_array().unwrap();
                assert!(
                    !taken.is_empty() && taken.iter().all(|s| pair.contains(&s.as_i64().unwrap()))
                );
            }
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert!(created > 0);
    assert_eq!(held.len(), created * 2, "all or none");
    let map: BTreeSet<i64> = seats_in(&app, &staff, show, "held")
        .await
        .into_iter()
        .collect();
    assert_eq!(map, held);
    let listed_show = get_json(&app, &format!("/api/shows/{show}/"), &staff).await;
    assert_eq!(listed_show["available_seats"], 100 - held.len() as i64);
}

async fn fifty_concurrent_confirms_of_one_hold_book_it_once(app: TestApp) {
    let (staff, show) = app.show_with_staff(10).await;
    let john = app.user_token("john").await;
    let id = id_of(&hold_ok(&app, &john, show, &[2, 3]).await);
    let requests = (0..50)
        .map(|_| {
            app.client
                .post(app.url(&format!("/api/holds/{id}/confirm/")))
                .bearer_auth(&john)
        })
        .collect();
    let answers = send_together(requests).await;
    let created = answers
        .iter()
        .filter(|(s, _)| *s == StatusCode::CREATED)
        .count();
    assert_eq!(created, 1, "{answers:?}");
    for (status, body) in &answers {
        if *status != StatusCode::CREATED {
            assert_eq!(*status, StatusCode::CONFLICT, "{body}");
            assert_eq!(body["code"], "hold_not_active", "{body}");
        }
    }
    assert_eq!(app.booked_seats(&staff, show).await, vec![2, 3]);
    assert_eq!(bookings_of(&app, &john).await.len(), 2);
}

async fn fifty_keyed_confirms_of_one_hold_give_one_answer(app: TestApp) {
    let (staff, show) = app.show_with_staff(10).await;
    let john = app.user_token("john").await;
    let id = id_of(&hold_ok(&app, &john, show, &[4]).await);
    let path = format!("/api/holds/{id}/confirm/");
    let requests = (0..50)
        .map(|_| app.keyed(Method::POST, &path, &john, "pay-1", None))
        .collect();
    let answers = send_all_together(requests).await;
    let originals: Vec<_> = answers
        .iter()
        .filter(|a| a.status == StatusCode::CREATED && !a.replayed)
        .collect();
    assert_eq!(originals.len(), 1, "{answers:?}");
    let original = originals[0].text.clone();
    for answer in &answers {
        match answer.status {
            StatusCode::CREATED => assert_eq!(answer.text, original),
            StatusCode::CONFLICT => assert_eq!(answer.code(), "idempotency_in_flight"),
            other => panic!("unexpected {other}: {answer:?}"),
        }
    }
    // Every retry now gets the original answer.
    let retry = app
        .send_keyed(Method::POST, &path, &john, "pay-1", None)
        .await;
    assert!(retry.replayed && retry.status == StatusCode::CREATED);
    assert_eq!(retry.text, original);
    assert_eq!(app.booked_seats(&staff, show).await, vec![4]);
}

/// Holds that live one second, with housekeeping off: expiry must be exact on its own.
mod expiry {
    use super::*;

    infra_diesel::on_both_backends!(
        setup = short_lived;
        an_expired_hold_cannot_be_confirmed_and_its_seats_go_to_others,
        a_confirm_racing_the_expiry_instant_books_all_or_nothing,
    );

    async fn short_lived(backend: Backend) -> TestApp {
        TestApp::spawn_on(TestDatabase::new(backend).await, |s| {
            s.booking.hold_ttl_seconds = 1;
            s.booking.hold_max_seconds = 1;
            s.booking.hold_housekeeping_seconds = 0;
        })
        .await
    }

    /// Waits until just past the hold's expiry.
    async fn until_expired(hold: &Value) {
        let left = time(&hold["expires_at"]) - Utc::now();
        let wait = left.to_std().unwrap_or_default() + Duration::from_millis(50);
        tokio::time::sleep(wait).await;
    }

    async fn an_expired_hold_cannot_be_confirmed_and_its_seats_go_to_others(app: TestApp) {
        let (staff, show) = app.show_with_staff(10).await;
        let john = app.user_token("john").await;
        let jane = app.user_token("jane").await;
        let held = hold_ok(&app, &john, show, &[5, 6]).await;
        let id = id_of(&held);
        until_expired(&held).await;
        for action in ["confirm", "extend"] {
            assert_error(
                act(&app, &john, id, action).await,
                StatusCode::CONFLICT,
                "hold_expired",
            )
            .await;
        }
        assert_error(
            delete(&app, &format!("/api/holds/{id}/"), &john).await,
            StatusCode::CONFLICT,
            "hold_expired",
        )
        .await;
        let after = get_json(&app, &format!("/api/holds/{id}/"), &john).await;
        assert_eq!(after["status"], "EXPIRED");
        let (expired, _) = listed(app.get("/api/holds/?status=EXPIRED", &john).await).await;
        assert_eq!(ints(&expired, "id"), vec![id]);
        let (active, _) = listed(app.get("/api/holds/?status=ACTIVE", &john).await).await;
        assert!(active.is_empty());
        assert!(seats_in(&app, &jane, show, "held").await.is_empty());
        let listed_show = get_json(&app, &format!("/api/shows/{show}/"), &jane).await;
        assert_eq!(listed_show["available_seats"], 10);
        // Another user takes one seat by booking and the other by holding.
        assert_eq!(
            app.book(&jane, show, json!({"seat_number": 5}))
                .await
                .status(),
            StatusCode::CREATED
        );
        hold_ok(&app, &jane, show, &[6]).await;
        assert_eq!(app.booked_seats(&staff, show).await, vec![5]);
        assert!(bookings_of(&app, &john).await.is_empty());
        // Expired seats no longer count against the owner's cap.
        hold_ok(&app, &john, show, &[1, 2, 3, 4, 7, 8, 9, 10]).await;
    }

    async fn a_confirm_racing_the_expiry_instant_books_all_or_nothing(app: TestApp) {
        let (staff, show) = app.show_with_staff(40).await;
        let john = app.user_token("john").await;
        let jane = app.user_token("jane").await;
        for round in 0..8_i64 {
            let seats = [round * 2 + 1, round * 2 + 2];
            let held = hold_ok(&app, &john, show, &seats).await;
            // Aim both requests at moments around the expiry instant.
            let aim = time(&held["expires_at"]) + chrono::Duration::milliseconds(round * 6 - 24);
            if let Ok(wait) = (aim - Utc::now()).to_std() {
                tokio::time::sleep(wait).await;
            }
            let answers = send_together(vec![
                app.client
                    .post(app.url(&format!("/api/holds/{}/confirm/", id_of(&held))))
                    .bearer_auth(&john),
                app.client
                    .post(app.url(&format!("/api/shows/{show}/book/")))
                    .bearer_auth(&jane)
                    .json(&json!({"seat_numbers": seats})),
            ])
            .await;
            let (confirm, book) = (&answers[0], &answers[1]);
            let booked = app.booked_seats(&staff, show).await;
            let mine: Vec<i64> = booked
                .iter()
                .copied()
                .filter(|s| seats.contains(s))
                .collect();
            match (confirm.0, book.0) {
                (StatusCode::CREATED, StatusCode::CONFLICT) => {
                    assert_eq!(book.1["code"], "seat_taken");
                    assert_eq!(mine, seats.to_vec());
                }
                (StatusCode::CONFLICT, StatusCode::CREATED) => {
                    assert_eq!(confirm.1["code"], "hold_expired");
                    assert_eq!(mine, seats.to_vec());
                }
                // Jane came before the expiry and John after it: nobody has the seats.
                (StatusCode::CONFLICT, StatusCode::CONFLICT) => {
                    assert_eq!(confirm.1["code"], "hold_expired");
                    assert!(mine.is_empty(), "{mine:?}");
                }
                other => panic!("round {round}: {other:?} {answers:?}"),
            }
        }
        // John's bookings are whole holds, never half of one.
        let johns = bookings_of(&app, &john).await;
        assert_eq!(johns.len() % 2, 0);
    }
}
