//! A fake server standing in for a newer or broken one: it answers the REST join, then hands
//! each WebSocket to the test, which writes whatever frames it likes. It shows the session
//! surviving unknown events and garbage, resyncing on a `seq` gap (and replacing the socket
//! when the `RESYNC` is refused or goes unanswered), reconnecting on reconnectable codes,
//! keeping unknown ones, and telling a slow app it lagged.

use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use streamit_client::protocol::v1::{
    AccessToken, CloseCode, FrameError, RefreshToken, RoomCode, ServerEvent, TokenPair,
};
use streamit_client::{
    Client, Close, CloseStatus, JoinOptions, RoomEvent, RoomEvents, RoomSession,
};
use streamit_testing::eventually;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;

use crate::support::{PATIENCE, final_code, next_event, quick_options, read_to_end, skip_to};

const CODE: &str = "ABCD2345";
const ME: &str = "00000000-0000-4000-8000-000000000001";
const HOST: &str = "00000000-0000-4000-8000-000000000002";

type Ws = WebSocketStream<TcpStream>;

/// One accepted socket, the path and query it asked for and the `Authorization` header it
/// came with.
struct Accepted {
    ws: Ws,
    path: String,
    authorization: Option<String>,
}

struct Fake {
    base_url: String,
    sockets: mpsc::Receiver<Accepted>,
}

impl Fake {
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let (sender, sockets) = mpsc::channel(8);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, sender.clone()));
            }
        });
        Self { base_url, sockets }
    }

    /// The next socket the client opens.
    async fn socket(&mut self) -> Accepted {
        tokio::time::timeout(PATIENCE, self.sockets.recv())
            .await
            .expect("the client connects")
            .expect("the fake is running")
    }

    /// A client signed in with tokens the fake takes on trust.
    fn client(&self) -> Client {
        let tokens = TokenPair::new(
            AccessToken::new("fake-access").unwrap(),
            RefreshToken::new("fake-refresh").unwrap(),
            0,
        );
        Client::builder(&self.base_url)
            .no_proxy()
            .tokens(tokens)
            .session_options(quick_options())
            .build()
            .unwrap()
    }
}

/// A `POST` is the REST join (answered APPROVED); anything else is a WebSocket upgrade.
#[allow(
    clippy::result_large_err,
    reason = "tungstenite's handshake callback type"
)]
async fn serve(stream: TcpStream, sockets: mpsc::Sender<Accepted>) {
    let mut head = [0u8; 4];
    loop {
        match stream.peek(&mut head).await {
            Ok(4) => break,
            Ok(0) | Err(_) => return,
            Ok(_) => tokio::time::sleep(Duration::from_millis(1)).await,
        }
    }
    if &head == b"POST" {
        answer_join(stream).await;
        return;
    }
    let mut authorization = None;
    let mut path = String::new();
    let callback = |request: &Request, response: Response| {
        path = request.uri().to_string();
        authorization = request
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        Ok(response)
    };
    if let Ok(ws) = tokio_tungstenite::accept_hdr_async(stream, callback).await {
        let accepted = Accepted {
            ws,
            path,
            authorization,
        };
        let _ = sockets.send(accepted).await;
    }
}

async fn answer_join(mut stream: TcpStream) {
    let mut request = Vec::new();
    let mut buffer = [0u8; 4096];
    // Head, then a body of Content-Length bytes.
    loop {
        let Ok(n) = stream.read(&mut buffer).await else {
            return;
        };
        if n == 0 {
            return;
        }
        request.extend_from_slice(&buffer[..n]);
        let text = String::from_utf8_lossy(&request).to_ascii_lowercase();
        if let Some(end) = text.find("\r\n\r\n") {
            let length = text
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            if request.len() >= end + 4 + length {
                break;
            }
        }
    }
    let body = json!({"status": "APPROVED", "is_host": false, "room": room()}).to_string();
    let answer = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(answer.as_bytes()).await;
    let _ = stream.shutdown().await;
}

