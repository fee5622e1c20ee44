//! What a session tells the app: [`RoomEvent`], the [`RoomEvents`] stream, and the task's
//! end of it, which never waits for the app.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::Stream;
use streamit_protocol::v1::{ClientRef, FrameError, RoomSnapshot, ServerEvent, ServerMessage};
use tokio::sync::mpsc;

use super::close::Close;

/// Lifecycle events held for a lagging app before the oldest `Reconnecting` are dropped.
const BACKLOG_LIMIT: usize = 64;

/// One thing that happened to a room session.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum RoomEvent {
    /// The socket is open and admitted; the room's `ROOM_SNAPSHOT` comes next. Sent after
    /// every (re)connect; commands are accepted from here until `Disconnected`.
    Connected,
    /// A frame from the server, whole: the event, and its envelope's `seq` (broadcasts),
    /// `ts` and `ref` (replies to a command, carrying the `ref` the command returned).
    ///
    /// Every server event arrives here, `ROOM_SNAPSHOT` included (after each connect and
    /// each `RESYNC`: replace the room's state with it), and events newer than this library
    /// as [`ServerEvent::Unknown`]. Not here: `PONG`s answering the session's own clock pings,
    /// an `ERROR` answering the session's own `RESYNC` (the socket is replaced instead),
    /// broadcasts repeated after a resync (an older `seq`), and the duplicate joins below.
    Server(ServerMessage),
    /// A `USER_JOINED` (the whole frame, `seq` included) for someone the app already saw
    /// present before the last reconnect (after a server restart everybody reconnects) or
    /// for the app's own user: nothing to announce, but the snapshot may have shown them
    /// offline, so update presence from it.
    Rejoined(ServerMessage),
    /// A frame that is not a valid server message (bad JSON, a known event with wrong data,
    /// over `MAX_SERVER_FRAME_BYTES`, binary). Skipped; the session goes on.
    Malformed {
        /// What was wrong with it.
        error: FrameError,
    },
    /// The app read events more slowly than they came, so `missed` server events were
    /// dropped here (lifecycle events never are). The session asks for a fresh
    /// `ROOM_SNAPSHOT`, which follows (on the next socket when this one ends first: it
    /// connects for a snapshot, not to resume).
    Lagged {
        /// Events dropped.
        missed: u64,
    },
    /// The socket closed: `close` is the server's close frame, `None` when the connection
    /// was lost without one. Unless it is the stream's last item, `Reconnecting` follows.
    ///
    /// A code this library does not know arrives as
    /// [`CloseStatus::Unknown`](crate::CloseStatus::Unknown) with its number and reason, to
    /// show the user; the session does not reconnect after it.
    Disconnected {
        /// The close frame: its code and reason.
        close: Option<Close>,
    },
    /// The session will connect again after `delay`.
    Reconnecting {
        /// Attempts since the last successful connection, from 1.
        attempt: u32,
        /// The wait before this attempt (capped exponential backoff with jitter).
        delay: Duration,
    },
}

impl RoomEvent {
    /// The server frame, for [`RoomEvent::Server`] and [`RoomEvent::Rejoined`].
    pub fn message(&self) -> Option<&ServerMessage> {
        match self {
            Self::Server(message) | Self::Rejoined(message) => Some(message),
            _ => None,
        }
    }

    /// The server event, for [`RoomEvent::Server`] and [`RoomEvent::Rejoined`].
    pub fn server_event(&self) -> Option<&ServerEvent> {
        self.message().map(|message| &message.event)
    }

    /// The room's state, for a `ROOM_SNAPSHOT` (after every connect and `RESYNC`).
    pub fn snapshot(&self) -> Option<&RoomSnapshot> {
        match self.server_event() {
            Some(ServerEvent::RoomSnapshot(snapshot)) => Some(snapshot),
            _ => None,
        }
    }

    /// The broadcast's `seq`, for server broadcasts.
    pub fn seq(&self) -> Option<u64> {
        self.message().and_then(|message| message.seq)
    }

    /// The `ref` of the command this answers, for server replies.
    pub fn reference(&self) -> Option<&ClientRef> {
        self.message()
            .and_then(|message| message.reference.as_ref())
    }
}

/// The events of one room session, in order; ends after the session does (a terminal close
/// code, [`RoomSession::close`](crate::RoomSession::close), or every handle dropped), the
/// last item being the final `Disconnected` with the reason.
///
/// A [`Stream`]; [`recv`](Self::recv) is the same without importing `StreamExt`.
///
/// # Backpressure
/// The session's task never waits for the app: events queue in a bounded buffer
/// ([`SessionOptions::event_buffer`](crate::SessionOptions::event_buffer)). When it is full,
/// server events are dropped and counted, and the app later gets [`RoomEvent::Lagged`]
/// followed by a fresh `ROOM_SNAPSHOT`; lifecycle events (`Connected`, `Disconnected`,
/// `Reconnecting`) are held back rather than dropped.
#[derive(Debug)]
pub struct RoomEvents {
    receiver: mpsc::Receiver<RoomEvent>,
    /// Filled by the task as it ends, before it drops its sender: what did not fit.
    tail: Arc<Mutex<VecDeque<RoomEvent>>>,
}

impl RoomEvents {
    /// The next event; `None` once the session has ended and everything was read.
    pub async fn recv(&mut self) -> Option<RoomEvent> {
        std::future::poll_fn(|cx| self.poll_event(cx)).await
    }

    fn poll_event(&mut self, cx: &mut Context<'_>) -> Poll<Option<RoomEvent>> {
        match self.receiver.poll_recv(cx) {
            Poll::Ready(None) => Poll::Ready(
                self.tail
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .pop_front(),
            ),
            other => other,
        }
    }
}

