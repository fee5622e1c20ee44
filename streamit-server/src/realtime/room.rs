//! A live room: one task per room per node that owns the room's in-memory state and its local
//! sockets. Sockets and REST talk to it through [`Command`]s; it checks authority, stamps
//! `seq`, serialises each broadcast once and hands the same bytes to every socket. It never
//! waits on a socket; the store sees its changes through the write-behind [`Persister`] (rare
//! moderation writes and lifecycle compare-and-sets are awaited, since they decide).

mod events;

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use streamit_protocol::v1::{
    AuditAction, CHAT_HISTORY_IN_SNAPSHOT, ChatMessage, ClientMessage, ClientRef, CloseCode, Empty,
    HostDisconnected, LeaveReason, Participant, Playback, Room, RoomCode, RoomSnapshot, RoomState,
    ServerEvent, ServerMessage, UserId, UserJoined, UserLeft, UserRef, You,
};
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::Utf8Bytes;
use uuid::Uuid;

use super::chat_rules::ChatGuard;
use super::persist::Persister;
use super::writer::{self, Delivery, Writer, reply_frame};
use super::{ConnId, RoomHandle, Shared};
use crate::audit;
use crate::clock::now_ms;
use crate::rooms::lifecycle::{self, Event};
use crate::store;

/// How far ahead of use the store's `seq` and `version` ceilings are kept.
const COUNTER_BLOCK: u64 = 1_000;

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
}

/// A socket asking to join, with what the handshake already read from the store.
pub(crate) struct Join {
    pub(crate) conn: ConnId,
    pub(crate) user: UserRef,
    pub(crate) login_id: Uuid,
    pub(crate) muted_until_ms: Option<u64>,
    pub(crate) participants: Arc<[Participant]>,
    pub(crate) writer: Writer,
    /// Once the snapshot is queued, the task that admitted the socket (not necessarily the
    /// one the join was sent to: a stopping task hands queued joins on); the close code when
    /// refused.
    pub(crate) admitted: oneshot::Sender<Result<RoomHandle, CloseCode>>,
}

struct Socket {
    user_id: UserId,
    login_id: Uuid,
    writer: Writer,
}

/// What a room task owns.
pub(super) struct LiveRoom {
    shared: Arc<Shared>,
    /// This task's own handle, given to the sockets it admits.
    handle: RoomHandle,
    code: RoomCode,
    room: Room,
    playback: Playback,
    seq: u64,
    seq_ceiling: u64,
    version_ceiling: u64,
    sockets: HashMap<ConnId, Socket>,
    /// Live sockets per user: presence is "has at least one".
    online: HashMap<UserId, usize>,
    users: HashMap<UserId, UserRef>,
    mutes: HashMap<UserId, u64>,
    chat: VecDeque<ChatMessage>,
    guards: HashMap<UserId, ChatGuard>,
    persister: Persister,
}

/// Why the loop ended.
enum Stop {
    /// No sockets left.
    Idle,
    /// The room closed for good.
    Closed,
    /// The server is shutting down.
    Shutdown,
}

