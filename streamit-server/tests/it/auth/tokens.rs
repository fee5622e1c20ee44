//! Tokens: refresh rotation (the old token is spent; replaying it revokes the whole login),
//! logout (the access token stops at once), and what an access token must be to be accepted.

use serde_json::json;
use streamit_protocol::v1::{AuthResponse, TokenPair};
use streamit_testing::backends;

use super::claims;
use crate::support::{PASSWORD, StatusCode, TestServer, keys};

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_whole_login() {
    for db in backends().await {
        let s = TestServer::start(&db.url, |_| {}).await;
        let first = s.register("ada@example.com").await;
        let other_login = s
            .post(
                "/api/auth/login/",
                json!({"email": "ada@example.com", "password": PASSWORD}),
            )
            .await;
        let other: AuthResponse = other_login.parse();

        let rotated = s
            .post("/api/auth/refresh/", json!({"refresh": first.refresh}))
            .await;
        assert_eq!(
            keys(rotated.ok(StatusCode::OK)),
            ["access", "access_expires_at_ms", "refresh"],
            "{}",
            rotated.what
        );
        let pair: TokenPair = rotated.parse();
        assert_ne!(pair.refresh.as_str(), first.refresh, "{}", s.backend);
        assert_ne!(pair.access.as_str(), first.access);
        assert_eq!(
            claims(pair.access.as_str())["sid"],
            claims(&first.access)["sid"],
            "{}: same login",
            s.backend
        );
        let me = s.get_as(pair.access.as_str(), "/api/auth/me/").await;
        assert_eq!(me.ok(StatusCode::OK)["id"], first.user_id.as_str());

        // The old refresh token is spent; presenting it again is a replay.
        let replay = s
            .post("/api/auth/refresh/", json!({"refresh": first.refresh}))
            .await;
        replay.error(StatusCode::UNAUTHORIZED, "INVALID_TOKEN");
        let newest = s
            .post(
                "/api/auth/refresh/",
                json!({"refresh": pair.refresh.as_str()}),
            )
            .await;
        newest.error(StatusCode::UNAUTHORIZED, "INVALID_TOKEN");
        for access in [pair.access.as_str(), first.access.as_str()] {
            s.get_as(access, "/api/auth/me/")
                .await
                .error(StatusCode::UNAUTHORIZED, "UNAUTHORIZED");
        }
        // Only that login: the user's other login goes on.
        s.get_as(other.access.as_str(), "/api/auth/me/")
            .await
            .ok(StatusCode::OK);
        let body = json!({"refresh": other.refresh.as_str()});
        s.post("/api/auth/refresh/", body).await.ok(StatusCode::OK);
        s.stop().await;
    }
}

#[tokio::test]
async fn refresh_refuses_unknown_and_malformed_tokens() {
    for db in backends().await {
        let s = TestServer::start(&db.url, |_| {}).await;
        let ada = s.register("ada@example.com").await;
        let unknown = s
            .post("/api/auth/refresh/", json!({"refresh": "no-such-token"}))
            .await;
        unknown.error(StatusCode::UNAUTHORIZED, "INVALID_TOKEN");
        let access_as_refresh = s
            .post("/api/auth/refresh/", json!({"refresh": ada.access}))
            .await;
        access_as_refresh.error(StatusCode::UNAUTHORIZED, "INVALID_TOKEN");
        for body in [
            json!({}),
            json!({"refresh": ""}),
            json!({"refresh": 7}),
            json!({"refresh": "x".repeat(5000)}),
        ] {
            s.post("/api/auth/refresh/", body)
                .await
                .invalid("INVALID_INPUT", "refresh");
        }
        // None of that touched the real login.
        s.post("/api/auth/refresh/", json!({"refresh": ada.refresh}))
            .await
            .ok(StatusCode::OK);
        s.stop().await;
    }
}

