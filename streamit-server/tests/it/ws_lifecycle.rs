//! The room lifecycle over real sockets (PROTOCOL §3), on SQLite and PostgreSQL: the host's
//! last socket starts grace (`HOST_DISCONNECTED` with its deadline) while members stay; the host
//! back in time makes it LIVE again (`HOST_RECONNECTED`); grace running out expires the room
//! (`ROOM_EXPIRED`, 4010, joins 410); deleting closes it (`ROOM_DELETED`, 4010); logging out,
//! or replaying a spent refresh token, closes that login's sockets with 4001. Across a restart (close 1012), `seq` and playback
//! `version` keep rising, a room whose host was live is in grace and expires on time, and a room
//! already in grace keeps its deadline.

use std::time::Duration;

use serde_json::json;
use streamit_protocol::v1::{
    Chat, ChatText, ClientEvent, LeaveReason, PositionMs, RoomState, Seek, ServerEvent,
    ServerMessage,
};
use streamit_testing::backends;

use crate::support::{Account, PASSWORD, StatusCode, TestServer};
use crate::ws_support::{
    WsClient, eventually, grace, hosted_room, member, metric, next_event, room_detail, uid,
};

fn seek(ms: u64) -> ClientEvent {
    ClientEvent::Seek(Seek::new(PositionMs::new(ms).unwrap()))
}

fn chat(text: &str) -> ClientEvent {
    ClientEvent::Chat(Chat::new(ChatText::new(text).unwrap()))
}

/// How long to wait for a room to expire: its grace plus three seconds.
fn expiry(grace_seconds: u32) -> Duration {
    Duration::from_secs(u64::from(grace_seconds) + 3)
}

/// The highest `seq` among `frames`, or `floor`.
fn last_seq(frames: &[ServerMessage], floor: u64) -> u64 {
    frames.iter().filter_map(|m| m.seq).fold(floor, u64::max)
}

#[tokio::test]
async fn the_host_leaving_starts_grace_and_coming_back_ends_it() {
    for db in backends().await {
        let s = TestServer::start(&db.url, grace(30)).await;
        let (host, code) = hosted_room(&s, json!({})).await;
        let ada = member(&s, &code, "Ada").await;
        let (host_socket, _) = WsClient::join(&s, &code, &host, "host").await;
        let (mut ada_socket, _) = WsClient::join(&s, &code, &ada, "ada").await;

        host_socket.disconnect().await;
        let (_, left) = next_event!(ada_socket, UserLeft);
        assert_eq!(
            (left.user.id, left.reason, left.viewers),
            (uid(&host), LeaveReason::Left, 1)
        );
        let (message, grace) = next_event!(ada_socket, HostDisconnected);
        assert_eq!(grace.grace_seconds, 30);
        let deadline = grace.grace_deadline_ms;
        assert!(
            deadline > message.ts && deadline <= message.ts + 30_000,
            "{}: deadline {deadline} for a message at {}",
            s.backend,
            message.ts
        );
        let detail = room_detail(&s, &ada, &code).await;
        assert_eq!(detail["state"], "GRACE", "{detail}");
        assert_eq!(detail["grace_deadline_ms"], deadline, "{detail}");

        // Members stay through grace, and may still talk and join.
        ada_socket.send(chat("where did they go?"), None).await;
        let _ = next_event!(ada_socket, ChatMessage);
        let bo = member(&s, &code, "Bo").await;
        let (mut bo_socket, snapshot) = WsClient::join(&s, &code, &bo, "bo").await;
        assert_eq!(snapshot.room.state, RoomState::Grace);
        assert_eq!(snapshot.room.grace_deadline_ms, Some(deadline));
        let _ = next_event!(ada_socket, UserJoined);

        let (_host_socket, snapshot) = WsClient::join(&s, &code, &host, "host back").await;
        assert_eq!(snapshot.room.state, RoomState::Live, "{}", s.backend);
        assert_eq!(snapshot.room.grace_deadline_ms, None);
        for socket in [&mut ada_socket, &mut bo_socket] {
            let (back, _) = next_event!(*socket, HostReconnected);
            let (joined_msg, joined) = next_event!(*socket, UserJoined);
            assert_eq!((joined.user.id, joined.viewers), (uid(&host), 3));
            assert_eq!(joined_msg.seq, back.seq.map(|n| n + 1));
            assert_eq!(joined_msg.seq, Some(snapshot.seq));
        }
        let detail = room_detail(&s, &ada, &code).await;
        assert_eq!(detail["state"], "LIVE", "{detail}");
        assert!(detail.get("grace_deadline_ms").is_none(), "{detail}");
        s.stop().await;
    }
}

