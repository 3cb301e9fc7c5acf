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
    let tags = ["Accounts", "Catalogue", "Booking", "Holds", "Operations"];
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

/// The named schemas of a document, and the schemas its responses use (by name).
fn response_schemas(doc: &Value, v3: bool) -> (Value, BTreeSet<String>) {
    let schemas = if v3 {
        doc["components"]["schemas"].clone()
    } else {
        doc["definitions"].clone()
    };
    let mut used = BTreeSet::new();
    let mut pending: Vec<Value> = Vec::new();
    for item in doc["paths"].as_object().expect("paths").values() {
        for op in item.as_object().expect("path item").values() {
            for response in op["responses"]
                .as_object()
                .into_iter()
                .flat_map(|r| r.values())
            {
                if v3 {
                    for media in response["content"]
                        .as_object()
                        .into_iter()
                        .flat_map(|c| c.values())
                    {
                        pending.push(media["schema"].clone());
                    }
                } else {
                    pending.push(response["schema"].clone());
                }
            }
        }
    }
    while let Some(schema) = pending.pop() {
        if schema.is_null() {
            continue;
        }
        if let Some(name) = schema["$ref"].as_str().and_then(|r| r.rsplit('/').next()) {
            if used.insert(name.to_owned()) {
                pending.push(schemas[name].clone());
            }
        }
        for inner in schema["properties"]
            .as_object()
            .into_iter()
            .flat_map(|p| p.values())
        {
            pending.push(inner.clone());
        }
        pending.extend(schema["allOf"].as_array().cloned().unwrap_or_default());
        pending.push(schema["items"].clone());
    }
    (schemas, used)
}

/// Every optional field of every response schema may be null, as the service sends it
/// (`cancelled_at` before a cancel, `email` when none was given): `x-nullable` in v2,
/// `nullable` in v3. A response checker (schemathesis) would otherwise refuse `null`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_optional_response_field_is_nullable_in_both_documents() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    for (spec, v3, keyword) in [
        ("/api/openapi-v2.json", false, "x-nullable"),
        ("/api/openapi.json", true, "nullable"),
    ] {
        let doc = document(&app, spec).await;
        let (schemas, used) = response_schemas(&doc, v3);
        for (schema, field) in [
            ("BookingResponse", "cancelled_at"),
            ("UserResponse", "email"),
            ("MeResponse", "email"),
        ] {
            assert!(used.contains(schema), "{spec}: {schema} is not a response");
            assert_eq!(
                schemas[schema]["properties"][field][keyword], true,
                "{spec}: {schema}.{field} is not nullable"
            );
        }
        let mut optional = 0;
        for name in &used {
            let schema = &schemas[name.as_str()];
            let required: BTreeSet<&str> = schema["required"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            for (field, property) in schema["properties"].as_object().into_iter().flatten() {
                if !required.contains(field.as_str()) {
                    optional += 1;
                    assert_eq!(
                        property[keyword], true,
                        "{spec}: {name}.{field} is optional but not nullable"
                    );
                }
            }
        }
        assert!(
            optional >= 3,
            "{spec}: only {optional} optional fields found"
        );
        // Request bodies stay as they are: a null there is not always accepted.
        assert!(schemas["SignupRequest"]["properties"]["email"]
            .get(keyword)
            .is_none());
    }
}
