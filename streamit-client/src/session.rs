//! Room sessions: [`RoomSession`], a cheap-clone handle on a room's WebSocket, and
//! [`RoomEvents`], the stream of what happens, with a background task in between that owns
//! the socket.
//!
//! Modules: `task` (the socket's life: connect, serve, reconnect), `events` (the event type
//! and the stream that never makes the task wait), `close` (why a socket closed, unknown
//! codes kept), `state` (what the handles read: room,
//! playback, clock; `seq` bookkeeping), `presence` (no duplicate joins after a reconnect),
//! `clock` (the local clock and the server-clock offset), `backoff` (reconnect delays).

mod backoff;
pub(crate) mod clock;
mod close;
mod events;
mod presence;
mod state;
mod task;

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use streamit_protocol::v1::{
    Chat, ChatText, ClientEvent, ClientMessage, ClientRef, MAX_SERVER_FRAME_BYTES, MediaRef,
    MuteDuration, MuteUser, Ping, PlayPause, Playback, PlayerEvent, PositionMs, Rate, Resync, Room,
    RoomCode, RoomPassword, Seek, SetChatEnabled, SetMedia, SetRate, SyncCheck, UserId, UserTarget,
    You,
};
use tokio::sync::{mpsc, watch};

pub use clock::{Clock, ClockEstimate, SystemClock};
pub use close::{Close, CloseStatus};
pub use events::{RoomEvent, RoomEvents};

use crate::auth::Auth;
use crate::error::{Error, Result};
use crate::sync::ServerTime;
use crate::view::RoomView;
use state::State;

/// Commands a session may have queued for its task before a command waits.
const COMMAND_QUEUE: usize = 64;

/// How a room session behaves: its clock, clock-sync pings, reconnection and buffering.
///
/// Every setting has a default; change them with the builder-style methods:
///
/// ```
/// use std::time::Duration;
/// use streamit_client::SessionOptions;
///
/// let options = SessionOptions::default()
///     .ping_interval(Duration::from_secs(15))
///     .reconnect_delays(Duration::from_millis(250), Duration::from_secs(10));
/// ```
#[derive(Clone)]
#[must_use]
pub struct SessionOptions {
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) ping_interval: Duration,
    pub(crate) fast_pings: u32,
    pub(crate) fast_ping_spacing: Duration,
    pub(crate) clock_window: Duration,
    pub(crate) idle_timeout: Duration,
    pub(crate) resync_timeout: Duration,
    pub(crate) connect_timeout: Duration,
    pub(crate) reconnect_initial: Duration,
    pub(crate) reconnect_max: Duration,
    pub(crate) max_reconnect_attempts: Option<u32>,
    pub(crate) event_buffer: usize,
    pub(crate) read_buffer_bytes: usize,
    pub(crate) write_buffer_bytes: usize,
    pub(crate) max_message_bytes: usize,
}

impl Default for SessionOptions {
    fn default() -> Self {
        Self {
            clock: Arc::new(SystemClock),
            ping_interval: Duration::from_secs(1),
            fast_pings: 10,
            fast_ping_spacing: Duration::from_millis(100),
            clock_window: Duration::from_secs(120),
            idle_timeout: Duration::from_secs(45),
            resync_timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(10),
            reconnect_initial: Duration::from_millis(500),
            reconnect_max: Duration::from_secs(30),
            max_reconnect_attempts: None,
            event_buffer: 1024,
            read_buffer_bytes: 4 * 1024,
            write_buffer_bytes: 4 * 1024,
            max_message_bytes: 4 * MAX_SERVER_FRAME_BYTES,
        }
    }
}

