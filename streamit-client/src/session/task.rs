//! The task that owns a room's socket: connects, serves frames and commands, pings for clock
//! sync, and reconnects until a terminal close code, the app's `close`, or the last handle
//! dropped ends it.
//!
//! It never waits for the app (events go through the [`Outbox`]) and never holds the state
//! lock across an await.

use std::mem;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use streamit_protocol::v1::{
    AccessToken, ClientEvent, ClientMessage, ClientRef, CloseCode, FrameError, Ping, Resync,
    RoomCode, ServerEvent, ServerMessage,
};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};
use tokio::time::{Instant, sleep_until, timeout};
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::http::header::AUTHORIZATION;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode as WireCloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::SessionOptions;
use super::backoff::Backoff;
use super::clock::{ClockEstimate, PingPlan};
use super::close::{Close, CloseStatus};
use super::events::{Outbox, RoomEvent};
use super::presence::{Joined, Presence};
use super::state::{Recovery, SeqCheck, Sequence, State};
use crate::auth::Auth;

/// How long a close handshake may take before the socket is simply dropped.
const CLOSE_HANDSHAKE: Duration = Duration::from_secs(1);

/// `ref` prefix of the task's own requests; the app's are `a<n>`.
const INTERNAL_REF: char = '~';

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// What a [`RoomSession`](crate::RoomSession) asks of the task.
#[derive(Debug)]
pub(crate) enum Command {
    /// An encoded client frame, for the socket of `generation` only.
    Frame { text: String, generation: u64 },
    /// Close normally and stop.
    Close,
}

/// How a socket ended.
#[derive(Debug)]
enum Ended {
    /// The app closed the session or dropped every handle.
    ByApp,
    /// The server closed with a code, known to this library or not.
    Closed(Close),
    /// The connection failed, went silent, or closed without a code.
    Lost,
    /// The server did not mend a gap: it answered the session's `RESYNC` with an `ERROR`, or
    /// not within the `resync_timeout`.
    Unmended,
}

/// What to do after one step of serving a socket.
enum Step {
    Continue,
    Send(String),
    End(Ended),
}

/// One socket's bookkeeping.
struct Conn {
    /// `None` until its snapshot.
    admission: Option<Admission>,
    seq: Sequence,
    last_heard: Instant,
    next_ping: Instant,
    pings: PingPlan,
    /// The session's own `RESYNC` awaiting its answer.
    resync: Option<Outstanding>,
}

/// A socket's admission.
#[derive(Clone, Copy)]
struct Admission {
    generation: u64,
    at: Instant,
}

/// A `RESYNC` of the session's own, sent to mend a gap or a lag.
struct Outstanding {
    reference: ClientRef,
    /// When to give up on its answer.
    due: Instant,
}

/// Where the task connects and as whom.
pub(crate) struct Link {
    /// The identity: its token to connect with, and the refresh after a 4001.
    pub(crate) auth: Auth,
    /// The room's WebSocket URL.
    pub(crate) url: String,
    pub(crate) code: RoomCode,
}

pub(crate) struct Task {
    link: Link,
    options: SessionOptions,
    state: Arc<Mutex<State>>,
    commands: mpsc::Receiver<Command>,
    outbox: Outbox,
    /// Where each new clock estimate goes.
    clock_updates: watch::Sender<Option<ClockEstimate>>,
    presence: Presence,
    backoff: Backoff,
    next_ref: u64,
    /// A socket of this session was admitted before: the next admission is a reconnect.
    was_admitted: bool,
    /// The last `seq` this session holds without a hole, in the room's history epoch: the
    /// next socket asks to resume from there.
    resume: Option<ResumePoint>,
    /// The app lagged: events it never got were dropped, so only a snapshot mends its view.
    lagged: bool,
}

/// Where a reconnecting socket asks to resume.
struct ResumePoint {
    seq: u64,
    epoch: String,
}

impl Task {
    pub(crate) fn new(
        link: Link,
        options: SessionOptions,
        state: Arc<Mutex<State>>,
        commands: mpsc::Receiver<Command>,
        outbox: Outbox,
        clock_updates: watch::Sender<Option<ClockEstimate>>,
    ) -> Self {
        let backoff = Backoff::new(options.reconnect_initial, options.reconnect_max);
        Self {
            link,
            options,
            state,
            commands,
            outbox,
            clock_updates,
            presence: Presence::default(),
            backoff,
            next_ref: 1,
            was_admitted: false,
            resume: None,
            lagged: false,
        }
    }

