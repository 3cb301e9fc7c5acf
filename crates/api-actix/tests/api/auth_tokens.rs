//! Bearer tokens over HTTP: what is refused, with a JSON 401 every time. Tokens are
//! minted here with the app's own secret, so only the one property under test is wrong.

use chrono::Utc;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use reqwest::{Method, StatusCode};
use secrecy::ExposeSecret;
use serde::Serialize;
use serde_json::{json, Value};

use crate::helpers::{assert_error, json_body, TestApp, PASSWORD};

infra_diesel::on_both_backends!(
    setup = TestApp::spawn;
    every_protected_route_without_a_token_is_401_json,
    malformed_authorization_headers_are_401_json,
    a_token_minted_with_the_app_secret_is_accepted,
    expired_access_token_is_401_token_expired,
    token_signed_with_another_key_is_401,
    token_with_alg_none_or_another_algorithm_is_401,
    token_with_a_tampered_payload_is_401,
    refresh_token_is_refused_as_an_access_token,
    access_token_is_refused_at_token_refresh,
    expired_or_garbage_refresh_token_is_401,
    access_token_of_a_user_that_no_longer_exists_is_401_not_500,
);

#[derive(Serialize, Clone)]
struct Claims {
    sub: String,
    username: String,
    is_staff: bool,
    typ: String,
    iat: i64,
    exp: i64,
    jti: String,
    /// A refresh token's family.
    #[serde(skip_serializing_if = "Option::is_none")]
    fam: Option<String>,
}

impl Claims {
    /// Valid claims of `typ` for the user `me` (the JSON of /api/me/).
    fn of(me: &Value, typ: &str) -> Self {
        let now = Utc::now().timestamp();
        Self {
            sub: me["id"].as_i64().expect("id").to_string(),
            username: me["username"].as_str().expect("username").to_owned(),
            is_staff: me["is_staff"].as_bool().expect("is_staff"),
            typ: typ.to_owned(),
            iat: now,
            exp: now + 600,
            jti: uuid::Uuid::new_v4().simple().to_string(),
            fam: (typ == "refresh").then(|| uuid::Uuid::new_v4().simple().to_string()),
        }
    }
}

fn sign(claims: &Claims, algorithm: Algorithm, key: &[u8]) -> String {
    encode(
        &Header::new(algorithm),
        claims,
        &EncodingKey::from_secret(key),
    )
    .expect("sign a token")
}

fn app_key(app: &TestApp) -> Vec<u8> {
    app.settings
        .auth
        .jwt_secret
        .expose_secret()
        .as_bytes()
        .to_vec()
}

/// base64url without padding, as JWT segments are.
fn b64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, &b)| acc | (u32::from(b) << (16 - 8 * i)));
        let chars = chunk.len() + 1;
        for i in 0..chars {
            out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

/// A signed-up user `john`: his /api/me/ JSON and his login JSON.
async fn john(app: &TestApp) -> (Value, Value) {
    assert_eq!(app.signup("john").await.status(), StatusCode::CREATED);
    let login = json_body(app.login("john", PASSWORD).await, StatusCode::OK).await;
    let access = login["access"].as_str().expect("access");
    let me = json_body(app.get("/api/me/", access).await, StatusCode::OK).await;
    (me, login)
}

/// The token is refused on a read route and on a staff-only write route.
async fn assert_refused(app: &TestApp, token: &str, code: &str) {
    assert_error(
        app.get("/api/me/", token).await,
        StatusCode::UNAUTHORIZED,
        code,
    )
    .await;
    assert_error(
        app.get("/api/bookings/", token).await,
        StatusCode::UNAUTHORIZED,
        code,
    )
    .await;
    assert_error(
        app.post(
            "/api/movies/",
            Some(token),
            json!({"title": "Forged", "duration_minutes": 90}),
        )
        .await,
        StatusCode::UNAUTHORIZED,
        code,
    )
    .await;
}

async fn every_protected_route_without_a_token_is_401_json(app: TestApp) {
    let routes: &[(Method, &str)] = &[
        (Method::GET, "/api/me/"),
        (Method::GET, "/api/movies/"),
        (Method::POST, "/api/movies/"),
        (Method::GET, "/api/movies/1/"),
        (Method::PATCH, "/api/movies/1/"),
        (Method::DELETE, "/api/movies/1/"),
        (Method::GET, "/api/movies/1/shows/"),
        (Method::GET, "/api/shows/"),
        (Method::POST, "/api/shows/"),
        (Method::GET, "/api/shows/1/"),
        (Method::PATCH, "/api/shows/1/"),
        (Method::DELETE, "/api/shows/1/"),
        (Method::GET, "/api/shows/1/seats/"),
        (Method::POST, "/api/shows/1/book/"),
        (Method::GET, "/api/bookings/"),
        (Method::GET, "/api/my-bookings/"),
        (Method::GET, "/api/bookings/1/"),
        (Method::DELETE, "/api/bookings/1/cancel/"),
        (Method::POST, "/api/bookings/1/cancel/"),
    ];
    for (method, path) in routes {
        let body = matches!(*method, Method::POST | Method::PATCH).then(|| json!({}));
        let response = app.request(method.clone(), path, None, body).await;
        assert_eq!(
            response
                .headers()
                .get("www-authenticate")
                .map(|v| v.as_bytes()),
            Some(&b"Bearer"[..]),
            "{method} {path}"
        );
        assert_error(response, StatusCode::UNAUTHORIZED, "not_authenticated").await;
    }
}

async fn malformed_authorization_headers_are_401_json(app: TestApp) {
    let (_, login) = john(&app).await;
    let access = login["access"].as_str().expect("access");
    // None of these is `Bearer <token>`, so no token is even read: not_authenticated.
    // "Bearer " is "Bearer" by the time it arrives: a header value's trailing
    // whitespace is not part of it (RFC 9110 5.5), and the HTTP parser strips it.
    for header in [
        format!("Basic {access}"),
        access.to_owned(),
        "Bearer".to_owned(),
        "Bearer ".to_owned(),
        "Token abc".to_owned(),
    ] {
        let response = app
            .client
            .get(app.url("/api/me/"))
            .header("authorization", &header)
            .send()
            .await
            .expect("send");
        let status = response.status();
        assert_eq!(status, StatusCode::UNAUTHORIZED, "Authorization: {header}");
        let body = json_body(response, status).await;
        assert_eq!(body["code"], "not_authenticated", "{header}: {body}");
    }
    for garbage in ["abc", "a.b.c", "x.y", "...."] {
        assert_refused(&app, garbage, "token_invalid").await;
    }
    // The right scheme in any case is accepted.
    let response = app
        .client
        .get(app.url("/api/me/"))
        .header("authorization", format!("bearer {access}"))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::OK);
}