impl fmt::Debug for SessionOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionOptions")
            .field("ping_interval", &self.ping_interval)
            .field("fast_pings", &self.fast_pings)
            .field("fast_ping_spacing", &self.fast_ping_spacing)
            .field("clock_window", &self.clock_window)
            .field("idle_timeout", &self.idle_timeout)
            .field("resync_timeout", &self.resync_timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("reconnect_initial", &self.reconnect_initial)
            .field("reconnect_max", &self.reconnect_max)
            .field("max_reconnect_attempts", &self.max_reconnect_attempts)
            .field("event_buffer", &self.event_buffer)
            .field("read_buffer_bytes", &self.read_buffer_bytes)
            .field("write_buffer_bytes", &self.write_buffer_bytes)
            .field("max_message_bytes", &self.max_message_bytes)
            .finish_non_exhaustive()
    }
}

impl SessionOptions {
    /// The local clock (default [`SystemClock`]): what `PING`s carry and what
    /// [`RoomSession::now_server_ms`] offsets.
    pub fn clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// How often to ping for clock sync once the first burst is done (default 1 s).
    ///
    /// Each exchange tightens the estimate (see [`ClockEstimate`]); behind 5–60 ms of jitter
    /// a ping a second keeps the offset within about 4 ms (p99; every 2 s: about 7.5 ms, as
    /// the local clock's rate is then measured less finely), and costs the server one small
    /// frame each way. A load bot with thousands of sessions may want less.
    pub fn ping_interval(mut self, interval: Duration) -> Self {
        self.ping_interval = interval;
        self
    }

    /// The burst of pings after every (re)connect: `count` pings `spacing` apart (default
    /// 10, 100 ms), so the offset is good within a second of connecting. While the estimate
    /// still tightens after that (ten exchanges in a row have not narrowed it by 1 ms), up to
    /// four times as many follow at the same spacing: behind 20–200 ms of jitter that takes
    /// the first offset from tens of ms off to a few within seconds.
    pub fn fast_pings(mut self, count: u32, spacing: Duration) -> Self {
        self.fast_pings = count;
        self.fast_ping_spacing = spacing;
        self
    }

    /// How far back clock-sync exchanges count (default 2 min). Longer gathers more luck
    /// under jitter (the fastest way out and the fastest way back) and measures the local
    /// clock's rate more finely; shorter follows a rate that changes (a device warming up)
    /// sooner. It is a span of time, so a faster ping cadence adds exchanges to it.
    pub fn clock_window(mut self, window: Duration) -> Self {
        self.clock_window = window;
        self
    }

    /// A socket that brings nothing (no frame, no ping) for this long is taken as lost and
    /// replaced (default 45 s; keep it above the ping interval).
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// A `RESYNC` the session sent (after a `seq` gap, or after the app lagged) that is not
    /// answered within this long (default 10 s) replaces the socket, as one the server
    /// answers with an `ERROR` does. A replay asked for drops every broadcast until its
    /// answer, so a lost answer would freeze the room while pings keep the socket alive; a
    /// snapshot asked for would leave the app's view with its hole. The new socket resumes
    /// where the gap began when it can, else brings a snapshot.
    pub fn resync_timeout(mut self, timeout: Duration) -> Self {
        self.resync_timeout = timeout;
        self
    }

    /// How long opening the socket (TCP, TLS, WebSocket handshake) may take (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Reconnect backoff: the first delay and the cap (default 500 ms, 30 s). Each attempt
    /// doubles the delay up to the cap, then takes a random ½ to 1 of it. A connection that
    /// held for 30 s starts the count again; one dropped sooner (a server that admits and then
    /// drops every socket, or keeps failing to mend gaps) does not.
    pub fn reconnect_delays(mut self, initial: Duration, max: Duration) -> Self {
        self.reconnect_initial = initial;
        self.reconnect_max = max;
        self
    }

    /// Give up after this many reconnect attempts since a connection last held for 30 s
    /// (default: never). The stream then ends with the last `Disconnected`.
    pub fn max_reconnect_attempts(mut self, attempts: Option<u32>) -> Self {
        self.max_reconnect_attempts = attempts;
        self
    }

    /// Events the stream holds for the app before it starts dropping server events (default
    /// 1024); see [`RoomEvents`] on backpressure.
    pub fn event_buffer(mut self, events: usize) -> Self {
        self.event_buffer = events;
        self
    }