fn room() -> Value {
    json!({"code": CODE, "name": "Fake", "host": {"id": HOST, "display_name": "Host"}, "state": "LIVE",
        "is_private": false, "entry_mode": "OPEN", "chat_enabled": true, "viewers": 2, "created_at_ms": 1})
}

fn snapshot(seq: u64, reference: Option<&str>) -> String {
    let participants = json!([
        {"user": {"id": HOST, "display_name": "Host"}, "status": "APPROVED", "is_host": true, "online": true},
        {"user": {"id": ME, "display_name": "Me"}, "status": "APPROVED", "is_host": false, "online": true}
    ]);
    let mut frame = json!({"v": 1, "type": "ROOM_SNAPSHOT", "ts": 1, "data": {
        "room": room(), "you": {"user": {"id": ME, "display_name": "Me"}, "is_host": false},
        "participants": participants,
        "playback": {"playing": false, "position_ms": 0, "rate": 1.0, "updated_at_ms": 1, "version": 1},
        "chat": [], "seq": seq}});
    if let Some(reference) = reference {
        frame["ref"] = json!(reference);
    }
    frame.to_string()
}

/// A snapshot whose room can replay its broadcasts under `epoch`.
fn resumable_snapshot(seq: u64, epoch: &str) -> String {
    let mut frame: Value = serde_json::from_str(&snapshot(seq, None)).unwrap();
    frame["data"]["epoch"] = json!(epoch);
    frame.to_string()
}

fn chat(seq: u64, text: &str) -> String {
    json!({"v": 1, "type": "CHAT_MESSAGE", "seq": seq, "ts": 2, "data": {
        "id": "00000000-0000-4000-8000-0000000000aa", "user": {"id": HOST, "display_name": "Host"},
        "text": text, "sent_at_ms": 2}})
    .to_string()
}

async fn send(ws: &mut Ws, frame: String) {
    ws.send(Message::text(frame)).await.unwrap();
}

async fn close(ws: &mut Ws, code: u16) {
    let frame = CloseFrame {
        code: code.into(),
        reason: "".into(),
    };
    ws.send(Message::Close(Some(frame))).await.unwrap();
}

/// Reads the client's frames until one of type `kind`; its `ref`.
async fn client_sends(ws: &mut Ws, kind: &str) -> String {
    let reading = async {
        while let Some(Ok(message)) = ws.next().await {
            if let Message::Text(text) = message {
                let frame: Value = serde_json::from_str(text.as_str()).unwrap();
                if frame["type"] == kind {
                    return frame["ref"].as_str().unwrap().to_owned();
                }
            }
        }
        panic!("the client closed before sending {kind}");
    };
    tokio::time::timeout(PATIENCE, reading)
        .await
        .expect("the client sends it")
}

/// Every frame type the client sends until the socket ends.
async fn client_frames_to_end(ws: &mut Ws) -> Vec<String> {
    let mut kinds = Vec::new();
    let reading = async {
        while let Some(Ok(message)) = ws.next().await {
            if let Message::Text(text) = message {
                let frame: Value = serde_json::from_str(text.as_str()).unwrap();
                kinds.push(frame["type"].as_str().unwrap().to_owned());
            }
        }
    };
    tokio::time::timeout(PATIENCE, reading)
        .await
        .expect("the socket ends");
    kinds
}

/// The events up to the broadcast numbered `last`, and the `seq`s of the broadcasts among them.
async fn until_seq(events: &mut RoomEvents, last: u64) -> (Vec<u64>, Vec<RoomEvent>) {
    let mut seen = Vec::new();
    crate::support::wait_for(events, &format!("broadcast {last}"), &mut seen, |e| {
        (e.seq() == Some(last)).then_some(())
    })
    .await;
    (seen.iter().filter_map(RoomEvent::seq).collect(), seen)
}

async fn join(fake: &Fake, options: streamit_client::SessionOptions) -> (RoomSession, RoomEvents) {
    let client = fake.client();
    client
        .join_room_with(
            RoomCode::parse(CODE).unwrap(),
            JoinOptions::new().session(options),
        )
        .await
        .unwrap()
}