    /// Runs the session to its end; the stream's last item says why.
    #[tracing::instrument(name = "room_session", skip_all, fields(room = %self.link.code))]
    pub(crate) async fn run(mut self) {
        let last = self.connect_loop().await;
        tracing::debug!(?last, "room session ended");
        {
            let mut state = self.state();
            state.connected = false;
            state.ended = true;
        }
        self.outbox.finish(RoomEvent::Disconnected { close: last });
    }

    /// Connects, serves, and reconnects until something terminal; returns the final close.
    async fn connect_loop(&mut self) -> Option<Close> {
        // A 4001 is worth one refresh per admission: a second in a row is the login's end.
        let mut refreshed = false;
        loop {
            let Some(token) = self.link.auth.access_token() else {
                return Some(CloseCode::Unauthorized.into());
            };
            let (ended, held) = match self.open(&token).await {
                Some(Ok(socket)) => self.serve(socket).await,
                Some(Err(error)) => {
                    tracing::debug!(%error, "connecting failed");
                    (Ended::Lost, None)
                }
                None => return Some(CloseCode::Normal.into()),
            };
            let admitted = held.is_some();
            refreshed &= !admitted;
            if let Some(held) = held {
                self.backoff.connection_ended(held);
            }
            let close = match ended {
                Ended::ByApp => return Some(CloseCode::Normal.into()),
                Ended::Closed(close) => Some(close),
                Ended::Lost | Ended::Unmended => None,
            };
            let mut immediate = false;
            match close.as_ref().map(|close| close.code) {
                Some(CloseStatus::Known(CloseCode::Unauthorized)) if !refreshed => {
                    refreshed = true;
                    if let Err(error) = self.link.auth.refresh_after(&token).await {
                        tracing::debug!(%error, "refresh after 4001 failed");
                        return close;
                    }
                    immediate = true;
                }
                Some(code) if !code.can_reconnect() => return close,
                _ => {}
            }
            let (attempt, delay) = self.backoff.next();
            if self
                .options
                .max_reconnect_attempts
                .is_some_and(|max| attempt > max)
            {
                return close;
            }
            let delay = if immediate { Duration::ZERO } else { delay };
            if admitted {
                self.outbox.lifecycle(RoomEvent::Disconnected { close });
            }
            self.outbox
                .lifecycle(RoomEvent::Reconnecting { attempt, delay });
            if !self.wait(delay).await {
                return Some(CloseCode::Normal.into());
            }
        }
    }

    /// Opens a socket, minding the app meanwhile; `None` when the app closed the session.
    async fn open(&mut self, token: &AccessToken) -> Option<Result<Socket, WsError>> {
        let config = websocket_config(&self.options);
        let url = match &self.resume {
            Some(point) => format!(
                "{}?since_seq={}&epoch={}",
                self.link.url,
                point.seq,
                encode_query_value(&point.epoch)
            ),
            None => self.link.url.clone(),
        };
        let connecting = connect(url, token, config, self.options.connect_timeout);
        tokio::pin!(connecting);
        loop {
            tokio::select! {
                result = &mut connecting => return Some(result),
                command = self.commands.recv() => if !still_wanted(command) { return None },
                lagged = self.outbox.flush_one(), if self.outbox.is_behind() => self.note_lag(lagged),
            }
        }
    }

    /// Waits before a reconnect; false when the app closed the session meanwhile.
    async fn wait(&mut self, delay: Duration) -> bool {
        let until = Instant::now() + delay;
        loop {
            tokio::select! {
                () = sleep_until(until) => return true,
                command = self.commands.recv() => if !still_wanted(command) { return false },
                lagged = self.outbox.flush_one(), if self.outbox.is_behind() => self.note_lag(lagged),
            }
        }
    }