    /// The socket's buffers, in bytes: `read` is allocated up front and filled by each read
    /// from the network; `write` is how much the socket gathers before writing (default 4 KiB
    /// each, as the server's sockets have).
    ///
    /// The WebSocket library's defaults (128 KiB each) cost 256 KiB per idle session, which
    /// a load bot with thousands of sessions feels; room traffic is small frames, and a
    /// larger message (a big room's snapshot) is simply read in several pieces.
    pub fn websocket_buffers(mut self, read: usize, write: usize) -> Self {
        self.read_buffer_bytes = read;
        self.write_buffer_bytes = write;
        self
    }

    /// The largest message (and frame) read from the server, in bytes (default 4 MiB).
    ///
    /// Larger ones drop the socket, which then reconnects. The default sits above the
    /// protocol's `MAX_SERVER_FRAME_BYTES` (1 MiB), so that a frame over the protocol's limit
    /// but under this one arrives as [`RoomEvent::Malformed`] and the session goes on. Not
    /// the 16 KiB limit of client frames: a big room's snapshot passes that.
    pub fn max_message_bytes(mut self, bytes: usize) -> Self {
        self.max_message_bytes = bytes;
        self
    }
}

/// How to join a room: [`Client::join_room_with`](crate::Client::join_room_with).
#[derive(Clone, Debug, Default)]
#[must_use]
pub struct JoinOptions {
    pub(crate) password: Option<RoomPassword>,
    pub(crate) session: Option<SessionOptions>,
}

impl JoinOptions {
    /// No password, the client's session options.
    pub fn new() -> Self {
        Self::default()
    }

    /// The room's password, for `PASSWORD` rooms.
    pub fn password(mut self, password: RoomPassword) -> Self {
        self.password = Some(password);
        self
    }

    /// Options for this session instead of the client's
    /// ([`ClientBuilder::session_options`](crate::ClientBuilder::session_options)).
    pub fn session(mut self, options: SessionOptions) -> Self {
        self.session = Some(options);
        self
    }
}

/// A live room: a cheap-clone handle on the room's WebSocket, owned by a background task.
///
/// Each command method sends one client event with a fresh `ref` and returns that `ref`;
/// the server's reply, if any (`ERROR`, `PONG`, `SYNC_CORRECTION`, `ROOM_SNAPSHOT`), carries
/// it ([`RoomEvent::reference`]). Commands go out only on a connected socket, from
/// [`RoomEvent::Connected`] to `Disconnected`: otherwise they fail with
/// [`Error::NotConnected`], and one racing a disconnect is dropped (the stream says
/// `Disconnected`).
///
/// The task reconnects by itself (capped exponential backoff with jitter) after a restart
/// (1012), a slow-consumer close (4029), a lost connection or any close code whose
/// [`can_reconnect`](streamit_protocol::v1::CloseCode::can_reconnect) is true; after 4001
/// it refreshes the token once and reconnects. Other codes (kicked 4011, banned 4009, room
/// closed 4010, …) end the session, and so does a code this library does not know, as the
/// protocol asks ([`CloseStatus::Unknown`], to show the user). On a `seq` gap it asks for a fresh snapshot. It keeps a
/// server-clock offset from `PING`/`PONG` (a burst after every connect, then every
/// [`ping_interval`](SessionOptions::ping_interval)), and the room's playback, so
/// [`expected_position_ms`](Self::expected_position_ms) says where the media should be now.
///
/// The session ends when [`close`](Self::close) is called, on a terminal close code, or when
/// every handle is dropped.
///
/// ```no_run
/// use streamit_client::{Client, RoomEvent};
/// use streamit_client::protocol::v1::{ChatText, PositionMs, RoomCode};
///
/// # async fn demo(client: Client) -> Result<(), Box<dyn std::error::Error>> {
/// let (session, mut events) = client.join_room(RoomCode::parse("ABCD2345")?).await?;
/// while let Some(event) = events.recv().await {
///     if event == RoomEvent::Connected {
///         break;
///     }
/// }
/// let sent = session.chat(ChatText::new("hello")?).await?;
/// if session.is_host() {
///     session.play(Some(PositionMs::new(90_000)?)).await?;
/// }
/// if let Some(position) = session.expected_position_ms() {
///     println!("the media should be at {position} ms; chat ref {}", sent.as_str());
/// }
/// session.close().await;
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct RoomSession {
    inner: Arc<Inner>,
}