#[tokio::test]
async fn unknown_events_and_garbage_do_not_end_the_session() {
    let mut fake = Fake::start().await;
    let (session, mut events) = join(&fake, quick_options()).await;
    let Accepted {
        mut ws,
        authorization,
        ..
    } = fake.socket().await;
    assert_eq!(authorization.as_deref(), Some("Bearer fake-access"));

    send(&mut ws, snapshot(10, None)).await;
    send(
        &mut ws,
        r#"{"v":1,"type":"NEW_THING","ts":1,"data":{}}"#.to_owned(),
    )
    .await;
    send(&mut ws, "not json".to_owned()).await;
    // Over 16 KiB with a chat line no server may send; then over every frame limit.
    send(&mut ws, chat(11, &"x".repeat(17 * 1024))).await;
    send(&mut ws, chat(11, &"x".repeat(1024 * 1024 + 1))).await;
    ws.send(Message::binary(vec![1, 2, 3])).await.unwrap();
    send(&mut ws, chat(11, "still here")).await;

    assert_eq!(
        next_event(&mut events, "Connected").await,
        RoomEvent::Connected
    );
    let snapshot_event = next_event(&mut events, "snapshot").await;
    assert!(matches!(
        snapshot_event.server_event(),
        Some(ServerEvent::RoomSnapshot(_))
    ));
    assert!(session.is_connected() && !session.is_host());
    match next_event(&mut events, "NEW_THING").await.server_event() {
        Some(ServerEvent::Unknown(unknown)) => {
            assert_eq!(unknown.event_type, "NEW_THING");
            assert_eq!(unknown.data, json!({}));
        }
        other => panic!("wanted Unknown, got {other:?}"),
    }
    let garbage = next_event(&mut events, "not json").await;
    assert!(
        matches!(
            garbage,
            RoomEvent::Malformed {
                error: FrameError::Malformed(_)
            }
        ),
        "{garbage:?}"
    );
    let long_line = next_event(&mut events, "17 KiB").await;
    assert!(
        matches!(long_line, RoomEvent::Malformed { .. }),
        "{long_line:?}"
    );
    let too_big = next_event(&mut events, "1 MiB").await;
    assert!(
        matches!(too_big, RoomEvent::Malformed { error: FrameError::TooLarge(n) } if n > 1024 * 1024),
        "{too_big:?}"
    );
    let binary = next_event(&mut events, "binary").await;
    assert!(matches!(binary, RoomEvent::Malformed { .. }), "{binary:?}");
    let line = next_event(&mut events, "the chat after").await;
    assert_eq!(line.seq(), Some(11));
    assert!(session.is_connected(), "garbage does not end the session");

    close(&mut ws, CloseCode::RoomClosed.as_u16()).await;
    let rest = read_to_end(&mut events).await;
    assert_eq!(
        rest,
        [RoomEvent::Disconnected {
            close: Some(CloseCode::RoomClosed.into())
        }]
    );
}

#[tokio::test]
async fn a_seq_gap_asks_for_one_snapshot_and_repeats_are_dropped() {
    let mut fake = Fake::start().await;
    let (_session, mut events) = join(&fake, quick_options()).await;
    let Accepted { mut ws, .. } = fake.socket().await;
    send(&mut ws, snapshot(10, None)).await;
    send(&mut ws, chat(11, "eleven")).await;
    send(&mut ws, chat(11, "eleven again")).await;
    send(&mut ws, chat(14, "fourteen")).await;
    send(&mut ws, chat(15, "fifteen")).await;
    let resync = client_sends(&mut ws, "RESYNC").await;
    assert!(resync.starts_with('~'), "the session's own ref: {resync}");
    send(&mut ws, snapshot(15, Some(&resync))).await;
    send(&mut ws, chat(16, "sixteen")).await;

    let (broadcasts, seen) = until_seq(&mut events, 16).await;
    assert_eq!(
        broadcasts,
        [11, 14, 15, 16],
        "the repeat of 11 is dropped: {seen:?}"
    );
    let replies: Vec<_> = seen.iter().filter(|e| e.reference().is_some()).collect();
    assert_eq!(
        replies.len(),
        1,
        "the resync's snapshot reaches the app: {seen:?}"
    );

    close(&mut ws, CloseCode::Kicked.as_u16()).await;
    let kinds = client_frames_to_end(&mut ws).await;
    assert!(
        !kinds.contains(&"RESYNC".to_owned()),
        "one RESYNC per gap: {kinds:?}"
    );
    assert_eq!(
        final_code(&read_to_end(&mut events).await),
        Some(CloseCode::Kicked.into())
    );
}

