//! Reconnection against the real server: a restart (1012), a cut connection, a silent one and
//! one whose `RESYNC` the server cannot answer; a fresh snapshot each time, no broadcast lost
//! while connected, no duplicate joins.

use std::time::Duration;

use streamit_client::protocol::v1::{
    ChatText, CloseCode, PositionMs, RoomSnapshot, ServerEvent, UserId,
};
use streamit_client::{Client, JoinOptions, RoomEvent, RoomEvents, RoomSession};

use crate::support::{
    PATIENCE, TestServer, client_for, connected, from_server, join_connected, name_of, next_event,
    open_room, quick_options, skip_to, wait_for,
};
use streamit_client::netem::{Conditions, NetemProxy};
use streamit_testing::eventually;

fn text(s: &str) -> ChatText {
    ChatText::new(s).unwrap()
}

/// The chat line's text, for `CHAT_MESSAGE` events.
fn chat_text(event: &RoomEvent) -> Option<String> {
    from_server(event, |m| match &m.event {
        ServerEvent::ChatMessage(line) => Some(line.text.as_str().to_owned()),
        _ => None,
    })
}

/// The snapshot, for `ROOM_SNAPSHOT` events.
fn snapshot_of(event: &RoomEvent) -> Option<Box<RoomSnapshot>> {
    from_server(event, |m| match &m.event {
        ServerEvent::RoomSnapshot(snapshot) => Some(snapshot.clone()),
        _ => None,
    })
}

/// Checks that every broadcast in `seen` follows the latest snapshot's `seq` without a gap:
/// nothing the room broadcast while this client was connected went missing.
#[track_caller]
fn assert_no_broadcast_lost(first_seq: u64, seen: &[RoomEvent]) {
    let mut expected = first_seq + 1;
    for event in seen {
        if let Some(snapshot) = snapshot_of(event) {
            expected = snapshot.seq + 1;
        } else if let Some(seq) = event.seq() {
            assert_eq!(
                seq, expected,
                "a broadcast went missing before {event:?}; seen: {seen:?}"
            );
            expected += 1;
        }
    }
}

async fn say(session: &RoomSession, events: &mut RoomEvents, line: &str) {
    session.chat(text(line)).await.unwrap();
    skip_to(events, line, |e| {
        (chat_text(e).as_deref() == Some(line)).then_some(())
    })
    .await;
}

/// Waits for `Connected` and the snapshot that must follow it, both kept in `seen`.
async fn reconnected(events: &mut RoomEvents, seen: &mut Vec<RoomEvent>) -> Box<RoomSnapshot> {
    wait_for(events, "Connected", seen, |e| {
        (*e == RoomEvent::Connected).then_some(())
    })
    .await;
    let event = next_event(events, "the snapshot after Connected").await;
    let snapshot = snapshot_of(&event).expect("ROOM_SNAPSHOT follows Connected");
    seen.push(event);
    snapshot
}

async fn guest_of(base_url: &str, name: &str) -> Client {
    let client = client_for(base_url);
    client.guest(Some(name_of(name))).await.unwrap();
    client
}