struct Inner {
    code: RoomCode,
    commands: mpsc::Sender<task::Command>,
    state: Arc<Mutex<State>>,
    clock: Arc<dyn Clock>,
    clock_updates: watch::Receiver<Option<ClockEstimate>>,
    next_ref: AtomicU64,
    finished: watch::Receiver<bool>,
}

impl fmt::Debug for RoomSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RoomSession")
            .field("code", &self.inner.code)
            .finish_non_exhaustive()
    }
}

/// Starts the task of room `code`, whose socket is at `url`, for the identity of `auth`, and
/// hands out its handle and stream.
pub(crate) fn start(
    auth: Auth,
    url: String,
    code: RoomCode,
    options: SessionOptions,
) -> (RoomSession, RoomEvents) {
    let (commands, command_receiver) = mpsc::channel(COMMAND_QUEUE);
    let (outbox, events) = events::channel(options.event_buffer);
    let state = Arc::new(Mutex::new(State::new(options.clock_window)));
    let (clock_sender, clock_updates) = watch::channel(None);
    let (finished_sender, finished) = watch::channel(false);
    let session = RoomSession {
        inner: Arc::new(Inner {
            code,
            commands,
            state: Arc::clone(&state),
            clock: Arc::clone(&options.clock),
            clock_updates,
            next_ref: AtomicU64::new(1),
            finished,
        }),
    };
    let task = task::Task::new(
        task::Link { auth, url, code },
        options,
        state,
        command_receiver,
        outbox,
        clock_sender,
    );
    tokio::spawn(async move {
        task.run().await;
        let _ = finished_sender.send(true);
    });
    (session, events)
}

impl RoomSession {
    /// The room's code.
    pub fn code(&self) -> RoomCode {
        self.inner.code
    }

    /// Whether a socket is open and admitted (between `Connected` and `Disconnected`).
    pub fn is_connected(&self) -> bool {
        self.state().connected
    }

    /// Whether the session has ended.
    pub fn is_closed(&self) -> bool {
        self.state().ended
    }

    /// The user's own place in the room (`you` of the last snapshot, kept current), once
    /// connected.
    pub fn me(&self) -> Option<You> {
        self.state().view.as_ref().map(|view| view.you().clone())
    }

    /// Whether the user hosts the room now.
    pub fn is_host(&self) -> bool {
        self.state().view.as_ref().is_some_and(RoomView::is_host)
    }

    /// The room as the last snapshot and the events since show it.
    pub fn room(&self) -> Option<Room> {
        self.state().view.as_ref().map(|view| view.room().clone())
    }

    /// The room's playback (from snapshots, `PLAYBACK_STATE`, `SYNC_CORRECTION` and
    /// `VERSION_CONFLICT` errors; the highest version wins), in server time.
    pub fn playback(&self) -> Option<Playback> {
        self.state().view.as_ref().map(RoomView::playback)
    }

    /// Server clock minus local clock, in ms (the slewed offset the session uses, rounded);
    /// `None` before the first `PONG`.
    pub fn clock_offset_ms(&self) -> Option<i64> {
        let now = self.inner.clock.now_ms();
        self.state().clock.offset_ms(now).map(|o| o.round() as i64)
    }

    /// The shortest round trip among the clock-sync exchanges of the window, in ms.
    pub fn round_trip_ms(&self) -> Option<u64> {
        self.clock().map(|c| c.round_trip_ms.round() as u64)
    }

    /// What the session knows of the server's clock now: offset, round trip, uncertainty,
    /// the local clock's rate; `None` before the first `PONG`.
    pub fn clock(&self) -> Option<ClockEstimate> {
        let now = self.inner.clock.now_ms();
        self.state().clock.estimate(now)
    }

