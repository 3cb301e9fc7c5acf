//! The live seat map: `GET /api/shows/{id}/seats/stream/` over real connections, and
//! the reads the seat feed serves, checked against the database.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use api_actix::startup::{store_settings, Storage};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{
    assert_error, seat_map_at, send_together, Backend, ServerProcess, TestApp, TestDatabase,
};

infra_diesel::on_both_backends!(
    setup = TestApp::spawn;
    stream_starts_with_the_seat_map_then_sends_each_change,
    token_in_the_query_or_header_and_errors_as_json,
    last_event_id_resumes_or_gets_a_snapshot,
    reads_agree_with_the_database_after_a_burst_of_bookings_and_cancels,
);
mod expiry {
    use super::*;
    infra_diesel::on_both_backends!(setup = short_holds; expired_hold_is_streamed_as_available_within_two_seconds);
}

async fn short_holds(backend: Backend) -> TestApp {
    TestApp::spawn_on(TestDatabase::new(backend).await, |settings| {
        settings.booking.hold_ttl_seconds = 1;
        settings.booking.hold_max_seconds = 1;
    })
    .await
}

/// One event of the stream.
#[derive(Debug, Clone)]
struct Event {
    id: u64,
    kind: String,
    data: Value,
}

/// A client of one seat stream, parsing events as they come.
struct Stream {
    response: reqwest::Response,
    buffer: String,
}

impl Stream {
    async fn open(address: &str, show: i64, token: &str, last_id: Option<&str>) -> Self {
        let mut request = reqwest::Client::new()
            .get(format!("{address}/api/shows/{show}/seats/stream/"))
            .bearer_auth(token);
        if let Some(id) = last_id {
            request = request.header("Last-Event-ID", id);
        }
        let response = request.send().await.expect("open the stream");
        Self::of(response)
    }

    fn of(response: reqwest::Response) -> Self {
        assert_eq!(response.status(), StatusCode::OK);
        let content_type = response.headers()["content-type"].to_str().unwrap();
        assert!(
            content_type.starts_with("text/event-stream"),
            "{content_type}"
        );
        assert_eq!(response.headers()["cache-control"], "no-cache, no-store");
        Self {
            response,
            buffer: String::new(),
        }
    }

    /// The next event within `wait`, skipping comments and the `retry` field.
    async fn next(&mut self, wait: Duration) -> Option<Event> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let (mut id, mut kind, mut data) = (None, None, None);
                for line in block.lines() {
                    match line.split_once(": ") {
                        Some(("id", value)) => id = Some(value.parse().expect("integer id")),
                        Some(("event", value)) => kind = Some(value.to_owned()),
                        Some(("data", value)) => {
                            data = Some(serde_json::from_str(value).expect("JSON data"))
                        }
                        _ => {}
                    }
                }
                if let (Some(id), Some(kind), Some(data)) = (id, kind, data) {
                    return Some(Event { id, kind, data });
                }
                continue;
            }
            let chunk = tokio::time::timeout_at(deadline, self.response.chunk())
                .await
                .ok()?
                .expect("read the stream")?;
            self.buffer
                .push_str(std::str::from_utf8(&chunk).expect("UTF-8"));
        }
    }

    async fn expect(&mut self, wait: Duration) -> Event {
        self.next(wait).await.expect("an event in time")
    }
}

