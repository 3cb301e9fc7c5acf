//! Routing over HTTP: operations endpoints, the docs, paths without their trailing slash,
//! and JSON answers for unknown routes and wrong methods.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{
    assert_error, content_type, get_json, id_of, json_body, listed, TestApp, PASSWORD,
};

infra_diesel::on_both_backends!(
    setup = TestApp::spawn;
    health_and_ready_are_200_without_a_token,
    root_redirects_to_swagger_and_the_docs_are_served,
    metrics_are_served_in_prometheus_text_format,
    every_route_answers_the_same_without_its_trailing_slash,
    unknown_route_is_404_json,
    wrong_method_is_405_json,
);

async fn health_and_ready_are_200_without_a_token(app: TestApp) {
    for (path, status) in [
        ("/health/", "ok"),
        ("/health", "ok"),
        ("/ready/", "ready"),
        ("/ready", "ready"),
    ] {
        let response = app.client.get(app.url(path)).send().await.expect("send");
        let body = json_body(response, StatusCode::OK).await;
        assert_eq!(body, json!({ "status": status }), "{path}");
    }
}

async fn root_redirects_to_swagger_and_the_docs_are_served(app: TestApp) {
    let location = |response: &reqwest::Response| {
        response
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    // The root's own route: a 302 to the UI.
    let response = app.client.get(app.url("/")).send().await.expect("send");
    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(location(&response).as_deref(), Some("/swagger/"));

    // The bundled UI sends its bare path on to its index page, with the OpenAPI 3
    // document (the last one mounted) as the spec to show.
    let response = app
        .client
        .get(app.url("/swagger/"))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::PERMANENT_REDIRECT);
    let index = location(&response).expect("location");
    assert_eq!(index, "/swagger/index.html?url=/api/openapi.json");
    let response = app.client.get(app.url(&index)).send().await.expect("send");
    assert_eq!(response.status(), StatusCode::OK, "{index}");
    let html = response.text().await.expect("swagger page");
    assert!(html.to_lowercase().contains("swagger"), "{html}");
    // Served from the binary: no CDN.
    assert!(!html.contains("unpkg.com") && !html.contains("cdn.jsdelivr"));

    let response = app
        .client
        .get(app.url("/api/openapi.json"))
        .send()
        .await
        .expect("send");
    let doc = json_body(response, StatusCode::OK).await;
    assert!(doc["paths"].is_object(), "{doc}");
    assert!(doc["paths"].get("/api/shows/{id}/book/").is_some());
}

async fn metrics_are_served_in_prometheus_text_format(app: TestApp) {
    // One request first, so there is something to count.
    let health = app
        .client
        .get(app.url("/health/"))
        .send()
        .await
        .expect("send");
    assert_eq!(health.status(), StatusCode::OK);
    let response = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::OK, "GET /metrics");
    let content_type = content_type(&response);
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    let text = response.text().await.expect("metrics");
    assert!(
        text.lines().any(|l| l.starts_with("# TYPE ")),
        "not Prometheus text: {text}"
    );
}