    /// A watch on the clock estimate, updated after every clock-sync exchange (the offset
    /// in it is as of that exchange; [`clock`](Self::clock) gives it as of now).
    pub fn clock_updates(&self) -> watch::Receiver<Option<ClockEstimate>> {
        self.inner.clock_updates.clone()
    }

    /// The server's clock now, Unix epoch ms: the local clock plus the offset (the local
    /// clock alone before the first `PONG`).
    pub fn now_server_ms(&self) -> u64 {
        self.server_time().whole_ms()
    }

    /// The server's clock now with the fraction and the corrections made so far: what
    /// [`DriftController::tick`](crate::sync::DriftController::tick) takes. The local clock
    /// alone before the first `PONG`.
    pub fn server_time(&self) -> ServerTime {
        let now = self.inner.clock.now_ms();
        self.state()
            .clock
            .server_time(now)
            .unwrap_or_else(|| ServerTime::exact(now))
    }

    /// Where the room's media should be now, in ms: the playback extrapolated to
    /// [`now_server_ms`](Self::now_server_ms) with `Playback::position_at`. `None` before the
    /// first snapshot.
    pub fn expected_position_ms(&self) -> Option<u64> {
        let playback = self.playback()?;
        Some(playback.position_at(self.now_server_ms()).get())
    }

    /// Host: play from `position` (or from where the media is). Answered by a
    /// `PLAYBACK_STATE` broadcast, or an `ERROR` with this `ref`.
    ///
    /// # Errors
    /// [`Error::NotConnected`] between sockets, [`Error::SessionClosed`] once ended (for
    /// every command method).
    pub async fn play(&self, position: Option<PositionMs>) -> Result<ClientRef> {
        self.send(ClientEvent::Play(PlayPause::new(position))).await
    }

    /// Host: pause at `position` (or where the media is).
    ///
    /// # Errors
    /// As [`play`](Self::play).
    pub async fn pause(&self, position: Option<PositionMs>) -> Result<ClientRef> {
        self.send(ClientEvent::Pause(PlayPause::new(position)))
            .await
    }

    /// Host: jump to `position`, keeping play or pause.
    ///
    /// # Errors
    /// As [`play`](Self::play).
    pub async fn seek(&self, position: PositionMs) -> Result<ClientRef> {
        self.send(ClientEvent::Seek(Seek::new(position))).await
    }

    /// Host: change the playback rate.
    ///
    /// # Errors
    /// As [`play`](Self::play).
    pub async fn set_rate(&self, rate: Rate) -> Result<ClientRef> {
        self.send(ClientEvent::SetRate(SetRate::new(rate))).await
    }

    /// Host: play other media, from 0, paused.
    ///
    /// # Errors
    /// As [`play`](Self::play).
    pub async fn set_media(&self, media: MediaRef) -> Result<ClientRef> {
        self.send(ClientEvent::SetMedia(SetMedia::new(media))).await
    }

    /// Say something; answered by a `CHAT_MESSAGE` broadcast (the sender's included) or an
    /// `ERROR` (`CHAT_DISABLED`, `MUTED`, `DUPLICATE_MESSAGE`, `RATE_LIMITED`).
    ///
    /// # Errors
    /// As [`play`](Self::play).
    pub async fn chat(&self, text: ChatText) -> Result<ClientRef> {
        self.send(ClientEvent::Chat(Chat::new(text))).await
    }

    /// Host: turn chat on or off.
    ///
    /// # Errors
    /// As [`play`](Self::play).
    pub async fn set_chat_enabled(&self, enabled: bool) -> Result<ClientRef> {
        self.send(ClientEvent::SetChatEnabled(SetChatEnabled::new(enabled)))
            .await
    }

    /// Host: mute a member for `duration`, or until unmuted.
    ///
    /// # Errors
    /// As [`play`](Self::play).
    pub async fn mute(&self, user: UserId, duration: Option<MuteDuration>) -> Result<ClientRef> {
        self.send(ClientEvent::MuteUser(MuteUser::new(user, duration)))
            .await
    }

