//! Concurrency over HTTP: many clients, each with an account, POST the same seat at the
//! same instant against the real server and database.

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{send_together, Backend, ServerProcess, TestApp, TestDatabase};

const CLIENTS: usize = 50;

infra_diesel::on_both_backends!(setup = TestApp::spawn; fifty_clients_one_seat_exactly_one_wins);

/// Sends one booking per (address, token) at the same instant; returns the statuses.
async fn race(addresses: &[String], tokens: &[String], show: i64, seat: i64) -> Vec<StatusCode> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()
        .unwrap();
    let requests = tokens
        .iter()
        .enumerate()
        .map(|(i, token)| {
            let url = format!("{}/api/shows/{show}/book/", addresses[i % addresses.len()]);
            client
                .post(url)
                .bearer_auth(token)
                .json(&json!({"seat_number": seat}))
        })
        .collect();
    send_together(requests)
        .await
        .into_iter()
        .map(|(status, _)| status)
        .collect()
}

async fn tokens(app: &TestApp, n: usize) -> Vec<String> {
    let mut tokens = Vec::with_capacity(n);
    for i in 0..n {
        tokens.push(app.user_token(&format!("client{i}")).await);
    }
    tokens
}

fn assert_one_winner(statuses: &[StatusCode]) {
    let created = statuses
        .iter()
        .filter(|s| **s == StatusCode::CREATED)
        .count();
    let conflicts = statuses
        .iter()
        .filter(|s| **s == StatusCode::CONFLICT)
        .count();
    assert_eq!(
        (created, conflicts),
        (1, statuses.len() - 1),
        "statuses: {statuses:?}"
    );
}

async fn fifty_clients_one_seat_exactly_one_wins(app: TestApp) {
    let (staff, show) = app.show_with_staff(100).await;
    let tokens = tokens(&app, CLIENTS).await;
    let statuses = race(std::slice::from_ref(&app.address), &tokens, show, 42).await;
    assert_one_winner(&statuses);
    assert_eq!(app.booked_seats(&staff, show).await, vec![42]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_two_server_processes_one_seat_exactly_one_wins() {
    let db = TestDatabase::new(Backend::Postgres).await;
    let url = db.url.clone();
    // The in-process app prepares accounts and the show; two processes take the race.
    let app = TestApp::spawn_on(db, |_| {}).await;
    let (staff, show) = app.show_with_staff(100).await;
    let tokens = tokens(&app, CLIENTS).await;
    let (a, b) = (
        ServerProcess::start(&url).await,
        ServerProcess::start(&url).await,
    );
    let statuses = race(&[a.address.clone(), b.address.clone()], &tokens, show, 7).await;
    assert_one_winner(&statuses);
    assert_eq!(app.booked_seats(&staff, show).await, vec![7]);
}
