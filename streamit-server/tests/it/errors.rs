//! HTTP-level failures (PROTOCOL §1): 404 unknown path, 405 with `Allow`, 413 over 64 KiB,
//! 415 non-JSON, 400 malformed JSON and empty bodies, all in the one error shape; input of every
//! wrong kind is in `garbage`.

mod garbage;

use serde_json::json;
use streamit_protocol::v1::MAX_BODY_BYTES;
use streamit_testing::backends;

use crate::support::{Account, Method, StatusCode, TestServer};

const JSON: Option<&str> = Some("application/json");

/// A guest body of exactly `size` bytes: valid JSON padded with spaces.
fn guest_body(size: usize) -> Vec<u8> {
    let mut body = br#"{"display_name": "Padded"}"#.to_vec();
    body.resize(size, b' ');
    body
}

/// A raw chunked request (no `Content-Length`) for a guest body of `size` bytes.
fn chunked_guest(size: usize) -> Vec<u8> {
    let mut request = b"POST /api/auth/guest/ HTTP/1.1\r\nHost: test\r\n\
        Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        .to_vec();
    for chunk in guest_body(size).chunks(8 * 1024) {
        request.extend(format!("{:x}\r\n", chunk.len()).as_bytes());
        request.extend(chunk);
        request.extend(b"\r\n");
    }
    request.extend(b"0\r\n\r\n");
    request
}

#[tokio::test]
async fn unknown_paths_are_404() {
    for db in backends().await {
        let s = TestServer::start(&db.url, |_| {}).await;
        let paths = [
            "/",
            "/api",
            "/api/",
            "/api/nope/",
            "/api/auth/",
            "/api/auth/me/extra/",
            "/api//auth/me/",
            "/API/auth/me/",
            "/api/auth/me//",
            "/healthz/x",
            "/api/rooms/progress/",
        ];
        for path in paths {
            s.get(path).await.error(StatusCode::NOT_FOUND, "NOT_FOUND");
        }
        s.post("/api/nope/", json!({}))
            .await
            .error(StatusCode::NOT_FOUND, "NOT_FOUND");
        s.stop().await;
    }
}

#[tokio::test]
async fn wrong_methods_are_405_with_allow() {
    for db in backends().await {
        let s = TestServer::start(&db.url, |_| {}).await;
        let cases = [
            (Method::GET, "/api/auth/login/", "POST"),
            (Method::PUT, "/api/auth/register/", "POST"),
            (Method::POST, "/api/auth/me/", "GET, HEAD"),
            (Method::GET, "/api/rooms/join/", "POST"),
            (Method::DELETE, "/api/rooms/ABCD2345/", "GET, HEAD"),
            (Method::POST, "/api/rooms/abcd2345/pending/", "GET, HEAD"),
            (Method::POST, "/api/rooms/public/", "GET, HEAD"),
            (Method::GET, "/api/media/embed/", "POST"),
            (Method::POST, "/api/media/providers/", "GET, HEAD"),
            (Method::PATCH, "/api/progress/", "GET, HEAD"),
            (Method::OPTIONS, "/api/rooms/progress/save/", "POST"),
            (Method::POST, "/healthz", "GET, HEAD"),
            (Method::DELETE, "/readyz", "GET, HEAD"),
        ];
        for (method, path, allow) in cases {
            let answer = s.call(method, path, None, None).await;
            answer.error(StatusCode::METHOD_NOT_ALLOWED, "METHOD_NOT_ALLOWED");
            assert_eq!(
                answer.header("allow"),
                Some(allow),
                "{}: Allow",
                answer.what
            );
        }
        s.stop().await;
    }
}

/// What hyper refuses before any service runs still answers the JSON error shape.
#[tokio::test]
async fn requests_refused_unparsed_answer_the_error_shape() {
    let db = streamit_testing::sqlite();
    let s = TestServer::start(&db.url, |_| {}).await;
    let long_uri = format!(
        "GET /healthz?x={} HTTP/1.1\r\nHost: x\r\n\r\n",
        "a".repeat(70_000)
    );
    let headers: String = (0..120).map(|i| format!("X-Field-{i}: 1\r\n")).collect();
    let many_headers = format!("GET /healthz HTTP/1.1\r\nHost: x\r\n{headers}\r\n");
    let cases = [
        (long_uri, 414, "URI_TOO_LONG"),
        (many_headers, 431, "HEADERS_TOO_LARGE"),
        ("NOT HTTP AT ALL\r\n\r\n".to_owned(), 400, "INVALID_INPUT"),
    ];
    for (request, status, code) in cases {
        let (answered, text) = s.raw(request.into_bytes()).await;
        assert_eq!(answered, status, "{text}");
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.contains("content-type: application/json"), "{head}");
        let body: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(body["error"]["code"], code, "{body}");
    }
    s.stop().await;
}

