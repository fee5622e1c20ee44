//! Who is in a room: APPROVAL rooms (pending, approve, deny; host only) and the detail only
//! approved members read.

use serde_json::json;
use streamit_protocol::v1::{Participant, PendingResponse, RoomDetail};
use streamit_testing::backends;

use super::ROOM_KEYS;
use crate::support::{Answer, StatusCode, TestServer};

/// `POST /api/rooms/{action}/` (approve or deny) as `token`, for `user` in `code`.
async fn decide(s: &TestServer, token: &str, action: &str, code: &str, user: &str) -> Answer {
    let body = json!({"code": code, "user_id": user});
    s.post_as(token, &format!("/api/rooms/{action}/"), body)
        .await
}

#[tokio::test]
async fn approval_rooms_wait_for_the_host() {
    for db in backends().await {
        let s = TestServer::start(&db.url, |_| {}).await;
        let (ada, bo, cy) = (
            s.guest("Ada").await,
            s.guest("Bo").await,
            s.guest("Cy").await,
        );
        let code = s.room_code(&ada, json!({"entry_mode": "APPROVAL"})).await;
        for who in [&bo, &bo, &cy] {
            s.join(who, &code)
                .await
                .expect(StatusCode::OK)
                .has("/status", "PENDING");
        }
        let pending_path = format!("/api/rooms/{code}/pending/");
        let pending = s.get_as(&ada.access, &pending_path).await;
        pending
            .expect(StatusCode::OK)
            .keys_at("/requests/0", &["is_host", "online", "status", "user"]);
        // Oldest first.
        pending.has(
            "/requests/0/user",
            json!({"id": bo.user_id, "display_name": "Bo"}),
        );
        pending.fields_at(
            "/requests/0",
            json!({"status": "PENDING", "is_host": false}),
        );
        pending.has("/requests/1/user/id", cy.user_id.as_str());
        assert_eq!(
            pending.parse::<PendingResponse>().requests.len(),
            2,
            "{}",
            pending.what
        );

        let detail_path = format!("/api/rooms/{code}/");
        s.get_as(&bo.access, &detail_path)
            .await
            .error(StatusCode::FORBIDDEN, "NOT_A_MEMBER");
        s.get_as(&bo.access, &pending_path)
            .await
            .error(StatusCode::FORBIDDEN, "NOT_HOST");
        let host_view: RoomDetail = s.get_as(&ada.access, &detail_path).await.parse();
        assert_eq!(
            host_view.participants.len(),
            3,
            "{}: the host sees pending users",
            s.backend
        );

        let lower = code.to_lowercase();
        decide(&s, &bo.access, "approve", &lower, &cy.user_id)
            .await
            .error(StatusCode::FORBIDDEN, "NOT_HOST");
        let approved = decide(&s, &ada.access, "approve", &lower, &bo.user_id).await;
        approved
            .expect(StatusCode::OK)
            .has("/status", "APPROVED")
            .has("/user/id", bo.user_id.as_str());
        let _: Participant = approved.parse();
        for user in [
            bo.user_id.as_str(),
            &ada.user_id,
            "00000000-0000-4000-8000-000000000000",
        ] {
            decide(&s, &ada.access, "approve", &lower, user)
                .await
                .error(StatusCode::NOT_FOUND, "NOT_PENDING");
        }
        decide(&s, &ada.access, "approve", &lower, "not-a-uuid")
            .await
            .invalid("INVALID_INPUT", "user_id");
        s.join(&bo, &code)
            .await
            .expect(StatusCode::OK)
            .has("/status", "APPROVED");
        let member_view: RoomDetail = s.get_as(&bo.access, &detail_path).await.parse();
        assert_eq!(
            member_view.participants.len(),
            2,
            "{}: members see no pending",
            s.backend
        );

        decide(&s, &bo.access, "deny", &code, &cy.user_id)
            .await
            .error(StatusCode::FORBIDDEN, "NOT_HOST");
        let denied = decide(&s, &ada.access, "deny", &code, &cy.user_id).await;
        denied.expect(StatusCode::NO_CONTENT);
        assert!(denied.text.is_empty(), "{}: 204 has no body", denied.what);
        decide(&s, &ada.access, "deny", &code, &cy.user_id)
            .await
            .error(StatusCode::NOT_FOUND, "NOT_PENDING");
        decide(&s, &ada.access, "deny", &code, &bo.user_id)
            .await
            .error(StatusCode::NOT_FOUND, "NOT_PENDING");
        s.get_as(&ada.access, &pending_path)
            .await
            .expect(StatusCode::OK)
            .has("/requests", json!([]));
        s.get_as(&cy.access, &detail_path)
            .await
            .error(StatusCode::FORBIDDEN, "NOT_A_MEMBER");

        let unknown = decide(&s, &ada.access, "approve", "ZZZZZZZZ", &bo.user_id).await;
        unknown.error(StatusCode::NOT_FOUND, "ROOM_NOT_FOUND");
        let unknown = decide(&s, &ada.access, "deny", "zzzzzzzz", &bo.user_id).await;
        unknown.error(StatusCode::NOT_FOUND, "ROOM_NOT_FOUND");
        let answer = s.get_as(&ada.access, "/api/rooms/ZZZZZZZZ/pending/").await;
        answer.error(StatusCode::NOT_FOUND, "ROOM_NOT_FOUND");
        let stranger = s.get(&pending_path).await;
        stranger.error(StatusCode::UNAUTHORIZED, "UNAUTHORIZED");
        s.stop().await;
    }
}

