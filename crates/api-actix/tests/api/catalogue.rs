//! The catalogue over HTTP: movies, shows and seat maps; their shapes, lists, filters and
//! pages; staff-only writes; and the conflicts that protect bookings.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{
    assert_error, book_ok, delete, get_json, id_of, ints, json_body, key_set, keys, listed, patch,
    raw, show_at, strs, TestApp,
};

infra_diesel::on_both_backends!(
    setup = TestApp::spawn;
    movies_list_get_create_patch_delete_have_the_contract_statuses_and_shapes,
    plain_user_reads_the_catalogue_but_every_write_is_403_and_changes_nothing,
    shows_list_filters_by_movie_date_upcoming_with_pages_and_total_count,
    movie_shows_alias_lists_that_movies_shows_and_404s_for_an_unknown_movie,
    show_get_create_patch_delete_and_seat_map_have_the_contract_shapes,
    unknown_movie_or_show_is_404_for_every_method,
    deleting_a_movie_or_show_with_confirmed_bookings_is_409_and_changes_nothing,
    lowering_total_seats_below_a_booked_seat_is_409_and_changes_nothing,
    invalid_movie_or_show_is_400_with_fields_and_writes_nothing,
);

const MOVIE_KEYS: &[&str] = &["id", "title", "description", "duration_minutes"];
const SHOW_KEYS: &[&str] = &[
    "id",
    "movie",
    "screen_name",
    "start_time",
    "total_seats",
    "available_seats",
    "screen",
    "prices",
    "currency",
];

async fn movie(app: &TestApp, staff: &str, body: Value) -> Value {
    json_body(
        app.post("/api/movies/", Some(staff), body).await,
        StatusCode::CREATED,
    )
    .await
}

