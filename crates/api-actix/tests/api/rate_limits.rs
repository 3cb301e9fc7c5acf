//! Rate limits over HTTP: who the client is behind proxies, malformed requests counting,
//! and limits shared by several processes through Redis (and what happens without it).
//!
//! The Redis tests use the server at `TEST_REDIS_URL` (default `redis://127.0.0.1:6379`),
//! each under a key prefix of its own. They fail, never skip, when it does not answer.

use std::time::{Duration, Instant};

use reqwest::{Response, StatusCode};
use secrecy::SecretString;
use serde_json::json;

use crate::helpers::{assert_error, Backend, ServerProcess, TestApp, TestDatabase};
use crate::operations::{metric, run_binary, Proxy};

const PER_MINUTE: u32 = 3;

async fn login_from(app: &TestApp, forwarded_for: Option<&str>) -> Response {
    let mut request = app
        .client
        .post(app.url("/api/login/"))
        .json(&json!({"username": "ghost", "password": "wrong-password"}));
    if let Some(value) = forwarded_for {
        request = request.header("X-Forwarded-For", value);
    }
    request.send().await.expect("send the login")
}

/// Asserts a 429 with a `Retry-After` of 1 to 60 s (the wait left in a one-minute window).
async fn assert_limited(response: Response) {
    let retry_after: u64 = response
        .headers()
        .get("retry-after")
        .expect("Retry-After")
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    assert_error(response, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
}

async fn auth_limited_app(trusted_proxies: &[&str]) -> TestApp {
    let db = TestDatabase::new(Backend::Sqlite).await;
    let proxies: Vec<String> = trusted_proxies.iter().map(|p| (*p).to_owned()).collect();
    TestApp::spawn_on(db, |s| {
        s.rate_limit.auth_per_minute = PER_MINUTE;
        s.rate_limit.trusted_proxies = proxies;
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarded_for_from_an_untrusted_peer_changes_nothing() {
    let app = auth_limited_app(&[]).await;
    // Each request claims another client, or garbage: all count against the peer.
    for value in ["garbage", "198.51.100.1", "198.51.100.2"] {
        assert_eq!(
            login_from(&app, Some(value)).await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    assert_limited(login_from(&app, Some("198.51.100.3")).await).await;
    assert_limited(login_from(&app, None).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_trusted_proxy_garbage_counts_against_the_proxy() {
    let app = auth_limited_app(&["127.0.0.1/32"]).await;
    for value in ["garbage", "", "198.51.100.1, not-an-ip"] {
        assert_eq!(
            login_from(&app, Some(value)).await.status(),
            StatusCode::UNAUTHORIZED,
            "{value:?}"
        );
    }
    assert_limited(login_from(&app, Some("unknown")).await).await;
    assert_limited(login_from(&app, None).await).await;
    // A real client behind the proxy is someone else.
    assert_eq!(
        login_from(&app, Some("198.51.100.1")).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_trusted_proxy_a_spoofed_leftmost_address_changes_nothing() {
    let app = auth_limited_app(&["127.0.0.1/32"]).await;
    // The client writes the left part; the proxy appends the address it saw.
    for i in 0..PER_MINUTE {
        let spoofed = format!("203.0.113.{i}, 198.51.100.7");
        assert_eq!(
            login_from(&app, Some(&spoofed)).await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    assert_limited(login_from(&app, Some("203.0.113.99, 198.51.100.7")).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_limit() {
    let app = auth_limited_app(&["127.0.0.1/32"]).await;
    for _ in 0..PER_MINUTE {
        assert_eq!(
            login_from(&app, Some("198.51.100.1")).await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    assert_limited(login_from(&app, Some("198.51.100.1")).await).await;
    for client in ["198.51.100.2", "2001:db8::2"] {
        assert_eq!(
            login_from(&app, Some(client)).await.status(),
            StatusCode::UNAUTHORIZED,
            "{client}"
        );
    }
}

#[test]
fn the_old_trust_forwarded_for_and_bad_proxies_stop_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}/never.sqlite3", dir.path().display());
    let (code, stderr) = run_binary(
        &["serve"],
        &[
            ("DATABASE_URL", database.as_str()),
            ("APP__RATE_LIMIT__TRUST_FORWARDED_FOR", "true"),
        ],
    );
    assert_ne!(code, Some(0));
    assert!(stderr.contains("rate_limit.trusted_proxies"), "{stderr}");
    assert_eq!(
        stderr.trim().lines().count(),
        1,
        "one-line reason: {stderr}"
    );
    let (code, stderr) = run_binary(
        &["serve"],
        &[
            ("DATABASE_URL", database.as_str()),
            ("APP__RATE_LIMIT__TRUSTED_PROXIES", "10.0.0.0/8,proxy.local"),
        ],
    );
    assert_ne!(code, Some(0));
    assert!(stderr.contains("proxy.local"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trusted_proxies_come_from_a_comma_separated_variable() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite://{}/limits.sqlite3", dir.path().display());
    let server = ServerProcess::spawn(
        &database,
        &[
            ("APP__RATE_LIMIT__AUTH_PER_MINUTE", "1"),
            (
                "APP__RATE_LIMIT__TRUSTED_PROXIES",
                "10.0.0.0/8, 127.0.0.1/32",
            ),
        ],
        None,
    );
    server.wait_ready().await;
    let client = reqwest::Client::new();
    let login = |forwarded_for: &'static str| {
        client
            .post(format!("{}/api/login/", server.address))
            .header("X-Forwarded-For", forwarded_for)
            .json(&json!({"username": "ghost", "password": "wrong-password"}))
            .send()
    };
    let first = login("198.51.100.1").await.unwrap().status();
    assert_eq!(first, StatusCode::UNAUTHORIZED);
    assert_limited(login("198.51.100.1").await.unwrap()).await;
    let other = login("198.51.100.2").await.unwrap().status();
    assert_eq!(other, StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_signups_and_logins_count_toward_the_auth_limit() {
    let db = TestDatabase::new(Backend::Sqlite).await;
    let app = TestApp::spawn_on(db, |s| s.rate_limit.auth_per_minute = 4).await;
    let bad_json = app
        .client
        .post(app.url("/api/signup/"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_error(bad_json, StatusCode::BAD_REQUEST, "invalid_json").await;
    let invalid = app
        .post(
            "/api/signup/",
            None,
            json!({"username": "", "password": "x"}),
        )
        .await;
    assert_eq!(invalid.status(), StatusCode::BAD_REQUEST);
    let missing_fields = app.post("/api/login/", None, json!({})).await;
    assert_eq!(missing_fields.status(), StatusCode::BAD_REQUEST);
    let bad_refresh = app
        .post("/api/token/refresh/", None, json!({"refresh": 7}))
        .await;
    assert_eq!(bad_refresh.status(), StatusCode::BAD_REQUEST);

    assert_limited(app.signup("john").await).await;
    assert_limited(app.login("john", crate::helpers::PASSWORD).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_bookings_count_toward_the_per_user_limit() {
    let db = TestDatabase::new(Backend::Sqlite).await;
    let app = TestApp::spawn_on(db, |s| s.rate_limit.bookings_per_minute = 2).await;
    let (_, show) = app.show_with_staff(10).await;
    let john = app.user_token("john").await;
    for body in [json!({"seat_number": "one"}), json!({})] {
        assert_eq!(
            app.book(&john, show, body).await.status(),
            StatusCode::BAD_REQUEST
        );
    }
    assert_limited(app.book(&john, show, json!({"seat_number": 1})).await).await;
    assert!(app.booked_seats(&john, show).await.is_empty());
}

// ---- Redis ----

/// The test Redis's URL, after checking that it answers; fails with how to start one.
async fn test_redis() -> (String, redis::aio::MultiplexedConnection) {
    let url = std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let help = format!(
        "no Redis answers at {url} (TEST_REDIS_URL). Start one with \
         `redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save '' --appendonly no` \
         (Debian package redis-server), or point TEST_REDIS_URL at one"
    );
    let client = redis::Client::open(url.as_str()).unwrap_or_else(|e| panic!("{help}: {e}"));
    let connect = client.get_multiplexed_async_connection();
    let mut conn = match tokio::time::timeout(Duration::from_secs(2), connect).await {
        Ok(Ok(conn)) => conn,
        Ok(Err(e)) => panic!("{help}: {e}"),
        Err(_) => panic!("{help}: no connection within 2 s"),
    };
    let pong: String = redis::cmd("PING")
        .query_async(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("{help}: {e}"));
    assert_eq!(pong, "PONG");
    (url, conn)
}

fn unique_prefix() -> String {
    format!("mb_test:{}", uuid::Uuid::new_v4().simple())
}

async fn metrics_of(client: &reqwest::Client, address: &str) -> String {
    let response = client
        .get(format!("{address}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.text().await.unwrap()
}

/// Waits until `/metrics` reports Redis up (`1.0`) or down (`0.0`).
async fn wait_for_redis_status(address: &str, wanted: f64) -> String {
    let client = reqwest::Client::new();
    let mut text = String::new();
    for _ in 0..100 {
        text = metrics_of(&client, address).await;
        if text.contains("movie_booking_rate_limit_redis_up")
            && metric(&text, "movie_booking_rate_limit_redis_up") == wanted
        {
            return text;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("rate_limit_redis_up never became {wanted} at {address}:\n{text}");
}

fn with_redis(url: &str, prefix: &str) -> impl FnOnce(&mut api_actix::settings::Settings) {
    let (url, prefix) = (url.to_owned(), prefix.to_owned());
    move |s| {
        s.rate_limit.auth_per_minute = PER_MINUTE;
        s.rate_limit.redis_url = SecretString::from(url);
        s.rate_limit.redis_key_prefix = prefix;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_sharing_redis_together_allow_the_configured_rate() {
    let (url, mut redis) = test_redis().await;
    let prefix = unique_prefix();
    let db = TestDatabase::new(Backend::Postgres).await;
    let database_url = db.url.clone();
    let a = TestApp::spawn_on(db, with_redis(&url, &prefix)).await;
    let per_minute = PER_MINUTE.to_string();
    let b = ServerProcess::spawn(
        &database_url,
        &[
            ("APP__RATE_LIMIT__AUTH_PER_MINUTE", per_minute.as_str()),
            ("APP__RATE_LIMIT__REDIS_URL", url.as_str()),
            ("APP__RATE_LIMIT__REDIS_KEY_PREFIX", prefix.as_str()),
        ],
        None,
    );
    b.wait_ready().await;
    wait_for_redis_status(&a.address, 1.0).await;
    wait_for_redis_status(&b.address, 1.0).await;

    let login = |address: &str| {
        a.client
            .post(format!("{address}/api/login/"))
            .json(&json!({"username": "ghost", "password": "wrong-password"}))
            .send()
    };
    // Alternating between the two: per process each would allow PER_MINUTE.
    let mut statuses = Vec::new();
    for i in 0..2 * PER_MINUTE {
        let address = if i % 2 == 0 { &a.address } else { &b.address };
        statuses.push(login(address).await.unwrap().status());
    }
    let allowed = statuses
        .iter()
        .filter(|s| **s == StatusCode::UNAUTHORIZED)
        .count();
    assert_eq!(allowed, PER_MINUTE as usize, "{statuses:?}");
    assert!(
        statuses[PER_MINUTE as usize..]
            .iter()
            .all(|s| *s == StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
    assert_limited(login(&a.address).await.unwrap()).await;
    assert_limited(login(&b.address).await.unwrap()).await;

    // The count lives in Redis under the configured prefix, and expires by itself.
    let key = format!("{prefix}:auth:127.0.0.1");
    let ttl: i64 = redis::cmd("PTTL")
        .arg(&key)
        .query_async(&mut redis)
        .await
        .unwrap();
    assert!(ttl > 0 && ttl <= 60_000, "{key} has PTTL {ttl}");
    let metrics = metrics_of(&a.client, &a.address).await;
    assert_eq!(
        metric(&metrics, "movie_booking_rate_limit_redis_fallbacks_total"),
        0.0
    );
    let _: i64 = redis::cmd("DEL")
        .arg(&key)
        .query_async(&mut redis)
        .await
        .unwrap();
}

fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_redis_the_service_limits_per_process_and_reports_it() {
    let url = format!("redis://127.0.0.1:{}", closed_port());
    let db = TestDatabase::new(Backend::Sqlite).await;
    let app = TestApp::spawn_on(db, with_redis(&url, &unique_prefix())).await;
    for _ in 0..PER_MINUTE {
        assert_eq!(
            login_from(&app, None).await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    assert_limited(login_from(&app, None).await).await;
    // Signup shares the login's count, here too.
    assert_limited(app.signup("john").await).await;
    let metrics = wait_for_redis_status(&app.address, 0.0).await;
    assert!(
        metric(&metrics, "movie_booking_rate_limit_redis_fallbacks_total")
            >= f64::from(PER_MINUTE + 2),
        "{metrics}"
    );
    let health = app.client.get(app.url("/health/")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_outage_is_logged_once_and_without_its_password() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("server.log");
    let database = format!("sqlite://{}/limits.sqlite3", dir.path().display());
    let redis_url = format!("redis://:hunter2-secret@127.0.0.1:{}", closed_port());
    let server = ServerProcess::spawn(
        &database,
        &[
            ("APP__RATE_LIMIT__AUTH_PER_MINUTE", "3"),
            ("APP__RATE_LIMIT__REDIS_URL", redis_url.as_str()),
        ],
        Some(&log),
    );
    server.wait_ready().await;
    let client = reqwest::Client::new();
    for _ in 0..5 {
        let status = client
            .post(format!("{}/api/login/", server.address))
            .json(&json!({"username": "ghost", "password": "wrong-password"}))
            .send()
            .await
            .unwrap()
            .status();
        assert_ne!(status, StatusCode::INTERNAL_SERVER_ERROR);
    }
    // Long enough for the background probe to fail again.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let logs = std::fs::read_to_string(&log).unwrap();
    assert_eq!(
        logs.matches("Redis for rate limits is unavailable").count(),
        1,
        "{logs}"
    );
    assert!(!logs.contains("hunter2-secret"), "{logs}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_that_never_answers_does_not_slow_requests() {
    // Accepts connections and never says a word.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = silent.local_addr().unwrap().port();
    let held = tokio::spawn(async move {
        let mut connections = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            connections.push(socket);
        }
    });
    let db = TestDatabase::new(Backend::Sqlite).await;
    let app = TestApp::spawn_on(db, |s| {
        with_redis(&format!("redis://127.0.0.1:{port}"), &unique_prefix())(s);
        s.rate_limit.redis_timeout_ms = 100;
    })
    .await;
    let started = Instant::now();
    for _ in 0..PER_MINUTE {
        assert_eq!(
            login_from(&app, None).await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    assert_limited(login_from(&app, None).await).await;
    // Four logins, each waiting at most 100 ms for Redis (and a password hash).
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "took {:?}",
        started.elapsed()
    );
    wait_for_redis_status(&app.address, 0.0).await;
    held.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_returns_to_redis_when_it_is_back() {
    let (url, mut redis) = test_redis().await;
    let target = url
        .trim_start_matches("redis://")
        .trim_end_matches('/')
        .parse()
        .expect("TEST_REDIS_URL must be redis://IP:port for this test");
    let proxy = Proxy::start(0, target).await;
    let prefix = unique_prefix();
    let proxied = format!("redis://127.0.0.1:{}", proxy.port);
    let db = TestDatabase::new(Backend::Sqlite).await;
    let app = TestApp::spawn_on(db, |s| {
        with_redis(&proxied, &prefix)(s);
        s.rate_limit.auth_per_minute = 100;
    })
    .await;
    wait_for_redis_status(&app.address, 1.0).await;
    let key = format!("{prefix}:auth:127.0.0.1");
    assert_eq!(
        login_from(&app, None).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(exists(&mut redis, &key).await, 1, "counted in Redis");

    proxy.cut();
    let _: i64 = redis::cmd("DEL")
        .arg(&key)
        .query_async(&mut redis)
        .await
        .unwrap();
    // Served while Redis is away, counted here.
    for _ in 0..3 {
        assert_eq!(
            login_from(&app, None).await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    let down = wait_for_redis_status(&app.address, 0.0).await;
    assert!(metric(&down, "movie_booking_rate_limit_redis_fallbacks_total") >= 1.0);
    assert_eq!(
        exists(&mut redis, &key).await,
        0,
        "not counted in Redis while cut"
    );

    // Redis comes back on the same address: the service goes back to it by itself.
    let _restored = Proxy::start(proxy.port, proxy.target).await;
    wait_for_redis_status(&app.address, 1.0).await;
    assert_eq!(
        login_from(&app, None).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(exists(&mut redis, &key).await, 1, "counted in Redis again");
    let _: i64 = redis::cmd("DEL")
        .arg(&key)
        .query_async(&mut redis)
        .await
        .unwrap();
}

async fn exists(redis: &mut redis::aio::MultiplexedConnection, key: &str) -> i64 {
    redis::cmd("EXISTS")
        .arg(key)
        .query_async(redis)
        .await
        .unwrap()
}