#[tokio::test]
async fn detail_is_for_members_only() {
    for db in backends().await {
        let s = TestServer::start(&db.url, |_| {}).await;
        let (ada, bo, eve) = (
            s.guest("Ada").await,
            s.guest("Bo").await,
            s.guest("Eve").await,
        );
        let media = json!({"provider": "youtube", "kind": "video", "id": "dQw4w9WgXcQ"});
        let code = s.room_code(&ada, json!({"media": media})).await;
        s.join(&bo, &code).await.ok(StatusCode::OK);

        let detail = s
            .get_as(&bo.access, &format!("/api/rooms/{}/", code.to_lowercase()))
            .await;
        let mut expected: Vec<&str> = ROOM_KEYS.to_vec();
        expected.extend(["embed_url", "media", "participants", "playback"]);
        expected.sort_unstable();
        detail.expect(StatusCode::OK).keys_at("", &expected);
        let embed_url = "https://www.youtube.com/embed/dQw4w9WgXcQ?enablejsapi=1";
        detail.fields(json!({"code": code, "media": media, "embed_url": embed_url}));
        detail.keys_at(
            "/playback",
            &["playing", "position_ms", "rate", "updated_at_ms", "version"],
        );
        detail.fields_at(
            "/playback",
            json!({"playing": false, "position_ms": 0, "rate": 1.0}),
        );
        let parsed: RoomDetail = detail.parse();
        assert_eq!(parsed.participants.len(), 2, "{}", detail.what);
        let host = parsed.participants.iter().find(|p| p.is_host).unwrap();
        assert_eq!(host.user.id.to_string(), ada.user_id, "{}", s.backend);
        assert!(
            parsed.participants.iter().all(|p| !p.online),
            "{}: no sockets",
            s.backend
        );

        let path = format!("/api/rooms/{code}/");
        s.get_as(&eve.access, &path)
            .await
            .error(StatusCode::FORBIDDEN, "NOT_A_MEMBER");
        s.get(&path)
            .await
            .error(StatusCode::UNAUTHORIZED, "UNAUTHORIZED");
        for unknown in ["ZZZZZZZZ", "zzzzzzzz", "ABCD234O", "SHORT", "%F0%9F%8E%AC"] {
            let answer = s
                .get_as(&ada.access, &format!("/api/rooms/{unknown}/"))
                .await;
            answer.error(StatusCode::NOT_FOUND, "ROOM_NOT_FOUND");
        }
        s.stop().await;
    }
}
