//! The OpenAPI 3.1 document for PROTOCOL.md §1: every endpoint the protocol crate declares
//! (`v1::endpoints`), with its body, its answer and every documented failure, over the same
//! schemas as the JSON Schema files.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};
use streamit_protocol::v1::endpoints::{Answer, Auth, Metadata, Operation};

fn status_text(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        400 => "Bad input (INVALID_INPUT, INVALID_MEDIA); details.field names the field",
        401 => "Not authenticated (UNAUTHORIZED, INVALID_CREDENTIALS, INVALID_TOKEN)",
        403 => "Refused (NOT_A_MEMBER, NOT_HOST, WRONG_PASSWORD, BANNED, LIMIT_REACHED)",
        404 => "Not found (ROOM_NOT_FOUND, NOT_PENDING, NO_PROGRESS)",
        409 => "Conflict (EMAIL_TAKEN)",
        410 => "The room expired or was deleted (ROOM_CLOSED)",
        429 => "Too many requests (RATE_LIMITED); see the Retry-After header",
        503 => "The database does not answer (UNAVAILABLE); retry later",
        _ => "Error",
    }
}

fn schema_ref(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

fn json_content(name: &str) -> Value {
    json!({"application/json": {"schema": schema_ref(name)}})
}

fn error_response(description: &str) -> Value {
    json!({"description": description, "content": json_content("ErrorBody")})
}

fn parameters(endpoint: &Metadata, definitions: &BTreeMap<String, Value>) -> Vec<Value> {
    let mut parameters: Vec<Value> = endpoint
        .path_params
        .iter()
        .map(|&name| {
            assert_eq!(
                name, "code",
                "a new kind of path parameter needs its schema here"
            );
            json!({
                "name": name, "in": "path", "required": true,
                "description": "The room's code, any case.", "schema": schema_ref("RoomCode")
            })
        })
        .collect();
    let Some(query) = endpoint.query else {
        return parameters;
    };
    let schema = &definitions[query];
    let required = schema["required"].as_array().cloned().unwrap_or_default();
    for (name, property) in schema["properties"]
        .as_object()
        .expect("a query type has properties")
    {
        let mut property = property.clone();
        let description = property
            .as_object_mut()
            .and_then(|p| p.remove("description"));
        parameters.push(json!({
            "name": name, "in": "query",
            "required": required.contains(&Value::String(name.clone())),
            "description": description.unwrap_or(Value::Null),
            "schema": property
        }));
    }
    parameters
}

fn operation(endpoint: &Metadata, definitions: &BTreeMap<String, Value>) -> Value {
    let mut responses = Map::new();
    let description = status_text(endpoint.status);
    let mut success = match endpoint.answer {
        Answer::Json(name) => json!({"description": description, "content": json_content(name)}),
        Answer::Text => json!({
            "description": description,
            "content": {"text/plain": {"schema": {"type": "string"}}}
        }),
        Answer::Empty => json!({"description": description}),
    };
    let links = links(endpoint);
    if !links.is_empty() {
        success["links"] = Value::Object(links);
    }
    responses.insert(endpoint.status.to_string(), success);
    for &failure in endpoint.failures {
        responses.insert(failure.to_string(), error_response(status_text(failure)));
    }
    responses.insert(
        "default".into(),
        error_response(
            "Any other failure (404 unknown path, 405, 413, 414, 415, 431, 500, 503), always the error body",
        ),
    );
    let mut operation = json!({
        "operationId": endpoint.name,
        "summary": endpoint.summary,
        "responses": responses
    });
    let parameters = parameters(endpoint, definitions);
    if !parameters.is_empty() {
        operation["parameters"] = Value::Array(parameters);
    }
    if let Some(body) = endpoint.body {
        // An empty body reads as `{}`, so a body whose fields are all optional may be left out.
        let required = definitions[body]["required"]
            .as_array()
            .is_some_and(|fields| !fields.is_empty());
        operation["requestBody"] = json!({"required": required, "content": json_content(body)});
    }
    if endpoint.auth == Auth::Bearer {
        operation["security"] = json!([{"bearer": []}]);
    }
    operation
}

/// OpenAPI links from an answer that names a room (`room.code`) to every endpoint whose path
/// takes a room code, so a stateful client (schemathesis) can follow a room it created or
/// joined instead of guessing codes.
fn links(endpoint: &Metadata) -> Map<String, Value> {
    let Answer::Json("CreateRoomResponse" | "JoinRoomResponse") = endpoint.answer else {
        return Map::new();
    };
    Operation::ALL
        .iter()
        .map(|operation| operation.metadata())
        .filter(|target| target.path_params == ["code"])
        .map(|target| {
            (
                target.name.to_owned(),
                json!({
                    "operationId": target.name,
                    "parameters": {"code": "$response.body#/room/code"}
                }),
            )
        })
        .collect()
}

/// The room's WebSocket, which no endpoint declaration covers (it is an upgrade).
fn websocket_path() -> Value {
    json!({"get": {
        "operationId": "room_socket",
        "summary": "The room's WebSocket: frames are ClientMessage and ServerMessage (see docs/protocol.md)",
        "parameters": [
            {"name": "code", "in": "path", "required": true, "schema": schema_ref("RoomCode")},
            {"name": "token", "in": "query", "required": false, "description": "Access token, when no Authorization header can be sent.", "schema": schema_ref("AccessToken")},
            {"name": "since_seq", "in": "query", "required": false, "description": "Coming back: the last seq held, to be replayed what came after (with epoch; protocol 6.1).", "schema": {"type": "integer", "minimum": 0}},
            {"name": "epoch", "in": "query", "required": false, "description": "Coming back: the epoch of the snapshot or ROOM_RESUMED since_seq counts in.", "schema": {"type": "string"}}
        ],
        "responses": {
            "101": {"description": "Switching Protocols; refusals after the upgrade arrive as close codes (see CloseCode)"},
            "default": error_response("Refused before the upgrade: 400 INVALID_INPUT when the request is no WebSocket upgrade, 403 ORIGIN_NOT_ALLOWED, 405, 503; always the error body")
        }
    }})
}

/// Rewrites `#/$defs/X` references (the schemas') to `#/components/schemas/X`, leaving those
/// already there alone.
fn to_components(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(key, value)| match (key.as_str(), value) {
                    ("$ref", Value::String(reference)) => {
                        match reference.strip_prefix("#/$defs/") {
                            Some(name) => {
                                (key, Value::String(format!("#/components/schemas/{name}")))
                            }
                            // Already a component reference (the operations' own).
                            None => (key, Value::String(reference)),
                        }
                    }
                    (_, value) => (key, to_components(value)),
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(to_components).collect()),
        other => other,
    }
}

pub(super) fn document(definitions: &BTreeMap<String, Value>) -> Value {
    let mut paths = json!({"/ws/room/{code}/": websocket_path()});
    for endpoint in Operation::ALL.iter().map(|operation| operation.metadata()) {
        let method = endpoint.method.as_str().to_ascii_lowercase();
        paths[endpoint.path][method] = operation(endpoint, definitions);
    }
    let schemas: Map<String, Value> = definitions.clone().into_iter().collect();
    to_components(json!({
        "openapi": "3.1.0",
        "info": {
            "title": "StreamIt",
            "version": "1",
            "description": "The StreamIt watch-together HTTP API, protocol v1. Every failure answers ErrorBody."
        },
        "servers": [{"url": "http://127.0.0.1:8000"}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}
        }
    }))
}
