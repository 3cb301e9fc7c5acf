//! Ending sessions over HTTP: refresh tokens are rotated, a retired one presented again
//! ends its login, logout ends a login, and access tokens live on until they expire.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{
    assert_error, json_body, key_set, keys, send_together, TestApp, TestDatabase, PASSWORD,
};

infra_diesel::on_both_backends!(
    setup = TestApp::spawn;
    refresh_answers_a_new_pair_and_the_new_refresh_token_works,
    a_retired_refresh_token_is_401_and_ends_its_login_but_no_other,
    logout_is_204_and_ends_the_token_and_every_rotation_of_it,
    logout_of_an_ended_login_is_204_again,
    logout_with_a_token_that_does_not_verify_is_401_and_ends_nothing,
    login_after_logout_starts_a_working_login,
    concurrent_refreshes_of_one_token_give_one_pair_and_end_the_login,
);

/// A signed-up user `name`, logged in: the login's JSON.
async fn logged_in(app: &TestApp, name: &str) -> Value {
    assert_eq!(app.signup(name).await.status(), StatusCode::CREATED);
    login(app, name).await
}

async fn login(app: &TestApp, name: &str) -> Value {
    json_body(app.login(name, PASSWORD).await, StatusCode::OK).await
}

fn refresh_of(tokens: &Value) -> &str {
    tokens["refresh"].as_str().expect("refresh token")
}

fn access_of(tokens: &Value) -> &str {
    tokens["access"].as_str().expect("access token")
}

async fn refresh(app: &TestApp, token: &str) -> reqwest::Response {
    app.post("/api/token/refresh/", None, json!({ "refresh": token }))
        .await
}

async fn logout(app: &TestApp, token: &str) -> reqwest::Response {
    app.post("/api/logout/", None, json!({ "refresh": token }))
        .await
}

/// The refresh token is refused as one whose login has ended or was never recorded.
async fn assert_refresh_refused(app: &TestApp, token: &str) {
    assert_error(
        refresh(app, token).await,
        StatusCode::UNAUTHORIZED,
        "token_invalid",
    )
    .await;
}

async fn assert_logout_204(app: &TestApp, token: &str) {
    let response = logout(app, token).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert!(response.bytes().await.expect("body").is_empty());
}

async fn refresh_answers_a_new_pair_and_the_new_refresh_token_works(app: TestApp) {
    let first = logged_in(&app, "john").await;
    let second = json_body(refresh(&app, refresh_of(&first)).await, StatusCode::OK).await;
    assert_eq!(
        keys(&second),
        key_set(&["access", "refresh", "token_type", "expires_in"])
    );
    assert_eq!(second["token_type"], "Bearer");
    assert_eq!(second["expires_in"], app.settings.auth.access_ttl_seconds);
    assert_ne!(refresh_of(&second), refresh_of(&first));
    // The new refresh token is a refresh token, not an access token.
    assert_error(
        app.get("/api/me/", refresh_of(&second)).await,
        StatusCode::UNAUTHORIZED,
        "token_invalid",
    )
    .await;
    // It rotates in turn, and every access token works.
    let third = json_body(refresh(&app, refresh_of(&second)).await, StatusCode::OK).await;
    for tokens in [&first, &second, &third] {
        let me = json_body(app.get("/api/me/", access_of(tokens)).await, StatusCode::OK).await;
        assert_eq!(me["username"], "john");
    }
}

async fn a_retired_refresh_token_is_401_and_ends_its_login_but_no_other(app: TestApp) {
    let stolen = logged_in(&app, "john").await;
    let laptop = login(&app, "john").await;
    // The owner refreshes; the thief then presents the token the owner had.
    let owner = json_body(refresh(&app, refresh_of(&stolen)).await, StatusCode::OK).await;
    let body = assert_error(
        refresh(&app, refresh_of(&stolen)).await,
        StatusCode::UNAUTHORIZED,
        "token_invalid",
    )
    .await;
    assert!(
        body["error"]
            .as_str()
            .unwrap_or_default()
            .contains("already used"),
        "{body}"
    );
    // Nobody can tell thief from owner: the owner's new token is dead too, and stays so.
    assert_refresh_refused(&app, refresh_of(&owner)).await;
    assert_refresh_refused(&app, refresh_of(&stolen)).await;
    // Another login of the same user is another family: it lives on.
    assert_eq!(
        refresh(&app, refresh_of(&laptop)).await.status(),
        StatusCode::OK
    );
    // Access tokens are not looked up: the owner's stays valid until it expires.
    assert_eq!(
        app.get("/api/me/", access_of(&owner)).await.status(),
        StatusCode::OK
    );
}