#[tokio::test]
async fn reconnectable_codes_reconnect_and_terminal_ones_end() {
    let mut fake = Fake::start().await;
    let (session, mut events) = join(&fake, quick_options()).await;
    // Each socket is dropped soon after its admission: the attempts count on, and the delays
    // grow, as against a server that keeps dropping everyone.
    for (code, attempt) in [(4029, Some(1)), (1012, Some(2)), (4011, None)] {
        let Accepted { mut ws, .. } = fake.socket().await;
        send(&mut ws, snapshot(10, None)).await;
        skip_to(&mut events, "Connected", |e| {
            (*e == RoomEvent::Connected).then_some(())
        })
        .await;
        let frame = CloseFrame {
            code: code.into(),
            reason: "why".into(),
        };
        ws.send(Message::Close(Some(frame))).await.unwrap();
        let disconnected = skip_to(&mut events, "Disconnected", |e| match e {
            RoomEvent::Disconnected { close } => Some(close.clone()),
            _ => None,
        })
        .await;
        assert_eq!(
            disconnected,
            Some(Close::new(CloseStatus::from_u16(code), "why")),
            "close {code}"
        );
        if let Some(expected) = attempt {
            let next = next_event(&mut events, "Reconnecting").await;
            assert!(
                matches!(next, RoomEvent::Reconnecting { attempt, .. } if attempt == expected),
                "{code}: {next:?}"
            );
        } else {
            assert_eq!(events.recv().await, None, "{code} ends the stream");
            assert!(session.is_closed());
        }
    }
}

#[tokio::test]
async fn an_unknown_close_code_is_kept_with_its_reason() {
    let mut fake = Fake::start().await;
    let (_session, mut events) = join(&fake, quick_options()).await;
    let Accepted { mut ws, .. } = fake.socket().await;
    send(&mut ws, snapshot(10, None)).await;
    let frame = CloseFrame {
        code: 4321.into(),
        reason: "closed for maintenance".into(),
    };
    ws.send(Message::Close(Some(frame))).await.unwrap();
    let all = read_to_end(&mut events).await;
    let Some(RoomEvent::Disconnected { close: Some(close) }) = all.last() else {
        panic!("the stream ends with the close: {all:?}");
    };
    assert_eq!(close.code, CloseStatus::Unknown(4321));
    assert_eq!(close.reason, "closed for maintenance");
    assert_eq!(
        close.to_string(),
        "4321 (unknown) \"closed for maintenance\""
    );
    assert!(
        !all.iter()
            .any(|e| matches!(e, RoomEvent::Reconnecting { .. })),
        "an unknown code is not retried: {all:?}"
    );
}

/// Sends `first` (a snapshot at 10), lines 11 to 30 and a playback change at 31 faster than an
/// app whose event buffer holds 4 reads them, and waits until the session has read them all.
async fn overflow(ws: &mut Ws, session: &RoomSession, first: String) {
    send(ws, first).await;
    for seq in 11..=30 {
        send(ws, chat(seq, &format!("line {seq}"))).await;
    }
    let marker = json!({"v": 1, "type": "PLAYBACK_STATE", "seq": 31, "ts": 3, "data": {
        "playing": true, "position_ms": 5, "rate": 1.0, "updated_at_ms": 3, "version": 99,
        "cause": "PLAY", "by": HOST}});
    send(ws, marker.to_string()).await;
    // The task has read everything once its state shows the last event.
    eventually("the task to read every frame", PATIENCE, async || {
        session.playback().filter(|p| p.version == 99)
    })
    .await;
}

