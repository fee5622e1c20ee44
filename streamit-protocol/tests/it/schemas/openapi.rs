//! The OpenAPI 3.1 document for PROTOCOL.md §1: every endpoint with its body, its answer and
//! every documented failure, over the same schemas as the JSON Schema files.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

/// How an endpoint authenticates.
#[derive(Clone, Copy, PartialEq)]
enum Auth {
    None,
    Bearer,
}

/// One operation of the HTTP API.
struct Endpoint {
    method: &'static str,
    path: &'static str,
    summary: &'static str,
    auth: Auth,
    /// Schema name of the JSON body.
    body: Option<&'static str>,
    /// Schema name whose properties are the query parameters.
    query: Option<&'static str>,
    /// Success status and the schema name of its body (`None`: no body).
    success: (u16, Option<&'static str>),
    /// Documented failure statuses; each answers `ErrorBody`.
    failures: &'static [u16],
}

const fn endpoint(
    method: &'static str,
    path: &'static str,
    summary: &'static str,
    auth: Auth,
    body: Option<&'static str>,
    success: (u16, Option<&'static str>),
    failures: &'static [u16],
) -> Endpoint {
    Endpoint {
        method,
        path,
        summary,
        auth,
        body,
        query: None,
        success,
        failures,
    }
}

fn endpoints() -> Vec<Endpoint> {
    use Auth::{Bearer, None as Open};
    vec![
        endpoint(
            "post",
            "/api/auth/register/",
            "Create an account",
            Open,
            Some("RegisterRequest"),
            (201, Some("AuthResponse")),
            &[400, 409, 429],
        ),
        endpoint(
            "post",
            "/api/auth/login/",
            "Log in; the same 401 for an unknown e-mail and a wrong password",
            Open,
            Some("LoginRequest"),
            (200, Some("AuthResponse")),
            &[400, 401, 429],
        ),
        endpoint(
            "post",
            "/api/auth/guest/",
            "Create a guest (a name like Guest-4821 when none is given)",
            Open,
            Some("GuestRequest"),
            (201, Some("AuthResponse")),
            &[400, 429],
        ),
        endpoint(
            "post",
            "/api/auth/refresh/",
            "Spend a refresh token for a new pair; reusing a spent one revokes the whole login",
            Open,
            Some("RefreshRequest"),
            (200, Some("TokenPair")),
            &[400, 401],
        ),
        endpoint(
            "post",
            "/api/auth/logout/",
            "End the login: its tokens stop working and its sockets close with 4001",
            Bearer,
            Some("LogoutRequest"),
            (204, None),
            &[400, 401],
        ),
        endpoint(
            "get",
            "/api/auth/me/",
            "The caller",
            Bearer,
            None,
            (200, Some("User")),
            &[401],
        ),
        endpoint(
            "post",
            "/api/rooms/create/",
            "Create a room; a generated password is shown once",
            Bearer,
            Some("CreateRoomRequest"),
            (201, Some("CreateRoomResponse")),
            &[400, 401, 429],
        ),
        endpoint(
            "post",
            "/api/rooms/join/",
            "Join a room (idempotent; the host is always APPROVED)",
            Bearer,
            Some("JoinRoomRequest"),
            (200, Some("JoinRoomResponse")),
            &[400, 401, 403, 404, 410, 429],
        ),
        endpoint(
            "get",
            "/api/rooms/{code}/",
            "A room with its participants and playback (members only)",
            Bearer,
            None,
            (200, Some("RoomDetail")),
            &[401, 403, 404],
        ),
        endpoint(
            "get",
            "/api/rooms/{code}/audit/",
            "The room's audit log of host actions, oldest first (host only)",
            Bearer,
            None,
            (200, Some("AuditLogResponse")),
            &[401, 403, 404],
        ),
        endpoint(
            "get",
            "/api/rooms/{code}/pending/",
            "Pending join requests (host only)",
            Bearer,
            None,
            (200, Some("PendingResponse")),
            &[401, 403, 404],
        ),
        Endpoint {
            query: Some("ParticipantsQuery"),
            ..endpoint(
                "get",
                "/api/rooms/{code}/participants/",
                "One page of the room's approved members, by user id (members only)",
                Bearer,
                None,
                (200, Some("ParticipantsPage")),
                &[400, 401, 403, 404],
            )
        },
        endpoint(
            "post",
            "/api/rooms/approve/",
            "Approve a pending user (host only)",
            Bearer,
            Some("RoomUserRequest"),
            (200, Some("Participant")),
            &[400, 401, 403, 404],
        ),
        endpoint(
            "post",
            "/api/rooms/deny/",
            "Deny a pending user (host only)",
            Bearer,
            Some("RoomUserRequest"),
            (204, None),
            &[400, 401, 403, 404],
        ),
        endpoint(
            "post",
            "/api/rooms/delete/",
            "Delete a room for good (host only); members get ROOM_DELETED and close 4010",
            Bearer,
            Some("RoomCodeRequest"),
            (200, Some("Room")),
            &[400, 401, 403, 404, 410],
        ),
        Endpoint {
            query: Some("PublicRoomsQuery"),
            ..endpoint(
                "get",
                "/api/rooms/public/",
                "LIVE public rooms whose host is connected, most viewers first",
                Open,
                None,
                (200, Some("PublicRoomsResponse")),
                &[400],
            )
        },
        endpoint(
            "post",
            "/api/media/embed/",
            "The canonical embed URL of a piece of media",
            Open,
            Some("EmbedRequest"),
            (200, Some("EmbedResponse")),
            &[400],
        ),
        endpoint(
            "get",
            "/api/media/providers/",
            "Providers, the kinds they serve and their capabilities",
            Open,
            None,
            (200, Some("ProvidersResponse")),
            &[],
        ),
        endpoint(
            "post",
            "/api/rooms/progress/save/",
            "Save the caller's watch progress (idempotent upsert)",
            Bearer,
            Some("SaveProgressRequest"),
            (200, Some("WatchProgress")),
            &[400, 401, 403, 404],
        ),
        Endpoint {
            query: Some("ProgressQuery"),
            ..endpoint(
                "get",
                "/api/rooms/progress/get/",
                "The caller's progress on one piece of media in a room",
                Bearer,
                None,
                (200, Some("WatchProgress")),
                &[400, 401, 404],
            )
        },
        endpoint(
            "get",
            "/api/rooms/{code}/resume/",
            "The caller's progress on the room's current media",
            Bearer,
            None,
            (200, Some("WatchProgress")),
            &[401, 403, 404],
        ),
        endpoint(
            "get",
            "/api/progress/",
            "All the caller's progress, most recent first",
            Bearer,
            None,
            (200, Some("ProgressListResponse")),
            &[401],
        ),
    ]
}

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

fn parameters(endpoint: &Endpoint, definitions: &BTreeMap<String, Value>) -> Vec<Value> {
    let mut parameters = Vec::new();
    if endpoint.path.contains("{code}") {
        parameters.push(json!({
            "name": "code", "in": "path", "required": true,
            "description": "The room's code, any case.", "schema": schema_ref("RoomCode")
        }));
    }
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

fn operation(endpoint: &Endpoint, definitions: &BTreeMap<String, Value>) -> Value {
    let mut responses = Map::new();
    let (status, body) = endpoint.success;
    let success = match body {
        Some(name) => json!({"description": status_text(status), "content": json_content(name)}),
        None => json!({"description": status_text(status)}),
    };
    responses.insert(status.to_string(), success);
    for &failure in endpoint.failures {
        responses.insert(failure.to_string(), error_response(status_text(failure)));
    }
    responses.insert(
        "default".into(),
        error_response(
            "Any other failure (404 unknown path, 405, 413, 414, 415, 431, 500, 503), always the error body",
        ),
    );
    let mut operation = json!({"summary": endpoint.summary, "responses": responses});
    let parameters = parameters(endpoint, definitions);
    if !parameters.is_empty() {
        operation["parameters"] = Value::Array(parameters);
    }
    if let Some(body) = endpoint.body {
        operation["requestBody"] = json!({"required": true, "content": json_content(body)});
    }
    if endpoint.auth == Auth::Bearer {
        operation["security"] = json!([{"bearer": []}]);
    }
    operation
}

fn operations_paths() -> Value {
    json!({
        "/healthz": {"get": {"summary": "The process is up", "responses": {"200": {"description": "OK"}}}},
        "/readyz": {"get": {"summary": "The database answers", "responses": {
            "200": {"description": "Ready"},
            "503": error_response("A dependency does not answer (UNAVAILABLE)")
        }}},
        "/metrics": {"get": {"summary": "Prometheus metrics", "responses": {
            "200": {"description": "Prometheus text format", "content": {"text/plain": {"schema": {"type": "string"}}}}
        }}},
        "/ws/room/{code}/": {"get": {
            "summary": "The room's WebSocket: frames are ClientMessage and ServerMessage (see docs/protocol.md)",
            "parameters": [
                {"name": "code", "in": "path", "required": true, "schema": schema_ref("RoomCode")},
                {"name": "token", "in": "query", "required": false, "description": "Access token, when no Authorization header can be sent.", "schema": schema_ref("AccessToken")}
            ],
            "responses": {"101": {"description": "Switching Protocols; refusals arrive as close codes (see CloseCode)"}}
        }}
    })
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
    let mut paths = operations_paths();
    for endpoint in endpoints() {
        paths[endpoint.path][endpoint.method] = operation(&endpoint, definitions);
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
