//! The OpenAPI documents as served: paperclip's, completed with what its models cannot
//! say. paperclip leaves an `Option` field out of `required` but has no way to mark it
//! nullable, so a client that checks responses against the document (schemathesis, a
//! generated client) refuses `"cancelled_at": null`. Every property that a schema used by
//! a response leaves out of `required` is therefore marked nullable: `x-nullable: true`
//! in the v2 document, `nullable: true` in v3.

use std::collections::BTreeSet;

use actix_web::body::BoxBody;
use actix_web::dev::{ServiceFactory, ServiceRequest};
use actix_web::web::Bytes;
use actix_web::HttpResponse;
use paperclip::actix::{api_v2_operation, web, App};
use serde_json::{Map, Value};

pub const V2_PATH: &str = "/api/openapi-v2.json";
pub const V3_PATH: &str = "/api/openapi.json";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V2,
    V3,
}

impl Version {
    fn nullable_keyword(self) -> &'static str {
        match self {
            Self::V2 => "x-nullable",
            Self::V3 => "nullable",
        }
    }

    fn schemas(self) -> &'static [&'static str] {
        match self {
            Self::V2 => &["definitions"],
            Self::V3 => &["components", "schemas"],
        }
    }
}

/// Both documents, completed and serialized once.
struct Documents {
    v2: Bytes,
    v3: Bytes,
}

/// Serves the completed documents at [`V2_PATH`] and [`V3_PATH`], from the specs that
/// paperclip built from the routes registered so far. Registered before paperclip's own
/// handlers for the same paths, these are the ones that answer.
pub fn serve<T>(app: App<T>, v2: Value, v3: Value) -> App<T>
where
    T: ServiceFactory<ServiceRequest, Config = (), Error = actix_web::Error, InitError = ()>,
{
    let bytes = |mut doc: Value, version| {
        mark_nullable(&mut doc, version);
        if version == Version::V3 {
            errors_as_json(&mut doc);
        }
        Bytes::from(serde_json::to_vec(&doc).unwrap_or_default())
    };
    app.app_data(web::Data::new(Documents {
        v2: bytes(v2, Version::V2),
        v3: bytes(v3, Version::V3),
    }))
    .service(web::resource(V2_PATH).route(web::get().to(document_v2)))
    .service(web::resource(V3_PATH).route(web::get().to(document_v3)))
}

#[api_v2_operation(skip)]
async fn document_v2(docs: web::Data<Documents>) -> HttpResponse<BoxBody> {
    json(docs.v2.clone())
}

#[api_v2_operation(skip)]
async fn document_v3(docs: web::Data<Documents>) -> HttpResponse<BoxBody> {
    json(docs.v3.clone())
}

fn json(body: Bytes) -> HttpResponse<BoxBody> {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(body)
}

/// Marks nullable every optional property of every schema a response uses, directly or
/// through `$ref`, `items`, `additionalProperties` or `allOf`.
pub fn mark_nullable(doc: &mut Value, version: Version) {
    let mut pending: Vec<String> = Vec::new();
    if let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) {
        for operation in paths.values_mut().filter_map(Value::as_object_mut) {
            for op in operation.values_mut() {
                let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) else {
                    continue;
                };
                for response in responses.values_mut() {
                    for schema in response_schemas(response, version) {
                        visit(schema, version, &mut pending);
                    }
                }
            }
        }
    }
    let mut done = BTreeSet::new();
    while let Some(name) = pending.pop() {
        if !done.insert(name.clone()) {
            continue;
        }
        let mut schemas = Some(&mut *doc);
        for key in version.schemas() {
            schemas = schemas.and_then(|s| s.get_mut(*key));
        }
        if let Some(schema) = schemas.and_then(|s| s.get_mut(&name)) {
            visit(schema, version, &mut pending);
        }
    }
}

/// Gives every error response of the OpenAPI 3 document the JSON media type: paperclip
/// gives it the operation's, and the seat stream's is `text/event-stream`.
fn errors_as_json(doc: &mut Value) {
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for operation in paths.values_mut().filter_map(Value::as_object_mut) {
        for op in operation.values_mut() {
            let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) else {
                continue;
            };
            for (status, response) in responses.iter_mut() {
                if status.starts_with('2') {
                    continue;
                }
                let Some(content) = response.get_mut("content").and_then(Value::as_object_mut)
                else {
                    continue;
                };
                if content.contains_key("application/json") {
                    continue;
                }
                if let Some(media) = content.values().next().cloned() {
                    content.clear();
                    content.insert("application/json".into(), media);
                }
            }
        }
    }
}

