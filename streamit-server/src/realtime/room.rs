//! A live room's task: one per room per node, the thin shell around the room's rules
//! ([`RoomCore`]). Sockets and REST talk to it through [`Command`]s; it feeds them to the
//! core one at a time, answers the core's questions from the store, and carries out its
//! effects: each broadcast is serialised once and the same bytes go to every local socket. It
//! never waits on a socket. The store sees chat and playback through the [`Persister`], and the
//! frames after such a write are held until it is stored (rare moderation writes and lifecycle
//! compare-and-sets are awaited, since they decide).

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use bytes::Bytes;
use streamit_protocol::v1::{
    CHAT_HISTORY_IN_SNAPSHOT, ClientEvent, ClientMessage, ClientRef, CloseCode, LeaveReason,
    Participant, RoomCode, RoomResumed, RoomSnapshot, Seconds, ServerEvent, UserRef,
};
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::Utf8Bytes;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::cluster::{FromOwner, Header, NodeTag, ToOwner};
use super::follower;
use super::history::{History, Resume};
use super::persist::Persister;
use super::room_core::{
    Answer, COUNTER_BLOCK, Effect, Input, Joining, Loaded, Outbound, Persist, ProgressReport,
    Query, RoomCore, Write, count,
};
use super::writer::{self, Writer, reply_frame};
use super::{ConnId, RoomHandle, Shared};
use crate::audit;
use crate::bus::{Bus, Lease, Topic};
use crate::clock::now_ms;
use crate::lifecycle;
use crate::progress;
use crate::store;

/// What a room is asked to do.
pub(crate) enum Command {
    /// A socket passed the handshake checks and wants in.
    Join(Box<Join>),
    /// A socket went.
    Leave { conn: ConnId, reason: LeaveReason },
    /// A decoded client frame.
    Client {
        conn: ConnId,
        message: ClientMessage,
    },
    /// REST deleted the room.
    Deleted,
    /// The grace sweeper expired the room.
    Expired,
    /// A login was logged out: close its sockets with 4001.
    CloseLogin(Uuid),
    /// Someone asked to join this `APPROVAL` room (told to the host only).
    JoinRequested(UserRef),
    /// This node lost its own lease: owners elsewhere may have dropped its sockets, so the
    /// room lets go of them all (1012: they reconnect).
    LetGo,
}

/// A socket asking to join, with what the handshake already read from the store.
pub(crate) struct Join {
    pub(crate) conn: ConnId,
    pub(crate) user: UserRef,
    pub(crate) login_id: Uuid,
    pub(crate) muted_until_ms: Option<u64>,
    pub(crate) participants: Option<Arc<[Participant]>>,
    /// Where the client says it left off, to be replayed what it missed.
    pub(crate) resume: Option<Resume>,
    pub(crate) writer: Writer,
    /// Once the snapshot is queued, the task that admitted the socket (not necessarily the
    /// one the join was sent to: a stopping task hands queued joins on); the close code when
    /// refused.
    pub(crate) admitted: oneshot::Sender<Result<RoomHandle, CloseCode>>,
}

/// A socket the core has not yet admitted or refused.
struct Joiner {
    writer: Writer,
    admitted: oneshot::Sender<Result<RoomHandle, CloseCode>>,
}

/// What a room task owns.
struct LiveRoom {
    shared: Arc<Shared>,
    /// This task's own handle, given to the sockets it admits.
    handle: RoomHandle,
    code: RoomCode,
    core: RoomCore,
    /// This node's sockets in the room.
    sockets: HashMap<ConnId, Writer>,
    joining: HashMap<ConnId, Joiner>,
    /// The core's effects being carried out; kept to reuse its allocation.
    effects: Vec<Effect>,
    persister: Persister,
    /// What sockets see that waits for the writes queued before it, each with the persister's
    /// mark it waits for.
    held: VecDeque<(u64, Outbound)>,
    /// The last `seq` delivered: what a socket resuming now can be replayed up to.
    delivered: u64,
    /// This node's grant to own the room.
    lease: Lease,
    /// Sockets in the room on other nodes, per node: while there are any, the room's frames
    /// go out on the bus too.
    remote: HashMap<NodeTag, usize>,
    relay: Option<Relay>,
    /// Cancelled when the relay finds the lease lost, or the store a newer owner.
    lost: CancellationToken,
    /// Recent broadcasts, for sockets that resume.
    history: History,
    /// Where joining sockets (of any node) left off, until they are admitted.
    resumes: HashMap<ConnId, Resume>,
}

