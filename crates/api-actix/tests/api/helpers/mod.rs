//! The test harness: the real application on a random port, on its own database, and
//! helpers that read as requests; `contract` adds the contract tests' own helpers.

mod contract;
mod idempotency;

use std::net::TcpListener;

use api_actix::settings::Settings;
use api_actix::startup::{store_settings, Application, Storage};
pub use contract::*;
use domain::SignupInput;
pub use idempotency::*;
pub use infra_diesel::testing::{Backend, TestDatabase};
use reqwest::{Method, Response, StatusCode};
use serde_json::{json, Value};

pub const PASSWORD: &str = "correct-horse-9";

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub settings: Settings,
    /// Dropped with the app, so the database lives as long as the test needs it.
    db: TestDatabase,
}

/// Settings for a test app: rate limits off, two workers, the given database.
pub fn test_settings(url: &str) -> Settings {
    let mut settings = Settings::load().expect("load the configuration");
    settings.database.url = url.to_owned();
    settings.database.pool_size = 8;
    settings.server.host = "127.0.0.1".into();
    settings.server.port = 0;
    settings.server.workers = 2;
    settings.server.shutdown_timeout_seconds = 1;
    settings.rate_limit.auth_per_minute = 0;
    settings.rate_limit.bookings_per_minute = 0;
    settings
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> Self {
        let db = TestDatabase::new(backend).await;
        Self::spawn_on(db, |_| {}).await
    }

    /// Spawns on an existing database, after letting the test adjust the settings.
    pub async fn spawn_on(db: TestDatabase, adjust: impl FnOnce(&mut Settings)) -> Self {
        let mut settings = test_settings(&db.url);
        adjust(&mut settings);
        let database =
            infra_diesel::Database::connect(&store_settings(&settings.database)).expect("pool");
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a random port");
        let app = Application::with_listener(settings.clone(), database, listener)
            .expect("build the app");
        let address = format!("http://127.0.0.1:{}", app.port());
        tokio::spawn(app.run());
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(64)
            .build()
            .expect("http client");
        Self {
            address,
            client,
            settings,
            db,
        }
    }

    pub fn database(&self) -> &TestDatabase {
        &self.db
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Response {
        let mut request = self.client.request(method, self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.expect("send the request")
    }

    pub async fn get(&self, path: &str, token: &str) -> Response {
        self.request(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Response {
        self.request(Method::POST, path, token, Some(body)).await
    }

    pub async fn signup(&self, username: &str) -> Response {
        self.post(
            "/api/signup/",
            None,
            json!({"username": username, "password": PASSWORD}),
        )
        .await
    }

    pub async fn login(&self, username: &str, password: &str) -> Response {
        self.post(
            "/api/login/",
            None,
            json!({"username": username, "password": password}),
        )
        .await
    }

    /// Signs a new user up and returns an access token.
    pub async fn user_token(&self, username: &str) -> String {
        assert_eq!(self.signup(username).await.status(), StatusCode::CREATED);
        self.token_of(username).await
    }

    pub async fn token_of(&self, username: &str) -> String {
        let response = self.login(username, PASSWORD).await;
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.expect("login JSON");
        body["access"].as_str().expect("access token").to_owned()
    }

    /// Creates a staff account the way `create-admin` does and returns its token.
    pub async fn staff_token(&self, username: &str) -> String {
        create_staff(&self.settings, username).await;
        self.token_of(username).await
    }

    pub async fn create_movie(&self, staff: &str, title: &str) -> i64 {
        let response = self
            .post(
                "/api/movies/",
                Some(staff),
                json!({"title": title, "duration_minutes": 120}),
            )
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
        response.json::<Value>().await.expect("movie")["id"]
            .as_i64()
            .expect("id")
    }

    /// Creates a show starting `hours_from_now` hours from now (negative: started).
    pub async fn create_show(
        &self,
        staff: &str,
        movie: i64,
        seats: i64,
        hours_from_now: i64,
    ) -> i64 {
        let start = chrono::Utc::now() + chrono::Duration::hours(hours_from_now);
        let response = self
            .post(
                "/api/shows/",
                Some(staff),
                json!({"movie_id": movie, "screen_name": "Screen 1", "start_time": start.to_rfc3339(), "total_seats": seats}),
            )
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
        response.json::<Value>().await.expect("show")["id"]
            .as_i64()
            .expect("id")
    }

    /// A staff token and an upcoming show of `seats` seats.
    pub async fn show_with_staff(&self, seats: i64) -> (String, i64) {
        let staff = self.staff_token("admin").await;
        let movie = self.create_movie(&staff, "Inception").await;
        let show = self.create_show(&staff, movie, seats, 24).await;
        (staff, show)
    }

    pub async fn book(&self, token: &str, show: i64, body: Value) -> Response {
        self.post(&format!("/api/shows/{show}/book/"), Some(token), body)
            .await
    }

    /// Seat numbers with a confirmed booking, from the seat map.
    pub async fn booked_seats(&self, token: &str, show: i64) -> Vec<i64> {
        booked_seats_at(&self.address, token, show).await
    }
}

/// The seat map of `show` as the server at `address` answers it.
pub async fn seat_map_at(address: &str, token: &str, show: i64) -> Value {
    reqwest::Client::new()
        .get(format!("{address}/api/shows/{show}/seats/"))
        .bearer_auth(token)
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("seats")
}

/// Seat numbers with a confirmed booking, from the seat map the server at `address`
/// answers.
pub async fn booked_seats_at(address: &str, token: &str, show: i64) -> Vec<i64> {
    seat_map_at(address, token, show)
        .await
        .as_array()
        .expect("array")
        .iter()
        .filter(|s| s["status"] == "booked")
        .map(|s| s["seat_number"].as_i64().expect("seat"))
        .collect()
}

/// Creates a staff account in the database of `settings`, the way `create-admin` does.
pub async fn create_staff(settings: &Settings, username: &str) {
    let storage = Storage::from(
        infra_diesel::Database::connect(&store_settings(&settings.database)).expect("pool"),
    );
    let (state, _) = storage.wire(settings).expect("state");
    state
        .accounts
        .create_admin(SignupInput {
            username: username.into(),
            password: PASSWORD.into(),
            email: None,
        })
        .await
        .expect("create the admin");
    storage.close();
}

/// The response's `Content-Type`, or "" without one.
pub fn content_type(response: &Response) -> String {
    response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// Sends every request at the same instant (all wait behind one barrier) and returns
/// each answer's status and JSON body (`Null` when it is not JSON), in request order.
pub async fn send_together(requests: Vec<reqwest::RequestBuilder>) -> Vec<(StatusCode, Value)> {
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(requests.len()));
    let handles: Vec<_> = requests
        .into_iter()
        .map(|request| {
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                let response = request.send().await.expect("send the request");
                let status = response.status();
                (status, response.json().await.unwrap_or(Value::Null))
            })
        })
        .collect();
    let mut answers = Vec::with_capacity(handles.len());
    for handle in handles {
        answers.push(handle.await.expect("request task"));
    }
    answers
}

/// Asserts the status and that the body is the contract's JSON error with this code.
pub async fn assert_error(response: Response, status: StatusCode, code: &str) -> Value {
    assert_eq!(response.status(), status, "unexpected status");
    let content_type = content_type(&response);
    assert!(
        content_type.starts_with("application/json"),
        "error is not JSON: {content_type}"
    );
    let body: Value = response.json().await.expect("JSON error body");
    assert_eq!(body["code"], code, "body: {body}");
    assert!(body["error"].is_string(), "body: {body}");
    body
}

/// A real `movie-booking serve` process on a free port, killed when dropped.
pub struct ServerProcess {
    pub child: std::process::Child,
    pub address: String,
}

impl ServerProcess {
    /// Starts the binary with rate limits off, the given extra environment, and stderr
    /// captured to `log` (or inherited).
    pub fn spawn(database_url: &str, env: &[(&str, &str)], log: Option<&std::path::Path>) -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_movie-booking"));
        command
            .arg("serve")
            .env("DATABASE_URL", database_url)
            .env("APP__SERVER__PORT", port.to_string())
            .env("APP__SERVER__WORKERS", "2")
            .env("APP__RATE_LIMIT__AUTH_PER_MINUTE", "0")
            .env("APP__RATE_LIMIT__BOOKINGS_PER_MINUTE", "0")
            .env("APP__LOG__LEVEL", "warn")
            .stdout(std::process::Stdio::null());
        for (key, value) in env {
            command.env(key, value);
        }
        match log {
            Some(path) => command.stderr(std::fs::File::create(path).expect("log file")),
            None => command.stderr(std::process::Stdio::inherit()),
        };
        let child = command.spawn().expect("start movie-booking");
        Self {
            child,
            address: format!("http://127.0.0.1:{port}"),
        }
    }

    pub async fn start(database_url: &str) -> Self {
        let server = Self::spawn(database_url, &[], None);
        server.wait_ready().await;
        server
    }

    pub async fn wait_ready(&self) {
        let client = reqwest::Client::new();
        for _ in 0..150 {
            if let Ok(r) = client.get(format!("{}/ready/", self.address)).send().await {
                if r.status() == StatusCode::OK {
                    return;
                }
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("movie-booking did not become ready at {}", self.address);
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