    /// Serves one open socket until it ends; also says for how long it was admitted, if it was.
    async fn serve(&mut self, mut socket: Socket) -> (Ended, Option<Duration>) {
        let now = Instant::now();
        let mut conn = Conn {
            admission: None,
            seq: Sequence::default(),
            last_heard: now,
            next_ping: now,
            pings: PingPlan::default(),
            resync: None,
        };
        let ended = loop {
            let silent_until = conn.last_heard + self.options.idle_timeout;
            let admitted = conn.admission.is_some();
            let resync_due = conn.resync.as_ref().map(|resync| resync.due);
            let step = tokio::select! {
                frame = socket.next() => {
                    conn.last_heard = Instant::now();
                    self.on_frame(&mut conn, frame)
                }
                command = self.commands.recv() => on_command(&conn, command),
                () = sleep_until(conn.next_ping), if admitted => Step::Send(self.ping(&mut conn)),
                () = sleep_until(silent_until) => {
                    tracing::debug!("socket silent too long; replacing it");
                    Step::End(Ended::Lost)
                }
                () = sleep_until(resync_due.unwrap_or(silent_until)), if resync_due.is_some() => {
                    tracing::debug!("RESYNC unanswered; replacing the socket");
                    Step::End(Ended::Unmended)
                }
                lagged = self.outbox.flush_one(), if self.outbox.is_behind() => {
                    self.note_lag(lagged);
                    if lagged && admitted {
                        conn.seq.resync_requested();
                        self.resync(&mut conn, Resync::snapshot())
                    } else {
                        Step::Continue
                    }
                }
            };
            match step {
                Step::Continue => {}
                Step::Send(text) => {
                    if let Err(error) = socket.send(Message::text(text)).await {
                        tracing::debug!(%error, "sending failed");
                        break Ended::Lost;
                    }
                }
                Step::End(ended) => break ended,
            }
        };
        self.state().connected = false;
        goodbye(&mut socket, &ended).await;
        (
            ended,
            conn.admission.map(|admission| admission.at.elapsed()),
        )
    }

    fn on_frame(&mut self, conn: &mut Conn, frame: Option<Result<Message, WsError>>) -> Step {
        match frame {
            None => Step::End(Ended::Lost),
            Some(Err(error)) => {
                tracing::debug!(%error, "socket failed");
                Step::End(Ended::Lost)
            }
            Some(Ok(Message::Text(text))) => self.on_text(conn, text.as_str()),
            Some(Ok(Message::Binary(_))) => {
                let error = FrameError::Malformed("a binary frame; frames are JSON text".into());
                self.outbox.server(RoomEvent::Malformed { error });
                Step::Continue
            }
            Some(Ok(Message::Close(frame))) => {
                let close = frame.map(|frame| {
                    Close::new(
                        CloseStatus::from_u16(u16::from(frame.code)),
                        frame.reason.as_str(),
                    )
                });
                tracing::debug!(?close, "server closed the socket");
                Step::End(close.map_or(Ended::Lost, Ended::Closed))
            }
            Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => Step::Continue,
        }
    }