/// Why the loop ended.
enum Stop {
    /// No sockets left.
    Idle,
    /// The room closed for good.
    Closed,
    /// The server is shutting down, or this node lets go of its rooms.
    Shutdown,
    /// The room's lease was lost: another node may own the room already.
    Lost,
}

/// What the owner's loop was woken for.
enum Next {
    Command(Command),
    Remote(Bytes),
    Renew,
    CheckNodes,
    Prune,
    /// The store holds this many of the room's durable writes.
    Stored(u64),
    /// A big room's presence window closed.
    PresenceDue,
}

/// How long the room's lease is known to hold: renewed every third of its time, and before
/// acting once half of it has passed unrenewed.
struct Tenure {
    ttl: std::time::Duration,
    renewed: tokio::time::Instant,
}

impl Tenure {
    fn new(ttl: std::time::Duration) -> Self {
        Self {
            ttl,
            renewed: tokio::time::Instant::now(),
        }
    }

    fn is_stale(&self) -> bool {
        self.renewed.elapsed() >= self.ttl / 2
    }

    /// Renews the lease; `false` once it is lost, or could not be renewed before it ran out.
    async fn renew(&mut self, bus: &dyn Bus, lease: &Lease) -> bool {
        match bus.renew(lease, self.ttl).await {
            Ok(true) => {
                self.renewed = tokio::time::Instant::now();
                true
            }
            Ok(false) => false,
            Err(error) if self.renewed.elapsed() < self.ttl => {
                tracing::warn!(%error, "renewing the room's lease failed; retrying");
                true
            }
            Err(error) => {
                tracing::error!(%error, "the room's lease could not be renewed in time");
                false
            }
        }
    }
}

/// The task that publishes the owner's frames for other nodes.
struct Relay {
    frames: mpsc::Sender<Bytes>,
    task: tokio::task::JoinHandle<()>,
}

/// Frames the relay may hold before the room waits for the bus.
const RELAY_BACKLOG: usize = 4096;

impl LiveRoom {
    /// Loads the room and reserves a block of `seq` and `version` values.
    async fn load(
        shared: Arc<Shared>,
        code: RoomCode,
        handle: RoomHandle,
        lease: Lease,
    ) -> store::Result<Option<Self>> {
        let Some(record) = shared.store.room(code).await? else {
            return Ok(None);
        };
        let Some(term) = shared.store.take_term(code).await? else {
            return Ok(None);
        };
        let Some((seq, version)) = shared.store.reserve_counters(code, COUNTER_BLOCK).await? else {
            return Ok(None);
        };
        let chat = shared
            .store
            .recent_chat(code, CHAT_HISTORY_IN_SNAPSHOT)
            .await?;
        debug_assert!(
            seq >= record.seq,
            "the ceiling is never below the stored seq"
        );
        let mut playback = record.playback;
        playback.version = version;
        let lost = CancellationToken::new();
        let persister = Persister::start(
            shared.store.clone(),
            (code, term),
            (playback, seq),
            lost.clone(),
        );
        let shared_history = shared.history;
        let settings = shared.room_settings;
        let core = RoomCore::new(
            settings,
            Loaded {
                room: record.room,
                playback,
                seq,
                seq_ceiling: seq + COUNTER_BLOCK,
                version_ceiling: version + COUNTER_BLOCK,
                chat,
            },
        );
        Ok(Some(Self {
            shared,
            handle,
            code,
            core,
            sockets: HashMap::new(),
            joining: HashMap::new(),
            effects: Vec::new(),
            persister,
            held: VecDeque::new(),
            delivered: seq,
            lease,
            remote: HashMap::new(),
            relay: None,
            lost,
            history: History::new(shared_history),
            resumes: HashMap::new(),
        }))
    }