#[tokio::test]
async fn logout_ends_the_login_at_once() {
    for db in backends().await {
        let s = TestServer::start(&db.url, |_| {}).await;
        let ada = s.register("ada@example.com").await;
        let login = s
            .post(
                "/api/auth/login/",
                json!({"email": "ada@example.com", "password": PASSWORD}),
            )
            .await;
        let other: AuthResponse = login.parse();

        s.post("/api/auth/logout/", json!({}))
            .await
            .error(StatusCode::UNAUTHORIZED, "UNAUTHORIZED");
        let out = s
            .post_as(
                &ada.access,
                "/api/auth/logout/",
                json!({"refresh": ada.refresh}),
            )
            .await;
        assert_eq!(
            out.status,
            StatusCode::NO_CONTENT,
            "{}: {}",
            out.what,
            out.text
        );
        assert!(out.text.is_empty(), "{}: 204 has no body", out.what);

        s.get_as(&ada.access, "/api/auth/me/")
            .await
            .error(StatusCode::UNAUTHORIZED, "UNAUTHORIZED");
        let refresh = s
            .post("/api/auth/refresh/", json!({"refresh": ada.refresh}))
            .await;
        refresh.error(StatusCode::UNAUTHORIZED, "INVALID_TOKEN");
        let again = s.post_as(&ada.access, "/api/auth/logout/", json!({})).await;
        again.error(StatusCode::UNAUTHORIZED, "UNAUTHORIZED");
        let create = s
            .post_as(&ada.access, "/api/rooms/create/", json!({}))
            .await;
        create.error(StatusCode::UNAUTHORIZED, "UNAUTHORIZED");

        // The other login of the same user is untouched; a bare logout (no body) ends it too.
        s.get_as(other.access.as_str(), "/api/auth/me/")
            .await
            .ok(StatusCode::OK);
        let bare = s
            .post_raw(Some(other.access.as_str()), "/api/auth/logout/", None, "")
            .await;
        assert_eq!(
            bare.status,
            StatusCode::NO_CONTENT,
            "{}: {}",
            bare.what,
            bare.text
        );
        let me = s.get_as(other.access.as_str(), "/api/auth/me/").await;
        me.error(StatusCode::UNAUTHORIZED, "UNAUTHORIZED");
        s.stop().await;
    }
}

#[tokio::test]
async fn only_valid_access_tokens_are_accepted() {
    for db in backends().await {
        let s = TestServer::start(&db.url, |_| {}).await;
        let ada = s.register("ada@example.com").await;
        // A signature that no longer matches: its first character changed.
        let mut tampered = ada.access.clone();
        let at = tampered.rfind('.').unwrap() + 1;
        let swapped = if tampered[at..].starts_with('A') {
            "B"
        } else {
            "A"
        };
        tampered.replace_range(at..=at, swapped);
        let header_cases = [
            None,
            Some(format!("Basic {}", ada.access)),
            Some("Bearer".to_owned()),
            Some("Bearer    ".to_owned()),
            Some("Bearer not.a.jwt".to_owned()),
            Some(format!("Bearer {tampered}")),
            Some(format!("Bearer {}", ada.refresh)),
            Some(format!("Bearer {}x", ada.access)),
        ];
        for header in header_cases {
            let mut request = s.request(reqwest::Method::GET, "/api/auth/me/");
            if let Some(header) = &header {
                request = request.header("authorization", header);
            }
            let answer = s
                .send(&format!("GET /api/auth/me/ with {header:?}"), request)
                .await;
            answer.error(StatusCode::UNAUTHORIZED, "UNAUTHORIZED");
        }
        let lower = s
            .request(reqwest::Method::GET, "/api/auth/me/")
            .header("authorization", format!("bearer {}", ada.access));
        s.send("GET /api/auth/me/ with a lower-case scheme", lower)
            .await
            .ok(StatusCode::OK);
        s.stop().await;
    }
}

#[tokio::test]
async fn expired_tokens_are_refused() {
    for db in backends().await {
        // A lifetime of zero makes every token expired the moment it is issued.
        let s = TestServer::start(&db.url, |c| {
            c.access_ttl_seconds = 0;
            c.refresh_ttl_days = 0;
        })
        .await;
        let ada = s.register("ada@example.com").await;
        s.get_as(&ada.access, "/api/auth/me/")
            .await
            .error(StatusCode::UNAUTHORIZED, "UNAUTHORIZED");
        let refresh = s
            .post("/api/auth/refresh/", json!({"refresh": ada.refresh}))
            .await;
        refresh.error(StatusCode::UNAUTHORIZED, "INVALID_TOKEN");
        s.stop().await;
    }
}
