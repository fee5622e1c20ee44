//! Opening a room socket (PROTOCOL §2): every refusal is a close frame after the upgrade, with
//! the code of the first check that fails (token 4001, room 4004, closed 4010, banned 4009,
//! approved 4003); an admitted socket reads `ROOM_SNAPSHOT` first; the host's first socket makes
//! the room LIVE; presence (`USER_JOINED`, `USER_LEFT`, `viewers`) follows users, not sockets.

use serde_json::json;
use streamit_protocol::v1::{
    ChatText, ClientEvent, EntryMode, LeaveReason, MemberStatus, MuteUser, Participant, Ping,
    RoomState, ServerEvent, UserTarget,
};
use streamit_testing::sqlite;

use crate::support::{Account, StatusCode, TestServer};
use crate::ws_support::{WsClient, film, hosted_room, member, next_event, room_detail, uid};

/// Connects with `token` in the query and returns the close code the server refuses with.
async fn refused(s: &TestServer, code: &str, token: Option<&str>, label: &str) -> u16 {
    let mut client = WsClient::connect(s, code, token, label).await;
    client.expect_close().await
}

/// A valid room code no room has.
fn unused_code(taken: &str) -> &'static str {
    if taken == "ABCDEFGH" {
        "HGFEDCBA"
    } else {
        "ABCDEFGH"
    }
}

fn chat(text: &str) -> ClientEvent {
    ClientEvent::Chat(streamit_protocol::v1::Chat::new(
        ChatText::new(text).unwrap(),
    ))
}

fn find<'a>(participants: &'a [Participant], who: &Account) -> &'a Participant {
    participants
        .iter()
        .find(|p| p.user.id.to_string() == who.user_id)
        .unwrap_or_else(|| panic!("{} is not among {participants:?}", who.user_id))
}

#[tokio::test]
async fn token_is_checked_first() {
    let db = sqlite();
    let s = TestServer::start(&db.url, |_| {}).await;
    let (_host, code) = hosted_room(&s, json!({})).await;
    assert_eq!(refused(&s, &code, None, "no token").await, 4001);
    assert_eq!(refused(&s, &code, Some(""), "empty token").await, 4001);
    assert_eq!(
        refused(&s, &code, Some("not.a.jwt"), "garbage token").await,
        4001
    );
    // The token comes before the room: a bad token on a bad room is still 4001.
    assert_eq!(
        refused(&s, "nope", None, "no token, malformed room").await,
        4001
    );
    let unknown = unused_code(&code);
    assert_eq!(
        refused(&s, unknown, Some("x"), "bad token, unknown room").await,
        4001
    );
    let mut bearer = WsClient::connect_bearer(&s, &code, "not.a.jwt", "garbage bearer").await;
    assert_eq!(bearer.expect_close().await, 4001);
    // A token of a login that ended.
    let gone = s.guest("Gone").await;
    s.post_as(
        &gone.access,
        "/api/auth/logout/",
        json!({"refresh": gone.refresh}),
    )
    .await;
    assert_eq!(
        refused(&s, &code, Some(&gone.access), "logged out").await,
        4001
    );
}

#[tokio::test]
async fn unknown_and_malformed_rooms_close_4004() {
    let db = sqlite();
    let s = TestServer::start(&db.url, |_| {}).await;
    let (_host, code) = hosted_room(&s, json!({})).await;
    let who = s.guest("Who").await;
    let token = Some(who.access.as_str());
    assert_eq!(
        refused(&s, unused_code(&code), token, "unknown room").await,
        4004
    );
    for malformed in ["nope", "ABCDEFGI", "ABCDEFGHJ", "ABCD-FGH"] {
        assert_eq!(
            refused(&s, malformed, token, malformed).await,
            4004,
            "{malformed}"
        );
    }
    // Codes match case-insensitively.
    let host_token = s.guest("Other").await;
    s.join(&host_token, &code).await.ok(StatusCode::OK);
    let (_socket, snapshot) =
        WsClient::join(&s, &code.to_lowercase(), &host_token, "lowercase code").await;
    assert_eq!(snapshot.room.code.as_str(), code);
}