    /// Handles one command; `Some` when the room must stop.
    async fn handle(&mut self, command: Command) -> Option<Stop> {
        let input = match command {
            Command::Join(join) => {
                let Join {
                    conn,
                    user,
                    login_id,
                    muted_until_ms,
                    participants,
                    resume,
                    writer,
                    admitted,
                } = *join;
                if let Some(resume) = resume {
                    self.resumes.insert(conn, resume);
                }
                self.joining.insert(conn, Joiner { writer, admitted });
                Input::Join(Joining {
                    conn,
                    user,
                    login_id,
                    muted_until_ms,
                    participants,
                })
            }
            // A server stopping is not a user leaving: no USER_LEFT, no grace. The next start
            // puts rooms whose host was live into grace from then.
            Command::Leave { conn, .. } if self.shared.shutdown.is_cancelled() => {
                self.detach(conn, CloseCode::Normal);
                return None;
            }
            Command::Leave { conn, reason } => Input::Leave { conn, reason },
            Command::Client { conn, message } => {
                if self.replayed(conn, &message).await {
                    return None;
                }
                Input::Client { conn, message }
            }
            Command::Deleted => Input::Deleted,
            Command::Expired => Input::Expired,
            Command::CloseLogin(login_id) => Input::CloseLogin(login_id),
            Command::JoinRequested(user) => Input::JoinRequested(user),
            Command::LetGo => return Some(Stop::Shutdown),
        };
        self.drive(input).await;
        self.stop_due()
    }

    /// Handles a command a follower node sent for one of its sockets.
    async fn handle_remote(&mut self, command: ToOwner) -> Option<Stop> {
        let input = match command {
            ToOwner::Join {
                conn,
                user,
                login_id,
                muted_until_ms,
                participants,
                resume,
            } => {
                // Kept aside until the core admits the socket.
                if let Some(resume) = resume {
                    self.resumes.insert(conn, resume);
                }
                Input::Join(Joining {
                    conn,
                    user,
                    login_id,
                    muted_until_ms,
                    participants: participants.map(Into::into),
                })
            }
            ToOwner::Leave { conn, reason } => Input::Leave { conn, reason },
            ToOwner::Client { conn, frame } => match ClientMessage::decode(&frame) {
                Ok(message) if self.replayed(conn, &message).await => return None,
                Ok(message) => Input::Client { conn, message },
                Err(error) => {
                    tracing::warn!(%conn, %error, "a relayed frame does not decode");
                    return None;
                }
            },
        };
        self.drive(input).await;
        self.stop_due()
    }

    fn stop_due(&self) -> Option<Stop> {
        if self.core.state().is_closed() {
            Some(Stop::Closed)
        } else {
            self.core.is_empty().then_some(Stop::Idle)
        }
    }

    /// Drops the sockets of nodes that stopped renewing their lease.
    async fn check_nodes(&mut self) {
        let nodes: Vec<NodeTag> = self.remote.keys().copied().collect();
        for node in nodes {
            let key = self.shared.cluster.node_lease_key(node);
            if let Ok(None) = self.shared.cluster.bus.holder(&key).await {
                tracing::warn!(room = %self.code, %node, "a node is gone; its sockets leave");
                self.remote.remove(&node);
                self.drive(Input::NodeGone(node)).await;
            }
        }
    }

    /// Sends a frame to the room's other nodes, in order, fenced by this node's lease.
    async fn relay(&mut self, what: FromOwner, frame: &[u8]) {
        let header = Header {
            fence: self.lease.fence,
            crowded: self.core.is_crowded(),
            what,
        };
        let Some(message) = header.encode(frame) else {
            return;
        };
        let relay = self.relay.get_or_insert_with(|| {
            let (sender, frames) = mpsc::channel(RELAY_BACKLOG);
            let cluster = &self.shared.cluster;
            let topic = cluster.frames_topic(self.code);
            let task = relay(
                Arc::clone(&cluster.bus),
                self.lease.clone(),
                topic,
                frames,
                self.lost.clone(),
            );
            Relay {
                frames: sender,
                task: self.shared.tasks.spawn(task),
            }
        });
        if relay.frames.send(message).await.is_err() {
            self.lost.cancel();
        }
    }

