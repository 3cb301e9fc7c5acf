//! `Idempotency-Key` on every authenticated POST, PATCH and DELETE: concurrent retries,
//! replays, reuse with another body, invalid keys, scoping, the catalogue's writes,
//! answers that are not kept (429, 503, 413), expiry and housekeeping, a request still
//! in flight, a server killed right after a booking commits, and the OpenAPI document.

use std::time::Duration;

use api_actix::app::ROUTES;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{
    bookings_of, create_staff, id_of, send_all_together, serve_beside, test_settings, Answer,
    Backend, LosingProxy, ServerProcess, TestApp, TestDatabase, KEY, PASSWORD,
};
use crate::operations::metric;

infra_diesel::on_both_backends!(
    setup = TestApp::spawn;
    fifty_requests_with_one_key_make_one_booking_and_fifty_identical_answers,
    a_replay_gives_the_first_answer_changes_nothing_and_is_counted,
    the_same_key_with_another_body_is_422_and_changes_nothing,
    invalid_keys_are_400_and_change_nothing,
    a_key_is_scoped_to_user_method_and_path,
    cancelling_replays_its_answer,
    the_catalogues_post_patch_and_delete_replay,
    a_body_over_the_limit_is_413_and_not_kept,
    public_routes_and_requests_without_a_valid_token_pass_through,
    a_retry_after_a_429_runs_again_and_still_counts_toward_the_limit,
);

fn book_path(show: i64) -> String {
    format!("/api/shows/{show}/book/")
}

fn seat(n: i64) -> Value {
    json!({"seat_number": n})
}

async fn fifty_requests_with_one_key_make_one_booking_and_fifty_identical_answers(app: TestApp) {
    let (staff, show) = app.show_with_staff(10).await;
    let john = app.user_token("john").await;
    let path = book_path(show);
    let body = seat(5);
    let request = || app.keyed(Method::POST, &path, &john, "fifty", Some(&body));
    let first = send_all_together((0..50).map(|_| request()).collect()).await;
    let mut answers = Vec::with_capacity(first.len());
    for mut answer in first {
        // The same request while the first still runs: 409, then the first's answer.
        for _ in 0..100 {
            if answer.status != StatusCode::CONFLICT {
                break;
            }
            assert_eq!(answer.code(), "idempotency_in_flight", "{answer:?}");
            assert_eq!(answer.retry_after.as_deref(), Some("1"));
            tokio::time::sleep(Duration::from_millis(50)).await;
            answer = Answer::of(request().send().await.unwrap()).await;
        }
        answers.push(answer);
    }
    let original: Vec<_> = answers.iter().filter(|a| !a.replayed).collect();
    assert_eq!(original.len(), 1, "{answers:?}");
    let original = original[0].clone();
    assert_eq!(original.status, StatusCode::CREATED, "{original:?}");
    for answer in &answers {
        assert_eq!(
            (answer.status, &answer.text),
            (original.status, &original.text)
        );
    }
    let booked = bookings_of(&app, &john).await;
    assert_eq!(booked.len(), 1);
    assert_eq!(id_of(&booked[0]), id_of(&original.json()));
    assert_eq!(app.booked_seats(&staff, show).await, vec![5]);
}

async fn a_replay_gives_the_first_answer_changes_nothing_and_is_counted(app: TestApp) {
    let (staff, show) = app.show_with_staff(10).await;
    let john = app.user_token("john").await;
    let path = book_path(show);
    let body = json!({"seat_numbers": [2, 3]});
    let first = app
        .send_keyed(Method::POST, &path, &john, "k-1", Some(&body))
        .await;
    assert_eq!(first.status, StatusCode::CREATED, "{first:?}");
    assert!(!first.replayed);
    // The seats are the caller's now; without the key the same request is a conflict.
    let again = app.book(&john, show, body.clone()).await;
    assert_eq!(again.status(), StatusCode::CONFLICT);
    for _ in 0..3 {
        let replay = app
            .send_keyed(Method::POST, &path, &john, "k-1", Some(&body))
            .await;
        assert!(replay.replayed);
        assert_eq!((replay.status, &replay.text), (first.status, &first.text));
    }
    assert_eq!(bookings_of(&app, &john).await.len(), 2);
    assert_eq!(app.booked_seats(&staff, show).await, vec![2, 3]);
    let metrics = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        metric(&metrics, "movie_booking_idempotent_replays_total"),
        3.0
    );
    assert_eq!(
        metric(&metrics, "movie_booking_bookings_confirmed_total"),
        2.0
    );
}