#[tokio::test]
async fn grace_running_out_expires_the_room_for_everyone() {
    for db in backends().await {
        let seconds = 2;
        let s = TestServer::start(&db.url, grace(seconds)).await;
        let (host, code) = hosted_room(&s, json!({})).await;
        let ada = member(&s, &code, "Ada").await;
        let (host_socket, _) = WsClient::join(&s, &code, &host, "host").await;
        let (mut ada_1, _) = WsClient::join(&s, &code, &ada, "ada 1").await;
        let (mut ada_2, _) = WsClient::join(&s, &code, &ada, "ada 2").await;
        host_socket.disconnect().await;
        for socket in [&mut ada_1, &mut ada_2] {
            let _ = next_event!(*socket, UserLeft);
            let _ = next_event!(*socket, HostDisconnected);
        }
        for socket in [&mut ada_1, &mut ada_2] {
            let message = socket.next_event_within(expiry(seconds)).await;
            assert!(
                matches!(message.event, ServerEvent::RoomExpired(_)),
                "{}: {message:?}",
                socket.label
            );
            assert!(message.seq.is_some());
            assert_eq!(socket.expect_close().await, 4010, "{}", socket.label);
        }
        s.join(&ada, &code)
            .await
            .error(StatusCode::GONE, "ROOM_CLOSED");
        s.join(&host, &code)
            .await
            .error(StatusCode::GONE, "ROOM_CLOSED");
        assert_eq!(room_detail(&s, &ada, &code).await["state"], "EXPIRED");
        for who in [&host, &ada] {
            let mut late = WsClient::connect(&s, &code, Some(&who.access), "too late").await;
            assert_eq!(late.expect_close().await, 4010);
        }
        // Expired is final: deleting it answers 410.
        s.post_as(&host.access, "/api/rooms/delete/", json!({"code": code}))
            .await
            .error(StatusCode::GONE, "ROOM_CLOSED");
        s.stop().await;
    }
}

#[tokio::test]
async fn deleting_a_room_closes_every_socket_4010() {
    for db in backends().await {
        let s = TestServer::start(&db.url, grace(30)).await;
        let (host, code) = hosted_room(&s, json!({})).await;
        let ada = member(&s, &code, "Ada").await;
        let (mut host_socket, _) = WsClient::join(&s, &code, &host, "host").await;
        let (mut ada_socket, _) = WsClient::join(&s, &code, &ada, "ada").await;
        let _ = next_event!(host_socket, UserJoined);
        let answer = s
            .post_as(&host.access, "/api/rooms/delete/", json!({"code": code}))
            .await;
        assert_eq!(answer.ok(StatusCode::OK)["state"], "DELETED");
        for socket in [&mut host_socket, &mut ada_socket] {
            let (message, _) = next_event!(*socket, RoomDeleted);
            assert!(message.seq.is_some());
            assert_eq!(socket.expect_close().await, 4010, "{}", socket.label);
        }
        s.join(&ada, &code)
            .await
            .error(StatusCode::GONE, "ROOM_CLOSED");
        let mut late = WsClient::connect(&s, &code, Some(&ada.access), "late").await;
        assert_eq!(late.expect_close().await, 4010);

        // A room in grace can be deleted too; its members hear of it.
        let other = s.room_code(&host, json!({})).await;
        s.join(&ada, &other).await.ok(StatusCode::OK);
        let (host_socket, _) = WsClient::join(&s, &other, &host, "host 2").await;
        let (mut ada_socket, _) = WsClient::join(&s, &other, &ada, "ada 2").await;
        host_socket.disconnect().await;
        let _ = next_event!(ada_socket, UserLeft);
        let _ = next_event!(ada_socket, HostDisconnected);
        s.post_as(&host.access, "/api/rooms/delete/", json!({"code": other}))
            .await
            .ok(StatusCode::OK);
        let _ = next_event!(ada_socket, RoomDeleted);
        assert_eq!(ada_socket.expect_close().await, 4010);
        s.stop().await;
    }
}

