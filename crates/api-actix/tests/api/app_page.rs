//! The seat picker at `/app/`: its files come from the binary with their content types
//! and cache headers, need no token, and stay out of the OpenAPI document.

use reqwest::StatusCode;

use crate::helpers::{content_type, json_body, Backend, TestApp};

async fn get(app: &TestApp, path: &str) -> reqwest::Response {
    app.client.get(app.url(path)).send().await.expect("send")
}

fn header(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn the_page_and_its_files_are_served_without_a_token() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    for (path, kind, marker) in [
        ("/app/", "text/html", "app.js"),
        ("/app/app.css", "text/css", ".seat"),
        ("/app/app.js", "text/javascript", "EventSource"),
    ] {
        let response = get(&app, path).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert!(content_type(&response).starts_with(kind), "{path}");
        assert_eq!(header(&response, "cache-control"), "no-cache", "{path}");
        assert!(header(&response, "etag").starts_with('"'), "{path}");
        assert!(
            header(&response, "content-security-policy").contains("default-src 'self'"),
            "{path}"
        );
        let body = response.text().await.expect("body");
        assert!(body.contains(marker), "{path}");
        // Served from the binary: nothing is loaded from another origin.
        assert!(
            !body.contains("https://") && !body.contains("http://"),
            "{path}"
        );
    }
}

#[tokio::test]
async fn an_unchanged_file_is_not_sent_again() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let etag = header(&get(&app, "/app/app.js").await, "etag");
    let response = app
        .client
        .get(app.url("/app/app.js"))
        .header("if-none-match", &etag)
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(header(&response, "etag"), etag);
    assert!(response.bytes().await.expect("body").is_empty());

    // Another file's tag is no match.
    let response = app
        .client
        .get(app.url("/app/app.css"))
        .header("if-none-match", &etag)
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_bare_path_redirects_to_the_page() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let response = get(&app, "/app").await;
    assert_eq!(response.status(), StatusCode::PERMANENT_REDIRECT);
    assert_eq!(header(&response, "location"), "/app/");
}

#[tokio::test]
async fn unknown_files_and_other_methods_are_json_errors() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let response = get(&app, "/app/missing.js").await;
    let body = json_body(response, StatusCode::NOT_FOUND).await;
    assert_eq!(body["code"], "not_found");

    let response = app
        .client
        .post(app.url("/app/"))
        .send()
        .await
        .expect("send");
    let body = json_body(response, StatusCode::METHOD_NOT_ALLOWED).await;
    assert_eq!(body["code"], "method_not_allowed");
}

#[tokio::test]
async fn the_page_is_not_in_the_openapi_document() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let doc = json_body(get(&app, "/api/openapi.json").await, StatusCode::OK).await;
    let paths = doc["paths"].as_object().expect("paths");
    assert!(
        paths.keys().all(|path| !path.starts_with("/app")),
        "{paths:?}"
    );
}
