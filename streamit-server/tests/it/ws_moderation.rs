//! Host moderation over real sockets (PROTOCOL §2): `KICK_USER` closes the member's sockets
//! with 4011 and they must join again; `BAN_USER` closes them with 4009 and REST join answers
//! 403 `BANNED` from then on; `TRANSFER_HOST` hands the room to an online member, after which the
//! old host is refused with `NOT_HOST`.

use serde_json::json;
use streamit_protocol::v1::{
    ClientEvent, ErrorCode, LeaveReason, PositionMs, Seek, ServerEvent, UserTarget,
};
use streamit_testing::sqlite;

use crate::support::{StatusCode, TestServer};
use crate::ws_support::{
    WsClient, expect_error, hosted_room, member, next_event, room_detail, uid,
};

fn seek(ms: u64) -> ClientEvent {
    ClientEvent::Seek(Seek::new(PositionMs::new(ms).unwrap()))
}

#[tokio::test]
async fn a_kicked_member_is_closed_4011_and_must_join_again() {
    let db = sqlite();
    let s = TestServer::start(&db.url, |_| {}).await;
    let (host, code) = hosted_room(&s, json!({})).await;
    let ada = member(&s, &code, "Ada").await;
    let bo = member(&s, &code, "Bo").await;
    let (mut host_socket, _) = WsClient::join(&s, &code, &host, "host").await;
    let (mut bo_socket, _) = WsClient::join(&s, &code, &bo, "bo").await;
    let _ = next_event!(host_socket, UserJoined);
    // Ada has two sockets: both go.
    let (mut ada_1, _) = WsClient::join(&s, &code, &ada, "ada 1").await;
    let (mut ada_2, _) = WsClient::join(&s, &code, &ada, "ada 2").await;
    for socket in [&mut host_socket, &mut bo_socket] {
        let _ = next_event!(*socket, UserJoined);
    }
    // A user's second socket is no news, not even to their first.
    ada_1.assert_idle("my second socket").await;

    host_socket
        .send(
            ClientEvent::KickUser(UserTarget::new(uid(&ada))),
            Some("kick"),
        )
        .await;
    for socket in [&mut ada_1, &mut ada_2] {
        let (_, kicked) = next_event!(*socket, UserKicked);
        assert_eq!(kicked.user.id, uid(&ada));
        assert_eq!(socket.expect_close().await, 4011, "{}", socket.label);
    }
    for socket in [&mut host_socket, &mut bo_socket] {
        let (_, kicked) = next_event!(*socket, UserKicked);
        assert_eq!(kicked.user.id, uid(&ada));
        let (_, left) = next_event!(*socket, UserLeft);
        assert_eq!(
            (left.user.id, left.reason, left.viewers),
            (uid(&ada), LeaveReason::Kicked, 2),
            "{}",
            socket.label
        );
        socket.assert_idle("one USER_LEFT for two sockets").await;
    }
    // The membership is gone: the socket is refused until Ada joins again.
    let mut refused = WsClient::connect(&s, &code, Some(&ada.access), "ada kicked").await;
    assert_eq!(refused.expect_close().await, 4003);
    s.get_as(&ada.access, &format!("/api/rooms/{code}/"))
        .await
        .error(StatusCode::FORBIDDEN, "NOT_A_MEMBER");
    let answer = s.join(&ada, &code).await;
    assert_eq!(answer.ok(StatusCode::OK)["status"], "APPROVED");
    let (_back, snapshot) = WsClient::join(&s, &code, &ada, "ada back").await;
    assert!(!snapshot.you.is_host);
    let (_, joined) = next_event!(host_socket, UserJoined);
    assert_eq!(joined.user.id, uid(&ada));

    // The host cannot kick themselves, nor someone who is not a member.
    host_socket
        .send(
            ClientEvent::KickUser(UserTarget::new(uid(&host))),
            Some("self"),
        )
        .await;
    let error = host_socket.next_event().await;
    assert!(
        matches!(&error.event, ServerEvent::Error(_)) && error.reference.is_some(),
        "{error:?}"
    );
    let stranger = s.guest("Stranger").await;
    host_socket
        .send(
            ClientEvent::KickUser(UserTarget::new(uid(&stranger))),
            Some("stranger"),
        )
        .await;
    expect_error!(host_socket, ErrorCode::UserNotFound, Some("stranger"));
}

