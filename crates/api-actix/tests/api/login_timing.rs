//! An unknown user and a wrong password must not be told apart by the clock.

use std::time::{Duration, Instant};

use reqwest::StatusCode;

use crate::helpers::{assert_error, Backend, TestApp};

async fn median_login_time(app: &TestApp, username: &str, password: &str) -> Duration {
    let mut times = Vec::new();
    for _ in 0..7 {
        let started = Instant::now();
        let response = app.login(username, password).await;
        times.push(started.elapsed());
        assert_error(response, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    }
    times.sort();
    times[times.len() / 2]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_user_and_wrong_password_take_about_the_same_time() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    app.user_token("john").await;
    let unknown = median_login_time(&app, "nobody-here", "wrong-password-1").await;
    let wrong = median_login_time(&app, "john", "wrong-password-1").await;
    let ratio = unknown.as_secs_f64() / wrong.as_secs_f64();
    // Both run one argon2id verification; without the dummy hash an unknown user would
    // answer in well under a tenth of the time.
    assert!(
        (0.5..2.0).contains(&ratio),
        "unknown {unknown:?} vs wrong password {wrong:?}"
    );
}
