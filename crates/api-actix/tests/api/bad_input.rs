//! Bad input over HTTP: every malformed body, path and query is a JSON 400 (413 for a body
//! over 64 KiB), never a 5xx, and nothing is written.

use reqwest::{Method, Response, StatusCode};
use serde_json::json;

use crate::helpers::{
    assert_error, bookings_of, get_json, id_of, listed, patch, raw, TestApp, PASSWORD,
};

infra_diesel::on_both_backends!(
    setup = TestApp::spawn;
    malformed_seat_numbers_are_400_and_book_nothing,
    seat_beyond_total_seats_is_400_invalid_seat_and_books_nothing,
    non_numeric_or_overflowing_path_ids_are_400_invalid_path,
    bad_query_parameters_are_400,
    malformed_json_is_400_invalid_json_on_every_body_route,
    json_body_over_64_kib_is_413_and_writes_nothing,
    date_filter_on_the_last_days_chrono_knows_is_answered_not_a_dropped_connection,
    date_filter_far_in_the_past_or_future_is_an_empty_list_or_400_never_5xx,
    nul_character_in_catalogue_text_is_400_invalid_input_and_writes_nothing,
    start_time_outside_the_storable_years_is_400_invalid_input_and_writes_nothing,
);

async fn malformed_seat_numbers_are_400_and_book_nothing(app: TestApp) {
    let (_, show) = app.show_with_staff(20).await;
    let john = app.user_token("john").await;
    let eleven: Vec<i64> = (1..=11).collect();
    let eleven = json!({ "seat_numbers": eleven }).to_string();
    let cases: &[(&str, &str)] = &[
        (r#"{"seat_number": "abc"}"#, "invalid_json"),
        (r#"{"seat_number": "5"}"#, "invalid_json"),
        (r#"{"seat_number": 0}"#, "invalid_seat"),
        (r#"{"seat_number": -1}"#, "invalid_seat"),
        (r#"{"seat_number": 1.5}"#, "invalid_json"),
        (r#"{"seat_number": true}"#, "invalid_json"),
        (r#"{"seat_number": [5]}"#, "invalid_json"),
        (r#"{"seat_number": {"n": 5}}"#, "invalid_json"),
        (r#"{"seat_number": null}"#, "invalid_seat"),
        (
            r#"{"seat_number": 1000000000000000000000000000000}"#,
            "invalid_json",
        ),
        (
            r#"{"seat_number": -1000000000000000000000000000000}"#,
            "invalid_json",
        ),
        (r#"{"seat_number": 1e30}"#, "invalid_json"),
        // 2^32 + 5: would be seat 5 if cut to 32 bits.
        (r#"{"seat_number": 4294967301}"#, "invalid_seat"),
        (r#"{"seat_number": 9223372036854775807}"#, "invalid_seat"),
        (r#"{"seat_number": 9223372036854775808}"#, "invalid_json"),
        (r#"{}"#, "invalid_seat"),
        (r#"{"seat": 5}"#, "invalid_seat"),
        (r#"{"seat_numbers": null}"#, "invalid_seat"),
        (r#"{"seat_number": 1, "seat_numbers": [2]}"#, "invalid_seat"),
        (r#"{"seat_number": 1, "seat_numbers": [1]}"#, "invalid_seat"),
        (r#"{"seat_numbers": []}"#, "invalid_seat"),
        (r#"{"seat_numbers": [3, 3]}"#, "invalid_seat"),
        (r#"{"seat_numbers": [1, 2, 1]}"#, "invalid_seat"),
        (eleven.as_str(), "invalid_seat"),
        (r#"{"seat_numbers": [1, 0]}"#, "invalid_seat"),
        (r#"{"seat_numbers": [1, -1]}"#, "invalid_seat"),
        (r#"{"seat_numbers": [1, "x"]}"#, "invalid_json"),
        (r#"{"seat_numbers": [1, 2.5]}"#, "invalid_json"),
        (r#"{"seat_numbers": [1, null]}"#, "invalid_json"),
        (
            r#"{"seat_numbers": [1, 1000000000000000000000000000000]}"#,
            "invalid_json",
        ),
        (r#"{"seat_numbers": "1,2"}"#, "invalid_json"),
        (r#"{"seat_numbers": 5}"#, "invalid_json"),
        (r#"[5]"#, "invalid_json"),
        (r#"5"#, "invalid_json"),
        (r#""seat""#, "invalid_json"),
        (r#"null"#, "invalid_json"),
        (r#"{"seat_number": 5"#, "invalid_json"),
        (r#"{"seat_number": 5,}"#, "invalid_json"),
        (r#"{seat_number: 5}"#, "invalid_json"),
        ("not json", "invalid_json"),
        ("", "invalid_json"),
    ];
    let path = format!("/api/shows/{show}/book/");
    for (body, code) in cases {
        let response = raw(&app, Method::POST, &path, Some(&john), *body).await;
        let status = response.status();
        assert_eq!(status, StatusCode::BAD_REQUEST, "body {body}");
        let error = assert_error(response, StatusCode::BAD_REQUEST, code).await;
        if *code == "invalid_seat" {
            assert!(error["fields"].is_object(), "body {body}: {error}");
        }
    }
    // Nothing was booked.
    assert!(app.booked_seats(&john, show).await.is_empty());
    assert!(bookings_of(&app, &john).await.is_empty());
    let now = get_json(&app, &format!("/api/shows/{show}/"), &john).await;
    assert_eq!(now["available_seats"], 20);
}

async fn seat_beyond_total_seats_is_400_invalid_seat_and_books_nothing(app: TestApp) {
    let (_, show) = app.show_with_staff(20).await;
    let john = app.user_token("john").await;
    // The error names the field the request used, however many seats are out of range.
    for (body, field) in [
        (json!({"seat_number": 21}), "seat_number"),
        (json!({"seat_number": 10_000}), "seat_number"),
        (json!({"seat_numbers": [19, 20, 21]}), "seat_numbers"),
        (json!({"seat_numbers": [21]}), "seat_numbers"),
        (json!({"seat_numbers": [1, 500]}), "seat_numbers"),
    ] {
        let error = assert_error(
            app.book(&john, show, body.clone()).await,
            StatusCode::BAD_REQUEST,
            "invalid_seat",
        )
        .await;
        let fields = error["fields"].as_object().expect("fields");
        assert_eq!(
            fields.keys().collect::<Vec<_>>(),
            vec![field],
            "{body}: {error}"
        );
    }
    // Beyond the most seats a show can have, it is refused before looking at the show.
    assert_error(
        app.book(&john, show, json!({"seat_number": 10_001})).await,
        StatusCode::BAD_REQUEST,
        "invalid_seat",
    )
    .await;
    assert!(app.booked_seats(&john, show).await.is_empty());
    assert!(bookings_of(&app, &john).await.is_empty());
}

async fn non_numeric_or_overflowing_path_ids_are_400_invalid_path(app: TestApp) {
    let (staff, _) = app.show_with_staff(5).await;
    let user = app.user_token("john").await;
    for id in ["abc", "1.5", "1e3", "99999999999999999999", "%20", "1abc"] {
        for path in [
            format!("/api/movies/{id}/"),
            format!("/api/movies/{id}/shows/"),
            format!("/api/shows/{id}/"),
            format!("/api/shows/{id}/seats/"),
            format!("/api/bookings/{id}/"),
        ] {
            assert_error(
                app.get(&path, &user).await,
                StatusCode::BAD_REQUEST,
                "invalid_path",
            )
            .await;
        }
        let book = format!("/api/shows/{id}/book/");
        assert_error(
            app.post(&book, Some(&user), json!({"seat_number": 1}))
                .await,
            StatusCode::BAD_REQUEST,
            "invalid_path",
        )
        .await;
        let cancel = format!("/api/bookings/{id}/cancel/");
        for method in [Method::DELETE, Method::POST] {
            assert_error(
                app.request(method, &cancel, Some(&user), None).await,
                StatusCode::BAD_REQUEST,
                "invalid_path",
            )
            .await;
        }
        for (method, path) in [
            (Method::PATCH, format!("/api/movies/{id}/")),
            (Method::DELETE, format!("/api/movies/{id}/")),
            (Method::PATCH, format!("/api/shows/{id}/")),
            (Method::DELETE, format!("/api/shows/{id}/")),
        ] {
            let body = (method == Method::PATCH).then(|| json!({}));
            assert_error(
                app.request(method, &path, Some(&staff), body).await,
                StatusCode::BAD_REQUEST,
                "invalid_path",
            )
            .await;
        }
    }
    assert!(bookings_of(&app, &user).await.is_empty());
}

async fn bad_query_parameters_are_400(app: TestApp) {
    let (_, show) = app.show_with_staff(5).await;
    let user = app.user_token("john").await;
    let movie = get_json(&app, &format!("/api/shows/{show}/"), &user).await["movie"]["id"]
        .as_i64()
        .expect("movie id");
    let invalid_input: &[(&str, &str)] = &[
        ("/api/shows/?limit=0", "limit"),
        ("/api/shows/?limit=501", "limit"),
        ("/api/shows/?limit=-1", "limit"),
        ("/api/shows/?offset=-1", "offset"),
        ("/api/movies/?limit=0", "limit"),
        ("/api/movies/?limit=501", "limit"),
        ("/api/movies/?offset=-5", "offset"),
        ("/api/bookings/?status=nope", "status"),
        ("/api/bookings/?status=", "status"),
        ("/api/bookings/?limit=0", "limit"),
        ("/api/bookings/?limit=501", "limit"),
        ("/api/my-bookings/?status=nope", "status"),
        ("/api/my-bookings/?limit=501", "limit"),
    ];
    for (path, field) in invalid_input {
        let error = assert_error(
            app.get(path, &user).await,
            StatusCode::BAD_REQUEST,
            "invalid_input",
        )
        .await;
        assert!(error["fields"][*field].is_array(), "{path}: {error}");
    }
    let movie_shows = format!("/api/movies/{movie}/shows/?limit=0");
    assert_error(
        app.get(&movie_shows, &user).await,
        StatusCode::BAD_REQUEST,
        "invalid_input",
    )
    .await;
    let invalid_query = [
        "/api/shows/?date=notadate".to_owned(),
        "/api/shows/?date=2099-13-01".to_owned(),
        "/api/shows/?date=2099-02-30".to_owned(),
        "/api/shows/?date=01-01-2099".to_owned(),
        "/api/shows/?date=2099-01-01T10:00:00Z".to_owned(),
        "/api/shows/?upcoming=maybe".to_owned(),
        "/api/shows/?movie=abc".to_owned(),
        "/api/shows/?limit=abc".to_owned(),
        "/api/shows/?limit=1.5".to_owned(),
        "/api/shows/?limit=99999999999999999999".to_owned(),
        "/api/shows/?offset=abc".to_owned(),
        "/api/movies/?limit=ten".to_owned(),
        "/api/bookings/?limit=ten".to_owned(),
        "/api/my-bookings/?offset=x".to_owned(),
        format!("/api/movies/{movie}/shows/?date=notadate"),
    ];
    for path in &invalid_query {
        assert_error(
            app.get(path, &user).await,
            StatusCode::BAD_REQUEST,
            "invalid_query",
        )
        .await;
    }
    // The bounds themselves are fine.
    for path in [
        "/api/shows/?limit=1",
        "/api/shows/?limit=500&offset=0",
        "/api/movies/?limit=500",
        "/api/bookings/?limit=500&status=CONFIRMED",
        "/api/my-bookings/?status=CANCELLED",
        "/api/shows/?date=2099-01-01&upcoming=true",
    ] {
        assert_eq!(
            app.get(path, &user).await.status(),
            StatusCode::OK,
            "{path}"
        );
    }
}

async fn malformed_json_is_400_invalid_json_on_every_body_route(app: TestApp) {
    let (staff, show) = app.show_with_staff(5).await;
    let user = app.user_token("john").await;
    let movie = get_json(&app, &format!("/api/shows/{show}/"), &user).await["movie"]["id"]
        .as_i64()
        .expect("movie id");
    let routes: Vec<(Method, String, Option<&str>)> = vec![
        (Method::POST, "/api/signup/".into(), None),
        (Method::POST, "/api/login/".into(), None),
        (Method::POST, "/api/token/refresh/".into(), None),
        (Method::POST, "/api/logout/".into(), None),
        (Method::POST, "/api/movies/".into(), Some(&staff)),
        (Method::PATCH, format!("/api/movies/{movie}/"), Some(&staff)),
        (Method::POST, "/api/shows/".into(), Some(&staff)),
        (Method::PATCH, format!("/api/shows/{show}/"), Some(&staff)),
        (
            Method::POST,
            format!("/api/shows/{show}/book/"),
            Some(&user),
        ),
    ];
    for (method, path, token) in &routes {
        for body in [
            "{",
            "{\"a\": }",
            "nul",
            "\u{0}",
            "{\"title\": \"x\"} trailing",
        ] {
            let response = raw(&app, method.clone(), path, *token, body).await;
            assert_error(response, StatusCode::BAD_REQUEST, "invalid_json").await;
        }
    }
    // Not UTF-8.
    let response = app
        .client
        .post(app.url("/api/login/"))
        .header("content-type", "application/json")
        .body(vec![0xff, 0xfe, 0x7b])
        .send()
        .await
        .expect("send");
    assert_error(response, StatusCode::BAD_REQUEST, "invalid_json").await;
    // Nothing was written.
    let (movies, total) = listed(app.get("/api/movies/", &user).await).await;
    assert_eq!((movies[0]["title"].as_str(), total), (Some("Inception"), 1));
    let (_, total) = listed(app.get("/api/shows/", &user).await).await;
    assert_eq!(total, 1);
    assert!(app.booked_seats(&user, show).await.is_empty());
}

async fn json_body_over_64_kib_is_413_and_writes_nothing(app: TestApp) {
    let (staff, show) = app.show_with_staff(5).await;
    let user = app.user_token("john").await;
    let big = "x".repeat(70 * 1024);
    let book = format!("/api/shows/{show}/book/");
    let cases: Vec<(&str, Option<&str>, String)> = vec![
        (
            "/api/signup/",
            None,
            json!({"username": "huge", "password": PASSWORD, "email": null, "pad": big})
                .to_string(),
        ),
        (
            "/api/login/",
            None,
            json!({"username": "john", "password": big}).to_string(),
        ),
        (
            "/api/movies/",
            Some(&staff),
            json!({"title": "Huge", "duration_minutes": 90, "description": big}).to_string(),
        ),
        (
            "/api/shows/",
            Some(&staff),
            json!({"screen_name": big}).to_string(),
        ),
        (
            &book,
            Some(&user),
            format!(r#"{{"seat_number": 1, "pad": "{big}"}}"#),
        ),
    ];
    for (path, token, body) in cases {
        assert!(body.len() > 64 * 1024);
        let response = raw(&app, Method::POST, path, token, body).await;
        assert_error(response, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;
    }
    // Just under the limit is read (and then judged on its content).
    let under =
        json!({"title": "Huge", "duration_minutes": 90, "description": "d".repeat(60 * 1024)});
    let response = app.post("/api/movies/", Some(&staff), under).await;
    assert_error(response, StatusCode::BAD_REQUEST, "invalid_input").await;

    // Nothing was written.
    assert_eq!(app.signup("huge").await.status(), StatusCode::CREATED);
    let (_, total) = listed(app.get("/api/movies/", &user).await).await;
    assert_eq!(total, 1);
    assert!(app.booked_seats(&user, show).await.is_empty());
}

/// A JSON 400 `invalid_input` that names `field`.
async fn assert_invalid(response: Response, field: &str) {
    let error = assert_error(response, StatusCode::BAD_REQUEST, "invalid_input").await;
    assert!(error["fields"][field].is_array(), "{field}: {error}");
}

/// GET the show list and the movie's show list filtered on each date, and expect its
/// answer: a 400 naming `date` for a date outside the years a show may start in (1900 to
/// 9999, the domain's `YEARS`), an empty list for one inside (no show is that far off).
/// Never a 5xx, never a dropped connection.
async fn assert_date_filter_answered(app: &TestApp, dates: &[(&str, StatusCode)]) {
    let (_, show) = app.show_with_staff(5).await;
    let user = app.user_token("john").await;
    let movie = get_json(app, &format!("/api/shows/{show}/"), &user).await["movie"]["id"]
        .as_i64()
        .expect("movie id");
    for (date, expected) in dates {
        for path in [
            format!("/api/shows/?date={date}"),
            format!("/api/movies/{movie}/shows/?date={date}"),
        ] {
            // A panicking handler drops the connection: this fails with no answer.
            let response = app
                .client
                .get(app.url(&path))
                .bearer_auth(&user)
                .send()
                .await
                .unwrap_or_else(|e| panic!("GET {path}: no answer ({e})"));
            assert_eq!(response.status(), *expected, "{path}");
            if *expected == StatusCode::OK {
                let (items, total) = listed(response).await;
                assert_eq!((items.len(), total), (0, 0), "{path}");
            } else {
                assert_invalid(response, "date").await;
            }
        }
    }
}

async fn date_filter_on_the_last_days_chrono_knows_is_answered_not_a_dropped_connection(
    app: TestApp,
) {
    // `+262142-12-31` is the last date chrono can represent: the day after overflows.
    assert_date_filter_answered(
        &app,
        &[
            ("%2B262142-12-31", StatusCode::BAD_REQUEST),
            ("%2B262142-01-01", StatusCode::BAD_REQUEST),
        ],
    )
    .await;
}

async fn date_filter_far_in_the_past_or_future_is_an_empty_list_or_400_never_5xx(app: TestApp) {
    assert_date_filter_answered(
        &app,
        &[
            ("-262143-01-01", StatusCode::BAD_REQUEST),
            ("-5000-01-01", StatusCode::BAD_REQUEST),
            ("-0001-01-01", StatusCode::BAD_REQUEST),
            ("0000-01-01", StatusCode::BAD_REQUEST),
            ("9999-12-31", StatusCode::OK),
            ("%2B10000-01-01", StatusCode::BAD_REQUEST),
        ],
    )
    .await;
}

/// Catalogue text may not hold control characters (the domain's `parse_text` and
/// `parse_description`), NUL among them: PostgreSQL could not store it anyway.
async fn nul_character_in_catalogue_text_is_400_invalid_input_and_writes_nothing(app: TestApp) {
    let (staff, show) = app.show_with_staff(5).await;
    let show_before = get_json(&app, &format!("/api/shows/{show}/"), &staff).await;
    let movie = id_of(&show_before["movie"]);
    let movie_before = get_json(&app, &format!("/api/movies/{movie}/"), &staff).await;
    let title = "Nul\u{0}Title";
    assert_invalid(
        app.post(
            "/api/movies/",
            Some(&staff),
            json!({"title": title, "duration_minutes": 90}),
        )
        .await,
        "title",
    )
    .await;
    assert_invalid(
        app.post(
            "/api/movies/",
            Some(&staff),
            json!({"title": "Described", "description": "line\u{0}", "duration_minutes": 90}),
        )
        .await,
        "description",
    )
    .await;
    assert_invalid(
        patch(
            &app,
            &format!("/api/movies/{movie}/"),
            &staff,
            json!({ "title": title }),
        )
        .await,
        "title",
    )
    .await;
    let screen = "Screen\u{0}";
    assert_invalid(
        app.post(
            "/api/shows/",
            Some(&staff),
            json!({
                "movie_id": movie, "screen_name": screen,
                "start_time": "2099-01-01T10:00:00Z", "total_seats": 5
            }),
        )
        .await,
        "screen_name",
    )
    .await;
    assert_invalid(
        patch(
            &app,
            &format!("/api/shows/{show}/"),
            &staff,
            json!({ "screen_name": screen }),
        )
        .await,
        "screen_name",
    )
    .await;
    // Nothing was written.
    let (movies, total) = listed(app.get("/api/movies/", &staff).await).await;
    assert_eq!((movies, total), (vec![movie_before], 1));
    let (shows, total) = listed(app.get("/api/shows/", &staff).await).await;
    assert_eq!((shows, total), (vec![show_before], 1));
}

/// A show starts in the years 1900 to 9999 (the domain's `YEARS`, what every database
/// stores): a start time outside them is refused, on create and on patch.
async fn start_time_outside_the_storable_years_is_400_invalid_input_and_writes_nothing(
    app: TestApp,
) {
    let (staff, show) = app.show_with_staff(5).await;
    let show_before = get_json(&app, &format!("/api/shows/{show}/"), &staff).await;
    let movie = id_of(&show_before["movie"]);
    for start in ["-5000-01-01T10:00:00Z", "+262142-12-31T10:00:00Z"] {
        assert_invalid(
            app.post(
                "/api/shows/",
                Some(&staff),
                json!({
                    "movie_id": movie, "screen_name": "Screen 9",
                    "start_time": start, "total_seats": 5
                }),
            )
            .await,
            "start_time",
        )
        .await;
        assert_invalid(
            patch(
                &app,
                &format!("/api/shows/{show}/"),
                &staff,
                json!({ "start_time": start }),
            )
            .await,
            "start_time",
        )
        .await;
    }
    // Nothing was written.
    let (shows, total) = listed(app.get("/api/shows/", &staff).await).await;
    assert_eq!((shows, total), (vec![show_before], 1));
}