#[tokio::test]
async fn a_banned_member_is_closed_4009_and_cannot_join_again() {
    let db = sqlite();
    let s = TestServer::start(&db.url, |_| {}).await;
    let (host, code) = hosted_room(&s, json!({})).await;
    let ada = member(&s, &code, "Ada").await;
    let (mut host_socket, _) = WsClient::join(&s, &code, &host, "host").await;
    let (mut ada_socket, _) = WsClient::join(&s, &code, &ada, "ada").await;
    let _ = next_event!(host_socket, UserJoined);

    host_socket
        .send(
            ClientEvent::BanUser(UserTarget::new(uid(&ada))),
            Some("ban"),
        )
        .await;
    let (message, banned) = next_event!(ada_socket, UserBanned);
    assert_eq!(banned.user.id, uid(&ada));
    assert!(message.seq.is_some());
    assert_eq!(ada_socket.expect_close().await, 4009);
    let (_, banned) = next_event!(host_socket, UserBanned);
    assert_eq!(banned.user.id, uid(&ada));
    let (_, left) = next_event!(host_socket, UserLeft);
    assert_eq!((left.reason, left.viewers), (LeaveReason::Banned, 1));

    s.join(&ada, &code)
        .await
        .error(StatusCode::FORBIDDEN, "BANNED");
    let mut refused = WsClient::connect(&s, &code, Some(&ada.access), "ada banned").await;
    assert_eq!(refused.expect_close().await, 4009);
    // Still banned later, and the participants no longer list her.
    s.join(&ada, &code)
        .await
        .error(StatusCode::FORBIDDEN, "BANNED");
    let detail = room_detail(&s, &host, &code).await;
    let listed = detail["participants"].as_array().unwrap();
    assert!(
        listed.iter().all(|p| p["user"]["id"] != ada.user_id),
        "{detail}"
    );
}

#[tokio::test]
async fn transfer_host_hands_over_authority() {
    let db = sqlite();
    let s = TestServer::start(&db.url, |_| {}).await;
    let (host, code) = hosted_room(&s, json!({})).await;
    let ada = member(&s, &code, "Ada").await;
    let offline = member(&s, &code, "Offline").await;
    let (mut old, _) = WsClient::join(&s, &code, &host, "old host").await;
    let (mut new, _) = WsClient::join(&s, &code, &ada, "ada").await;
    let _ = next_event!(old, UserJoined);

    // Only to an online member.
    old.send(
        ClientEvent::TransferHost(UserTarget::new(uid(&offline))),
        Some("off"),
    )
    .await;
    expect_error!(old, ErrorCode::UserNotFound, Some("off"));
    new.assert_idle("a refused transfer").await;

    old.send(
        ClientEvent::TransferHost(UserTarget::new(uid(&ada))),
        Some("give"),
    )
    .await;
    for socket in [&mut old, &mut new] {
        let (message, changed) = next_event!(*socket, HostChanged);
        assert_eq!(changed.host.id, uid(&ada), "{}", socket.label);
        assert!(message.seq.is_some() && message.reference.is_none());
    }
    old.send(seek(1_000), Some("old-seek")).await;
    expect_error!(old, ErrorCode::NotHost, Some("old-seek"));
    old.send(
        ClientEvent::TransferHost(UserTarget::new(uid(&host))),
        Some("back"),
    )
    .await;
    expect_error!(old, ErrorCode::NotHost, Some("back"));
    new.assert_idle("the old host's attempts").await;

    new.send(seek(2_000), None).await;
    for socket in [&mut old, &mut new] {
        let (_, state) = next_event!(*socket, PlaybackState);
        assert_eq!(state.by, uid(&ada));
        assert_eq!(state.playback.position_ms.get(), 2_000);
    }
    new.send(
        ClientEvent::Resync(streamit_protocol::v1::Resync::snapshot()),
        Some("r"),
    )
    .await;
    let (_, snapshot) = next_event!(new, RoomSnapshot);
    assert!(snapshot.you.is_host);
    assert_eq!(snapshot.room.host.id, uid(&ada));
    let is_host = |id| {
        snapshot
            .participants
            .iter()
            .find(|p| p.user.id == id)
            .unwrap()
            .is_host
    };
    assert!(
        is_host(uid(&ada)) && !is_host(uid(&host)),
        "{:?}",
        snapshot.participants
    );
    let detail = room_detail(&s, &ada, &code).await;
    assert_eq!(detail["host"]["id"], ada.user_id, "{detail}");

    // The old host leaving is an ordinary member leaving: no grace.
    old.disconnect().await;
    let (_, left) = next_event!(new, UserLeft);
    assert_eq!(left.user.id, uid(&host));
    new.assert_idle("no HOST_DISCONNECTED for a former host")
        .await;
    assert_eq!(room_detail(&s, &ada, &code).await["state"], "LIVE");
}

