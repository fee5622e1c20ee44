//! One writer per socket: a bounded queue of ready-encoded frames drained by the socket's
//! writer task. The room hands every socket the same bytes with `try_send`; a socket whose
//! queue is full is closed with 4029 instead of growing memory or slowing the room.

use std::sync::atomic::{AtomicU16, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::Poll;
use std::time::{Duration, Instant};

use futures_util::task::AtomicWaker;
use futures_util::{Sink, SinkExt as _};
use streamit_protocol::v1::{ClientRef, CloseCode, ServerEvent, ServerMessage};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{
    CloseCode as WireCloseCode, Data, OpCode,
};
use tokio_tungstenite::tungstenite::{Bytes, Message, Utf8Bytes};
use tokio_util::sync::CancellationToken;

use crate::clock::now_ms;
use crate::metrics::Metrics;

/// Frames a socket may have queued before it counts as too slow.
pub(crate) const QUEUE_FRAMES: usize = 512;

/// The writer lets other tasks queue frames before a write only while fewer than this many wait.
const YIELD_BELOW_FRAMES: usize = QUEUE_FRAMES / 4;

/// How long a closing socket may take to write what is left and its close frame. A peer that
/// stopped reading takes none of it, and TCP probes a zero window for as long as the peer
/// answers: without this bound, its writer task and socket would stay forever. (Dropped, the
/// socket's unsent bytes go to the kernel's orphan handling, which gives up on its own.)
pub(crate) const CLOSE_TIMEOUT: Duration = Duration::from_secs(10);

/// Text frames longer than this are sent in fragments this long, unless they go whole (`Cut`):
/// the socket's write buffer keeps room for one for good (see `handshake::WRITE_BATCH_BYTES`).
const FRAGMENT_BYTES: usize = 1024;

/// The longest text that goes whole; a longer one goes in fragments all the same. It bounds
/// the write buffer a big room's socket keeps: a presence batch naming the most people allowed
/// (`--big-room-named`, 100) is about 8 KiB with short names, but long names of four-byte
/// characters can double it.
const WHOLE_AT_MOST_BYTES: usize = 16 * 1024;

/// How a text longer than `FRAGMENT_BYTES` goes out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cut {
    /// In fragments: the socket's write buffer stays one fragment long for good, but every
    /// fragment is a write to the socket of its own.
    Fragments,
    /// Whole (up to `WHOLE_AT_MOST_BYTES`), in one write: the write buffer keeps the text's
    /// length afterwards. For a big room's frames: its presence batches and its snapshots
    /// (about 3 KiB with the 22 people listed by default) run past a KiB, and a write per KiB
    /// on every socket of the room is what limited how fast a big room fills.
    Whole,
}

impl Cut {
    /// Whole in a big room (`crowded`), in fragments otherwise.
    const fn in_room(crowded: bool) -> Self {
        if crowded {
            Self::Whole
        } else {
            Self::Fragments
        }
    }
}

/// What the room and the socket task queue for the writer: only what they send, so each queued
/// item takes 40 bytes (a whole `Message` takes 56, in every slot the queue allocates).
enum Outgoing {
    Text(Utf8Bytes, Cut),
    Ping,
}

/// What a socket's writers and its writer task share besides the queue.
#[derive(Debug)]
struct Shared {
    /// The close code to send once told to close, 0 until then; the first close wins.
    close_code: AtomicU16,
    /// The writer task, woken when the socket is told to close. The task checks for a close on
    /// every wake-up, once per frame in a room's fan-out: an atomic load here, where a
    /// `CancellationToken` takes a lock (two, with its waiter list).
    writer_task: AtomicWaker,
    /// When the oldest frame not yet written was queued, in ns since [`epoch`]; 0 when none
    /// waits. The writer task reads it back after each write, for the fan-out latency.
    queued_since_ns: AtomicU64,
}

/// A fixed instant of this process, so an instant fits an atomic as ns since it.
fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// Now, in ns since [`epoch`], never 0.
fn now_ns() -> u64 {
    u64::try_from(epoch().elapsed().as_nanos())
        .unwrap_or(u64::MAX)
        .max(1)
}

/// Hands frames to one socket; cheap to clone.
#[derive(Clone, Debug)]
pub(crate) struct Writer {
    frames: mpsc::Sender<Outgoing>,
    /// Cancelled once the socket is told to close, for the tasks that wait for that
    /// ([`Writer::closing`]); the writer task watches `Shared::close_code` instead.
    close: CancellationToken,
    shared: Arc<Shared>,
    /// Counts the socket when its queue fills, whether a broadcast or a reply filled it.
    metrics: Arc<Metrics>,
    /// The socket's span (room, connection, user), so what the writer logs from the room's
    /// task still says whose socket it was.
    span: tracing::Span,
}

