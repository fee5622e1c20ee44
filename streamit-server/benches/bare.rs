//! A bare tokio-tungstenite broadcast server: the baseline PERFORMANCE.md compares the real
//! server against (the target is at least 80% of what this reaches under the same bots).
//!
//! It does only what fan-out cannot do without: accept a WebSocket on any path (the room is the
//! segment after `/ws/room/`), greet it with a text frame containing `ROOM_SNAPSHOT`, and answer
//! every `SEEK` with one `PLAYBACK_STATE` broadcast, encoded once, to every socket of the room,
//! the sender included. No auth, no database, no authority checks, no rate limits; delivery is
//! what a well-written bare server would do: a bounded queue and a writer task per socket that
//! writes whatever is queued and flushes once.
//!
//! ```text
//! cargo build --release -p streamit-server --benches
//! cargo build --release -p streamit-tui
//! taskset -c 0 $CARGO_TARGET_DIR/release/deps/bare-<hash> --bind 127.0.0.1:8901 &
//! taskset -c 1 $CARGO_TARGET_DIR/release/streamit --server http://127.0.0.1:8901 bench fanout \
//!     --bare --rooms 10 --members 50 --rate 4 --seconds 20 --server-pid <pid>
//! ```
//!
//! (`cargo bench -p streamit-server --bench bare -- --bind 127.0.0.1:8901` builds and runs it
//! in one step.)

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::stream::SplitSink;
use futures_util::{SinkExt as _, StreamExt as _};
use streamit_protocol::v1::{
    ClientEvent, ClientMessage, Playback, PlaybackCause, PlaybackState, PositionMs, ServerEvent,
    ServerMessage, UserId,
};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};

/// Frames a socket may have queued; a socket that falls further behind is dropped, so a slow
/// reader costs bounded memory and never slows its room.
const QUEUE_FRAMES: usize = 1024;

/// The greeting: the bots only check that the first frame mentions `ROOM_SNAPSHOT`.
const SNAPSHOT: &str = r#"{"type":"ROOM_SNAPSHOT"}"#;

/// One room: its sockets' queues, by socket id, and the counter its broadcasts carry (every
/// broadcast here is a playback change, so it is both the `seq` and the playback `version`).
#[derive(Default)]
struct Room {
    sockets: HashMap<u64, mpsc::Sender<Utf8Bytes>>,
    seq: u64,
}

/// Every room, by name. The lock is only ever held for map work and `try_send`s, never across
/// an await.
#[derive(Default)]
struct Rooms {
    rooms: Mutex<HashMap<String, Room>>,
    next_socket: AtomicU64,
}

impl Rooms {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Room>> {
        // Nothing panics while holding the lock; should it, the map is still consistent.
        self.rooms.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds a socket's queue to `room`, returning the socket's id for `leave`.
    fn join(&self, room: &str, queue: mpsc::Sender<Utf8Bytes>) -> u64 {
        let id = self.next_socket.fetch_add(1, Ordering::Relaxed);
        self.lock()
            .entry(room.to_owned())
            .or_default()
            .sockets
            .insert(id, queue);
        id
    }

    /// Removes a socket; an empty room goes too, so churn does not grow the map.
    fn leave(&self, room: &str, id: u64) {
        let mut rooms = self.lock();
        if let Some(entry) = rooms.get_mut(room) {
            entry.sockets.remove(&id);
            if entry.sockets.is_empty() {
                rooms.remove(room);
            }
        }
    }