async fn the_same_key_with_another_body_is_422_and_changes_nothing(app: TestApp) {
    let (staff, show) = app.show_with_staff(10).await;
    let john = app.user_token("john").await;
    let path = book_path(show);
    let first = app
        .send_keyed(Method::POST, &path, &john, "k", Some(&seat(1)))
        .await;
    assert_eq!(first.status, StatusCode::CREATED);
    let other = app
        .send_keyed(Method::POST, &path, &john, "k", Some(&seat(2)))
        .await;
    assert_eq!(other.status, StatusCode::UNPROCESSABLE_ENTITY, "{other:?}");
    assert_eq!(other.code(), "idempotency_key_reused");
    assert!(!other.replayed);
    // The same JSON in other bytes is another body too: the key covers the bytes.
    let respaced = app
        .client
        .post(app.url(&path))
        .bearer_auth(&john)
        .header(KEY, "k")
        .header("content-type", "application/json")
        .body(r#"{ "seat_number": 1 }"#)
        .send()
        .await
        .unwrap();
    let respaced = Answer::of(respaced).await;
    assert_eq!(respaced.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.booked_seats(&staff, show).await, vec![1]);
}

async fn invalid_keys_are_400_and_change_nothing(app: TestApp) {
    let (staff, show) = app.show_with_staff(10).await;
    let john = app.user_token("john").await;
    let path = book_path(show);
    let send = |request: reqwest::RequestBuilder| async move {
        Answer::of(request.send().await.unwrap()).await
    };
    let post = || {
        app.client
            .post(app.url(&path))
            .bearer_auth(&john)
            .json(&seat(4))
    };
    let too_long = "k".repeat(256);
    let non_ascii = reqwest::header::HeaderValue::from_bytes("clé".as_bytes()).unwrap();
    let invalid = vec![
        ("empty", post().header(KEY, "")),
        ("256 characters", post().header(KEY, too_long.as_str())),
        ("a space", post().header(KEY, "two words")),
        ("a tab", post().header(KEY, "tab\there")),
        ("non-ASCII", post().header(KEY, non_ascii)),
        ("twice", post().header(KEY, "a").header(KEY, "b")),
    ];
    for (what, request) in invalid {
        let answer = send(request).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{what}: {answer:?}");
        assert_eq!(answer.code(), "invalid_idempotency_key", "{what}");
    }
    assert!(app.booked_seats(&staff, show).await.is_empty());
    let longest = "~".repeat(255);
    let answer = send(post().header(KEY, longest.as_str())).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{answer:?}");
}

async fn a_key_is_scoped_to_user_method_and_path(app: TestApp) {
    let (staff, show) = app.show_with_staff(10).await;
    let movie = app.create_movie(&staff, "Alien").await;
    let other_show = app.create_show(&staff, movie, 10, 24).await;
    let (john, jane) = (app.user_token("john").await, app.user_token("jane").await);
    let book = |token: &str, show: i64, n: i64| {
        let token = token.to_owned();
        let app = &app;
        async move {
            app.send_keyed(
                Method::POST,
                &book_path(show),
                &token,
                "same",
                Some(&seat(n)),
            )
            .await
        }
    };
    let johns = book(&john, show, 1).await;
    assert_eq!(johns.status, StatusCode::CREATED);
    // Another user, another path: each its own key.
    for answer in [book(&jane, show, 2).await, book(&john, other_show, 1).await] {
        assert_eq!(answer.status, StatusCode::CREATED, "{answer:?}");
        assert!(!answer.replayed);
    }
    // Another method on the same path is another key too.
    let id = id_of(&johns.json());
    let cancel = format!("/api/bookings/{id}/cancel/");
    let deleted = app
        .send_keyed(Method::DELETE, &cancel, &john, "c", None)
        .await;
    assert_eq!(deleted.status, StatusCode::OK);
    let posted = app
        .send_keyed(Method::POST, &cancel, &john, "c", None)
        .await;
    assert_eq!(posted.status, StatusCode::CONFLICT, "{posted:?}");
    assert_eq!(posted.code(), "already_cancelled");
    // The path without its trailing slash is the same path.
    let unslashed = app
        .send_keyed(
            Method::DELETE,
            cancel.trim_end_matches('/'),
            &john,
            "c",
            None,
        )
        .await;
    assert!(unslashed.replayed);
    assert_eq!(
        (unslashed.status, &unslashed.text),
        (deleted.status, &deleted.text)
    );
}

async fn cancelling_replays_its_answer(app: TestApp) {
    let (staff, show) = app.show_with_staff(10).await;
    let john = app.user_token("john").await;
    let booked = app
        .book(&john, show, seat(6))
        .await
        .json::<Value>()
        .await
        .unwrap();
    let cancel = format!("/api/bookings/{}/cancel/", id_of(&booked));
    let first = app
        .send_keyed(Method::DELETE, &cancel, &john, "c", None)
        .await;
    assert_eq!(first.status, StatusCode::OK, "{first:?}");
    assert_eq!(first.json()["status"], "CANCELLED");
    let retry = app
        .send_keyed(Method::DELETE, &cancel, &john, "c", None)
        .await;
    assert!(retry.replayed);
    assert_eq!((retry.status, &retry.text), (first.status, &first.text));
    // Booked again by someone else meanwhile: the replay still changes nothing.
    let jane = app.user_token("jane").await;
    assert_eq!(
        app.book(&jane, show, seat(6)).await.status(),
        StatusCode::CREATED
    );
    let retry = app
        .send_keyed(Method::DELETE, &cancel, &john, "c", None)
        .await;
    assert_eq!((retry.status, &retry.text), (first.status, &first.text));
    assert_eq!(app.booked_seats(&staff, show).await, vec![6]);
}

async fn the_catalogues_post_patch_and_delete_replay(app: TestApp) {
    let staff = app.staff_token("admin").await;
    let new_movie = json!({"title": "Heat", "duration_minutes": 170});
    let created = app
        .send_keyed(Method::POST, "/api/movies/", &staff, "m", Some(&new_movie))
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    let retry = app
        .send_keyed(Method::POST, "/api/movies/", &staff, "m", Some(&new_movie))
        .await;
    assert!(retry.replayed);
    assert_eq!(retry.text, created.text);
    let movie = format!("/api/movies/{}/", id_of(&created.json()));
    let listed = app.get("/api/movies/", &staff).await;
    assert_eq!(listed.headers()["x-total-count"], "1");

    let rename = json!({"title": "Heat (1995)"});
    let patched = app
        .send_keyed(Method::PATCH, &movie, &staff, "p", Some(&rename))
        .await;
    assert_eq!(patched.status, StatusCode::OK);
    let later = crate::helpers::patch(&app, &movie, &staff, json!({"title": "Later"})).await;
    assert_eq!(later.status(), StatusCode::OK);
    let retry = app
        .send_keyed(Method::PATCH, &movie, &staff, "p", Some(&rename))
        .await;
    assert!(retry.replayed);
    assert_eq!((retry.status, &retry.text), (patched.status, &patched.text));
    let current: Value = app.get(&movie, &staff).await.json().await.unwrap();
    assert_eq!(current["title"], "Later", "the replay changed nothing");

    let deleted = app
        .send_keyed(Method::DELETE, &movie, &staff, "d", None)
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let retry = app
        .send_keyed(Method::DELETE, &movie, &staff, "d", None)
        .await;
    assert!(retry.replayed, "{retry:?}");
    assert_eq!(retry.status, StatusCode::NO_CONTENT);
    // Without the key, the same request meets the current state.
    let plain = crate::helpers::delete(&app, &movie, &staff).await;
    assert_eq!(plain.status(), StatusCode::NOT_FOUND);
}

async fn a_body_over_the_limit_is_413_and_not_kept(app: TestApp) {
    let (staff, show) = app.show_with_staff(10).await;
    let john = app.user_token("john").await;
    let path = book_path(show);
    let huge = json!({"seat_number": 1, "padding": "x".repeat(70_000)});
    let refused = app
        .send_keyed(Method::POST, &path, &john, "big", Some(&huge))
        .await;
    assert_eq!(refused.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(refused.code(), "payload_too_large");
    // Nothing was kept: the key is free for a request that fits.
    let booked = app
        .send_keyed(Method::POST, &path, &john, "big", Some(&seat(1)))
        .await;
    assert_eq!(booked.status, StatusCode::CREATED, "{booked:?}");
    assert!(!booked.replayed);
    assert_eq!(app.booked_seats(&staff, show).await, vec![1]);
}

async fn public_routes_and_requests_without_a_valid_token_pass_through(app: TestApp) {
    let (staff, show) = app.show_with_staff(10).await;
    let path = book_path(show);
    for token in [None, Some("not-a-token")] {
        for key in ["k", ""] {
            let mut request = app
                .client
                .post(app.url(&path))
                .header(KEY, key)
                .json(&seat(1));
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            let answer = Answer::of(request.send().await.unwrap()).await;
            assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{answer:?}");
            assert!(!answer.replayed);
        }
    }
    // Signup, login, refresh and logout take no bearer token: a key (and a token) there
    // changes nothing, and the tokens they answer are never stored.
    let john = app.user_token("john").await;
    let public = |path: &str, body: Value| {
        app.client
            .post(app.url(path))
            .bearer_auth(&john)
            .header(KEY, "public")
            .json(&body)
            .send()
    };
    let ann = json!({"username": "ann", "password": PASSWORD});
    let signup = Answer::of(public("/api/signup/", ann.clone()).await.unwrap()).await;
    assert_eq!(signup.status, StatusCode::CREATED);
    let again = Answer::of(public("/api/signup/", ann.clone()).await.unwrap()).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{again:?}");
    for _ in 0..2 {
        let login = Answer::of(public("/api/login/", ann.clone()).await.unwrap()).await;
        assert_eq!(login.status, StatusCode::OK);
        assert!(!login.replayed);
    }
    assert_eq!(app.database().count_rows("idempotency_keys").await, 0);
    assert!(app.booked_seats(&staff, show).await.is_empty());
}

async fn a_retry_after_a_429_runs_again_and_still_counts_toward_the_limit(app: TestApp) {
    let (staff, show) = app.show_with_staff(10).await;
    let john = app.user_token("john").await;
    let limited = serve_beside(&app, |s| s.rate_limit.bookings_per_minute = 1).await;
    let unlimited = &app.address;
    let path = book_path(show);
    let book = |base: &str, key: &str, n: i64| {
        app.client
            .post(format!("{base}{path}"))
            .bearer_auth(&john)
            .header(KEY, key)
            .json(&seat(n))
            .send()
    };
    let first = Answer::of(book(&limited, "a", 1).await.unwrap()).await;
    assert_eq!(first.status, StatusCode::CREATED);
    let refused = Answer::of(book(&limited, "b", 2).await.unwrap()).await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(refused.code(), "rate_limited");
    // Not kept: with the limit lifted (here: another process without it) the retry runs.
    let retry = Answer::of(book(unlimited, "b", 2).await.unwrap()).await;
    assert_eq!(retry.status, StatusCode::CREATED, "{retry:?}");
    assert!(!retry.replayed);
    // A retry still counts toward the limit: the replay does not get past it.
    let replay = Answer::of(book(&limited, "b", 2).await.unwrap()).await;
    assert_eq!(replay.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(app.booked_seats(&staff, show).await, vec![1, 2]);
}

/// A show whose row the test can lock, on an app with the given lock timeout.
async fn postgres_app(lock_timeout_ms: u64) -> (TestApp, String, i64, String) {
    let db = TestDatabase::new(Backend::Postgres).await;
    let app = TestApp::spawn_on(db, |s| s.database.lock_timeout_ms = lock_timeout_ms).await;
    let (staff, show) = app.show_with_staff(10).await;
    let john = app.user_token("john").await;
    (app, staff, show, john)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_503_is_not_kept_and_the_retry_books() {
    let (app, staff, show, john) = postgres_app(300).await;
    let path = book_path(show);
    // A staff edit holding the show: the booking's lock wait times out.
    let held = app
        .database()
        .hold_locks(&format!(
            "SELECT id FROM shows WHERE id = {show} FOR UPDATE"
        ))
        .await;
    let unavailable = app
        .send_keyed(Method::POST, &path, &john, "k", Some(&seat(1)))
        .await;
    assert_eq!(
        unavailable.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{unavailable:?}"
    );
    assert_eq!(unavailable.retry_after.as_deref(), Some("1"));
    held.release().await;
    let retry = app
        .send_keyed(Method::POST, &path, &john, "k", Some(&seat(1)))
        .await;
    assert_eq!(retry.status, StatusCode::CREATED, "{retry:?}");
    assert!(!retry.replayed);
    assert_eq!(app.booked_seats(&staff, show).await, vec![1]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_while_the_first_runs_is_409_in_flight_then_replayed() {
    let (app, staff, show, john) = postgres_app(10_000).await;
    let path = book_path(show);
    let held = app
        .database()
        .hold_locks(&format!(
            "SELECT id FROM shows WHERE id = {show} FOR UPDATE"
        ))
        .await;
    let first = app
        .keyed(Method::POST, &path, &john, "k", Some(&seat(1)))
        .send();
    let first = tokio::spawn(first);
    // Once the first request has claimed the key (it then waits for the show), a retry.
    for _ in 0..50 {
        if app.database().count_rows("idempotency_keys").await == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let in_flight = app
        .send_keyed(Method::POST, &path, &john, "k", Some(&seat(1)))
        .await;
    assert_eq!(in_flight.status, StatusCode::CONFLICT, "{in_flight:?}");
    assert_eq!(in_flight.code(), "idempotency_in_flight");
    assert_eq!(in_flight.retry_after.as_deref(), Some("1"));
    held.release().await;
    let first = Answer::of(first.await.unwrap().unwrap()).await;
    assert_eq!(first.status, StatusCode::CREATED, "{first:?}");
    let retry = app
        .send_keyed(Method::POST, &path, &john, "k", Some(&seat(1)))
        .await;
    assert!(retry.replayed);
    assert_eq!((retry.status, &retry.text), (first.status, &first.text));
    assert_eq!(app.booked_seats(&staff, show).await, vec![1]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_header_is_documented_on_every_operation_that_honours_it() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    for spec in ["/api/openapi.json", "/api/openapi-v2.json"] {
        let doc: Value = app
            .client
            .get(app.url(spec))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        for (method, path) in ROUTES {
            let op = &doc["paths"][path][method];
            let secured = op["security"].as_array().is_some_and(|s| !s.is_empty());
            let honours = ["post", "patch", "delete"].contains(method)
                && secured
                && path.starts_with("/api/");
            let header = op["parameters"].as_array().and_then(|params| {
                params
                    .iter()
                    .find(|p| p["in"] == "header" && p["name"] == "Idempotency-Key")
            });
            assert_eq!(header.is_some(), honours, "{spec}: {method} {path}");
            if honours {
                assert!(
                    op["responses"].get("422").is_some(),
                    "{spec}: {method} {path}: 422 not documented"
                );
            }
        }
    }
}

/// Tests that start their own servers on a database of their own.
mod own_servers {
    use super::*;

    infra_diesel::on_both_backends!(
        setup = TestDatabase::new;
        keys_expire_after_retention_and_housekeeping_deletes_them,
        a_server_killed_right_after_a_booking_commits_gives_the_retry_the_original_201,
        a_server_killed_right_after_a_confirmation_commits_gives_the_retry_the_original_201,
    );

    async fn keys_expire_after_retention_and_housekeeping_deletes_them(db: TestDatabase) {
        let app = TestApp::spawn_on(db, |s| s.idempotency.retention_seconds = 1).await;
        let (staff, show) = app.show_with_staff(10).await;
        let john = app.user_token("john").await;
        let path = book_path(show);
        let first = app
            .send_keyed(Method::POST, &path, &john, "k", Some(&seat(1)))
            .await;
        assert_eq!(first.status, StatusCode::CREATED);
        tokio::time::sleep(Duration::from_millis(1100)).await;
        // Expired: the same request runs again, and meets the seat it booked.
        let again = app
            .send_keyed(Method::POST, &path, &john, "k", Some(&seat(1)))
            .await;
        assert_eq!(again.status, StatusCode::CONFLICT, "{again:?}");
        assert_eq!(again.code(), "seat_taken");
        tokio::time::sleep(Duration::from_millis(1100)).await;
        // And another body is a new request, not a reuse.
        let other = app
            .send_keyed(Method::POST, &path, &john, "k", Some(&seat(2)))
            .await;
        assert_eq!(other.status, StatusCode::CREATED, "{other:?}");
        assert_eq!(app.booked_seats(&staff, show).await, vec![1, 2]);
        // Housekeeping runs every second here; within a few, every row is gone.
        let mut left = i64::MAX;
        for _ in 0..50 {
            left = app.database().count_rows("idempotency_keys").await;
            if left == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(left, 0, "expired keys were not deleted");
    }

    /// A server process on `db` with an upcoming show of 10 seats and a user, john.
    struct Served {
        server: ServerProcess,
        client: reqwest::Client,
        john: String,
        show: i64,
    }

    async fn served(db: &TestDatabase) -> Served {
        let settings = test_settings(&db.url);
        let server = ServerProcess::start(&db.url).await;
        let client = reqwest::Client::new();
        let login = |name: &'static str| {
            let (client, base) = (client.clone(), server.address.clone());
            async move {
                let body: Value = client
                    .post(format!("{base}/api/login/"))
                    .json(&json!({"username": name, "password": PASSWORD}))
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                body["access"].as_str().expect("access token").to_owned()
            }
        };
        create_staff(&settings, "admin").await;
        let staff = login("admin").await;
        let post = |path: &str, token: &str, body: Value| {
            client
                .post(format!("{}{path}", server.address))
                .bearer_auth(token)
                .json(&body)
                .send()
        };
        let movie: Value = post(
            "/api/movies/",
            &staff,
            json!({"title": "Up", "duration_minutes": 96}),
        )
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
        let start = (chrono::Utc::now() + chrono::Duration::days(1)).to_rfc3339();
        let show: Value = post(
            "/api/shows/",
            &staff,
            json!({"movie_id": id_of(&movie), "screen_name": "1", "start_time": start, "total_seats": 10}),
        )
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
        let signup = post(
            "/api/signup/",
            "",
            json!({"username": "john", "password": PASSWORD}),
        );
        assert_eq!(signup.await.unwrap().status(), StatusCode::CREATED);
        let john = login("john").await;
        Served {
            server,
            client,
            john,
            show: id_of(&show),
        }
    }

    /// Sends john's keyed POST through a proxy that loses the answer, SIGKILLs the server
    /// as soon as the answer was written, starts another, and sends the retry there.
    async fn lost_then_retried(
        db: &TestDatabase,
        served: Served,
        path: &str,
        body: Option<Value>,
    ) -> (Answer, String) {
        let Served {
            mut server,
            client,
            john,
            ..
        } = served;
        let keyed = |base: &str| {
            let request = client
                .post(format!("{base}{path}"))
                .bearer_auth(&john)
                .header(KEY, "lost-answer");
            match &body {
                Some(body) => request.json(body),
                None => request,
            }
        };
        let target = server
            .address
            .trim_start_matches("http://")
            .parse()
            .unwrap();
        let proxy = LosingProxy::start(target).await;
        let lost = keyed(&proxy.url("")).send();
        let (lost, ()) = tokio::join!(lost, async {
            proxy.answered().await;
            server.child.kill().expect("SIGKILL the server");
            server.child.wait().expect("reap the server");
        });
        assert!(lost.is_err(), "the answer was not lost: {lost:?}");

        let restarted = ServerProcess::start(&db.url).await;
        let retry = Answer::of(keyed(&restarted.address).send().await.unwrap()).await;
        let bookings = client
            .get(format!("{}/api/bookings/", restarted.address))
            .bearer_auth(&john)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        (retry, bookings)
    }

    async fn a_server_killed_right_after_a_booking_commits_gives_the_retry_the_original_201(
        db: TestDatabase,
    ) {
        let served = served(&db).await;
        let path = book_path(served.show);
        let (retry, bookings) = lost_then_retried(&db, served, &path, Some(seat(3))).await;
        assert_eq!(retry.status, StatusCode::CREATED, "{retry:?}");
        assert!(retry.replayed);
        let bookings: Value = serde_json::from_str(&bookings).unwrap();
        let bookings = bookings.as_array().unwrap();
        assert_eq!(bookings.len(), 1, "{bookings:?}");
        assert_eq!(id_of(&bookings[0]), id_of(&retry.json()));
        assert_eq!(bookings[0]["seat_number"], 3);
    }

    async fn a_server_killed_right_after_a_confirmation_commits_gives_the_retry_the_original_201(
        db: TestDatabase,
    ) {
        let served = served(&db).await;
        let hold: Value = served
            .client
            .post(format!(
                "{}/api/shows/{}/holds/",
                served.server.address, served.show
            ))
            .bearer_auth(&served.john)
            .json(&json!({"seat_numbers": [4, 5]}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let path = format!("/api/holds/{}/confirm/", id_of(&hold));
        let (retry, bookings) = lost_then_retried(&db, served, &path, None).await;
        assert_eq!(retry.status, StatusCode::CREATED, "{retry:?}");
        assert!(retry.replayed);
        let bookings: Value = serde_json::from_str(&bookings).unwrap();
        let bookings = bookings.as_array().unwrap();
        let confirmed = retry.json()["bookings"].as_array().unwrap().clone();
        assert_eq!(bookings.len(), 2, "{bookings:?}");
        let ids = |list: &[Value]| {
            let mut ids: Vec<i64> = list.iter().map(id_of).collect();
            ids.sort_unstable();
            ids
        };
        assert_eq!(ids(bookings), ids(&confirmed));
    }
}
