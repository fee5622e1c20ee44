//! A live room's rules as a plain state machine (CONVENTIONS §15): [`RoomCore::apply`] takes one
//! [`Input`] at a given server time and queues the [`Effect`]s it calls for (numbered
//! broadcasts, replies, admissions, socket closes, write-behind, audit), which the room task
//! drains and carries out in order. It holds no socket, no store and no clock.
//!
//! The rules the store must approve first (lifecycle compare-and-sets, moderation writes, reads
//! of memberships and users) do not await: `apply` returns an [`Ask`], the task answers it from
//! the store with [`RoomCore::resume`], and the core carries on from where it stopped. The
//! task handles one input at a time, so the state an answer meets is the state that asked.
//!
//! Modules: `events` (what each client event does), `moderation` (host actions on members and
//! settings, each gated by a store write), `crowd` (presence told in batches in a big room).

mod crowd;
mod events;
mod moderation;
#[cfg(test)]
mod tests;

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use streamit_protocol::v1::{
    AuditAction, CHAT_HISTORY_IN_SNAPSHOT, ChatMessage, ClientMessage, ClientRef, CloseCode, Empty,
    HostDisconnected, JoinRequested, LeaveReason, MediaRef, MemberStatus, Participant, Playback,
    PresenceChanged, Room, RoomSnapshot, RoomState, ServerEvent, ServerMessage, UserId, UserJoined,
    UserLeft, UserRef, You,
};
use uuid::Uuid;

use super::ConnId;
use super::chat_rules::ChatGuard;
use super::cluster::NodeTag;
use crate::lifecycle::{self, Event};

/// How far ahead of use the store's `seq` and `version` ceilings are kept.
pub(crate) const COUNTER_BLOCK: u64 = 1_000;

/// The room's settings from the server's configuration.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Settings {
    pub(crate) grace_seconds: u32,
    pub(crate) sync_threshold_ms: u64,
    /// People online from which a room is big: presence in batches, snapshots bounded.
    pub(crate) crowd_from: usize,
    /// Others a big room's snapshot lists besides the host and its receiver.
    pub(crate) crowd_listed: usize,
    /// People a big room's `PRESENCE_CHANGED` names at most; the rest of its window is counted.
    /// The configuration keeps it at most 100: a frame of about 8 KiB with short names, which
    /// every socket of a big room keeps as its write buffer once it had one (broadcasts go
    /// whole there, up to a bound: see `writer::Cut`).
    pub(crate) crowd_named: usize,
}

/// What happens to a room.
pub(crate) enum Input {
    /// A socket passed the handshake checks and wants in.
    Join(Joining),
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
    /// A login ended: its sockets close with 4001.
    CloseLogin(Uuid),
    /// Someone asked to join this `APPROVAL` room (told to the host only).
    JoinRequested(UserRef),
    /// Time passes: forget what no rule needs any more.
    Tick,
    /// The room was just loaded here. A room loaded `LIVE` lost its owner without a goodbye
    /// (its node died or was cut off): its host is not connected here, so grace starts.
    Start,
    /// A node stopped renewing its lease: its sockets are gone, as if they timed out.
    NodeGone(NodeTag),
    /// The presence window of a big room closed ([`RoomCore::presence_due_at`]).
    PresenceDue,
}

/// A socket asking to join, with what the handshake already read from the store.
pub(crate) struct Joining {
    pub(crate) conn: ConnId,
    pub(crate) user: UserRef,
    pub(crate) login_id: Uuid,
    pub(crate) muted_until_ms: Option<u64>,
    /// The room's members as the store lists them; `None` when the handshake did not read
    /// them (the room was big) or found as many as make a room big, and the snapshot then
    /// lists who is online.
    pub(crate) participants: Option<Arc<[Participant]>>,
}

/// What the room task carries out, in the order queued.
#[derive(Debug)]
pub(crate) enum Effect {
    /// Something sockets see. It reaches them only once every durable write queued before it
    /// is stored: a broadcast is its sender's acknowledgement.
    Out(Outbound),
    /// A write to the store; the room's task never waits on it, its sockets may.
    Persist(Persist),
    /// Keep the store's counter ceilings at these values before any later broadcast, so a
    /// crash never makes `seq` or `version` go back. When the write fails, the task says so
    /// with [`RoomCore::ceilings_not_raised`].
    RaiseCeilings { seq: u64, version: u64 },
    /// A host action for the room's audit log.
    Audit {
        actor: UserId,
        action: AuditAction,
        subject: Option<UserId>,
    },
    /// A member's player reported where they are in the media.
    SaveProgress(ProgressReport),
    /// A `SYNC_CHECK` was judged, for the metrics.
    SyncChecked { drift_ms: i64, corrected: bool },
}