/// The writer task's end.
pub(crate) struct Outbox {
    frames: mpsc::Receiver<Outgoing>,
    shared: Arc<Shared>,
    metrics: Arc<Metrics>,
}

/// A frame for one socket, or a few (the hosts): a reply, so no `seq`.
pub(crate) fn reply_frame(reference: Option<ClientRef>, event: ServerEvent) -> Utf8Bytes {
    Utf8Bytes::from(ServerMessage::reply(reference, now_ms(), event).encode())
}

/// Queues one broadcast of a room on every socket of `writers`, reading the clock once for all
/// of them; counts the deliveries in `metrics`. In a big room (`crowded`) it goes whole, in
/// fragments otherwise.
pub(crate) fn broadcast<'a>(
    writers: impl IntoIterator<Item = &'a Writer>,
    frame: &Utf8Bytes,
    crowded: bool,
    metrics: &Metrics,
) {
    let cut = Cut::in_room(crowded);
    let queued_at = now_ns();
    let mut delivered = 0;
    for writer in writers {
        if writer.send_queued_at(frame.clone(), cut, || queued_at) {
            delivered += 1;
        }
    }
    metrics.broadcast(delivered);
}

/// A writer for the socket of `span`, and its writer task's end, which reports to `metrics`.
pub(crate) fn channel(span: tracing::Span, metrics: Arc<Metrics>) -> (Writer, Outbox) {
    let (frames, receiver) = mpsc::channel(QUEUE_FRAMES);
    let close = CancellationToken::new();
    let shared = Arc::new(Shared {
        close_code: AtomicU16::new(0),
        writer_task: AtomicWaker::new(),
        queued_since_ns: AtomicU64::new(0),
    });
    let writer = Writer {
        frames,
        close: close.clone(),
        shared: Arc::clone(&shared),
        metrics: Arc::clone(&metrics),
        span,
    };
    (
        writer,
        Outbox {
            frames: receiver,
            shared,
            metrics,
        },
    )
}

impl Writer {
    /// Queues a frame without waiting, in fragments if it is long. A full queue closes the
    /// socket with 4029.
    pub(crate) fn send(&self, frame: Utf8Bytes) {
        self.send_queued_at(frame, Cut::Fragments, now_ns);
    }

    /// [`Writer::send`] for a frame of a room's own (a joiner's snapshot or what it missed),
    /// which goes whole in a big room (`crowded`), as the room's broadcasts do.
    pub(crate) fn send_in_room(&self, frame: Utf8Bytes, crowded: bool) {
        self.send_queued_at(frame, Cut::in_room(crowded), now_ns);
    }

    /// [`Writer::send`] for a frame cut as `cut`, queued at `queued_at` ([`now_ns`]): a
    /// broadcast reads the clock once for all its sockets, not once per socket. Read only by
    /// the first frame of a burst, for the fan-out latency. Says whether it was queued.
    fn send_queued_at(&self, frame: Utf8Bytes, cut: Cut, queued_at: impl FnOnce() -> u64) -> bool {
        match self.frames.try_send(Outgoing::Text(frame, cut)) {
            Ok(()) => {
                if self.shared.queued_since_ns.load(Ordering::Relaxed) == 0 {
                    let _ = self.shared.queued_since_ns.compare_exchange(
                        0,
                        queued_at(),
                        Ordering::Relaxed,
                        Ordering::Relaxed,
                    );
                }
                true
            }
            Err(mpsc::error::TrySendError::Full(_)) => {
                // Counted once, by whichever task's close came first (the room's broadcast and
                // the socket's own reply can fill the queue at the same moment).
                if self.close_first(CloseCode::TooSlow) {
                    tracing::info!(parent: &self.span, "socket cannot keep up; closed it with 4029");
                    self.metrics.slow_consumer();
                }
                false
            }
            // The writer task is gone: the socket is closed.
            Err(_) => false,
        }
    }

    /// Closes the socket with `code` after the frames already queued (the first close wins).
    pub(crate) fn close(&self, code: CloseCode) {
        self.close_first(code);
    }

