//! WebSocket clients for the real server: connect with `?token=` (or a bearer header), read the
//! next decoded `ServerMessage` under a timeout, read close codes, send client events; plus room
//! set-up over REST and `/metrics` readings; polling under a timeout is
//! `streamit_testing::eventually`, re-exported for the tests here.

use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use streamit_protocol::v1::{
    ClientEvent, ClientMessage, ClientRef, Ping, RoomSnapshot, ServerEvent, ServerMessage, UserId,
};
use streamit_server::Config;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async};

use crate::support::{Account, StatusCode, TestServer};

pub(crate) use streamit_testing::eventually;

/// Longest wait for a frame the server must send promptly.
pub(crate) const WAIT: Duration = Duration::from_secs(5);

/// Longest wait for a socket to be closed after a burst of frames is read.
const DRAIN: Duration = Duration::from_secs(60);

/// A client WebSocket to the test server.
pub(crate) type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How a read ended other than with a text frame.
pub(crate) enum Ended {
    /// A close frame, with its code (`None` when the frame had none).
    Close(Option<u16>),
    /// The connection ended without a close frame.
    Eof,
    /// The connection failed.
    Error(String),
    /// A binary frame: the server never sends one.
    Binary(usize),
    /// Nothing arrived in time.
    Timeout,
}

impl std::fmt::Debug for Ended {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Close(Some(code)) => write!(f, "close frame {code}"),
            Self::Close(None) => write!(f, "close frame without a code"),
            Self::Eof => write!(f, "end of stream without a close frame"),
            Self::Error(error) => write!(f, "error: {error}"),
            Self::Binary(len) => write!(f, "binary frame of {len} bytes"),
            Self::Timeout => write!(f, "Timeout"),
        }
    }
}

/// One client socket to one room.
pub(crate) struct WsClient {
    /// Who, for assertion messages.
    pub(crate) label: String,
    ws: Ws,
    next_ref: u64,
}

/// `ws://…/ws/room/{code}/` with the token in the query, if any.
pub(crate) fn ws_url(s: &TestServer, code: &str, token: Option<&str>) -> String {
    let base = format!("ws://{}/ws/room/{code}/", s.addr);
    match token {
        Some(token) => format!("{base}?token={token}"),
        None => base,
    }
}

impl WsClient {
    /// Opens a socket to `code` with the token in `?token=` (none when `None`). The upgrade
    /// must succeed: every refusal is a close frame after it.
    pub(crate) async fn connect(
        s: &TestServer,
        code: &str,
        token: Option<&str>,
        label: &str,
    ) -> Self {
        Self::open(
            ws_url(s, code, token),
            None,
            &format!("[{}] {label}", s.backend),
        )
        .await
    }

    /// Opens a socket to `code` with the token in `Authorization: Bearer`.
    pub(crate) async fn connect_bearer(
        s: &TestServer,
        code: &str,
        token: &str,
        label: &str,
    ) -> Self {
        let label = format!("[{}] {label}", s.backend);
        Self::open(
            ws_url(s, code, None),
            Some(format!("Bearer {token}")),
            &label,
        )
        .await
    }

    async fn open(url: String, authorization: Option<String>, label: &str) -> Self {
        let mut request = url
            .as_str()
            .into_client_request()
            .unwrap_or_else(|e| panic!("{label}: bad request for {url}: {e}"));
        if let Some(value) = authorization {
            request
                .headers_mut()
                .insert("authorization", HeaderValue::from_str(&value).unwrap());
        }
        let connected = tokio::time::timeout(WAIT, connect_async(request)).await;
        let (ws, response) = connected
            .unwrap_or_else(|_| panic!("{label}: no upgrade within {WAIT:?} for {url}"))
            .unwrap_or_else(|e| panic!("{label}: upgrade refused for {url}: {e}"));
        assert_eq!(
            response.status().as_u16(),
            101,
            "{label}: upgrade status for {url}"
        );
        Self {
            label: label.to_owned(),
            ws,
            next_ref: 0,
        }
    }

    /// Connects `who` (token in the query) and reads the first frame, which must be a
    /// `ROOM_SNAPSHOT` reply (no `seq`, no `ref`).
    pub(crate) async fn join(
        s: &TestServer,
        code: &str,
        who: &Account,
        label: &str,
    ) -> (Self, RoomSnapshot) {
        let mut client = Self::connect(s, code, Some(&who.access), label).await;
        let snapshot = client.expect_snapshot().await;
        assert_eq!(
            snapshot.you.user.id.to_string(),
            who.user_id,
            "{}: you",
            client.label
        );
        (client, snapshot)
    }

    /// The next frame must be a first `ROOM_SNAPSHOT` (not a reply to anything).
    pub(crate) async fn expect_snapshot(&mut self) -> RoomSnapshot {
        let message = self.next_event().await;
        let ServerEvent::RoomSnapshot(snapshot) = &message.event else {
            panic!(
                "{}: the first frame must be ROOM_SNAPSHOT: {message:?}",
                self.label
            );
        };
        assert_eq!(
            message.seq, None,
            "{}: a snapshot is a reply, without seq",
            self.label
        );
        assert_eq!(
            message.reference, None,
            "{}: nobody asked for it",
            self.label
        );
        *snapshot.clone()
    }

