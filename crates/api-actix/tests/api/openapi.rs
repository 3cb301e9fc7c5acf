//! The OpenAPI document and the router agree: every route the router serves is
//! documented, with a summary, a tag and its security, and every documented route is served.

use std::collections::BTreeSet;

use api_actix::app::ROUTES;
use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::helpers::{Backend, TestApp};

/// Routes anyone may call; the rest need a bearer token.
const PUBLIC: &[&str] = &[
    "/api/signup/",
    "/api/login/",
    "/api/token/refresh/",
    "/api/logout/",
    "/health/",
    "/ready/",
    "/metrics",
];

async fn document(app: &TestApp, path: &str) -> Value {
    let response = app.client.get(app.url(path)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

fn documented_routes(doc: &Value) -> BTreeSet<(String, String)> {
    doc["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .expect("path item")
                .keys()
                .filter(|k| ["get", "post", "put", "patch", "delete"].contains(&k.as_str()))
                .map(move |method| (method.clone(), path.clone()))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn document_lists_exactly_the_routes_the_router_serves() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let router: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    for spec in ["/api/openapi.json", "/api/openapi-v2.json"] {
        let doc = document(&app, spec).await;
        let documented = documented_routes(&doc);
        let missing: Vec<_> = router.difference(&documented).collect();
        let unknown: Vec<_> = documented.difference(&router).collect();
        assert!(
            missing.is_empty(),
            "{spec}: routes missing from the document: {missing:?}"
        );
        assert!(
            unknown.is_empty(),
            "{spec}: documented routes the router does not serve: {unknown:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_in_the_table_is_served() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    for (method, path) in ROUTES {
        let method: Method = method.to_uppercase().parse().unwrap();
        let response = app
            .request(method.clone(), &path.replace("{id}", "1"), None, None)
            .await;
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        // An unknown route gets the router's "no such route"; a known path with an
        // unserved method gets 405. Anything else (401, 400, 404 for id 1, ...) means
        // the route is there.
        assert_ne!(
            status,
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path}: {body}"
        );
        assert_ne!(
            body["error"], "no such route",
            "{method} {path} is not routed"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_has_summary_tag_errors_and_security() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let doc = document(&app, "/api/openapi.json").await;
    let tags = ["Accounts", "Catalogue", "Booking", "Operations"];
    let schemes = doc["components"]["securitySchemes"]
        .as_object()
        .expect("security schemes");
    let (name, scheme) = schemes.iter().next().expect("one scheme");
    assert_eq!(scheme["type"], "apiKey");
    assert_eq!(scheme["in"], "header");
    assert_eq!(scheme["name"], "Authorization");
    for (method, path) in ROUTES {
        let op = &doc["paths"][path][method];
        assert!(
            op["summary"].as_str().is_some_and(|s| !s.is_empty()),
            "{method} {path}: no summary"
        );
        let tag = op["tags"][0].as_str().unwrap_or_default();
        assert!(tags.contains(&tag), "{method} {path}: tag {tag:?}");
        let responses = op["responses"].as_object().expect("responses");
        assert!(
            responses.keys().any(|c| c.starts_with('2')),
            "{method} {path}: no success response"
        );
        assert!(
            responses.contains_key("400"),
            "{method} {path}: errors not documented"
        );
        let secured = op["security"]
            .as_array()
            .is_some_and(|s| s.iter().any(|r| r.get(name).is_some()));
        assert_eq!(secured, !PUBLIC.contains(path), "{method} {path}: security");
    }
}