#[tokio::test]
async fn a_restart_reconnects_with_a_fresh_snapshot_no_loss_and_no_duplicate_joins() {
    let mut server = TestServer::start(|_| {}).await;
    // The host goes through a proxy the test can hold, so it comes back after the member and
    // the member sees its return.
    let proxy = NetemProxy::start(server.addr, Conditions::new())
        .await
        .unwrap();
    let host = guest_of(&proxy.base_url(), "Host").await;
    let member = server.guest("Member").await;
    let code = open_room(&host).await;
    let (hosting, mut host_events, _) = join_connected(&host, code).await;
    let (watching, mut events, first) = join_connected(&member, code).await;
    let host_id: UserId = host.user().unwrap().id;
    assert!(
        first
            .participants
            .iter()
            .any(|p| p.user.id == host_id && p.online)
    );

    let mut seen = Vec::new();
    for line in ["before 1", "before 2", "before 3"] {
        say(&hosting, &mut host_events, line).await;
    }
    wait_for(&mut events, "before 3", &mut seen, |e| {
        (chat_text(e).as_deref() == Some("before 3")).then_some(())
    })
    .await;

    proxy.hold();
    server.stop().await;
    wait_for(&mut events, "Disconnected(1012)", &mut seen, |e| {
        matches!(e, RoomEvent::Disconnected { close: Some(close) }
            if close.code == CloseCode::ServiceRestart)
        .then_some(())
    })
    .await;
    assert!(!watching.is_connected());
    server.start_again().await;
    let fresh = reconnected(&mut events, &mut seen).await;
    assert!(watching.is_connected());
    assert_eq!(fresh.room.code, code);
    assert!(
        fresh
            .chat
            .iter()
            .any(|line| line.text.as_str() == "before 3"),
        "the fresh snapshot has the chat: {:?}",
        fresh.chat
    );
    let last_before = seen
        .iter()
        .filter_map(RoomEvent::seq)
        .max()
        .unwrap_or(first.seq);
    assert!(
        fresh.seq >= last_before,
        "seq went back across the restart: {last_before} before, snapshot at {}",
        fresh.seq
    );

    proxy.release();
    skip_to(&mut host_events, "the host's Connected", |e| {
        (*e == RoomEvent::Connected).then_some(())
    })
    .await;
    let rejoined = wait_for(&mut events, "the host back", &mut seen, |e| match e {
        RoomEvent::Rejoined(message) => match &message.event {
            ServerEvent::UserJoined(joined) => Some(joined.user.id),
            _ => None,
        },
        _ => None,
    })
    .await;
    assert_eq!(rejoined, host_id);

    for line in ["after 1", "after 2", "after 3"] {
        say(&hosting, &mut host_events, line).await;
    }
    wait_for(&mut events, "after 3", &mut seen, |e| {
        (chat_text(e).as_deref() == Some("after 3")).then_some(())
    })
    .await;

    let lines: Vec<String> = seen.iter().filter_map(chat_text).collect();
    assert_eq!(
        lines,
        [
            "before 1", "before 2", "before 3", "after 1", "after 2", "after 3"
        ]
    );
    assert_no_broadcast_lost(first.seq, &seen);
    let joins: Vec<_> = seen
        .iter()
        .filter(|e| matches!(e, RoomEvent::Server(m) if m.event.event_type() == "USER_JOINED"))
        .collect();
    assert!(joins.is_empty(), "no join announced again: {joins:?}");
    let reconnecting = seen
        .iter()
        .position(|e| matches!(e, RoomEvent::Reconnecting { .. }));
    let connected = seen.iter().position(|e| *e == RoomEvent::Connected);
    assert!(
        reconnecting.is_some() && reconnecting < connected,
        "{seen:?}"
    );
}

#[tokio::test]
async fn a_cut_connection_resumes_with_exactly_what_it_missed() {
    let server = TestServer::start(|_| {}).await;
    let proxy = NetemProxy::start(server.addr, Conditions::new())
        .await
        .unwrap();
    let host = server.guest("Host").await;
    let member = guest_of(&proxy.base_url(), "Member").await;
    let code = open_room(&host).await;
    let (hosting, mut host_events, _) = join_connected(&host, code).await;
    let (watching, mut events, first) = join_connected(&member, code).await;

    let mut seen = Vec::new();
    say(&hosting, &mut host_events, "before").await;
    wait_for(&mut events, "before", &mut seen, |e| {
        (chat_text(e).as_deref() == Some("before")).then_some(())
    })
    .await;

    proxy.hold();
    proxy.cut();
    wait_for(&mut events, "Disconnected(None)", &mut seen, |e| {
        (*e == RoomEvent::Disconnected { close: None }).then_some(())
    })
    .await;
    wait_for(&mut events, "Reconnecting", &mut seen, |e| {
        matches!(e, RoomEvent::Reconnecting { .. }).then_some(())
    })
    .await;
    assert!(matches!(
        watching.chat(text("into the void")).await,
        Err(streamit_client::Error::NotConnected)
    ));
    say(&hosting, &mut host_events, "while away").await;

    proxy.release();
    wait_for(&mut events, "Connected", &mut seen, |e| {
        (*e == RoomEvent::Connected).then_some(())
    })
    .await;
    // The room still holds what the member missed: it is replayed, no snapshot.
    let resumed = next_event(&mut events, "ROOM_RESUMED after Connected").await;
    let Some(ServerEvent::RoomResumed(resumed)) = resumed.server_event().cloned() else {
        panic!("ROOM_RESUMED follows Connected, not {resumed:?}");
    };
    assert_eq!(
        resumed.replayed, 3,
        "its own leaving, the line, its own return"
    );
    say(&hosting, &mut host_events, "after").await;
    wait_for(&mut events, "after", &mut seen, |e| {
        (chat_text(e).as_deref() == Some("after")).then_some(())
    })
    .await;
    assert_no_broadcast_lost(first.seq, &seen);
    assert!(!seen.iter().any(|e| snapshot_of(e).is_some()));
    let lines: Vec<String> = seen.iter().filter_map(chat_text).collect();
    assert_eq!(
        lines,
        ["before", "while away", "after"],
        "'while away' is replayed in its place"
    );
}

