//! Room sessions against the real server: every command, the replies carrying their `ref`,
//! the state the session keeps, and the ways a session ends.

use streamit_client::protocol::v1::{
    ChatText, ClientRef, CloseCode, ErrorCode, LeaveReason, MediaKind, MediaRef, PlaybackCause,
    PlaybackState, PlayerEvent, PlayerEventKind, PositionMs, Provider, Rate, ServerEvent,
    ServerMessage,
};
use streamit_client::{Error, RoomEvent, RoomEvents};
use streamit_testing::eventually;

use crate::support::{
    PATIENCE, TestServer, final_code, from_server, join_connected, open_room, read_to_end, skip_to,
};

fn pos(ms: u64) -> PositionMs {
    PositionMs::new(ms).unwrap()
}

/// Waits for the next `PLAYBACK_STATE`.
async fn playback_state(events: &mut RoomEvents) -> PlaybackState {
    skip_to(events, "PLAYBACK_STATE", |e| {
        from_server(e, |m| match m.event {
            ServerEvent::PlaybackState(state) => Some(state),
            _ => None,
        })
    })
    .await
}

/// Waits for the reply carrying `reference`.
async fn reply_to(events: &mut RoomEvents, reference: &ClientRef) -> ServerMessage {
    skip_to(events, "a reply", |e| {
        from_server(e, |m| {
            (m.reference.as_ref() == Some(reference)).then(|| m.clone())
        })
    })
    .await
}

/// Waits for an event of wire type `kind` (a broadcast or a reply).
async fn event_of(events: &mut RoomEvents, kind: &str) -> ServerMessage {
    skip_to(events, kind, |e| {
        from_server(e, |m| (m.event.event_type() == kind).then(|| m.clone()))
    })
    .await
}

#[track_caller]
fn error_code(message: &ServerMessage) -> ErrorCode {
    match &message.event {
        ServerEvent::Error(error) => error.code,
        other => panic!("wanted ERROR, got {other:?}"),
    }
}