    /// What a joining socket gets first: what it missed, when it resumes and the history still
    /// holds it all; else the snapshot, naming the history's epoch.
    fn first_frames(
        &self,
        resume: Option<&Resume>,
        mut snapshot: Box<RoomSnapshot>,
    ) -> Vec<Utf8Bytes> {
        if let Some(frames) = resume.and_then(|resume| self.replay(resume, None)) {
            return frames;
        }
        snapshot.epoch = Some(self.history.epoch().to_owned());
        vec![reply_frame(None, ServerEvent::RoomSnapshot(snapshot))]
    }

    /// Sends several frames for one socket of another node, one per line (server frames hold
    /// no raw newline).
    async fn relay_frames(&mut self, what: FromOwner, frames: &[Utf8Bytes]) {
        let lines: Vec<&str> = frames.iter().map(Utf8Bytes::as_str).collect();
        self.relay(what, lines.join("\n").as_bytes()).await;
    }

    /// `ROOM_RESUMED` (answering `reference`) and the broadcasts after `resume`, when the
    /// history holds them all.
    fn replay(&self, resume: &Resume, reference: Option<ClientRef>) -> Option<Vec<Utf8Bytes>> {
        let Some(missed) = self.history.since(resume, self.delivered) else {
            self.shared.metrics.resumed(false);
            return None;
        };
        let replayed = count(missed.len());
        let resumed = RoomResumed::new(self.history.epoch(), resume.since_seq, replayed);
        let mut frames = vec![reply_frame(reference, ServerEvent::RoomResumed(resumed))];
        frames.extend(missed);
        self.shared.metrics.resumed(true);
        Some(frames)
    }

    /// Answers a `RESYNC` that says where its socket left off from the history, when that
    /// holds everything since; `false` when the core must answer it with a snapshot.
    async fn replayed(&mut self, conn: ConnId, message: &ClientMessage) -> bool {
        let ClientEvent::Resync(resync) = &message.event else {
            return false;
        };
        let (Some(since_seq), Some(epoch)) = (resync.since_seq, resync.epoch.clone()) else {
            return false;
        };
        let resume = Resume { since_seq, epoch };
        let Some(frames) = self.replay(&resume, message.reference.clone()) else {
            return false;
        };
        if let Some(writer) = self.sockets.get(&conn) {
            let crowded = self.core.is_crowded();
            for frame in frames {
                writer.send_in_room(frame, crowded);
            }
        } else if self.is_remote(conn) {
            self.relay_frames(FromOwner::Resume { conn }, &frames).await;
        }
        true
    }

    /// Whether `conn` is served by another node.
    fn is_remote(&self, conn: ConnId) -> bool {
        conn.node() != self.shared.cluster.node
    }

    /// Feeds one input to the core, answering its questions, until it is done with it.
    async fn drive(&mut self, input: Input) {
        let mut ask = self.core.apply(input, now_ms());
        loop {
            self.carry_out().await;
            let Some(paused) = ask else { break };
            let answer = self.answer(paused.query).await;
            ask = self.core.resume(paused.then, answer, now_ms());
        }
    }

    /// Carries out the core's effects, in order.
    async fn carry_out(&mut self) {
        let mut effects = std::mem::take(&mut self.effects);
        effects.extend(self.core.drain_effects());
        for effect in effects.drain(..) {
            self.carry_out_one(effect).await;
        }
        self.effects = effects;
    }