#[tokio::test]
async fn strangers_and_pending_members_close_4003() {
    let db = sqlite();
    let s = TestServer::start(&db.url, |_| {}).await;
    let (host, open) = hosted_room(&s, json!({})).await;
    let stranger = s.guest("Stranger").await;
    assert_eq!(
        refused(&s, &open, Some(&stranger.access), "never joined").await,
        4003
    );

    let approval = s.room_code(&host, json!({"entry_mode": "APPROVAL"})).await;
    let answer = s.join(&stranger, &approval).await;
    assert_eq!(answer.ok(StatusCode::OK)["status"], "PENDING");
    assert_eq!(
        refused(&s, &approval, Some(&stranger.access), "pending").await,
        4003
    );
    // The host of an APPROVAL room is always in.
    let (_host_socket, snapshot) = WsClient::join(&s, &approval, &host, "host").await;
    assert_eq!(snapshot.room.entry_mode, EntryMode::Approval);
    assert!(snapshot.you.is_host);
    // Approved, the same user is admitted.
    let body = json!({"code": approval, "user_id": stranger.user_id});
    s.post_as(&host.access, "/api/rooms/approve/", body)
        .await
        .ok(StatusCode::OK);
    let (_socket, snapshot) = WsClient::join(&s, &approval, &stranger, "approved").await;
    assert!(!snapshot.you.is_host);
}

#[tokio::test]
async fn banned_users_close_4009_and_closed_rooms_4010() {
    let db = sqlite();
    let s = TestServer::start(&db.url, |_| {}).await;
    let (host, code) = hosted_room(&s, json!({})).await;
    let banned = member(&s, &code, "Banned").await;
    let bystander = member(&s, &code, "Bystander").await;
    let (mut host_socket, _) = WsClient::join(&s, &code, &host, "host").await;
    host_socket
        .send(
            ClientEvent::BanUser(UserTarget::new(uid(&banned))),
            Some("ban"),
        )
        .await;
    let (_, moderation) = next_event!(host_socket, UserBanned);
    assert_eq!(moderation.user.id, uid(&banned));

    // The ban removed the membership too: 4009 is checked before 4003.
    assert_eq!(
        refused(&s, &code, Some(&banned.access), "banned").await,
        4009
    );
    s.join(&banned, &code)
        .await
        .error(StatusCode::FORBIDDEN, "BANNED");

    s.post_as(&host.access, "/api/rooms/delete/", json!({"code": code}))
        .await
        .ok(StatusCode::OK);
    let (_, _) = next_event!(host_socket, RoomDeleted);
    assert_eq!(host_socket.expect_close().await, 4010);
    // A closed room is checked before the ban and the membership.
    for (who, label) in [(&host, "host"), (&bystander, "member"), (&banned, "banned")] {
        assert_eq!(
            refused(&s, &code, Some(&who.access), label).await,
            4010,
            "{label}"
        );
    }
    let stranger = s.guest("Stranger").await;
    assert_eq!(
        refused(&s, &code, Some(&stranger.access), "stranger").await,
        4010
    );
    // ...but after the token.
    assert_eq!(refused(&s, &code, None, "no token").await, 4001);
}

#[tokio::test]
async fn a_bearer_header_carries_the_token_too() {
    let db = sqlite();
    let s = TestServer::start(&db.url, |_| {}).await;
    let (host, code) = hosted_room(&s, json!({})).await;
    let mut socket = WsClient::connect_bearer(&s, &code, &host.access, "bearer host").await;
    let snapshot = socket.expect_snapshot().await;
    assert_eq!(snapshot.you.user.id, uid(&host));
    assert!(snapshot.you.is_host);
    assert_eq!(snapshot.room.state, RoomState::Live);
    // The socket works.
    socket.assert_idle("after a bearer handshake").await;
    // Without the upgrade headers, the path answers HTTP 400 in the one error shape.
    let plain = s.get_as(&host.access, &format!("/ws/room/{code}/")).await;
    plain.error(StatusCode::BAD_REQUEST, "INVALID_INPUT");
}

