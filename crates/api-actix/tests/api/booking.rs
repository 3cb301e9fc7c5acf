//! Booking over HTTP: one seat or several, the caller's list, one booking, cancelling by
//! DELETE and by the POST alias, and the conflicts of the contract.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{
    assert_error, book_ok, bookings_of, delete, get_json, id_of, ints, json_body, key_set, keys,
    listed, patch, send_together, strs, TestApp,
};

infra_diesel::on_both_backends!(
    setup = TestApp::spawn;
    single_seat_booking_is_201_with_the_seed_shape,
    seat_numbers_booking_is_201_with_a_bookings_list_all_booked,
    bookings_list_is_the_callers_own_newest_first_with_status_filter_and_alias,
    get_one_booking_is_200_and_someone_elses_is_404_for_get_and_cancel,
    cancel_by_delete_or_post_alias_frees_the_seat_and_cancelling_twice_is_409,
    taken_seat_is_409_seat_taken_with_the_seats_and_books_nothing,
    booking_a_show_that_started_is_409_show_started,
    cancelling_after_the_show_started_is_409_show_started,
    booking_an_unknown_show_is_404,
    concurrent_cancels_of_one_booking_succeed_exactly_once,
);

const BOOKING_KEYS: &[&str] = &[
    "id",
    "user",
    "show",
    "seat_number",
    "status",
    "booking_time",
    "cancelled_at",
    "seat_label",
    "price",
    "currency",
];

fn cancel_path(id: i64) -> String {
    format!("/api/bookings/{id}/cancel/")
}

async fn cancel_post(app: &TestApp, id: i64, token: &str) -> reqwest::Response {
    app.request(Method::POST, &cancel_path(id), Some(token), None)
        .await
}