    /// Reads the next text frame under `wait`, skipping WebSocket pings and pongs.
    pub(crate) async fn read(&mut self, wait: Duration) -> Result<ServerMessage, Ended> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let Ok(frame) = tokio::time::timeout_at(deadline, self.ws.next()).await else {
                return Err(Ended::Timeout);
            };
            match frame {
                None | Some(Err(WsError::ConnectionClosed | WsError::AlreadyClosed)) => {
                    return Err(Ended::Eof);
                }
                Some(Err(error)) => return Err(Ended::Error(error.to_string())),
                Some(Ok(Message::Text(text))) => {
                    return Ok(ServerMessage::decode(text.as_str()).unwrap_or_else(|e| {
                        panic!(
                            "{}: the server sent an undecodable frame ({e}): {text}",
                            self.label
                        )
                    }));
                }
                Some(Ok(Message::Close(frame))) => {
                    return Err(Ended::Close(frame.map(|f| u16::from(f.code))));
                }
                Some(Ok(Message::Binary(bytes))) => return Err(Ended::Binary(bytes.len())),
                Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => {}
            }
        }
    }

    /// The next server message, within [`WAIT`].
    pub(crate) async fn next_event(&mut self) -> ServerMessage {
        self.next_event_within(WAIT).await
    }

    /// The next server message, within `wait`.
    pub(crate) async fn next_event_within(&mut self, wait: Duration) -> ServerMessage {
        match self.read(wait).await {
            Ok(message) => message,
            Err(ended) => panic!(
                "{}: wanted a frame within {wait:?}, got {ended:?}",
                self.label
            ),
        }
    }

    /// The next frame must be a close frame; its code.
    pub(crate) async fn expect_close(&mut self) -> u16 {
        match self.read(WAIT).await {
            Err(Ended::Close(Some(code))) => code,
            Ok(message) => panic!("{}: wanted a close frame, got {message:?}", self.label),
            Err(ended) => panic!("{}: wanted a close frame, got {ended:?}", self.label),
        }
    }

    /// Reads frames until the close frame (within a minute); its code and the frames before it.
    pub(crate) async fn close_after_frames(&mut self) -> (u16, Vec<ServerMessage>) {
        let deadline = tokio::time::Instant::now() + DRAIN;
        let mut frames = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.read(left).await {
                Ok(message) => frames.push(message),
                Err(Ended::Close(Some(code))) => return (code, frames),
                Err(ended) => panic!(
                    "{}: wanted a close frame after {} frames, got {ended:?}",
                    self.label,
                    frames.len()
                ),
            }
        }
    }

    /// A `ref` no other request of this client used.
    pub(crate) fn fresh_ref(&mut self, prefix: &str) -> String {
        self.next_ref += 1;
        format!("{prefix}-{}", self.next_ref)
    }

    /// Sends one client event, with `reference` as its `ref`.
    pub(crate) async fn send(&mut self, event: ClientEvent, reference: Option<&str>) {
        let message = match reference {
            Some(r) => ClientMessage::with_ref(event, ClientRef::new(r).unwrap()),
            None => ClientMessage::new(event),
        };
        self.send_text(message.encode()).await;
    }

    /// Sends a text frame as is.
    pub(crate) async fn send_text(&mut self, text: impl Into<String>) {
        let text: String = text.into();
        let sent = tokio::time::timeout(WAIT, self.ws.send(Message::text(text))).await;
        sent.unwrap_or_else(|_| panic!("{}: send timed out", self.label))
            .unwrap_or_else(|e| panic!("{}: send failed: {e}", self.label));
    }

    /// Sends a text frame; `false` when the socket is already gone (the server may close it
    /// while a flood is still being written).
    pub(crate) async fn send_text_lossy(&mut self, text: impl Into<String>) -> bool {
        let text: String = text.into();
        matches!(
            tokio::time::timeout(WAIT, self.ws.send(Message::text(text))).await,
            Ok(Ok(()))
        )
    }

    /// The label and the raw socket, for tests that split it.
    pub(crate) fn into_inner(self) -> (String, Ws) {
        (self.label, self.ws)
    }

    /// Sends a binary frame.
    pub(crate) async fn send_binary(&mut self, bytes: Vec<u8>) {
        let sent = tokio::time::timeout(WAIT, self.ws.send(Message::binary(bytes))).await;
        sent.unwrap_or_else(|_| panic!("{}: send timed out", self.label))
            .unwrap_or_else(|e| panic!("{}: send failed: {e}", self.label));
    }

    /// Sends `event` with a fresh `ref` and returns the next frame, which must carry that `ref`.
    pub(crate) async fn request(&mut self, event: ClientEvent) -> ServerMessage {
        let reference = self.fresh_ref("req");
        self.send(event, Some(&reference)).await;
        let reply = self.next_event().await;
        assert_eq!(
            reply.reference.as_ref().map(ClientRef::as_str),
            Some(reference.as_str()),
            "{}: the reply must carry the request's ref: {reply:?}",
            self.label
        );
        assert_eq!(
            reply.seq, None,
            "{}: a reply has no seq: {reply:?}",
            self.label
        );
        reply
    }

    /// Proves nothing is queued for this socket: a `PING` with a fresh `ref` must be answered
    /// by the very next frame. The room handles one command at a time in order, so anything
    /// an earlier command caused would come first.
    pub(crate) async fn assert_idle(&mut self, context: &str) {
        let reference = self.fresh_ref("idle");
        self.send(ClientEvent::Ping(Ping::new(7)), Some(&reference))
            .await;
        let message = self.next_event().await;
        match &message.event {
            ServerEvent::Pong(pong)
                if message.reference.as_ref().map(ClientRef::as_str)
                    == Some(reference.as_str()) =>
            {
                assert_eq!(pong.client_ts, 7, "{}: {context}", self.label);
            }
            _ => panic!(
                "{}: {context}: wanted nothing before the PONG, got {message:?}",
                self.label
            ),
        }
    }

    /// Closes the socket politely and waits until the server has let go of it.
    pub(crate) async fn disconnect(mut self) {
        let _ = tokio::time::timeout(WAIT, self.ws.close(None)).await;
        let drained = async { while let Some(Ok(_)) = self.ws.next().await {} };
        let _ = tokio::time::timeout(WAIT, drained).await;
    }
}

