//! Garbage in, a 4xx out: wrong types, huge numbers, unicode, binary headers and odd query
//! strings get the error shape, never a 500, never a row; and unicode that is valid is kept.

use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use serde_json::{Value, json};
use streamit_testing::backends;

use crate::support::{Method, StatusCode, TestServer};

/// Every endpoint that reads a JSON body; logout last, since accepting garbage there would
/// end the login the others are called with.
const POST_ENDPOINTS: [&str; 12] = [
    "/api/auth/register/",
    "/api/auth/login/",
    "/api/auth/guest/",
    "/api/auth/refresh/",
    "/api/rooms/create/",
    "/api/rooms/join/",
    "/api/rooms/approve/",
    "/api/rooms/deny/",
    "/api/rooms/delete/",
    "/api/media/embed/",
    "/api/rooms/progress/save/",
    "/api/auth/logout/",
];

/// Every field any body reads.
const FIELDS: [&str; 15] = [
    "email",
    "password",
    "display_name",
    "refresh",
    "name",
    "is_private",
    "entry_mode",
    "chat_enabled",
    "media",
    "options",
    "code",
    "user_id",
    "room_code",
    "position_s",
    "duration_s",
];

/// Bodies no endpoint may accept: JSON that is not an object, and objects with every field
/// of a wrong type or out of range.
fn garbage_bodies() -> Vec<Value> {
    let mut bodies = vec![
        Value::Null,
        json!(true),
        json!("Ada"),
        json!("{}"),
        json!(-0.0),
        json!(1e300),
        json!(u64::MAX),
        json!([{}]),
        json!([]),
        json!([null]),
    ];
    let values = [
        json!(1),
        json!(-1),
        json!(u64::MAX),
        json!(1e300),
        json!(""),
        json!("💥\u{0}\u{202e}"),
        json!("\u{1F600}".repeat(3000)),
        json!([]),
        json!({}),
        json!([null]),
    ];
    for value in values {
        bodies.push(Value::Object(
            FIELDS
                .iter()
                .map(|f| ((*f).to_owned(), value.clone()))
                .collect(),
        ));
    }
    bodies
}

const BAD_GETS: [&str; 11] = [
    "/api/rooms/public/?limit=%F0%9F%92%A5",
    "/api/rooms/public/?limit=%00",
    "/api/rooms/public/?limit=1&limit=2",
    "/api/rooms/public/?offset=%FF%FE",
    "/api/rooms/progress/get/?%ZZ",
    "/api/rooms/progress/get/?room_code=%F0%9F%92%A5&provider=%00&kind=&id=",
    "/api/rooms/progress/get/?room_code[]=ABCD2345",
    "/api/rooms/%F0%9F%92%A5/",
    "/api/rooms/%00%00%00%00%00%00%00%00/",
    "/api/rooms/%EF%BC%A1%EF%BC%A2%EF%BC%A3%EF%BC%A4%EF%BC%92%EF%BC%93%EF%BC%94%EF%BC%95/",
    "/api/rooms/ABCD2345%00/resume/",
];

#[tokio::test]
async fn garbage_gets_a_4xx_and_writes_nothing() {
    for db in backends().await {
        let s = TestServer::start(&db.url, |_| {}).await;
        let ada = s.guest("Ada").await;
        let media = json!({"provider": "youtube", "kind": "video", "id": "x"});
        let code = s
            .room_code(&ada, json!({"entry_mode": "APPROVAL", "media": media}))
            .await;
        let before = s.row_counts().await;

        // Every (endpoint, body) pair is tried; what was accepted is listed at the end.
        let mut accepted = Vec::new();
        for path in POST_ENDPOINTS {
            for body in garbage_bodies() {
                let answer = s.post_as(&ada.access, path, body.clone()).await;
                if answer.status.is_client_error() {
                    answer.assert_error_shape();
                } else {
                    let shown: String = body.to_string().chars().take(60).collect();
                    accepted.push(format!("{} {shown} -> {}", answer.what, answer.status));
                }
            }
        }
        for path in BAD_GETS {
            s.get_as(&ada.access, path).await.assert_error_shape();
        }
        let repeated = format!("/api/rooms/public/?{}", "offset=1&".repeat(500));
        s.get_as(&ada.access, &repeated).await.assert_error_shape();

        // Headers that are not even text.
        let bearer = HeaderValue::from_bytes(b"Bearer \xff\xfe\x80").unwrap();
        let request = s
            .request(Method::GET, "/api/auth/me/")
            .header(AUTHORIZATION, bearer);
        let answer = s
            .send("GET /api/auth/me/ with a binary token", request)
            .await;
        answer.error(StatusCode::UNAUTHORIZED, "UNAUTHORIZED");
        let odd_type = HeaderValue::from_bytes(b"application/\xffjson").unwrap();
        let request = s
            .request(Method::POST, "/api/auth/guest/")
            .header(CONTENT_TYPE, odd_type);
        let answer = s
            .send(
                "POST /api/auth/guest/ with a binary content type",
                request.body("{}"),
            )
            .await;
        answer.error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "UNSUPPORTED_MEDIA_TYPE");

        assert!(
            accepted.is_empty(),
            "[{}] garbage accepted:\n{}",
            s.backend,
            accepted.join("\n")
        );
        assert_eq!(
            s.row_counts().await,
            before,
            "[{}] no garbage left a row",
            s.backend
        );
        s.get_as(&ada.access, "/api/auth/me/")
            .await
            .ok(StatusCode::OK);
        s.get_as(&ada.access, &format!("/api/rooms/{code}/"))
            .await
            .ok(StatusCode::OK);
        s.stop().await;
    }
}

#[tokio::test]
async fn valid_unicode_is_kept_as_sent() {
    for db in backends().await {
        let s = TestServer::start(&db.url, |_| {}).await;
        let password = "pässwörd 🔑 ünïcode";
        let body =
            json!({"email": "Zoë@Exämple.com", "password": password, "display_name": "Zoë 🎬 ملف"});
        let registered = s.post("/api/auth/register/", body).await;
        registered
            .expect(StatusCode::CREATED)
            .has("/user/email", "zoë@exämple.com");
        registered.has("/user/display_name", "Zoë 🎬 ملف");
        let login = json!({"email": "ZOË@EXÄMPLE.COM", "password": password});
        let logged_in = s.post("/api/auth/login/", login).await;
        logged_in
            .expect(StatusCode::OK)
            .has("/user/id", registered.body["user"]["id"].clone());
        let wrong = json!({"email": "zoë@exämple.com", "password": "passwörd 🔑 ünïcode"});
        let answer = s.post("/api/auth/login/", wrong).await;
        answer.error(StatusCode::UNAUTHORIZED, "INVALID_CREDENTIALS");

        let token = logged_in.body["access"].as_str().unwrap();
        let name = "שלום 👋🏽 e\u{301}t\u{e9} 日本";
        let body = json!({"name": name, "entry_mode": "PASSWORD", "password": "🔒秘密"});
        let created = s.post_as(token, "/api/rooms/create/", body).await;
        created.expect(StatusCode::CREATED).has("/room/name", name);
        let code = created.body["room"]["code"].as_str().unwrap();
        let guest = s.guest("Bo").await;
        let body = json!({"code": code, "password": "🔒秘密"});
        s.post_as(&guest.access, "/api/rooms/join/", body)
            .await
            .ok(StatusCode::OK);
        s.stop().await;
    }
}
