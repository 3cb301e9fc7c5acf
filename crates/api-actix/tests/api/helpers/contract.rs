//! Helpers of the contract tests, on top of `TestApp`: raw bodies, PATCH and DELETE,
//! JSON bodies read with their status checked, and the lists of the contract.

use std::collections::BTreeSet;

use reqwest::{Method, Response, StatusCode};
use serde_json::Value;

use super::TestApp;

/// Reads a JSON body after checking the status (the body is in the failure message).
pub async fn json_body(response: Response, status: StatusCode) -> Value {
    let actual = response.status();
    let text = response.text().await.expect("read the body");
    assert_eq!(actual, status, "body: {text}");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// A list answer: its JSON array and its `X-Total-Count`.
pub async fn listed(response: Response) -> (Vec<Value>, i64) {
    let total = response
        .headers()
        .get("x-total-count")
        .unwrap_or_else(|| panic!("no X-Total-Count on {}", response.url()))
        .to_str()
        .expect("ASCII header")
        .parse()
        .expect("numeric X-Total-Count");
    let body = json_body(response, StatusCode::OK).await;
    let items = body.as_array().expect("a JSON array").clone();
    (items, total)
}

/// Sends `body` verbatim as `application/json`.
pub async fn raw(
    app: &TestApp,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: impl Into<String>,
) -> Response {
    let mut request = app
        .client
        .request(method, app.url(path))
        .header("content-type", "application/json")
        .body(body.into());
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.expect("send the request")
}

pub async fn patch(app: &TestApp, path: &str, token: &str, body: Value) -> Response {
    app.request(Method::PATCH, path, Some(token), Some(body))
        .await
}

pub async fn delete(app: &TestApp, path: &str, token: &str) -> Response {
    app.request(Method::DELETE, path, Some(token), None).await
}

pub async fn get_json(app: &TestApp, path: &str, token: &str) -> Value {
    json_body(app.get(path, token).await, StatusCode::OK).await
}

/// The keys of a JSON object.
pub fn keys(value: &Value) -> BTreeSet<String> {
    value
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {value}"))
        .keys()
        .cloned()
        .collect()
}

pub fn key_set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| (*s).to_owned()).collect()
}

/// The `field` of every item, as i64.
pub fn ints(items: &[Value], field: &str) -> Vec<i64> {
    items
        .iter()
        .map(|item| {
            item[field]
                .as_i64()
                .unwrap_or_else(|| panic!("{field} of {item}"))
        })
        .collect()
}

/// The `field` of every item, as strings.
pub fn strs(items: &[Value], field: &str) -> Vec<String> {
    items
        .iter()
        .map(|item| {
            item[field]
                .as_str()
                .unwrap_or_else(|| panic!("{field} of {item}"))
                .to_owned()
        })
        .collect()
}

pub fn id_of(value: &Value) -> i64 {
    value["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("no id in {value}"))
}

/// The caller's bookings, all of them.
pub async fn bookings_of(app: &TestApp, token: &str) -> Vec<Value> {
    listed(app.get("/api/bookings/?limit=500", token).await)
        .await
        .0
}

/// Creates a show at an exact start time; returns its JSON.
pub async fn show_at(
    app: &TestApp,
    staff: &str,
    movie: i64,
    start_time: &str,
    seats: i64,
) -> Value {
    json_body(
        app.post(
            "/api/shows/",
            Some(staff),
            serde_json::json!({
                "movie_id": movie,
                "screen_name": "Screen 1",
                "start_time": start_time,
                "total_seats": seats
            }),
        )
        .await,
        StatusCode::CREATED,
    )
    .await
}

/// Books seats and returns the booking ids (one for `seat_number`, several for a list).
pub async fn book_ok(app: &TestApp, token: &str, show: i64, body: Value) -> Vec<i64> {
    let value = json_body(app.book(token, show, body).await, StatusCode::CREATED).await;
    match value.get("bookings") {
        Some(list) => ints(list.as_array().expect("bookings array"), "id"),
        None => vec![id_of(&value)],
    }
}
