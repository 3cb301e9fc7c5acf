//! The seed's manual test flow, from signup to cancel and re-book, on both backends.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{assert_error, TestApp, PASSWORD};

infra_diesel::on_both_backends!(setup = TestApp::spawn; signup_login_book_list_cancel_rebook);

async fn signup_login_book_list_cancel_rebook(app: TestApp) {
    let (staff, show) = app.show_with_staff(100).await;

    // Sign up and log in.
    let signup = app
        .post(
            "/api/signup/",
            None,
            json!({"username": "john", "password": PASSWORD, "email": "john@example.com"}),
        )
        .await;
    assert_eq!(signup.status(), StatusCode::CREATED);
    let user: Value = signup.json().await.unwrap();
    assert_eq!(user["username"], "john");
    assert_eq!(user["email"], "john@example.com");
    assert!(user.get("password").is_none());
    let login: Value = app.login("john", PASSWORD).await.json().await.unwrap();
    assert_eq!(login["token_type"], "Bearer");
    assert_eq!(login["expires_in"], 900);
    let token = login["access"].as_str().unwrap().to_owned();

    // List shows.
    let shows = app.get("/api/shows/", &token).await;
    assert_eq!(shows.status(), StatusCode::OK);
    assert_eq!(shows.headers()["x-total-count"], "1");
    let shows: Value = shows.json().await.unwrap();
    assert_eq!(shows[0]["id"], show);
    assert_eq!(shows[0]["available_seats"], 100);
    assert_eq!(shows[0]["movie"]["title"], "Inception");

    // Book seat 5.
    let booked = app.book(&token, show, json!({"seat_number": 5})).await;
    assert_eq!(booked.status(), StatusCode::CREATED);
    let booking: Value = booked.json().await.unwrap();
    assert_eq!(booking["user"], "john");
    assert_eq!(booking["show"], show);
    assert_eq!(booking["seat_number"], 5);
    assert_eq!(booking["status"], "CONFIRMED");
    assert!(booking["cancelled_at"].is_null());
    assert!(booking["booking_time"].as_str().unwrap().ends_with('Z'));
    let id = booking["id"].as_i64().unwrap();

    // Somebody else cannot have it.
    let jane = app.user_token("jane").await;
    let taken = assert_error(
        app.book(&jane, show, json!({"seat_number": 5})).await,
        StatusCode::CONFLICT,
        "seat_taken",
    )
    .await;
    assert_eq!(taken["seats"], json!([5]));

    // My bookings.
    let mine: Value = app
        .get("/api/bookings/", &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(mine.as_array().unwrap().len(), 1);
    assert_eq!(mine[0]["id"], id);
    let alias: Value = app
        .get("/api/my-bookings/", &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(alias, mine);
    let show_now: Value = app
        .get(&format!("/api/shows/{show}/"), &staff)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(show_now["available_seats"], 99);

    // Cancel, and the seat is free again for someone else.
    let cancelled = app
        .request(
            Method::DELETE,
            &format!("/api/bookings/{id}/cancel/"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(cancelled.status(), StatusCode::OK);
    let cancelled: Value = cancelled.json().await.unwrap();
    assert_eq!(cancelled["status"], "CANCELLED");
    assert!(cancelled["cancelled_at"].is_string());
    assert_error(
        app.request(
            Method::POST,
            &format!("/api/bookings/{id}/cancel/"),
            Some(&token),
            None,
        )
        .await,
        StatusCode::CONFLICT,
        "already_cancelled",
    )
    .await;
    let rebooked = app.book(&jane, show, json!({"seat_number": 5})).await;
    assert_eq!(rebooked.status(), StatusCode::CREATED);

    // The cancelled booking stays in john's history.
    let history: Value = app
        .get("/api/bookings/?status=CANCELLED", &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(history[0]["id"], id);
    assert_eq!(app.booked_seats(&token, show).await, vec![5]);
}
