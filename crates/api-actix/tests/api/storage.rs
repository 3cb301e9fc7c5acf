//! The storage's limits over HTTP: text at each limit fits its column on both backends.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{assert_error, json_body, patch, TestApp, PASSWORD};

infra_diesel::on_both_backends!(
    setup = TestApp::spawn;
    text_at_each_limit_is_stored_and_one_past_it_is_400_on_both_backends,
);

/// Both backends agree at every limit: what the domain accepts fits its column (PostgreSQL
/// counts `VARCHAR(n)` in characters, and refuses what does not fit), and one past the
/// limit is a 400 naming the field, never a 500.
async fn text_at_each_limit_is_stored_and_one_past_it_is_400_on_both_backends(app: TestApp) {
    // "İ" lower-cases to two characters, so 75 of them make the longest key that fits
    // `username_key VARCHAR(150)`, and 76 one too long.
    let longest = "İ".repeat(75);
    let user = json_body(app.signup(&longest).await, StatusCode::CREATED).await;
    assert_eq!(user["username"], longest.as_str());
    assert_eq!(
        app.login(&longest, PASSWORD).await.status(),
        StatusCode::OK,
        "the user is found by the stored key"
    );
    let error = assert_error(
        app.signup(&"İ".repeat(76)).await,
        StatusCode::BAD_REQUEST,
        "invalid_input",
    )
    .await;
    assert!(error["fields"]["username"].is_array(), "{error}");

    // The longest e-mail: 64 characters before the @, 254 in all (VARCHAR(254)).
    let email = format!(
        "{}@{}.example.com",
        "a".repeat(64),
        "d".repeat(254 - 64 - 13)
    );
    assert_eq!(email.chars().count(), 254);
    let signed_up = app
        .post(
            "/api/signup/",
            None,
            json!({"username": "mailer", "password": PASSWORD, "email": email}),
        )
        .await;
    assert_eq!(
        json_body(signed_up, StatusCode::CREATED).await["email"],
        email.as_str()
    );

    // Titles (VARCHAR(200)) and screen names (VARCHAR(100)) in characters that take
    // four bytes each.
    let staff = app.staff_token("admin").await;
    let title = "🎬".repeat(200);
    let movie = json_body(
        app.post(
            "/api/movies/",
            Some(&staff),
            json!({"title": title, "duration_minutes": 90}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(movie["title"], title.as_str());
    let too_long = app
        .post(
            "/api/movies/",
            Some(&staff),
            json!({"title": "🎬".repeat(201), "duration_minutes": 90}),
        )
        .await;
    assert_error(too_long, StatusCode::BAD_REQUEST, "invalid_input").await;
    let screen = "İ".repeat(100);
    let start = (chrono::Utc::now() + chrono::Duration::days(1)).to_rfc3339();
    let show = json_body(
        app.post(
            "/api/shows/",
            Some(&staff),
            json!({"movie_id": movie["id"], "screen_name": screen, "start_time": start, "total_seats": 5}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(show["screen_name"], screen.as_str());
    let renamed = patch(
        &app,
        &format!("/api/shows/{}/", show["id"]),
        &staff,
        json!({"screen_name": "İ".repeat(101)}),
    )
    .await;
    assert_error(renamed, StatusCode::BAD_REQUEST, "invalid_input").await;
}