/// The data of the next event of `$client`, which must be `ServerEvent::$variant`; evaluates
/// to `(message, data)`.
macro_rules! next_event {
    ($client:expr, $variant:ident) => {{
        let client: &mut $crate::ws_support::WsClient = &mut $client;
        let message = client.next_event().await;
        let data = match &message.event {
            streamit_protocol::v1::ServerEvent::$variant(data) => data.clone(),
            _ => panic!(
                "{}: wanted {}, got {:?}",
                client.label,
                stringify!($variant),
                message
            ),
        };
        (message, data)
    }};
}
pub(crate) use next_event;

/// The next event of `$client` must be an `ERROR` with `$code` carrying `$reference`;
/// evaluates to the `ErrorEvent`.
macro_rules! expect_error {
    ($client:expr, $code:expr, $reference:expr) => {{
        let (message, error) = $crate::ws_support::next_event!($client, Error);
        assert_eq!(error.code, $code, "{:?}", message);
        let wanted: Option<&str> = $reference;
        assert_eq!(
            message
                .reference
                .as_ref()
                .map(streamit_protocol::v1::ClientRef::as_str),
            wanted,
            "the ERROR must carry the request's ref: {:?}",
            message
        );
        assert_eq!(message.seq, None, "an ERROR is a reply: {:?}", message);
        error
    }};
}
pub(crate) use expect_error;

/// The user id of an account.
pub(crate) fn uid(who: &Account) -> UserId {
    who.user_id.parse().unwrap()
}

/// A config tweak setting the grace period.
pub(crate) fn grace(seconds: u32) -> impl FnOnce(&mut Config) {
    move |config: &mut Config| config.grace_seconds = seconds
}

/// A guest host and a room it created with `body`; the code.
pub(crate) async fn hosted_room(s: &TestServer, body: Value) -> (Account, String) {
    let host = s.guest("Host").await;
    let code = s.room_code(&host, body).await;
    (host, code)
}

/// A guest named `name` who joined `code` over REST and was approved.
pub(crate) async fn member(s: &TestServer, code: &str, name: &str) -> Account {
    let who = s.guest(name).await;
    let answer = s.join(&who, code).await;
    assert_eq!(
        answer.ok(StatusCode::OK)["status"],
        "APPROVED",
        "{}: {}",
        answer.what,
        answer.text
    );
    who
}

/// A vidking film, as the wire spells it.
pub(crate) fn film(id: &str) -> Value {
    json!({"provider": "vidking", "kind": "movie", "id": id})
}

/// A metric's value from `GET /metrics`, asked on a connection of its own that is closed
/// afterwards, so idle pooled connections do not count among the server's tasks.
pub(crate) async fn metric(s: &TestServer, name: &str) -> i64 {
    let client = reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(0)
        .timeout(WAIT)
        .build()
        .unwrap();
    let response = client.get(s.url("/metrics")).send().await;
    let response = response.unwrap_or_else(|e| panic!("[{}] GET /metrics: {e}", s.backend));
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "[{}] GET /metrics",
        s.backend
    );
    let text = response.text().await.unwrap();
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or_else(|| panic!("[{}] no {name} in /metrics: {text}", s.backend))
}

/// `GET /api/rooms/{code}/` as `who`; the body.
pub(crate) async fn room_detail(s: &TestServer, who: &Account, code: &str) -> Value {
    let answer = s.get_as(&who.access, &format!("/api/rooms/{code}/")).await;
    answer.ok(StatusCode::OK).clone()
}
