//! What a hostile or broken client cannot do (PROTOCOL §2 Close codes): a malformed frame gets
//! `ERROR` with its `ref` and the socket stays open; ten in a row close it with 1008; a frame
//! over 16 KiB closes it with 1009; flooding, or reading too slowly while the room is busy,
//! closes it with 4029 while everyone else still gets every broadcast in order (and one that
//! never reads again is dropped, as it cannot take the close frame); and sockets
//! dropped half-way through the handshake or a frame leave no socket or task behind.

use std::sync::Arc;
use std::time::Duration;

use futures_util::stream::SplitStream;
use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::json;
use streamit_protocol::v1::{
    ClientEvent, ClientMessage, ClientRef, ErrorCode, MAX_FRAME_BYTES, Ping, PositionMs, Seek,
    ServerEvent, ServerMessage,
};
use streamit_server::Switch;
use streamit_testing::sqlite;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;

use crate::support::{Account, TestServer};
use crate::ws_support::{
    Ended, Ws, WsClient, eventually, expect_error, hosted_room, member, metric, next_event,
};

fn ping(ts: u64) -> ClientEvent {
    ClientEvent::Ping(Ping::new(ts))
}

fn seek_frame(ms: u64) -> String {
    ClientMessage::new(ClientEvent::Seek(Seek::new(PositionMs::new(ms).unwrap()))).encode()
}

/// A room on SQLite with its host connected; the server, the code, the host and their socket.
async fn room_with_host(
    tweak: impl FnOnce(&mut streamit_server::Config),
) -> (
    streamit_testing::TestDatabase,
    TestServer,
    String,
    Account,
    WsClient,
) {
    let db = sqlite();
    let s = TestServer::start(&db.url, tweak).await;
    let (host, code) = hosted_room(&s, json!({})).await;
    let (socket, _) = WsClient::join(&s, &code, &host, "host").await;
    (db, s, code, host, socket)
}