/// Every host action lands in the room's audit log, oldest first, with who did it and to whom;
/// only the host may read it.
#[tokio::test]
async fn host_actions_are_kept_in_the_audit_log_the_host_alone_reads() {
    use streamit_protocol::v1::{AuditAction, AuditLogResponse, MuteUser, SetChatEnabled};

    for db in streamit_testing::backends().await {
        let s = TestServer::start(&db.url, |_| {}).await;
        let host = s.guest("Host").await;
        let code = s.room_code(&host, json!({"entry_mode": "APPROVAL"})).await;
        let ada = s.guest("Ada").await;
        let bo = s.guest("Bo").await;
        for who in [&ada, &bo] {
            s.join(who, &code).await.has("/status", "PENDING");
        }
        let approve = json!({"code": code, "user_id": ada.user_id});
        s.post_as(&host.access, "/api/rooms/approve/", approve)
            .await
            .ok(StatusCode::OK);
        let deny = json!({"code": code, "user_id": bo.user_id});
        s.post_as(&host.access, "/api/rooms/deny/", deny)
            .await
            .expect(StatusCode::NO_CONTENT);
        let (mut host_socket, _) = WsClient::join(&s, &code, &host, "host").await;
        let mute = ClientEvent::MuteUser(MuteUser::new(uid(&ada), None));
        host_socket.send(mute, None).await;
        let _ = next_event!(host_socket, UserMuted);
        let chat_off = ClientEvent::SetChatEnabled(SetChatEnabled::new(false));
        host_socket.send(chat_off, None).await;
        let _ = next_event!(host_socket, RoomUpdated);
        let kick = ClientEvent::KickUser(UserTarget::new(uid(&ada)));
        host_socket.send(kick, None).await;
        let _ = next_event!(host_socket, UserKicked);

        let path = format!("/api/rooms/{code}/audit/");
        // The room writes its entries off its own task: wait for the last to land.
        let wait = std::time::Duration::from_secs(10);
        let log: AuditLogResponse = crate::ws_support::eventually("six entries", wait, || async {
            let answer = s.get_as(&host.access, &path).await;
            answer.ok(StatusCode::OK);
            let log: AuditLogResponse = answer.parse();
            (log.events.len() == 6).then_some(log)
        })
        .await;
        let seen: Vec<_> = log
            .events
            .iter()
            .map(|e| (e.action, e.subject.map(|u| u.to_string())))
            .collect();
        let (a, b) = (Some(ada.user_id.clone()), Some(bo.user_id.clone()));
        assert_eq!(
            seen,
            [
                (AuditAction::Create, None),
                (AuditAction::Approve, a.clone()),
                (AuditAction::Deny, b),
                (AuditAction::Mute, a.clone()),
                (AuditAction::ChatOff, None),
                (AuditAction::Kick, a),
            ],
            "{}",
            s.backend
        );
        assert!(log.events.iter().all(|e| e.actor == uid(&host)));
        assert!(log.events.windows(2).all(|w| w[0].at_ms <= w[1].at_ms));
        s.get_as(&bo.access, &path)
            .await
            .error(StatusCode::FORBIDDEN, "NOT_HOST");
        s.stop().await;
    }
}