    fn on_text(&mut self, conn: &mut Conn, text: &str) -> Step {
        let message = match ServerMessage::decode(text) {
            Ok(message) => message,
            Err(error) => {
                tracing::debug!(%error, "malformed frame");
                self.outbox.server(RoomEvent::Malformed { error });
                return Step::Continue;
            }
        };
        if let ServerEvent::Pong(pong) = &message.event {
            let received = self.options.clock.now_ms();
            let estimate = {
                let mut state = self.state();
                state
                    .clock
                    .add(pong.client_ts, pong.server_ts, received)
                    .then(|| state.clock.estimate(received))
                    .flatten()
            };
            if let Some(estimate) = estimate {
                self.clock_updates.send_replace(Some(estimate));
            }
            if message.reference.as_ref().is_some_and(is_internal) {
                return Step::Continue;
            }
        }
        let answers_resync = conn
            .resync
            .as_ref()
            .is_some_and(|resync| message.reference.as_ref() == Some(&resync.reference));
        if answers_resync {
            if let ServerEvent::Error(refused) = &message.event {
                // The server could not mend the gap (its store failed): a new socket resumes
                // where the gap began, or brings a fresh snapshot.
                tracing::debug!(
                    code = refused.code.as_str(),
                    "RESYNC refused; replacing the socket"
                );
                return Step::End(Ended::Unmended);
            }
            conn.resync = None;
        }
        let mut step = Step::Continue;
        if let Some(seq) = message.seq {
            let epoch = self.resume.as_ref().map(|point| point.epoch.clone());
            match conn.seq.broadcast(seq, epoch.is_some()) {
                SeqCheck::InOrder => {
                    if let Some(point) = &mut self.resume {
                        point.seq = seq;
                    }
                }
                SeqCheck::Stale => return Step::Continue,
                SeqCheck::Gap {
                    resync: Recovery::Replay { since_seq },
                } => {
                    tracing::debug!(seq, since_seq, "seq gap; asking for a replay");
                    let Some(epoch) = epoch else {
                        return Step::Continue;
                    };
                    return self.resync(conn, Resync::since(since_seq, epoch));
                }
                SeqCheck::Gap { resync } => {
                    // A hole: nothing to resume from until the next snapshot.
                    self.resume = None;
                    tracing::debug!(seq, "seq gap; asking for a snapshot");
                    if resync == Recovery::Snapshot && conn.admission.is_some() {
                        step = self.resync(conn, Resync::snapshot());
                    }
                }
            }
        }
        if let ServerEvent::RoomResumed(resumed) = &message.event {
            // What this session missed follows, with its own `seq`: the view carries on.
            conn.seq.resumed(resumed.since_seq);
            if conn.admission.is_none() {
                self.admit(conn);
                if self.lagged {
                    // The replay carries on from where the app's view has a hole.
                    conn.seq.resync_requested();
                    step = self.resync(conn, Resync::snapshot());
                }
            }
            tracing::debug!(replayed = resumed.replayed, "resumed without a snapshot");
        }
        if let ServerEvent::RoomSnapshot(snapshot) = &message.event {
            self.resume = snapshot.epoch.clone().map(|epoch| ResumePoint {
                seq: snapshot.seq,
                epoch,
            });
            conn.seq.snapshot(snapshot.seq);
            self.lagged = false;
            let reconnected = conn.admission.is_none() && self.admit(conn);
            self.presence
                .snapshot(snapshot, reconnected, std::time::Instant::now());
        }
        let event = match &message.event {
            ServerEvent::UserJoined(joined)
                if self
                    .presence
                    .joined(joined.user.id, std::time::Instant::now())
                    == Joined::Rejoined =>
            {
                RoomEvent::Rejoined(message)
            }
            ServerEvent::UserLeft(left) => {
                self.presence.left(left.user.id);
                RoomEvent::Server(message)
            }
            ServerEvent::PresenceChanged(changed) => {
                if changed.left_total.is_some() {
                    self.presence.lost_track();
                }
                let now = std::time::Instant::now();
                for user in &changed.joined {
                    self.presence.joined(user.id, now);
                }
                for gone in &changed.left {
                    self.presence.left(gone.user.id);
                }
                RoomEvent::Server(message)
            }
            _ => RoomEvent::Server(message),
        };
        self.state().apply(&event);
        self.outbox.server(event);
        step
    }

    /// The socket's first snapshot: it is in. Returns whether this is a reconnect.
    fn admit(&mut self, conn: &mut Conn) -> bool {
        let generation = {
            let mut state = self.state();
            state.generation += 1;
            state.connected = true;
            state.clock.reset();
            state.generation
        };
        let now = Instant::now();
        conn.admission = Some(Admission {
            generation,
            at: now,
        });
        conn.next_ping = now;
        conn.pings = PingPlan::new(self.options.fast_pings);
        self.outbox.lifecycle(RoomEvent::Connected);
        tracing::debug!(generation, "socket admitted");
        mem::replace(&mut self.was_admitted, true)
    }

    /// The next clock ping, and when the one after is due.
    fn ping(&mut self, conn: &mut Conn) -> String {
        let settled = self.state().clock.is_settled();
        let gap = if conn.pings.next_is_fast(settled) {
            self.options.fast_ping_spacing
        } else {
            self.options.ping_interval
        };
        conn.next_ping = Instant::now() + gap;
        let now = self.options.clock.now_ms();
        self.internal(ClientEvent::Ping(Ping::new(now)), "p")
    }

    /// Sends the session's own `RESYNC`, whose answer is due within the `resync_timeout`.
    fn resync(&mut self, conn: &mut Conn, resync: Resync) -> Step {
        let reference = self.internal_ref("r");
        conn.resync = Some(Outstanding {
            reference: reference.clone(),
            due: Instant::now() + self.options.resync_timeout,
        });
        Step::Send(ClientMessage::with_ref(ClientEvent::Resync(resync), reference).encode())
    }