    /// Carries out one effect: writes are queued and store-side effects happen at once; what
    /// sockets see waits behind the durable writes queued before it.
    async fn carry_out_one(&mut self, effect: Effect) {
        match effect {
            Effect::Persist(Persist::Playback { playback, seq }) => {
                self.persister.playback(playback, seq).await;
            }
            Effect::Persist(Persist::Presence {
                viewers,
                host_online,
            }) => self.persister.presence(viewers, host_online),
            Effect::Persist(Persist::Chat(message)) => self.persister.chat(message).await,
            Effect::RaiseCeilings { seq, version } => {
                let raised = self.shared.store.raise_ceilings(self.code, seq, version);
                if let Err(error) = raised.await {
                    tracing::error!(room = %self.code, %error, "raising counter ceilings failed");
                    self.core.ceilings_not_raised();
                }
            }
            Effect::Audit {
                actor,
                action,
                subject,
            } => {
                let store = self.shared.store.clone();
                let record = audit::record(store, self.code, actor, action, subject);
                self.shared.tasks.spawn(record);
            }
            Effect::SaveProgress(report) => self.save_progress(report),
            Effect::SyncChecked {
                drift_ms,
                corrected,
            } => self.shared.metrics.sync_check(drift_ms, corrected),
            Effect::Out(out) if self.held.is_empty() && !self.persister.is_behind() => {
                self.deliver(out).await;
            }
            Effect::Out(out) => self.held.push_back((self.persister.mark(), out)),
        }
    }

    /// Delivers what waited for the first `stored` durable writes.
    async fn release(&mut self, stored: u64) {
        while let Some((mark, _)) = self.held.front()
            && *mark <= stored
        {
            if let Some((_, delivery)) = self.held.pop_front() {
                self.deliver(delivery).await;
            }
        }
    }

    /// Delivers everything held, waiting for the store as long as it takes, unless the room
    /// is lost meanwhile (then what waited is never told).
    async fn flush(&mut self) {
        while !self.held.is_empty() {
            let stored = tokio::select! {
                stored = self.persister.stored() => stored,
                () = self.lost.cancelled() => return,
            };
            self.release(stored).await;
        }
    }

    /// Sends what sockets see.
    async fn deliver(&mut self, out: Outbound) {
        match out {
            Outbound::Broadcast(message) => {
                let frame = Utf8Bytes::from(message.encode());
                if let Some(seq) = message.seq {
                    self.history.push(seq, frame.clone(), message.ts);
                    self.delivered = seq;
                }
                let crowded = self.core.is_crowded();
                writer::broadcast(self.sockets.values(), &frame, crowded, &self.shared.metrics);
                if !self.remote.is_empty() {
                    self.relay(FromOwner::Broadcast, frame.as_bytes()).await;
                }
            }
            Outbound::Reply {
                conn,
                reference,
                mut event,
            } => {
                if let ServerEvent::RoomSnapshot(snapshot) = &mut event {
                    snapshot.epoch = Some(self.history.epoch().to_owned());
                }
                if let Some(writer) = self.sockets.get(&conn) {
                    writer.send(reply_frame(reference, event));
                } else if self.is_remote(conn) {
                    let frame = reply_frame(reference, event);
                    self.relay(FromOwner::Reply { conn }, frame.as_bytes())
                        .await;
                }
            }
            Outbound::Admit { conn, snapshot } => {
                let resume = self.resumes.remove(&conn);
                let frames = self.first_frames(resume.as_ref(), snapshot);
                let Some(joiner) = self.joining.remove(&conn) else {
                    if self.is_remote(conn) {
                        *self.remote.entry(conn.node()).or_default() += 1;
                        self.relay_frames(FromOwner::Admit { conn }, &frames).await;
                    }
                    return;
                };
                let crowded = self.core.is_crowded();
                for frame in frames {
                    joiner.writer.send_in_room(frame, crowded);
                }
                self.sockets.insert(conn, joiner.writer);
                tracing::debug!(room = %self.code, %conn, "socket joined");
                let _ = joiner.admitted.send(Ok(self.handle.clone()));
            }
            Outbound::Refuse { conn, close } => {
                if let Some(joiner) = self.joining.remove(&conn) {
                    let _ = joiner.admitted.send(Err(close));
                } else if self.is_remote(conn) {
                    self.relay(FromOwner::Refuse { conn, close }, b"").await;
                }
            }
            Outbound::Detach { conn, close } if self.is_remote(conn) => {
                if let Some(count) = self.remote.get_mut(&conn.node()) {
                    *count -= 1;
                    if *count == 0 {
                        self.remote.remove(&conn.node());
                    }
                }
                self.relay(FromOwner::Detach { conn, close }, b"").await;
            }
            Outbound::Detach { conn, close } => self.detach(conn, close),
        }
    }

