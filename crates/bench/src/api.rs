//! The service's HTTP API as the bench uses it to prepare its data: accounts, movies,
//! shows. Everything goes through the service, as a client's data would.

use anyhow::{bail, Context};
use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use serde_json::{json, Value};

#[derive(Clone)]
pub struct Api {
    pub client: reqwest::Client,
    pub base: String,
}

/// A signed-up user with a valid access token.
#[derive(Debug, Clone)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub password: String,
    pub token: String,
}

impl Api {
    pub fn new(client: reqwest::Client, base: &str) -> Self {
        Self {
            client,
            base: base.to_owned(),
        }
    }

    /// Sends a JSON request and returns the JSON answer, or an error naming the route,
    /// the status and the body when the status is not `expect`.
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
        expect: StatusCode,
    ) -> anyhow::Result<Value> {
        let mut request = self
            .client
            .request(method.clone(), format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request
            .send()
            .await
            .with_context(|| format!("{method} {path}: no answer"))?;
        let status = response.status();
        let text = response
            .text()
            .await
            .with_context(|| format!("{method} {path}: body cut short"))?;
        if status != expect {
            bail!("{method} {path}: expected {expect}, got {status}: {text}");
        }
        serde_json::from_str(&text).with_context(|| format!("{method} {path}: not JSON: {text}"))
    }

    async fn post(
        &self,
        path: &str,
        token: Option<&str>,
        body: &Value,
        expect: StatusCode,
    ) -> anyhow::Result<Value> {
        self.call(reqwest::Method::POST, path, token, Some(body), expect)
            .await
    }

    /// GET a JSON answer; 200 expected.
    pub async fn get(&self, token: &str, path: &str) -> anyhow::Result<Value> {
        self.call(
            reqwest::Method::GET,
            path,
            Some(token),
            None,
            StatusCode::OK,
        )
        .await
    }

    /// The access token of a username and password.
    pub async fn login(&self, username: &str, password: &str) -> anyhow::Result<String> {
        let answer = self
            .post(
                "/api/login/",
                None,
                &json!({"username": username, "password": password}),
                StatusCode::OK,
            )
            .await?;
        answer["access"]
            .as_str()
            .map(str::to_owned)
            .with_context(|| format!("login answered without an access token: {answer}"))
    }

    /// Signs up; returns the new user's id.
    pub async fn signup(&self, username: &str, password: &str) -> anyhow::Result<i64> {
        let answer = self
            .post(
                "/api/signup/",
                None,
                &json!({"username": username, "password": password}),
                StatusCode::CREATED,
            )
            .await?;
        id_of(&answer)
    }

    /// Signs up and logs in.
    pub async fn new_user(&self, username: String, password: String) -> anyhow::Result<User> {
        let id = self.signup(&username, &password).await?;
        let token = self.login(&username, &password).await?;
        Ok(User {
            id,
            username,
            password,
            token,
        })
    }

    pub async fn create_movie(&self, staff: &str, title: &str) -> anyhow::Result<i64> {
        let answer = self
            .post(
                "/api/movies/",
                Some(staff),
                &json!({"title": title, "description": "Benchmark data", "duration_minutes": 120}),
                StatusCode::CREATED,
            )
            .await?;
        id_of(&answer)
    }

    pub async fn create_show(
        &self,
        staff: &str,
        movie: i64,
        screen: &str,
        start_time: DateTime<Utc>,
        total_seats: i32,
    ) -> anyhow::Result<i64> {
        let answer = self
            .post(
                "/api/shows/",
                Some(staff),
                &json!({
                    "movie_id": movie,
                    "screen_name": screen,
                    "start_time": start_time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    "total_seats": total_seats,
                }),
                StatusCode::CREATED,
            )
            .await?;
        id_of(&answer)
    }

    /// A screen with this layout (the contract's compact form).
    pub async fn create_screen(&self, staff: &str, name: &str, rows: Value) -> anyhow::Result<i64> {
        let answer = self
            .post(
                "/api/screens/",
                Some(staff),
                &json!({"name": name, "rows": rows}),
                StatusCode::CREATED,
            )
            .await?;
        id_of(&answer)
    }

    /// A show on a screen, its layout's categories priced.
    pub async fn create_show_on_screen(
        &self,
        staff: &str,
        movie: i64,
        screen: i64,
        start_time: DateTime<Utc>,
        prices: Value,
    ) -> anyhow::Result<i64> {
        let answer = self
            .post(
                "/api/shows/",
                Some(staff),
                &json!({
                    "movie_id": movie,
                    "screen_id": screen,
                    "start_time": start_time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    "prices": prices,
                }),
                StatusCode::CREATED,
            )
            .await?;
        id_of(&answer)
    }

    /// Books these seats in one request (at most 10, all free).
    pub async fn book(&self, token: &str, show: i64, seats: &[i32]) -> anyhow::Result<()> {
        self.post(
            &format!("/api/shows/{show}/book/"),
            Some(token),
            &json!({ "seat_numbers": seats }),
            StatusCode::CREATED,
        )
        .await
        .map(|_| ())
    }
}

fn id_of(answer: &Value) -> anyhow::Result<i64> {
    answer["id"]
        .as_i64()
        .with_context(|| format!("the answer has no id: {answer}"))
}