#[tokio::test]
async fn every_command_reaches_the_room_and_the_session_keeps_up() {
    let server = TestServer::start(|_| {}).await;
    let host = server.guest("Host").await;
    let member = server.guest("Member").await;
    let code = open_room(&host).await;
    let (hosting, mut host_events, snapshot) = join_connected(&host, code).await;
    assert!(snapshot.you.is_host && hosting.is_host());
    assert_eq!(hosting.me().unwrap().user.id, host.user().unwrap().id);
    let (watching, mut events, snapshot) = join_connected(&member, code).await;
    assert!(!snapshot.you.is_host && !watching.is_host());
    assert_eq!(watching.room().unwrap().code, code);
    let member_id = member.user().unwrap().id;
    let joined = event_of(&mut host_events, "USER_JOINED").await;
    assert!(joined.seq.is_some() && joined.reference.is_none());

    let movie =
        MediaRef::from_parts(Provider::Vidking, MediaKind::Movie, "550", None, None).unwrap();
    hosting.set_media(movie.clone()).await.unwrap();
    event_of(&mut events, "MEDIA_CHANGED").await;
    assert_eq!(
        playback_state(&mut events).await.cause,
        PlaybackCause::Media
    );
    assert_eq!(watching.room().unwrap().media, Some(movie));

    hosting.play(Some(pos(10_000))).await.unwrap();
    let state = playback_state(&mut events).await;
    assert!(state.playback.playing && state.cause == PlaybackCause::Play);
    assert_eq!(watching.playback(), Some(state.playback));
    assert!(watching.expected_position_ms().unwrap() >= 10_000);

    hosting.pause(Some(pos(20_000))).await.unwrap();
    assert!(!playback_state(&mut events).await.playback.playing);
    assert_eq!(watching.expected_position_ms(), Some(20_000));
    hosting.seek(pos(30_000)).await.unwrap();
    assert_eq!(
        playback_state(&mut events).await.playback.position_ms,
        pos(30_000)
    );
    hosting.set_rate(Rate::new(1.5).unwrap()).await.unwrap();
    assert_eq!(playback_state(&mut events).await.playback.rate.get(), 1.5);
    assert_eq!(watching.playback().unwrap().rate.get(), 1.5);

    let said = watching
        .chat(ChatText::new("hello").unwrap())
        .await
        .unwrap();
    let line = event_of(&mut events, "CHAT_MESSAGE").await;
    assert!(line.reference.is_none(), "broadcasts carry no ref");
    let ServerEvent::ChatMessage(line) = line.event else {
        unreachable!()
    };
    assert_eq!((line.text.as_str(), line.user.id), ("hello", member_id));
    event_of(&mut host_events, "CHAT_MESSAGE").await;

    hosting.set_chat_enabled(false).await.unwrap();
    event_of(&mut events, "ROOM_UPDATED").await;
    assert!(!watching.room().unwrap().chat_enabled);
    let refused = watching
        .chat(ChatText::new("anyone?").unwrap())
        .await
        .unwrap();
    assert_ne!(refused, said, "every command has a fresh ref");
    assert_eq!(
        error_code(&reply_to(&mut events, &refused).await),
        ErrorCode::ChatDisabled
    );
    hosting.set_chat_enabled(true).await.unwrap();
    event_of(&mut events, "ROOM_UPDATED").await;

    hosting.mute(member_id, None).await.unwrap();
    event_of(&mut events, "USER_MUTED").await;
    assert!(watching.me().unwrap().muted_until_ms.is_some());
    hosting.unmute(member_id).await.unwrap();
    event_of(&mut events, "USER_UNMUTED").await;
    assert_eq!(watching.me().unwrap().muted_until_ms, None);

    let not_host = watching.play(None).await.unwrap();
    assert_eq!(
        error_code(&reply_to(&mut events, &not_host).await),
        ErrorCode::NotHost
    );

    let off = watching.sync_check(pos(0)).await.unwrap();
    match reply_to(&mut events, &off).await.event {
        ServerEvent::SyncCorrection(correction) => assert_eq!(correction.drift_ms, -30_000),
        other => panic!("wanted SYNC_CORRECTION, got {other:?}"),
    }
    let ping = watching.ping().await.unwrap();
    assert!(matches!(
        reply_to(&mut events, &ping).await.event,
        ServerEvent::Pong(_)
    ));
    let resync = watching.resync().await.unwrap();
    assert!(matches!(
        reply_to(&mut events, &resync).await.event,
        ServerEvent::RoomSnapshot(_)
    ));

    let report = PlayerEvent::new(PlayerEventKind::Progress, pos(5_000), Some(pos(100_000)));
    watching.player_event(report).await.unwrap();
    // Saved off the room's path: poll the REST view until it shows.
    let saved = eventually("PLAYER_EVENT to save progress", PATIENCE, async || {
        member.resume(code).await.ok()
    })
    .await;
    assert_eq!(saved.position_s.get(), 5.0);

    hosting.transfer_host(member_id).await.unwrap();
    event_of(&mut events, "HOST_CHANGED").await;
    assert!(watching.is_host());
    event_of(&mut host_events, "HOST_CHANGED").await;
    assert!(!hosting.is_host());
    assert_eq!(hosting.room().unwrap().host.id, member_id);
}

#[tokio::test]
async fn a_kick_ends_the_kicked_members_stream() {
    let server = TestServer::start(|_| {}).await;
    let host = server.guest("Host").await;
    let member = server.guest("Member").await;
    let code = open_room(&host).await;
    let (hosting, mut host_events, _) = join_connected(&host, code).await;
    let (watching, mut events, _) = join_connected(&member, code).await;
    hosting.kick(member.user().unwrap().id).await.unwrap();

    let all = read_to_end(&mut events).await;
    assert_eq!(final_code(&all), Some(CloseCode::Kicked.into()));
    assert!(all.iter().any(|e| {
        e.server_event()
            .is_some_and(|s| s.event_type() == "USER_KICKED")
    }));
    assert!(
        !all.iter()
            .any(|e| matches!(e, RoomEvent::Reconnecting { .. })),
        "{all:?}"
    );
    assert!(watching.is_closed() && !watching.is_connected());
    assert!(matches!(watching.ping().await, Err(Error::SessionClosed)));
    let left = event_of(&mut host_events, "USER_LEFT").await;
    let ServerEvent::UserLeft(left) = left.event else {
        unreachable!()
    };
    assert_eq!(left.reason, LeaveReason::Kicked);

    // Kicked, not banned: joining again works.
    let (_again, _events, snapshot) = join_connected(&member, code).await;
    assert!(
        snapshot
            .participants
            .iter()
            .any(|p| p.user.id == member.user().unwrap().id)
    );
}