impl LiveRoom {
    /// Loads the room and reserves a block of `seq` and `version` values.
    async fn load(
        shared: Arc<Shared>,
        code: RoomCode,
        handle: RoomHandle,
    ) -> store::Result<Option<Self>> {
        let Some(record) = shared.store.room(code).await? else {
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
        let persister = Persister::start(
            shared.store.clone(),
            Arc::clone(&shared.metrics),
            code,
            playback,
            seq,
        );
        Ok(Some(Self {
            shared,
            handle,
            code,
            room: record.room,
            playback,
            seq,
            seq_ceiling: seq + COUNTER_BLOCK,
            version_ceiling: version + COUNTER_BLOCK,
            sockets: HashMap::new(),
            online: HashMap::new(),
            users: HashMap::new(),
            mutes: HashMap::new(),
            chat: chat.into(),
            guards: HashMap::new(),
            persister,
        }))
    }

    fn is_host(&self, user_id: UserId) -> bool {
        self.room.host.id == user_id
    }

    fn viewers(&self) -> u32 {
        u32::try_from(self.online.len()).unwrap_or(u32::MAX)
    }

    fn publish_presence(&mut self) {
        self.room.viewers = self.viewers();
        let host_online = self.online.contains_key(&self.room.host.id);
        self.persister.presence(self.room.viewers, host_online);
    }

    /// Stamps the next `seq`, encodes once, and queues the same bytes on every socket.
    async fn broadcast(&mut self, event: ServerEvent) {
        if self.seq >= self.seq_ceiling {
            self.raise_ceilings().await;
        }
        self.seq += 1;
        let frame = Utf8Bytes::from(ServerMessage::broadcast(self.seq, now_ms(), event).encode());
        let mut delivered = 0;
        let queued_at = writer::now_ns();
        for socket in self.sockets.values() {
            match socket.writer.send_queued_at(frame.clone(), || queued_at) {
                Delivery::Queued => delivered += 1,
                Delivery::TooSlow => self.shared.metrics.slow_consumer(),
                Delivery::Gone => {}
            }
        }
        self.shared.metrics.broadcast(delivered);
    }

    /// Keeps the store's ceilings ahead of the counters, so a crash never makes them go back.
    async fn raise_ceilings(&mut self) {
        let seq_ceiling = self.seq.max(self.seq_ceiling) + COUNTER_BLOCK;
        let version_ceiling = self.playback.version.max(self.version_ceiling) + COUNTER_BLOCK;
        match self
            .shared
            .store
            .raise_ceilings(self.code, seq_ceiling, version_ceiling)
            .await
        {
            Ok(()) => (self.seq_ceiling, self.version_ceiling) = (seq_ceiling, version_ceiling),
            Err(error) => {
                tracing::error!(room = %self.code, %error, "raising counter ceilings failed")
            }
        }
    }

    /// A reply to one socket: not a broadcast, so no `seq`.
    fn reply(&self, conn: ConnId, reference: Option<ClientRef>, event: ServerEvent) {
        if let Some(socket) = self.sockets.get(&conn) {
            socket.writer.send(reply_frame(reference, event));
        }
    }

    fn snapshot(&self, user: &UserRef, participants: &[Participant]) -> RoomSnapshot {
        let participants = participants
            .iter()
            .filter(|p| {
                p.status == streamit_protocol::v1::MemberStatus::Approved || self.is_host(user.id)
            })
            .map(|p| {
                let mut p = p.clone();
                p.online = self.online.contains_key(&p.user.id);
                p.is_host = self.is_host(p.user.id);
                p.muted_until_ms = self.mutes.get(&p.user.id).copied().or(p.muted_until_ms);
                p
            })
            .collect();
        let you = You::new(
            user.clone(),
            self.is_host(user.id),
            self.mutes.get(&user.id).copied(),
        );
        let chat = self.chat.iter().cloned().collect();
        RoomSnapshot::new(
            self.room.clone(),
            you,
            participants,
            self.playback,
            chat,
            self.seq,
        )
    }

    /// Moves the room through the lifecycle in the store first (a compare-and-set), then here.
    async fn transition(&mut self, event: Event, deadline: Option<u64>) -> Result<(), CloseCode> {
        let Ok(to) = lifecycle::next(self.room.state, event) else {
            return Err(CloseCode::RoomClosed);
        };
        let sources = lifecycle::sources(event);
        match self
            .shared
            .store
            .transition_room(self.code, &sources, to, deadline, now_ms())
            .await
        {
            Ok(true) => {
                self.room.state = to;
                self.room.grace_deadline_ms = deadline;
                Ok(())
            }
            Ok(false) => Err(CloseCode::RoomClosed),
            Err(error) => {
                tracing::error!(room = %self.code, %error, "lifecycle transition failed");
                Err(CloseCode::InternalError)
            }
        }
    }

    async fn join(&mut self, join: Join) {
        let Join {
            conn,
            user,
            login_id,
            muted_until_ms,
            participants,
            writer,
            admitted,
        } = join;
        let is_host = self.is_host(user.id);
        let first_socket = !self.online.contains_key(&user.id);
        if is_host
            && first_socket
            && matches!(self.room.state, RoomState::Created | RoomState::Grace)
        {
            let was_in_grace = self.room.state == RoomState::Grace;
            if let Err(code) = self.transition(Event::HostConnected, None).await {
                let _ = admitted.send(Err(code));
                return;
            }
            if was_in_grace {
                self.broadcast(ServerEvent::HostReconnected(Empty {})).await;
            }
        }
        if let Some(until) = muted_until_ms {
            self.mutes.insert(user.id, until);
        }
        self.users.insert(user.id, user.clone());
        *self.online.entry(user.id).or_default() += 1;
        self.publish_presence();
        if first_socket {
            self.broadcast(ServerEvent::UserJoined(UserJoined::new(
                user.clone(),
                self.viewers(),
            )))
            .await;
        }
        let snapshot = self.snapshot(&user, &participants);
        writer.send(reply_frame(
            None,
            ServerEvent::RoomSnapshot(Box::new(snapshot)),
        ));
        self.sockets.insert(
            conn,
            Socket {
                user_id: user.id,
                login_id,
                writer,
            },
        );
        tracing::debug!(room = %self.code, user = %user.id, %conn, "socket joined");
        let _ = admitted.send(Ok(self.handle.clone()));
    }

    /// Removes a socket; the user's last one announces `USER_LEFT`, the host's last one starts
    /// grace.
    async fn leave(&mut self, conn: ConnId, reason: LeaveReason) {
        let Some(socket) = self.sockets.remove(&conn) else {
            return;
        };
        socket.writer.close(CloseCode::Normal);
        // A server stopping is not a user leaving: no USER_LEFT, no grace. The next start puts
        // rooms whose host was live into grace from then.
        if self.shared.shutdown.is_cancelled() {
            return;
        }
        let user_id = socket.user_id;
        let remaining = self.online.get_mut(&user_id).map(|n| {
            *n -= 1;
            *n
        });
        if remaining != Some(0) {
            return;
        }
        self.online.remove(&user_id);
        self.publish_presence();
        let user = self.users.get(&user_id).cloned();
        if let Some(user) = user {
            self.broadcast(ServerEvent::UserLeft(UserLeft::new(
                user,
                reason,
                self.viewers(),
            )))
            .await;
        }
        if self.is_host(user_id) && self.room.state == RoomState::Live {
            self.start_grace().await;
        }
    }

    async fn start_grace(&mut self) {
        let grace_seconds = self.shared.grace_seconds;
        let deadline = lifecycle::grace_deadline(now_ms(), grace_seconds);
        if self
            .transition(Event::HostLeft, Some(deadline))
            .await
            .is_ok()
        {
            tracing::info!(room = %self.code, deadline, "host left; room in grace");
            self.broadcast(ServerEvent::HostDisconnected(HostDisconnected::new(
                grace_seconds,
                deadline,
            )))
            .await;
        }
    }

    /// The room is over: tell everyone, then close every socket with 4010.
    async fn close_room(&mut self, event: ServerEvent) {
        self.broadcast(event).await;
        for socket in self.sockets.values() {
            socket.writer.close(CloseCode::RoomClosed);
        }
        self.sockets.clear();
        self.online.clear();
        self.publish_presence();
    }

    /// Closes every socket `which` picks with `close` and has it leave with `reason` (a user's
    /// last socket announces `USER_LEFT`).
    async fn drop_sockets(
        &mut self,
        which: impl Fn(&Socket) -> bool,
        close: CloseCode,
        reason: LeaveReason,
    ) {
        let conns: Vec<ConnId> = self
            .sockets
            .iter()
            .filter(|(_, s)| which(s))
            .map(|(conn, _)| *conn)
            .collect();
        for conn in conns {
            if let Some(socket) = self.sockets.get(&conn) {
                tracing::info!(room = %self.code, user = %socket.user_id, %conn, %close, "closing the socket");
                socket.writer.close(close);
            }
            self.leave(conn, reason).await;
        }
    }

    /// Keeps a host action in the room's audit log, off this task: the room never waits on it.
    fn audit(&self, actor: UserId, action: AuditAction, subject: Option<UserId>) {
        let record = audit::record(self.shared.store.clone(), self.code, actor, action, subject);
        self.shared.tasks.spawn(record);
    }

    fn tell_host(&self, event: ServerEvent) {
        let frame = reply_frame(None, event);
        for socket in self.sockets.values().filter(|s| self.is_host(s.user_id)) {
            socket.writer.send(frame.clone());
        }
    }

    /// Handles one command; `Some` when the room must stop.
    async fn handle(&mut self, command: Command) -> Option<Stop> {
        match command {
            Command::Join(join) => self.join(*join).await,
            Command::Leave { conn, reason } => self.leave(conn, reason).await,
            Command::Client { conn, message } => self.client_event(conn, message).await,
            Command::Deleted => {
                self.room.state = RoomState::Deleted;
                self.close_room(ServerEvent::RoomDeleted(Empty {})).await;
                return Some(Stop::Closed);
            }
            Command::Expired => {
                self.room.state = RoomState::Expired;
                self.close_room(ServerEvent::RoomExpired(Empty {})).await;
                return Some(Stop::Closed);
            }
            Command::CloseLogin(login_id) => {
                let of_login = |socket: &Socket| socket.login_id == login_id;
                self.drop_sockets(of_login, CloseCode::Unauthorized, LeaveReason::Left)
                    .await;
            }
            Command::JoinRequested(user) => {
                self.tell_host(ServerEvent::JoinRequested(
                    streamit_protocol::v1::JoinRequested::new(user),
                ));
            }
        }
        self.sockets.is_empty().then_some(Stop::Idle)
    }

    /// Forgets chat guards nobody needs any more, so memory follows the active chatters.
    fn prune_guards(&mut self) {
        let now = now_ms();
        self.guards.retain(|_, guard| !guard.is_idle(now));
    }
}

/// The room task: loads the room, serves commands until it is idle, closed or the server
/// stops, flushes the store, and only then steps aside, handing queued joins to a fresh task
/// (which so loads what this one wrote).
#[tracing::instrument(skip(shared, handle, commands), fields(room = %code))]
pub(super) async fn run(
    shared: Arc<Shared>,
    code: RoomCode,
    handle: RoomHandle,
    mut commands: mpsc::Receiver<Command>,
) {
    let id = handle.id;
    let mut room = match LiveRoom::load(Arc::clone(&shared), code, handle).await {
        Ok(Some(room)) => room,
        Ok(None) => {
            let refusal = Some(CloseCode::RoomNotFound);
            return settle_joins(&shared, code, id, commands, refusal).await;
        }
        Err(error) => {
            tracing::error!(%error, "loading the room failed");
            let refusal = Some(CloseCode::InternalError);
            return settle_joins(&shared, code, id, commands, refusal).await;
        }
    };
    let _live = shared.metrics.room_live();
    let mut prune = tokio::time::interval(std::time::Duration::from_secs(30));
    let stop = loop {
        tokio::select! {
            biased;
            () = shared.shutdown.cancelled() => break Stop::Shutdown,
            command = commands.recv() => match command {
                Some(command) => if let Some(stop) = room.handle(command).await { break stop },
                None => break Stop::Idle,
            },
            _ = prune.tick() => room.prune_guards(),
        }
    };
    // Sockets may all have left just before the room saw the shutdown: still a clean stop.
    let stop = match stop {
        Stop::Idle if shared.shutdown.is_cancelled() => Stop::Shutdown,
        other => other,
    };
    if let Stop::Shutdown = stop {
        for socket in room.sockets.values() {
            socket.writer.close(CloseCode::ServiceRestart);
        }
        room.online.clear();
        room.publish_presence();
    }
    // Settling lowers the store's ceilings to the values used, so the next task continues
    // without a gap; it is safe on any stop, since it leaves alone a block a newer task took.
    let (playback, seq) = (room.playback, room.seq);
    let ceilings = (room.seq_ceiling, room.version_ceiling);
    room.persister.finish(ceilings, playback, seq).await;
    let refusal = match stop {
        Stop::Shutdown => Some(CloseCode::ServiceRestart),
        Stop::Closed => Some(CloseCode::RoomClosed),
        Stop::Idle => None,
    };
    settle_joins(&shared, code, id, commands, refusal).await;
}

/// Takes the ended task out of the registry and answers the joins that raced its end: refused
/// with `refusal`, or, when the room only went idle, handed to a fresh task.
async fn settle_joins(
    shared: &Arc<Shared>,
    code: RoomCode,
    id: u64,
    mut commands: mpsc::Receiver<Command>,
    refusal: Option<CloseCode>,
) {
    shared.registry.remove(code, id);
    commands.close();
    while let Ok(command) = commands.try_recv() {
        let Command::Join(join) = command else {
            continue;
        };
        match refusal {
            Some(close) => {
                let _ = join.admitted.send(Err(close));
            }
            None => {
                let fresh = shared.registry.handle(shared, code);
                fresh.send(Command::Join(join)).await;
            }
        }
    }
}