#[tokio::test]
async fn the_snapshot_comes_first_and_shows_the_room() {
    let db = sqlite();
    let s = TestServer::start(&db.url, |_| {}).await;
    let (host, code) = hosted_room(&s, json!({"name": "Film night", "media": film("550")})).await;
    let ada = member(&s, &code, "Ada").await;
    let absent = member(&s, &code, "Absent").await;
    let pending_room = s.room_code(&host, json!({"entry_mode": "APPROVAL"})).await;

    let (mut host_socket, snap) = WsClient::join(&s, &code, &host, "host").await;
    assert_eq!(snap.room.code.as_str(), code);
    assert_eq!(snap.room.name.as_str(), "Film night");
    assert_eq!(snap.room.host.id, uid(&host));
    assert_eq!(
        snap.room.state,
        RoomState::Live,
        "the host's snapshot already shows LIVE"
    );
    assert_eq!(snap.room.grace_deadline_ms, None);
    assert_eq!(snap.room.viewers, 1);
    assert!(snap.room.chat_enabled);
    assert_eq!(
        snap.room.media.as_ref().map(|m| m.id().to_owned()),
        Some("550".to_owned())
    );
    assert_eq!(
        snap.room.embed_url.as_deref(),
        Some("https://www.vidking.net/embed/movie/550")
    );
    assert!(snap.you.is_host);
    assert_eq!(snap.you.muted_until_ms, None);
    assert_eq!(snap.participants.len(), 3, "{:?}", snap.participants);
    let me = find(&snap.participants, &host);
    assert!(
        me.is_host && me.online && me.status == MemberStatus::Approved,
        "{me:?}"
    );
    for who in [&ada, &absent] {
        let p = find(&snap.participants, who);
        assert!(
            !p.is_host && !p.online && p.status == MemberStatus::Approved,
            "{p:?}"
        );
    }
    assert!(!snap.playback.playing);
    assert_eq!(snap.playback.position_ms.get(), 0);
    assert!((snap.playback.rate.get() - 1.0).abs() < f64::EPSILON);
    assert!(snap.chat.is_empty());
    let detail = room_detail(&s, &host, &code).await;
    assert_eq!(detail["state"], "LIVE", "{detail}");
    assert_eq!(
        detail["playback"]["version"], snap.playback.version,
        "{detail}"
    );

    let (mut ada_socket, ada_snap) = WsClient::join(&s, &code, &ada, "ada").await;
    let (joined_msg, joined) = next_event!(host_socket, UserJoined);
    assert_eq!(joined.user.id, uid(&ada));
    assert_eq!(joined.viewers, 2);
    assert_eq!(
        ada_snap.seq,
        joined_msg.seq.unwrap(),
        "the snapshot reflects USER_JOINED"
    );
    assert!(!ada_snap.you.is_host);
    assert_eq!(ada_snap.room.viewers, 2);
    assert!(find(&ada_snap.participants, &host).online);
    assert!(find(&ada_snap.participants, &ada).online);
    assert!(!find(&ada_snap.participants, &absent).online);
    assert_eq!(ada_snap.playback, snap.playback);

    for line in ["one", "two", "three"] {
        ada_socket.send(chat(line), None).await;
        let (_, said) = next_event!(ada_socket, ChatMessage);
        assert_eq!(said.text.as_str(), line);
    }
    let (mut late, late_snap) = WsClient::join(&s, &code, &absent, "late").await;
    let texts: Vec<&str> = late_snap.chat.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(texts, ["one", "two", "three"], "oldest first");
    assert!(late_snap.chat.iter().all(|m| m.user.id == uid(&ada)));
    late.assert_idle("nothing after the snapshot").await;

    // Members do not see pending requests; the host does.
    let hopeful = s.guest("Hopeful").await;
    s.join(&hopeful, &pending_room).await.ok(StatusCode::OK);
    let (_pending_host, pending_snap) = WsClient::join(&s, &pending_room, &host, "host 2").await;
    assert_eq!(
        find(&pending_snap.participants, &hopeful).status,
        MemberStatus::Pending
    );
}

#[tokio::test]
async fn the_snapshot_carries_the_last_fifty_lines_oldest_first() {
    let db = sqlite();
    let s = TestServer::start(&db.url, |_| {}).await;
    let (host, code) = hosted_room(&s, json!({})).await;
    // Keeps the room's task alive throughout.
    let (_host_socket, _) = WsClient::join(&s, &code, &host, "host").await;
    let mut said = Vec::new();
    for i in 0..11 {
        let who = member(&s, &code, &format!("Chatter {i}")).await;
        let (mut socket, _) = WsClient::join(&s, &code, &who, &format!("chatter {i}")).await;
        for j in 0..5 {
            let line = format!("line {i}.{j}");
            socket.send(chat(&line), None).await;
            let (_, echoed) = next_event!(socket, ChatMessage);
            assert_eq!(echoed.text.as_str(), line);
            said.push(line);
        }
        socket.disconnect().await;
    }
    let late = member(&s, &code, "Late").await;
    let (_socket, snapshot) = WsClient::join(&s, &code, &late, "late").await;
    let texts: Vec<&str> = snapshot.chat.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(texts, said[5..], "the last 50, oldest first");
}