#[tokio::test]
async fn a_slow_app_gets_lagged_then_a_fresh_snapshot() {
    let mut fake = Fake::start().await;
    let (session, mut events) = join(&fake, quick_options().event_buffer(4)).await;
    let Accepted { mut ws, .. } = fake.socket().await;
    overflow(&mut ws, &session, snapshot(10, None)).await;

    assert_eq!(
        next_event(&mut events, "Connected").await,
        RoomEvent::Connected
    );
    assert!(
        next_event(&mut events, "snapshot")
            .await
            .server_event()
            .is_some()
    );
    assert_eq!(next_event(&mut events, "11").await.seq(), Some(11));
    assert_eq!(next_event(&mut events, "12").await.seq(), Some(12));
    assert_eq!(
        next_event(&mut events, "Lagged").await,
        RoomEvent::Lagged { missed: 19 }
    );
    let resync = client_sends(&mut ws, "RESYNC").await;
    send(&mut ws, snapshot(31, Some(&resync))).await;
    let fresh = next_event(&mut events, "the fresh snapshot").await;
    assert_eq!(fresh.reference().map(|r| r.as_str()), Some(resync.as_str()));
    assert!(matches!(
        fresh.server_event(),
        Some(ServerEvent::RoomSnapshot(_))
    ));
}

#[tokio::test]
async fn a_message_over_the_sessions_limit_drops_the_socket_and_small_buffers_read_big_ones() {
    let mut fake = Fake::start().await;
    let options = quick_options()
        .websocket_buffers(256, 0)
        .max_message_bytes(64 * 1024);
    let (_session, mut events) = join(&fake, options).await;
    let Accepted { mut ws, .. } = fake.socket().await;
    send(&mut ws, snapshot(10, None)).await;
    // 40 KiB through a 256-byte read buffer arrives whole; 80 KiB is over the limit.
    let big = json!({"v": 1, "type": "BIG_THING", "seq": 11, "ts": 2, "data": {"blob": "y".repeat(40 * 1024)}});
    send(&mut ws, big.to_string()).await;
    send(&mut ws, chat(12, &"z".repeat(80 * 1024))).await;

    let mut seen = Vec::new();
    let code = crate::support::wait_for(&mut events, "Disconnected", &mut seen, |e| match e {
        RoomEvent::Disconnected { close } => Some(close.clone()),
        _ => None,
    })
    .await;
    assert_eq!(code, None, "a lost socket, not a close code");
    let big = seen.iter().find(|e| e.seq() == Some(11));
    assert!(
        matches!(big.and_then(RoomEvent::server_event), Some(ServerEvent::Unknown(u)) if u.data["blob"].as_str().is_some_and(|b| b.len() == 40 * 1024)),
        "the 40 KiB event arrives whole: {seen:?}"
    );
    assert!(
        !seen.iter().any(|e| e.seq() == Some(12)),
        "the 80 KiB line never arrives: {seen:?}"
    );
    assert!(matches!(
        next_event(&mut events, "Reconnecting").await,
        RoomEvent::Reconnecting { attempt: 1, .. }
    ));
}

/// The `ERROR` a server whose store failed answers the request `reference` with.
fn refusal(reference: &str) -> String {
    json!({"v": 1, "type": "ERROR", "ts": 3, "ref": reference,
        "data": {"code": "INTERNAL", "message": "the store failed"}})
    .to_string()
}

/// Refuses the session's next `RESYNC` and waits for the socket to end; the number of the
/// reconnect attempt that follows.
async fn refuse_resync(ws: &mut Ws, events: &mut RoomEvents) -> u32 {
    let resync = client_sends(ws, "RESYNC").await;
    send(ws, refusal(&resync)).await;
    client_frames_to_end(ws).await;
    skip_to(events, "Reconnecting", |e| match e {
        RoomEvent::Reconnecting { attempt, .. } => Some(*attempt),
        _ => None,
    })
    .await
}

