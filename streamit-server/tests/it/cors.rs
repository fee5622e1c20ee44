//! Browsers on other origins (`--cors-origins`): preflights answered and CORS headers given to
//! the listed origins only, never with credentials; WebSocket handshakes from other origins
//! refused; with no list, nothing changes (`OPTIONS` is 405 like any method a path lacks).

use serde_json::json;
use streamit_testing::sqlite;

use crate::support::{Method, StatusCode, TestServer};
use crate::ws_support::{WsClient, hosted_room, ws_url};

const APP: &str = "https://app.test";

async fn preflight(s: &TestServer, origin: &str) -> crate::support::Answer {
    let request = s
        .request(Method::OPTIONS, "/api/rooms/create/")
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization,content-type",
        );
    s.send(&format!("preflight from {origin}"), request).await
}

#[tokio::test]
async fn listed_origins_get_cors_and_others_do_not() {
    let db = sqlite();
    let s = TestServer::start(&db.url, |c| c.cors_origins = vec![APP.to_owned()]).await;
    let allowed = preflight(&s, APP).await;
    assert!(
        allowed.status.is_success(),
        "{}: {}",
        allowed.what,
        allowed.status
    );
    assert_eq!(allowed.header("access-control-allow-origin"), Some(APP));
    let headers = allowed.header("access-control-allow-headers").unwrap_or("");
    assert!(headers.contains("authorization") && headers.contains("content-type"));
    assert!(allowed.header("access-control-allow-credentials").is_none());
    let other = preflight(&s, "https://evil.test").await;
    assert!(other.header("access-control-allow-origin").is_none());

    let request = s
        .request(Method::GET, "/api/rooms/public/")
        .header("origin", APP);
    let answer = s.send("listing from the app", request).await;
    answer.ok(StatusCode::OK);
    assert_eq!(answer.header("access-control-allow-origin"), Some(APP));

    // A socket from another origin is refused before the upgrade; from the app, or from a
    // client that is no browser (no Origin), it opens.
    let (host, code) = hosted_room(&s, json!({})).await;
    let url = ws_url(&s, &code, Some(&host.access)).replace("ws://", "http://");
    let refused = s
        .client
        .get(&url)
        .header("origin", "https://evil.test")
        .header("connection", "Upgrade")
        .header("upgrade", "websocket")
        .header("sec-websocket-version", "13")
        .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["code"], "ORIGIN_NOT_ALLOWED");
    let (_socket, _) = WsClient::join(&s, &code, &host, "no origin").await;
    s.stop().await;
}

#[tokio::test]
async fn without_a_list_nothing_changes() {
    let db = sqlite();
    let s = TestServer::start(&db.url, |_| {}).await;
    let answer = preflight(&s, APP).await;
    answer.error(StatusCode::METHOD_NOT_ALLOWED, "METHOD_NOT_ALLOWED");
    assert!(answer.header("access-control-allow-origin").is_none());
    s.stop().await;
}