#[tokio::test]
async fn presence_follows_users_not_sockets() {
    let db = sqlite();
    let s = TestServer::start(&db.url, |_| {}).await;
    let (host, code) = hosted_room(&s, json!({})).await;
    let ada = member(&s, &code, "Ada").await;
    assert_eq!(room_detail(&s, &host, &code).await["state"], "CREATED");
    let (mut host_socket, snap) = WsClient::join(&s, &code, &host, "host").await;
    assert_eq!((snap.room.state, snap.room.viewers), (RoomState::Live, 1));

    let (mut first, _) = WsClient::join(&s, &code, &ada, "ada 1").await;
    let (m, joined) = next_event!(host_socket, UserJoined);
    assert_eq!((joined.user.id, joined.viewers), (uid(&ada), 2));
    assert_eq!(m.reference, None, "broadcasts carry no ref");
    // A second socket of the same user is no news to anyone.
    let (mut second, second_snap) = WsClient::join(&s, &code, &ada, "ada 2").await;
    assert_eq!(second_snap.room.viewers, 2, "viewers count people");
    host_socket.assert_idle("a second socket").await;
    first.assert_idle("a second socket of mine").await;
    // Closing one of two: still there.
    first.disconnect().await;
    host_socket.assert_idle("one of two sockets closed").await;
    second.assert_idle("my other socket closed").await;
    // Closing the last: left.
    second.disconnect().await;
    let (_, left) = next_event!(host_socket, UserLeft);
    assert_eq!(
        (left.user.id, left.reason, left.viewers),
        (uid(&ada), LeaveReason::Left, 1)
    );
    // A socket that vanishes without a close frame leaves too.
    let (raw, _) = WsClient::join(&s, &code, &ada, "ada 3").await;
    let (_, joined) = next_event!(host_socket, UserJoined);
    assert_eq!(joined.viewers, 2);
    drop(raw);
    let (_, left) = next_event!(host_socket, UserLeft);
    assert_eq!((left.reason, left.viewers), (LeaveReason::Left, 1));
    // Pings are replies: no seq.
    host_socket
        .send(ClientEvent::Ping(Ping::new(1)), Some("p"))
        .await;
    let pong = host_socket.next_event().await;
    assert!(
        matches!(pong.event, ServerEvent::Pong(_)) && pong.seq.is_none(),
        "{pong:?}"
    );
}

/// A live room keeps the participant list it last read and reads it again only when the
/// members changed: every change (a REST join, a mute and its end, a kick, a new host) shows in
/// the next socket's snapshot.
#[tokio::test]
async fn snapshots_follow_every_change_to_the_members_of_a_live_room() {
    let db = sqlite();
    let s = TestServer::start(&db.url, |_| {}).await;
    let (host, code) = hosted_room(&s, json!({})).await;
    let ada = member(&s, &code, "Ada").await;
    let (mut host_socket, _) = WsClient::join(&s, &code, &host, "host").await;
    let (_ada_socket, first) = WsClient::join(&s, &code, &ada, "ada").await;
    assert_eq!(first.participants.len(), 2);
    let _ = next_event!(host_socket, UserJoined);
    let snapshot = |label: &'static str| {
        let (s, code, ada) = (&s, &code, &ada);
        async move { WsClient::join(s, code, ada, label).await.1 }
    };

    let cy = member(&s, &code, "Cy").await;
    let seen = snapshot("after a REST join").await;
    assert_eq!(seen.participants.len(), 3, "{:?}", seen.participants);
    assert!(!find(&seen.participants, &cy).online);

    let mute = MuteUser::new(uid(&cy), None);
    host_socket.send(ClientEvent::MuteUser(mute), None).await;
    let _ = next_event!(host_socket, UserMuted);
    let seen = snapshot("after a mute").await;
    assert!(find(&seen.participants, &cy).muted_until_ms.is_some());
    let unmute = ClientEvent::UnmuteUser(UserTarget::new(uid(&cy)));
    host_socket.send(unmute, None).await;
    let _ = next_event!(host_socket, UserUnmuted);
    let seen = snapshot("after an unmute").await;
    assert_eq!(find(&seen.participants, &cy).muted_until_ms, None);

    let kick = ClientEvent::KickUser(UserTarget::new(uid(&cy)));
    host_socket.send(kick, None).await;
    let _ = next_event!(host_socket, UserKicked);
    let seen = snapshot("after a kick").await;
    assert_eq!(seen.participants.len(), 2, "{:?}", seen.participants);

    let transfer = ClientEvent::TransferHost(UserTarget::new(uid(&ada)));
    host_socket.send(transfer, None).await;
    let _ = next_event!(host_socket, HostChanged);
    let seen = snapshot("after a new host").await;
    assert!(seen.you.is_host);
    assert_eq!(
        seen.participants[0].user.id,
        uid(&ada),
        "the host comes first"
    );
    assert!(!find(&seen.participants, &host).is_host);
}