/// A session whose first socket saw 10 and 11 and then 13 (12 was lost), and asked for a
/// replay from 11; the fake, its first socket and the `RESYNC`'s ref.
async fn gap_with_replay_asked(
    options: streamit_client::SessionOptions,
) -> (Fake, RoomSession, RoomEvents, Ws, String) {
    let mut fake = Fake::start().await;
    let (session, events) = join(&fake, options).await;
    let Accepted { mut ws, .. } = fake.socket().await;
    send(&mut ws, resumable_snapshot(10, "e1")).await;
    send(&mut ws, chat(11, "eleven")).await;
    send(&mut ws, chat(13, "thirteen")).await;
    let resync = client_sends(&mut ws, "RESYNC").await;
    (fake, session, events, ws, resync)
}

/// The socket that replaces one whose `RESYNC` failed: it resumes after 11, and the replay
/// brings 12 and 13 once each, then 14.
async fn resumes_after_eleven(fake: &mut Fake, events: &mut RoomEvents) {
    let Accepted { mut ws, path, .. } = fake.socket().await;
    assert!(
        path.contains("since_seq=11") && path.contains("epoch=e1"),
        "resumes where the gap began: {path}"
    );
    let resumed = json!({"v": 1, "type": "ROOM_RESUMED", "ts": 3,
        "data": {"epoch": "e1", "since_seq": 11, "replayed": 2}});
    send(&mut ws, resumed.to_string()).await;
    for (seq, text) in [(12, "twelve"), (13, "thirteen"), (14, "fourteen")] {
        send(&mut ws, chat(seq, text)).await;
    }
    let (broadcasts, seen) = until_seq(events, 14).await;
    assert_eq!(
        broadcasts,
        [11, 12, 13, 14],
        "each once, in order: {seen:?}"
    );
}

#[tokio::test]
async fn a_refused_resync_replaces_the_socket_which_resumes() {
    let (mut fake, _session, mut events, mut ws, resync) =
        gap_with_replay_asked(quick_options()).await;
    send(&mut ws, refusal(&resync)).await;
    client_frames_to_end(&mut ws).await;
    resumes_after_eleven(&mut fake, &mut events).await;
}

#[tokio::test]
async fn an_unanswered_resync_replaces_the_socket_which_resumes() {
    let options = quick_options().resync_timeout(Duration::from_millis(300));
    let (mut fake, _session, mut events, mut ws, _) = gap_with_replay_asked(options).await;
    // Nothing answers; the socket stays open and quiet until the session lets it go.
    client_frames_to_end(&mut ws).await;
    resumes_after_eleven(&mut fake, &mut events).await;
}

#[tokio::test]
async fn after_a_lag_a_failed_resync_brings_a_snapshot_and_repeated_failures_back_off() {
    let mut fake = Fake::start().await;
    let (session, mut events) = join(&fake, quick_options().event_buffer(4)).await;
    let Accepted { mut ws, .. } = fake.socket().await;
    overflow(&mut ws, &session, resumable_snapshot(10, "e1")).await;
    skip_to(&mut events, "Lagged", |e| {
        matches!(e, RoomEvent::Lagged { .. }).then_some(())
    })
    .await;
    assert_eq!(refuse_resync(&mut ws, &mut events).await, 1);

    // The lag left a hole in the app's view: the next socket asks for a snapshot, not a replay.
    let Accepted { mut ws, path, .. } = fake.socket().await;
    assert!(
        !path.contains("since_seq"),
        "no resuming past a lag: {path}"
    );
    send(&mut ws, resumable_snapshot(31, "e1")).await;
    send(&mut ws, chat(32, "thirty-two")).await;
    send(&mut ws, chat(34, "thirty-four")).await;
    assert_eq!(
        refuse_resync(&mut ws, &mut events).await,
        2,
        "a server that keeps failing RESYNC is backed off"
    );
}
