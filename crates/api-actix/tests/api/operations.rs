//! Production readiness: start-up refusals, logs without secrets, metrics, rate limits,
//! database outages, graceful shutdown, hosts, CORS and request ids.

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{assert_error, Backend, ServerProcess, TestApp, TestDatabase, PASSWORD};

fn config_dir() -> String {
    concat!(env!("CARGO_MANIFEST_DIR"), "/../../config").to_owned()
}

/// Runs the binary with `env` and returns (exit code, stderr).
pub(crate) fn run_binary(args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_movie-booking"))
        .args(args)
        .env("APP_CONFIG_DIR", config_dir())
        .envs(env.iter().copied())
        .output()
        .expect("run movie-booking");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn production_refuses_the_development_secret() {
    let (code, stderr) = run_binary(
        &["serve"],
        &[
            ("APP_ENV", "production"),
            ("DATABASE_URL", "postgres://nobody@127.0.0.1:1/x"),
        ],
    );
    assert_ne!(code, Some(0));
    assert!(stderr.contains("development JWT secret"), "{stderr}");
    assert_eq!(
        stderr.trim().lines().count(),
        1,
        "one-line reason: {stderr}"
    );
}

#[test]
fn production_refuses_a_short_secret_and_sqlite() {
    let (code, stderr) = run_binary(
        &["serve"],
        &[
            ("APP_ENV", "production"),
            ("DATABASE_URL", "postgres://nobody@127.0.0.1:1/x"),
            ("APP__AUTH__JWT_SECRET", "too-short"),
        ],
    );
    assert_ne!(code, Some(0));
    assert!(stderr.contains("at least 32 bytes"), "{stderr}");
    let (code, stderr) = run_binary(
        &["serve"],
        &[
            ("APP_ENV", "production"),
            ("DATABASE_URL", "sqlite://data/never.sqlite3"),
            (
                "APP__AUTH__JWT_SECRET",
                "a-production-secret-of-more-than-32-bytes",
            ),
        ],
    );
    assert_ne!(code, Some(0));
    assert!(stderr.contains("SQLite"), "{stderr}");
}

#[test]
fn secret_can_come_from_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let secret_file = dir.path().join("jwt_secret");
    std::fs::write(&secret_file, "a-production-secret-of-more-than-32-bytes\n").unwrap();
    // Passes the secret checks, then fails on the (unreachable) database instead.
    let (code, stderr) = run_binary(
        &["migrate"],
        &[
            ("APP_ENV", "production"),
            ("DATABASE_URL", "postgres://nobody@127.0.0.1:1/x"),
            ("APP__AUTH__JWT_SECRET_FILE", secret_file.to_str().unwrap()),
        ],
    );
    assert_ne!(code, Some(0));
    assert!(!stderr.contains("JWT secret"), "{stderr}");
    assert!(stderr.contains("database"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_never_contain_passwords_hashes_or_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("server.log");
    let url = format!("sqlite://{}/logs.sqlite3", dir.path().display());
    let server = ServerProcess::spawn(&url, &[("APP__LOG__LEVEL", "debug")], Some(&log));
    server.wait_ready().await;
    let client = reqwest::Client::new();
    let secret_password = "Sup3r-secret-passw0rd";
    let signup = client
        .post(format!("{}/api/signup/", server.address))
        .json(&json!({"username": "loggy", "password": secret_password}))
        .send()
        .await
        .unwrap();
    assert_eq!(signup.status(), StatusCode::CREATED);
    let login: Value = client
        .post(format!("{}/api/login/", server.address))
        .json(&json!({"username": "loggy", "password": secret_password}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (access, refresh) = (
        login["access"].as_str().unwrap(),
        login["refresh"].as_str().unwrap(),
    );
    client
        .get(format!("{}/api/me/", server.address))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    let refreshed: Value = client
        .post(format!("{}/api/token/refresh/", server.address))
        .json(&json!({"refresh": refresh}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let rotated = refreshed["refresh"].as_str().unwrap();
    // A reuse is logged as a warning, without the token.
    for token in [refresh, rotated] {
        client
            .post(format!("{}/api/token/refresh/", server.address))
            .json(&json!({"refresh": token}))
            .send()
            .await
            .unwrap();
    }
    client
        .post(format!("{}/api/logout/", server.address))
        .json(&json!({"refresh": rotated}))
        .send()
        .await
        .unwrap();
    drop(server);
    let logs = std::fs::read_to_string(&log).unwrap();
    assert!(logs.contains("/api/login/"), "requests are logged: {logs}");
    assert!(logs.contains("refresh token reused"), "{logs}");
    for secret in [secret_password, access, refresh, rotated, "$argon2"] {
        assert!(!logs.contains(secret), "the log contains {secret}");
    }
}

pub(crate) fn metric(text: &str, name: &str) -> f64 {
    let scrape = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_owned())))
        .expect("Prometheus text");
    scrape
        .samples
        .iter()
        .filter(|s| s.metric == name)
        .map(|s| match s.value {
            prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Untyped(v) => v,
            _ => 0.0,
        })
        .sum()
}

async fn metrics_text(app: &TestApp) -> String {
    let response = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    response.text().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_bookings_conflicts_and_requests() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let (_, show) = app.show_with_staff(10).await;
    let token = app.user_token("john").await;
    let before = metrics_text(&app).await;
    assert_eq!(
        metric(&before, "movie_booking_bookings_confirmed_total"),
        0.0
    );
    assert!(metric(&before, "movie_booking_db_pool_max_size") >= 1.0);

    assert_eq!(
        app.book(&token, show, json!({"seat_number": 1}))
            .await
            .status(),
        StatusCode::CREATED
    );
    let one = metrics_text(&app).await;
    assert_eq!(metric(&one, "movie_booking_bookings_confirmed_total"), 1.0);
    assert_eq!(
        app.book(&token, show, json!({"seat_number": 2}))
            .await
            .status(),
        StatusCode::CREATED
    );
    assert_eq!(
        app.book(&token, show, json!({"seat_number": 2}))
            .await
            .status(),
        StatusCode::CONFLICT
    );
    let after = metrics_text(&app).await;
    assert_eq!(
        metric(&after, "movie_booking_bookings_confirmed_total"),
        2.0
    );
    assert_eq!(metric(&after, "movie_booking_seat_conflicts_total"), 1.0);
    assert!(metric(&after, "movie_booking_http_requests_total") >= 5.0);
    assert!(after.contains("route=\"/api/shows/{id}/book/\""), "{after}");
    assert!(after.contains("movie_booking_http_request_duration_seconds_bucket"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_holds_and_housekeeping_marks_expired_ones() {
    let db = TestDatabase::new(Backend::Sqlite).await;
    let app = TestApp::spawn_on(db, |s| {
        s.booking.hold_ttl_seconds = 1;
        s.booking.hold_max_seconds = 1;
        s.booking.hold_housekeeping_seconds = 1;
    })
    .await;
    let (_, show) = app.show_with_staff(10).await;
    let token = app.user_token("john").await;
    let holds = format!("/api/shows/{show}/holds/");
    let hold = |seat: i64| app.post(&holds, Some(&token), json!({"seat_numbers": [seat]}));
    let confirmed: Value = hold(1).await.json().await.unwrap();
    let path = format!("/api/holds/{}/confirm/", confirmed["id"]);
    assert_eq!(
        app.post(&path, Some(&token), json!({})).await.status(),
        StatusCode::CREATED
    );
    let released: Value = hold(2).await.json().await.unwrap();
    let path = format!("/api/holds/{}/", released["id"]);
    let response = app.request(Method::DELETE, &path, Some(&token), None).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    let expiring: Value = hold(3).await.json().await.unwrap();
    let counts = metrics_text(&app).await;
    assert_eq!(metric(&counts, "movie_booking_holds_created_total"), 3.0);
    assert_eq!(metric(&counts, "movie_booking_holds_confirmed_total"), 1.0);
    assert_eq!(metric(&counts, "movie_booking_holds_released_total"), 1.0);
    // Housekeeping runs every second: the expired hold is marked within a few.
    let mut expired = 0.0;
    for _ in 0..50 {
        expired = metric(
            &metrics_text(&app).await,
            "movie_booking_holds_expired_total",
        );
        if expired > 0.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(expired, 1.0);
    let after: Value = app
        .get(&format!("/api/holds/{}/", expiring["id"]), &token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(after["status"], "EXPIRED");
    assert_eq!(app.booked_seats(&token, show).await, vec![1]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_after_the_limit_gets_429_with_retry_after() {
    let db = TestDatabase::new(Backend::Sqlite).await;
    let app = TestApp::spawn_on(db, |s| s.rate_limit.auth_per_minute = 3).await;
    for _ in 0..3 {
        assert_eq!(
            app.login("ghost", "wrong-password").await.status(),
            StatusCode::UNAUTHORIZED
        );
    }
    let limited = app.login("ghost", "wrong-password").await;
    let retry_after: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    // A timing window: the wait left until the next login is allowed, 1 s at the least.
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    assert_error(limited, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bookings_beyond_the_per_user_limit_get_429() {
    let db = TestDatabase::new(Backend::Sqlite).await;
    let app = TestApp::spawn_on(db, |s| s.rate_limit.bookings_per_minute = 2).await;
    let (_, show) = app.show_with_staff(10).await;
    let (john, jane) = (app.user_token("john").await, app.user_token("jane").await);
    for seat in 1..=2 {
        assert_eq!(
            app.book(&john, show, json!({"seat_number": seat}))
                .await
                .status(),
            StatusCode::CREATED
        );
    }
    assert_error(
        app.book(&john, show, json!({"seat_number": 3})).await,
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
    )
    .await;
    // The limit is per user.
    assert_eq!(
        app.book(&jane, show, json!({"seat_number": 3}))
            .await
            .status(),
        StatusCode::CREATED
    );
}

/// A TCP proxy in front of a server (PostgreSQL, Redis) that a test can cut and restore.
pub(crate) struct Proxy {
    pub(crate) port: u16,
    pub(crate) target: SocketAddr,
    tasks: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

impl Proxy {
    pub(crate) async fn start(port: u16, target: SocketAddr) -> Self {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("bind the proxy");
        let port = listener.local_addr().unwrap().port();
        let tasks: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>> = Arc::default();
        let connections = tasks.clone();
        let accept = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let relay = tokio::spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                connections.lock().unwrap().push(relay);
            }
        });
        tasks.lock().unwrap().push(accept);
        Self {
            port,
            target,
            tasks,
        }
    }

    /// Closes the port and every relayed connection: the server is unreachable.
    pub(crate) fn cut(&self) {
        for task in self.tasks.lock().unwrap().drain(..) {
            task.abort();
        }
    }
}

pub(crate) fn postgres_target(url: &str) -> (SocketAddr, String) {
    // postgres://user@host:port/db -> (host:port, url with a {port} placeholder)
    let (scheme, rest) = url.split_once("://").unwrap();
    let (authority, path) = rest.split_once('/').unwrap();
    let (credentials, host) = authority
        .rsplit_once('@')
        .map_or(("", authority), |(c, h)| (c, h));
    let host = if host.contains(':') {
        host.to_owned()
    } else {
        format!("{host}:5432")
    };
    let host = host.replace("localhost", "127.0.0.1");
    let at = if credentials.is_empty() {
        String::new()
    } else {
        format!("{credentials}@")
    };
    (
        host.parse()
            .expect("TEST_DATABASE_URL host must be an IP:port"),
        format!("{scheme}://{at}127.0.0.1:{{port}}/{path}"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_outage_gives_503_quickly_and_the_service_recovers() {
    // The service's logs, shown if this test fails. The subscriber is process-wide, so the
    // other tests' servers log through it too; each test's lines stay in its own captured
    // output, and `try_init` leaves an existing subscriber alone.
    let _ = tracing_subscriber::fmt().with_test_writer().try_init();
    let db = TestDatabase::new(Backend::Postgres).await;
    let (target, template) = postgres_target(&db.url);
    let proxy = Proxy::start(0, target).await;
    let proxied = template.replace("{port}", &proxy.port.to_string());
    let app = TestApp::spawn_on(db, |s| {
        s.database.url = proxied.clone();
        s.database.pool_timeout_ms = 1000;
    })
    .await;
    let (_, show) = app.show_with_staff(10).await;
    let token = app.user_token("john").await;

    proxy.cut();
    let started = Instant::now();
    let ready = app.client.get(app.url("/ready/")).send().await.unwrap();
    assert!(ready.headers().contains_key("retry-after"), "{:?}", ready);
    assert_error(ready, StatusCode::SERVICE_UNAVAILABLE, "unavailable").await;
    let booking = app.book(&token, show, json!({"seat_number": 1})).await;
    assert!(booking.headers().contains_key("retry-after"));
    assert_error(booking, StatusCode::SERVICE_UNAVAILABLE, "unavailable").await;
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "took {:?}",
        started.elapsed()
    );

    // The database comes back on the same address: the service recovers by itself.
    let _restored = Proxy::start(proxy.port, proxy.target).await;
    let mut recovered = false;
    for _ in 0..50 {
        if app
            .client
            .get(app.url("/ready/"))
            .send()
            .await
            .unwrap()
            .status()
            == StatusCode::OK
        {
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(recovered, "/ready/ never came back");
    let mut booked = StatusCode::SERVICE_UNAVAILABLE;
    for _ in 0..20 {
        booked = app
            .book(&token, show, json!({"seat_number": 1}))
            .await
            .status();
        if booked != StatusCode::SERVICE_UNAVAILABLE {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(booked, StatusCode::CREATED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_the_request_in_flight_finish_and_exits_zero() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/term.sqlite3", dir.path().display());
    let mut server = ServerProcess::spawn(&url, &[], None);
    server.wait_ready().await;
    let addr = server.address.trim_start_matches("http://").to_owned();
    let body = json!({"username": "inflight", "password": PASSWORD}).to_string();
    let (head, tail) = body.split_at(body.len() / 2);
    let mut stream = std::net::TcpStream::connect(&addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "POST /api/signup/ HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{head}",
        body.len()
    )
    .unwrap();
    stream.flush().unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;

    let pid = server.child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    tokio::time::sleep(Duration::from_millis(300)).await;
    stream.write_all(tail.as_bytes()).unwrap();
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    assert!(
        response.starts_with("HTTP/1.1 201"),
        "in-flight request answered: {response:?}"
    );

    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "the server did not exit after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(status.code(), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_hosts_get_400_when_allowed_hosts_is_set() {
    let db = TestDatabase::new(Backend::Sqlite).await;
    let app = TestApp::spawn_on(db, |s| {
        s.server.allowed_hosts = vec!["cinema.example".into()]
    })
    .await;
    let refused = app.client.get(app.url("/health/")).send().await.unwrap();
    assert_error(refused, StatusCode::BAD_REQUEST, "invalid_host").await;
    let served = app
        .client
        .get(app.url("/health/"))
        .header("Host", "cinema.example:8000")
        .send()
        .await
        .unwrap();
    assert_eq!(served.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_allows_only_the_configured_origins() {
    let db = TestDatabase::new(Backend::Sqlite).await;
    let app = TestApp::spawn_on(db, |s| {
        s.server.cors_allowed_origins = vec!["https://app.example".into()]
    })
    .await;
    let preflight = |origin: &'static str| {
        app.client
            .request(Method::OPTIONS, app.url("/api/shows/"))
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "GET")
            .header("Access-Control-Request-Headers", "authorization")
            .send()
    };
    let allowed = preflight("https://app.example").await.unwrap();
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://app.example"
    );
    let refused = preflight("https://evil.example").await.unwrap();
    assert!(!refused
        .headers()
        .contains_key("access-control-allow-origin"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn responses_carry_security_headers_and_a_request_id() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let given = app
        .client
        .get(app.url("/health/"))
        .header("X-Request-Id", "abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(given.headers()["x-request-id"], "abc-123");
    let generated = app.client.get(app.url("/health/")).send().await.unwrap();
    assert!(generated.headers()["x-request-id"].len() >= 16);
    assert_eq!(generated.headers()["x-content-type-options"], "nosniff");
    assert_eq!(generated.headers()["x-frame-options"], "DENY");
    assert!(!generated.headers().contains_key("server"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_https_when_a_certificate_is_configured() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let made = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl is needed to make a test certificate");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let url = format!("sqlite://{}/tls.sqlite3", dir.path().display());
    let server = ServerProcess::spawn(
        &url,
        &[
            ("APP__SERVER__TLS_CERT_PATH", cert.to_str().unwrap()),
            ("APP__SERVER__TLS_KEY_PATH", key.to_str().unwrap()),
        ],
        None,
    );
    let https = server.address.replace("http://", "https://");
    let mut body = String::new();
    for _ in 0..100 {
        let out = Command::new("curl")
            .args(["-sk", &format!("{https}/health/")])
            .output()
            .expect("curl");
        body = String::from_utf8_lossy(&out.stdout).into_owned();
        if body.contains("ok") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(body, r#"{"status":"ok"}"#);
}