async fn single_seat_booking_is_201_with_the_seed_shape(app: TestApp) {
    let (_, show) = app.show_with_staff(20).await;
    let token = app.user_token("john").await;
    let booking = json_body(
        app.book(&token, show, json!({"seat_number": 5})).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(keys(&booking), key_set(BOOKING_KEYS));
    assert!(booking["id"].is_i64());
    assert_eq!(booking["user"], "john");
    assert_eq!(booking["show"], show);
    assert_eq!(booking["seat_number"], 5);
    assert_eq!(booking["status"], "CONFIRMED");
    assert!(booking["cancelled_at"].is_null());
    // A flat show's seat is labelled by its number and free, in the default currency.
    assert_eq!(booking["seat_label"], "5");
    assert_eq!(booking["price"], 0);
    assert_eq!(booking["currency"], "EUR");
    let time = booking["booking_time"].as_str().expect("booking_time");
    let parsed = chrono::DateTime::parse_from_rfc3339(time).expect("RFC 3339");
    assert!(time.ends_with('Z'), "not UTC: {time}");
    let age = chrono::Utc::now() - parsed.with_timezone(&chrono::Utc);
    assert!(age.num_seconds().abs() < 60, "booking_time {time}");

    // The edges of the show's seats.
    book_ok(&app, &token, show, json!({"seat_number": 1})).await;
    book_ok(&app, &token, show, json!({"seat_number": 20})).await;
    assert_eq!(app.booked_seats(&token, show).await, vec![1, 5, 20]);
    let show = get_json(&app, &format!("/api/shows/{show}/"), &token).await;
    assert_eq!(show["available_seats"], 17);
}

async fn seat_numbers_booking_is_201_with_a_bookings_list_all_booked(app: TestApp) {
    let (_, show) = app.show_with_staff(20).await;
    let token = app.user_token("john").await;
    let body = json_body(
        app.book(&token, show, json!({"seat_numbers": [7, 6, 8]}))
            .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(keys(&body), key_set(&["bookings"]));
    let bookings = body["bookings"].as_array().expect("bookings");
    let mut seats = ints(bookings, "seat_number");
    seats.sort_unstable();
    assert_eq!(seats, [6, 7, 8]);
    for booking in bookings {
        assert_eq!(keys(booking), key_set(BOOKING_KEYS));
        assert_eq!(booking["user"], "john");
        assert_eq!(booking["show"], show);
        assert_eq!(booking["status"], "CONFIRMED");
        assert!(booking["cancelled_at"].is_null());
    }
    // A list of one is still answered as a list.
    let body = json_body(
        app.book(&token, show, json!({"seat_numbers": [9]})).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(body["bookings"].as_array().map(Vec::len), Some(1));
    assert_eq!(body["bookings"][0]["seat_number"], 9);
    // Ten seats, the most of one request.
    let ten: Vec<i64> = (11..=20).collect();
    let ids = book_ok(&app, &token, show, json!({ "seat_numbers": ten })).await;
    assert_eq!(ids.len(), 10);

    let mut expected = vec![6, 7, 8, 9];
    expected.extend(11..=20);
    assert_eq!(app.booked_seats(&token, show).await, expected);
    assert_eq!(bookings_of(&app, &token).await.len(), 14);
    let show = get_json(&app, &format!("/api/shows/{show}/"), &token).await;
    assert_eq!(show["available_seats"], 6);
}

async fn bookings_list_is_the_callers_own_newest_first_with_status_filter_and_alias(app: TestApp) {
    let (_, show) = app.show_with_staff(20).await;
    let john = app.user_token("john").await;
    let jane = app.user_token("jane").await;
    let first = book_ok(&app, &john, show, json!({"seat_number": 1})).await[0];
    let janes = book_ok(&app, &jane, show, json!({"seat_number": 10})).await[0];
    let second = book_ok(&app, &john, show, json!({"seat_number": 2})).await[0];
    let third = book_ok(&app, &john, show, json!({"seat_number": 3})).await[0];
    let response = delete(&app, &format!("/api/bookings/{second}/cancel/"), &john).await;
    assert_eq!(response.status(), StatusCode::OK);

    for base in ["/api/bookings/", "/api/my-bookings/"] {
        let (items, total) = listed(app.get(base, &john).await).await;
        assert_eq!((ints(&items, "id"), total), (vec![third, second, first], 3));
        assert_eq!(
            strs(&items, "status"),
            ["CONFIRMED", "CANCELLED", "CONFIRMED"]
        );
        for item in &items {
            assert_eq!(keys(item), key_set(BOOKING_KEYS));
            assert_eq!(item["user"], "john");
        }
        assert!(items[1]["cancelled_at"].is_string());

        let (items, total) =
            listed(app.get(&format!("{base}?status=CONFIRMED"), &john).await).await;
        assert_eq!((ints(&items, "id"), total), (vec![third, first], 2));
        let (items, total) =
            listed(app.get(&format!("{base}?status=CANCELLED"), &john).await).await;
        assert_eq!((ints(&items, "id"), total), (vec![second], 1));
        let (items, total) =
            listed(app.get(&format!("{base}?limit=1&offset=1"), &john).await).await;
        assert_eq!((ints(&items, "id"), total), (vec![second], 3));
        let (items, total) = listed(
            app.get(&format!("{base}?status=CONFIRMED&limit=1&offset=1"), &john)
                .await,
        )
        .await;
        assert_eq!((ints(&items, "id"), total), (vec![first], 2));

        // Jane sees only hers.
        let (items, total) = listed(app.get(base, &jane).await).await;
        assert_eq!((ints(&items, "id"), total), (vec![janes], 1));
        let (items, total) =
            listed(app.get(&format!("{base}?status=CANCELLED"), &jane).await).await;
        assert_eq!((items.len(), total), (0, 0));
    }
    // The alias answers exactly like the canonical route.
    let canonical = get_json(&app, "/api/bookings/?status=CONFIRMED", &john).await;
    let alias = get_json(&app, "/api/my-bookings/?status=CONFIRMED", &john).await;
    assert_eq!(canonical, alias);

    // A user with no bookings gets an empty list.
    let nobody = app.user_token("nobody").await;
    let (items, total) = listed(app.get("/api/bookings/", &nobody).await).await;
    assert_eq!((items.len(), total), (0, 0));
}

async fn get_one_booking_is_200_and_someone_elses_is_404_for_get_and_cancel(app: TestApp) {
    let (staff, show) = app.show_with_staff(20).await;
    let john = app.user_token("john").await;
    let jane = app.user_token("jane").await;
    let created = json_body(
        app.book(&john, show, json!({"seat_number": 4})).await,
        StatusCode::CREATED,
    )
    .await;
    let id = id_of(&created);
    let path = format!("/api/bookings/{id}/");
    assert_eq!(get_json(&app, &path, &john).await, created);

    // Not jane's, not even for staff: indistinguishable from a missing one.
    for token in [&jane, &staff] {
        let other = assert_error(
            app.get(&path, token).await,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
        let missing = assert_error(
            app.get("/api/bookings/999999/", token).await,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
        assert_eq!(other, missing);
        assert_error(
            delete(&app, &cancel_path(id), token).await,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
        assert_error(
            cancel_post(&app, id, token).await,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
    }
    // Unknown bookings, by every method.
    assert_error(
        delete(&app, &cancel_path(999_999), &john).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_error(
        cancel_post(&app, 999_999, &john).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    // John's booking is untouched.
    assert_eq!(get_json(&app, &path, &john).await, created);
    assert_eq!(app.booked_seats(&john, show).await, vec![4]);
}

async fn cancel_by_delete_or_post_alias_frees_the_seat_and_cancelling_twice_is_409(app: TestApp) {
    let (_, show) = app.show_with_staff(20).await;
    let john = app.user_token("john").await;
    let ids = book_ok(&app, &john, show, json!({"seat_numbers": [1, 2]})).await;

    let by_delete = json_body(
        delete(&app, &cancel_path(ids[0]), &john).await,
        StatusCode::OK,
    )
    .await;
    let by_post = json_body(cancel_post(&app, ids[1], &john).await, StatusCode::OK).await;
    for (cancelled, id) in [(&by_delete, ids[0]), (&by_post, ids[1])] {
        assert_eq!(keys(cancelled), key_set(BOOKING_KEYS));
        assert_eq!(cancelled["id"], id);
        assert_eq!(cancelled["status"], "CANCELLED");
        let at = cancelled["cancelled_at"].as_str().expect("cancelled_at");
        chrono::DateTime::parse_from_rfc3339(at).expect("RFC 3339 cancelled_at");
        // A soft delete: the booking is still there, as cancelled.
        assert_eq!(
            &get_json(&app, &format!("/api/bookings/{id}/"), &john).await,
            cancelled
        );
    }
    // The seats are free again.
    assert!(app.booked_seats(&john, show).await.is_empty());
    let now = get_json(&app, &format!("/api/shows/{show}/"), &john).await;
    assert_eq!(now["available_seats"], 20);

    // Twice, by either method: 409, and the booking is unchanged.
    for id in ids.iter().copied() {
        assert_error(
            delete(&app, &cancel_path(id), &john).await,
            StatusCode::CONFLICT,
            "already_cancelled",
        )
        .await;
        assert_error(
            cancel_post(&app, id, &john).await,
            StatusCode::CONFLICT,
            "already_cancelled",
        )
        .await;
    }
    assert_eq!(
        get_json(&app, &format!("/api/bookings/{}/", ids[0]), &john).await,
        by_delete
    );

    // The freed seat can be booked again, by anyone; the old booking stays cancelled.
    let jane = app.user_token("jane").await;
    book_ok(&app, &jane, show, json!({"seat_number": 1})).await;
    book_ok(&app, &john, show, json!({"seat_number": 2})).await;
    assert_eq!(app.booked_seats(&john, show).await, vec![1, 2]);
    let statuses: Vec<String> = strs(&bookings_of(&app, &john).await, "status");
    assert_eq!(statuses, ["CONFIRMED", "CANCELLED", "CANCELLED"]);
}

async fn taken_seat_is_409_seat_taken_with_the_seats_and_books_nothing(app: TestApp) {
    let (_, show) = app.show_with_staff(20).await;
    let john = app.user_token("john").await;
    let jane = app.user_token("jane").await;
    book_ok(&app, &john, show, json!({"seat_numbers": [3, 4]})).await;

    let cases: Vec<(Value, Vec<i64>)> = vec![
        (json!({"seat_number": 3}), vec![3]),
        (json!({"seat_numbers": [4]}), vec![4]),
        (json!({"seat_numbers": [2, 3, 4, 5]}), vec![3, 4]),
        (json!({"seat_numbers": [5, 4]}), vec![4]),
    ];
    for (body, taken) in cases {
        let error = assert_error(
            app.book(&jane, show, body.clone()).await,
            StatusCode::CONFLICT,
            "seat_taken",
        )
        .await;
        assert_eq!(error["seats"], json!(taken), "{body}");
    }
    // The holder asking again is refused the same way.
    let error = assert_error(
        app.book(&john, show, json!({"seat_number": 4})).await,
        StatusCode::CONFLICT,
        "seat_taken",
    )
    .await;
    assert_eq!(error["seats"], json!([4]));

    // All or none: 2 and 5 were not booked by the refused requests.
    assert_eq!(app.booked_seats(&jane, show).await, vec![3, 4]);
    assert!(bookings_of(&app, &jane).await.is_empty());
    assert_eq!(bookings_of(&app, &john).await.len(), 2);
    let now = get_json(&app, &format!("/api/shows/{show}/"), &jane).await;
    assert_eq!(now["available_seats"], 18);
}

async fn booking_a_show_that_started_is_409_show_started(app: TestApp) {
    let staff = app.staff_token("admin").await;
    let movie = app.create_movie(&staff, "Heat").await;
    let started = app.create_show(&staff, movie, 10, -1).await;
    let john = app.user_token("john").await;
    for body in [json!({"seat_number": 1}), json!({"seat_numbers": [1, 2]})] {
        assert_error(
            app.book(&john, started, body).await,
            StatusCode::CONFLICT,
            "show_started",
        )
        .await;
    }
    assert!(app.booked_seats(&john, started).await.is_empty());
    assert!(bookings_of(&app, &john).await.is_empty());
}

async fn cancelling_after_the_show_started_is_409_show_started(app: TestApp) {
    let (staff, show) = app.show_with_staff(10).await;
    let john = app.user_token("john").await;
    let ids = book_ok(&app, &john, show, json!({"seat_numbers": [1, 2]})).await;
    // The show is moved to have started an hour ago.
    let start = (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339();
    let response = patch(
        &app,
        &format!("/api/shows/{show}/"),
        &staff,
        json!({ "start_time": start }),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);

    assert_error(
        delete(&app, &cancel_path(ids[0]), &john).await,
        StatusCode::CONFLICT,
        "show_started",
    )
    .await;
    assert_error(
        cancel_post(&app, ids[1], &john).await,
        StatusCode::CONFLICT,
        "show_started",
    )
    .await;
    // Still confirmed, still held.
    for id in &ids {
        let booking = get_json(&app, &format!("/api/bookings/{id}/"), &john).await;
        assert_eq!(booking["status"], "CONFIRMED");
        assert!(booking["cancelled_at"].is_null());
    }
    assert_eq!(app.booked_seats(&john, show).await, vec![1, 2]);
}

async fn booking_an_unknown_show_is_404(app: TestApp) {
    let john = app.user_token("john").await;
    for show in [999_999, 0, -1] {
        assert_error(
            app.book(&john, show, json!({"seat_number": 1})).await,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
        assert_error(
            app.book(&john, show, json!({"seat_numbers": [1, 2]})).await,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
    }
    assert!(bookings_of(&app, &john).await.is_empty());
}

async fn concurrent_cancels_of_one_booking_succeed_exactly_once(app: TestApp) {
    let (_, show) = app.show_with_staff(10).await;
    let john = app.user_token("john").await;
    let id = book_ok(&app, &john, show, json!({"seat_number": 7})).await[0];
    const SENDERS: usize = 12;
    let requests = (0..SENDERS)
        .map(|i| {
            let method = if i % 2 == 0 {
                Method::DELETE
            } else {
                Method::POST
            };
            app.client
                .request(method, app.url(&cancel_path(id)))
                .bearer_auth(&john)
        })
        .collect();
    let mut ok = 0;
    for (status, body) in send_together(requests).await {
        // Which request wins is a real race: each is 200 or 409, and exactly one is 200.
        match status {
            StatusCode::OK => ok += 1,
            StatusCode::CONFLICT => assert_eq!(body["code"], "already_cancelled", "{body}"),
            other => panic!("status {other}: {body}"),
        }
    }
    assert_eq!(ok, 1);
    let booking = get_json(&app, &format!("/api/bookings/{id}/"), &john).await;
    assert_eq!(booking["status"], "CANCELLED");
    assert!(app.booked_seats(&john, show).await.is_empty());
}