/// The schemas of one response: `schema` in v2, `content.<media type>.schema` in v3.
fn response_schemas(response: &mut Value, version: Version) -> Vec<&mut Value> {
    match version {
        Version::V2 => response.get_mut("schema").into_iter().collect(),
        Version::V3 => response
            .get_mut("content")
            .and_then(Value::as_object_mut)
            .map(|content| {
                content
                    .values_mut()
                    .filter_map(|media| media.get_mut("schema"))
                    .collect()
            })
            .unwrap_or_default(),
    }
}

/// Marks the optional properties of `schema` and of the schemas inside it, and queues
/// the named schemas it refers to.
fn visit(schema: &mut Value, version: Version, pending: &mut Vec<String>) {
    let Some(object) = schema.as_object_mut() else {
        return;
    };
    if let Some(name) = object
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.rsplit('/').next())
    {
        pending.push(name.to_owned());
    }
    let required: BTreeSet<String> = object
        .get("required")
        .and_then(Value::as_array)
        .map(|r| {
            r.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    if let Some(properties) = object.get_mut("properties").and_then(Value::as_object_mut) {
        for (name, property) in properties.iter_mut() {
            visit(property, version, pending);
            if !required.contains(name) {
                make_nullable(property, version);
            }
        }
    }
    for key in ["items", "additionalProperties"] {
        if let Some(inner) = object.get_mut(key) {
            visit(inner, version, pending);
        }
    }
    if let Some(all_of) = object.get_mut("allOf").and_then(Value::as_array_mut) {
        for inner in all_of {
            visit(inner, version, pending);
        }
    }
}

/// A `$ref` admits no sibling keywords, so a nullable reference becomes
/// `allOf: [$ref]` beside the keyword.
fn make_nullable(property: &mut Value, version: Version) {
    let Some(object) = property.as_object_mut() else {
        return;
    };
    if let Some(reference) = object.remove("$ref") {
        let mut target = Map::new();
        target.insert("$ref".into(), reference);
        object.insert("allOf".into(), Value::Array(vec![Value::Object(target)]));
    }
    object.insert(version.nullable_keyword().into(), Value::Bool(true));
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn optional_properties_of_response_schemas_become_nullable() {
        let mut doc = json!({
            "paths": {"/a": {"get": {"responses": {"200": {"schema": {"$ref": "#/definitions/A"}}}}}},
            "definitions": {
                "A": {"properties": {
                    "id": {"type": "integer"},
                    "at": {"type": "string"},
                    "b": {"$ref": "#/definitions/B"},
                    "list": {"type": "array", "items": {"$ref": "#/definitions/B"}}
                }, "required": ["id", "list"]},
                "B": {"properties": {"note": {"type": "string"}}},
                "Request": {"properties": {"note": {"type": "string"}}}
            }
        });
        mark_nullable(&mut doc, Version::V2);
        let defs = &doc["definitions"];
        assert_eq!(defs["A"]["properties"]["at"]["x-nullable"], true);
        assert_eq!(defs["A"]["properties"]["id"].get("x-nullable"), None);
        assert_eq!(defs["A"]["properties"]["list"].get("x-nullable"), None);
        assert_eq!(
            defs["A"]["properties"]["b"],
            json!({"allOf": [{"$ref": "#/definitions/B"}], "x-nullable": true})
        );
        assert_eq!(defs["B"]["properties"]["note"]["x-nullable"], true);
        // Only what a response uses: a request body's optional field is left alone.
        assert_eq!(
            defs["Request"]["properties"]["note"].get("x-nullable"),
            None
        );
    }

    #[test]
    fn v3_responses_are_found_under_content() {
        let mut doc = json!({
            "paths": {"/a": {"get": {"responses": {"200": {"content": {"application/json":
                {"schema": {"$ref": "#/components/schemas/A"}}}}}}}},
            "components": {"schemas": {"A": {"properties": {"at": {"type": "string"}}}}}
        });
        mark_nullable(&mut doc, Version::V3);
        assert_eq!(
            doc["components"]["schemas"]["A"]["properties"]["at"]["nullable"],
            true
        );
    }

    #[test]
    fn error_responses_of_a_stream_are_json() {
        let media = |kind: &str| json!({ kind: {"schema": {"type": "string"}} });
        let mut doc = json!({"paths": {"/s": {"get": {"responses": {
            "200": {"content": media("text/event-stream")},
            "401": {"content": media("text/event-stream")},
            "404": {"content": media("application/json")}
        }}}}});
        errors_as_json(&mut doc);
        let responses = &doc["paths"]["/s"]["get"]["responses"];
        assert_eq!(responses["200"]["content"], media("text/event-stream"));
        assert_eq!(responses["401"]["content"], media("application/json"));
        assert_eq!(responses["404"]["content"], media("application/json"));
    }
}