#[tokio::test]
async fn a_ban_ends_the_stream_and_refuses_later_joins() {
    let server = TestServer::start(|_| {}).await;
    let host = server.guest("Host").await;
    let member = server.guest("Member").await;
    let code = open_room(&host).await;
    let (hosting, _host_events, _) = join_connected(&host, code).await;
    let (_watching, mut events, _) = join_connected(&member, code).await;
    hosting.ban(member.user().unwrap().id).await.unwrap();
    assert_eq!(
        final_code(&read_to_end(&mut events).await),
        Some(CloseCode::Banned.into())
    );
    let again = member.join_room(code).await.expect_err("banned");
    assert_eq!(
        (again.status(), again.code()),
        (Some(403), Some(ErrorCode::Banned))
    );
}

#[tokio::test]
async fn deleting_the_room_ends_every_stream() {
    let server = TestServer::start(|_| {}).await;
    let host = server.guest("Host").await;
    let member = server.guest("Member").await;
    let code = open_room(&host).await;
    let (_hosting, mut host_events, _) = join_connected(&host, code).await;
    let (_watching, mut events, _) = join_connected(&member, code).await;
    host.delete_room(code).await.unwrap();
    for stream in [&mut events, &mut host_events] {
        let all = read_to_end(stream).await;
        assert_eq!(final_code(&all), Some(CloseCode::RoomClosed.into()));
        assert!(all.iter().any(|e| {
            e.server_event()
                .is_some_and(|s| s.event_type() == "ROOM_DELETED")
        }));
    }
}

#[tokio::test]
async fn close_ends_the_stream_normally() {
    let server = TestServer::start(|_| {}).await;
    let host = server.guest("Host").await;
    let member = server.guest("Member").await;
    let code = open_room(&host).await;
    let (_hosting, mut host_events, _) = join_connected(&host, code).await;
    let (watching, mut events, _) = join_connected(&member, code).await;
    let other_handle = watching.clone();
    watching.close().await;
    assert!(other_handle.is_closed());
    assert_eq!(
        final_code(&read_to_end(&mut events).await),
        Some(CloseCode::Normal.into())
    );
    assert!(matches!(
        other_handle.chat(ChatText::new("late").unwrap()).await,
        Err(Error::SessionClosed)
    ));
    let left = event_of(&mut host_events, "USER_LEFT").await;
    let ServerEvent::UserLeft(left) = left.event else {
        unreachable!()
    };
    assert_eq!(left.reason, LeaveReason::Left);
}

#[tokio::test]
async fn dropping_every_handle_ends_the_session() {
    let server = TestServer::start(|_| {}).await;
    let host = server.guest("Host").await;
    let member = server.guest("Member").await;
    let code = open_room(&host).await;
    let (_hosting, mut host_events, _) = join_connected(&host, code).await;
    let (watching, mut events, _) = join_connected(&member, code).await;
    drop(watching);
    assert_eq!(
        final_code(&read_to_end(&mut events).await),
        Some(CloseCode::Normal.into())
    );
    event_of(&mut host_events, "USER_LEFT").await;
}

#[tokio::test]
async fn logging_out_ends_the_session_with_4001() {
    let server = TestServer::start(|_| {}).await;
    let host = server.guest("Host").await;
    let member = server.guest("Member").await;
    let code = open_room(&host).await;
    let (watching, mut events, _) = join_connected(&member, code).await;
    member.logout().await.unwrap();
    let all = read_to_end(&mut events).await;
    assert_eq!(final_code(&all), Some(CloseCode::Unauthorized.into()));
    eventually("the session to be closed", PATIENCE, async || {
        watching.is_closed().then_some(())
    })
    .await;
}