    /// One `PLAYBACK_STATE` broadcast, encoded once, the same bytes queued on every socket of
    /// the room. A socket whose queue is full (or whose writer is gone) is dropped: dropping
    /// its queue lets the writer finish and close the socket.
    fn seek(&self, room: &str, position_ms: PositionMs) {
        let mut rooms = self.lock();
        let Some(entry) = rooms.get_mut(room) else {
            return;
        };
        entry.seq += 1;
        let now = now_ms();
        let playback = Playback::paused(position_ms, now, entry.seq);
        // There are no users here; the nil id stands for "someone".
        let by = UserId::from_uuid(uuid::Uuid::nil());
        let event =
            ServerEvent::PlaybackState(PlaybackState::new(playback, PlaybackCause::Seek, by));
        let frame = Utf8Bytes::from(ServerMessage::broadcast(entry.seq, now, event).encode());
        entry
            .sockets
            .retain(|_, queue| queue.try_send(frame.clone()).is_ok());
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// `--bind ADDR` (default 127.0.0.1:8901); anything else is ignored, as `cargo bench` adds
/// `--bench`.
fn bind_arg() -> String {
    let raw: Vec<String> = std::env::args().skip(1).collect();
    raw.iter()
        .position(|arg| arg == "--bind")
        .and_then(|i| raw.get(i + 1).cloned())
        .unwrap_or_else(|| "127.0.0.1:8901".into())
}

#[tokio::main]
async fn main() {
    let bind = bind_arg();
    // As the real server does: every socket is an open file.
    rlimit::increase_nofile_limit(u64::MAX).expect("raise the open-file limit");
    let listener = TcpListener::bind(&bind).await.expect("bind the address");
    eprintln!("bare broadcast server on ws://{bind}/ws/room/{{ROOM}}/");
    let rooms = Arc::new(Rooms::default());
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                tokio::spawn(socket(Arc::clone(&rooms), stream));
            }
            // Out of descriptors or a reset during accept: keep serving, as the real server.
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

/// One connection: handshake, greeting, then reads `SEEK`s into broadcasts until it closes.
async fn socket(rooms: Arc<Rooms>, stream: TcpStream) {
    // As the real server: frames go out as soon as they are flushed.
    let _ = stream.set_nodelay(true);
    let mut path = String::new();
    #[expect(
        clippy::result_large_err,
        reason = "tungstenite's handshake callback must return this Result"
    )]
    let remember_path = |request: &Request, response: Response| {
        path = request.uri().path().to_owned();
        Ok::<_, ErrorResponse>(response)
    };
    let Ok(mut ws) = tokio_tungstenite::accept_hdr_async(stream, remember_path).await else {
        return;
    };
    // Any path is accepted; those outside `/ws/room/` share the room named "".
    let room = path
        .strip_prefix("/ws/room/")
        .and_then(|rest| rest.split('/').next())
        .unwrap_or_default()
        .to_owned();
    // Sent before joining, so it is the first frame whatever the room broadcasts meanwhile.
    if ws.send(Message::text(SNAPSHOT)).await.is_err() {
        return;
    }
    let (sink, mut incoming) = ws.split();
    let (queue, outbox) = mpsc::channel(QUEUE_FRAMES);
    tokio::spawn(write(sink, outbox));
    let id = rooms.join(&room, queue);
    while let Some(Ok(frame)) = incoming.next().await {
        let Message::Text(text) = frame else {
            continue;
        };
        if let Ok(ClientMessage {
            event: ClientEvent::Seek(seek),
            ..
        }) = ClientMessage::decode(&text)
        {
            rooms.seek(&room, seek.position_ms);
        }
    }
    // Dropping the queue ends the writer once it has written what was queued.
    rooms.leave(&room, id);
}

/// Writes queued frames: each wake-up feeds everything already queued and flushes once, so a
/// burst costs one write to the socket, not one per frame. Ends when the queue is dropped
/// (the socket left or was too slow) or the socket fails.
async fn write(
    mut sink: SplitSink<WebSocketStream<TcpStream>, Message>,
    mut outbox: mpsc::Receiver<Utf8Bytes>,
) {
    while let Some(first) = outbox.recv().await {
        if sink.feed(Message::Text(first)).await.is_err() {
            return;
        }
        while let Ok(frame) = outbox.try_recv() {
            if sink.feed(Message::Text(frame)).await.is_err() {
                return;
            }
        }
        if sink.flush().await.is_err() {
            return;
        }
    }
    let _ = sink.close().await;
}