async fn movies_list_get_create_patch_delete_have_the_contract_statuses_and_shapes(app: TestApp) {
    let staff = app.staff_token("admin").await;
    let user = app.user_token("john").await;

    // Create: 201 with the movie's shape; description defaults to "".
    let zodiac = movie(
        &app,
        &staff,
        json!({"title": "Zodiac", "description": "A cartoonist.", "duration_minutes": 157}),
    )
    .await;
    assert_eq!(keys(&zodiac), key_set(MOVIE_KEYS));
    assert_eq!(zodiac["title"], "Zodiac");
    assert_eq!(zodiac["description"], "A cartoonist.");
    assert_eq!(zodiac["duration_minutes"], 157);
    let alien = movie(
        &app,
        &staff,
        json!({"title": "Alien", "duration_minutes": 117}),
    )
    .await;
    assert_eq!(alien["description"], "");
    let memento = movie(
        &app,
        &staff,
        json!({"title": "Memento", "duration_minutes": 113}),
    )
    .await;

    // List: a plain array ordered by title, with X-Total-Count.
    let (items, total) = listed(app.get("/api/movies/", &user).await).await;
    assert_eq!(total, 3);
    assert_eq!(strs(&items, "title"), ["Alien", "Memento", "Zodiac"]);
    assert_eq!(items[2], zodiac);
    for item in &items {
        assert_eq!(keys(item), key_set(MOVIE_KEYS));
    }
    // Pages: limit and offset cut the list, the total stays.
    let (items, total) = listed(app.get("/api/movies/?limit=2&offset=1", &user).await).await;
    assert_eq!(total, 3);
    assert_eq!(strs(&items, "title"), ["Memento", "Zodiac"]);
    let (items, total) = listed(app.get("/api/movies/?limit=1", &user).await).await;
    assert_eq!((strs(&items, "title"), total), (vec!["Alien".into()], 3));
    let (items, total) = listed(app.get("/api/movies/?offset=10", &user).await).await;
    assert_eq!((items.len(), total), (0, 3));

    // Get one.
    let id = id_of(&memento);
    assert_eq!(
        get_json(&app, &format!("/api/movies/{id}/"), &user).await,
        memento
    );

    // Patch: only the given fields change.
    let patched = json_body(
        patch(
            &app,
            &format!("/api/movies/{id}/"),
            &staff,
            json!({"title": "Memento (2000)"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(keys(&patched), key_set(MOVIE_KEYS));
    assert_eq!(patched["id"], id);
    assert_eq!(patched["title"], "Memento (2000)");
    assert_eq!(patched["duration_minutes"], 113);
    assert_eq!(patched["description"], "");
    let patched = json_body(
        patch(
            &app,
            &format!("/api/movies/{id}/"),
            &staff,
            json!({"description": "Backwards.", "duration_minutes": 114}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(patched["title"], "Memento (2000)");
    assert_eq!(patched["description"], "Backwards.");
    assert_eq!(patched["duration_minutes"], 114);
    assert_eq!(
        get_json(&app, &format!("/api/movies/{id}/"), &user).await,
        patched
    );

    // Delete: 204 with an empty body, then it is gone.
    let response = delete(&app, &format!("/api/movies/{id}/"), &staff).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert!(response.bytes().await.expect("body").is_empty());
    assert_error(
        app.get(&format!("/api/movies/{id}/"), &user).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let (items, total) = listed(app.get("/api/movies/", &user).await).await;
    assert_eq!(
        (strs(&items, "title"), total),
        (vec!["Alien".into(), "Zodiac".into()], 2)
    );
    assert_eq!(id_of(&items[0]), id_of(&alien));
}

async fn plain_user_reads_the_catalogue_but_every_write_is_403_and_changes_nothing(app: TestApp) {
    let (staff, show) = app.show_with_staff(10).await;
    let user = app.user_token("john").await;
    let movie_before = get_json(&app, "/api/movies/", &user).await;
    let movie_id = id_of(&movie_before[0]);
    let show_before = get_json(&app, &format!("/api/shows/{show}/"), &user).await;

    let forbidden: Vec<(Method, String, Option<Value>)> = vec![
        (
            Method::POST,
            "/api/movies/".into(),
            Some(json!({"title": "Mine", "duration_minutes": 90})),
        ),
        (
            Method::PATCH,
            format!("/api/movies/{movie_id}/"),
            Some(json!({"title": "Mine"})),
        ),
        (Method::DELETE, format!("/api/movies/{movie_id}/"), None),
        (
            Method::POST,
            "/api/shows/".into(),
            Some(json!({
                "movie_id": movie_id, "screen_name": "Mine",
                "start_time": "2099-01-01T10:00:00Z", "total_seats": 10
            })),
        ),
        (
            Method::PATCH,
            format!("/api/shows/{show}/"),
            Some(json!({"total_seats": 1})),
        ),
        (Method::DELETE, format!("/api/shows/{show}/"), None),
    ];
    for (method, path, body) in forbidden {
        assert_error(
            app.request(method, &path, Some(&user), body).await,
            StatusCode::FORBIDDEN,
            "forbidden",
        )
        .await;
    }
    assert_eq!(get_json(&app, "/api/movies/", &user).await, movie_before);
    assert_eq!(
        get_json(&app, &format!("/api/shows/{show}/"), &user).await,
        show_before
    );
    let (_, total) = listed(app.get("/api/shows/", &user).await).await;
    assert_eq!(total, 1);
    // The staff token still may.
    let response = patch(
        &app,
        &format!("/api/movies/{movie_id}/"),
        &staff,
        json!({"title": "Theirs"}),
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
}

async fn shows_list_filters_by_movie_date_upcoming_with_pages_and_total_count(app: TestApp) {
    let staff = app.staff_token("admin").await;
    let user = app.user_token("john").await;
    let a = app.create_movie(&staff, "Arrival").await;
    let b = app.create_movie(&staff, "Brazil").await;
    // Created out of order; listed by start time.
    let a2 = id_of(&show_at(&app, &staff, a, "2099-01-02T10:00:00Z", 50).await);
    let b1 = id_of(&show_at(&app, &staff, b, "2099-01-01T20:00:00Z", 50).await);
    let a1 = id_of(&show_at(&app, &staff, a, "2099-01-01T10:00:00Z", 50).await);
    let past = app.create_show(&staff, b, 50, -2).await;
    // Just before and after midnight UTC of 2099-01-01.
    let edge_before = id_of(&show_at(&app, &staff, b, "2098-12-31T23:59:59Z", 5).await);
    let edge_after = id_of(&show_at(&app, &staff, b, "2099-01-02T00:00:00Z", 5).await);

    let list = |query: &str| {
        let path = format!("/api/shows/{query}");
        let app = &app;
        let user = &user;
        async move {
            let (items, total) = listed(app.get(&path, user).await).await;
            (ints(&items, "id"), total)
        }
    };

    assert_eq!(
        list("").await,
        (vec![past, edge_before, a1, b1, edge_after, a2], 6)
    );
    assert_eq!(list(&format!("?movie={a}")).await, (vec![a1, a2], 2));
    assert_eq!(
        list(&format!("?movie={b}")).await,
        (vec![past, edge_before, b1, edge_after], 4)
    );
    assert_eq!(list("?movie=999999").await, (vec![], 0));
    assert_eq!(list("?date=2099-01-01").await, (vec![a1, b1], 2));
    assert_eq!(list("?date=2099-01-02").await, (vec![edge_after, a2], 2));
    assert_eq!(list("?date=2000-01-01").await, (vec![], 0));
    assert_eq!(
        list("?upcoming=true").await,
        (vec![edge_before, a1, b1, edge_after, a2], 5)
    );
    assert_eq!(list("?upcoming=false").await.1, 6);
    assert_eq!(
        list(&format!("?movie={a}&date=2099-01-02")).await,
        (vec![a2], 1)
    );
    assert_eq!(
        list(&format!("?movie={b}&upcoming=true&date=2099-01-01")).await,
        (vec![b1], 1)
    );
    // Pages, with the total of the filtered list.
    assert_eq!(list("?limit=2&offset=1").await, (vec![edge_before, a1], 6));
    assert_eq!(list("?limit=2&offset=5").await, (vec![a2], 6));
    assert_eq!(list("?offset=6").await, (vec![], 6));
    assert_eq!(list("?upcoming=true&limit=1&offset=1").await, (vec![a1], 5));
    assert_eq!(list("?limit=500").await.0.len(), 6);

    // Each item has the show's shape, with its movie's id and title.
    let (items, _) = listed(app.get(&format!("/api/shows/?movie={a}"), &user).await).await;
    for item in &items {
        assert_eq!(keys(item), key_set(SHOW_KEYS));
        assert_eq!(item["movie"], json!({"id": a, "title": "Arrival"}));
    }
    assert_eq!(items[0]["start_time"], "2099-01-01T10:00:00Z");
}

async fn movie_shows_alias_lists_that_movies_shows_and_404s_for_an_unknown_movie(app: TestApp) {
    let staff = app.staff_token("admin").await;
    let a = app.create_movie(&staff, "Arrival").await;
    let b = app.create_movie(&staff, "Brazil").await;
    let a2 = id_of(&show_at(&app, &staff, a, "2099-03-02T10:00:00Z", 10).await);
    let a1 = id_of(&show_at(&app, &staff, a, "2099-03-01T10:00:00Z", 10).await);
    let b1 = id_of(&show_at(&app, &staff, b, "2099-03-01T12:00:00Z", 10).await);
    let a_past = app.create_show(&staff, a, 10, -1).await;

    let response = app.get(&format!("/api/movies/{a}/shows/"), &staff).await;
    let (items, total) = listed(response).await;
    assert_eq!((ints(&items, "id"), total), (vec![a_past, a1, a2], 3));
    // It is the same answer as the filtered show list.
    let (filtered, _) = listed(app.get(&format!("/api/shows/?movie={a}"), &staff).await).await;
    assert_eq!(items, filtered);
    let (items, total) = listed(app.get(&format!("/api/movies/{b}/shows/"), &staff).await).await;
    assert_eq!((ints(&items, "id"), total), (vec![b1], 1));
    // The show list's filters apply.
    let (items, total) = listed(
        app.get(&format!("/api/movies/{a}/shows/?upcoming=true"), &staff)
            .await,
    )
    .await;
    assert_eq!((ints(&items, "id"), total), (vec![a1, a2], 2));
    let (items, total) = listed(
        app.get(&format!("/api/movies/{a}/shows/?date=2099-03-02"), &staff)
            .await,
    )
    .await;
    assert_eq!((ints(&items, "id"), total), (vec![a2], 1));
    let (items, total) = listed(
        app.get(&format!("/api/movies/{a}/shows/?limit=1&offset=1"), &staff)
            .await,
    )
    .await;
    assert_eq!((ints(&items, "id"), total), (vec![a1], 3));

    assert_error(
        app.get("/api/movies/999999/shows/", &staff).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

async fn show_get_create_patch_delete_and_seat_map_have_the_contract_shapes(app: TestApp) {
    let staff = app.staff_token("admin").await;
    let user = app.user_token("john").await;
    let movie = app.create_movie(&staff, "Heat").await;

    // Create: 201, with available_seats = total_seats.
    let show = show_at(&app, &staff, movie, "2099-05-01T19:30:00Z", 5).await;
    assert_eq!(keys(&show), key_set(SHOW_KEYS));
    assert_eq!(show["movie"], json!({"id": movie, "title": "Heat"}));
    assert_eq!(show["screen_name"], "Screen 1");
    assert_eq!(show["start_time"], "2099-05-01T19:30:00Z");
    assert_eq!(show["total_seats"], 5);
    assert_eq!(show["available_seats"], 5);
    // A flat show: no screen, its one category free, in the default currency.
    assert!(show["screen"].is_null());
    assert_eq!(show["prices"], json!({"standard": 0}));
    assert_eq!(show["currency"], "EUR");
    let id = id_of(&show);
    // A start time with an offset is stored and answered in UTC.
    let offset = show_at(&app, &staff, movie, "2099-05-02T21:30:00+02:00", 1).await;
    assert_eq!(offset["start_time"], "2099-05-02T19:30:00Z");

    // Get.
    assert_eq!(
        get_json(&app, &format!("/api/shows/{id}/"), &user).await,
        show
    );

    // Seat map: every seat in order, all available.
    let seats = get_json(&app, &format!("/api/shows/{id}/seats/"), &user).await;
    let seats = seats.as_array().expect("seat map array");
    assert_eq!(ints(seats, "seat_number"), [1, 2, 3, 4, 5]);
    for seat in seats {
        assert_eq!(
            keys(seat),
            key_set(&[
                "seat_number",
                "status",
                "row",
                "label",
                "type",
                "category",
                "price"
            ])
        );
        assert_eq!(seat["status"], "available");
        // One row "", labelled by number, standard and free.
        assert_eq!(seat["row"], "");
        assert_eq!(seat["label"], seat["seat_number"].to_string());
        assert_eq!(seat["type"], "standard");
        assert_eq!(seat["category"], "standard");
        assert_eq!(seat["price"], 0);
    }
    // After a booking, that seat is booked and available_seats drops.
    book_ok(&app, &user, id, json!({"seat_number": 2})).await;
    let seats = get_json(&app, &format!("/api/shows/{id}/seats/"), &user).await;
    assert_eq!(
        strs(seats.as_array().expect("array"), "status"),
        ["available", "booked", "available", "available", "available"]
    );
    let now = get_json(&app, &format!("/api/shows/{id}/"), &user).await;
    assert_eq!(now["available_seats"], 4);

    // Patch: only the given fields change.
    let other = app.create_movie(&staff, "Ronin").await;
    let patched = json_body(
        patch(
            &app,
            &format!("/api/shows/{id}/"),
            &staff,
            json!({"screen_name": "Screen 7", "total_seats": 8}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(keys(&patched), key_set(SHOW_KEYS));
    assert_eq!(patched["screen_name"], "Screen 7");
    assert_eq!(patched["total_seats"], 8);
    assert_eq!(patched["available_seats"], 7);
    assert_eq!(patched["start_time"], "2099-05-01T19:30:00Z");
    assert_eq!(patched["movie"]["id"], movie);
    let patched = json_body(
        patch(
            &app,
            &format!("/api/shows/{id}/"),
            &staff,
            json!({"movie_id": other, "start_time": "2099-06-01T18:00:00Z"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(patched["movie"], json!({"id": other, "title": "Ronin"}));
    assert_eq!(patched["start_time"], "2099-06-01T18:00:00Z");
    assert_eq!(patched["screen_name"], "Screen 7");
    assert_eq!(
        get_json(&app, &format!("/api/shows/{id}/"), &user).await,
        patched
    );
    let seats = get_json(&app, &format!("/api/shows/{id}/seats/"), &user).await;
    assert_eq!(seats.as_array().expect("array").len(), 8);

    // Delete a show without bookings: 204, then 404 everywhere.
    let spare = id_of(&offset);
    let response = delete(&app, &format!("/api/shows/{spare}/"), &staff).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert!(response.bytes().await.expect("body").is_empty());
    for path in [
        format!("/api/shows/{spare}/"),
        format!("/api/shows/{spare}/seats/"),
    ] {
        assert_error(
            app.get(&path, &user).await,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
    }
    let (items, total) = listed(app.get("/api/shows/", &user).await).await;
    assert_eq!((ints(&items, "id"), total), (vec![id], 1));
}

async fn unknown_movie_or_show_is_404_for_every_method(app: TestApp) {
    let staff = app.staff_token("admin").await;
    let user = app.user_token("john").await;
    for path in [
        "/api/movies/999999/",
        "/api/movies/0/",
        "/api/movies/-1/",
        "/api/movies/999999/shows/",
        "/api/shows/999999/",
        "/api/shows/0/",
        "/api/shows/999999/seats/",
    ] {
        assert_error(
            app.get(path, &user).await,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
    }
    let movie = json!({"title": "Nope"});
    let show = json!({"screen_name": "Nope"});
    for (path, body) in [("/api/movies/999999/", movie), ("/api/shows/999999/", show)] {
        assert_error(
            patch(&app, path, &staff, body).await,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
        assert_error(
            delete(&app, path, &staff).await,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
    }
    // A show for a movie that does not exist is refused and not created.
    let error = assert_error(
        app.post(
            "/api/shows/",
            Some(&staff),
            json!({
                "movie_id": 999999, "screen_name": "Screen 1",
                "start_time": "2099-01-01T10:00:00Z", "total_seats": 10
            }),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "invalid_input",
    )
    .await;
    assert!(error["fields"]["movie_id"].is_array(), "{error}");
    let (_, total) = listed(app.get("/api/shows/", &user).await).await;
    assert_eq!(total, 0);
}

async fn deleting_a_movie_or_show_with_confirmed_bookings_is_409_and_changes_nothing(app: TestApp) {
    let (staff, show) = app.show_with_staff(10).await;
    let movie = id_of(&get_json(&app, &format!("/api/shows/{show}/"), &staff).await["movie"]);
    let user = app.user_token("john").await;
    let booking = book_ok(&app, &user, show, json!({"seat_number": 3})).await[0];
    let show_before = get_json(&app, &format!("/api/shows/{show}/"), &user).await;
    let movie_before = get_json(&app, &format!("/api/movies/{movie}/"), &user).await;

    assert_error(
        delete(&app, &format!("/api/shows/{show}/"), &staff).await,
        StatusCode::CONFLICT,
        "has_bookings",
    )
    .await;
    assert_error(
        delete(&app, &format!("/api/movies/{movie}/"), &staff).await,
        StatusCode::CONFLICT,
        "has_bookings",
    )
    .await;
    // Nothing changed: the movie, the show, the booking and the seat are all still there.
    assert_eq!(
        get_json(&app, &format!("/api/shows/{show}/"), &user).await,
        show_before
    );
    assert_eq!(
        get_json(&app, &format!("/api/movies/{movie}/"), &user).await,
        movie_before
    );
    let mine = get_json(&app, &format!("/api/bookings/{booking}/"), &user).await;
    assert_eq!(mine["status"], "CONFIRMED");
    assert_eq!(app.booked_seats(&user, show).await, vec![3]);

    // A movie with a second show, also booked: still refused.
    let second = app.create_show(&staff, movie, 10, 48).await;
    let other = book_ok(&app, &user, second, json!({"seat_numbers": [1, 2]})).await;
    assert_error(
        delete(&app, &format!("/api/movies/{movie}/"), &staff).await,
        StatusCode::CONFLICT,
        "has_bookings",
    )
    .await;

    // Once every booking is cancelled, the deletes go through.
    for id in [booking].into_iter().chain(other) {
        let response = delete(&app, &format!("/api/bookings/{id}/cancel/"), &user).await;
        assert_eq!(response.status(), StatusCode::OK);
    }
    let response = delete(&app, &format!("/api/shows/{show}/"), &staff).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let response = delete(&app, &format!("/api/movies/{movie}/"), &staff).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    // Deleting the movie deleted its shows.
    assert_error(
        app.get(&format!("/api/shows/{second}/"), &user).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let (_, total) = listed(app.get("/api/shows/", &user).await).await;
    assert_eq!(total, 0);
}

async fn lowering_total_seats_below_a_booked_seat_is_409_and_changes_nothing(app: TestApp) {
    let (staff, show) = app.show_with_staff(10).await;
    let user = app.user_token("john").await;
    let ids = book_ok(&app, &user, show, json!({"seat_numbers": [2, 8]})).await;
    let before = get_json(&app, &format!("/api/shows/{show}/"), &user).await;

    for total in [7, 5, 1] {
        assert_error(
            patch(
                &app,
                &format!("/api/shows/{show}/"),
                &staff,
                json!({"total_seats": total}),
            )
            .await,
            StatusCode::CONFLICT,
            "seat_booked",
        )
        .await;
    }
    // Also when another field changes in the same request: nothing of it is applied.
    assert_error(
        patch(
            &app,
            &format!("/api/shows/{show}/"),
            &staff,
            json!({"total_seats": 7, "screen_name": "Renamed"}),
        )
        .await,
        StatusCode::CONFLICT,
        "seat_booked",
    )
    .await;
    assert_eq!(
        get_json(&app, &format!("/api/shows/{show}/"), &user).await,
        before
    );
    assert_eq!(app.booked_seats(&user, show).await, vec![2, 8]);

    // Down to the highest booked seat is fine.
    let patched = json_body(
        patch(
            &app,
            &format!("/api/shows/{show}/"),
            &staff,
            json!({"total_seats": 8}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(patched["total_seats"], 8);
    assert_eq!(patched["available_seats"], 6);

    // A cancelled booking does not hold its seat.
    let response = delete(&app, &format!("/api/bookings/{}/cancel/", ids[1]), &user).await;
    assert_eq!(response.status(), StatusCode::OK);
    let patched = json_body(
        patch(
            &app,
            &format!("/api/shows/{show}/"),
            &staff,
            json!({"total_seats": 2}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(patched["total_seats"], 2);
    assert_eq!(patched["available_seats"], 1);
}

async fn invalid_movie_or_show_is_400_with_fields_and_writes_nothing(app: TestApp) {
    let staff = app.staff_token("admin").await;
    let movie = app.create_movie(&staff, "Heat").await;
    let show = app.create_show(&staff, movie, 10, 24).await;
    let movie_before = get_json(&app, &format!("/api/movies/{movie}/"), &staff).await;
    let show_before = get_json(&app, &format!("/api/shows/{show}/"), &staff).await;

    let check = |response: reqwest::Response, fields: &'static [&'static str]| async move {
        let error = assert_error(response, StatusCode::BAD_REQUEST, "invalid_input").await;
        for field in fields {
            let problems = error["fields"][*field].as_array();
            assert!(
                problems.is_some_and(|p| !p.is_empty()),
                "{error}: no problem listed for {field}"
            );
        }
    };

    // Movies.
    for (body, fields) in [
        (json!({"duration_minutes": 90}), &["title"][..]),
        (json!({"title": "", "duration_minutes": 90}), &["title"]),
        (json!({"title": "   ", "duration_minutes": 90}), &["title"]),
        (
            json!({"title": "x".repeat(201), "duration_minutes": 90}),
            &["title"],
        ),
        (json!({"title": "Heat"}), &["duration_minutes"]),
        (
            json!({"title": "Heat", "duration_minutes": 0}),
            &["duration_minutes"],
        ),
        (
            json!({"title": "Heat", "duration_minutes": -5}),
            &["duration_minutes"],
        ),
        (
            json!({"title": "Heat", "duration_minutes": 1001}),
            &["duration_minutes"],
        ),
        (json!({}), &["title", "duration_minutes"]),
    ] {
        check(app.post("/api/movies/", Some(&staff), body).await, fields).await;
    }
    for body in [
        json!({"title": ""}),
        json!({"duration_minutes": 0}),
        json!({"description": "d".repeat(5001)}),
    ] {
        let fields: &[&str] = &[];
        check(
            patch(&app, &format!("/api/movies/{movie}/"), &staff, body).await,
            fields,
        )
        .await;
    }

    // Shows.
    let valid = json!({
        "movie_id": movie, "screen_name": "Screen 2",
        "start_time": "2099-01-01T10:00:00Z", "total_seats": 10
    });
    let with = |field: &str, value: Value| {
        let mut body = valid.clone();
        body[field] = value;
        body
    };
    for (body, fields) in [
        (with("total_seats", json!(0)), &["total_seats"][..]),
        (with("total_seats", json!(10001)), &["total_seats"]),
        (with("total_seats", json!(-1)), &["total_seats"]),
        (with("screen_name", json!(" ")), &["screen_name"]),
        (
            json!({}),
            &["movie_id", "screen_name", "start_time", "total_seats"],
        ),
    ] {
        check(app.post("/api/shows/", Some(&staff), body).await, fields).await;
    }
    for body in [json!({"total_seats": 0}), json!({"total_seats": 10001})] {
        check(
            patch(&app, &format!("/api/shows/{show}/"), &staff, body).await,
            &["total_seats"],
        )
        .await;
    }
    // Values of the wrong type, or a time that is not RFC 3339: 400 too.
    for body in [
        with("start_time", json!("tomorrow")),
        with("start_time", json!("2099-01-01 10:00")),
        with("total_seats", json!("ten")),
        with("total_seats", json!(10.5)),
        with("movie_id", json!("one")),
    ] {
        let response = app.post("/api/shows/", Some(&staff), body).await;
        assert_error(response, StatusCode::BAD_REQUEST, "invalid_json").await;
    }
    let response = raw(
        &app,
        Method::POST,
        "/api/movies/",
        Some(&staff),
        "{\"title\":",
    )
    .await;
    assert_error(response, StatusCode::BAD_REQUEST, "invalid_json").await;

    // The bounds themselves are fine.
    for seats in [1, 10_000] {
        let response = app
            .post(
                "/api/shows/",
                Some(&staff),
                with("total_seats", json!(seats)),
            )
            .await;
        assert_eq!(
            response.status(),
            StatusCode::CREATED,
            "total_seats {seats}"
        );
    }

    // Nothing of the refused requests was written.
    let (movies, total) = listed(app.get("/api/movies/", &staff).await).await;
    assert_eq!((movies, total), (vec![movie_before], 1));
    assert_eq!(
        get_json(&app, &format!("/api/shows/{show}/"), &staff).await,
        show_before
    );
    let (_, total) = listed(app.get("/api/shows/", &staff).await).await;
    assert_eq!(total, 3);
}