/// What sockets see, in the order queued.
#[derive(Debug)]
pub(crate) enum Outbound {
    /// A numbered frame for every socket of the room.
    Broadcast(ServerMessage),
    /// A frame for one socket, outside the numbered stream.
    Reply {
        conn: ConnId,
        reference: Option<ClientRef>,
        event: ServerEvent,
    },
    /// The joining socket is in: its snapshot goes first, then every later broadcast.
    Admit {
        conn: ConnId,
        snapshot: Box<RoomSnapshot>,
    },
    /// The joining socket is refused with this close code.
    Refuse { conn: ConnId, close: CloseCode },
    /// The socket is out of the room: stop sending to it and close it with this code (a socket
    /// already closing keeps its first code).
    Detach { conn: ConnId, close: CloseCode },
}

/// The store writes a room asks for.
#[derive(Debug)]
pub(crate) enum Persist {
    /// Playback changed; `seq` is the broadcast that says so, queued next. Durable.
    Playback { playback: Playback, seq: u64 },
    /// People connected now, and whether the host is among them. Written behind.
    Presence { viewers: u32, host_online: bool },
    /// A chat line to store, before its broadcast. Durable.
    Chat(ChatMessage),
}

/// A member's progress report, as a player event gave it.
#[derive(Debug)]
pub(crate) struct ProgressReport {
    pub(crate) user_id: UserId,
    pub(crate) media: MediaRef,
    pub(crate) position_ms: u64,
    pub(crate) duration_ms: Option<u64>,
    pub(crate) ended: bool,
}

/// A question for the store the core cannot go on without.
#[derive(Debug)]
pub(crate) enum Query {
    /// Move the room from any of the event's sources to `to` (a compare-and-set).
    Transition {
        event: Event,
        to: RoomState,
        deadline_ms: Option<u64>,
    },
    /// The member's status in this room, if any.
    Membership(UserId),
    /// Who this user is.
    User(UserId),
    /// The room's participant list, unless it has as many members as make a room big
    /// ([`Settings::crowd_from`]): a snapshot then lists who is online instead.
    Participants,
    /// A write the room's state only follows once it is stored.
    Write(Write),
}

/// The writes a room's state follows.
#[derive(Debug)]
pub(crate) enum Write {
    Media { media: MediaRef, embed_url: String },
    ChatEnabled(bool),
    MutedUntil { user: UserId, until: Option<u64> },
    RemoveMember(UserId),
    Ban(UserId),
    Host(UserId),
}

/// The store's answer to a [`Query`].
#[derive(Debug)]
pub(crate) enum Answer {
    /// The compare-and-set took (or found the room moved on).
    Transitioned(bool),
    Membership(Option<MemberStatus>),
    User(Option<UserRef>),
    /// `None`: the room has as many members as make it big.
    Participants(Option<Vec<Participant>>),
    Written,
    /// The store failed; the task logged why.
    Failed,
}

/// A paused rule: what to ask, and where to carry on with the answer.
#[must_use = "an ask must be answered with RoomCore::resume"]
pub(crate) struct Ask {
    pub(crate) query: Query,
    pub(crate) then: Then,
}

/// Where a paused rule carries on; only the core reads it.
pub(crate) struct Then(Step);

enum Step {
    /// The host's first socket waits for the room to go live.
    HostJoin {
        joining: Joining,
        was_in_grace: bool,
    },
    /// The host's last socket went: grace starts once stored.
    Grace {
        deadline_ms: u64,
    },
    Moderation(moderation::Pending),
    Resync {
        conn: ConnId,
        reference: Option<ClientRef>,
    },
}

/// One socket of the room, wherever it is served.
struct Socket {
    user_id: UserId,
    login_id: Uuid,
}

/// A live room's state and rules.
pub(crate) struct RoomCore {
    settings: Settings,
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
    crowd: crowd::Crowd,
    effects: Vec<Effect>,
}

/// What a room starts from: the stored room, its playback and `seq`, the counter ceilings the
/// task reserved, and its recent chat.
pub(crate) struct Loaded {
    pub(crate) room: Room,
    pub(crate) playback: Playback,
    pub(crate) seq: u64,
    pub(crate) seq_ceiling: u64,
    pub(crate) version_ceiling: u64,
    pub(crate) chat: Vec<ChatMessage>,
}

