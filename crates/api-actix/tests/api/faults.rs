//! Faults injected under load, against the real binary and database: a server process
//! killed with SIGKILL in the middle of a booking load, and the database connection cut
//! and restored. What must hold: every 201 a client saw is a confirmed booking after the
//! fault, no seat is confirmed twice, the database file is sound, and the service answers
//! 503 (never a 500 or a hang) while the database is away and recovers by itself.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{Backend, ServerProcess, TestApp, TestDatabase};
use crate::operations::{postgres_target, Proxy};

/// Concurrent clients of the booking load, each with its own account and its own seats.
const CLIENTS: usize = 12;
const SEATS: i64 = 10_000;

/// The bookings one client was told were made: booking id -> seat.
type Confirmed = BTreeMap<i64, i64>;

/// One client's load: books its own seats (client `c` owns seats `c + 1 + k × CLIENTS`),
/// one or two at a time, until `stop` is set or the server has been unreachable for a
/// while. Returns every booking a 201 confirmed, and every status it saw.
async fn book_until_stopped(
    client: reqwest::Client,
    address: String,
    token: String,
    show: i64,
    c: usize,
    stop: Arc<AtomicBool>,
) -> (Confirmed, Vec<StatusCode>) {
    let mut confirmed = Confirmed::new();
    let mut statuses = Vec::new();
    let mut k: i64 = 0;
    let mut sent_count = 0;
    let mut unreachable_since: Option<Instant> = None;
    let seat = |k: i64| c as i64 + 1 + k * CLIENTS as i64;
    while !stop.load(Ordering::Relaxed) && seat(k + 1) <= SEATS {
        // Every other request is a two-seat booking: all or none across the fault.
        let pair = sent_count % 2 == 1;
        let body = if !pair {
            json!({"seat_number": seat(k)})
        } else {
            json!({"seat_numbers": [seat(k), seat(k + 1)]})
        };
        let sent = client
            .post(format!("{address}/api/shows/{show}/book/"))
            .bearer_auth(&token)
            .json(&body)
            .timeout(Duration::from_secs(10))
            .send()
            .await;
        match sent {
            Ok(response) => {
                unreachable_since = None;
                let status = response.status();
                statuses.push(status);
                if status == StatusCode::CREATED {
                    let body: Value = response.json().await.expect("booking JSON");
                    let bookings = match body.get("bookings") {
                        Some(many) => many.as_array().expect("bookings").clone(),
                        None => vec![body],
                    };
                    for booking in bookings {
                        confirmed.insert(
                            booking["id"].as_i64().expect("id"),
                            booking["seat_number"].as_i64().expect("seat"),
                        );
                    }
                }
            }
            // The server is gone (killed): nothing was promised for this request.
            Err(_) => {
                let since = *unreachable_since.get_or_insert_with(Instant::now);
                if since.elapsed() > Duration::from_secs(2) {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
        }
        sent_count += 1;
        k += if pair { 2 } else { 1 };
    }
    (confirmed, statuses)
}

/// Every confirmed booking of a user, by id.
async fn confirmed_of(client: &reqwest::Client, address: &str, token: &str) -> Confirmed {
    let mut all = Confirmed::new();
    let mut offset = 0;
    loop {
        let response = client
            .get(format!(
                "{address}/api/bookings/?status=CONFIRMED&limit=500&offset={offset}"
            ))
            .bearer_auth(token)
            .send()
            .await
            .expect("list bookings");
        assert_eq!(response.status(), StatusCode::OK);
        let page: Vec<Value> = response.json().await.expect("bookings JSON");
        if page.is_empty() {
            return all;
        }
        offset += page.len();
        for booking in page {
            assert_eq!(booking["status"], "CONFIRMED");
            all.insert(
                booking["id"].as_i64().expect("id"),
                booking["seat_number"].as_i64().expect("seat"),
            );
        }
    }
}

async fn tokens(app: &TestApp, n: usize) -> Vec<String> {
    let mut tokens = Vec::with_capacity(n);
    for i in 0..n {
        tokens.push(app.user_token(&format!("loader{i}")).await);
    }
    tokens
}

/// Checks what the service answers after the fault against what it promised before.
async fn assert_nothing_promised_was_lost(
    address: &str,
    tokens: &[String],
    promised: &[Confirmed],
    staff: &str,
    show: i64,
) {
    let client = reqwest::Client::new();
    let mut seats_confirmed = BTreeSet::new();
    for (token, promised) in tokens.iter().zip(promised) {
        let stored = confirmed_of(&client, address, token).await;
        for (id, seat) in promised {
            assert_eq!(
                stored.get(id),
                Some(seat),
                "booking {id} (seat {seat}) was answered 201 but is not confirmed"
            );
        }
        for seat in stored.values() {
            assert!(seats_confirmed.insert(*seat), "seat {seat} confirmed twice");
        }
    }
    let map: Vec<Value> = client
        .get(format!("{address}/api/shows/{show}/seats/"))
        .bearer_auth(staff)
        .send()
        .await
        .expect("seat map")
        .json()
        .await
        .expect("seat map JSON");
    let booked: BTreeSet<i64> = map
        .iter()
        .filter(|s| s["status"] == "booked")
        .map(|s| s["seat_number"].as_i64().expect("seat"))
        .collect();
    assert_eq!(
        booked.into_iter().collect::<Vec<_>>(),
        seats_confirmed.into_iter().collect::<Vec<_>>(),
        "the seat map and the users' confirmed bookings disagree"
    );
}

infra_diesel::on_both_backends!(setup = TestDatabase::new; sigkill_mid_load_loses_no_confirmed_booking);

async fn sigkill_mid_load_loses_no_confirmed_booking(db: TestDatabase) {
    let url = db.url.clone();
    let backend = db.backend;
    // The in-process app prepares accounts and the show, then steps aside: only the
    // killed process and its successor serve the load.
    let app = TestApp::spawn_on(db, |_| {}).await;
    let (staff, show) = app.show_with_staff(SEATS).await;
    let tokens = tokens(&app, CLIENTS).await;

    let mut server = ServerProcess::start(&url).await;
    let stop = Arc::new(AtomicBool::new(false));
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(CLIENTS)
        .build()
        .unwrap();
    let load: Vec<_> = tokens
        .iter()
        .enumerate()
        .map(|(c, token)| {
            tokio::spawn(book_until_stopped(
                client.clone(),
                server.address.clone(),
                token.clone(),
                show,
                c,
                stop.clone(),
            ))
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    // SIGKILL: no shutdown, no flush, transactions cut wherever they are.
    server.child.kill().expect("SIGKILL the server");
    server.child.wait().expect("reap the server");
    let mut promised = Vec::new();
    for task in load {
        let (confirmed, statuses) = task.await.expect("load task");
        for status in statuses {
            assert!(
                status == StatusCode::CREATED || status == StatusCode::SERVICE_UNAVAILABLE,
                "unexpected {status} under load"
            );
        }
        promised.push(confirmed);
    }
    let total: usize = promised.iter().map(BTreeMap::len).sum();
    assert!(total > 0, "no booking succeeded before the kill");

    if backend == Backend::Sqlite {
        assert_eq!(app.database().sqlite_integrity_check(), "ok");
    }
    // A new process on the same database serves what the killed one promised, and books.
    let restarted = ServerProcess::start(&url).await;
    assert_nothing_promised_was_lost(&restarted.address, &tokens, &promised, &staff, show).await;
    let after = client
        .post(format!("{}/api/shows/{show}/book/", restarted.address))
        .bearer_auth(&tokens[0])
        .json(&json!({"seat_number": SEATS}))
        .send()
        .await
        .expect("book after restart");
    assert_eq!(after.status(), StatusCode::CREATED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn database_cut_under_load_answers_only_503_and_recovers_within_2s() {
    let db = TestDatabase::new(Backend::Postgres).await;
    let (target, template) = postgres_target(&db.url);
    let proxy = Proxy::start(0, target).await;
    let proxied = template.replace("{port}", &proxy.port.to_string());
    let app = TestApp::spawn_on(db, |s| {
        s.database.url = proxied.clone();
        s.database.pool_timeout_ms = 1000;
    })
    .await;
    let (staff, show) = app.show_with_staff(SEATS).await;
    let tokens = tokens(&app, CLIENTS).await;

    let stop = Arc::new(AtomicBool::new(false));
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(CLIENTS)
        .build()
        .unwrap();
    let load: Vec<_> = tokens
        .iter()
        .enumerate()
        .map(|(c, token)| {
            tokio::spawn(book_until_stopped(
                client.clone(),
                app.address.clone(),
                token.clone(),
                show,
                c,
                stop.clone(),
            ))
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    proxy.cut();
    tokio::time::sleep(Duration::from_secs(2)).await;
    // While the database is away every answer is a quick 503 with Retry-After.
    let during = Instant::now();
    let refused = app
        .book(&tokens[0], show, json!({"seat_number": SEATS}))
        .await;
    assert!(
        during.elapsed() < Duration::from_secs(3),
        "{:?}",
        during.elapsed()
    );
    assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(refused.headers().contains_key("retry-after"));

    let _restored = Proxy::start(proxy.port, proxy.target).await;
    let restored_at = Instant::now();
    let mut recovered = None;
    while restored_at.elapsed() < Duration::from_secs(5) {
        let status = app
            .client
            .get(app.url("/ready/"))
            .send()
            .await
            .unwrap()
            .status();
        if status == StatusCode::OK {
            recovered = Some(restored_at.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let recovered = recovered.expect("/ready/ never came back");
    assert!(
        recovered < Duration::from_secs(2),
        "recovery took {recovered:?}"
    );
    // The load goes on a little after the restore, then stops.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    stop.store(true, Ordering::Relaxed);
    let mut promised = Vec::new();
    let mut after_restore_created = 0;
    let mut refused_during_cut = 0;
    for task in load {
        let (confirmed, statuses) = task.await.expect("load task");
        for status in &statuses {
            assert!(
                *status == StatusCode::CREATED || *status == StatusCode::SERVICE_UNAVAILABLE,
                "unexpected {status} while the database was cut"
            );
        }
        refused_during_cut += statuses
            .iter()
            .filter(|s| **s == StatusCode::SERVICE_UNAVAILABLE)
            .count();
        after_restore_created += statuses
            .iter()
            .rev()
            .take_while(|s| **s == StatusCode::CREATED)
            .count();
        promised.push(confirmed);
    }
    assert!(refused_during_cut > 0, "the load never met the outage");
    assert!(
        after_restore_created > 0,
        "no booking succeeded after the database came back"
    );
    assert_nothing_promised_was_lost(&app.address, &tokens, &promised, &staff, show).await;
}