    /// [`Writer::close`], saying whether this close was the first.
    fn close_first(&self, code: CloseCode) -> bool {
        let first = self.shared.close_code.compare_exchange(
            0,
            code.as_u16(),
            Ordering::AcqRel,
            Ordering::Acquire,
        );
        if first.is_ok() {
            self.shared.writer_task.wake();
            self.close.cancel();
        }
        first.is_ok()
    }

    /// Pings the client, whose automatic pong proves the connection is alive. Skipped when
    /// the queue is busy: frames are proof enough.
    pub(crate) fn ping(&self) {
        let _ = self.frames.try_send(Outgoing::Ping);
    }

    /// Resolves once the socket is told to close.
    pub(crate) async fn closing(&self) {
        self.close.cancelled().await;
    }
}

impl Shared {
    fn is_closing(&self) -> bool {
        self.close_code.load(Ordering::Acquire) != 0
    }

    /// Resolves once the socket is told to close; for the writer task only, whose waker it
    /// keeps: `writer_task` holds one waker, so every future that waits here must run in that
    /// one task (`drain` and `write_until_closed` do), or all but the last to poll would miss
    /// the close.
    fn closing(&self) -> impl Future<Output = ()> + '_ {
        std::future::poll_fn(|cx| {
            if self.is_closing() {
                return Poll::Ready(());
            }
            self.writer_task.register(cx.waker());
            // A close between the check and the registration woke no one: look again.
            if self.is_closing() {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
    }
}

impl Outbox {
    /// Writes queued frames until the socket is told to close or the sink fails, then sends
    /// the close frame. A slow consumer's queued frames are dropped: it is being cut off. Once
    /// told to close, the socket gets `CLOSE_TIMEOUT` to finish; after that the writing stops,
    /// even half-way through a write. Returns the sink, for the socket's last moments.
    pub(crate) async fn drain<S>(self, mut sink: S) -> S
    where
        S: Sink<Message> + Unpin,
    {
        let shared = Arc::clone(&self.shared);
        let closing_too_long = async move {
            shared.closing().await;
            tokio::time::sleep(CLOSE_TIMEOUT).await;
        };
        tokio::select! {
            () = self.write_until_closed(&mut sink) => {}
            () = closing_too_long => {
                tracing::info!("peer takes no more frames; dropping the connection unclosed");
            }
        }
        sink
    }

    async fn write_until_closed<S>(mut self, sink: &mut S)
    where
        S: Sink<Message> + Unpin,
    {
        let shared = Arc::clone(&self.shared);
        let closed = shared.closing();
        tokio::pin!(closed);
        // Whether the last write carried more than one frame: frames came in a burst.
        let mut bursting = false;
        loop {
            tokio::select! {
                biased;
                () = &mut closed => break,
                frame = self.frames.recv() => match frame {
                    Some(frame) => {
                        // After a burst (a room filling up), let the tasks already runnable
                        // (the room announcing the next arrival, say) queue their frames first:
                        // then one write carries them all. Frames that come one at a time (a
                        // room's playback changes) go at once: waiting would only cost every
                        // delivery a second poll of this task. A queue already long makes a
                        // full batch without waiting, and must not wait on other tasks while it
                        // nears the 4029 limit.
                        if bursting && self.frames.len() < YIELD_BELOW_FRAMES {
                            tokio::task::yield_now().await;
                        }
                        match write_queued(sink, frame, &mut self.frames).await {
                            Ok(written) => bursting = written > 1,
                            Err(_) => return,
                        }
                        let since = self.shared.queued_since_ns.swap(0, Ordering::Relaxed);
                        if since != 0 {
                            let waited = now_ns().saturating_sub(since);
                            self.metrics.fanout(Duration::from_nanos(waited));
                        }
                    }
                    None => break,
                },
            }
        }
        // Told to close, or every writer dropped without a word: a normal close.
        let code = match self.shared.close_code.load(Ordering::Acquire) {
            0 => CloseCode::Normal.as_u16(),
            code => code,
        };
        if code != CloseCode::TooSlow.as_u16() {
            // Deliver what was queued before the close (e.g. ROOM_EXPIRED before 4010).
            while let Ok(frame) = self.frames.try_recv() {
                if feed(sink, frame).await.is_err() {
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
        self.metrics.closed(code);
        let _ = sink.send(Message::Close(Some(frame))).await;
        let _ = sink.close().await;
    }
}

/// Writes `first` and whatever else is queued already, then flushes once: a burst (a room
/// filling up, a host seeking fast) costs one write to the socket, not one per frame. Says how
/// many frames it wrote.
async fn write_queued<S>(
    sink: &mut S,
    first: Outgoing,
    queued: &mut mpsc::Receiver<Outgoing>,
) -> Result<usize, S::Error>
where
    S: Sink<Message> + Unpin,
{
    feed(sink, first).await?;
    let mut written = 1;
    while let Ok(frame) = queued.try_recv() {
        feed(sink, frame).await?;
        written += 1;
    }
    sink.flush().await?;
    Ok(written)
}

/// Hands one message to the sink, a long text in fragments of `FRAGMENT_BYTES` (RFC 6455
/// §5.4; every client reassembles them) unless it is to go whole: the WebSocket's write buffer
/// keeps the capacity of the largest frame it ever held, and a snapshot of several KiB would
/// otherwise stay allocated on every socket that got one.
async fn feed<S>(sink: &mut S, message: Outgoing) -> Result<(), S::Error>
where
    S: Sink<Message> + Unpin,
{
    let text = match message {
        Outgoing::Text(text, cut)
            if text.len() > FRAGMENT_BYTES
                && (cut == Cut::Fragments || text.len() > WHOLE_AT_MOST_BYTES) =>
        {
            Bytes::from(text)
        }
        Outgoing::Text(text, _) => return sink.feed(Message::Text(text)).await,
        Outgoing::Ping => return sink.feed(Message::Ping(Bytes::new())).await,
    };
    let mut start = 0;
    while start < text.len() {
        let end = (start + FRAGMENT_BYTES).min(text.len());
        let opcode = if start == 0 {
            Data::Text
        } else {
            Data::Continue
        };
        let fragment = Frame::message(
            text.slice(start..end),
            OpCode::Data(opcode),
            end == text.len(),
        );
        sink.feed(Message::Frame(fragment)).await?;
        start = end;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `feed` hands the socket for one message: (opcode, final, payload).
    async fn fed(message: Outgoing) -> Vec<(OpCode, bool, Vec<u8>)> {
        let mut sink: Vec<Message> = Vec::new();
        feed(&mut sink, message).await.unwrap();
        sink.into_iter()
            .map(|m| match m {
                Message::Frame(f) => (f.header().opcode, f.header().is_final, f.payload().to_vec()),
                Message::Text(t) => (OpCode::Data(Data::Text), true, t.as_bytes().to_vec()),
                other => panic!("unexpected {other:?}"),
            })
            .collect()
    }

    #[test]
    fn a_queued_frame_is_its_bytes_handle_and_a_tag() {
        assert_eq!(
            std::mem::size_of::<Outgoing>(),
            std::mem::size_of::<Utf8Bytes>() + 8
        );
    }

    #[tokio::test]
    async fn long_texts_go_out_in_fragments_that_join_up_to_the_text() {
        let short = "é".repeat(FRAGMENT_BYTES / 2);
        assert_eq!(
            fed(Outgoing::Text(short.clone().into(), Cut::Fragments)).await,
            [(OpCode::Data(Data::Text), true, short.into_bytes())],
            "a text that fits goes whole"
        );
        // Two-byte characters: fragment edges fall inside them, which WebSocket allows.
        let long = format!("x{}", "é".repeat(FRAGMENT_BYTES + 10));
        let fragments = fed(Outgoing::Text(long.clone().into(), Cut::Fragments)).await;
        assert_eq!(fragments.len(), 3);
        assert_eq!(fragments[0].0, OpCode::Data(Data::Text));
        for (opcode, _, _) in &fragments[1..] {
            assert_eq!(*opcode, OpCode::Data(Data::Continue));
        }
        let finals: Vec<bool> = fragments.iter().map(|f| f.1).collect();
        assert_eq!(finals, [false, false, true]);
        assert!(fragments.iter().all(|f| f.2.len() <= FRAGMENT_BYTES));
        let joined: Vec<u8> = fragments.into_iter().flat_map(|f| f.2).collect();
        assert_eq!(joined, long.clone().into_bytes());
        assert_eq!(
            fed(Outgoing::Text(long.clone().into(), Cut::Whole)).await,
            [(OpCode::Data(Data::Text), true, long.into_bytes())],
            "a text to go whole goes whole"
        );
        let too_long = "x".repeat(WHOLE_AT_MOST_BYTES + 1);
        let fragments = fed(Outgoing::Text(too_long.into(), Cut::Whole)).await;
        assert_eq!(
            fragments.len(),
            WHOLE_AT_MOST_BYTES / FRAGMENT_BYTES + 1,
            "past the bound a text goes in fragments all the same"
        );
    }
}