async fn a_token_minted_with_the_app_secret_is_accepted(app: TestApp) {
    // The control for the refusals below: the minting itself is right.
    let (me, _) = john(&app).await;
    let token = sign(&Claims::of(&me, "access"), Algorithm::HS256, &app_key(&app));
    let body = json_body(app.get("/api/me/", &token).await, StatusCode::OK).await;
    assert_eq!(body, me);
}

async fn expired_access_token_is_401_token_expired(app: TestApp) {
    let (me, _) = john(&app).await;
    let now = Utc::now().timestamp();
    let mut claims = Claims::of(&me, "access");
    claims.iat = now - 3600;
    claims.exp = now - 60;
    let token = sign(&claims, Algorithm::HS256, &app_key(&app));
    assert_refused(&app, &token, "token_expired").await;
    // Expired a second ago: no leeway.
    claims.exp = now - 1;
    let token = sign(&claims, Algorithm::HS256, &app_key(&app));
    assert_refused(&app, &token, "token_expired").await;
}

async fn token_signed_with_another_key_is_401(app: TestApp) {
    let (me, _) = john(&app).await;
    let mut claims = Claims::of(&me, "access");
    let token = sign(
        &claims,
        Algorithm::HS256,
        b"another-key-another-key-another-key",
    );
    assert_refused(&app, &token, "token_invalid").await;
    // Claiming staff with a foreign key changes nothing.
    claims.is_staff = true;
    let token = sign(
        &claims,
        Algorithm::HS256,
        b"another-key-another-key-another-key",
    );
    assert_refused(&app, &token, "token_invalid").await;
    // An empty key neither.
    let token = sign(&claims, Algorithm::HS256, b"");
    assert_refused(&app, &token, "token_invalid").await;
}

async fn token_with_alg_none_or_another_algorithm_is_401(app: TestApp) {
    let (me, _) = john(&app).await;
    let mut claims = Claims::of(&me, "access");
    claims.is_staff = true;
    let payload = b64url(&serde_json::to_vec(&claims).expect("claims JSON"));
    for header in [
        json!({"alg": "none", "typ": "JWT"}),
        json!({"alg": "None", "typ": "JWT"}),
        json!({"alg": "NONE"}),
        json!({"typ": "JWT"}),
    ] {
        let header = b64url(header.to_string().as_bytes());
        let unsigned = format!("{header}.{payload}.");
        assert_refused(&app, &unsigned, "token_invalid").await;
        let no_dot = format!("{header}.{payload}");
        assert_refused(&app, &no_dot, "token_invalid").await;
    }
    // HS512 with the right secret is still not the algorithm the service signs with.
    let token = sign(&claims, Algorithm::HS512, &app_key(&app));
    assert_refused(&app, &token, "token_invalid").await;
}