    /// Stops sending to a socket and closes it (a socket already closing keeps its code).
    fn detach(&mut self, conn: ConnId, close: CloseCode) {
        if let Some(writer) = self.sockets.remove(&conn) {
            if close != CloseCode::Normal {
                tracing::info!(room = %self.code, %conn, %close, "closing the socket");
            }
            writer.close(close);
        }
    }

    /// Answers the core's question from the store; a failure is logged here and the core only
    /// hears that it failed.
    async fn answer(&self, query: Query) -> Answer {
        let store = &self.shared.store;
        let code = self.code;
        let (what, answered) = match query {
            Query::Transition {
                event,
                to,
                deadline_ms,
            } => {
                let sources = lifecycle::sources(event);
                let moved = store.transition_room(code, &sources, to, deadline_ms, now_ms());
                (
                    "lifecycle transition",
                    moved.await.map(Answer::Transitioned),
                )
            }
            Query::Membership(user) => {
                let membership = store.membership(code, user).await;
                let status = membership.map(|m| Answer::Membership(m.map(|m| m.status)));
                ("reading membership", status)
            }
            Query::User(user) => {
                let found = store.user(user).await;
                (
                    "reading user",
                    found.map(|u| Answer::User(u.map(|u| u.to_ref()))),
                )
            }
            Query::Participants => {
                let many = self.shared.room_settings.crowd_from;
                let participants = store.participants_below(code, many).await;
                (
                    "reading participants",
                    participants.map(Answer::Participants),
                )
            }
            Query::Write(write) => {
                let (what, written) = match write {
                    Write::Media { media, embed_url } => (
                        "saving media",
                        store.set_media(code, &media, &embed_url).await,
                    ),
                    Write::ChatEnabled(enabled) => (
                        "saving chat setting",
                        store.set_chat_enabled(code, enabled).await,
                    ),
                    Write::MutedUntil { user, until } => (
                        "saving mute",
                        store.set_muted_until(code, user, until).await,
                    ),
                    Write::RemoveMember(user) => {
                        ("saving removal", store.remove_member(code, user).await)
                    }
                    Write::Ban(user) => ("saving removal", store.ban(code, user, now_ms()).await),
                    Write::Host(user) => ("saving host", store.set_host(code, user).await),
                };
                (what, written.map(|()| Answer::Written))
            }
        };
        answered.unwrap_or_else(|error| {
            tracing::error!(room = %code, %error, "{what} failed");
            Answer::Failed
        })
    }

    /// Saves a member's progress off the room's path.
    fn save_progress(&self, report: ProgressReport) {
        let (Ok(position), duration) = (
            Seconds::new(report.position_ms as f64 / 1000.0),
            report
                .duration_ms
                .and_then(|d| Seconds::new(d as f64 / 1000.0).ok()),
        ) else {
            return;
        };
        let store = self.shared.store.clone();
        let code = self.code;
        self.shared.tasks.spawn(async move {
            let saved = progress::Report {
                user_id: report.user_id,
                room_code: code,
                media: &report.media,
                position_s: position,
                duration_s: duration,
                ended: report.ended,
            };
            if let Err(error) = progress::record(&store, saved).await {
                tracing::error!(room = %code, %error, "saving player progress failed");
            }
        });
    }
}

/// Attempts at taking the room's lease, or finding who holds it, before giving up.
const LEASE_ATTEMPTS: usize = 5;

/// The room task: owns the room when this node can take its lease, and otherwise follows its
/// owner (see `follower`). An owner loads the room, serves commands until it is idle, closed,
/// lost or the server stops, flushes the store, and only then steps aside, handing queued
/// joins to a fresh task (which so loads what this one wrote).
#[tracing::instrument(skip(shared, handle, commands), fields(room = %code))]
pub(super) async fn run(
    shared: Arc<Shared>,
    code: RoomCode,
    handle: RoomHandle,
    commands: mpsc::Receiver<Command>,
) {
    let id = handle.id;
    let cluster = &shared.cluster;
    let key = cluster.room_lease_key(code);
    for _ in 0..LEASE_ATTEMPTS {
        let acquired = cluster
            .bus
            .acquire(&key, &cluster.holder(), cluster.room_lease)
            .await;
        match acquired {
            Ok(Some(lease)) => return own(shared, code, handle, commands, lease).await,
            Ok(None) => match cluster.bus.holder(&key).await {
                Ok(Some(owner)) => {
                    return follower::run(shared, code, handle, commands, owner).await;
                }
                Ok(None) => continue,
                Err(error) => tracing::error!(%error, "finding the room's owner failed"),
            },
            Err(error) => tracing::error!(%error, "taking the room's lease failed"),
        }
        break;
    }
    let refusal = Some(CloseCode::ServiceRestart);
    settle_joins(&shared, code, id, commands, refusal).await;
}

