//! The storage's limits over HTTP: text at each limit fits its column on both backends,
//! a full disk answers 503 `storage_unavailable` and readiness reports it until space is
//! freed, and SQLite's writers wait no longer than the lock timeout.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::{Client, Response, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{
    assert_error, booked_seats_at, json_body, patch, Backend, ServerProcess, TestApp, TestDatabase,
    PASSWORD,
};

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

/// A `movie-booking serve` process on `url` whose files may grow only as far as the
/// test allows (`RLIMIT_FSIZE`, set with `prlimit`): a disk that fills up, without root.
/// `SIGXFSZ` is ignored (the shell's `trap` is kept across `exec`), so a write past the
/// limit fails with an error, as on a full disk, instead of killing the process.
fn server_on_a_small_disk(url: &str, log: &Path) -> ServerProcess {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new("sh")
        .args(["-c", r#"trap '' XFSZ; exec "$0" serve"#])
        .arg(env!("CARGO_BIN_EXE_movie-booking"))
        .env("DATABASE_URL", url)
        .env("APP__SERVER__PORT", port.to_string())
        .env("APP__SERVER__WORKERS", "2")
        .env("APP__RATE_LIMIT__AUTH_PER_MINUTE", "0")
        .env("APP__RATE_LIMIT__BOOKINGS_PER_MINUTE", "0")
        .env("APP__LOG__LEVEL", "warn")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .expect("start movie-booking");
    ServerProcess {
        child,
        address: format!("http://127.0.0.1:{port}"),
    }
}

/// Lets the process's files grow to `bytes` (None: without limit).
fn limit_file_size(server: &ServerProcess, bytes: Option<u64>) {
    let soft = bytes.map_or("unlimited".to_owned(), |b| b.to_string());
    let status = Command::new("prlimit")
        .args([
            "--pid",
            &server.child.id().to_string(),
            &format!("--fsize={soft}:unlimited"),
        ])
        .status()
        .expect("run prlimit (util-linux)");
    assert!(status.success(), "prlimit failed");
}

async fn assert_storage_unavailable(response: Response, what: &str) {
    let retry_after = response.headers().contains_key("retry-after");
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{what}: {body}");
    assert_eq!(body["code"], "storage_unavailable", "{what}: {body}");
    assert!(retry_after, "{what}: no Retry-After");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_disk_gives_503_storage_unavailable_changes_nothing_and_recovers() {
    let db = TestDatabase::new(Backend::Sqlite).await;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("server.log");
    // The staff account, the movie, the show and the user, written in this process.
    let app = TestApp::spawn_on(db, |_| {}).await;
    let (staff, show) = app.show_with_staff(10).await;
    let token = app.user_token("john").await;
    let url = app.settings.database.url.clone();
    let wal = format!("{}-wal", infra_diesel::sqlite_path(&url).unwrap());

    let server = server_on_a_small_disk(&url, &log);
    server.wait_ready().await;
    let (base, client) = (server.address.clone(), Client::new());
    let book = || {
        client
            .post(format!("{base}/api/shows/{show}/book/"))
            .bearer_auth(&token)
            .json(&json!({"seat_number": 1}))
            .send()
    };
    let signup = || {
        client
            .post(format!("{base}/api/signup/"))
            .json(&json!({"username": "jane", "password": PASSWORD}))
            .send()
    };
    let edit = || {
        client
            .patch(format!("{base}/api/shows/{show}/"))
            .bearer_auth(&staff)
            .json(&json!({"total_seats": 20}))
            .send()
    };
    let create = || {
        client
            .post(format!("{base}/api/movies/"))
            .bearer_auth(&staff)
            .json(&json!({"title": "Heat", "duration_minutes": 170}))
            .send()
    };
    let ready = || client.get(format!("{base}/ready/")).send();

    // The disk is full: the write-ahead log, where every commit goes, cannot grow.
    limit_file_size(&server, Some(std::fs::metadata(&wal).unwrap().len()));
    assert_storage_unavailable(book().await.unwrap(), "booking").await;
    assert_storage_unavailable(signup().await.unwrap(), "signup").await;
    assert_storage_unavailable(edit().await.unwrap(), "show edit").await;
    assert_storage_unavailable(create().await.unwrap(), "new movie").await;
    // Readiness says so, and keeps saying so while the disk stays full.
    for _ in 0..2 {
        assert_storage_unavailable(ready().await.unwrap(), "/ready/").await;
    }
    // Nothing changed: reads still work and show the state from before.
    assert!(app.booked_seats(&token, show).await.is_empty());
    let seen: Value = app
        .get(&format!("/api/shows/{show}/"), &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(seen["total_seats"], 10);
    let movies: Value = app.get("/api/movies/", &token).await.json().await.unwrap();
    assert_eq!(movies.as_array().map(Vec::len), Some(1), "{movies}");
    assert_eq!(
        app.login("jane", PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED
    );

    // Space is freed: readiness comes back by itself, and so do the writes.
    limit_file_size(&server, None);
    let answer = ready().await.unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    assert_eq!(book().await.unwrap().status(), StatusCode::CREATED);
    assert_eq!(signup().await.unwrap().status(), StatusCode::CREATED);
    assert_eq!(edit().await.unwrap().status(), StatusCode::OK);
    assert_eq!(create().await.unwrap().status(), StatusCode::CREATED);
    // Read where it was written: on SQLite, the one process that owns the database
    // learns of its writes at once, another one only at its next re-read.
    assert_eq!(booked_seats_at(&base, &token, show).await, vec![1]);
}

/// Another process holds SQLite's write lock: every booking waits in this process's
/// queue and in SQLite's busy handler together no longer than about the lock timeout,
/// then answers 503 with `Retry-After`; once the lock is released, they all go through.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn queued_sqlite_writers_give_up_after_the_lock_timeout_not_in_turn() {
    const LOCK_TIMEOUT_MS: u64 = 300;
    const BOOKINGS: i64 = 20;
    let db = TestDatabase::new(Backend::Sqlite).await;
    let app = TestApp::spawn_on(db, |s| s.database.lock_timeout_ms = LOCK_TIMEOUT_MS).await;
    let (_, show) = app.show_with_staff(BOOKINGS).await;
    let token = app.user_token("john").await;
    let book_all = || {
        let requests = (1..=BOOKINGS).map(|seat| {
            let request = app
                .client
                .post(app.url(&format!("/api/shows/{show}/book/")))
                .bearer_auth(&token)
                .json(&json!({ "seat_number": seat }));
            tokio::spawn(async move {
                let started = Instant::now();
                let response = request.send().await.unwrap();
                let retry_after = response.headers().contains_key("retry-after");
                let status = response.status();
                let body: Value = response.json().await.unwrap_or(Value::Null);
                (status, body, retry_after, started.elapsed())
            })
        });
        futures_util::future::join_all(requests.collect::<Vec<_>>())
    };

    let held = infra_diesel::testing::hold_sqlite_write_lock(&app.settings.database.url);
    let answers = book_all().await;
    drop(held);
    // Queued in turn, the last of them would wait 20 × 300 ms.
    let bound = Duration::from_millis(LOCK_TIMEOUT_MS + 1200);
    for answer in answers {
        let (status, body, retry_after, waited) = answer.unwrap();
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
        assert_eq!(body["code"], "unavailable", "{body}");
        assert!(retry_after, "no Retry-After");
        assert!(waited < bound, "waited {waited:?}");
    }
    assert!(app.booked_seats(&token, show).await.is_empty());

    for answer in book_all().await {
        let (status, body, ..) = answer.unwrap();
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    assert_eq!(
        app.booked_seats(&token, show).await,
        (1..=BOOKINGS).collect::<Vec<_>>()
    );
}