impl RoomCore {
    pub(crate) fn new(settings: Settings, loaded: Loaded) -> Self {
        Self {
            settings,
            room: loaded.room,
            playback: loaded.playback,
            seq: loaded.seq,
            seq_ceiling: loaded.seq_ceiling,
            version_ceiling: loaded.version_ceiling,
            sockets: HashMap::new(),
            online: HashMap::new(),
            users: HashMap::new(),
            mutes: HashMap::new(),
            chat: loaded.chat.into(),
            guards: HashMap::new(),
            crowd: crowd::Crowd::default(),
            effects: Vec::new(),
        }
    }

    /// Applies one input at server time `now_ms`; the effects wait in [`Self::drain_effects`].
    pub(crate) fn apply(&mut self, input: Input, now_ms: u64) -> Option<Ask> {
        match input {
            Input::Join(joining) => self.join(joining, now_ms),
            Input::Leave { conn, reason } => self.leave(conn, reason, now_ms),
            Input::Client { conn, message } => self.client_event(conn, message, now_ms),
            Input::Deleted => {
                self.close_room(
                    RoomState::Deleted,
                    ServerEvent::RoomDeleted(Empty {}),
                    now_ms,
                );
                None
            }
            Input::Expired => {
                self.close_room(
                    RoomState::Expired,
                    ServerEvent::RoomExpired(Empty {}),
                    now_ms,
                );
                None
            }
            Input::CloseLogin(login_id) => self.drop_sockets(
                |_, socket| socket.login_id == login_id,
                CloseCode::Unauthorized,
                LeaveReason::Left,
                now_ms,
            ),
            Input::JoinRequested(user) => {
                self.tell_host(ServerEvent::JoinRequested(JoinRequested::new(user)));
                None
            }
            Input::Tick => {
                self.guards.retain(|_, guard| !guard.is_idle(now_ms));
                None
            }
            Input::Start => self.start_grace_unless_hosted(now_ms),
            Input::NodeGone(node) => self.drop_sockets(
                |conn, _| conn.node() == node,
                CloseCode::GoingAway,
                LeaveReason::Timeout,
                now_ms,
            ),
            Input::PresenceDue => {
                self.tell_presence(now_ms);
                None
            }
        }
    }

    /// When the big room's gathered presence changes are due ([`Input::PresenceDue`]).
    pub(crate) fn presence_due_at(&self) -> Option<u64> {
        self.crowd.due_at_ms()
    }

    /// Whether the room is big: presence told in batches, snapshots bounded. The handshake
    /// then need not read the members.
    pub(crate) fn is_crowded(&self) -> bool {
        self.online.len() >= self.settings.crowd_from
    }

    /// Tells the presence changes gathered, if any.
    fn tell_presence(&mut self, now_ms: u64) {
        if self.crowd.due_at_ms().is_none() {
            return;
        }
        let online = &self.online;
        let (mut joined, mut left) = self.crowd.close(|user| online.contains_key(&user));
        if joined.is_empty() && left.is_empty() {
            return;
        }
        // A window of a room filling at thousands a second names only a few: every socket gets
        // each frame, so naming everyone would make each join cost the whole room. Goings are
        // named first: a client cannot tell that someone unnamed went, and would show them
        // online, while someone unnamed who came is just not listed, as in the snapshot.
        let (joined_total, left_total) = (joined.len(), left.len());
        left.truncate(self.settings.crowd_named);
        joined.truncate(self.settings.crowd_named - left.len());
        let changed = PresenceChanged::new(joined, left, self.viewers())
            .with_totals(joined_total, left_total);
        self.broadcast(ServerEvent::PresenceChanged(changed), now_ms);
    }

    /// Someone's first socket came, or last socket went (`reason`): told at once in a small
    /// room, gathered for the window in a big one. A room that stops being big tells what it
    /// gathered first, so nothing is told out of order.
    fn presence_changed(&mut self, user: UserRef, reason: Option<LeaveReason>, now_ms: u64) {
        // A going is counted against the room as it was, with the user still in it.
        let was_crowded = reason.is_some() && self.online.len() + 1 >= self.settings.crowd_from;
        if self.is_crowded() || was_crowded {
            let window_ms = crowd::window_ms(self.online.len());
            self.crowd.note(&user, reason, now_ms, window_ms);
            return;
        }
        self.tell_presence(now_ms);
        let event = match reason {
            None => ServerEvent::UserJoined(UserJoined::new(user, self.viewers())),
            Some(reason) => ServerEvent::UserLeft(UserLeft::new(user, reason, self.viewers())),
        };
        self.broadcast(event, now_ms);
    }