/// Serves the room as its owner, holding `lease`.
async fn own(
    shared: Arc<Shared>,
    code: RoomCode,
    handle: RoomHandle,
    mut commands: mpsc::Receiver<Command>,
    lease: Lease,
) {
    let id = handle.id;
    let cluster = shared.cluster.clone();
    let loaded = match cluster.bus.subscribe(&cluster.commands_topic(code)).await {
        Ok(remote) => LiveRoom::load(Arc::clone(&shared), code, handle, lease.clone())
            .await
            .map(|room| room.map(|room| (room, remote))),
        Err(error) => {
            tracing::error!(%error, "listening for the room's commands failed");
            let _ = cluster.bus.release(&lease).await;
            return settle_joins(&shared, code, id, commands, Some(CloseCode::ServiceRestart))
                .await;
        }
    };
    let (mut room, mut remote) = match loaded {
        Ok(Some(loaded)) => loaded,
        Ok(None) => {
            let _ = cluster.bus.release(&lease).await;
            return settle_joins(&shared, code, id, commands, Some(CloseCode::RoomNotFound)).await;
        }
        Err(error) => {
            tracing::error!(%error, "loading the room failed");
            let _ = cluster.bus.release(&lease).await;
            return settle_joins(&shared, code, id, commands, Some(CloseCode::InternalError)).await;
        }
    };
    tracing::debug!(fence = lease.fence, "owning the room");
    let _live = shared.metrics.room_live();
    room.drive(Input::Start).await;
    let mut prune = tokio::time::interval(std::time::Duration::from_secs(30));
    let mut renew = tokio::time::interval(cluster.room_lease / 3);
    renew.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut nodes = tokio::time::interval(cluster.node_lease / 2);
    nodes.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut tenure = Tenure::new(cluster.room_lease);
    let lost = room.lost.clone();
    let presence = tokio::time::sleep(std::time::Duration::ZERO);
    tokio::pin!(presence);
    let mut presence_armed = false;
    let stop = loop {
        let next = tokio::select! {
            biased;
            () = shared.shutdown.cancelled() => break Stop::Shutdown,
            () = lost.cancelled() => break Stop::Lost,
            command = commands.recv() => match command {
                Some(command) => Next::Command(command),
                None => break Stop::Idle,
            },
            message = remote.next() => match message {
                Some(message) => Next::Remote(message),
                None => break Stop::Lost,
            },
            _ = renew.tick() => Next::Renew,
            _ = nodes.tick(), if !room.remote.is_empty() => Next::CheckNodes,
            _ = prune.tick() => Next::Prune,
            stored = room.persister.stored(), if !room.held.is_empty() => Next::Stored(stored),
            () = &mut presence, if presence_armed => Next::PresenceDue,
        };
        // A node that was frozen past its lease (SIGSTOP, a long pause) finds out here,
        // before it acts on anything that queued up meanwhile.
        let due = matches!(next, Next::Renew) || tenure.is_stale();
        if due && !tenure.renew(&*cluster.bus, &room.lease).await {
            break Stop::Lost;
        }
        let stop = match next {
            Next::Command(command) => room.handle(command).await,
            Next::Remote(message) => match ToOwner::decode(&message) {
                Some(command) => room.handle_remote(command).await,
                None => None,
            },
            Next::Renew => None,
            Next::CheckNodes => {
                room.check_nodes().await;
                room.stop_due()
            }
            Next::Prune => {
                room.history.forget_old(crate::clock::now_ms());
                room.drive(Input::Tick).await;
                None
            }
            Next::Stored(stored) => {
                room.release(stored).await;
                None
            }
            Next::PresenceDue => {
                room.drive(Input::PresenceDue).await;
                None
            }
        };
        if let Some(stop) = stop {
            break stop;
        }
        room.handle.roster.set_crowded(room.core.is_crowded());
        presence_armed = match room.core.presence_due_at() {
            Some(due_ms) => {
                let wait = std::time::Duration::from_millis(due_ms.saturating_sub(now_ms()));
                presence.as_mut().reset(tokio::time::Instant::now() + wait);
                true
            }
            None => false,
        };
    };
    // Sockets may all have left just before the room saw the shutdown: still a clean stop.
    let stop = match stop {
        Stop::Idle if shared.shutdown.is_cancelled() => Stop::Shutdown,
        other => other,
    };
    drop(remote);
    if let Stop::Lost = stop {
        tracing::warn!(
            fence = room.lease.fence,
            "the room's lease was lost; letting go"
        );
        for (_, writer) in room.sockets.drain() {
            writer.close(CloseCode::ServiceRestart);
        }
        room.persister.abandon().await;
        return settle_joins(&shared, code, id, commands, None).await;
    }
    if let Stop::Shutdown = stop {
        room.core.shut_down();
        room.carry_out().await;
    }
    room.flush().await;
    // Settling lowers the store's ceilings to the values used, so the next task continues
    // without a gap; it is safe on any stop, since it leaves alone a block a newer task took.
    let (playback, seq, ceilings) = room.core.settlement();
    room.persister.finish(ceilings, playback, seq).await;
    // The relay's frames go out before the lease does: the next owner's come after them.
    if let Some(Relay { frames, task }) = room.relay.take() {
        drop(frames);
        let _ = task.await;
    }
    if let Err(error) = cluster.bus.release(&room.lease).await {
        tracing::warn!(%error, "releasing the room's lease failed; it runs out instead");
    }
    let refusal = match stop {
        Stop::Shutdown => Some(CloseCode::ServiceRestart),
        Stop::Closed => Some(CloseCode::RoomClosed),
        Stop::Idle | Stop::Lost => None,
    };
    settle_joins(&shared, code, id, commands, refusal).await;
}