#[tokio::test]
async fn logging_out_closes_that_logins_sockets_only() {
    for db in backends().await {
        let s = TestServer::start(&db.url, grace(30)).await;
        let (host, code) = hosted_room(&s, json!({})).await;
        let email = "ada@example.com";
        let laptop = s.register(email).await;
        let body = json!({"email": email, "password": PASSWORD});
        let phone = Account::from(s.post("/api/auth/login/", body).await.ok(StatusCode::OK));
        assert_eq!(laptop.user_id, phone.user_id);
        s.join(&laptop, &code).await.ok(StatusCode::OK);
        let (mut host_socket, _) = WsClient::join(&s, &code, &host, "host").await;
        let (mut on_laptop, _) = WsClient::join(&s, &code, &laptop, "laptop").await;
        let (mut on_phone, _) = WsClient::join(&s, &code, &phone, "phone").await;
        let _ = next_event!(host_socket, UserJoined);

        let answer = s
            .post_as(
                &laptop.access,
                "/api/auth/logout/",
                json!({"refresh": laptop.refresh}),
            )
            .await;
        assert_eq!(answer.status, StatusCode::NO_CONTENT, "{}", answer.text);
        assert_eq!(on_laptop.expect_close().await, 4001);
        on_phone.assert_idle("the other login stays").await;
        host_socket.assert_idle("the user is still online").await;
        let mut again = WsClient::connect(&s, &code, Some(&laptop.access), "laptop again").await;
        assert_eq!(again.expect_close().await, 4001);

        // The host logging out leaves the room in grace.
        let answer = s
            .post_as(
                &host.access,
                "/api/auth/logout/",
                json!({"refresh": host.refresh}),
            )
            .await;
        assert_eq!(answer.status, StatusCode::NO_CONTENT, "{}", answer.text);
        assert_eq!(host_socket.expect_close().await, 4001);
        let (_, left) = next_event!(on_phone, UserLeft);
        assert_eq!(left.user.id, uid(&host));
        let _ = next_event!(on_phone, HostDisconnected);
        s.stop().await;
    }
}

/// A replayed refresh token revokes its login (the token leaked): the login's sockets close
/// with 4001 as at logout, so a thief holding its access token cannot go on acting as host.
#[tokio::test]
async fn a_replayed_refresh_token_closes_that_logins_sockets() {
    for db in backends().await {
        let s = TestServer::start(&db.url, grace(30)).await;
        let (host, code) = hosted_room(&s, json!({})).await;
        let ada = member(&s, &code, "Ada").await;
        let (mut host_socket, _) = WsClient::join(&s, &code, &host, "host").await;
        let (mut ada_socket, _) = WsClient::join(&s, &code, &ada, "ada").await;
        let _ = next_event!(host_socket, UserJoined);

        let body = json!({"refresh": host.refresh});
        s.post("/api/auth/refresh/", body.clone())
            .await
            .ok(StatusCode::OK);
        s.post("/api/auth/refresh/", body)
            .await
            .error(StatusCode::UNAUTHORIZED, "INVALID_TOKEN");
        assert_eq!(host_socket.expect_close().await, 4001, "{}", s.backend);
        let (_, left) = next_event!(ada_socket, UserLeft);
        assert_eq!(left.user.id, uid(&host));
        let _ = next_event!(ada_socket, HostDisconnected);
        let mut again = WsClient::connect(&s, &code, Some(&host.access), "host again").await;
        assert_eq!(again.expect_close().await, 4001);
        s.stop().await;
    }
}