async fn every_route_answers_the_same_without_its_trailing_slash(app: TestApp) {
    let (staff, show) = app.show_with_staff(10).await;

    // Accounts.
    let response = app
        .post(
            "/api/signup",
            None,
            json!({"username": "john", "password": PASSWORD}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let login = json_body(
        app.post(
            "/api/login",
            None,
            json!({"username": "john", "password": PASSWORD}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let token = login["access"].as_str().expect("access").to_owned();
    let refreshed = json_body(
        app.post(
            "/api/token/refresh",
            None,
            json!({"refresh": login["refresh"]}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    let logout = app
        .post(
            "/api/logout",
            None,
            json!({"refresh": refreshed["refresh"]}),
        )
        .await;
    assert_eq!(logout.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        get_json(&app, "/api/me", &token).await,
        get_json(&app, "/api/me/", &token).await
    );

    // Catalogue writes.
    let movie = json_body(
        app.post(
            "/api/movies",
            Some(&staff),
            json!({"title": "Heat", "duration_minutes": 170}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let movie = id_of(&movie);
    let patched = app
        .request(
            Method::PATCH,
            &format!("/api/movies/{movie}"),
            Some(&staff),
            Some(json!({"title": "Heat (1995)"})),
        )
        .await;
    assert_eq!(patched.status(), StatusCode::OK);
    let created = json_body(
        app.post(
            "/api/shows",
            Some(&staff),
            json!({
                "movie_id": movie, "screen_name": "Screen 2",
                "start_time": "2099-01-01T10:00:00Z", "total_seats": 3
            }),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let second = id_of(&created);
    let patched = app
        .request(
            Method::PATCH,
            &format!("/api/shows/{second}"),
            Some(&staff),
            Some(json!({"total_seats": 4})),
        )
        .await;
    assert_eq!(patched.status(), StatusCode::OK);

    // Booking.
    let booked = json_body(
        app.post(
            &format!("/api/shows/{show}/book"),
            Some(&token),
            json!({"seat_number": 1}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    let booking = id_of(&booked);
    let booked = app
        .post(
            &format!("/api/shows/{show}/book"),
            Some(&token),
            json!({"seat_numbers": [2, 3]}),
        )
        .await;
    assert_eq!(booked.status(), StatusCode::CREATED);

    // Every GET answers the same with and without the slash, query strings included.
    for path in [
        "/api/movies".to_owned(),
        "/api/movies?limit=1".to_owned(),
        format!("/api/movies/{movie}"),
        format!("/api/movies/{movie}/shows"),
        format!("/api/movies/{movie}/shows?upcoming=true"),
        "/api/shows".to_owned(),
        format!("/api/shows?movie={movie}&limit=1"),
        format!("/api/shows/{show}"),
        format!("/api/shows/{show}/seats"),
        "/api/bookings".to_owned(),
        "/api/bookings?status=CONFIRMED&limit=2".to_owned(),
        "/api/my-bookings".to_owned(),
        format!("/api/bookings/{booking}"),
    ] {
        let slashed = match path.split_once('?') {
            Some((p, q)) => format!("{p}/?{q}"),
            None => format!("{path}/"),
        };
        let without = app.get(&path, &token).await;
        let with = app.get(&slashed, &token).await;
        assert_eq!(without.status(), StatusCode::OK, "{path}");
        let count = |r: &reqwest::Response| r.headers().get("x-total-count").cloned();
        assert_eq!(count(&without), count(&with), "{path}");
        assert_eq!(
            json_body(without, StatusCode::OK).await,
            json_body(with, StatusCode::OK).await,
            "{path}"
        );
    }
    let (_, total) = listed(app.get("/api/bookings", &token).await).await;
    assert_eq!(total, 3);

    // Cancelling, by both methods.
    let cancelled = app
        .request(
            Method::DELETE,
            &format!("/api/bookings/{booking}/cancel"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(cancelled.status(), StatusCode::OK);
    let again = app
        .request(
            Method::POST,
            &format!("/api/bookings/{booking}/cancel"),
            Some(&token),
            None,
        )
        .await;
    assert_error(again, StatusCode::CONFLICT, "already_cancelled").await;

    // Errors are the same too.
    assert_error(
        app.get("/api/shows/999999", &token).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    assert_error(
        app.request(Method::GET, "/api/me", None, None).await,
        StatusCode::UNAUTHORIZED,
        "not_authenticated",
    )
    .await;

    // Deletes.
    let deleted = app
        .request(
            Method::DELETE,
            &format!("/api/shows/{second}"),
            Some(&staff),
            None,
        )
        .await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let other = app.create_movie(&staff, "Ronin").await;
    let deleted = app
        .request(
            Method::DELETE,
            &format!("/api/movies/{other}"),
            Some(&staff),
            None,
        )
        .await;
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
}

async fn unknown_route_is_404_json(app: TestApp) {
    let token = app.user_token("john").await;
    for path in [
        "/nope",
        "/nope/",
        "/api/",
        "/api",
        "/api/nope/",
        "/api/movies/1/nope/",
        "/api/shows/1/seats/extra/",
        "/api/bookings/1/cancel/now/",
        "/swagger/nope.js",
        "/static/app.js",
    ] {
        assert_error(
            app.get(path, &token).await,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
        // The same without a token: an unknown route is not an auth question.
        assert_error(
            app.request(Method::GET, path, None, None).await,
            StatusCode::NOT_FOUND,
            "not_found",
        )
        .await;
    }
    assert_error(
        app.post("/api/nope/", Some(&token), json!({})).await,
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
}

async fn wrong_method_is_405_json(app: TestApp) {
    let token = app.user_token("john").await;
    let cases: &[(Method, &str)] = &[
        (Method::GET, "/api/signup/"),
        (Method::DELETE, "/api/signup/"),
        (Method::GET, "/api/login/"),
        (Method::PUT, "/api/login/"),
        (Method::GET, "/api/token/refresh/"),
        (Method::GET, "/api/logout/"),
        (Method::POST, "/api/me/"),
        (Method::PUT, "/api/movies/"),
        (Method::DELETE, "/api/movies/"),
        (Method::PUT, "/api/movies/1/"),
        (Method::POST, "/api/movies/1/"),
        (Method::POST, "/api/movies/1/shows/"),
        (Method::PUT, "/api/shows/"),
        (Method::POST, "/api/shows/1/"),
        (Method::POST, "/api/shows/1/seats/"),
        (Method::GET, "/api/shows/1/book/"),
        (Method::DELETE, "/api/shows/1/book/"),
        (Method::POST, "/api/bookings/"),
        (Method::DELETE, "/api/my-bookings/"),
        (Method::PATCH, "/api/bookings/1/"),
        (Method::DELETE, "/api/bookings/1/"),
        (Method::GET, "/api/bookings/1/cancel/"),
        (Method::PUT, "/api/bookings/1/cancel/"),
        (Method::POST, "/health/"),
        (Method::DELETE, "/ready/"),
        // Without the trailing slash too.
        (Method::PUT, "/api/movies"),
        (Method::GET, "/api/login"),
    ];
    for (method, path) in cases {
        for auth in [Some(token.as_str()), None] {
            let response = app.request(method.clone(), path, auth, None).await;
            let status = response.status();
            assert_eq!(
                status,
                StatusCode::METHOD_NOT_ALLOWED,
                "{method} {path} (token: {})",
                auth.is_some()
            );
            assert_error(
                response,
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
            )
            .await;
        }
    }
}