/// Publishes the owner's frames for the other nodes, one after another so they keep their
/// order; stops (cancelling `lost`) once the lease no longer holds or the bus fails.
async fn relay(
    bus: Arc<dyn Bus>,
    lease: Lease,
    topic: Topic,
    mut frames: mpsc::Receiver<Bytes>,
    lost: CancellationToken,
) {
    while let Some(frame) = frames.recv().await {
        match bus.publish_fenced(&lease, &topic, frame).await {
            Ok(true) => {}
            Ok(false) => {
                tracing::warn!(
                    fence = lease.fence,
                    "the room's lease is another node's now"
                );
                lost.cancel();
                return;
            }
            Err(error) => {
                tracing::error!(%error, "relaying the room's frames failed");
                lost.cancel();
                return;
            }
        }
    }
}

/// Takes the ended task out of the registry and answers the joins that raced its end: refused
/// with `refusal`, or, when the room only went idle, handed to a fresh task.
pub(super) async fn settle_joins(
    shared: &Arc<Shared>,
    code: RoomCode,
    id: u64,
    mut commands: mpsc::Receiver<Command>,
    refusal: Option<CloseCode>,
) {
    shared.registry.remove(code, id);
    commands.close();
    // `recv`, not `try_recv`: a socket that took its permit before the close still puts its
    // join in, and `try_recv` would already say "empty" (and the join be dropped with the
    // queue, its socket closed with 1011); `recv` waits for it, then ends.
    while let Some(command) = commands.recv().await {
        let Command::Join(join) = command else {
            continue;
        };
        match refusal {
            Some(close) => {
                let _ = join.admitted.send(Err(close));
            }
            None => {
                let fresh = shared.registry.handle(shared, code);
                shared.registry.join(shared, code, fresh, join).await;
            }
        }
    }
}