/// Waits until no room task runs on `s`: the last one stopped and flushed what it held.
async fn no_live_rooms(s: &TestServer) {
    eventually("the room's task stops", Duration::from_secs(10), || async {
        (metric(s, "streamit_rooms_live").await == 0).then_some(())
    })
    .await;
}

#[tokio::test]
async fn a_room_that_went_quiet_keeps_its_playback_and_chat() {
    for db in backends().await {
        let s = TestServer::start(&db.url, grace(30)).await;
        let (host, code) = hosted_room(&s, json!({})).await;
        let (mut socket, mut snapshot) = WsClient::join(&s, &code, &host, "host").await;
        let mut said = Vec::new();
        for round in 1..=3u64 {
            socket.send(seek(round * 1_000), None).await;
            let (_, state) = next_event!(socket, PlaybackState);
            let line = format!("line {round}");
            socket.send(chat(&line), None).await;
            let _ = next_event!(socket, ChatMessage);
            said.push(line);
            // The host alone leaves: the room's task stops; coming back starts a new one.
            socket.disconnect().await;
            no_live_rooms(&s).await;
            let (again, fresh) = WsClient::join(&s, &code, &host, "host again").await;
            let label = format!("{} round {round}", s.backend);
            let (was, now) = (state.playback, fresh.playback);
            assert_eq!(
                (now.playing, now.position_ms, now.rate, now.updated_at_ms),
                (was.playing, was.position_ms, was.rate, was.updated_at_ms),
                "{label}: playback as it was: {was:?}, after: {now:?}"
            );
            assert!(
                now.version >= was.version,
                "{label}: version went back: {was:?} {now:?}"
            );
            let texts: Vec<&str> = fresh.chat.iter().map(|m| m.text.as_str()).collect();
            assert_eq!(texts, said, "{label}: every line kept");
            assert!(fresh.seq > snapshot.seq, "{label}: seq never goes back");
            assert_eq!(fresh.room.state, RoomState::Live, "{label}");
            (socket, snapshot) = (again, fresh);
        }
        s.stop().await;
    }
}

#[tokio::test]
async fn coming_straight_back_finds_the_room_as_it_was() {
    for db in backends().await {
        let s = TestServer::start(&db.url, grace(30)).await;
        let host = s.guest("Host").await;
        for round in 1..=20u64 {
            // A fresh room each round, so one round's outcome cannot disturb the next.
            let code = s.room_code(&host, json!({})).await;
            let (mut socket, _) = WsClient::join(&s, &code, &host, "host").await;
            socket.send(seek(round * 1_000), None).await;
            let (_, state) = next_event!(socket, PlaybackState);
            socket.send(chat("still here"), None).await;
            let _ = next_event!(socket, ChatMessage);
            // Leaving stops the room's task; the host reconnects at once, racing its stop.
            socket.disconnect().await;
            let (_again, fresh) = WsClient::join(&s, &code, &host, "host again").await;
            let label = format!("{} round {round}", s.backend);
            let (was, now) = (state.playback, fresh.playback);
            assert_eq!(
                (now.playing, now.position_ms, now.updated_at_ms),
                (was.playing, was.position_ms, was.updated_at_ms),
                "{label}: the snapshot must show the last playback: before {was:?}, after {now:?}"
            );
            let texts: Vec<&str> = fresh.chat.iter().map(|m| m.text.as_str()).collect();
            assert_eq!(
                texts,
                ["still here"],
                "{label}: the line said before leaving"
            );
        }
        s.stop().await;
    }
}

