//! Screens with seat layouts over HTTP, on both backends: the screens routes and their
//! limits, shows on a screen with prices per category, their seat maps, bookings that
//! keep their seat's label and price, blocked seats, screens in use, moving a show, the
//! best-available choice (checked against the domain's own function), and a race of 64
//! clients over a 300-seat layout.

use std::collections::BTreeSet;

use domain::{best_seats, Layout, RowInput, SeatQuery};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{
    assert_error, book_ok, bookings_of, delete, get_json, id_of, ints, json_body, key_set, keys,
    listed, patch, send_together, strs, TestApp,
};

infra_diesel::on_both_backends!(
    setup = TestApp::spawn;
    a_screen_is_created_read_listed_renamed_and_deleted_by_staff_only,
    every_layout_limit_is_400_with_the_field_and_stores_nothing,
    a_show_on_a_screen_has_its_seat_map_and_a_booking_keeps_label_and_price,
    a_show_on_a_screen_needs_a_price_for_every_category_and_stores_nothing_otherwise,
    a_blocked_seat_cannot_be_booked_and_nothing_is_half_booked,
    changing_the_layout_of_a_screen_in_use_is_409_screen_in_use,
    moving_or_repricing_a_show_keeps_its_bookings_valid,
    best_seats_answers_what_the_domain_picks,
    best_seats_refuses_bad_queries_and_full_rows,
    race_64_clients_over_a_300_seat_layout_one_winner_per_seat,
);

/// A row of a layout: label, seats, category, aisles after, wheelchair and blocked places.
type RowSpec = (
    &'static str,
    i64,
    &'static str,
    &'static [i64],
    &'static [i64],
    &'static [i64],
);

/// The contract's example: A1-A10 are 1-10 (aisle after A5, wheelchair A1 and A2),
/// B1-B12 are 11-22 (aisle after B6, B12 blocked), J1-J8 are 23-30 (premium).
const HALL: &[RowSpec] = &[
    ("A", 10, "standard", &[5], &[1, 2], &[]),
    ("B", 12, "standard", &[6], &[], &[12]),
    ("J", 8, "premium", &[], &[], &[]),
];

fn rows_json(rows: &[RowSpec]) -> Value {
    rows.iter()
        .map(|(label, count, category, aisles, wheelchair, blocked)| {
            json!({"label": label, "count": count, "category": category,
                   "aisles_after": aisles, "wheelchair": wheelchair, "blocked": blocked})
        })
        .collect()
}

fn layout(rows: &[RowSpec]) -> Layout {
    let inputs: Vec<RowInput> = rows
        .iter()
        .map(
            |(label, count, category, aisles, wheelchair, blocked)| RowInput {
                label: Some((*label).into()),
                count: Some(*count),
                category: Some((*category).into()),
                aisles_after: aisles.to_vec(),
                wheelchair: wheelchair.to_vec(),
                blocked: blocked.to_vec(),
            },
        )
        .collect();
    Layout::parse(&inputs).expect("a valid layout")
}

/// `count` rows of `width` standard seats labelled from A, without anything else.
fn plain_rows(count: usize, width: i64) -> Value {
    (0..count)
        .map(|i| json!({"label": format!("R{i}"), "count": width}))
        .collect()
}