#[tokio::test]
async fn malformed_frames_are_answered_and_the_socket_stays_open() {
    let (_db, s, code, _host, mut host) = room_with_host(|_| {}).await;
    let ada = member(&s, &code, "Ada").await;
    let (mut ada_socket, _) = WsClient::join(&s, &code, &ada, "ada").await;
    let _ = next_event!(host, UserJoined);
    let cases: [(&str, String, ErrorCode, Option<&str>); 11] = [
        ("not JSON", "hello".into(), ErrorCode::InvalidMessage, None),
        (
            "truncated",
            r#"{"type": "PING", "ref": "t""#.into(),
            ErrorCode::InvalidMessage,
            None,
        ),
        ("an array", "[1, 2]".into(), ErrorCode::InvalidMessage, None),
        (
            "no type",
            r#"{"ref": "a"}"#.into(),
            ErrorCode::InvalidMessage,
            Some("a"),
        ),
        (
            "type not a string",
            r#"{"type": 5, "ref": "b"}"#.into(),
            ErrorCode::InvalidMessage,
            Some("b"),
        ),
        (
            "unknown type",
            r#"{"type": "DANCE", "ref": "c"}"#.into(),
            ErrorCode::UnknownEvent,
            Some("c"),
        ),
        (
            "lower case type",
            r#"{"type": "ping", "ref": "d"}"#.into(),
            ErrorCode::UnknownEvent,
            Some("d"),
        ),
        (
            "wrong field type",
            r#"{"type": "SEEK", "data": {"position_ms": "ten"}, "ref": "e"}"#.into(),
            ErrorCode::InvalidMessage,
            Some("e"),
        ),
        (
            "data not an object",
            r#"{"type": "PING", "data": [1], "ref": "f"}"#.into(),
            ErrorCode::InvalidMessage,
            Some("f"),
        ),
        (
            "missing field",
            r#"{"type": "PING", "data": {}, "ref": "g"}"#.into(),
            ErrorCode::InvalidMessage,
            Some("g"),
        ),
        (
            "ref too long",
            json!({"type": "PING", "data": {"client_ts": 1}, "ref": "r".repeat(65)}).to_string(),
            ErrorCode::InvalidMessage,
            None,
        ),
    ];
    for (what, frame, code, reference) in cases {
        ada_socket.send_text(frame).await;
        let (message, error) = next_event!(ada_socket, Error);
        assert_eq!(error.code, code, "{what}: {message:?}");
        assert_eq!(
            message.reference.as_ref().map(ClientRef::as_str),
            reference,
            "{what}: {message:?}"
        );
        assert!(!error.message.is_empty(), "{what}");
        // Still open, and a valid frame resets the count of malformed ones in a row.
        ada_socket.assert_idle(what).await;
    }
    ada_socket
        .send_binary(br#"{"type": "PING", "data": {"client_ts": 1}, "ref": "bin"}"#.to_vec())
        .await;
    expect_error!(ada_socket, ErrorCode::InvalidMessage, None);
    ada_socket.assert_idle("after a binary frame").await;
    // Unknown fields and a null data are fine.
    ada_socket
        .send_text(r#"{"type": "RESYNC", "data": null, "ref": "n", "extra": {"x": [1]}}"#)
        .await;
    let (message, _) = next_event!(ada_socket, RoomSnapshot);
    assert_eq!(message.reference.as_ref().map(ClientRef::as_str), Some("n"));
    host.assert_idle("nothing of this reached the room").await;
}

#[tokio::test]
async fn ten_malformed_frames_in_a_row_close_1008() {
    let (_db, s, code, _host, mut host) = room_with_host(|_| {}).await;
    let ada = member(&s, &code, "Ada").await;
    let (mut ada_socket, _) = WsClient::join(&s, &code, &ada, "ada").await;
    let _ = next_event!(host, UserJoined);
    // Nine, a good one, nine more: never ten in a row.
    for round in 0..2 {
        for i in 0..9 {
            ada_socket.send_text(format!("garbage {round}.{i}")).await;
            expect_error!(ada_socket, ErrorCode::InvalidMessage, None);
        }
        ada_socket.assert_idle("nine in a row").await;
    }
    for i in 0..10 {
        ada_socket.send_text(format!("garbage {i}")).await;
    }
    let (code, frames) = ada_socket.close_after_frames().await;
    assert_eq!(code, 1008);
    assert_eq!(
        frames.len(),
        10,
        "an ERROR for each, then the close: {frames:?}"
    );
    assert!(
        frames.iter().all(
            |m| matches!(&m.event, ServerEvent::Error(e) if e.code == ErrorCode::InvalidMessage)
        )
    );
    let (_, left) = next_event!(host, UserLeft);
    assert_eq!(left.user.id.to_string(), ada.user_id);
}

/// A `PING` frame padded with an ignored field to exactly `len` bytes.
fn padded_ping(len: usize) -> String {
    let empty = r#"{"type":"PING","data":{"client_ts":1},"ref":"big","pad":""}"#;
    let frame = format!(
        r#"{{"type":"PING","data":{{"client_ts":1}},"ref":"big","pad":"{}"}}"#,
        "x".repeat(len - empty.len())
    );
    assert_eq!(frame.len(), len);
    frame
}

#[tokio::test]
async fn a_frame_over_16_kib_closes_1009() {
    let (_db, s, code, _host, mut host) = room_with_host(|_| {}).await;
    let ada = member(&s, &code, "Ada").await;
    let (mut ada_socket, _) = WsClient::join(&s, &code, &ada, "ada").await;
    let _ = next_event!(host, UserJoined);
    ada_socket.send_text(padded_ping(MAX_FRAME_BYTES)).await;
    let (message, _) = next_event!(ada_socket, Pong);
    assert_eq!(
        message.reference.as_ref().map(ClientRef::as_str),
        Some("big"),
        "16 KiB is fine"
    );
    ada_socket.send_text(padded_ping(MAX_FRAME_BYTES + 1)).await;
    assert_eq!(ada_socket.expect_close().await, 1009);
    let (_, left) = next_event!(host, UserLeft);
    assert_eq!(left.user.id.to_string(), ada.user_id);
    host.assert_idle("the room goes on").await;
}

#[tokio::test]
async fn flooding_closes_4029() {
    let (_db, s, code, _host, mut host) = room_with_host(|c| c.rate_limits = Switch::On).await;
    let ada = member(&s, &code, "Ada").await;
    let (mut ada_socket, _) = WsClient::join(&s, &code, &ada, "ada").await;
    let _ = next_event!(host, UserJoined);
    let frame = ClientMessage::new(ping(1)).encode();
    for _ in 0..1_000 {
        if !ada_socket.send_text_lossy(frame.clone()).await {
            break;
        }
    }
    let (code, frames) = ada_socket.close_after_frames().await;
    assert_eq!(code, 4029, "after {} frames", frames.len());
    assert!(frames.len() < 1_000, "cut off before the end of the flood");
    assert!(
        frames
            .iter()
            .all(|m| matches!(m.event, ServerEvent::Pong(_)))
    );
    let (_, left) = next_event!(host, UserLeft);
    assert_eq!(left.user.id.to_string(), ada.user_id);
}

/// Reads a socket's frames until the PLAYBACK_STATE at `last`, checking every broadcast's
/// `seq` follows the one before and reporting how many PLAYBACK_STATEs it has read; their
/// positions, in order.
async fn read_all(
    label: String,
    mut stream: SplitStream<Ws>,
    mut seq: u64,
    last: u64,
    progress: watch::Sender<u64>,
) -> Vec<u64> {
    let mut positions = Vec::new();
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(30), stream.next()).await;
        let text = match frame {
            Ok(Some(Ok(Message::Text(text)))) => text,
            Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => continue,
            other => panic!(
                "{label}: wanted a frame after {} states, got {other:?}",
                positions.len()
            ),
        };
        let message = ServerMessage::decode(text.as_str()).unwrap();
        if let Some(next) = message.seq {
            assert_eq!(next, seq + 1, "{label}: no gap");
            seq = next;
        }
        match message.event {
            ServerEvent::PlaybackState(state) => {
                let at = state.playback.position_ms.get();
                positions.push(at);
                progress.send_replace(positions.len() as u64);
                if at == last {
                    return positions;
                }
            }
            ServerEvent::UserLeft(_) => {}
            other => panic!("{label}: unexpected {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_consumer_is_cut_off_and_the_others_get_every_broadcast() {
    let (_db, s, code, _host, mut host_socket) = room_with_host(|_| {}).await;
    let reader = member(&s, &code, "Reader").await;
    let sleeper = member(&s, &code, "Sleeper").await;
    let (mut reader_socket, _) = WsClient::join(&s, &code, &reader, "reader").await;
    let _ = next_event!(host_socket, UserJoined);
    let (mut sleeper_socket, snapshot) = WsClient::join(&s, &code, &sleeper, "sleeper").await;
    let _ = next_event!(host_socket, UserJoined);
    let _ = next_event!(reader_socket, UserJoined);
    let start = snapshot.seq;

    // The host writes; two tasks read the host's and the reader's frames and say how far they
    // got, and the host never runs more than WINDOW ahead of either, so only the sleeper, who
    // reads nothing from now on, can fall behind.
    const WINDOW: u64 = 256;
    const MOST: u64 = 200_000;
    let last = PositionMs::MAX.get();
    let (host_label, host_ws) = host_socket.into_inner();
    let (mut host_tx, host_rx) = host_ws.split();
    let (host_progress, mut host_seen) = watch::channel(0u64);
    let host_reading = tokio::spawn(read_all(host_label, host_rx, start, last, host_progress));
    let (reader_label, reader_ws) = reader_socket.into_inner();
    // The reader's writing half stays alive so its socket stays open.
    let (reader_tx, reader_rx) = reader_ws.split();
    let (reader_progress, mut reader_seen) = watch::channel(0u64);
    let reading = tokio::spawn(read_all(
        reader_label,
        reader_rx,
        start,
        last,
        reader_progress,
    ));
    let mut sent = 0;
    let cut_off = loop {
        if sent % 1_000 == 0 && metric(&s, "streamit_slow_consumers_total").await >= 1 {
            break true;
        }
        if sent == MOST {
            break false;
        }
        for seen in [&mut reader_seen, &mut host_seen] {
            let caught_up = seen.wait_for(|&seen| sent - seen < WINDOW);
            tokio::time::timeout(Duration::from_secs(30), caught_up)
                .await
                .expect("the readers keep up")
                .expect("the readers are alive");
        }
        sent += 1;
        host_tx.send(Message::text(seek_frame(sent))).await.unwrap();
    };
    assert!(
        cut_off,
        "the sleeper was never cut off after {sent} broadcasts"
    );
    host_tx.send(Message::text(seek_frame(last))).await.unwrap();
    let wanted: Vec<u64> = (1..=sent).chain([last]).collect();
    for (who, task) in [("reader", reading), ("host", host_reading)] {
        let positions = tokio::time::timeout(Duration::from_secs(60), task)
            .await
            .unwrap_or_else(|_| panic!("the {who} reads everything"))
            .unwrap();
        assert_eq!(
            positions.len(),
            wanted.len(),
            "the {who} got every PLAYBACK_STATE"
        );
        assert!(positions == wanted, "the {who} got them in order");
    }

    let (close, frames) = sleeper_socket.close_after_frames().await;
    assert_eq!(
        close,
        4029,
        "the sleeper is closed as too slow after {} frames",
        frames.len()
    );
    let got: Vec<u64> = frames
        .iter()
        .filter_map(|m| match &m.event {
            ServerEvent::PlaybackState(state) => Some(state.playback.position_ms.get()),
            _ => None,
        })
        .collect();
    assert!(got.len() < wanted.len(), "the sleeper missed the end");
    assert_eq!(got, wanted[..got.len()], "what it got was in order");
    drop((host_tx, reader_tx));
}

/// A member who stops reading for good cannot take even the 4029 close frame; the server drops
/// its connection a bounded time later (ten seconds) instead of holding its task and buffers
/// for as long as TCP keeps probing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_who_never_reads_again_is_dropped() {
    let (_db, s, code, _host, host_socket) = room_with_host(|_| {}).await;
    let sleeper = member(&s, &code, "Sleeper").await;
    let (mut sleeper_socket, _) = WsClient::join(&s, &code, &sleeper, "sleeper").await;
    let (_, host_ws) = host_socket.into_inner();
    let (mut host_tx, mut host_rx) = host_ws.split();
    // The host reads every frame and the writing below stays within a window of it, so only
    // the sleeper falls behind.
    let (host_progress, mut host_seen) = watch::channel(0u64);
    let host_reading = tokio::spawn(async move {
        let mut states = 0;
        while let Some(Ok(frame)) = host_rx.next().await {
            if let Message::Text(text) = frame
                && matches!(
                    ServerMessage::decode(text.as_str()).map(|m| m.event),
                    Ok(ServerEvent::PlaybackState(_))
                )
            {
                states += 1;
                host_progress.send_replace(states);
            }
        }
    });
    let mut sent = 0;
    while metric(&s, "streamit_slow_consumers_total").await == 0 {
        assert!(sent < 200_000, "the sleeper was never cut off");
        for _ in 0..256 {
            sent += 1;
            host_tx.send(Message::text(seek_frame(sent))).await.unwrap();
        }
        let caught_up = host_seen.wait_for(|&seen| seen == sent);
        tokio::time::timeout(Duration::from_secs(30), caught_up)
            .await
            .expect("the host keeps up")
            .expect("the host is reading");
    }
    eventually(
        "the sleeper's connection is dropped",
        Duration::from_secs(60),
        || async { (metric(&s, "streamit_sockets_open").await == 1).then_some(()) },
    )
    .await;
    let ended = loop {
        match sleeper_socket.read(Duration::from_secs(30)).await {
            Ok(_) => continue,
            Err(ended) => break ended,
        }
    };
    assert!(
        matches!(ended, Ended::Eof | Ended::Error(_)),
        "the sleeper's connection ends, with no close frame it could not take: {ended:?}"
    );
    drop(host_tx);
    host_reading.abort();
}

/// An upgrade request for `code` as raw bytes.
fn upgrade_request(s: &TestServer, code: &str, token: &str) -> Vec<u8> {
    format!(
        "GET /ws/room/{code}/?token={token} HTTP/1.1\r\nHost: {}\r\nConnection: Upgrade\r\n\
         Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
        s.addr
    )
    .into_bytes()
}

/// How a raw connection gives up.
#[derive(Clone, Copy, Debug)]
enum Abandon {
    /// Half of the upgrade request, then gone.
    MidRequest,
    /// The whole upgrade request, then gone before reading the answer.
    BeforeAnswer,
    /// Upgraded, then half a (masked) text frame, then gone.
    MidFrame,
}

async fn abandon(s: &TestServer, code: &str, token: &str, how: Abandon) {
    let mut stream = TcpStream::connect(s.addr).await.unwrap();
    let request = upgrade_request(s, code, token);
    match how {
        Abandon::MidRequest => {
            stream
                .write_all(&request[..request.len() / 2])
                .await
                .unwrap();
        }
        Abandon::BeforeAnswer => stream.write_all(&request).await.unwrap(),
        Abandon::MidFrame => {
            stream.write_all(&request).await.unwrap();
            // Read the 101 answer to its end, so the socket is upgraded.
            let mut answer = Vec::new();
            let mut byte = [0u8; 1];
            while !answer.ends_with(b"\r\n\r\n") {
                let read = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut byte));
                assert_eq!(read.await.expect("an answer").unwrap(), 1, "{answer:?}");
                answer.push(byte[0]);
            }
            assert!(
                answer.starts_with(b"HTTP/1.1 101"),
                "{}",
                String::from_utf8_lossy(&answer)
            );
            // FIN + text, masked, 16-bit length 200, the mask, then 20 of the 200 bytes.
            let mut frame = vec![0x81, 0x80 | 126, 0, 200, 1, 2, 3, 4];
            frame.extend_from_slice(&[b'x'; 20]);
            stream.write_all(&frame).await.unwrap();
        }
    }
    drop(stream);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sockets_dropped_half_way_leave_nothing_behind() {
    let db = sqlite();
    let s = TestServer::start(&db.url, |_| {}).await;
    let (_host, code) = hosted_room(&s, json!({})).await;
    let ada = member(&s, &code, "Ada").await;
    eventually("a quiet server", Duration::from_secs(10), || async {
        let sockets = metric(&s, "streamit_sockets_open").await;
        let rooms = metric(&s, "streamit_rooms_live").await;
        (sockets == 0 && rooms == 0).then_some(())
    })
    .await;
    // The fewest tasks of a few readings: the connection of an earlier reading may not have
    // ended yet when the next one is answered.
    let mut before = i64::MAX;
    for _ in 0..5 {
        before = before.min(metric(&s, "streamit_tasks").await);
    }

    let s = Arc::new(s);
    for how in [
        Abandon::MidRequest,
        Abandon::BeforeAnswer,
        Abandon::MidFrame,
    ] {
        for _batch in 0..14 {
            let mut batch = tokio::task::JoinSet::new();
            for _ in 0..25 {
                let (s, code, token) = (Arc::clone(&s), code.clone(), ada.access.clone());
                batch.spawn(async move { abandon(&s, &code, &token, how).await });
            }
            while let Some(done) = batch.join_next().await {
                done.unwrap();
            }
        }
    }

    // Every socket task, writer and room task ends; only the sweeper and the connection that
    // asks for /metrics remain, as before.
    let mut last = (0, 0, 0);
    let waited = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let sockets = metric(&s, "streamit_sockets_open").await;
            let rooms = metric(&s, "streamit_rooms_live").await;
            let tasks = metric(&s, "streamit_tasks").await;
            last = (sockets, rooms, tasks);
            if sockets == 0 && rooms == 0 && tasks <= before {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    assert!(
        waited.is_ok(),
        "1 050 abandoned sockets left (sockets_open, rooms_live, tasks) = {last:?}; \
         tasks were {before} before"
    );
    // The server still serves the room.
    let (mut socket, _) = WsClient::join(&s, &code, &ada, "ada after").await;
    socket.assert_idle("after the abandoned sockets").await;
}
