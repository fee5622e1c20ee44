//! A socket's last moments after its close frame (RFC 6455 §7.1.1): the server keeps reading,
//! and discarding, what the peer still sends until the peer's own close frame arrives, the
//! peer goes quiet, or [`LINGER`] passes; then it shuts its side of the TCP connection and
//! lets it go. Nothing read here is acted on.
//!
//! Dropping a socket whose peer is still sending leaves unread input in the kernel, which then
//! answers with RST instead of FIN: a client still sending fails on its next send, and most
//! client libraries then report a lost connection without reading the close frame that had
//! already arrived, so the client never learns why it was cut off.

use std::pin::Pin;
use std::time::Duration;

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{Stream, StreamExt as _};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::error::ProtocolError;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use super::writer::CLOSE_TIMEOUT;

/// How long the server waits for the peer's close frame once its own is written.
pub(crate) const LINGER: Duration = Duration::from_secs(2);

/// Once frames can no longer be told apart (after a read error), a peer silent this long has
/// stopped sending, most likely after its close frame: what it sent is read, so the connection
/// ends with FIN.
const QUIET: Duration = Duration::from_millis(100);

/// How much of the peer's input is read at a time while discarding it.
const DISCARD_CHUNK: usize = 4 * 1024;

/// What is left to read of a socket whose reading stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Tail {
    /// Frames: the WebSocket stream still reads them.
    Frames,
    /// Bytes: a read error ended the WebSocket stream (it reads nothing after one), but the
    /// connection is still there.
    Bytes,
    /// Nothing: the connection is gone.
    Gone,
}

impl Tail {
    /// What is left after a read error.
    pub(super) fn after(error: &WsError) -> Self {
        match error {
            WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake) => Self::Gone,
            WsError::Capacity(_) | WsError::Utf8(_) | WsError::Protocol(_) => Self::Bytes,
            _ => Self::Gone,
        }
    }
}

type Io<T> = WebSocketStream<T>;

/// Lets the socket go once the writer has sent its close frame: reads on as [`Tail`] says until
/// the peer's close frame (or end of input, or quiet), at most [`LINGER`] after the writer is
/// done and never past [`CLOSE_TIMEOUT`] in all, the bound on a peer that neither reads nor
/// closes. Then shuts the write side, so the peer gets FIN.
///
/// Boxed: it runs once, at the end, but its state (a read buffer among it) would otherwise be
/// part of every socket task for the socket's whole life, about 5 KiB of an idle socket.
pub(super) fn finish<T>(
    stream: SplitStream<Io<T>>,
    writing: JoinHandle<SplitSink<Io<T>, Message>>,
    tail: Tail,
) -> Pin<Box<impl Future<Output = ()>>>
where
    T: AsyncRead + AsyncWrite + Unpin,
{
    Box::pin(linger(stream, writing, tail))
}

async fn linger<T>(
    mut stream: SplitStream<Io<T>>,
    writing: JoinHandle<SplitSink<Io<T>, Message>>,
    tail: Tail,
) where
    T: AsyncRead + AsyncWrite + Unpin,
{
    let give_up = Instant::now() + CLOSE_TIMEOUT;
    let mut tail = tail;
    let mut writing = writing;
    let mut written = None;
    if tail == Tail::Frames {
        tokio::select! {
            ended = discard_frames(&mut stream) => tail = ended,
            sink = &mut writing => {
                written = Some(sink);
                let linger = (Instant::now() + LINGER).min(give_up);
                tail = tokio::time::timeout_at(linger, discard_frames(&mut stream))
                    .await
                    .unwrap_or(Tail::Gone);
            }
            () = tokio::time::sleep_until(give_up) => tail = Tail::Gone,
        }
    }
    // The writer ends by itself within CLOSE_TIMEOUT of the close.
    let written = match written {
        Some(written) => written,
        None => writing.await,
    };
    let sink = match written {
        Ok(sink) => sink,
        Err(error) => {
            tracing::debug!(%error, "socket writer stopped abnormally");
            return;
        }
    };
    let Ok(mut ws) = stream.reunite(sink) else {
        return;
    };
    let io = ws.get_mut();
    if tail == Tail::Bytes {
        let linger = (Instant::now() + LINGER).min(give_up);
        let _ = tokio::time::timeout_at(linger, discard_bytes(io)).await;
    }
    let _ = tokio::time::timeout(QUIET, io.shutdown()).await;
}

/// Reads frames until the peer's close frame or the end of input ([`Tail::Gone`]: nothing
/// left), or a read error ([`Tail::Bytes`]).
async fn discard_frames<R>(stream: &mut R) -> Tail
where
    R: Stream<Item = Result<Message, WsError>> + Unpin,
{
    while let Some(frame) = stream.next().await {
        match frame {
            Ok(Message::Close(_)) => return Tail::Gone,
            Ok(_) => {}
            Err(error) => return Tail::after(&error),
        }
    }
    Tail::Gone
}

/// Reads raw input until its end, an error, or [`QUIET`] without any.
async fn discard_bytes<T: AsyncRead + Unpin>(io: &mut T) {
    let mut chunk = [0u8; DISCARD_CHUNK];
    while let Ok(Ok(read)) = tokio::time::timeout(QUIET, io.read(&mut chunk)).await {
        if read == 0 {
            return;
        }
    }
}