async fn logout_is_204_and_ends_the_token_and_every_rotation_of_it(app: TestApp) {
    let first = logged_in(&app, "john").await;
    let phone = login(&app, "john").await;
    let second = json_body(refresh(&app, refresh_of(&first)).await, StatusCode::OK).await;
    let third = json_body(refresh(&app, refresh_of(&second)).await, StatusCode::OK).await;
    assert_logout_204(&app, refresh_of(&third)).await;
    for ended in [&first, &second, &third] {
        assert_refresh_refused(&app, refresh_of(ended)).await;
    }
    // The access tokens already issued live until they expire: no lookup per request.
    for tokens in [&first, &second, &third] {
        assert_eq!(
            app.get("/api/me/", access_of(tokens)).await.status(),
            StatusCode::OK
        );
    }
    // Only that login ended.
    assert_eq!(
        refresh(&app, refresh_of(&phone)).await.status(),
        StatusCode::OK
    );
}

async fn logout_of_an_ended_login_is_204_again(app: TestApp) {
    let first = logged_in(&app, "john").await;
    let second = json_body(refresh(&app, refresh_of(&first)).await, StatusCode::OK).await;
    // With a retired token of the login: the login ends all the same.
    assert_logout_204(&app, refresh_of(&first)).await;
    assert_refresh_refused(&app, refresh_of(&second)).await;
    // Again, with either token.
    assert_logout_204(&app, refresh_of(&second)).await;
    assert_logout_204(&app, refresh_of(&first)).await;
}

async fn logout_with_a_token_that_does_not_verify_is_401_and_ends_nothing(app: TestApp) {
    let tokens = logged_in(&app, "john").await;
    for token in ["", "garbage", access_of(&tokens)] {
        assert_error(
            logout(&app, token).await,
            StatusCode::UNAUTHORIZED,
            "token_invalid",
        )
        .await;
    }
    assert_error(
        app.post("/api/logout/", None, json!({})).await,
        StatusCode::UNAUTHORIZED,
        "token_invalid",
    )
    .await;
    assert_eq!(
        refresh(&app, refresh_of(&tokens)).await.status(),
        StatusCode::OK
    );
}

async fn login_after_logout_starts_a_working_login(app: TestApp) {
    let before = logged_in(&app, "john").await;
    assert_logout_204(&app, refresh_of(&before)).await;
    let after = login(&app, "john").await;
    let rotated = json_body(refresh(&app, refresh_of(&after)).await, StatusCode::OK).await;
    assert_eq!(
        app.get("/api/me/", access_of(&rotated)).await.status(),
        StatusCode::OK
    );
    assert_refresh_refused(&app, refresh_of(&before)).await;
}

async fn concurrent_refreshes_of_one_token_give_one_pair_and_end_the_login(app: TestApp) {
    let tokens = logged_in(&app, "john").await;
    let requests = (0..10)
        .map(|_| {
            app.client
                .post(app.url("/api/token/refresh/"))
                .json(&json!({ "refresh": refresh_of(&tokens) }))
        })
        .collect();
    let answers = send_together(requests).await;
    let winners: Vec<&Value> = answers
        .iter()
        .filter(|(status, _)| *status == StatusCode::OK)
        .map(|(_, body)| body)
        .collect();
    assert_eq!(winners.len(), 1, "{answers:?}");
    assert!(
        answers
            .iter()
            .all(|(status, body)| *status == StatusCode::OK
                || (*status == StatusCode::UNAUTHORIZED && body["code"] == "token_invalid")),
        "{answers:?}"
    );
    // The losers were reuses: the winner's refresh token ended with the login.
    assert_refresh_refused(&app, refresh_of(winners[0])).await;
}

mod short_lived_access {
    //! With 2-second access tokens: a logout leaves them valid only until they expire.

    use super::*;

    async fn spawn(backend: infra_diesel::testing::Backend) -> TestApp {
        TestApp::spawn_on(TestDatabase::new(backend).await, |settings| {
            settings.auth.access_ttl_seconds = 2;
        })
        .await
    }

    infra_diesel::on_both_backends!(
        setup = spawn;
        access_token_outlives_logout_until_it_expires,
    );

    async fn access_token_outlives_logout_until_it_expires(app: TestApp) {
        let tokens = logged_in(&app, "john").await;
        assert_logout_204(&app, refresh_of(&tokens)).await;
        assert_eq!(
            app.get("/api/me/", access_of(&tokens)).await.status(),
            StatusCode::OK
        );
        tokio::time::sleep(std::time::Duration::from_millis(3100)).await;
        assert_error(
            app.get("/api/me/", access_of(&tokens)).await,
            StatusCode::UNAUTHORIZED,
            "token_expired",
        )
        .await;
        // Nor can it be renewed: the login is over.
        assert_refresh_refused(&app, refresh_of(&tokens)).await;
    }
}