    /// The outbox dropped events (`lagged`) or not: if it did, the app's view has a hole
    /// that only a snapshot mends, so no later socket may resume past it.
    fn note_lag(&mut self, lagged: bool) {
        if lagged {
            self.lagged = true;
            self.resume = None;
        }
    }

    /// A frame of the task's own, with an internal `ref`.
    fn internal(&mut self, event: ClientEvent, kind: &str) -> String {
        ClientMessage::with_ref(event, self.internal_ref(kind)).encode()
    }

    /// A new internal `ref` of `kind`.
    fn internal_ref(&mut self, kind: &str) -> ClientRef {
        let reference = ClientRef::new(format!("{INTERNAL_REF}{kind}{}", self.next_ref))
            .expect("a short internal ref is valid");
        self.next_ref += 1;
        reference
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // Sections are plain assignments; a panic cannot leave the state half-written.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// What a command means on an open socket.
fn on_command(conn: &Conn, command: Option<Command>) -> Step {
    match command {
        None | Some(Command::Close) => Step::End(Ended::ByApp),
        Some(Command::Frame { text, generation })
            if conn.admission.is_some_and(|a| a.generation == generation) =>
        {
            Step::Send(text)
        }
        Some(Command::Frame { .. }) => {
            tracing::debug!("dropping a command meant for an earlier socket");
            Step::Continue
        }
    }
}

/// Whether the session goes on after a command that came between sockets (frames then are
/// stale: they were accepted for a socket that is gone).
fn still_wanted(command: Option<Command>) -> bool {
    matches!(command, Some(Command::Frame { .. }))
}

fn is_internal(reference: &ClientRef) -> bool {
    reference.as_str().starts_with(INTERNAL_REF)
}

/// The socket's buffers and limits, from the session's options.
fn websocket_config(options: &SessionOptions) -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(options.read_buffer_bytes)
        .write_buffer_size(options.write_buffer_bytes)
        .max_message_size(Some(options.max_message_bytes))
        .max_frame_size(Some(options.max_message_bytes))
}

/// Opens the room's socket with the token in the `Authorization` header (not the URL, which
/// proxies log).
/// `value` for a URL query: epochs are opaque, so anything but unreserved characters is
/// percent-encoded.
fn encode_query_value(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn connect(
    url: String,
    token: &AccessToken,
    config: WebSocketConfig,
    limit: Duration,
) -> Result<Socket, WsError> {
    let mut request = url.into_client_request()?;
    let bearer = crate::http::bearer(token).map_err(|e| WsError::HttpFormat(e.into()))?;
    request.headers_mut().insert(AUTHORIZATION, bearer);
    let connecting = tokio_tungstenite::connect_async_with_config(request, Some(config), true);
    match timeout(limit, connecting).await {
        Ok(result) => result.map(|(socket, _response)| socket),
        Err(_) => Err(WsError::Io(std::io::ErrorKind::TimedOut.into())),
    }
}

/// Ends a socket politely: our close frame when the app closed, the reply to the server's
/// when it closed, nothing when the connection is gone. Bounded by [`CLOSE_HANDSHAKE`].
async fn goodbye(socket: &mut Socket, ended: &Ended) {
    let handshake = async {
        if let Ended::ByApp | Ended::Unmended = ended {
            let frame = CloseFrame {
                code: WireCloseCode::Normal,
                reason: "".into(),
            };
            if socket.close(Some(frame)).await.is_err() {
                return;
            }
        }
        // Reading on flushes the close reply and waits for the peer's close.
        while let Some(Ok(_)) = socket.next().await {}
    };
    if !matches!(ended, Ended::Lost) {
        let _ = timeout(CLOSE_HANDSHAKE, handshake).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sockets_get_the_sessions_buffers_and_limits() {
        let lean = websocket_config(&SessionOptions::default());
        assert_eq!(
            (lean.read_buffer_size, lean.write_buffer_size),
            (4096, 4096)
        );
        assert_eq!(lean.max_message_size, Some(4 << 20));
        assert_eq!(lean.max_frame_size, Some(4 << 20));
        let options = SessionOptions::default()
            .websocket_buffers(512, 0)
            .max_message_bytes(64 * 1024);
        let config = websocket_config(&options);
        assert_eq!(
            (config.read_buffer_size, config.write_buffer_size),
            (512, 0)
        );
        assert_eq!(config.max_message_size, Some(64 * 1024));
        assert_eq!(config.max_frame_size, Some(64 * 1024));
    }
}
