//! HTTP rate limits: logins per IP and per e-mail, sign-ups per IP, room actions per user, all
//! answering 429 `RATE_LIMITED` with `Retry-After`; and `--rate-limits off` lifting them.
//!
//! Buckets hold 3 tokens refilled over a minute, so the 4th request within the test (which takes
//! milliseconds, not the 20 s a token takes to come back) is refused.

use serde_json::json;
use streamit_server::{Config, Switch};
use streamit_testing::backends;

use crate::support::{Answer, PASSWORD, StatusCode, TestServer};

/// Rate limits on, every limit generous, then `tweak`.
fn limited(config: &mut Config, tweak: impl FnOnce(&mut Config)) {
    config.rate_limits = Switch::On;
    config.logins_per_ip_per_minute = 1000;
    config.logins_per_email_per_minute = 1000;
    config.signups_per_ip_per_minute = 1000;
    config.room_actions_per_user_per_minute = 1000;
    tweak(config);
}

/// Checks a 429 with its `Retry-After` (whole seconds, at most the minute) agreeing with
/// `details.retry_after_ms`.
#[track_caller]
fn assert_limited(answer: &Answer) {
    let error = answer.error(StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED");
    let header = answer
        .header("retry-after")
        .unwrap_or_else(|| panic!("{}: no Retry-After", answer.what));
    let seconds: u64 = header
        .parse()
        .unwrap_or_else(|_| panic!("{}: Retry-After {header:?}", answer.what));
    assert!(
        (1..=60).contains(&seconds),
        "{}: Retry-After {seconds}",
        answer.what
    );
    let ms = error["details"]["retry_after_ms"]
        .as_u64()
        .unwrap_or_else(|| panic!("{}: {}", answer.what, answer.text));
    assert!(
        (1..=60_000).contains(&ms),
        "{}: retry_after_ms {ms}",
        answer.what
    );
    assert_eq!(
        seconds,
        ms.div_ceil(1000),
        "{}: header and details agree",
        answer.what
    );
}

async fn login(s: &TestServer, email: &str, password: &str) -> Answer {
    s.post(
        "/api/auth/login/",
        json!({"email": email, "password": password}),
    )
    .await
}

#[tokio::test]
async fn logins_are_limited_per_email() {
    for db in backends().await {
        let s = TestServer::start(&db.url, |c| {
            limited(c, |c| c.logins_per_email_per_minute = 3)
        })
        .await;
        s.register("ada@example.com").await;
        for _ in 0..3 {
            login(&s, "ada@example.com", "wrong password")
                .await
                .error(StatusCode::UNAUTHORIZED, "INVALID_CREDENTIALS");
        }
        // Even the right password waits, and the address is the same in any case.
        assert_limited(&login(&s, "ada@example.com", PASSWORD).await);
        assert_limited(&login(&s, " ADA@Example.com", PASSWORD).await);
        // Unknown addresses are limited alike, and each address has its own bucket.
        for _ in 0..3 {
            login(&s, "nobody@example.com", PASSWORD)
                .await
                .error(StatusCode::UNAUTHORIZED, "INVALID_CREDENTIALS");
        }
        assert_limited(&login(&s, "nobody@example.com", PASSWORD).await);
        login(&s, "bo@example.com", PASSWORD)
            .await
            .error(StatusCode::UNAUTHORIZED, "INVALID_CREDENTIALS");
        s.stop().await;
    }
}

#[tokio::test]
async fn logins_are_limited_per_ip() {
    for db in backends().await {
        let s =
            TestServer::start(&db.url, |c| limited(c, |c| c.logins_per_ip_per_minute = 3)).await;
        s.register("ada@example.com").await;
        login(&s, "ada@example.com", PASSWORD)
            .await
            .ok(StatusCode::OK);
        for email in ["bo@example.com", "cy@example.com"] {
            login(&s, email, PASSWORD)
                .await
                .error(StatusCode::UNAUTHORIZED, "INVALID_CREDENTIALS");
        }
        assert_limited(&login(&s, "ada@example.com", PASSWORD).await);
        assert_limited(&login(&s, "dee@example.com", PASSWORD).await);
        let garbage = s
            .post_raw(None, "/api/auth/login/", Some("application/json"), "{")
            .await;
        assert_limited(&garbage);
        // Other limits are separate buckets.
        s.register("eve@example.com").await;
        s.stop().await;
    }
}

#[tokio::test]
async fn sign_ups_are_limited_per_ip() {
    for db in backends().await {
        let s =
            TestServer::start(&db.url, |c| limited(c, |c| c.signups_per_ip_per_minute = 3)).await;
        s.guest("Ada").await;
        s.guest("Bo").await;
        s.register("cy@example.com").await;
        assert_limited(&s.post("/api/auth/guest/", json!({})).await);
        let body = json!({"email": "dee@example.com", "password": PASSWORD, "display_name": "Dee"});
        assert_limited(&s.post("/api/auth/register/", body).await);
        assert_eq!(
            s.row_counts().await[0],
            ("users", 3),
            "{}: refused sign-ups write nothing",
            s.backend
        );
        login(&s, "cy@example.com", PASSWORD)
            .await
            .ok(StatusCode::OK);
        s.stop().await;
    }
}

#[tokio::test]
async fn room_actions_are_limited_per_user() {
    for db in backends().await {
        let s = TestServer::start(&db.url, |c| {
            limited(c, |c| c.room_actions_per_user_per_minute = 3)
        })
        .await;
        let (ada, bo, cy) = (
            s.guest("Ada").await,
            s.guest("Bo").await,
            s.guest("Cy").await,
        );
        let code = s.room_code(&ada, json!({})).await;
        for _ in 0..3 {
            s.join(&bo, &code).await.ok(StatusCode::OK);
        }
        assert_limited(&s.join(&bo, &code).await);
        assert_limited(&s.post_as(&bo.access, "/api/rooms/create/", json!({})).await);
        s.join(&ada, &code).await.ok(StatusCode::OK);
        s.create_room(&ada, json!({})).await;
        assert_limited(
            &s.post_as(&ada.access, "/api/rooms/create/", json!({}))
                .await,
        );
        s.join(&cy, &code).await.ok(StatusCode::OK);
        // Reading is not limited.
        for _ in 0..5 {
            s.get_as(&bo.access, &format!("/api/rooms/{code}/"))
                .await
                .ok(StatusCode::OK);
        }
        let counts = s.row_counts().await;
        assert_eq!(
            (counts[3], counts[4]),
            (("rooms", 2), ("participants", 4)),
            "{}",
            s.backend
        );
        s.stop().await;
    }
}

#[tokio::test]
async fn limits_off_lifts_every_limit() {
    for db in backends().await {
        let s = TestServer::start(&db.url, |c| {
            c.rate_limits = Switch::Off;
            c.logins_per_ip_per_minute = 1;
            c.logins_per_email_per_minute = 1;
            c.signups_per_ip_per_minute = 1;
            c.room_actions_per_user_per_minute = 1;
        })
        .await;
        let ada = s.register("ada@example.com").await;
        s.guest("Bo").await;
        for _ in 0..3 {
            login(&s, "ada@example.com", PASSWORD)
                .await
                .ok(StatusCode::OK);
            s.create_room(&ada, json!({})).await;
        }
        s.stop().await;
    }
}

/// A guest sign-up whose request claims to come from `forwarded_for`.
async fn guest_via(s: &TestServer, forwarded_for: &str) -> Answer {
    let request = s
        .request(reqwest::Method::POST, "/api/auth/guest/")
        .header("x-forwarded-for", forwarded_for)
        .json(&json!({}));
    s.send(&format!("guest via {forwarded_for}"), request).await
}

/// Behind a trusted proxy, per-IP limits count each client apart; from anyone else the
/// forwarding headers are ignored, so forging them wins no fresh bucket.
#[tokio::test]
async fn per_ip_limits_see_the_client_behind_a_trusted_proxy_only() {
    let db = streamit_testing::sqlite();
    let s = TestServer::start(&db.url, |c| {
        limited(c, |c| c.signups_per_ip_per_minute = 3);
        c.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    })
    .await;
    for _ in 0..3 {
        guest_via(&s, "203.0.113.1")
            .await
            .expect(StatusCode::CREATED);
    }
    assert_limited(&guest_via(&s, "6.6.6.6, 203.0.113.1").await);
    guest_via(&s, "203.0.113.2")
        .await
        .expect(StatusCode::CREATED);
    s.stop().await;

    let db = streamit_testing::sqlite();
    let s = TestServer::start(&db.url, |c| limited(c, |c| c.signups_per_ip_per_minute = 3)).await;
    for n in 1..=3 {
        guest_via(&s, &format!("203.0.113.{n}"))
            .await
            .expect(StatusCode::CREATED);
    }
    assert_limited(&guest_via(&s, "203.0.113.4").await);
    s.stop().await;
}

/// Sockets per user and per address are bounded on a node: one over the limit closes 4029,
/// and a closed socket frees its place.
#[tokio::test]
async fn sockets_per_user_and_per_address_are_bounded() {
    use crate::ws_support::{WsClient, hosted_room, member};

    let db = streamit_testing::sqlite();
    let s = TestServer::start(&db.url, |c| {
        limited(c, |c| {
            c.max_sockets_per_user = 2;
            c.max_sockets_per_ip = 3;
        });
    })
    .await;
    let (host, code) = hosted_room(&s, json!({})).await;
    let (first, _) = WsClient::join(&s, &code, &host, "host 1").await;
    let (_second, _) = WsClient::join(&s, &code, &host, "host 2").await;
    let mut third = WsClient::connect(&s, &code, Some(&host.access), "host 3").await;
    assert_eq!(
        third.expect_close().await,
        4029,
        "a third socket for one user"
    );
    first.disconnect().await;
    let (_again, _) = crate::ws_support::eventually(
        "a closed socket frees its place",
        std::time::Duration::from_secs(10),
        || async {
            let mut socket = WsClient::connect(&s, &code, Some(&host.access), "host again").await;
            match socket.read(std::time::Duration::from_secs(5)).await {
                Ok(snapshot) => Some((socket, snapshot)),
                Err(_) => None,
            }
        },
    )
    .await;
    // The host's two and Ada's first make three from 127.0.0.1: the address is full.
    let ada = member(&s, &code, "Ada").await;
    let (_ada_first, _) = WsClient::join(&s, &code, &ada, "ada 1").await;
    let mut ada_second = WsClient::connect(&s, &code, Some(&ada.access), "ada 2").await;
    assert_eq!(
        ada_second.expect_close().await,
        4029,
        "a fourth socket from one address"
    );
    s.stop().await;
}

/// Standing limits answer 403 `LIMIT_REACHED` naming the limit and its value, and lift when
/// something ends: open rooms per host, pending join requests per room.
#[tokio::test]
async fn open_rooms_per_host_and_pending_requests_per_room_are_bounded() {
    for db in backends().await {
        let s = TestServer::start(&db.url, |c| {
            limited(c, |c| {
                c.max_rooms_per_user = 2;
                c.max_pending_per_room = 2;
            });
        })
        .await;
        let host = s.guest("Host").await;
        let first = s.room_code(&host, json!({})).await;
        let second = s.room_code(&host, json!({"entry_mode": "APPROVAL"})).await;
        let third = s
            .post_as(&host.access, "/api/rooms/create/", json!({}))
            .await;
        third.error(StatusCode::FORBIDDEN, "LIMIT_REACHED");
        third.has("/error/details/limit", "rooms_per_user");
        third.has("/error/details/max", 2);
        s.post_as(&host.access, "/api/rooms/delete/", json!({"code": first}))
            .await
            .ok(StatusCode::OK);
        s.post_as(&host.access, "/api/rooms/create/", json!({}))
            .await
            .ok(StatusCode::CREATED);

        let mut waiting = Vec::new();
        for n in 0..2 {
            let who = s.guest(&format!("Guest {n}")).await;
            s.join(&who, &second).await.has("/status", "PENDING");
            waiting.push(who);
        }
        let late = s.guest("Late").await;
        let refused = s.join(&late, &second).await;
        refused.error(StatusCode::FORBIDDEN, "LIMIT_REACHED");
        refused.has("/error/details/limit", "pending_per_room");
        let body = json!({"code": second, "user_id": waiting[0].user_id});
        s.post_as(&host.access, "/api/rooms/deny/", body)
            .await
            .expect(StatusCode::NO_CONTENT);
        s.join(&late, &second).await.has("/status", "PENDING");
        s.stop().await;
    }
}