#[tokio::test]
async fn a_socket_admitted_as_the_room_goes_quiet_is_served() {
    for db in backends().await {
        let s = TestServer::start(&db.url, grace(30)).await;
        let (host, code) = hosted_room(&s, json!({})).await;
        let (mut socket, _) = WsClient::join(&s, &code, &host, "host").await;
        for round in 1..=30 {
            // The host's only socket goes and the next one comes at once, racing the stop of
            // the room's task; whichever task admits it must also serve it.
            socket.disconnect().await;
            let label = format!("host, round {round}");
            let (again, _) = WsClient::join(&s, &code, &host, &label).await;
            socket = again;
            socket.assert_idle("a PING on the new socket").await;
        }
        socket.send(seek(1_000), None).await;
        let _ = next_event!(socket, PlaybackState);
        s.stop().await;
    }
}

#[tokio::test]
async fn a_restart_closes_1012_and_counters_keep_rising() {
    for db in backends().await {
        let s = TestServer::start(&db.url, grace(30)).await;
        let (host, code) = hosted_room(&s, json!({})).await;
        let ada = member(&s, &code, "Ada").await;
        let (mut host_socket, _) = WsClient::join(&s, &code, &host, "host").await;
        let (mut ada_socket, _) = WsClient::join(&s, &code, &ada, "ada").await;
        let _ = next_event!(host_socket, UserJoined);
        let mut last = None;
        for i in 1..=3 {
            host_socket.send(seek(i * 10_000), None).await;
            let _ = next_event!(host_socket, PlaybackState);
            last = Some(next_event!(ada_socket, PlaybackState));
        }
        let (last_message, last_state) = last.unwrap();
        let backend = s.backend;

        let stopping = tokio::spawn(s.stop());
        let (code_seen, frames) = ada_socket.close_after_frames().await;
        assert_eq!(code_seen, 1012, "[{backend}] members hear the restart");
        let seq_seen = last_seq(&frames, last_message.seq.unwrap());
        let (host_code, _) = host_socket.close_after_frames().await;
        assert_eq!(host_code, 1012, "[{backend}] the host too");
        stopping.await.unwrap();

        let s = TestServer::start(&db.url, grace(30)).await;
        let detail = room_detail(&s, &ada, &code).await;
        assert_eq!(
            detail["state"], "GRACE",
            "[{backend}] the host was live: {detail}"
        );
        let deadline = detail["grace_deadline_ms"].as_u64();
        assert!(deadline.is_some(), "{detail}");
        let (mut ada_socket, snapshot) = WsClient::join(&s, &code, &ada, "ada after").await;
        assert_eq!(snapshot.room.state, RoomState::Grace);
        assert_eq!(snapshot.room.grace_deadline_ms, deadline);
        assert!(
            snapshot.seq >= seq_seen,
            "[{backend}] seq {} < {seq_seen}",
            snapshot.seq
        );
        let version = snapshot.playback.version;
        assert!(
            version >= last_state.playback.version,
            "[{backend}] version {version} < {}",
            last_state.playback.version
        );
        assert_eq!(snapshot.playback.position_ms.get(), 30_000, "[{backend}]");

        let (mut host_socket, host_snapshot) = WsClient::join(&s, &code, &host, "host after").await;
        assert_eq!(host_snapshot.room.state, RoomState::Live);
        let (back, _) = next_event!(ada_socket, HostReconnected);
        assert_eq!(back.seq, Some(snapshot.seq + 1), "[{backend}] no gap");
        let _ = next_event!(ada_socket, UserJoined);
        host_socket.send(seek(1), None).await;
        let (moved, state) = next_event!(ada_socket, PlaybackState);
        assert_eq!(state.playback.version, version + 1, "[{backend}]");
        assert!(state.playback.version > last_state.playback.version);
        assert_eq!(moved.seq, Some(host_snapshot.seq + 1));
        s.stop().await;
    }
}

