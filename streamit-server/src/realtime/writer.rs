//! One writer per socket: a bounded queue of ready-encoded frames drained by the socket's
//! writer task. The room hands every socket the same bytes with `try_send`; a socket whose
//! queue is full is closed with 4029 instead of growing memory or slowing the room.

use std::sync::Arc;
use std::sync::atomic::{AtomicU16, Ordering};

use futures_util::{Sink, SinkExt as _};
use streamit_protocol::v1::CloseCode;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode as WireCloseCode;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};
use tokio_util::sync::CancellationToken;

/// Frames a socket may have queued before it counts as too slow.
pub(crate) const QUEUE_FRAMES: usize = 512;

/// What became of a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Delivery {
    Queued,
    /// The queue was full: the socket is being closed with 4029.
    TooSlow,
    /// The socket is closing or closed.
    Gone,
}

/// Hands frames to one socket; cheap to clone.
#[derive(Clone, Debug)]
pub(crate) struct Writer {
    frames: mpsc::Sender<Message>,
    close: CancellationToken,
    close_code: Arc<AtomicU16>,
}

/// The writer task's end.
pub(crate) struct Outbox {
    frames: mpsc::Receiver<Message>,
    close: CancellationToken,
    close_code: Arc<AtomicU16>,
}

pub(crate) fn channel() -> (Writer, Outbox) {
    let (frames, receiver) = mpsc::channel(QUEUE_FRAMES);
    let close = CancellationToken::new();
    let close_code = Arc::new(AtomicU16::new(CloseCode::Normal.as_u16()));
    let writer = Writer {
        frames,
        close: close.clone(),
        close_code: Arc::clone(&close_code),
    };
    (
        writer,
        Outbox {
            frames: receiver,
            close,
            close_code,
        },
    )
}

impl Writer {
    /// Queues a frame without waiting. A full queue closes the socket with 4029.
    pub(crate) fn send(&self, frame: Utf8Bytes) -> Delivery {
        match self.frames.try_send(Message::Text(frame)) {
            Ok(()) => Delivery::Queued,
            Err(mpsc::error::TrySendError::Full(_)) if !self.close.is_cancelled() => {
                tracing::info!("socket cannot keep up; closing it with 4029");
                self.close(CloseCode::TooSlow);
                Delivery::TooSlow
            }
            Err(_) => Delivery::Gone,
        }
    }

    /// Closes the socket with `code` after the frames already queued (the first close wins).
    pub(crate) fn close(&self, code: CloseCode) {
        if !self.close.is_cancelled() {
            self.close_code.store(code.as_u16(), Ordering::Relaxed);
            self.close.cancel();
        }
    }

    /// Pings the client, whose automatic pong proves the connection is alive. Skipped when
    /// the queue is busy: frames are proof enough.
    pub(crate) fn ping(&self) {
        let _ = self.frames.try_send(Message::Ping(Default::default()));
    }

    /// Resolves once the socket is told to close.
    pub(crate) async fn closing(&self) {
        self.close.cancelled().await;
    }
}

impl Outbox {
    /// Writes queued frames until the socket is told to close or the sink fails, then sends
    /// the close frame. A slow consumer's queued frames are dropped: it is being cut off.
    pub(crate) async fn drain<S>(mut self, mut sink: S)
    where
        S: Sink<Message> + Unpin,
    {
        loop {
            tokio::select! {
                biased;
                () = self.close.cancelled() => break,
                frame = self.frames.recv() => match frame {
                    Some(frame) => {
                        if sink.send(frame).await.is_err() {
                            return;
                        }
                    }
                    None => break,
                },
            }
        }
        let code = self.close_code.load(Ordering::Relaxed);
        if code != CloseCode::TooSlow.as_u16() {
            // Deliver what was queued before the close (e.g. ROOM_EXPIRED before 4010).
            while let Ok(frame) = self.frames.try_recv() {
                if sink.send(frame).await.is_err() {
                    return;
                }
            }
        }
        let reason = CloseCode::from_u16(code)
            .map(|c| format!("{c:?}"))
            .unwrap_or_default();
        let frame = CloseFrame {
            code: WireCloseCode::from(code),
            reason: reason.into(),
        };
        let _ = sink.send(Message::Close(Some(frame))).await;
        let _ = sink.close().await;
    }
}