impl Stream for RoomEvents {
    type Item = RoomEvent;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<RoomEvent>> {
        self.get_mut().poll_event(cx)
    }
}

/// The task's end of the event stream. Server events go out with `try_send` and are dropped
/// (counted into a `Lagged`) when the app is behind; lifecycle events wait in a small backlog
/// that the task flushes as room frees up.
#[derive(Debug)]
pub(crate) struct Outbox {
    sender: mpsc::Sender<RoomEvent>,
    backlog: VecDeque<RoomEvent>,
    tail: Arc<Mutex<VecDeque<RoomEvent>>>,
}

/// A new stream of `capacity` events and its sending end.
pub(crate) fn channel(capacity: usize) -> (Outbox, RoomEvents) {
    let (sender, receiver) = mpsc::channel(capacity.max(1));
    let tail = Arc::new(Mutex::new(VecDeque::new()));
    let outbox = Outbox {
        sender,
        backlog: VecDeque::new(),
        tail: Arc::clone(&tail),
    };
    (outbox, RoomEvents { receiver, tail })
}

impl Outbox {
    /// Sends a server event, or drops it into a `Lagged` count when the app is behind.
    pub(crate) fn server(&mut self, event: RoomEvent) {
        if self.backlog.is_empty() {
            match self.sender.try_send(event) {
                Ok(()) | Err(mpsc::error::TrySendError::Closed(_)) => return,
                Err(mpsc::error::TrySendError::Full(_)) => {}
            }
        }
        match self.backlog.back_mut() {
            Some(RoomEvent::Lagged { missed }) => *missed += 1,
            _ => self.backlog.push_back(RoomEvent::Lagged { missed: 1 }),
        }
    }

    /// Sends a lifecycle event, or holds it until the app makes room.
    pub(crate) fn lifecycle(&mut self, event: RoomEvent) {
        if self.backlog.is_empty() {
            match self.sender.try_send(event) {
                Ok(()) | Err(mpsc::error::TrySendError::Closed(_)) => return,
                Err(mpsc::error::TrySendError::Full(event)) => self.backlog.push_back(event),
            }
        } else {
            self.backlog.push_back(event);
        }
        if self.backlog.len() > BACKLOG_LIMIT {
            // Only a long-stalled app gets here; the latest state is what matters to it.
            let stale = self
                .backlog
                .iter()
                .position(|e| matches!(e, RoomEvent::Reconnecting { .. }));
            self.backlog.remove(stale.unwrap_or(0));
        }
    }

    /// Whether events wait for the app.
    pub(crate) fn is_behind(&self) -> bool {
        !self.backlog.is_empty() && !self.sender.is_closed()
    }

    /// Waits for room in the stream and hands over the oldest held event; true when that was
    /// a `Lagged` (the app needs a fresh snapshot). Cancel-safe: nothing is taken until
    /// there is room for it.
    pub(crate) async fn flush_one(&mut self) -> bool {
        let Ok(permit) = self.sender.reserve().await else {
            self.backlog.clear();
            return false;
        };
        match self.backlog.pop_front() {
            Some(event) => {
                let lagged = matches!(event, RoomEvent::Lagged { .. });
                permit.send(event);
                lagged
            }
            None => false,
        }
    }

    /// Ends the stream: what is still held, then `last`, go where [`RoomEvents`] reads them
    /// after the channel.
    pub(crate) fn finish(self, last: RoomEvent) {
        let mut tail = self.tail.lock().unwrap_or_else(PoisonError::into_inner);
        tail.extend(self.backlog);
        tail.push_back(last);
        // `self.sender` drops after this, so the reader sees the tail complete.
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stand-in for a server event; which variant does not matter to the outbox.
    fn numbered(attempt: u32) -> RoomEvent {
        RoomEvent::Reconnecting {
            attempt,
            delay: Duration::ZERO,
        }
    }

    #[tokio::test]
    async fn a_slow_app_gets_lagged_and_lifecycle_in_order() {
        let (mut outbox, mut events) = channel(2);
        outbox.server(numbered(1));
        outbox.server(numbered(2));
        outbox.server(numbered(3));
        outbox.server(numbered(4));
        outbox.lifecycle(RoomEvent::Connected);
        outbox.server(numbered(5));
        assert!(outbox.is_behind());
        assert_eq!(events.recv().await, Some(numbered(1)));
        assert_eq!(events.recv().await, Some(numbered(2)));
        assert!(outbox.flush_one().await, "the Lagged goes first");
        assert!(!outbox.flush_one().await);
        assert_eq!(events.recv().await, Some(RoomEvent::Lagged { missed: 2 }));
        assert_eq!(events.recv().await, Some(RoomEvent::Connected));
        assert!(outbox.is_behind());
        outbox.finish(RoomEvent::Disconnected { close: None });
        assert_eq!(events.recv().await, Some(RoomEvent::Lagged { missed: 1 }));
        assert_eq!(
            events.recv().await,
            Some(RoomEvent::Disconnected { close: None })
        );
        assert_eq!(events.recv().await, None);
    }

    #[tokio::test]
    async fn the_backlog_is_bounded() {
        let (mut outbox, _events) = channel(1);
        outbox.lifecycle(RoomEvent::Connected);
        for attempt in 0..200 {
            outbox.lifecycle(RoomEvent::Reconnecting {
                attempt,
                delay: Duration::ZERO,
            });
        }
        assert_eq!(outbox.backlog.len(), BACKLOG_LIMIT);
    }
}