/// HEAD answers as GET does, without the body.
#[tokio::test]
async fn head_answers_like_get_without_a_body() {
    let db = streamit_testing::sqlite();
    let s = TestServer::start(&db.url, |_| {}).await;
    for path in ["/healthz", "/api/rooms/public/", "/api/media/providers/"] {
        let get = s.call(Method::GET, path, None, None).await;
        let head = s.call(Method::HEAD, path, None, None).await;
        assert_eq!(head.status, StatusCode::OK, "{}", head.what);
        assert_eq!(head.text, "", "{}: no body", head.what);
        assert_eq!(
            head.header("content-type"),
            get.header("content-type"),
            "{}",
            head.what
        );
    }
    let refused = s.call(Method::HEAD, "/api/auth/me/", None, None).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "{}", refused.what);
    assert_eq!(refused.text, "");
    s.stop().await;
}

#[tokio::test]
async fn bodies_over_64_kib_are_413() {
    for db in backends().await {
        let s = TestServer::start(&db.url, |_| {}).await;
        let guest = "/api/auth/guest/";
        let at_limit = s
            .post_raw(None, guest, JSON, guest_body(MAX_BODY_BYTES))
            .await;
        at_limit
            .expect(StatusCode::CREATED)
            .has("/user/display_name", "Padded");
        let users = s.row_counts().await[0];
        for size in [MAX_BODY_BYTES + 1, 4 * MAX_BODY_BYTES] {
            let over = s.post_raw(None, guest, JSON, guest_body(size)).await;
            over.error(StatusCode::PAYLOAD_TOO_LARGE, "PAYLOAD_TOO_LARGE");
        }
        let body = guest_body(MAX_BODY_BYTES + 1);
        let over = s
            .post_raw(Some("not-a-token"), "/api/rooms/create/", JSON, body)
            .await;
        over.error(StatusCode::PAYLOAD_TOO_LARGE, "PAYLOAD_TOO_LARGE");

        // Chunked, so no Content-Length announces the size: the limit still holds.
        let (status, text) = s.raw(chunked_guest(MAX_BODY_BYTES + 8 * 1024)).await;
        assert_eq!(
            status, 413,
            "[{}] chunked over the limit: {text}",
            s.backend
        );
        assert!(
            text.contains(r#""code":"PAYLOAD_TOO_LARGE""#),
            "[{}] {text}",
            s.backend
        );
        assert_eq!(
            s.row_counts().await[0],
            users,
            "[{}] nothing written",
            s.backend
        );
        let (status, text) = s.raw(chunked_guest(100)).await;
        assert_eq!(status, 201, "[{}] small chunked body: {text}", s.backend);
        s.stop().await;
    }
}

#[tokio::test]
async fn non_json_bodies_are_415() {
    for db in backends().await {
        let s = TestServer::start(&db.url, |_| {}).await;
        let body = r#"{"display_name": "Ada"}"#;
        let refused = [
            None,
            Some("text/plain"),
            Some("application/x-www-form-urlencoded"),
            Some("multipart/form-data; boundary=x"),
            Some("application/jsonx"),
            Some("json"),
            Some(""),
        ];
        for content_type in refused {
            let answer = s
                .post_raw(None, "/api/auth/guest/", content_type, body)
                .await;
            answer.error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "UNSUPPORTED_MEDIA_TYPE");
        }
        let accepted = [
            "application/json; charset=utf-8",
            "Application/JSON",
            "application/json;charset=UTF-8",
        ];
        for content_type in accepted {
            let answer = s
                .post_raw(None, "/api/auth/guest/", Some(content_type), body)
                .await;
            answer.ok(StatusCode::CREATED);
        }
        s.stop().await;
    }
}