/// Holds these seats; the hold's JSON.
async fn hold_seats(app: &TestApp, token: &str, show: i64, seats: &[i64]) -> Value {
    let response = app
        .post(
            &format!("/api/shows/{show}/holds/"),
            Some(token),
            json!({ "seat_numbers": seats }),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    response.json().await.unwrap()
}

/// Seat number -> status, as a snapshot's data lists them.
fn statuses(snapshot: &Value) -> BTreeMap<i64, String> {
    snapshot
        .as_array()
        .expect("seat map")
        .iter()
        .map(|seat| {
            (
                seat["seat_number"].as_i64().unwrap(),
                seat["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// Applies a `seats` or `snapshot` event to a view of the map.
fn apply(view: &mut BTreeMap<i64, String>, event: &Event) {
    match event.kind.as_str() {
        "snapshot" => *view = statuses(&event.data),
        "seats" => {
            for seat in event.data["seats"].as_array().expect("seats") {
                view.insert(
                    seat["seat_number"].as_i64().unwrap(),
                    seat["status"].as_str().unwrap().to_owned(),
                );
            }
        }
        other => panic!("unexpected event {other}"),
    }
}

/// The `seats` of a `seats` event, as (seat, status) pairs.
fn changes(event: &Event) -> Vec<(i64, String)> {
    assert_eq!(event.kind, "seats", "{event:?}");
    event.data["seats"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["seat_number"].as_i64().unwrap(),
                s["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn pairs(list: &[(i64, &str)]) -> Vec<(i64, String)> {
    list.iter().map(|(s, st)| (*s, (*st).to_owned())).collect()
}

const SOON: Duration = Duration::from_secs(2);

async fn stream_starts_with_the_seat_map_then_sends_each_change(app: TestApp) {
    let (staff, show) = app.show_with_staff(20).await;
    let ann = app.user_token("ann").await;
    let mut stream = Stream::open(&app.address, show, &ann, None).await;
    let snapshot = stream.expect(SOON).await;
    assert_eq!(snapshot.kind, "snapshot");
    let map: Value = app
        .get(&format!("/api/shows/{show}/seats/"), &ann)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(snapshot.data, map, "the snapshot is the seat map");

    // Reads answered (and kept) before the booking must not be answered after it.
    for _ in 0..2 {
        app.get("/api/shows/", &ann).await;
        app.get(&format!("/api/shows/{show}/seats/"), &ann).await;
    }
    let booked = app.book(&ann, show, json!({"seat_numbers": [3, 4]})).await;
    assert_eq!(booked.status(), StatusCode::CREATED);
    let bookings: Value = booked.json().await.unwrap();
    // The client reads its own booking right after its 201, in every read.
    assert_eq!(app.booked_seats(&ann, show).await, vec![3, 4]);
    let one: Value = app
        .get(&format!("/api/shows/{show}/"), &ann)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(one["available_seats"], 18);
    let listed: Vec<Value> = app.get("/api/shows/", &ann).await.json().await.unwrap();
    let listed = listed.iter().find(|s| s["id"] == show).unwrap();
    assert_eq!(listed["available_seats"], 18);
    let event = stream.expect(SOON).await;
    assert_eq!(
        changes(&event),
        pairs(&[(3, "booked"), (4, "booked")]),
        "one event per commit"
    );
    assert!(event.id > snapshot.id);

    let hold = hold_seats(&app, &ann, show, &[7]).await;
    let held = stream.expect(SOON).await;
    assert_eq!(changes(&held), pairs(&[(7, "held")]));
    let hold_id = hold["id"].as_i64().unwrap();
    let released = app
        .client
        .delete(app.url(&format!("/api/holds/{hold_id}/")))
        .bearer_auth(&ann)
        .send()
        .await
        .unwrap();
    assert_eq!(released.status(), StatusCode::NO_CONTENT);
    let freed = stream.expect(SOON).await;
    assert_eq!(changes(&freed), pairs(&[(7, "available")]));

    let hold = hold_seats(&app, &ann, show, &[9, 10]).await;
    assert_eq!(
        changes(&stream.expect(SOON).await),
        pairs(&[(9, "held"), (10, "held")])
    );
    let confirmed = app
        .post(
            &format!("/api/holds/{}/confirm/", hold["id"]),
            Some(&ann),
            json!({}),
        )
        .await;
    assert_eq!(confirmed.status(), StatusCode::CREATED);
    assert_eq!(
        changes(&stream.expect(SOON).await),
        pairs(&[(9, "booked"), (10, "booked")])
    );

    let first = bookings["bookings"][0]["id"].as_i64().unwrap();
    let cancelled = app
        .post(
            &format!("/api/bookings/{first}/cancel/"),
            Some(&ann),
            json!({}),
        )
        .await;
    assert_eq!(cancelled.status(), StatusCode::OK);
    let event = stream.expect(SOON).await;
    assert_eq!(changes(&event), pairs(&[(3, "available")]));

    // The show's seat count changes: a fresh snapshot follows.
    let patched = crate::helpers::patch(
        &app,
        &format!("/api/shows/{show}/"),
        &staff,
        json!({"total_seats": 30}),
    )
    .await;
    assert_eq!(patched.status(), StatusCode::OK);
    let fresh = stream.expect(SOON).await;
    assert_eq!(fresh.kind, "snapshot");
    assert!(fresh.id > event.id);
    assert_eq!(fresh.data.as_array().unwrap().len(), 30);
    let map: Value = app
        .get(&format!("/api/shows/{show}/seats/"), &ann)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(fresh.data, map);

    // The show is deleted (its bookings cancelled first): the stream ends.
    let second = bookings["bookings"][1]["id"].as_i64().unwrap();
    app.post(
        &format!("/api/bookings/{second}/cancel/"),
        Some(&ann),
        json!({}),
    )
    .await;
    for booking in crate::helpers::bookings_of(&app, &ann).await {
        if booking["status"] == "CONFIRMED" {
            app.post(
                &format!("/api/bookings/{}/cancel/", booking["id"]),
                Some(&ann),
                json!({}),
            )
            .await;
        }
    }
    let deleted = crate::helpers::delete(&app, &format!("/api/shows/{show}/"), &staff).await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let deadline = tokio::time::Instant::now() + SOON;
    loop {
        match tokio::time::timeout_at(deadline, stream.response.chunk()).await {
            Ok(Ok(None)) => break,
            Ok(Ok(Some(_))) => continue,
            Ok(Err(error)) => panic!("the stream broke instead of ending: {error}"),
            Err(_) => panic!("the stream of a deleted show did not end"),
        }
    }
}

async fn token_in_the_query_or_header_and_errors_as_json(app: TestApp) {
    let (_, show) = app.show_with_staff(5).await;
    let ann = app.user_token("ann").await;
    let path = format!("/api/shows/{show}/seats/stream/");
    let by_query = app
        .request(
            Method::GET,
            &format!("{path}?access_token={ann}"),
            None,
            None,
        )
        .await;
    let mut stream = Stream::of(by_query);
    assert_eq!(stream.expect(SOON).await.kind, "snapshot");

    let none = app.request(Method::GET, &path, None, None).await;
    assert_error(none, StatusCode::UNAUTHORIZED, "not_authenticated").await;
    let forged = app
        .request(
            Method::GET,
            &format!("{path}?access_token=not.a.token"),
            None,
            None,
        )
        .await;
    assert_eq!(forged.status(), StatusCode::UNAUTHORIZED);
    // A header that is not a bearer token is refused, not passed over for the query.
    let wrong_scheme = app
        .client
        .get(app.url(&format!("{path}?access_token={ann}")))
        .header("Authorization", "Basic YW5uOng=")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_scheme.status(), StatusCode::UNAUTHORIZED);
    let missing = app.get("/api/shows/999999/seats/stream/", &ann).await;
    assert_error(missing, StatusCode::NOT_FOUND, "not_found").await;
    let bad_id = app.get("/api/shows/abc/seats/stream/", &ann).await;
    assert_eq!(bad_id.status(), StatusCode::BAD_REQUEST);
    // The query token works on the stream only.
    let elsewhere = app
        .request(
            Method::GET,
            &format!("/api/shows/{show}/seats/?access_token={ann}"),
            None,
            None,
        )
        .await;
    assert_eq!(elsewhere.status(), StatusCode::UNAUTHORIZED);
}

async fn last_event_id_resumes_or_gets_a_snapshot(app: TestApp) {
    let (_, show) = app.show_with_staff(1000).await;
    let ann = app.user_token("ann").await;
    let mut stream = Stream::open(&app.address, show, &ann, None).await;
    let snapshot = stream.expect(SOON).await;
    drop(stream);

    // Missed while away: replayed, without a snapshot.
    for seat in [5, 6] {
        let booked = app.book(&ann, show, json!({"seat_number": seat})).await;
        assert_eq!(booked.status(), StatusCode::CREATED);
    }
    let since = snapshot.id.to_string();
    let mut resumed = Stream::open(&app.address, show, &ann, Some(&since)).await;
    let first = resumed.expect(SOON).await;
    assert_eq!(changes(&first), pairs(&[(5, "booked")]));
    let second = resumed.expect(SOON).await;
    assert_eq!(changes(&second), pairs(&[(6, "booked")]));
    assert!(snapshot.id < first.id && first.id < second.id);
    assert!(
        resumed.next(Duration::from_millis(300)).await.is_none(),
        "nothing else"
    );
    // Live after the replay.
    app.book(&ann, show, json!({"seat_number": 7})).await;
    assert_eq!(
        changes(&resumed.expect(SOON).await),
        pairs(&[(7, "booked")])
    );
    drop(resumed);

    // Ids this stream never sent, or not numbers: a snapshot.
    for foreign in ["1", "garbage", "18446744073709551615"] {
        let mut fresh = Stream::open(&app.address, show, &ann, Some(foreign)).await;
        let event = fresh.expect(SOON).await;
        assert_eq!(event.kind, "snapshot", "Last-Event-ID {foreign}");
        assert_eq!(statuses(&event.data)[&7], "booked");
    }

    // So many changes since that they are no longer kept: a snapshot.
    let mut stream = Stream::open(&app.address, show, &ann, None).await;
    let before = stream.expect(SOON).await;
    drop(stream);
    let tokens = {
        let mut tokens = Vec::new();
        for i in 0..8 {
            tokens.push(app.user_token(&format!("fan{i}")).await);
        }
        tokens
    };
    let mut next_seat = 100;
    for _ in 0..70 {
        let requests = tokens
            .iter()
            .map(|token| {
                next_seat += 1;
                app.client
                    .post(app.url(&format!("/api/shows/{show}/book/")))
                    .bearer_auth(token)
                    .json(&json!({"seat_number": next_seat}))
            })
            .collect();
        for (status, body) in send_together(requests).await {
            assert_eq!(status, StatusCode::CREATED, "{body}");
        }
    }
    let mut late = Stream::open(&app.address, show, &ann, Some(&before.id.to_string())).await;
    let event = late.expect(SOON).await;
    assert_eq!(event.kind, "snapshot", "560 changes later");
    assert_eq!(statuses(&event.data)[&(next_seat as i64)], "booked");
}

async fn expired_hold_is_streamed_as_available_within_two_seconds(app: TestApp) {
    let (_, show) = app.show_with_staff(10).await;
    let ann = app.user_token("ann").await;
    let mut stream = Stream::open(&app.address, show, &ann, None).await;
    stream.expect(SOON).await;
    let hold = hold_seats(&app, &ann, show, &[2]).await;
    assert_eq!(changes(&stream.expect(SOON).await), pairs(&[(2, "held")]));
    let expires: chrono::DateTime<chrono::Utc> =
        hold["expires_at"].as_str().unwrap().parse().unwrap();
    let freed = stream.expect(Duration::from_secs(4)).await;
    let at = chrono::Utc::now();
    assert_eq!(changes(&freed), pairs(&[(2, "available")]));
    let late = at - expires;
    assert!(
        late < chrono::Duration::seconds(2) && late > chrono::Duration::zero(),
        "streamed {late} after the expiry"
    );
}

/// The database's own answer, read by a storage whose feed never runs.
async fn from_database(app: &TestApp) -> api_actix::state::AppState {
    let database =
        infra_diesel::Database::connect(&store_settings(&app.settings.database)).expect("pool");
    Storage::from(database)
        .wire(&app.settings)
        .expect("state")
        .0
}

async fn reads_agree_with_the_database_after_a_burst_of_bookings_and_cancels(app: TestApp) {
    let (_, show) = app.show_with_staff(200).await;
    let mut tokens = Vec::new();
    for i in 0..10 {
        tokens.push(app.user_token(&format!("fan{i}")).await);
    }
    // Warm the caches, then change seats from every side at once.
    app.get(&format!("/api/shows/{show}/seats/"), &tokens[0])
        .await;
    app.get("/api/shows/", &tokens[0]).await;
    for round in 0..5 {
        let requests = tokens
            .iter()
            .enumerate()
            .map(|(i, token)| {
                // Two clients per seat: some win, some get 409.
                let seat = 1 + (round * 10 + i / 2) as i64;
                app.client
                    .post(app.url(&format!("/api/shows/{show}/book/")))
                    .bearer_auth(token)
                    .json(&json!({"seat_numbers": [seat, seat + 100]}))
            })
            .collect();
        let answers = send_together(requests).await;
        // Cancel every other winner's booking, all at once, with reads in between.
        let mut cancels = Vec::new();
        for (i, (status, body)) in answers.iter().enumerate() {
            if *status == StatusCode::CREATED && i % 4 == 0 {
                for booking in body["bookings"].as_array().unwrap() {
                    cancels.push(
                        app.client
                            .post(app.url(&format!("/api/bookings/{}/cancel/", booking["id"])))
                            .bearer_auth(&tokens[i]),
                    );
                }
            }
            cancels.push(
                app.client
                    .get(app.url(&format!("/api/shows/{show}/seats/")))
                    .bearer_auth(&tokens[i]),
            );
        }
        send_together(cancels).await;
    }
    let truth = from_database(&app).await;
    let (_, map) = truth.catalog.seat_map(show).await.expect("seat map");
    let booked: Vec<i64> = map
        .seats()
        .filter(|seat| seat.status == domain::SeatStatus::Booked)
        .map(|seat| i64::from(seat.seat_number))
        .collect();
    assert!(!booked.is_empty());
    let available = truth
        .catalog
        .show(show)
        .await
        .expect("show")
        .available_seats;
    assert_eq!(available as usize, 200 - booked.len());
    // Own writes are read at once; the feed has caught up within a second in any case.
    let deadline = Instant::now() + Duration::from_secs(1);
    loop {
        let seen = app.booked_seats(&tokens[0], show).await;
        let listed: Vec<Value> = app
            .get("/api/shows/", &tokens[0])
            .await
            .json()
            .await
            .unwrap();
        let counted = listed.iter().find(|s| s["id"] == show).unwrap()["available_seats"]
            .as_i64()
            .unwrap();
        let one: Value = app
            .get(&format!("/api/shows/{show}/"), &tokens[0])
            .await
            .json()
            .await
            .unwrap();
        if seen == booked && counted == i64::from(available) && one["available_seats"] == available
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "reads {seen:?} / {counted} / {} disagree with the database {booked:?} / {available}",
            one["available_seats"]
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Two processes of the service on one PostgreSQL database: a change through one
/// reaches the other's subscribers within a second, also after the feed's database
/// connection is cut and comes back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_two_server_processes_share_every_change() {
    let db = TestDatabase::new(Backend::Postgres).await;
    let url = db.url.clone();
    let app = TestApp::spawn_on(db, |_| {}).await;
    let (_, show) = app.show_with_staff(50).await;
    let ann = app.user_token("ann").await;
    let (a, b) = (
        ServerProcess::start(&url).await,
        ServerProcess::start(&url).await,
    );
    let mut stream = Stream::open(&a.address, show, &ann, None).await;
    let snapshot = stream.expect(SOON).await;
    let mut view = statuses(&snapshot.data);
    let client = reqwest::Client::new();
    let book = |address: String, seat: i64| {
        let client = client.clone();
        let ann = ann.clone();
        async move {
            let response = client
                .post(format!("{address}/api/shows/{show}/book/"))
                .bearer_auth(&ann)
                .json(&json!({"seat_number": seat}))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::CREATED);
            response.json::<Value>().await.unwrap()
        }
    };

    book(b.address.clone(), 1).await;
    let booked_at = Instant::now();
    let event = stream.expect(SOON).await;
    assert!(
        booked_at.elapsed() < Duration::from_secs(1),
        "took {:?}",
        booked_at.elapsed()
    );
    assert_eq!(changes(&event), pairs(&[(1, "booked")]));
    apply(&mut view, &event);
    // Process A's plain reads see B's booking too.
    let seats = seat_map_at(&a.address, &ann, show).await;
    assert_eq!(statuses(&seats), view);

    // Cut every feed's connection, and change seats while they are down.
    let terminated = app.database().terminate_listeners().await;
    assert!(
        terminated >= 3,
        "{terminated} listeners terminated: one per process"
    );
    let booking = book(b.address.clone(), 2).await["id"].clone();
    book(b.address.clone(), 3).await;
    let cancelled = client
        .post(format!("{}/api/bookings/{booking}/cancel/", b.address))
        .bearer_auth(&ann)
        .send()
        .await
        .unwrap();
    assert_eq!(cancelled.status(), StatusCode::OK);
    book(b.address.clone(), 4).await;

    // Once back, A's subscriber has every change, and then new ones as before.
    let mut expected = view.clone();
    expected.insert(3, "booked".into());
    expected.insert(4, "booked".into());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while view != expected {
        let wait = deadline.saturating_duration_since(tokio::time::Instant::now());
        let event = stream
            .next(wait)
            .await
            .unwrap_or_else(|| panic!("missing changes after the reconnect: have {view:?}"));
        apply(&mut view, &event);
    }
    book(b.address.clone(), 5).await;
    let booked_at = Instant::now();
    let event = stream.expect(SOON).await;
    assert!(booked_at.elapsed() < Duration::from_secs(1));
    assert_eq!(changes(&event), pairs(&[(5, "booked")]));
}

/// The request log of a real process names the stream's path, never its query: the
/// token in `access_token` stays out of the logs, accepted or refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_token_in_the_query_is_never_logged() {
    let db = TestDatabase::new(Backend::Postgres).await;
    let url = db.url.clone();
    let app = TestApp::spawn_on(db, |_| {}).await;
    let (_, show) = app.show_with_staff(5).await;
    let ann = app.user_token("ann").await;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("server.log");
    let server = ServerProcess::spawn(&url, &[("APP__LOG__LEVEL", "info")], Some(&log));
    server.wait_ready().await;
    let path = format!("{}/api/shows/{show}/seats/stream/", server.address);
    let accepted = app
        .client
        .get(format!("{path}?access_token={ann}"))
        .send()
        .await
        .unwrap();
    let mut stream = Stream::of(accepted);
    assert_eq!(stream.expect(SOON).await.kind, "snapshot");
    drop(stream);
    let refused = app
        .client
        .get(format!("{path}?access_token={ann}x"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    drop(server);
    let written = std::fs::read_to_string(&log).unwrap();
    assert!(
        written.contains("seats/stream"),
        "the requests were logged: {written}"
    );
    let signature = ann.rsplit('.').next().unwrap();
    assert!(!written.contains(signature), "the token was logged");
    assert!(!written.contains("access_token"), "the query was logged");
}

/// SIGTERM ends the open streams at once (their clients reconnect elsewhere) and the
/// process exits, rather than wait for its shutdown timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_ends_open_streams_and_the_process_exits() {
    let db = TestDatabase::new(Backend::Postgres).await;
    let url = db.url.clone();
    let app = TestApp::spawn_on(db, |_| {}).await;
    let (_, show) = app.show_with_staff(5).await;
    let ann = app.user_token("ann").await;
    let mut server = ServerProcess::spawn(
        &url,
        &[("APP__SERVER__SHUTDOWN_TIMEOUT_SECONDS", "30")],
        None,
    );
    server.wait_ready().await;
    let mut stream = Stream::open(&server.address, show, &ann, None).await;
    assert_eq!(stream.expect(SOON).await.kind, "snapshot");

    let stopped_at = Instant::now();
    let pid = server.child.id().to_string();
    let sent = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(sent.success());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        match tokio::time::timeout_at(deadline, stream.response.chunk()).await {
            Ok(Ok(None) | Err(_)) => break,
            Ok(Ok(Some(_))) => continue,
            Err(_) => panic!("the stream stayed open after SIGTERM"),
        }
    }
    let status = loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            stopped_at.elapsed() < Duration::from_secs(10),
            "the server did not exit after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(status.code(), Some(0));
}