async fn token_with_a_tampered_payload_is_401(app: TestApp) {
    let (me, login) = john(&app).await;
    let access = login["access"].as_str().expect("access");
    let parts: Vec<&str> = access.split('.').collect();
    assert_eq!(parts.len(), 3, "a JWT has three segments");
    let (header, signature) = (parts[0], parts[2]);
    let mut claims = Claims::of(&me, "access");
    claims.is_staff = true;
    let payload = b64url(&serde_json::to_vec(&claims).expect("claims JSON"));
    let forged = format!("{header}.{payload}.{signature}");
    assert_refused(&app, &forged, "token_invalid").await;
}

async fn refresh_token_is_refused_as_an_access_token(app: TestApp) {
    let (me, login) = john(&app).await;
    let refresh = login["refresh"].as_str().expect("refresh");
    assert_refused(&app, refresh, "token_invalid").await;
    // Also one minted with a `typ` that is neither.
    let token = sign(&Claims::of(&me, "id"), Algorithm::HS256, &app_key(&app));
    assert_refused(&app, &token, "token_invalid").await;
}

async fn access_token_is_refused_at_token_refresh(app: TestApp) {
    let (me, login) = john(&app).await;
    let access = login["access"].as_str().expect("access");
    assert_error(
        app.post("/api/token/refresh/", None, json!({ "refresh": access }))
            .await,
        StatusCode::UNAUTHORIZED,
        "token_invalid",
    )
    .await;
    let minted = sign(&Claims::of(&me, "access"), Algorithm::HS256, &app_key(&app));
    assert_error(
        app.post("/api/token/refresh/", None, json!({ "refresh": minted }))
            .await,
        StatusCode::UNAUTHORIZED,
        "token_invalid",
    )
    .await;
    // While the refresh token of the same login works.
    let refresh = login["refresh"].as_str().expect("refresh");
    let response = app
        .post("/api/token/refresh/", None, json!({ "refresh": refresh }))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
}

async fn expired_or_garbage_refresh_token_is_401(app: TestApp) {
    let (me, _) = john(&app).await;
    let now = Utc::now().timestamp();
    let mut claims = Claims::of(&me, "refresh");
    claims.iat = now - 100_000;
    claims.exp = now - 60;
    let expired = sign(&claims, Algorithm::HS256, &app_key(&app));
    assert_error(
        app.post("/api/token/refresh/", None, json!({ "refresh": expired }))
            .await,
        StatusCode::UNAUTHORIZED,
        "token_expired",
    )
    .await;
    let foreign = sign(
        &Claims::of(&me, "refresh"),
        Algorithm::HS256,
        b"another-key-another-key-another-key",
    );
    for token in [foreign.as_str(), "garbage", ""] {
        assert_error(
            app.post("/api/token/refresh/", None, json!({ "refresh": token }))
                .await,
            StatusCode::UNAUTHORIZED,
            "token_invalid",
        )
        .await;
    }
    // A well-signed refresh token the service never issued has no record: refused.
    let unrecorded = sign(
        &Claims::of(&me, "refresh"),
        Algorithm::HS256,
        &app_key(&app),
    );
    // So is one without a family, as refresh tokens were signed before logout existed.
    let mut legacy = Claims::of(&me, "refresh");
    legacy.fam = None;
    let legacy = sign(&legacy, Algorithm::HS256, &app_key(&app));
    for token in [unrecorded, legacy] {
        assert_error(
            app.post("/api/token/refresh/", None, json!({ "refresh": token }))
                .await,
            StatusCode::UNAUTHORIZED,
            "token_invalid",
        )
        .await;
    }
    // A refresh token of a user that does not exist (a well-signed one) is refused too.
    let mut ghost = Claims::of(&me, "refresh");
    ghost.sub = "987654".into();
    let ghost = sign(&ghost, Algorithm::HS256, &app_key(&app));
    assert_error(
        app.post("/api/token/refresh/", None, json!({ "refresh": ghost }))
            .await,
        StatusCode::UNAUTHORIZED,
        "token_invalid",
    )
    .await;
}

async fn access_token_of_a_user_that_no_longer_exists_is_401_not_500(app: TestApp) {
    // A well-signed token whose user is gone (deleted, or a database reset while the
    // secret stayed): refused like any invalid token, on every route that acts as the user.
    let (_, show) = app.show_with_staff(10).await;
    let (me, _) = john(&app).await;
    let mut claims = Claims::of(&me, "access");
    claims.sub = "987654".into();
    claims.username = "ghost".into();
    let ghost = sign(&claims, Algorithm::HS256, &app_key(&app));
    assert_error(
        app.get("/api/me/", &ghost).await,
        StatusCode::UNAUTHORIZED,
        "token_invalid",
    )
    .await;
    for body in [json!({"seat_number": 1}), json!({"seat_numbers": [2, 3]})] {
        assert_error(
            app.book(&ghost, show, body).await,
            StatusCode::UNAUTHORIZED,
            "token_invalid",
        )
        .await;
    }
    assert!(app.booked_seats(&ghost, show).await.is_empty());
}
