//! An unknown user and a wrong password must not be told apart by the clock.
//!
//! This test shares its process, and the CPU, with whichever other tests run at the same
//! time, and their load comes and goes. So the two kinds of login are timed in pairs, back
//! to back (in alternating order), and compared pair by pair: a burst of load slows both
//! halves of a pair alike, and the median of the ratios ignores the pairs it split.

use std::time::{Duration, Instant};

use reqwest::StatusCode;

use crate::helpers::{assert_error, Backend, TestApp};

const PAIRS: usize = 15;

async fn login_time(app: &TestApp, username: &str, password: &str) -> Duration {
    let started = Instant::now();
    let response = app.login(username, password).await;
    let elapsed = started.elapsed();
    assert_error(response, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    elapsed
}

/// The time of a login as an unknown user divided by that of a wrong password.
async fn ratio(app: &TestApp, unknown_first: bool) -> f64 {
    let (unknown, wrong) = if unknown_first {
        let unknown = login_time(app, "nobody-here", "wrong-password-1").await;
        (unknown, login_time(app, "john", "wrong-password-1").await)
    } else {
        let wrong = login_time(app, "john", "wrong-password-1").await;
        (
            login_time(app, "nobody-here", "wrong-password-1").await,
            wrong,
        )
    };
    unknown.as_secs_f64() / wrong.as_secs_f64()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_user_and_wrong_password_take_about_the_same_time() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    app.user_token("john").await;
    // Untimed: each hashing thread allocates its working memory on its first hash.
    for i in 0..2 {
        ratio(&app, i % 2 == 0).await;
    }
    let mut ratios = Vec::with_capacity(PAIRS);
    for i in 0..PAIRS {
        ratios.push(ratio(&app, i % 2 == 0).await);
    }
    ratios.sort_by(f64::total_cmp);
    let median = ratios[PAIRS / 2];
    // Both run one argon2id verification; without the dummy hash an unknown user would
    // answer in well under a tenth of the time.
    assert!(
        (0.5..2.0).contains(&median),
        "median ratio {median:.2} of unknown user to wrong password; ratios: {ratios:.2?}"
    );
}
