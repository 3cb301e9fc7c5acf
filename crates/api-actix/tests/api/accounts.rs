//! Accounts over HTTP: signup, login, token refresh and /api/me/, their shapes, and the
//! rules of usernames and passwords.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{
    assert_error, json_body, key_set, keys, raw, send_together, TestApp, PASSWORD,
};

infra_diesel::on_both_backends!(
    setup = TestApp::spawn;
    signup_201_login_200_refresh_200_me_200_have_the_contract_shapes,
    me_reports_is_staff_true_for_staff_and_false_for_plain_users,
    username_taken_regardless_of_case_is_409_and_keeps_the_first_account,
    invalid_signup_is_400_with_fields_and_creates_no_account,
    empty_email_is_400_while_an_absent_or_null_one_means_none,
    malformed_or_empty_signup_body_is_400_json_and_creates_no_account,
    wrong_password_and_unknown_user_get_the_same_401,
    login_without_username_or_password_is_400_naming_each_missing_field,
    concurrent_signups_of_one_name_in_any_case_create_exactly_one_account,
);

async fn signup_201_login_200_refresh_200_me_200_have_the_contract_shapes(app: TestApp) {
    // Signup: 201 {"id", "username", "email"} and nothing else (no password, no hash).
    let response = app
        .post(
            "/api/signup/",
            None,
            json!({"username": "john", "password": PASSWORD, "email": "john@example.com"}),
        )
        .await;
    let user = json_body(response, StatusCode::CREATED).await;
    assert_eq!(keys(&user), key_set(&["id", "username", "email"]));
    assert!(user["id"].is_i64(), "{user}");
    assert_eq!(user["username"], "john");
    assert_eq!(user["email"], "john@example.com");
    let serialized = user.to_string();
    assert!(!serialized.contains(PASSWORD) && !serialized.contains("argon2"));

    // Without an e-mail: email is null.
    let jane = json_body(app.signup("jane").await, StatusCode::CREATED).await;
    assert!(jane["email"].is_null(), "{jane}");
    assert_ne!(jane["id"], user["id"]);

    // Login: 200 {"access", "refresh", "token_type": "Bearer", "expires_in"}.
    let login = json_body(app.login("john", PASSWORD).await, StatusCode::OK).await;
    assert_eq!(
        keys(&login),
        key_set(&["access", "refresh", "token_type", "expires_in"])
    );
    assert_eq!(login["token_type"], "Bearer");
    assert_eq!(login["expires_in"], app.settings.auth.access_ttl_seconds);
    let access = login["access"].as_str().expect("access").to_owned();
    let refresh = login["refresh"].as_str().expect("refresh").to_owned();
    assert_ne!(access, refresh);

    // Refresh: 200 {"access", "refresh", "token_type", "expires_in"}, a new pair, and
    // the new access token works.
    let refreshed = json_body(
        app.post("/api/token/refresh/", None, json!({ "refresh": refresh }))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(
        keys(&refreshed),
        key_set(&["access", "refresh", "token_type", "expires_in"])
    );
    assert_ne!(refreshed["refresh"], refresh.as_str());
    assert_eq!(refreshed["token_type"], "Bearer");
    assert_eq!(
        refreshed["expires_in"],
        app.settings.auth.access_ttl_seconds
    );
    let new_access = refreshed["access"].as_str().expect("access");

    // Me, with both the login token and the refreshed one.
    for token in [access.as_str(), new_access] {
        let me = json_body(app.get("/api/me/", token).await, StatusCode::OK).await;
        assert_eq!(keys(&me), key_set(&["id", "username", "email", "is_staff"]));
        assert_eq!(me["id"], user["id"]);
        assert_eq!(me["username"], "john");
        assert_eq!(me["email"], "john@example.com");
        assert_eq!(me["is_staff"], false);
    }
}

async fn me_reports_is_staff_true_for_staff_and_false_for_plain_users(app: TestApp) {
    let staff = app.staff_token("admin").await;
    let me = json_body(app.get("/api/me/", &staff).await, StatusCode::OK).await;
    assert_eq!(me["username"], "admin");
    assert_eq!(me["is_staff"], true);

    let john = app.user_token("john").await;
    let me = json_body(app.get("/api/me/", &john).await, StatusCode::OK).await;
    assert_eq!(me["is_staff"], false);
}

async fn username_taken_regardless_of_case_is_409_and_keeps_the_first_account(app: TestApp) {
    assert_eq!(app.signup("john").await.status(), StatusCode::CREATED);
    for other in ["john", "JOHN", "John", "jOhN"] {
        let body = assert_error(
            app.post(
                "/api/signup/",
                None,
                json!({"username": other, "password": "another-password-1"}),
            )
            .await,
            StatusCode::CONFLICT,
            "username_taken",
        )
        .await;
        assert!(!body.to_string().contains("another-password-1"), "{body}");
    }
    // The first account is untouched: its password still works, the others' does not.
    assert_eq!(app.login("john", PASSWORD).await.status(), StatusCode::OK);
    assert_error(
        app.login("john", "another-password-1").await,
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
    )
    .await;
}

async fn invalid_signup_is_400_with_fields_and_creates_no_account(app: TestApp) {
    let cases: Vec<(Value, &[&str])> = vec![
        // A 1-character password.
        (json!({"username": "alice", "password": "x"}), &["password"]),
        // A 7-character password.
        (
            json!({"username": "alice", "password": "abcdef1"}),
            &["password"],
        ),
        // An all-digit password.
        (
            json!({"username": "alice", "password": "1234567890"}),
            &["password"],
        ),
        // The password is the username (whatever its case).
        (
            json!({"username": "alice.smith", "password": "alice.smith"}),
            &["password"],
        ),
        (
            json!({"username": "alice.smith", "password": "ALICE.SMITH"}),
            &["password"],
        ),
        // A password over 128 characters.
        (
            json!({"username": "alice", "password": "p".repeat(129)}),
            &["password"],
        ),
        // A username with spaces, an empty one, one over 150 characters, odd characters.
        (
            json!({"username": "alice smith", "password": PASSWORD}),
            &["username"],
        ),
        (json!({"username": "", "password": PASSWORD}), &["username"]),
        (
            json!({"username": "a".repeat(151), "password": PASSWORD}),
            &["username"],
        ),
        (
            json!({"username": "alice<script>", "password": PASSWORD}),
            &["username"],
        ),
        // A bad e-mail.
        (
            json!({"username": "alice", "password": PASSWORD, "email": "not-an-email"}),
            &["email"],
        ),
        (
            json!({"username": "alice", "password": PASSWORD, "email": "alice@localhost"}),
            &["email"],
        ),
        (
            json!({"username": "alice", "password": PASSWORD, "email": "al ice@example.com"}),
            &["email"],
        ),
        // An empty object: both required fields are reported at once.
        (json!({}), &["username", "password"]),
        // Several problems at once are all reported.
        (
            json!({"username": "a b", "password": "1", "email": "nope"}),
            &["username", "password", "email"],
        ),
    ];
    for (body, fields) in cases {
        let error = assert_error(
            app.post("/api/signup/", None, body.clone()).await,
            StatusCode::BAD_REQUEST,
            "invalid_input",
        )
        .await;
        for field in fields {
            let problems = error["fields"][field].as_array();
            assert!(
                problems.is_some_and(|p| !p.is_empty() && p.iter().all(Value::is_string)),
                "{body} -> {error}: no problem listed for {field}"
            );
        }
        if let Some(password) = body["password"].as_str() {
            assert!(
                password.len() < 4 || !error.to_string().contains(password),
                "the password is echoed back: {error}"
            );
        }
    }
    // None of those created an account: the names are still free.
    for name in ["alice", "alice.smith"] {
        assert_eq!(
            app.signup(name).await.status(),
            StatusCode::CREATED,
            "{name} was taken by a refused signup"
        );
    }
}

async fn empty_email_is_400_while_an_absent_or_null_one_means_none(app: TestApp) {
    for blank in ["", "   "] {
        let error = assert_error(
            app.post(
                "/api/signup/",
                None,
                json!({"username": "alice", "password": PASSWORD, "email": blank}),
            )
            .await,
            StatusCode::BAD_REQUEST,
            "invalid_input",
        )
        .await;
        assert_eq!(keys(&error["fields"]), key_set(&["email"]), "{error}");
    }
    let absent = json_body(app.signup("alice").await, StatusCode::CREATED).await;
    assert!(absent["email"].is_null(), "{absent}");
    let null = app
        .post(
            "/api/signup/",
            None,
            json!({"username": "bob", "password": PASSWORD, "email": null}),
        )
        .await;
    assert!(json_body(null, StatusCode::CREATED).await["email"].is_null());
}

async fn malformed_or_empty_signup_body_is_400_json_and_creates_no_account(app: TestApp) {
    for body in [
        "",
        "{",
        r#"{"username": "alice", "password": "correct-horse-9""#,
        "not json",
        "[]",
        r#"{"username": 5, "password": "correct-horse-9"}"#,
        r#"{"username": "alice", "password": null}"#,
    ] {
        let response = raw(&app, Method::POST, "/api/signup/", None, body).await;
        assert_error(response, StatusCode::BAD_REQUEST, "invalid_json").await;
    }
    assert_eq!(app.signup("alice").await.status(), StatusCode::CREATED);
}

async fn wrong_password_and_unknown_user_get_the_same_401(app: TestApp) {
    assert_eq!(app.signup("john").await.status(), StatusCode::CREATED);
    let wrong = assert_error(
        app.login("john", "wrong-password-1").await,
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
    )
    .await;
    let unknown = assert_error(
        app.login("ghost", "wrong-password-1").await,
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
    )
    .await;
    assert_eq!(wrong, unknown);
    // An invalid username gets that same answer, not a 400 that would tell which
    // part was wrong.
    let odd = assert_error(
        app.login("no such user!", "wrong-password-1").await,
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
    )
    .await;
    assert_eq!(odd, unknown);
    // A request without a password is malformed whoever it names: 400, and it says so.
    let empty = assert_error(
        app.login("john", "").await,
        StatusCode::BAD_REQUEST,
        "invalid_input",
    )
    .await;
    assert!(empty["fields"]["password"].is_array(), "{empty}");
}

async fn login_without_username_or_password_is_400_naming_each_missing_field(app: TestApp) {
    assert_eq!(app.signup("john").await.status(), StatusCode::CREATED);
    let required = json!(["this field is required"]);
    for (body, fields) in [
        (
            json!({}),
            json!({"username": required, "password": required}),
        ),
        (json!({"username": "john"}), json!({"password": required})),
        (json!({"password": PASSWORD}), json!({"username": required})),
        (
            json!({"username": "", "password": ""}),
            json!({"username": required, "password": required}),
        ),
        (
            json!({"username": "john", "password": ""}),
            json!({"password": required}),
        ),
    ] {
        let response = raw(&app, Method::POST, "/api/login/", None, body.to_string()).await;
        let error = assert_error(response, StatusCode::BAD_REQUEST, "invalid_input").await;
        assert_eq!(error["fields"], fields, "{body}");
    }
}

async fn concurrent_signups_of_one_name_in_any_case_create_exactly_one_account(app: TestApp) {
    let names = ["mia", "MIA", "Mia", "mIa", "miA", "MIa", "mia", "MIA"];
    let requests = names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            app.client
                .post(app.url("/api/signup/"))
                .json(&json!({"username": name, "password": format!("password-number-{i}")}))
        })
        .collect();
    let mut created = Vec::new();
    for (status, body) in send_together(requests).await {
        // Which request wins is a real race: each is 201 or 409, and exactly one is 201.
        match status {
            StatusCode::CREATED => created.push(body),
            StatusCode::CONFLICT => assert_eq!(body["code"], "username_taken", "{body}"),
            other => panic!("status {other}: {body}"),
        }
    }
    assert_eq!(created.len(), 1, "created: {created:?}");
    // Exactly one of the passwords sent logs in to that one account.
    let name = created[0]["username"].as_str().expect("username");
    let mut working = 0;
    for i in 0..names.len() {
        let password = format!("password-number-{i}");
        if app.login(name, &password).await.status() == StatusCode::OK {
            working += 1;
        }
    }
    assert_eq!(working, 1);
}
