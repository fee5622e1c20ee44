//! REST shapes and codes (§4, §5): the error body, auth, create, join, the public list.

use serde_json::{Value, json};

use super::Report;
use super::api::{Api, ensure};

/// Room codes: 8 characters of this alphabet (§4).
const CODE_ALPHABET: &str = "ABCDEFGHJKMNPQRSTVWXYZ23456789";

/// A failure body: `{"error": {"code": CODE, "message": …}}` with the status.
fn is_error(answer: &(u16, Value), status: u16, code: &str) -> Result<(), String> {
    let (got, body) = answer;
    ensure(
        *got == status && body["error"]["code"] == code && body["error"]["message"].is_string(),
        || format!("want {status} {code} with the error body, got {got} {body}"),
    )
}

pub(super) async fn check(api: &Api, report: &mut Report) {
    let guest = api.post("/api/auth/guest/", None, &json!({})).await;
    report.rule(
        "5.2",
        "guest answers 201 AuthResponse {user, access, refresh, access_expires_at_ms}",
        guest.and_then(|(status, body)| {
            ensure(
                status == 201
                    && body["user"]["id"].is_string()
                    && body["user"]["is_guest"] == true
                    && body["access"].is_string()
                    && body["refresh"].is_string()
                    && body["access_expires_at_ms"].is_u64(),
                || format!("got {status} {body}"),
            )
        }),
    );
    let unknown = api.get("/api/no-such-path/", None).await;
    report.rule(
        "5",
        "an unknown path answers 404 NOT_FOUND with the error body",
        unknown.and_then(|a| is_error(&a, 404, "NOT_FOUND")),
    );
    let anonymous = api.post("/api/rooms/create/", None, &json!({})).await;
    report.rule(
        "5.2",
        "create without a token answers 401 UNAUTHORIZED",
        anonymous.and_then(|a| is_error(&a, 401, "UNAUTHORIZED")),
    );
    let malformed = api
        .post_raw("/api/auth/guest/", "application/json", "{not json")
        .await;
    report.rule(
        "5",
        "malformed JSON answers 400 INVALID_INPUT",
        malformed.and_then(|a| is_error(&a, 400, "INVALID_INPUT")),
    );
    let wrong_type = api.post_raw("/api/auth/guest/", "text/plain", "{}").await;
    report.rule(
        "5",
        "a body that is not application/json answers 415 UNSUPPORTED_MEDIA_TYPE",
        wrong_type.and_then(|a| is_error(&a, 415, "UNSUPPORTED_MEDIA_TYPE")),
    );
    report.rule(
        "5.2",
        "create answers 201 {room} with an 8-character code, OPEN, public, chat on",
        create(api).await,
    );
    report.rule(
        "5.2",
        "join answers 200 {status: APPROVED, is_host: false, room}; any case of the code",
        join(api).await,
    );
    report.rule(
        "5.2",
        "join of an unknown room answers 404 ROOM_NOT_FOUND",
        join_unknown(api).await,
    );
    let public = api.get("/api/rooms/public/", None).await;
    report.rule(
        "5.2",
        "the public list answers 200 {rooms: [...], total} without a token",
        public.and_then(|(status, body)| {
            ensure(
                status == 200 && body["rooms"].is_array() && body["total"].is_u64(),
                || format!("got {status} {body}"),
            )
        }),
    );
}

async fn create(api: &Api) -> Result<(), String> {
    let host = api.guest().await?;
    let (status, body) = api
        .post("/api/rooms/create/", Some(&host.token), &json!({}))
        .await?;
    let room = &body["room"];
    let code = room["code"].as_str().unwrap_or_default();
    ensure(
        status == 201
            && code.len() == 8
            && code.chars().all(|c| CODE_ALPHABET.contains(c))
            && room["entry_mode"] == "OPEN"
            && room["is_private"] == false
            && room["chat_enabled"] == true
            && room["host"]["id"] == host.id.as_str()
            && body.get("password").is_none(),
        || format!("got {status} {body}"),
    )
}

async fn join(api: &Api) -> Result<(), String> {
    let (_, code) = api.room(json!({})).await?;
    let member = api.guest().await?;
    let lower = code.to_lowercase();
    let (status, body) = api
        .post(
            "/api/rooms/join/",
            Some(&member.token),
            &json!({"code": lower}),
        )
        .await?;
    ensure(
        status == 200
            && body["status"] == "APPROVED"
            && body["is_host"] == false
            && body["room"]["code"] == code.as_str(),
        || format!("got {status} {body}"),
    )
}

async fn join_unknown(api: &Api) -> Result<(), String> {
    let member = api.guest().await?;
    let answer = api
        .post(
            "/api/rooms/join/",
            Some(&member.token),
            &json!({"code": "ZZZZZZZZ"}),
        )
        .await?;
    is_error(&answer, 404, "ROOM_NOT_FOUND")
}