#[tokio::test]
async fn a_silent_connection_is_replaced() {
    let server = TestServer::start(|_| {}).await;
    let proxy = NetemProxy::start(server.addr, Conditions::new())
        .await
        .unwrap();
    let host = server.guest("Host").await;
    let member = guest_of(&proxy.base_url(), "Member").await;
    let code = open_room(&host).await;
    let options = quick_options()
        .ping_interval(Duration::from_millis(100))
        .idle_timeout(Duration::from_millis(600));
    let (_watching, mut events) = member
        .join_room_with(code, JoinOptions::new().session(options))
        .await
        .unwrap();
    connected(&mut events).await;
    proxy.freeze();
    skip_to(&mut events, "Disconnected(None)", |e| {
        (*e == RoomEvent::Disconnected { close: None }).then_some(())
    })
    .await;
    skip_to(&mut events, "Connected", |e| {
        (*e == RoomEvent::Connected).then_some(())
    })
    .await;
    let first = next_event(&mut events, "the first frame of the new socket").await;
    assert!(
        matches!(first.server_event(), Some(ServerEvent::RoomResumed(_))),
        "the new socket resumes where the silent one stopped: {first:?}"
    );
}

#[tokio::test]
async fn a_resync_the_server_cannot_answer_is_replaced_by_a_socket_with_a_snapshot() {
    let server = TestServer::start(|_| {}).await;
    let host = server.guest("Host").await;
    let member = server.guest("Member").await;
    let code = open_room(&host).await;
    let (hosting, _host_events, _) = join_connected(&host, code).await;
    let options = JoinOptions::new().session(quick_options().event_buffer(4));
    let (watching, mut events) = member.join_room_with(code, options).await.unwrap();
    connected(&mut events).await;

    // The store can no longer read the room's members: the RESYNC a lag sends fails.
    let rows = |from: &str, to: &str| {
        format!("UPDATE participants SET status = {to} WHERE room_code = '{code}' AND {from}")
    };
    let broken = rows("status NOT LIKE 'BROKEN-%'", "'BROKEN-' || status");
    assert_eq!(server.execute(&broken).await, 2);
    for second in 1..=20 {
        hosting
            .seek(PositionMs::saturating(second * 1_000))
            .await
            .unwrap();
    }
    eventually(
        "the member's session to read every seek",
        PATIENCE,
        async || {
            watching
                .playback()
                .filter(|p| p.position_ms == PositionMs::saturating(20_000))
        },
    )
    .await;

    let mut seen = Vec::new();
    wait_for(&mut events, "Lagged", &mut seen, |e| {
        matches!(e, RoomEvent::Lagged { .. }).then_some(())
    })
    .await;
    // The session gives up on the socket whose RESYNC failed; the store is mended meanwhile.
    wait_for(&mut events, "Disconnected", &mut seen, |e| {
        (*e == RoomEvent::Disconnected { close: None }).then_some(())
    })
    .await;
    let mended = rows("status LIKE 'BROKEN-%'", "substr(status, 8)");
    assert_eq!(server.execute(&mended).await, 2);
    let snapshot = reconnected(&mut events, &mut seen).await;
    assert_eq!(
        snapshot.playback.position_ms,
        PositionMs::saturating(20_000),
        "the fresh snapshot holds what the lag dropped"
    );
}