    /// Carries a paused rule on with the store's answer.
    pub(crate) fn resume(&mut self, then: Then, answer: Answer, now_ms: u64) -> Option<Ask> {
        match then.0 {
            Step::HostJoin {
                joining,
                was_in_grace,
            } => {
                if let Some(close) = self.transitioned(answer, RoomState::Live, None) {
                    self.send(Outbound::Refuse {
                        conn: joining.conn,
                        close,
                    });
                    return None;
                }
                if was_in_grace {
                    self.broadcast(ServerEvent::HostReconnected(Empty {}), now_ms);
                }
                self.admit(joining, now_ms);
                None
            }
            Step::Grace { deadline_ms } => {
                if self
                    .transitioned(answer, RoomState::Grace, Some(deadline_ms))
                    .is_none()
                {
                    let grace = HostDisconnected::new(self.settings.grace_seconds, deadline_ms);
                    self.broadcast(ServerEvent::HostDisconnected(grace), now_ms);
                }
                None
            }
            Step::Moderation(pending) => self.resume_moderation(pending, answer, now_ms),
            Step::Resync { conn, reference } => {
                self.resynced(conn, reference, answer);
                None
            }
        }
    }

    /// The effects queued so far, in order.
    pub(crate) fn drain_effects(&mut self) -> std::vec::Drain<'_, Effect> {
        self.effects.drain(..)
    }

    /// The store refused the last [`Effect::RaiseCeilings`]: the next broadcast tries again.
    pub(crate) fn ceilings_not_raised(&mut self) {
        self.seq_ceiling = self.seq;
        self.version_ceiling = self.playback.version;
    }

    /// The last broadcast's `seq`, for the fuzzer's account of the room.
    #[cfg(feature = "fuzzing")]
    pub(crate) fn seq(&self) -> u64 {
        self.seq
    }

    pub(crate) fn state(&self) -> RoomState {
        self.room.state
    }

    /// Whether no socket is in the room.
    pub(crate) fn is_empty(&self) -> bool {
        self.sockets.is_empty()
    }

    /// What the store must hold when the room stops: the playback and `seq` used, and the
    /// ceilings reserved (so the next task can bring them down to what was used).
    pub(crate) fn settlement(&self) -> (Playback, u64, (u64, u64)) {
        (
            self.playback,
            self.seq,
            (self.seq_ceiling, self.version_ceiling),
        )
    }

    /// The server is stopping: every socket goes without `USER_LEFT` or grace (the next start
    /// puts rooms whose host was live into grace from then), and presence drops to nobody.
    pub(crate) fn shut_down(&mut self) {
        self.detach_everyone(CloseCode::ServiceRestart);
    }

    fn is_host(&self, user_id: UserId) -> bool {
        self.room.host.id == user_id
    }

    fn viewers(&self) -> u32 {
        count(self.online.len())
    }

    fn publish_presence(&mut self) {
        self.room.viewers = self.viewers();
        let host_online = self.online.contains_key(&self.room.host.id);
        self.effects.push(Effect::Persist(Persist::Presence {
            viewers: self.room.viewers,
            host_online,
        }));
    }

    /// Stamps the next `seq` on `event` for every socket.
    fn broadcast(&mut self, event: ServerEvent, now_ms: u64) {
        self.seq = self.next_seq();
        let message = ServerMessage::broadcast(self.seq, now_ms, event);
        self.send(Outbound::Broadcast(message));
    }

    /// The `seq` the next broadcast takes, under the store's ceiling (raised first if need be).
    fn next_seq(&mut self) -> u64 {
        if self.seq >= self.seq_ceiling {
            self.raise_ceilings();
        }
        self.seq + 1
    }

    fn raise_ceilings(&mut self) {
        self.seq_ceiling = self.seq.max(self.seq_ceiling) + COUNTER_BLOCK;
        self.version_ceiling = self.playback.version.max(self.version_ceiling) + COUNTER_BLOCK;
        self.effects.push(Effect::RaiseCeilings {
            seq: self.seq_ceiling,
            version: self.version_ceiling,
        });
    }

    fn send(&mut self, outbound: Outbound) {
        self.effects.push(Effect::Out(outbound));
    }

    fn reply(&mut self, conn: ConnId, reference: Option<ClientRef>, event: ServerEvent) {
        self.send(Outbound::Reply {
            conn,
            reference,
            event,
        });
    }

    fn tell_host(&mut self, event: ServerEvent) {
        let host = self.room.host.id;
        let mut conns: Vec<ConnId> = self
            .sockets
            .iter()
            .filter(|(_, socket)| socket.user_id == host)
            .map(|(conn, _)| *conn)
            .collect();
        conns.sort_unstable();
        for conn in conns {
            self.reply(conn, None, event.clone());
        }
    }

    /// The snapshot `user` gets: every member as `participants` lists them, or in a big room
    /// (or without the list) the host, `user` and a bounded number of others online. A room
    /// of as many members as make a room big is bounded too, however few are online: each of
    /// a room of 5 000 members' first 200 joiners would otherwise get all 5 000 (half a MB).
    fn snapshot(&self, user: &UserRef, participants: Option<&[Participant]>) -> RoomSnapshot {
        let (listed, total) = match participants {
            Some(all) if !self.is_crowded() && all.len() < self.settings.crowd_from => {
                let members = all
                    .iter()
                    .filter(|p| p.status == MemberStatus::Approved || self.is_host(user.id))
                    .cloned();
                (members.collect(), None)
            }
            _ => (self.online_few(user), Some(self.viewers())),
        };
        let participants = listed
            .into_iter()
            .map(|mut p: Participant| {
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
        let mut snapshot = RoomSnapshot::new(
            self.room.clone(),
            you,
            participants,
            self.playback,
            chat,
            self.seq,
        );
        snapshot.participants_total = total;
        snapshot
    }

    /// The host, `user`, and up to `crowd_listed` others online, for a big room's snapshot.
    fn online_few(&self, user: &UserRef) -> Vec<Participant> {
        // Marks (host, online, muted) are the snapshot's to set, for every entry alike.
        let member =
            |who: &UserRef| Participant::new(who.clone(), MemberStatus::Approved, false, false);
        let host = &self.room.host;
        let others = self
            .online
            .keys()
            .filter(|id| **id != host.id && **id != user.id)
            .filter_map(|id| self.users.get(id))
            .take(self.settings.crowd_listed);
        let mut few = vec![member(host)];
        if user.id != host.id {
            few.push(member(user));
        }
        few.extend(others.map(member));
        few
    }

    /// Asks the store to move the room through the lifecycle; `None` when the lifecycle itself
    /// refuses (the room is past that).
    fn transition(&self, event: Event, deadline_ms: Option<u64>, then: Step) -> Option<Ask> {
        let to = lifecycle::next(self.room.state, event).ok()?;
        Some(Ask {
            query: Query::Transition {
                event,
                to,
                deadline_ms,
            },
            then: Then(then),
        })
    }

    /// Follows the store's answer to a transition to `to`; the close code when it did not take.
    fn transitioned(
        &mut self,
        answer: Answer,
        to: RoomState,
        deadline_ms: Option<u64>,
    ) -> Option<CloseCode> {
        match answer {
            Answer::Transitioned(true) => {
                self.room.state = to;
                self.room.grace_deadline_ms = deadline_ms;
                None
            }
            Answer::Transitioned(false) => Some(CloseCode::RoomClosed),
            _ => Some(CloseCode::InternalError),
        }
    }

    fn join(&mut self, joining: Joining, now_ms: u64) -> Option<Ask> {
        let host_arrives = self.is_host(joining.user.id)
            && !self.online.contains_key(&joining.user.id)
            && matches!(self.room.state, RoomState::Created | RoomState::Grace);
        if host_arrives {
            let was_in_grace = self.room.state == RoomState::Grace;
            let conn = joining.conn;
            let step = Step::HostJoin {
                joining,
                was_in_grace,
            };
            let ask = self.transition(Event::HostConnected, None, step);
            if ask.is_none() {
                self.send(Outbound::Refuse {
                    conn,
                    close: CloseCode::RoomClosed,
                });
            }
            return ask;
        }
        self.admit(joining, now_ms);
        None
    }

    fn admit(&mut self, joining: Joining, now_ms: u64) {
        let Joining {
            conn,
            user,
            login_id,
            muted_until_ms,
            participants,
        } = joining;
        let first_socket = !self.online.contains_key(&user.id);
        if let Some(until) = muted_until_ms {
            self.mutes.insert(user.id, until);
        }
        self.users.insert(user.id, user.clone());
        *self.online.entry(user.id).or_default() += 1;
        self.publish_presence();
        if first_socket {
            self.presence_changed(user.clone(), None, now_ms);
        }
        let snapshot = Box::new(self.snapshot(&user, participants.as_deref()));
        self.send(Outbound::Admit { conn, snapshot });
        self.sockets.insert(
            conn,
            Socket {
                user_id: user.id,
                login_id,
            },
        );
    }

    /// Removes a socket; the user's last one announces `USER_LEFT`, the host's last one starts
    /// grace.
    fn leave(&mut self, conn: ConnId, reason: LeaveReason, now_ms: u64) -> Option<Ask> {
        // A socket the room already detached (kicked, banned, logged out, its node gone) still
        // says it left once it closes: it is out already, and a second detach would make the
        // task count another node's sockets down twice.
        if !self.sockets.contains_key(&conn) {
            return None;
        }
        self.send(Outbound::Detach {
            conn,
            close: CloseCode::Normal,
        });
        self.gone(conn, reason, now_ms)
    }

    /// What a socket's going means for the room, once it is detached.
    fn gone(&mut self, conn: ConnId, reason: LeaveReason, now_ms: u64) -> Option<Ask> {
        let socket = self.sockets.remove(&conn)?;
        let user_id = socket.user_id;
        let remaining = self.online.get_mut(&user_id).map(|n| {
            *n -= 1;
            *n
        });
        if remaining != Some(0) {
            return None;
        }
        self.online.remove(&user_id);
        self.publish_presence();
        if let Some(user) = self.users.get(&user_id).cloned() {
            self.presence_changed(user, Some(reason), now_ms);
        }
        if self.is_host(user_id) {
            return self.start_grace_unless_hosted(now_ms);
        }
        None
    }

    /// A live room whose host has no socket here goes into grace.
    fn start_grace_unless_hosted(&mut self, now_ms: u64) -> Option<Ask> {
        if self.room.state != RoomState::Live || self.online.contains_key(&self.room.host.id) {
            return None;
        }
        let deadline_ms = lifecycle::grace_deadline(now_ms, self.settings.grace_seconds);
        self.transition(
            Event::HostLeft,
            Some(deadline_ms),
            Step::Grace { deadline_ms },
        )
    }

    /// Closes every socket `which` picks with `close` and has it leave with `reason` (a user's
    /// last socket announces `USER_LEFT`). Only the host's last socket can start grace, so at
    /// most one of them waits on the store.
    fn drop_sockets(
        &mut self,
        which: impl Fn(ConnId, &Socket) -> bool,
        close: CloseCode,
        reason: LeaveReason,
        now_ms: u64,
    ) -> Option<Ask> {
        let mut conns: Vec<ConnId> = self
            .sockets
            .iter()
            .filter(|(conn, socket)| which(**conn, socket))
            .map(|(conn, _)| *conn)
            .collect();
        conns.sort_unstable();
        let mut ask = None;
        for conn in conns {
            self.send(Outbound::Detach { conn, close });
            ask = ask.or(self.gone(conn, reason, now_ms));
        }
        ask
    }

    /// The room is over: tell everyone, then close every socket with 4010.
    fn close_room(&mut self, state: RoomState, event: ServerEvent, now_ms: u64) {
        self.room.state = state;
        self.broadcast(event, now_ms);
        self.detach_everyone(CloseCode::RoomClosed);
    }

    /// Closes every socket with `close`, telling nobody who went: the room is over, or the
    /// server stops. The presence a big room gathered goes untold too, so nothing due later
    /// makes a closed room speak again.
    fn detach_everyone(&mut self, close: CloseCode) {
        let mut conns: Vec<ConnId> = self.sockets.keys().copied().collect();
        conns.sort_unstable();
        for conn in conns {
            self.send(Outbound::Detach { conn, close });
        }
        self.sockets.clear();
        self.online.clear();
        self.crowd = crowd::Crowd::default();
        self.publish_presence();
    }

    /// Keeps a host action in the room's audit log.
    fn audit(&mut self, actor: UserId, action: AuditAction, subject: Option<UserId>) {
        self.effects.push(Effect::Audit {
            actor,
            action,
            subject,
        });
    }

    fn remember_chat(&mut self, message: ChatMessage) {
        self.chat.push_back(message);
        while self.chat.len() > CHAT_HISTORY_IN_SNAPSHOT {
            self.chat.pop_front();
        }
    }
}

/// A length sent as a `u32` on the wire; nothing a room counts nears `u32::MAX`.
pub(super) fn count(len: usize) -> u32 {
    u32::try_from(len).unwrap_or(u32::MAX)
}