    /// Host: lift a member's mute.
    ///
    /// # Errors
    /// As [`play`](Self::play).
    pub async fn unmute(&self, user: UserId) -> Result<ClientRef> {
        self.send(ClientEvent::UnmuteUser(UserTarget::new(user)))
            .await
    }

    /// Host: remove a member (their sockets close with 4011; they may join again).
    ///
    /// # Errors
    /// As [`play`](Self::play).
    pub async fn kick(&self, user: UserId) -> Result<ClientRef> {
        self.send(ClientEvent::KickUser(UserTarget::new(user)))
            .await
    }

    /// Host: remove a member for good (4009; joins answer `403 BANNED`).
    ///
    /// # Errors
    /// As [`play`](Self::play).
    pub async fn ban(&self, user: UserId) -> Result<ClientRef> {
        self.send(ClientEvent::BanUser(UserTarget::new(user))).await
    }

    /// Host: hand the room to an online approved member.
    ///
    /// # Errors
    /// As [`play`](Self::play).
    pub async fn transfer_host(&self, user: UserId) -> Result<ClientRef> {
        self.send(ClientEvent::TransferHost(UserTarget::new(user)))
            .await
    }

    /// Report what the local player did (saves watch progress; never changes playback).
    ///
    /// # Errors
    /// As [`play`](Self::play).
    pub async fn player_event(&self, event: PlayerEvent) -> Result<ClientRef> {
        self.send(ClientEvent::PlayerEvent(event)).await
    }

    /// Report the local position; the server answers `SYNC_CORRECTION` only when it is off
    /// by more than its threshold.
    ///
    /// # Errors
    /// As [`play`](Self::play).
    pub async fn sync_check(&self, position: PositionMs) -> Result<ClientRef> {
        self.send(ClientEvent::SyncCheck(SyncCheck::new(position)))
            .await
    }

    /// Ping the server now, stamped with the session's clock; the `PONG` (with this `ref`)
    /// also feeds the clock offset. The session pings by itself; this is for apps that show
    /// latency.
    ///
    /// # Errors
    /// As [`play`](Self::play).
    pub async fn ping(&self) -> Result<ClientRef> {
        let now = self.inner.clock.now_ms();
        self.send(ClientEvent::Ping(Ping::new(now))).await
    }

    /// Ask for a fresh `ROOM_SNAPSHOT`. The session does this by itself on a `seq` gap.
    ///
    /// # Errors
    /// As [`play`](Self::play).
    pub async fn resync(&self) -> Result<ClientRef> {
        self.send(ClientEvent::Resync(Resync::snapshot())).await
    }

    /// Sends any client event, e.g. a `PLAY` with `expected_version`, with a fresh `ref`.
    ///
    /// # Errors
    /// As [`play`](Self::play).
    pub async fn send(&self, event: ClientEvent) -> Result<ClientRef> {
        let generation = {
            let state = self.state();
            if state.ended {
                return Err(Error::SessionClosed);
            }
            if !state.connected {
                return Err(Error::NotConnected);
            }
            state.generation
        };
        let n = self.inner.next_ref.fetch_add(1, Ordering::Relaxed);
        let reference = ClientRef::new(format!("a{n}")).expect("a short decimal ref is valid");
        let text = ClientMessage::with_ref(event, reference.clone()).encode();
        self.inner
            .commands
            .send(task::Command::Frame { text, generation })
            .await
            .map_err(|_| Error::SessionClosed)?;
        Ok(reference)
    }

    /// Closes the socket normally (1000) and ends the session; the stream's last item is
    /// `Disconnected` with close code 1000 (`CloseCode::Normal`). Returns once the task has stopped
    /// (the close handshake waits at most a second). Every handle sees the session closed.
    pub async fn close(&self) {
        // A full queue only delays this: the task drains it promptly.
        let _ = self.inner.commands.send(task::Command::Close).await;
        let mut finished = self.inner.finished.clone();
        let _ = finished.wait_for(|done| *done).await;
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // Sections are plain assignments; a panic cannot leave the state half-written.
        self.inner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}