async fn create_screen(app: &TestApp, staff: &str, name: &str, rows: Value) -> Value {
    json_body(
        app.post(
            "/api/screens/",
            Some(staff),
            json!({"name": name, "rows": rows}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await
}

fn hall_prices() -> Value {
    json!({"standard": 1250, "premium": 1800})
}

/// A show of `movie` on `screen` starting in a day; its JSON.
async fn show_on(app: &TestApp, staff: &str, movie: i64, screen: i64, prices: Value) -> Value {
    json_body(
        app.post(
            "/api/shows/",
            Some(staff),
            json!({"movie_id": movie, "screen_id": screen, "prices": prices,
                   "start_time": (chrono::Utc::now() + chrono::Duration::days(1)).to_rfc3339()}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await
}

/// A staff token, the contract's hall and an upcoming show on it: (staff, screen, show).
async fn hall_show(app: &TestApp) -> (String, i64, i64) {
    let staff = app.staff_token("admin").await;
    let movie = app.create_movie(&staff, "Inception").await;
    let screen = id_of(&create_screen(app, &staff, "Screen 1", rows_json(HALL)).await);
    let show = id_of(&show_on(app, &staff, movie, screen, hall_prices()).await);
    (staff, screen, show)
}

async fn screens_total(app: &TestApp, token: &str) -> i64 {
    listed(app.get("/api/screens/", token).await).await.1
}

async fn shows_total(app: &TestApp, token: &str) -> i64 {
    listed(app.get("/api/shows/", token).await).await.1
}

async fn a_screen_is_created_read_listed_renamed_and_deleted_by_staff_only(app: TestApp) {
    let staff = app.staff_token("admin").await;
    let user = app.user_token("john").await;
    let request = json!({"name": "Screen 1", "rows": [
        {"label": "A", "count": 10, "category": "standard", "aisles_after": [5], "wheelchair": [1, 2]},
        {"label": "B", "count": 12, "category": "standard", "aisles_after": [6], "blocked": [12]},
        {"label": "J", "count": 8, "category": "premium"}]});
    let created = json_body(
        app.post("/api/screens/", Some(&staff), request.clone())
            .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(keys(&created), key_set(&["id", "name", "capacity", "rows"]));
    assert_eq!(created["name"], "Screen 1");
    assert_eq!(created["capacity"], 30);
    // The rows come back in the compact form, every field written out.
    assert_eq!(created["rows"], rows_json(HALL));
    let id = id_of(&created);
    assert_eq!(
        get_json(&app, &format!("/api/screens/{id}/"), &user).await,
        created
    );

    let other = create_screen(&app, &staff, "Annex", plain_rows(2, 5)).await;
    let (items, total) = listed(app.get("/api/screens/", &user).await).await;
    assert_eq!(total, 2);
    // By name; a list item leaves the layout to the one-screen form.
    assert_eq!(ints(&items, "id"), [id_of(&other), id]);
    assert_eq!(keys(&items[0]), key_set(&["id", "name", "capacity"]));
    assert_eq!(
        items[1],
        json!({"id": id, "name": "Screen 1", "capacity": 30})
    );
    let (page, total) = listed(app.get("/api/screens/?limit=1&offset=1", &user).await).await;
    assert_eq!((ints(&page, "id"), total), (vec![id], 2));

    // A plain user reads, but every write is 403 and changes nothing.
    assert_error(
        app.post("/api/screens/", Some(&user), request).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let path = format!("/api/screens/{id}/");
    assert_error(
        patch(&app, &path, &user, json!({"name": "Mine"})).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_error(
        delete(&app, &path, &user).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_eq!(get_json(&app, &path, &user).await, created);
    assert_error(
        app.request(reqwest::Method::GET, &path, None, None).await,
        StatusCode::UNAUTHORIZED,
        "not_authenticated",
    )
    .await;

    // Staff rename it, and replace an unused screen's rows.
    let renamed = json_body(
        patch(&app, &path, &staff, json!({"name": "Hall 1"})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        (renamed["name"].clone(), renamed["rows"].clone()),
        (json!("Hall 1"), rows_json(HALL))
    );
    let relaid = json_body(
        patch(&app, &path, &staff, json!({"rows": plain_rows(3, 4)})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        (relaid["name"].clone(), relaid["capacity"].clone()),
        (json!("Hall 1"), json!(12))
    );
    // An empty patch changes nothing.
    assert_eq!(
        json_body(patch(&app, &path, &staff, json!({})).await, StatusCode::OK).await,
        relaid
    );

    let deleted = delete(&app, &path, &staff).await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    for response in [
        app.get(&path, &user).await,
        patch(&app, &path, &staff, json!({"name": "Back"})).await,
        delete(&app, &path, &staff).await,
    ] {
        assert_error(response, StatusCode::NOT_FOUND, "not_found").await;
    }
    assert_eq!(screens_total(&app, &user).await, 1);
}

async fn every_layout_limit_is_400_with_the_field_and_stores_nothing(app: TestApp) {
    let staff = app.staff_token("admin").await;
    let row = |label: &str, count: i64| json!({"label": label, "count": count});
    let with = |extra: Value| {
        let mut row = row("A", 10);
        for (k, v) in extra.as_object().expect("object") {
            row[k] = v.clone();
        }
        json!([row])
    };
    let many_rows = plain_rows(101, 1);
    let cases: Vec<(Value, Value, &[&str])> = vec![
        (json!("Screen"), Value::Null, &["rows"]),
        (Value::Null, json!([row("A", 5)]), &["name"]),
        (json!("  "), json!([row("A", 5)]), &["name"]),
        (json!("x".repeat(101)), json!([row("A", 5)]), &["name"]),
        (json!("Screen"), json!([]), &["rows"]),
        (json!("Screen"), many_rows, &["rows"]),
        (json!("Screen"), json!([row("A", 0)]), &["rows[0].count"]),
        (json!("Screen"), json!([row("A", 101)]), &["rows[0].count"]),
        (json!("Screen"), json!([{"label": "A"}]), &["rows[0].count"]),
        (json!("Screen"), json!([{"count": 5}]), &["rows[0].label"]),
        (json!("Screen"), json!([row("", 5)]), &["rows[0].label"]),
        (json!("Screen"), json!([row("ABCD", 5)]), &["rows[0].label"]),
        (json!("Screen"), json!([row("A-1", 5)]), &["rows[0].label"]),
        (
            json!("Screen"),
            json!([row("A", 5), row("a", 5)]),
            &["rows[1].label"],
        ),
        (
            json!("Screen"),
            with(json!({"category": "Premium"})),
            &["rows[0].category"],
        ),
        (
            json!("Screen"),
            with(json!({"category": "x".repeat(31)})),
            &["rows[0].category"],
        ),
        (
            json!("Screen"),
            with(json!({"category": ""})),
            &["rows[0].category"],
        ),
        (
            json!("Screen"),
            with(json!({"aisles_after": [10]})),
            &["rows[0].aisles_after"],
        ),
        (
            json!("Screen"),
            with(json!({"aisles_after": [0]})),
            &["rows[0].aisles_after"],
        ),
        (
            json!("Screen"),
            with(json!({"wheelchair": [11]})),
            &["rows[0].wheelchair"],
        ),
        (
            json!("Screen"),
            with(json!({"wheelchair": [-1]})),
            &["rows[0].wheelchair"],
        ),
        (
            json!("Screen"),
            with(json!({"blocked": [11]})),
            &["rows[0].blocked"],
        ),
        (
            json!("Screen"),
            with(json!({"blocked": [3, 3]})),
            &["rows[0].blocked"],
        ),
        (
            json!("Screen"),
            with(json!({"wheelchair": [2], "blocked": [2]})),
            &["rows[0].blocked"],
        ),
        (
            json!(""),
            json!([row("A", 5), {"label": "????", "count": 0, "category": "X"}]),
            &["name", "rows[1].category", "rows[1].count", "rows[1].label"],
        ),
    ];
    for (name, rows, fields) in cases {
        let mut body = json!({});
        if !name.is_null() {
            body["name"] = name;
        }
        if !rows.is_null() {
            body["rows"] = rows;
        }
        let error = assert_error(
            app.post("/api/screens/", Some(&staff), body.clone()).await,
            StatusCode::BAD_REQUEST,
            "invalid_input",
        )
        .await;
        let got: Vec<&String> = error["fields"]
            .as_object()
            .unwrap_or_else(|| panic!("no fields for {body}: {error}"))
            .keys()
            .collect();
        assert_eq!(got, fields.to_vec(), "{body}");
    }
    // Wrong JSON types are refused before any rule.
    assert_error(
        app.post(
            "/api/screens/",
            Some(&staff),
            json!({"name": "S", "rows": [{"label": "A", "count": "ten"}]}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "invalid_json",
    )
    .await;
    assert_eq!(screens_total(&app, &staff).await, 0, "nothing is stored");

    // The largest layout: 100 rows of 100 seats, 10,000 in all.
    let largest = create_screen(&app, &staff, "Arena", plain_rows(100, 100)).await;
    assert_eq!(largest["capacity"], 10_000);
    // A patch with a bad layout changes nothing either.
    let path = format!("/api/screens/{}/", id_of(&largest));
    let error = assert_error(
        patch(
            &app,
            &path,
            &staff,
            json!({"name": "Arena 2", "rows": [row("A", 0)]}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "invalid_input",
    )
    .await;
    assert!(error["fields"].get("rows[0].count").is_some(), "{error}");
    let kept = get_json(&app, &path, &staff).await;
    assert_eq!(
        (kept["name"].clone(), kept["capacity"].clone()),
        (json!("Arena"), json!(10_000))
    );
}

async fn a_show_on_a_screen_has_its_seat_map_and_a_booking_keeps_label_and_price(app: TestApp) {
    let (staff, screen, show) = hall_show(&app).await;
    let user = app.user_token("john").await;
    let read = get_json(&app, &format!("/api/shows/{show}/"), &user).await;
    assert_eq!(read["screen"], json!({"id": screen, "name": "Screen 1"}));
    assert_eq!(read["screen_name"], "Screen 1");
    // Every seat of the layout counts; the blocked one is never available.
    assert_eq!(
        (read["total_seats"].clone(), read["available_seats"].clone()),
        (json!(30), json!(29))
    );
    assert_eq!(read["prices"], hall_prices());
    assert_eq!(read["currency"], "EUR");

    let map = get_json(&app, &format!("/api/shows/{show}/seats/"), &user).await;
    let map = map.as_array().expect("seat map");
    assert_eq!(ints(map, "seat_number"), (1..=30).collect::<Vec<_>>());
    let expected_labels: Vec<String> = (1..=10)
        .map(|p| format!("A{p}"))
        .chain((1..=12).map(|p| format!("B{p}")))
        .chain((1..=8).map(|p| format!("J{p}")))
        .collect();
    assert_eq!(strs(map, "label"), expected_labels);
    let expected_rows: Vec<&str> = ["A"; 10]
        .into_iter()
        .chain(["B"; 12])
        .chain(["J"; 8])
        .collect();
    assert_eq!(strs(map, "row"), expected_rows);
    // Each seat's type, category and price as the layout and the prices say.
    let hall = layout(HALL);
    for seat in map {
        let n = seat["seat_number"].as_i64().expect("number") as i32;
        let info = hall.seat(n).expect("in the layout");
        assert_eq!(seat["type"], info.seat_type.as_str(), "{seat}");
        assert_eq!(seat["category"], info.category.as_str(), "{seat}");
        let price = if info.category.as_str() == "premium" {
            1800
        } else {
            1250
        };
        assert_eq!(seat["price"], price, "{seat}");
        let status = if n == 22 { "blocked" } else { "available" };
        assert_eq!(seat["status"], status, "{seat}");
    }
    assert_eq!(map[0]["type"], "wheelchair");
    assert_eq!(map[21]["type"], "blocked");

    // Book A3 (seat 3): it is booked, with its label and price.
    let booking = json_body(
        app.book(&user, show, json!({"seat_number": 3})).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(booking["seat_number"], 3);
    assert_eq!(booking["seat_label"], "A3");
    assert_eq!(booking["price"], 1250);
    assert_eq!(booking["currency"], "EUR");
    let pair = json_body(
        app.book(&user, show, json!({"seat_numbers": [24, 23]}))
            .await,
        StatusCode::CREATED,
    )
    .await;
    let pair = pair["bookings"].as_array().expect("bookings").clone();
    assert_eq!(strs(&pair, "seat_label"), ["J1", "J2"]);
    assert_eq!(ints(&pair, "price"), [1800, 1800]);
    let map = get_json(&app, &format!("/api/shows/{show}/seats/"), &user).await;
    let map = map.as_array().expect("seat map");
    assert_eq!(map[2]["status"], "booked");
    assert_eq!(app.booked_seats(&user, show).await, vec![3, 23, 24]);
    let read = get_json(&app, &format!("/api/shows/{show}/"), &staff).await;
    assert_eq!(read["available_seats"], 26);
    // The caller's bookings show them the same way.
    let mine = bookings_of(&app, &user).await;
    let mut sold: Vec<(String, i64)> = mine
        .iter()
        .map(|b| {
            (
                b["seat_label"].as_str().unwrap_or("").to_owned(),
                b["price"].as_i64().unwrap_or(-1),
            )
        })
        .collect();
    sold.sort();
    assert_eq!(
        sold,
        vec![
            ("A3".into(), 1250),
            ("J1".into(), 1800),
            ("J2".into(), 1800)
        ]
    );
    // A seat beyond the layout is 400 invalid_seat, as on a flat show.
    assert_error(
        app.book(&user, show, json!({"seat_number": 31})).await,
        StatusCode::BAD_REQUEST,
        "invalid_seat",
    )
    .await;
}

async fn a_show_on_a_screen_needs_a_price_for_every_category_and_stores_nothing_otherwise(
    app: TestApp,
) {
    let staff = app.staff_token("admin").await;
    let movie = app.create_movie(&staff, "Inception").await;
    let screen = id_of(&create_screen(&app, &staff, "Screen 1", rows_json(HALL)).await);
    let base =
        json!({"movie_id": movie, "screen_id": screen, "start_time": "2099-01-01T20:00:00Z"});
    let with = |extra: Value| {
        let mut body = base.clone();
        for (k, v) in extra.as_object().expect("object") {
            body[k] = v.clone();
        }
        body
    };
    let cases: Vec<(Value, &[&str])> = vec![
        (
            with(json!({"prices": {"standard": 1250}})),
            &["prices.premium"],
        ),
        (
            with(json!({"prices": {"standard": 1250, "premium": 1800, "vip": 3000}})),
            &["prices.vip"],
        ),
        (with(json!({})), &["prices"]),
        (with(json!({"prices": {}})), &["prices"]),
        (
            with(json!({"prices": {"standard": -1, "premium": 10_000_001}})),
            &["prices.premium", "prices.standard"],
        ),
        (
            with(json!({"prices": {"Standard": 1, "premium": 1}})),
            &["prices.Standard"],
        ),
        (
            with(json!({"screen_id": 999_999, "prices": hall_prices()})),
            &["screen_id"],
        ),
        (
            with(json!({"prices": hall_prices(), "total_seats": 30, "screen_name": "X"})),
            &["screen_name", "total_seats"],
        ),
        // A flat show's one category is `standard`.
        (
            json!({"movie_id": movie, "screen_name": "Flat", "total_seats": 10,
                   "start_time": "2099-01-01T20:00:00Z", "prices": {"premium": 100}}),
            &["prices.premium", "prices.standard"],
        ),
    ];
    for (body, fields) in cases {
        let error = assert_error(
            app.post("/api/shows/", Some(&staff), body.clone()).await,
            StatusCode::BAD_REQUEST,
            "invalid_input",
        )
        .await;
        let got: Vec<&String> = error["fields"]
            .as_object()
            .unwrap_or_else(|| panic!("no fields for {body}: {error}"))
            .keys()
            .collect();
        assert_eq!(got, fields.to_vec(), "{body}");
    }
    assert_eq!(shows_total(&app, &staff).await, 0, "nothing is stored");
    // A flat show may be priced too.
    let flat = json_body(
        app.post(
            "/api/shows/",
            Some(&staff),
            json!({"movie_id": movie, "screen_name": "Flat", "total_seats": 10,
                   "start_time": "2099-01-01T20:00:00Z", "prices": {"standard": 700}}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(flat["prices"], json!({"standard": 700}));
    let map = get_json(&app, &format!("/api/shows/{}/seats/", id_of(&flat)), &staff).await;
    assert_eq!(map[9]["price"], 700);
}

async fn a_blocked_seat_cannot_be_booked_and_nothing_is_half_booked(app: TestApp) {
    let (_, _, show) = hall_show(&app).await;
    let user = app.user_token("john").await;
    let error = assert_error(
        app.book(&user, show, json!({"seat_number": 22})).await,
        StatusCode::CONFLICT,
        "seat_blocked",
    )
    .await;
    assert_eq!(error["seats"], json!([22]));
    let error = assert_error(
        app.book(&user, show, json!({"seat_numbers": [20, 21, 22]}))
            .await,
        StatusCode::CONFLICT,
        "seat_blocked",
    )
    .await;
    assert_eq!(error["seats"], json!([22]));
    assert!(app.booked_seats(&user, show).await.is_empty());
    // A wheelchair place may be booked by number.
    book_ok(&app, &user, show, json!({"seat_number": 1})).await;
    assert_eq!(app.booked_seats(&user, show).await, vec![1]);
}

async fn changing_the_layout_of_a_screen_in_use_is_409_screen_in_use(app: TestApp) {
    let (staff, screen, show) = hall_show(&app).await;
    let path = format!("/api/screens/{screen}/");
    assert_error(
        patch(&app, &path, &staff, json!({"rows": plain_rows(2, 10)})).await,
        StatusCode::CONFLICT,
        "screen_in_use",
    )
    .await;
    // Nothing changed, not even the name sent with the rows.
    assert_error(
        patch(
            &app,
            &path,
            &staff,
            json!({"name": "Renamed", "rows": plain_rows(2, 10)}),
        )
        .await,
        StatusCode::CONFLICT,
        "screen_in_use",
    )
    .await;
    let kept = get_json(&app, &path, &staff).await;
    assert_eq!(
        (kept["name"].clone(), kept["rows"].clone()),
        (json!("Screen 1"), rows_json(HALL))
    );
    // The same rows again are no change.
    assert_eq!(
        json_body(
            patch(&app, &path, &staff, json!({"rows": rows_json(HALL)})).await,
            StatusCode::OK
        )
        .await,
        kept
    );
    // Renaming is fine, and the show takes the new name.
    json_body(
        patch(&app, &path, &staff, json!({"name": "Hall 1"})).await,
        StatusCode::OK,
    )
    .await;
    let read = get_json(&app, &format!("/api/shows/{show}/"), &staff).await;
    assert_eq!(read["screen"], json!({"id": screen, "name": "Hall 1"}));
    assert_eq!(read["screen_name"], "Hall 1");
    assert_error(
        delete(&app, &path, &staff).await,
        StatusCode::CONFLICT,
        "screen_in_use",
    )
    .await;
    assert_eq!(
        delete(&app, &format!("/api/shows/{show}/"), &staff)
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        delete(&app, &path, &staff).await.status(),
        StatusCode::NO_CONTENT
    );
}

async fn moving_or_repricing_a_show_keeps_its_bookings_valid(app: TestApp) {
    let (staff, _, show) = hall_show(&app).await;
    let user = app.user_token("john").await;
    book_ok(&app, &user, show, json!({"seat_numbers": [2, 25]})).await;
    let path = format!("/api/shows/{show}/");
    let small = id_of(&create_screen(&app, &staff, "Small", plain_rows(2, 10)).await);
    let blocks_two = id_of(
        &create_screen(
            &app,
            &staff,
            "Blocks two",
            json!([{"label": "A", "count": 30, "blocked": [2]}]),
        )
        .await,
    );
    let big = id_of(&create_screen(&app, &staff, "Big", plain_rows(4, 10)).await);
    let error = assert_error(
        patch(
            &app,
            &path,
            &staff,
            json!({"screen_id": small, "prices": {"standard": 900}}),
        )
        .await,
        StatusCode::CONFLICT,
        "seat_booked",
    )
    .await;
    assert!(
        error["error"].as_str().unwrap_or("").contains("25"),
        "{error}"
    );
    let error = assert_error(
        patch(
            &app,
            &path,
            &staff,
            json!({"screen_id": blocks_two, "prices": {"standard": 900}}),
        )
        .await,
        StatusCode::CONFLICT,
        "seat_booked",
    )
    .await;
    assert_eq!(error["seats"], json!([2]));
    // The show's prices name `premium`, which the big screen lacks.
    let error = assert_error(
        patch(&app, &path, &staff, json!({"screen_id": big})).await,
        StatusCode::BAD_REQUEST,
        "invalid_input",
    )
    .await;
    assert!(error["fields"].get("prices.premium").is_some(), "{error}");
    // A show on a screen takes its seats and name from it.
    let error = assert_error(
        patch(&app, &path, &staff, json!({"total_seats": 40})).await,
        StatusCode::BAD_REQUEST,
        "invalid_input",
    )
    .await;
    assert!(error["fields"].get("total_seats").is_some(), "{error}");
    let unchanged = get_json(&app, &path, &staff).await;
    assert_eq!(
        (
            unchanged["total_seats"].clone(),
            unchanged["prices"].clone()
        ),
        (json!(30), hall_prices())
    );

    // New prices apply to new bookings; the old ones keep what they cost.
    let repriced = json_body(
        patch(
            &app,
            &path,
            &staff,
            json!({"prices": {"standard": 1000, "premium": 2000}}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        repriced["prices"],
        json!({"standard": 1000, "premium": 2000})
    );
    let later = json_body(
        app.book(&user, show, json!({"seat_number": 4})).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(
        (later["seat_label"].clone(), later["price"].clone()),
        (json!("A4"), json!(1000))
    );
    let mine = bookings_of(&app, &user).await;
    let first = mine.iter().find(|b| b["seat_number"] == 2).expect("A2");
    assert_eq!(first["price"], 1250);

    // Onto the big screen, priced for it: its seats, its name; bookings keep their labels.
    let moved = json_body(
        patch(
            &app,
            &path,
            &staff,
            json!({"screen_id": big, "prices": {"standard": 900}}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(moved["screen"], json!({"id": big, "name": "Big"}));
    assert_eq!(
        (
            moved["screen_name"].clone(),
            moved["total_seats"].clone(),
            moved["available_seats"].clone()
        ),
        (json!("Big"), json!(40), json!(37))
    );
    let mine = bookings_of(&app, &user).await;
    let mut labels = strs(&mine, "seat_label");
    labels.sort();
    assert_eq!(labels, ["A2", "A4", "J3"]);
    // A flat show moves onto a screen the same way.
    let movie = app.create_movie(&staff, "Heat").await;
    let flat = app.create_show(&staff, movie, 10, 24).await;
    let onto = json_body(
        patch(
            &app,
            &format!("/api/shows/{flat}/"),
            &staff,
            json!({"screen_id": big, "prices": {"standard": 500}}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        (onto["total_seats"].clone(), onto["screen"]["id"].clone()),
        (json!(40), json!(big))
    );
}

/// The seats best-seats answers, or the error code.
async fn best(app: &TestApp, token: &str, show: i64, query: &str) -> Result<Vec<i64>, String> {
    let response = app
        .get(&format!("/api/shows/{show}/best-seats/?{query}"), token)
        .await;
    let status = response.status();
    let body: Value = response.json().await.expect("JSON");
    if status == StatusCode::OK {
        assert_eq!(keys(&body), key_set(&["seat_numbers"]));
        Ok(body["seat_numbers"]
            .as_array()
            .expect("array")
            .iter()
            .map(|n| n.as_i64().expect("a seat number"))
            .collect())
    } else {
        Err(format!(
            "{} {}",
            status.as_u16(),
            body["code"].as_str().unwrap_or("")
        ))
    }
}

/// What the domain's function picks for this query with these seats booked.
fn picked(
    hall: &Layout,
    booked: &BTreeSet<i32>,
    count: i64,
    category: Option<&str>,
    wheelchair: bool,
) -> Result<Vec<i64>, String> {
    let query = SeatQuery::parse(Some(count), category, Some(wheelchair)).expect("valid query");
    best_seats(hall, |n| booked.contains(&n), &query)
        .map(|seats| seats.into_iter().map(i64::from).collect())
        .ok_or_else(|| "409 no_adjacent_seats".into())
}

async fn best_seats_answers_what_the_domain_picks(app: TestApp) {
    let (staff, _, show) = hall_show(&app).await;
    let user = app.user_token("john").await;
    let hall = layout(HALL);
    let mut booked = BTreeSet::new();
    let queries: [(i64, Option<&str>, bool); 7] = [
        (1, None, false),
        (2, None, false),
        (4, None, false),
        (3, Some("premium"), false),
        (2, None, true),
        (6, Some("standard"), false),
        (8, Some("premium"), false),
    ];
    // Three rounds: empty, then with the first picks booked, then more.
    for round in 0..3 {
        for (count, category, wheelchair) in queries {
            let mut query = format!("count={count}");
            if let Some(category) = category {
                query.push_str(&format!("&category={category}"));
            }
            if wheelchair {
                query.push_str("&wheelchair=true");
            }
            assert_eq!(
                best(&app, &user, show, &query).await,
                picked(&hall, &booked, count, category, wheelchair),
                "round {round}: {query}, booked {booked:?}"
            );
        }
        // Book what two seats would get, and a seat that breaks a row.
        let pick = best(&app, &user, show, "count=2").await.expect("a pair");
        book_ok(&app, &user, show, json!({"seat_numbers": pick})).await;
        booked.extend(pick.iter().map(|&n| n as i32));
        let breaker = [26, 15, 4][round];
        if booked.insert(breaker) {
            book_ok(&app, &user, show, json!({"seat_number": breaker})).await;
        }
    }
    // The answer holds nothing: booking it works.
    let pick = best(&app, &user, show, "count=3").await.expect("three");
    book_ok(&app, &user, show, json!({"seat_numbers": pick})).await;
    // A flat show is one row.
    let movie = app.create_movie(&staff, "Heat").await;
    let flat = app.create_show(&staff, movie, 8, 24).await;
    assert_eq!(best(&app, &user, flat, "count=2").await, Ok(vec![4, 5]));
}

async fn best_seats_refuses_bad_queries_and_full_rows(app: TestApp) {
    let (staff, screen, show) = hall_show(&app).await;
    let user = app.user_token("john").await;
    for (query, expected) in [
        ("", "400 invalid_seat"),
        ("count=0", "400 invalid_seat"),
        ("count=11", "400 invalid_seat"),
        ("count=-3", "400 invalid_seat"),
        ("count=2&category=Premium", "400 invalid_input"),
        ("count=2&category=vip", "400 invalid_input"),
        ("count=abc", "400 invalid_query"),
        ("count=2&wheelchair=yes", "400 invalid_query"),
        ("count=99999999999999999999", "400 invalid_query"),
        ("count=9&category=premium", "409 no_adjacent_seats"),
        ("count=3&wheelchair=true", "409 no_adjacent_seats"),
    ] {
        assert_eq!(
            best(&app, &user, show, query).await,
            Err(expected.to_owned()),
            "{query}"
        );
    }
    let error = assert_error(
        app.get(&format!("/api/shows/{show}/best-seats/?count=11"), &user)
            .await,
        StatusCode::BAD_REQUEST,
        "invalid_seat",
    )
    .await;
    assert!(error["fields"].get("count").is_some(), "{error}");
    assert_eq!(
        best(&app, &user, 999_999, "count=2").await,
        Err("404 not_found".into())
    );
    // Row J full: no premium pair.
    book_ok(
        &app,
        &user,
        show,
        json!({"seat_numbers": [23, 24, 25, 26, 27, 28, 29, 30]}),
    )
    .await;
    assert_eq!(
        best(&app, &user, show, "count=2&category=premium").await,
        Err("409 no_adjacent_seats".into())
    );
    // A show that has started.
    let movie = app.create_movie(&staff, "Heat").await;
    let started = json_body(
        app.post(
            "/api/shows/",
            Some(&staff),
            json!({"movie_id": movie, "screen_id": screen, "prices": hall_prices(),
                   "start_time": "2020-01-01T20:00:00Z"}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(
        best(&app, &user, id_of(&started), "count=2").await,
        Err("409 show_started".into())
    );
}

/// 15 rows A to O of 20 seats, aisles after places 5 and 15: 300 seats.
fn hall_300() -> Value {
    ('A'..='O')
        .map(|label| json!({"label": label.to_string(), "count": 20, "aisles_after": [5, 15]}))
        .collect()
}

/// 64 clients, each with an account, book at the same instant: four of them for each of
/// 16 seats spread over the hall. Exactly one wins each seat, with its label.
async fn race_64_clients_over_a_300_seat_layout_one_winner_per_seat(app: TestApp) {
    let staff = app.staff_token("admin").await;
    let movie = app.create_movie(&staff, "Inception").await;
    let screen = id_of(&create_screen(&app, &staff, "Hall 300", hall_300()).await);
    let show = id_of(&show_on(&app, &staff, movie, screen, json!({"standard": 1100})).await);
    let seats: Vec<i64> = (0..16).map(|i| 1 + i * 19).collect();
    let mut tokens = Vec::with_capacity(64);
    for i in 0..64 {
        tokens.push(app.user_token(&format!("racer{i}")).await);
    }
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()
        .expect("client");
    let requests = tokens
        .iter()
        .enumerate()
        .map(|(i, token)| {
            client
                .post(app.url(&format!("/api/shows/{show}/book/")))
                .bearer_auth(token)
                .json(&json!({"seat_number": seats[i % 16]}))
        })
        .collect();
    let answers = send_together(requests).await;
    let mut winners = Vec::new();
    for (i, (status, body)) in answers.iter().enumerate() {
        match *status {
            StatusCode::CREATED => winners.push((seats[i % 16], body.clone())),
            StatusCode::CONFLICT => {
                assert_eq!(body["code"], "seat_taken", "{body}");
                assert_eq!(body["seats"], json!([seats[i % 16]]), "{body}");
            }
            other => panic!("unexpected {other}: {body}"),
        }
    }
    winners.sort_by_key(|(seat, _)| *seat);
    assert_eq!(
        winners.iter().map(|(seat, _)| *seat).collect::<Vec<_>>(),
        seats,
        "exactly one winner per seat"
    );
    for (seat, body) in &winners {
        let row = ('A'..='O').nth(((seat - 1) / 20) as usize).expect("row");
        assert_eq!(body["seat_label"], format!("{row}{}", (seat - 1) % 20 + 1));
        assert_eq!(body["price"], 1100);
    }
    assert_eq!(app.booked_seats(&staff, show).await, seats);
    let read = get_json(&app, &format!("/api/shows/{show}/"), &staff).await;
    assert_eq!(read["available_seats"], 300 - 16);
}
