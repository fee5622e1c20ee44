//! A bot's socket: raw tokio-tungstenite with the protocol crate's types, and the checks
//! every frame a bot reads goes through (it decodes; broadcast `seq` rises by exactly one
//! from the snapshot's), so a bench fails loudly on a server that breaks the protocol.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt as _;
use streamit_client::protocol::v1::{RoomCode, ServerEvent, ServerMessage};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::bench::BenchError;

/// A bot's socket.
pub(crate) type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How long an upgrade and its snapshot may take before the connect counts as failed.
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Violations told on stderr; the count has them all.
const TOLD: usize = 10;
/// Characters of an offending frame quoted in a violation.
const QUOTED: usize = 200;

/// The bots' sockets: tungstenite zeroes its read buffer's spare room before every read, so
/// its default 128 KiB would have the bots spend most of their core in `memset`.
pub(crate) fn config() -> WebSocketConfig {
    WebSocketConfig::default().read_buffer_size(4 * 1024)
}

/// The room's WebSocket URL on the server at `url` (`http(s)://…`).
pub(crate) fn ws_url(url: &str, code: RoomCode, token: &str) -> String {
    format!(
        "{}/ws/room/{code}/?token={token}",
        url.replacen("http", "ws", 1)
    )
}

/// Frames that broke the protocol, from every bot of a run.
#[derive(Clone, Default)]
pub(crate) struct Violations(Arc<Inner>);

#[derive(Default)]
struct Inner {
    count: AtomicU64,
    first: Mutex<Vec<String>>,
}

impl Violations {
    /// Counts one, keeping the first few to tell.
    pub(crate) fn report(&self, what: String) {
        self.0.count.fetch_add(1, Ordering::Relaxed);
        let mut first = self.0.first.lock().expect("no panics while holding it");
        if first.len() < TOLD {
            first.push(what);
        }
    }

    pub(crate) fn count(&self) -> u64 {
        self.0.count.load(Ordering::Relaxed)
    }

    pub(crate) fn first(&self) -> Vec<String> {
        self.0
            .first
            .lock()
            .expect("no panics while holding it")
            .clone()
    }

    /// An error when any frame broke the protocol.
    pub(crate) fn into_result(self) -> Result<(), BenchError> {
        match self.first().into_iter().next() {
            None => Ok(()),
            Some(first) => Err(BenchError::Protocol {
                count: self.count(),
                first,
            }),
        }
    }
}

/// One socket's view of the room's order: the last `seq` it holds.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Order {
    /// `None` until the first broadcast on the bare server, whose greeting has no `seq`.
    last_seq: Option<u64>,
}

impl Order {
    pub(crate) fn from_snapshot(seq: Option<u64>) -> Self {
        Self { last_seq: seq }
    }

    /// Decodes a text frame and checks its place in the order; a frame that breaks the
    /// protocol is reported and `None`.
    pub(crate) fn read(&mut self, text: &str, violations: &Violations) -> Option<ServerMessage> {
        let message = match ServerMessage::decode(text) {
            Ok(message) => message,
            Err(error) => {
                violations.report(format!("undecodable frame ({error}): {}", quote(text)));
                return None;
            }
        };
        if let ServerEvent::RoomSnapshot(snapshot) = &message.event {
            self.last_seq = Some(snapshot.seq);
        } else if let Some(seq) = message.seq {
            match self.last_seq {
                Some(last) if seq != last + 1 => violations.report(format!(
                    "seq {seq} after {last} (6.7: +1, no gap): {}",
                    quote(text)
                )),
                _ => {}
            }
            self.last_seq = Some(seq);
        }
        Some(message)
    }
}

fn quote(text: &str) -> String {
    text.chars().take(QUOTED).collect()
}

/// Why a connect did not get in.
#[derive(Debug)]
pub(crate) enum Refusal {
    /// The server closed the socket before the snapshot, with this code.
    Closed(Option<u16>),
    /// No upgrade, or no snapshot in time: why.
    Failed(String),
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Closed(code) => write!(f, "closed before the snapshot with {code:?}"),
            Self::Failed(why) => f.write_str(why),
        }
    }
}

/// Opens a socket and reads its first frame, which must be the snapshot: the socket and the
/// order from the snapshot's `seq` (none from the bare server's bare greeting).
pub(crate) async fn open(
    url: &str,
    code: RoomCode,
    token: &str,
    bare: bool,
    violations: &Violations,
) -> Result<(Ws, Order), Refusal> {
    let opening = async {
        let (mut ws, _) = tokio_tungstenite::connect_async_with_config(
            ws_url(url, code, token),
            Some(config()),
            true,
        )
        .await
        .map_err(|e| Refusal::Failed(format!("connect: {e}")))?;
        match ws.next().await {
            Some(Ok(Message::Text(text))) if bare && text.contains("ROOM_SNAPSHOT") => {
                Ok((ws, Order::from_snapshot(None)))
            }
            Some(Ok(Message::Text(text))) => {
                let mut order = Order::from_snapshot(None);
                match order.read(text.as_str(), violations) {
                    Some(ServerMessage {
                        event: ServerEvent::RoomSnapshot(_),
                        ..
                    }) => Ok((ws, order)),
                    _ => {
                        violations.report(format!(
                            "first frame is not ROOM_SNAPSHOT (6.1): {}",
                            quote(&text)
                        ));
                        Err(Refusal::Failed("no snapshot first".into()))
                    }
                }
            }
            Some(Ok(Message::Close(close))) => {
                Err(Refusal::Closed(close.map(|c| u16::from(c.code))))
            }
            other => Err(Refusal::Failed(format!("first frame: {other:?}"))),
        }
    };
    tokio::time::timeout(CONNECT_TIMEOUT, opening)
        .await
        .unwrap_or_else(|_| Err(Refusal::Failed("no snapshot in time".into())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_gap_or_a_repeat_is_a_violation() {
        let violations = Violations::default();
        let mut order = Order::from_snapshot(Some(4));
        let frame = |seq: u64| {
            format!(r#"{{"v":1,"type":"HOST_RECONNECTED","seq":{seq},"ts":1,"data":{{}}}}"#)
        };
        assert!(order.read(&frame(5), &violations).is_some());
        assert_eq!(violations.count(), 0);
        order.read(&frame(7), &violations);
        order.read(&frame(7), &violations);
        assert_eq!(violations.count(), 2);
        order.read("not json", &violations);
        assert_eq!(violations.count(), 3);
        assert!(violations.into_result().is_err());
    }
}