#[tokio::test]
async fn after_a_restart_a_room_whose_host_was_live_expires_on_time() {
    for db in backends().await {
        // The first run's grace is long: the deadline that counts is the one set at restart.
        let s = TestServer::start(&db.url, grace(300)).await;
        let (host, code) = hosted_room(&s, json!({})).await;
        let ada = member(&s, &code, "Ada").await;
        let (mut host_socket, _) = WsClient::join(&s, &code, &host, "host").await;
        let (mut ada_socket, _) = WsClient::join(&s, &code, &ada, "ada").await;
        let backend = s.backend;
        let stopping = tokio::spawn(s.stop());
        let (code_seen, before_close) = ada_socket.close_after_frames().await;
        assert_eq!(code_seen, 1012, "[{backend}]");
        let before_close: Vec<&str> = before_close.iter().map(|m| m.event.event_type()).collect();
        assert_eq!(host_socket.close_after_frames().await.0, 1012);
        stopping.await.unwrap();

        let seconds = 2;
        let s = TestServer::start(&db.url, grace(seconds)).await;
        let (mut ada_socket, snapshot) = WsClient::join(&s, &code, &ada, "ada after").await;
        assert_eq!(snapshot.room.state, RoomState::Grace, "[{backend}]");
        let deadline = snapshot.room.grace_deadline_ms;
        match ada_socket.read(expiry(seconds)).await {
            Ok(message) if matches!(message.event, ServerEvent::RoomExpired(_)) => {}
            other => panic!(
                "[{backend}] wanted ROOM_EXPIRED within {seconds} s + 3 s, got {other:?}; \
                 the snapshot after the restart showed the deadline {deadline:?} \
                 (its playback was set at {}); before 1012 the first run sent {before_close:?}",
                snapshot.playback.updated_at_ms
            ),
        }
        assert_eq!(ada_socket.expect_close().await, 4010);
        s.join(&ada, &code)
            .await
            .error(StatusCode::GONE, "ROOM_CLOSED");
        s.stop().await;
    }
}

#[tokio::test]
async fn a_room_already_in_grace_keeps_its_deadline_across_a_restart() {
    for db in backends().await {
        let seconds = 4;
        let s = TestServer::start(&db.url, grace(seconds)).await;
        let (host, code) = hosted_room(&s, json!({})).await;
        let ada = member(&s, &code, "Ada").await;
        let (host_socket, _) = WsClient::join(&s, &code, &host, "host").await;
        let (mut ada_socket, _) = WsClient::join(&s, &code, &ada, "ada").await;
        host_socket.disconnect().await;
        let _ = next_event!(ada_socket, UserLeft);
        let (_, grace_event) = next_event!(ada_socket, HostDisconnected);
        let deadline = grace_event.grace_deadline_ms;
        let backend = s.backend;
        let stopping = tokio::spawn(s.stop());
        assert_eq!(ada_socket.close_after_frames().await.0, 1012);
        stopping.await.unwrap();

        // A long grace now: were the deadline renewed, the room would not expire in time.
        let s = TestServer::start(&db.url, grace(300)).await;
        let detail = room_detail(&s, &ada, &code).await;
        assert_eq!(detail["state"], "GRACE", "[{backend}] {detail}");
        assert_eq!(
            detail["grace_deadline_ms"], deadline,
            "[{backend}] {detail}"
        );
        let (mut ada_socket, snapshot) = WsClient::join(&s, &code, &ada, "ada after").await;
        assert_eq!(snapshot.room.grace_deadline_ms, Some(deadline));
        let message = ada_socket.next_event_within(expiry(seconds)).await;
        assert!(
            matches!(message.event, ServerEvent::RoomExpired(_)),
            "[{backend}] wanted ROOM_EXPIRED by the old deadline: {message:?}"
        );
        assert_eq!(ada_socket.expect_close().await, 4010);
        s.stop().await;
    }
}