#[tokio::test]
async fn malformed_json_is_400() {
    for db in backends().await {
        let s = TestServer::start(&db.url, |_| {}).await;
        let bodies: Vec<Vec<u8>> = vec![
            b"{".to_vec(),
            b"}".to_vec(),
            br#"{"display_name": "Ada"} trailing"#.to_vec(),
            br#"{"display_name": "Ada"}{}"#.to_vec(),
            br#"{"display_name": "Ada",}"#.to_vec(),
            br#"{'display_name': 'Ada'}"#.to_vec(),
            br#"{display_name: "Ada"}"#.to_vec(),
            br#"{"display_name": "\ud800"}"#.to_vec(),
            br#"{"display_name": "\x"}"#.to_vec(),
            b"{\"display_name\": \"\xff\xfe\"}".to_vec(),
            b"\xef\xbb\xbf{}".to_vec(),
            b"\0".to_vec(),
            b"NaN".to_vec(),
            b"+1".to_vec(),
            b"01".to_vec(),
            b"1e999".to_vec(),
            format!("{}{}", "[".repeat(20_000), "]".repeat(20_000)).into_bytes(),
        ];
        for body in bodies {
            let shown = String::from_utf8_lossy(&body[..body.len().min(40)]).into_owned();
            let answer = s.post_raw(None, "/api/auth/guest/", JSON, body).await;
            assert_eq!(
                answer.status, 400,
                "{} {shown:?}: {}",
                answer.what, answer.text
            );
            answer.error(StatusCode::BAD_REQUEST, "INVALID_INPUT");
        }
        assert_eq!(
            s.row_counts().await[0],
            ("users", 0),
            "{}: nothing written",
            s.backend
        );
        // Deep nesting, even inside an unknown field, is refused cleanly: no stack overflow, no row.
        let deep = format!("{}1{}", r#"{"a":"#.repeat(10_000), "}".repeat(10_000));
        s.post_raw(None, "/api/auth/guest/", JSON, deep)
            .await
            .error(StatusCode::BAD_REQUEST, "INVALID_INPUT");
        assert_eq!(
            s.row_counts().await[0],
            ("users", 0),
            "{}: nothing written",
            s.backend
        );
        s.stop().await;
    }
}

/// Forward compatibility: a newer client's fields are ignored whatever their shape, arrays too;
/// an array where this version expects an object or a value is still refused.
#[tokio::test]
async fn unknown_fields_of_any_shape_are_ignored() {
    for db in backends().await {
        let s = TestServer::start(&db.url, |_| {}).await;
        let body = json!({"display_name": "Ada", "badges": ["new", 1], "prefs": {"langs": []}});
        let ada = s.post("/api/auth/guest/", body).await;
        assert_eq!(ada.ok(StatusCode::CREATED)["user"]["display_name"], "Ada");
        let ada = Account::from(ada.ok(StatusCode::CREATED));
        let body = json!({"name": "Movie night", "queue": [{"id": "1"}], "media": {
            "provider": "vidking", "kind": "movie", "id": "1", "chapters": [1, 2]}});
        s.post_as(&ada.access, "/api/rooms/create/", body)
            .await
            .ok(StatusCode::CREATED);
        let body = json!({"name": ["Movie night"]});
        let refused = s.post_as(&ada.access, "/api/rooms/create/", body).await;
        refused.error(StatusCode::BAD_REQUEST, "INVALID_INPUT");
        refused.has("/error/details/field", "name");
        s.stop().await;
    }
}

#[tokio::test]
async fn empty_bodies_name_the_missing_field() {
    for db in backends().await {
        let s = TestServer::start(&db.url, |_| {}).await;
        let ada = s.guest("Ada").await;
        let token = Some(ada.access.as_str());
        let cases = [
            ("/api/auth/register/", None, "email"),
            ("/api/auth/login/", None, "email"),
            ("/api/auth/refresh/", None, "refresh"),
            ("/api/rooms/join/", token, "code"),
            ("/api/rooms/approve/", token, "code"),
            ("/api/rooms/deny/", token, "code"),
            ("/api/rooms/delete/", token, "code"),
            ("/api/media/embed/", None, "media"),
            ("/api/rooms/progress/save/", token, "room_code"),
        ];
        for (path, token, field) in cases {
            for (content_type, body) in [(None, ""), (JSON, ""), (JSON, "  \r\n")] {
                let answer = s.post_raw(token, path, content_type, body).await;
                answer.expect(StatusCode::BAD_REQUEST).assert_error_shape();
                answer.has("/error/details/field", field);
            }
        }
        // Endpoints whose fields are all optional take an empty body.
        s.post_raw(token, "/api/rooms/create/", None, "")
            .await
            .ok(StatusCode::CREATED);
        s.post_raw(None, "/api/auth/guest/", None, "")
            .await
            .ok(StatusCode::CREATED);
        s.stop().await;
    }
}

/// A body that stops half-way is refused once it has paused for 10 s, in the error shape,
/// and its connection is freed (tower-http's body timeout): it cannot hold a connection open.
#[tokio::test]
async fn a_body_that_stops_half_way_is_refused() {
    let db = streamit_testing::sqlite();
    let s = TestServer::start(&db.url, |_| {}).await;
    let request = "POST /api/auth/guest/ HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
                   Content-Length: 100\r\nConnection: close\r\n\r\n{\"display_na";
    let (status, text) = s.raw(request.as_bytes().to_vec()).await;
    assert_eq!(status, 400, "{text}");
    let (_, body) = text.split_once("\r\n\r\n").unwrap();
    let body: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(body["error"]["code"], "INVALID_INPUT", "{body}");
    assert!(
        body["error"]["details"]["reason"]
            .as_str()
            .is_some_and(|reason| reason.contains("timed out") || reason.contains("timeout")),
        "{body}"
    );
    s.stop().await;
}
