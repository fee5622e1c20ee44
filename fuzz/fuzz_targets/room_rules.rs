//! A room's rules (`RoomCore`, reached through the `fuzzing` feature), driven the way the room
//! task drives them: a room loaded from fuzz bytes gets `Start`, then a sequence of inputs
//! (joins and leaves of four users on two nodes, client frames through `ClientMessage::decode`,
//! deletion, expiry, logouts, join requests, ticks, a node going), on a clock that never goes
//! back. Every question the core asks the store gets a fuzz-chosen answer, right or wrong
//! (`Failed`, or an answer to another question), before the next input, as the task does. A
//! run ends when the bytes do, when the server stops (`shut_down`) or when the room is deleted
//! or expires: the task stops feeding a closed room (`stop_due`).
//!
//! The target keeps its own account of the room (sockets, who is online, the host, playback,
//! chat, mutes, lifecycle state, counter ceilings) and checks every effect against it, in
//! order:
//! - broadcasts are numbered one above the previous one, stamped with the step's time, never
//!   past the ceiling the store holds (while the last raise succeeded), and encode to frames
//!   that decode;
//! - `PLAYBACK_STATE` carries version + 1 and exactly the playback the command calls for; every
//!   other playback shown (snapshots, `VERSION_CONFLICT`, corrections, write-behind) is the
//!   current one, so `version` never goes back;
//! - a joining socket is admitted or refused exactly once, within its own input, and nothing
//!   else is ever admitted or refused;
//! - replies and detaches only address sockets that are in the room (nothing after a socket's
//!   `Detach`, and a leave after one detaches nothing again);
//! - presence (`viewers`, `host_online`) in every write-behind, `USER_JOINED`, `USER_LEFT`,
//!   `PRESENCE_CHANGED` and snapshot equals what the target counts; a user's first socket is
//!   announced and their last one's going too, with the reason, and every presence change is
//!   written behind;
//! - in a big room (from 1 to 3 people online, when the bytes choose one) comings and goings
//!   are gathered instead: the window opens at the first one and is due 100 ms later; its
//!   `PRESENCE_CHANGED` (when due, or before anything is told at once again) nets out who
//!   came and went within it, names goings first and at most as many as the room names, and
//!   counts the rest; nothing is told out of order, and once no window is open the clients
//!   have been told exactly who is online;
//! - snapshots show the room as the target knows it (seq, playback, state, host, chat, mutes,
//!   participants with their online and host flags; in a big room, or when the handshake did
//!   not read the members, the host, the receiver and a bounded number of others online, with
//!   the total);
//! - each input produces exactly the effects its rules call for (refusals with their codes,
//!   moderation only once the store holds the write, grace only when the host's last socket
//!   goes from a live room) and asks exactly the questions they call for;
//! - after every input the core's state, `seq` and emptiness agree with the target's; a
//!   deletion or expiry closes every socket with 4010 and leaves nobody; a shutdown closes
//!   every socket with 1012 and leaves nobody; once closed, what could still be in flight
//!   (leaves, frames, logouts, a node going, join requests, ticks) makes the core do and ask
//!   nothing.

#![no_main]

use std::collections::{HashMap, VecDeque};
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value, json};
use streamit_protocol::v1::{
    AuditAction, CHAT_HISTORY_IN_SNAPSHOT, ChatMessage, ChatText, ClientEvent, ClientMessage,
    ClientRef, CloseCode, Departure, DisplayName, EntryMode, ErrorCode, LeaveReason,
    MUTED_FOREVER_MS, MediaRef, MemberStatus, MessageId, Participant, Playback, PlaybackCause,
    PositionMs, PresenceChanged, Rate, Room, RoomCode, RoomName, RoomSnapshot, RoomState,
    ServerEvent, ServerMessage, UserId, UserRef,
};
use streamit_server::fuzzing::room::{
    Conn, In, Out, Paused, Question, Reply, RoomRules, Start, Uuid,
};

fuzz_target!(|data: &[u8]| {
    let mut bytes = Bytes(data);
    let mut sim = Sim::load(&mut bytes);
    sim.run(&mut bytes);
});

/// Whether to print each input and its effects (`ROOM_RULES_TRACE=1`), to read a crash.
fn trace() -> bool {
    static TRACE: OnceLock<bool> = OnceLock::new();
    *TRACE.get_or_init(|| std::env::var_os("ROOM_RULES_TRACE").is_some())
}

/// Reads the fuzz input; zeros once it is used up.
struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }

    fn below(&mut self, n: usize) -> usize {
        usize::from(self.byte()) % n
    }

    fn flag(&mut self) -> bool {
        self.byte() & 1 == 1
    }

    fn u16(&mut self) -> u16 {
        u16::from_le_bytes([self.byte(), self.byte()])
    }

    fn u32(&mut self) -> u32 {
        u32::from_le_bytes([self.byte(), self.byte(), self.byte(), self.byte()])
    }

    fn u64(&mut self) -> u64 {
        u64::from(self.u32()) | (u64::from(self.u32()) << 32)
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Users 0 to 3 join; user 4 never does (a stranger to the room, but a possible target).
const USERS: usize = 5;
const JOINERS: usize = 4;
const NAMES: [&str; USERS] = ["Ann", "Bob", "Cy", "Dee", "Zed"];
/// The nodes sockets are served from.
const NODES: [u64; 2] = [1, 2];
/// Logins per user.
const LOGINS: usize = 2;
/// Inputs per run, at most.
const MAX_STEPS: usize = 400;

fn user_id(user: usize) -> UserId {
    UserId::from_uuid(Uuid::from_u128(0x5eed_0000 + user as u128))
}

fn user_ref(user: usize) -> UserRef {
    UserRef::new(
        user_id(user),
        DisplayName::new(NAMES[user]).expect("a valid name"),
    )
}

fn user_of(id: UserId) -> usize {
    (0..USERS)
        .find(|&user| user_id(user) == id)
        .unwrap_or_else(|| panic!("{id:?} is none of the target's users"))
}

fn login_id(user: usize, login: usize) -> Uuid {
    Uuid::from_u128(0x1061_0000 + (user * LOGINS + login) as u128)
}

/// Media the host may pick; the last one is refused by the decoder.
fn media_json(which: usize) -> Value {
    match which % 5 {
        0 => json!({"provider": "youtube", "kind": "video", "id": "dQw4w9WgXcQ"}),
        1 => json!({"provider": "vidking", "kind": "movie", "id": "603"}),
        2 => json!({"provider": "vidking", "kind": "tv", "id": "1399", "season": 1, "episode": 2}),
        3 => json!({"provider": "url", "kind": "video", "id": "https://example.com/a.mp4"}),
        _ => json!({"provider": "vidking", "kind": "video", "id": "1"}),
    }
}

/// Where a socket is in its life, as the target sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Status {
    /// Its `Join` is being applied.
    Joining,
    /// Its `Join` is being applied and presence already counts it (the core publishes
    /// presence just before the `Admit`).
    Counted,
    In,
    Detached,
    Refused,
}

struct Socket {
    conn: Conn,
    user: usize,
    login: Uuid,
    node: u64,
    status: Status,
    /// Its `Leave` was sent (at most once, as a socket task does).
    left: bool,
    muted_until_ms: Option<u64>,
    /// `None`: the handshake did not list the members (it found the room big, or with as
    /// many members as make it big).
    participants: Option<Vec<Participant>>,
}

/// A big room's presence window, as the target keeps it.
struct Window {
    due_ms: u64,
    /// Users who came or went in it, in the order they first did.
    order: Vec<usize>,
    /// Why each last went in it.
    reasons: [Option<LeaveReason>; USERS],
}

/// A host action on a member or a setting, waiting on the store.
#[derive(Clone, Debug)]
enum Action {
    Mute { until: u64, timed: bool },
    Unmute,
    Kick,
    Ban,
    Transfer,
    Media(MediaRef),
    ChatEnabled(bool),
}

/// The question the target expects next.
#[derive(Debug)]
enum Await {
    /// The host's first socket: the move to `LIVE`.
    HostLive {
        socket: usize,
        was_in_grace: bool,
    },
    /// The host's last socket went from a live room.
    Grace {
        deadline_ms: u64,
    },
    Membership {
        target: usize,
        action: Action,
    },
    User {
        target: usize,
        action: Action,
    },
    Write {
        target: usize,
        action: Action,
    },
    Participants {
        socket: usize,
    },
}

/// What one input is expected to do.
#[derive(Default)]
struct Step {
    what: String,
    /// Effects that must happen, in any order, one line each: `B <event> [details]` for a
    /// broadcast, `R s<n> <event>` a reply, `A`/`F`/`D s<n> [close]` an admit, refusal or
    /// detach, `P playback`/`P chat` a write-behind, `audit <action>`, `progress`, `sync`.
    /// Presence and ceilings are checked where they happen instead.
    owed: Vec<String>,
    /// Effects that may happen.
    optional: Vec<String>,
    seen: Vec<String>,
    /// The socket a `Join` is for.
    joiner: Option<usize>,
    /// The socket a client frame came from, and its `ref`.
    sender: Option<usize>,
    reference: Option<ClientRef>,
    /// Why users whose last socket is detached leave; `None` when the room closes or the
    /// server stops (nobody is announced as leaving then).
    reason: Option<LeaveReason>,
    awaiting: Option<Await>,
    /// Someone came or went, or the host changed, and no presence was written since.
    presence_dirty: bool,
    /// The playback a command calls for.
    playback: Option<Playback>,
    /// That playback was stored, with the `seq` of the broadcast to come.
    playback_stored: bool,
    /// A chat line stored, not yet broadcast.
    chat: Option<ChatMessage>,
    /// The text of a `CHAT` frame that passed chat-off and mutes: said, or refused by the
    /// flood rules (not modelled here).
    chat_text: Option<ChatText>,
    /// `until_ms` of the `USER_MUTED` to come.
    muted_until: Option<Option<u64>>,
    /// A `PING`'s client time.
    ping: Option<u64>,
    /// A `SYNC_CHECK`'s position.
    sync: Option<PositionMs>,
    /// The participants a `RESYNC` was answered with (`Some(None)`: the store found as many
    /// members as make a room big).
    participants: Option<Option<Vec<Participant>>>,
    /// A raise of the ceilings failed in the batch being carried out.
    ceilings_failed: bool,
    /// The room closes or the server stops: everyone goes untold.
    closing: bool,
}

struct Sim {
    rules: RoomRules,
    now: u64,
    grace_seconds: u32,
    sync_threshold_ms: u64,
    seq: u64,
    playback: Playback,
    state: RoomState,
    grace_deadline_ms: Option<u64>,
    host: usize,
    chat_enabled: bool,
    media: Option<MediaRef>,
    mutes: HashMap<usize, u64>,
    chat: VecDeque<ChatMessage>,
    /// Users the core has admitted once (it keeps who they are).
    known: [bool; USERS],
    sockets: Vec<Socket>,
    by_conn: HashMap<Conn, usize>,
    /// The ceilings the core works under, and those the store holds (`None` from a failed
    /// raise until one succeeds).
    core_ceilings: (u64, u64),
    stored_ceilings: Option<(u64, u64)>,
    step: Step,
    /// The room closed or the server stopped: the task feeds it nothing more.
    stopped: bool,
    /// People online from which the room is big (`usize::MAX`: never).
    crowd_from: usize,
    /// Others a big room's snapshot lists.
    crowd_listed: usize,
    /// People a big room's presence batches name at most.
    crowd_named: usize,
    /// Who the clients have been told is online.
    told: [bool; USERS],
    window: Option<Window>,
}

impl Sim {
    /// A room as the store could hold it.
    fn load(bytes: &mut Bytes<'_>) -> Self {
        let now = 1_600_000_000_000 + u64::from(bytes.u32()) * 100;
        let host = bytes.below(JOINERS);
        let state = [RoomState::Created, RoomState::Live, RoomState::Grace][bytes.below(3)];
        let grace_seconds = [0, 1, 300, 86_400][bytes.below(4)];
        let sync_threshold_ms = [0, 500, 5_000][bytes.below(3)];
        let mut room = Room::new(
            RoomCode::parse("ABCD2345").expect("a valid code"),
            RoomName::new("Film night").expect("a valid name"),
            user_ref(host),
            state,
            bytes.flag(),
            EntryMode::Open,
            bytes.flag(),
            u32::from(bytes.byte()),
            now - 1_000,
        );
        if state == RoomState::Grace {
            room.grace_deadline_ms = Some(now + u64::from(bytes.u16()));
        }
        if bytes.flag() {
            let media = media_json(bytes.below(4));
            room.media = Some(serde_json::from_value(media).expect("valid media"));
            room.embed_url = Some("https://example.com/embed".to_owned());
        }
        let playback = Playback::new(
            bytes.flag(),
            PositionMs::saturating(u64::from(bytes.u32())),
            Rate::new([1.0, 0.5, 2.0, 4.0][bytes.below(4)]).expect("a valid rate"),
            now - u64::from(bytes.u16()),
            u64::from(bytes.u16()),
        );
        let seq = u64::from(bytes.u32());
        let seq_ceiling = seq + [0, 1, 2, 1_000][bytes.below(4)];
        let version_ceiling = playback.version + [0, 1, 1_000][bytes.below(3)];
        let chat: Vec<ChatMessage> = (0..bytes.below(3))
            .map(|i| {
                let text = ChatText::new(&format!("earlier {i}")).expect("valid text");
                let id = MessageId::from_uuid(Uuid::from_u128(i as u128 + 1));
                ChatMessage::new(id, user_ref(i % JOINERS), text, now - 10_000)
            })
            .collect();
        let crowd_from = [usize::MAX, usize::MAX, 1, 2, 3][bytes.below(5)];
        let crowd_listed = bytes.below(3);
        let crowd_named = bytes.below(4);
        Self {
            now,
            grace_seconds,
            sync_threshold_ms,
            seq,
            playback,
            state,
            grace_deadline_ms: room.grace_deadline_ms,
            host,
            chat_enabled: room.chat_enabled,
            media: room.media.clone(),
            mutes: HashMap::new(),
            chat: chat.iter().cloned().collect(),
            known: [false; USERS],
            sockets: Vec::new(),
            by_conn: HashMap::new(),
            core_ceilings: (seq_ceiling, version_ceiling),
            stored_ceilings: Some((seq_ceiling, version_ceiling)),
            step: Step::default(),
            stopped: false,
            crowd_from,
            crowd_listed,
            crowd_named,
            told: [false; USERS],
            window: None,
            rules: RoomRules::new(Start {
                room,
                playback,
                seq,
                seq_ceiling,
                version_ceiling,
                chat,
                grace_seconds,
                sync_threshold_ms,
                crowd_from,
                crowd_listed,
                crowd_named,
            }),
        }
    }

    fn run(&mut self, bytes: &mut Bytes<'_>) {
        // The task's first input.
        self.start_step("START".to_owned());
        if self.state == RoomState::Live && !self.online(self.host) {
            self.step.awaiting = Some(Await::Grace {
                deadline_ms: self.grace_deadline(),
            });
        }
        self.drive(bytes, In::Start);
        for _ in 0..MAX_STEPS {
            if bytes.is_empty() {
                break;
            }
            self.advance(bytes);
            self.next_input(bytes);
            if self.stopped {
                // The task stops here: the room is settled and nothing reaches it any more.
                break;
            }
        }
        self.check_settlement();
    }

    /// The clock moves on, never back.
    fn advance(&mut self, bytes: &mut Bytes<'_>) {
        self.now += match bytes.below(8) {
            0..=2 => 0,
            3 | 4 => u64::from(bytes.byte()),
            5 => u64::from(bytes.u16()),
            6 => u64::from(bytes.u16()) * 100,
            _ => u64::from(bytes.u32()),
        };
    }

    fn next_input(&mut self, bytes: &mut Bytes<'_>) {
        match bytes.below(16) {
            0..=2 => self.join(bytes),
            3 | 4 => self.leave(bytes),
            5..=10 => self.client(bytes),
            11 => match bytes.below(8) {
                0 => self.close(bytes),
                1 => self.shut_down(bytes),
                _ => self.tick(bytes),
            },
            12 => self.close_login(bytes),
            13 => self.join_requested(bytes),
            14 => self.node_gone(bytes),
            _ if self.window.is_some() => self.presence_due(bytes),
            _ => self.tick(bytes),
        }
    }

    // ---- inputs ----

    fn join(&mut self, bytes: &mut Bytes<'_>) {
        let user = bytes.below(JOINERS);
        let login = login_id(user, bytes.below(LOGINS));
        let node = NODES[bytes.below(NODES.len())];
        let muted_until_ms = match bytes.below(6) {
            0 => Some(self.now.saturating_sub(1)),
            1 => Some(self.now + u64::from(bytes.u16())),
            2 => Some(MUTED_FOREVER_MS),
            _ => None,
        };
        // The handshake reads the members only while the room is small; a room can grow or
        // shrink between its read and the join.
        let participants = (bytes.below(4) != 0).then(|| participants(bytes));
        let n = self.sockets.len() as u64 + 1;
        let conn = Conn::new(node, n);
        let socket = self.sockets.len();
        self.sockets.push(Socket {
            conn,
            user,
            login,
            node,
            status: Status::Joining,
            left: false,
            muted_until_ms,
            participants: participants.clone(),
        });
        self.by_conn.insert(conn, socket);
        self.start_step(format!("JOIN s{socket} by {}", NAMES[user]));
        self.step.joiner = Some(socket);
        let first = !self.online(user);
        let host_arrives = user == self.host
            && first
            && matches!(self.state, RoomState::Created | RoomState::Grace);
        if host_arrives {
            self.step.awaiting = Some(Await::HostLive {
                socket,
                was_in_grace: self.state == RoomState::Grace,
            });
        } else {
            self.owe(format!("A s{socket}"));
            if first {
                self.presence_changed(user, None);
            }
        }
        let input = In::Join {
            conn,
            user: user_ref(user),
            login_id: login,
            muted_until_ms,
            participants,
        };
        self.drive(bytes, input);
    }

    /// A socket the core admitted ends: its task sends `Leave` once, also after the room
    /// detached it (kicked, logged out).
    fn leave(&mut self, bytes: &mut Bytes<'_>) {
        let candidates: Vec<usize> = (0..self.sockets.len())
            .filter(|&s| {
                let socket = &self.sockets[s];
                !socket.left && matches!(socket.status, Status::In | Status::Detached)
            })
            .collect();
        if candidates.is_empty() {
            return self.tick(bytes);
        }
        let socket = candidates[bytes.below(candidates.len())];
        let reason = [LeaveReason::Left, LeaveReason::Timeout][bytes.below(2)];
        self.sockets[socket].left = true;
        self.start_step(format!("LEAVE s{socket} {reason:?}"));
        self.step.reason = Some(reason);
        if self.sockets[socket].status == Status::In {
            self.owe(format!("D s{socket} {}", CloseCode::Normal.as_u16()));
        }
        let conn = self.sockets[socket].conn;
        self.drive(bytes, In::Leave { conn, reason });
    }

    fn close(&mut self, bytes: &mut Bytes<'_>) {
        let expired = bytes.flag();
        let (what, event) = if expired {
            ("EXPIRED", "ROOM_EXPIRED")
        } else {
            ("DELETED", "ROOM_DELETED")
        };
        self.start_step(what.to_owned());
        self.owe(format!("B {event}"));
        self.detach_all(CloseCode::RoomClosed);
        self.state = if expired {
            RoomState::Expired
        } else {
            RoomState::Deleted
        };
        let input = if expired { In::Expired } else { In::Deleted };
        self.drive(bytes, input);
        assert!(self.rules.is_empty(), "a closed room keeps sockets");
        self.stopped = true;
        self.after_close(bytes);
    }

    /// What could still be in flight for a closed room (the task never feeds it: it stops):
    /// the core answers none of it with anything. Joins and a second close are left out: the
    /// core would admit the one and announce the other again; only the task's stopping (and
    /// its refusing queued joins with 4010) keeps them away.
    fn after_close(&mut self, bytes: &mut Bytes<'_>) {
        for _ in 0..4 {
            if bytes.is_empty() {
                break;
            }
            let socket = match self.sockets.len() {
                0 => None,
                n => Some(bytes.below(n)),
            };
            let input = match (bytes.below(8), socket) {
                (0, Some(socket)) => In::Leave {
                    conn: self.sockets[socket].conn,
                    reason: LeaveReason::Left,
                },
                (1, Some(socket)) => match ClientMessage::decode(&self.frame(bytes)) {
                    Ok(message) => In::Client {
                        conn: self.sockets[socket].conn,
                        message,
                    },
                    Err(_) => In::Tick,
                },
                (2, _) => In::CloseLogin(login_id(bytes.below(JOINERS), bytes.below(LOGINS))),
                (3, _) => In::NodeGone(NODES[bytes.below(NODES.len())]),
                (4, _) => In::JoinRequested(user_ref(bytes.below(USERS))),
                (5, _) => In::Start,
                (6, _) => In::PresenceDue,
                _ => In::Tick,
            };
            self.advance(bytes);
            if let Some(paused) = self.rules.apply(input, self.now) {
                panic!("a closed room asks {:?}", paused.question);
            }
            let effects = self.rules.drain();
            assert!(effects.is_empty(), "a closed room still acts: {effects:?}");
        }
    }

    /// The server stops (the task's `shut_down`).
    fn shut_down(&mut self, bytes: &mut Bytes<'_>) {
        self.start_step("SHUTDOWN".to_owned());
        self.detach_all(CloseCode::ServiceRestart);
        self.rules.shut_down();
        self.batch(bytes);
        self.end_step();
        assert!(self.rules.is_empty(), "a stopped room keeps sockets");
        self.stopped = true;
    }

    /// Every socket in the room is owed a detach with `close`, and nobody is announced.
    fn detach_all(&mut self, close: CloseCode) {
        self.step.reason = None;
        self.step.closing = true;
        // What a big room gathered goes untold with it.
        self.window = None;
        self.step.presence_dirty = true;
        for socket in 0..self.sockets.len() {
            if self.sockets[socket].status == Status::In {
                self.owe(format!("D s{socket} {}", close.as_u16()));
            }
        }
    }

    fn close_login(&mut self, bytes: &mut Bytes<'_>) {
        let user = bytes.below(JOINERS);
        let login = login_id(user, bytes.below(LOGINS));
        self.start_step(format!("CLOSE_LOGIN {} {login}", NAMES[user]));
        self.step.reason = Some(LeaveReason::Left);
        self.owe_detaches(|socket| socket.login == login, CloseCode::Unauthorized);
        self.drive(bytes, In::CloseLogin(login));
    }

    fn node_gone(&mut self, bytes: &mut Bytes<'_>) {
        let node = NODES[bytes.below(NODES.len())];
        self.start_step(format!("NODE_GONE {node}"));
        self.step.reason = Some(LeaveReason::Timeout);
        self.owe_detaches(|socket| socket.node == node, CloseCode::GoingAway);
        self.drive(bytes, In::NodeGone(node));
    }

    fn owe_detaches(&mut self, which: impl Fn(&Socket) -> bool, close: CloseCode) {
        for socket in 0..self.sockets.len() {
            if self.sockets[socket].status == Status::In && which(&self.sockets[socket]) {
                self.owe(format!("D s{socket} {}", close.as_u16()));
            }
        }
    }

    fn join_requested(&mut self, bytes: &mut Bytes<'_>) {
        let user = bytes.below(USERS);
        self.start_step(format!("JOIN_REQUESTED {}", NAMES[user]));
        for socket in 0..self.sockets.len() {
            if self.sockets[socket].status == Status::In && self.sockets[socket].user == self.host {
                self.owe(format!("R s{socket} JOIN_REQUESTED"));
            }
        }
        self.drive(bytes, In::JoinRequested(user_ref(user)));
    }

    fn tick(&mut self, bytes: &mut Bytes<'_>) {
        self.start_step("TICK".to_owned());
        self.drive(bytes, In::Tick);
    }

    /// The big room's window is due: the task wakes then, never before.
    fn presence_due(&mut self, bytes: &mut Bytes<'_>) {
        let window = self.window.as_ref().expect("a window is open");
        self.now = self.now.max(window.due_ms);
        self.start_step("PRESENCE_DUE".to_owned());
        let (joined, left) = self.window_nets();
        if joined.is_empty() && left.is_empty() {
            // Whoever came also went, or the other way round: the window closes untold.
            self.close_window();
        } else {
            self.owe("B PRESENCE_CHANGED".to_owned());
        }
        self.drive(bytes, In::PresenceDue);
    }

    /// A client frame, built from fuzz-chosen values and decoded as the socket does; a frame
    /// that does not decode never reaches the room (the socket answers it).
    fn client(&mut self, bytes: &mut Bytes<'_>) {
        if self.sockets.is_empty() {
            return self.tick(bytes);
        }
        let socket = if bytes.below(8) == 0 {
            bytes.below(self.sockets.len())
        } else {
            let live: Vec<usize> = (0..self.sockets.len())
                .filter(|&s| self.sockets[s].status == Status::In)
                .collect();
            if live.is_empty() {
                bytes.below(self.sockets.len())
            } else {
                live[bytes.below(live.len())]
            }
        };
        let frame = self.frame(bytes);
        let Ok(message) = ClientMessage::decode(&frame) else {
            return;
        };
        self.start_step(format!("CLIENT s{socket} {frame}"));
        if self.sockets[socket].status == Status::In {
            self.step.sender = Some(socket);
            self.step.reference = message.reference.clone();
            self.expect_client(socket, &message.event);
        }
        let conn = self.sockets[socket].conn;
        self.drive(bytes, In::Client { conn, message });
    }

    fn frame(&self, bytes: &mut Bytes<'_>) -> String {
        let position = |bytes: &mut Bytes<'_>| -> Value {
            match bytes.below(7) {
                0 => json!(0),
                1 => json!(u64::from(bytes.byte()) * 1_000),
                2 => json!(bytes.u32() % 86_400_001),
                3 => json!(86_400_000),
                4 => json!(86_400_001),
                5 => json!(-1),
                _ => json!(u64::from(bytes.u16())),
            }
        };
        let version = self.playback.version;
        let expected = |bytes: &mut Bytes<'_>, data: &mut Map<String, Value>| {
            let v = match bytes.below(6) {
                0 => version,
                1 => version + 1,
                2 => version.wrapping_sub(1),
                3 => bytes.u64() >> 11,
                _ => return,
            };
            data.insert("expected_version".to_owned(), json!(v));
        };
        let target = |bytes: &mut Bytes<'_>| json!(user_id(bytes.below(USERS)));
        let mut data = Map::new();
        let kind = match bytes.below(17) {
            0 | 1 => {
                if bytes.flag() {
                    data.insert("position_ms".to_owned(), position(bytes));
                }
                expected(bytes, &mut data);
                if bytes.flag() { "PLAY" } else { "PAUSE" }
            }
            2 => {
                data.insert("position_ms".to_owned(), position(bytes));
                expected(bytes, &mut data);
                "SEEK"
            }
            3 => {
                let rates = [0.25, 0.5, 1.0, 1.5, 2.0, 4.0, 0.1, 1.234];
                data.insert("rate".to_owned(), json!(rates[bytes.below(rates.len())]));
                expected(bytes, &mut data);
                "SET_RATE"
            }
            4 => {
                data.insert("media".to_owned(), media_json(bytes.below(5)));
                "SET_MEDIA"
            }
            5..=7 => {
                let text = match bytes.below(8) {
                    0 => "hi".to_owned(),
                    1 => "hello there".to_owned(),
                    2 => "  padded  ".to_owned(),
                    3 => String::new(),
                    4 => "x".repeat(501),
                    5 => format!("line {}", bytes.byte()),
                    _ => {
                        let raw: Vec<u8> = (0..bytes.below(8)).map(|_| bytes.byte()).collect();
                        String::from_utf8_lossy(&raw).into_owned()
                    }
                };
                data.insert("text".to_owned(), json!(text));
                "CHAT"
            }
            8 => {
                data.insert("enabled".to_owned(), json!(bytes.flag()));
                "SET_CHAT_ENABLED"
            }
            9 => {
                data.insert("user_id".to_owned(), target(bytes));
                match bytes.below(5) {
                    0 => {}
                    1 => {
                        data.insert("duration_s".to_owned(), json!(1));
                    }
                    2 => {
                        data.insert("duration_s".to_owned(), json!(60));
                    }
                    3 => {
                        data.insert("duration_s".to_owned(), json!(2_592_000));
                    }
                    _ => {
                        data.insert("duration_s".to_owned(), json!(bytes.u32()));
                    }
                }
                "MUTE_USER"
            }
            10 => {
                data.insert("user_id".to_owned(), target(bytes));
                ["UNMUTE_USER", "KICK_USER", "BAN_USER", "TRANSFER_HOST"][bytes.below(4)]
            }
            11 => {
                let kinds = ["progress", "ended", "buffering", "ready"];
                data.insert("kind".to_owned(), json!(kinds[bytes.below(4)]));
                data.insert("position_ms".to_owned(), position(bytes));
                if bytes.flag() {
                    data.insert("duration_ms".to_owned(), position(bytes));
                }
                "PLAYER_EVENT"
            }
            12 => {
                data.insert("client_ts".to_owned(), json!(bytes.u64() >> 11));
                "PING"
            }
            13 | 14 => {
                data.insert("position_ms".to_owned(), position(bytes));
                "SYNC_CHECK"
            }
            15 => "RESYNC",
            _ => {
                data.insert("user_id".to_owned(), target(bytes));
                ["TRANSFER_HOST", "KICK_USER"][bytes.below(2)]
            }
        };
        let mut frame = Map::new();
        frame.insert("type".to_owned(), json!(kind));
        if !data.is_empty() || bytes.flag() {
            frame.insert("data".to_owned(), Value::Object(data));
        }
        if bytes.flag() {
            frame.insert("ref".to_owned(), json!(format!("r{}", bytes.byte())));
        }
        Value::Object(frame).to_string()
    }

    /// What a decoded frame from a socket in the room calls for.
    fn expect_client(&mut self, socket: usize, event: &ClientEvent) {
        let user = self.sockets[socket].user;
        let is_host = user == self.host;
        let refuse = |sim: &mut Self, code: ErrorCode| {
            sim.owe(format!("R s{socket} ERROR {}", code.as_str()));
        };
        let playback = self.playback;
        let now = self.now;
        let change = match event {
            ClientEvent::Play(data) => Some((
                data.expected_version,
                PlaybackCause::Play,
                Playback::new(
                    true,
                    data.position_ms
                        .unwrap_or_else(|| playback.position_at(now)),
                    playback.rate,
                    now,
                    playback.version + 1,
                ),
            )),
            ClientEvent::Pause(data) => Some((
                data.expected_version,
                PlaybackCause::Pause,
                Playback::new(
                    false,
                    data.position_ms
                        .unwrap_or_else(|| playback.position_at(now)),
                    playback.rate,
                    now,
                    playback.version + 1,
                ),
            )),
            ClientEvent::Seek(data) => Some((
                data.expected_version,
                PlaybackCause::Seek,
                Playback::new(
                    playback.playing,
                    data.position_ms,
                    playback.rate,
                    now,
                    playback.version + 1,
                ),
            )),
            ClientEvent::SetRate(data) => Some((
                data.expected_version,
                PlaybackCause::Rate,
                Playback::new(
                    playback.playing,
                    playback.position_at(now),
                    data.rate,
                    now,
                    playback.version + 1,
                ),
            )),
            _ => None,
        };
        if let Some((expected_version, cause, next)) = change {
            if !is_host {
                refuse(self, ErrorCode::NotHost);
            } else if expected_version.is_some_and(|v| v != playback.version) {
                refuse(self, ErrorCode::VersionConflict);
            } else {
                self.owe(format!("B PLAYBACK_STATE {cause:?}"));
                self.owe("P playback".to_owned());
                self.step.playback = Some(next);
            }
            return;
        }
        let member_action = |target: UserId, action: Action| (user_of(target), action);
        let moderation = match event {
            ClientEvent::MuteUser(data) => {
                let until = data
                    .duration_s
                    .map_or(MUTED_FOREVER_MS, |d| now + u64::from(d.seconds()) * 1_000);
                let timed = data.duration_s.is_some();
                Some(member_action(data.user_id, Action::Mute { until, timed }))
            }
            ClientEvent::UnmuteUser(data) => Some(member_action(data.user_id, Action::Unmute)),
            ClientEvent::KickUser(data) => Some(member_action(data.user_id, Action::Kick)),
            ClientEvent::BanUser(data) => Some(member_action(data.user_id, Action::Ban)),
            ClientEvent::TransferHost(data) => Some(member_action(data.user_id, Action::Transfer)),
            _ => None,
        };
        if let Some((target, action)) = moderation {
            if !is_host {
                refuse(self, ErrorCode::NotHost);
            } else if target == user {
                refuse(self, ErrorCode::InvalidMessage);
            } else {
                self.step.awaiting = Some(Await::Membership { target, action });
            }
            return;
        }
        match event {
            ClientEvent::SetMedia(data) => {
                if is_host {
                    let action = Action::Media(data.media.clone());
                    self.step.awaiting = Some(Await::Write {
                        target: user,
                        action,
                    });
                } else {
                    refuse(self, ErrorCode::NotHost);
                }
            }
            ClientEvent::SetChatEnabled(data) => {
                if is_host {
                    let action = Action::ChatEnabled(data.enabled);
                    self.step.awaiting = Some(Await::Write {
                        target: user,
                        action,
                    });
                } else {
                    refuse(self, ErrorCode::NotHost);
                }
            }
            ClientEvent::Chat(data) => {
                if !self.chat_enabled {
                    refuse(self, ErrorCode::ChatDisabled);
                } else if self.mutes.get(&user).is_some_and(|&until| until > now) {
                    refuse(self, ErrorCode::Muted);
                } else {
                    // Said, or refused by the flood rules (not modelled here).
                    self.step.chat_text = Some(data.text.clone());
                }
            }
            ClientEvent::PlayerEvent(_) => {
                if self.media.is_some() {
                    self.owe("progress".to_owned());
                }
            }
            ClientEvent::Ping(data) => {
                self.step.ping = Some(data.client_ts);
                self.owe(format!("R s{socket} PONG"));
            }
            ClientEvent::SyncCheck(data) => {
                self.step.sync = Some(data.position_ms);
                self.owe("sync".to_owned());
            }
            ClientEvent::Resync(_) => {
                self.step.awaiting = Some(Await::Participants { socket });
            }
            other => panic!("a frame the target does not build: {other:?}"),
        }
    }

    // ---- driving the core ----

    fn start_step(&mut self, what: String) {
        if trace() {
            eprintln!("[t={}] {what}", self.now);
        }
        self.step = Step {
            what,
            ..Step::default()
        };
    }

    fn owe(&mut self, line: String) {
        self.step.owed.push(line);
    }

    /// Applies one input and answers every question it leads to, as the task does.
    fn drive(&mut self, bytes: &mut Bytes<'_>, input: In) {
        let mut ask = self.rules.apply(input, self.now);
        self.batch(bytes);
        let mut questions = 0;
        loop {
            let awaiting = self.step.awaiting.take();
            match (ask, awaiting) {
                (None, None) => break,
                (Some(paused), Some(awaiting)) => {
                    questions += 1;
                    assert!(
                        questions <= 3,
                        "{}: more questions than any rule asks",
                        self.step.what
                    );
                    // The store takes its time: the core carries on at a later clock.
                    if bytes.flag() {
                        self.now += u64::from(bytes.byte());
                    }
                    let reply = self.answer(bytes, &paused, awaiting);
                    ask = self.rules.resume(paused, reply, self.now);
                    self.batch(bytes);
                }
                (Some(paused), None) => panic!(
                    "{}: unexpected question {:?}; effects {:?}",
                    self.step.what, paused.question, self.step.seen
                ),
                (None, Some(awaiting)) => panic!(
                    "{}: expected a question ({awaiting:?}), none asked; effects {:?}",
                    self.step.what, self.step.seen
                ),
            }
        }
        self.end_step();
    }

    /// Carries out the effects queued, in order, as the task does.
    fn batch(&mut self, bytes: &mut Bytes<'_>) {
        self.step.ceilings_failed = false;
        for out in self.rules.drain() {
            self.effect(bytes, out);
        }
        if self.step.ceilings_failed {
            // The task tells the core once the failed write is carried out: after the batch
            // was queued.
            self.rules.ceilings_not_raised();
            self.core_ceilings = (self.seq, self.playback.version);
        }
    }

    fn end_step(&mut self) {
        if trace() {
            eprintln!("    {:?}", self.step.seen);
        }
        let step = &mut self.step;
        let what = &step.what;
        if let Some(text) = step.chat_text.take() {
            let socket = step.sender.expect("chat has a sender");
            let said = step.seen.iter().filter(|l| *l == "B CHAT_MESSAGE").count();
            let stored = step.seen.iter().filter(|l| *l == "P chat").count();
            let refusals = [ErrorCode::DuplicateMessage, ErrorCode::RateLimited]
                .map(|code| format!("R s{socket} ERROR {}", code.as_str()));
            let refused = step.seen.iter().filter(|l| refusals.contains(l)).count();
            assert!(
                (said, stored, refused) == (1, 1, 0) || (said, stored, refused) == (0, 0, 1),
                "{what}: {text:?} was neither said nor refused once: {:?}",
                step.seen
            );
            step.optional
                .extend(["B CHAT_MESSAGE".to_owned(), "P chat".to_owned()]);
            step.optional.extend(refusals);
        }
        let mut owed = step.owed.clone();
        let mut optional = step.optional.clone();
        for line in &step.seen {
            if let Some(at) = owed.iter().position(|o| o == line) {
                owed.swap_remove(at);
            } else if let Some(at) = optional.iter().position(|o| o == line) {
                optional.swap_remove(at);
            } else {
                panic!(
                    "{what}: unexpected effect `{line}`; owed {:?}; effects {:?}",
                    step.owed, step.seen
                );
            }
        }
        assert!(
            owed.is_empty(),
            "{what}: missing effects {owed:?}; effects {:?}",
            step.seen
        );
        assert!(
            !step.presence_dirty,
            "{what}: presence changed unwritten: {:?}",
            step.seen
        );
        assert!(
            step.chat.is_none(),
            "{what}: a chat line stored, never said"
        );
        for (s, socket) in self.sockets.iter().enumerate() {
            assert!(
                !matches!(socket.status, Status::Joining | Status::Counted),
                "{what}: s{s} neither admitted nor refused: {:?}",
                step.seen
            );
        }
        assert_eq!(self.rules.state(), self.state, "{what}: lifecycle state");
        assert_eq!(self.rules.seq(), self.seq, "{what}: seq");
        let nobody = !self.sockets.iter().any(|s| s.status == Status::In);
        assert_eq!(
            self.rules.is_empty(),
            nobody,
            "{what}: whether anyone is in"
        );
        self.check_told();
    }

    /// The core's presence window is the target's, and the clients were told of everyone
    /// online who is not in the open window (unless the room closes: nobody is told then).
    fn check_told(&self) {
        let what = &self.step.what;
        assert_eq!(
            self.rules.presence_due_at(),
            self.window.as_ref().map(|w| w.due_ms),
            "{what}: when the presence window is due"
        );
        let noted = |user: usize| {
            self.window
                .as_ref()
                .is_some_and(|w| w.order.contains(&user))
        };
        if !self.step.closing {
            for user in 0..USERS {
                assert!(
                    self.told[user] == self.online(user) || noted(user),
                    "{what}: {} online is {}, told {}, and not in the window",
                    NAMES[user],
                    self.online(user),
                    self.told[user]
                );
            }
        }
    }

    fn check_settlement(&self) {
        let (playback, seq, (seq_ceiling, version_ceiling)) = self.rules.settlement();
        assert_eq!(playback, self.playback, "settled playback");
        assert_eq!(seq, self.seq, "settled seq");
        assert!(
            seq_ceiling >= seq && version_ceiling >= playback.version,
            "settled ceilings"
        );
    }

    // ---- the store's answers ----

    /// Checks the question against what the rules call for, picks an answer and notes what
    /// it leads to.
    fn answer(&mut self, bytes: &mut Bytes<'_>, paused: &Paused, awaiting: Await) -> Reply {
        let what = self.step.what.clone();
        let pick = bytes.below(16);
        // Now and then the store fails, or (a fault in the task) answers another question.
        let wrong = match pick {
            12 | 13 => Some(Reply::Failed),
            14 => Some(Reply::Written),
            15 => Some(
                [
                    Reply::Transitioned(true),
                    Reply::Membership(Some(MemberStatus::Approved)),
                    Reply::User(Some(user_ref(0))),
                    Reply::Participants(Some(Vec::new())),
                ]
                .into_iter()
                .nth(bytes.below(4))
                .expect("four"),
            ),
            _ => None,
        };
        let question = &paused.question;
        match awaiting {
            Await::HostLive {
                socket,
                was_in_grace,
            } => {
                assert!(
                    matches!(
                        question,
                        Question::Transition {
                            to: RoomState::Live,
                            deadline_ms: None
                        }
                    ),
                    "{what}: {question:?} for the host's first socket"
                );
                let reply = wrong.unwrap_or(Reply::Transitioned(pick < 10));
                match reply {
                    Reply::Transitioned(true) => {
                        self.state = RoomState::Live;
                        self.grace_deadline_ms = None;
                        if was_in_grace {
                            self.owe("B HOST_RECONNECTED".to_owned());
                        }
                        self.owe(format!("A s{socket}"));
                        self.presence_changed(self.sockets[socket].user, None);
                    }
                    Reply::Transitioned(false) => {
                        self.owe(format!("F s{socket} {}", CloseCode::RoomClosed.as_u16()));
                    }
                    _ => {
                        self.owe(format!("F s{socket} {}", CloseCode::InternalError.as_u16()));
                    }
                }
                reply
            }
            Await::Grace { deadline_ms } => {
                assert!(
                    matches!(question, Question::Transition { to: RoomState::Grace, deadline_ms: Some(d) } if *d == deadline_ms),
                    "{what}: {question:?} when grace should start, until {deadline_ms}"
                );
                let reply = wrong.unwrap_or(Reply::Transitioned(pick < 10));
                if let Reply::Transitioned(true) = reply {
                    self.state = RoomState::Grace;
                    self.grace_deadline_ms = Some(deadline_ms);
                    self.owe("B HOST_DISCONNECTED".to_owned());
                }
                reply
            }
            Await::Membership { target, action } => {
                assert!(
                    matches!(question, Question::Membership(id) if *id == user_id(target)),
                    "{what}: {question:?} for {}",
                    NAMES[target]
                );
                let reply = wrong.unwrap_or_else(|| match pick {
                    0..=7 => Reply::Membership(Some(MemberStatus::Approved)),
                    8 | 9 => Reply::Membership(None),
                    _ => Reply::Membership(Some(MemberStatus::Pending)),
                });
                match reply {
                    Reply::Membership(Some(MemberStatus::Approved)) => {
                        if self.known[target] {
                            self.checked_member(target, action);
                        } else {
                            self.step.awaiting = Some(Await::User { target, action });
                        }
                    }
                    Reply::Membership(_) => self.refuse_sender(ErrorCode::UserNotFound),
                    _ => self.refuse_sender(ErrorCode::Internal),
                }
                reply
            }
            Await::User { target, action } => {
                assert!(
                    matches!(question, Question::User(id) if *id == user_id(target)),
                    "{what}: {question:?} for {}",
                    NAMES[target]
                );
                let reply = wrong.unwrap_or_else(|| match pick {
                    0..=8 => Reply::User(Some(user_ref(target))),
                    _ => Reply::User(None),
                });
                match reply {
                    // The store answers about the user asked for, whatever else it gets wrong.
                    Reply::User(Some(_)) => {
                        self.checked_member(target, action);
                        return Reply::User(Some(user_ref(target)));
                    }
                    Reply::User(None) => self.refuse_sender(ErrorCode::UserNotFound),
                    _ => self.refuse_sender(ErrorCode::Internal),
                }
                reply
            }
            Await::Write { target, action } => {
                self.check_write(question, target, &action);
                let reply = wrong.unwrap_or(Reply::Written);
                if let Reply::Written = reply {
                    self.written(target, action);
                } else {
                    self.refuse_sender(ErrorCode::Internal);
                }
                reply
            }
            Await::Participants { socket } => {
                assert!(
                    matches!(question, Question::Participants),
                    "{what}: {question:?} for a resync"
                );
                // The store lists the members only while the room has fewer than make it big.
                let reply = wrong.unwrap_or_else(|| {
                    Reply::Participants((bytes.below(4) != 0).then(|| participants(bytes)))
                });
                match &reply {
                    Reply::Participants(list) => {
                        self.step.participants = Some(list.clone());
                        self.owe(format!("R s{socket} ROOM_SNAPSHOT"));
                    }
                    _ => self.refuse_sender(ErrorCode::Internal),
                }
                reply
            }
        }
    }

    fn refuse_sender(&mut self, code: ErrorCode) {
        let socket = self.step.sender.expect("a host action has a sender");
        self.owe(format!("R s{socket} ERROR {}", code.as_str()));
    }

    /// The target is an approved member the core knows: the last check, then the write.
    fn checked_member(&mut self, target: usize, action: Action) {
        if matches!(action, Action::Transfer) && !self.online(target) {
            self.refuse_sender(ErrorCode::UserNotFound);
        } else {
            self.step.awaiting = Some(Await::Write { target, action });
        }
    }

    fn check_write(&self, question: &Question, target: usize, action: &Action) {
        let id = user_id(target);
        let right = match (action, question) {
            (Action::Mute { until, .. }, Question::WriteMutedUntil { user, until: u }) => {
                *user == id && *u == Some(*until)
            }
            (Action::Unmute, Question::WriteMutedUntil { user, until }) => {
                *user == id && until.is_none()
            }
            (Action::Kick, Question::WriteRemoveMember(user))
            | (Action::Ban, Question::WriteBan(user))
            | (Action::Transfer, Question::WriteHost(user)) => *user == id,
            (
                Action::Media(media),
                Question::WriteMedia {
                    media: m,
                    embed_url,
                },
            ) => m == media && embed_url.starts_with("http"),
            (Action::ChatEnabled(enabled), Question::WriteChatEnabled(e)) => e == enabled,
            _ => false,
        };
        assert!(right, "{}: {question:?} for {action:?}", self.step.what);
    }

    /// The store holds a host action: what the room must do.
    fn written(&mut self, target: usize, action: Action) {
        let name = NAMES[target];
        let audit = |sim: &mut Self, action: AuditAction| sim.owe(format!("audit {action:?}"));
        match action {
            Action::Mute { until, timed } => {
                audit(self, AuditAction::Mute);
                self.owe(format!("B USER_MUTED {name}"));
                self.mutes.insert(target, until);
                self.step.muted_until = Some(timed.then_some(until));
            }
            Action::Unmute => {
                audit(self, AuditAction::Unmute);
                self.owe(format!("B USER_UNMUTED {name}"));
                self.mutes.remove(&target);
            }
            Action::Kick | Action::Ban => {
                let (audited, event, close, reason) = if matches!(action, Action::Ban) {
                    (
                        AuditAction::Ban,
                        "USER_BANNED",
                        CloseCode::Banned,
                        LeaveReason::Banned,
                    )
                } else {
                    (
                        AuditAction::Kick,
                        "USER_KICKED",
                        CloseCode::Kicked,
                        LeaveReason::Kicked,
                    )
                };
                audit(self, audited);
                self.owe(format!("B {event} {name}"));
                self.step.reason = Some(reason);
                self.owe_detaches(|socket| socket.user == target, close);
            }
            Action::Transfer => {
                audit(self, AuditAction::TransferHost);
                self.owe(format!("B HOST_CHANGED {name}"));
                self.host = target;
                self.step.presence_dirty = true;
            }
            Action::Media(media) => {
                audit(self, AuditAction::SetMedia);
                self.owe("B MEDIA_CHANGED".to_owned());
                self.owe(format!("B PLAYBACK_STATE {:?}", PlaybackCause::Media));
                self.owe("P playback".to_owned());
                self.media = Some(media);
                self.step.playback = Some(Playback::new(
                    false,
                    PositionMs::ZERO,
                    Rate::NORMAL,
                    self.now,
                    self.playback.version + 1,
                ));
            }
            Action::ChatEnabled(enabled) => {
                audit(
                    self,
                    if enabled {
                        AuditAction::ChatOn
                    } else {
                        AuditAction::ChatOff
                    },
                );
                self.owe("B ROOM_UPDATED".to_owned());
                self.chat_enabled = enabled;
            }
        }
    }

    // ---- effects ----

    fn effect(&mut self, bytes: &mut Bytes<'_>, out: Out) {
        let what = self.step.what.clone();
        match out {
            Out::Broadcast(message) => {
                let line = self.broadcast(message);
                self.step.seen.push(line);
            }
            Out::Reply {
                conn,
                reference,
                event,
            } => {
                let socket = self.socket(conn);
                assert_eq!(
                    self.sockets[socket].status,
                    Status::In,
                    "{what}: a reply to s{socket}, not in the room: {event:?}"
                );
                assert_eq!(reference, self.step.reference, "{what}: the reply's ref");
                let line = self.reply(socket, event);
                self.step.seen.push(line);
            }
            Out::Admit { conn, snapshot } => {
                let socket = self.socket(conn);
                assert!(
                    self.step.joiner == Some(socket)
                        && matches!(
                            self.sockets[socket].status,
                            Status::Joining | Status::Counted
                        ),
                    "{what}: s{socket} admitted, not joining now ({:?})",
                    self.sockets[socket].status
                );
                let user = self.sockets[socket].user;
                if self.sockets[socket].status == Status::Joining {
                    self.step.presence_dirty = true;
                }
                self.sockets[socket].status = Status::In;
                self.known[user] = true;
                if let Some(until) = self.sockets[socket].muted_until_ms {
                    self.mutes.insert(user, until);
                }
                let participants = self.sockets[socket].participants.clone();
                self.check_snapshot(&snapshot, user, participants.as_deref());
                self.step.seen.push(format!("A s{socket}"));
            }
            Out::Refuse { conn, close } => {
                let socket = self.socket(conn);
                assert!(
                    self.step.joiner == Some(socket)
                        && self.sockets[socket].status == Status::Joining,
                    "{what}: s{socket} refused, not joining now, or already counted ({:?})",
                    self.sockets[socket].status
                );
                self.sockets[socket].status = Status::Refused;
                self.step
                    .seen
                    .push(format!("F s{socket} {}", close.as_u16()));
            }
            Out::Detach { conn, close } => {
                let socket = self.socket(conn);
                assert_eq!(
                    self.sockets[socket].status,
                    Status::In,
                    "{what}: s{socket} detached, not in the room ({close:?})"
                );
                self.sockets[socket].status = Status::Detached;
                self.step
                    .seen
                    .push(format!("D s{socket} {}", close.as_u16()));
                let user = self.sockets[socket].user;
                if !self.online(user) {
                    self.step.presence_dirty = true;
                    if let Some(reason) = self.step.reason {
                        self.presence_changed(user, Some(reason));
                        if user == self.host && self.state == RoomState::Live {
                            assert!(
                                self.step.awaiting.is_none(),
                                "{what}: two questions at once"
                            );
                            self.step.awaiting = Some(Await::Grace {
                                deadline_ms: self.grace_deadline(),
                            });
                        }
                    }
                }
            }
            Out::PersistPlayback { playback, seq } => {
                assert_eq!(
                    Some(playback),
                    self.step.playback,
                    "{what}: the playback stored"
                );
                assert_eq!(
                    seq,
                    self.seq + 1,
                    "{what}: the playback stored with the seq of its broadcast, next"
                );
                self.step.playback_stored = true;
                self.step.seen.push("P playback".to_owned());
            }
            Out::PersistPresence {
                viewers,
                host_online,
            } => {
                if let Some(joiner) = self.step.joiner
                    && self.sockets[joiner].status == Status::Joining
                {
                    // The core counts the joining socket just before admitting it.
                    self.sockets[joiner].status = Status::Counted;
                }
                assert_eq!(viewers, self.viewers(), "{what}: viewers written behind");
                assert_eq!(host_online, self.online(self.host), "{what}: host online");
                self.step.presence_dirty = false;
            }
            Out::PersistChat(message) => {
                assert!(self.step.chat.is_none(), "{what}: two chat lines stored");
                self.step.chat = Some(message);
                self.step.seen.push("P chat".to_owned());
            }
            Out::RaiseCeilings { seq, version } => {
                let (core_seq, core_version) = self.core_ceilings;
                assert!(
                    seq > self.seq.max(core_seq)
                        && version > self.playback.version.max(core_version),
                    "{what}: ceilings raised to ({seq}, {version}) from ({core_seq}, {core_version}), at ({}, {})",
                    self.seq,
                    self.playback.version
                );
                assert!(
                    self.seq >= core_seq || self.playback.version >= core_version,
                    "{what}: ceilings raised before they ran out"
                );
                self.core_ceilings = (seq, version);
                if bytes.below(8) == 7 {
                    self.stored_ceilings = None;
                    self.step.ceilings_failed = true;
                } else {
                    self.stored_ceilings = Some((seq, version));
                }
            }
            Out::Audit {
                actor,
                action,
                subject,
            } => {
                let sender = self.step.sender.expect("a host action has a sender");
                assert_eq!(
                    actor,
                    user_id(self.sockets[sender].user),
                    "{what}: audit actor"
                );
                let member = matches!(
                    action,
                    AuditAction::Mute
                        | AuditAction::Unmute
                        | AuditAction::Kick
                        | AuditAction::Ban
                        | AuditAction::TransferHost
                );
                assert_eq!(
                    subject.is_some(),
                    member,
                    "{what}: audit subject of {action:?}"
                );
                self.step.seen.push(format!("audit {action:?}"));
            }
            Out::SaveProgress {
                user_id: id,
                media,
                position_ms,
                duration_ms,
                ..
            } => {
                let sender = self.step.sender.expect("progress has a sender");
                assert_eq!(
                    id,
                    user_id(self.sockets[sender].user),
                    "{what}: progress user"
                );
                assert_eq!(Some(media), self.media, "{what}: progress media");
                assert!(
                    position_ms <= PositionMs::MAX.get(),
                    "{what}: progress position"
                );
                assert!(duration_ms.is_none_or(|d| d <= PositionMs::MAX.get()));
                self.step.seen.push("progress".to_owned());
            }
            Out::SyncChecked {
                drift_ms,
                corrected,
            } => {
                let reported = self.step.sync.expect("a sync check has a position");
                let expected = self.playback.position_at(self.now).get() as i64;
                assert_eq!(drift_ms, reported.get() as i64 - expected, "{what}: drift");
                assert_eq!(
                    corrected,
                    drift_ms.unsigned_abs() > self.sync_threshold_ms,
                    "{what}: corrected at drift {drift_ms}"
                );
                if corrected {
                    let sender = self.step.sender.expect("a sync check has a sender");
                    self.owe(format!("R s{sender} SYNC_CORRECTION"));
                }
                self.step.seen.push("sync".to_owned());
            }
        }
    }

    /// Checks a broadcast; its line.
    fn broadcast(&mut self, message: ServerMessage) -> String {
        let what = self.step.what.clone();
        assert_eq!(message.seq, Some(self.seq + 1), "{what}: broadcast seq");
        self.seq += 1;
        assert_eq!(message.ts, self.now, "{what}: broadcast time");
        assert!(
            message.reference.is_none(),
            "{what}: a broadcast with a ref"
        );
        assert!(
            self.seq <= self.core_ceilings.0,
            "{what}: seq past the core's ceiling"
        );
        if let Some((stored, _)) = self.stored_ceilings {
            assert!(
                self.seq <= stored,
                "{what}: seq {} past the stored ceiling {stored}",
                self.seq
            );
        }
        let frame = message.encode();
        if let Err(error) = ServerMessage::decode(&frame) {
            panic!("{what}: a broadcast that does not decode ({error}): {frame}");
        }
        let kind = message.event.event_type().to_owned();
        match message.event {
            ServerEvent::PlaybackState(state) => {
                let expected = self.step.playback.take();
                assert_eq!(Some(state.playback), expected, "{what}: the playback set");
                assert!(
                    std::mem::take(&mut self.step.playback_stored),
                    "{what}: playback said, not stored first"
                );
                let sender = self.step.sender.expect("playback changes have a sender");
                assert_eq!(
                    state.by,
                    user_id(self.sockets[sender].user),
                    "{what}: changed by"
                );
                assert!(
                    state.playback.version <= self.core_ceilings.1,
                    "{what}: version past the core's ceiling"
                );
                if let Some((_, stored)) = self.stored_ceilings {
                    assert!(
                        state.playback.version <= stored,
                        "{what}: version past the stored ceiling"
                    );
                }
                self.playback = state.playback;
                format!("B {kind} {:?}", state.cause)
            }
            ServerEvent::UserJoined(joined) => {
                let user = user_of(joined.user.id);
                self.told_at_once(user, true);
                assert_eq!(joined.user, user_ref(user));
                let sockets = || self.sockets.iter().filter(|s| s.user == user);
                assert!(
                    sockets().any(|s| s.status == Status::Counted)
                        && !sockets().any(|s| s.status == Status::In),
                    "{what}: USER_JOINED for {} is not their first socket",
                    NAMES[user]
                );
                assert_eq!(joined.viewers, self.viewers(), "{what}: viewers joined");
                format!("B {kind} {}", NAMES[user])
            }
            ServerEvent::UserLeft(left) => {
                let user = user_of(left.user.id);
                self.told_at_once(user, false);
                assert!(
                    !self.online(user),
                    "{what}: USER_LEFT for {} still online",
                    NAMES[user]
                );
                assert_eq!(left.viewers, self.viewers(), "{what}: viewers left");
                format!("B {kind} {} {:?}", NAMES[user], left.reason)
            }
            ServerEvent::PresenceChanged(changed) => {
                self.check_presence_changed(&changed);
                format!("B {kind}")
            }
            ServerEvent::HostDisconnected(grace) => {
                assert_eq!(grace.grace_seconds, self.grace_seconds);
                assert_eq!(Some(grace.grace_deadline_ms), self.grace_deadline_ms);
                format!("B {kind}")
            }
            ServerEvent::HostReconnected(_)
            | ServerEvent::RoomDeleted(_)
            | ServerEvent::RoomExpired(_) => {
                format!("B {kind}")
            }
            ServerEvent::RoomUpdated(update) => {
                assert_eq!(
                    update.chat_enabled,
                    Some(self.chat_enabled),
                    "{what}: {update:?}"
                );
                format!("B {kind}")
            }
            ServerEvent::MediaChanged(changed) => {
                assert_eq!(Some(&changed.media), self.media.as_ref(), "{what}: media");
                format!("B {kind}")
            }
            ServerEvent::HostChanged(changed) => {
                assert_eq!(changed.host, user_ref(self.host), "{what}: new host");
                format!("B {kind} {}", NAMES[self.host])
            }
            ServerEvent::UserMuted(moderation) => {
                let muted = self.step.muted_until.take();
                assert_eq!(Some(moderation.until_ms), muted, "{what}: mute until");
                format!("B {kind} {}", NAMES[user_of(moderation.user.id)])
            }
            ServerEvent::UserUnmuted(moderation)
            | ServerEvent::UserKicked(moderation)
            | ServerEvent::UserBanned(moderation) => {
                assert!(moderation.until_ms.is_none());
                format!("B {kind} {}", NAMES[user_of(moderation.user.id)])
            }
            ServerEvent::ChatMessage(line) => {
                let stored = self.step.chat.take();
                assert_eq!(
                    stored.as_ref(),
                    Some(&line),
                    "{what}: chat said, not stored first"
                );
                let sender = self.step.sender.expect("chat has a sender");
                assert_eq!(line.user, user_ref(self.sockets[sender].user));
                assert_eq!(
                    Some(&line.text),
                    self.step.chat_text.as_ref(),
                    "{what}: chat text"
                );
                assert_eq!(line.sent_at_ms, self.now);
                self.chat.push_back(line);
                while self.chat.len() > CHAT_HISTORY_IN_SNAPSHOT {
                    self.chat.pop_front();
                }
                format!("B {kind}")
            }
            other => panic!("{what}: {kind} broadcast: {other:?}"),
        }
    }

    /// Checks a reply to a socket in the room; its line.
    fn reply(&mut self, socket: usize, event: ServerEvent) -> String {
        let what = self.step.what.clone();
        let kind = event.event_type().to_owned();
        match event {
            ServerEvent::Error(error) => {
                assert_eq!(
                    self.step.sender,
                    Some(socket),
                    "{what}: an error for another socket"
                );
                if let Some(current) = error.current {
                    assert_eq!(current, self.playback, "{what}: the conflict's playback");
                }
                return format!("R s{socket} ERROR {}", error.code.as_str());
            }
            ServerEvent::Pong(pong) => {
                assert_eq!(self.step.sender, Some(socket));
                assert_eq!(Some(pong.client_ts), self.step.ping);
                assert_eq!(pong.server_ts, self.now);
            }
            ServerEvent::SyncCorrection(correction) => {
                assert_eq!(self.step.sender, Some(socket));
                assert_eq!(correction.playback, self.playback, "{what}: corrected to");
            }
            ServerEvent::RoomSnapshot(snapshot) => {
                assert_eq!(self.step.sender, Some(socket));
                let participants = self
                    .step
                    .participants
                    .take()
                    .expect("answered participants");
                let user = self.sockets[socket].user;
                self.check_snapshot(&snapshot, user, participants.as_deref());
            }
            ServerEvent::JoinRequested(_) => {
                assert_eq!(
                    self.sockets[socket].user, self.host,
                    "{what}: not the host's socket"
                );
            }
            other => panic!("{what}: {kind} as a reply: {other:?}"),
        }
        format!("R s{socket} {kind}")
    }

    fn check_snapshot(
        &self,
        snapshot: &RoomSnapshot,
        viewer: usize,
        given: Option<&[Participant]>,
    ) {
        let what = &self.step.what;
        assert_eq!(snapshot.seq, self.seq, "{what}: snapshot seq");
        assert_eq!(
            snapshot.playback, self.playback,
            "{what}: snapshot playback"
        );
        let room = &snapshot.room;
        assert_eq!(room.state, self.state, "{what}: snapshot state");
        assert_eq!(
            room.grace_deadline_ms, self.grace_deadline_ms,
            "{what}: snapshot grace"
        );
        assert_eq!(room.host, user_ref(self.host), "{what}: snapshot host");
        assert_eq!(
            room.chat_enabled, self.chat_enabled,
            "{what}: snapshot chat on"
        );
        assert_eq!(room.media, self.media, "{what}: snapshot media");
        assert_eq!(room.viewers, self.viewers(), "{what}: snapshot viewers");
        assert_eq!(snapshot.you.user, user_ref(viewer));
        assert_eq!(snapshot.you.is_host, viewer == self.host);
        assert_eq!(
            snapshot.you.muted_until_ms,
            self.mutes.get(&viewer).copied()
        );
        assert!(
            snapshot.chat.iter().eq(self.chat.iter()),
            "{what}: snapshot chat"
        );
        let marked = |p: &Participant| {
            let user = user_of(p.user.id);
            let mut p = p.clone();
            p.online = self.online(user);
            p.is_host = user == self.host;
            p.muted_until_ms = self.mutes.get(&user).copied().or(p.muted_until_ms);
            p
        };
        // A room of many members is bounded like a big one, however few are online.
        let listed_whole =
            |given: &&[Participant]| !self.is_crowded() && given.len() < self.crowd_from;
        let Some(given) = given.filter(listed_whole) else {
            return self.check_few(snapshot, viewer, marked);
        };
        let expected: Vec<Participant> = given
            .iter()
            .filter(|p| p.status == MemberStatus::Approved || viewer == self.host)
            .map(marked)
            .collect();
        assert_eq!(
            snapshot.participants, expected,
            "{what}: snapshot participants"
        );
        assert_eq!(
            snapshot.participants_total, None,
            "{what}: a total for a full list"
        );
    }

    /// A big room's snapshot (or one without the members): the host, `viewer`, and up to
    /// `crowd_listed` others online, in no particular order, with the total online.
    fn check_few(
        &self,
        snapshot: &RoomSnapshot,
        viewer: usize,
        marked: impl Fn(&Participant) -> Participant,
    ) {
        let what = &self.step.what;
        let member = |user: usize| {
            marked(&Participant::new(
                user_ref(user),
                MemberStatus::Approved,
                false,
                false,
            ))
        };
        let mut first = vec![member(self.host)];
        if viewer != self.host {
            first.push(member(viewer));
        }
        let listed = &snapshot.participants;
        let (head, others) = listed.split_at(first.len().min(listed.len()));
        assert_eq!(
            head, first,
            "{what}: a big room's snapshot leads with the host and you"
        );
        let candidates = (0..USERS)
            .filter(|&user| user != self.host && user != viewer && self.online(user))
            .count();
        assert_eq!(
            others.len(),
            candidates.min(self.crowd_listed),
            "{what}: others listed in a big room's snapshot: {others:?}"
        );
        for (at, p) in others.iter().enumerate() {
            let user = user_of(p.user.id);
            assert!(
                user != self.host && user != viewer && self.online(user),
                "{what}: {} listed, not another online",
                NAMES[user]
            );
            assert!(
                !others[..at].contains(p),
                "{what}: {} listed twice",
                NAMES[user]
            );
            assert_eq!(*p, member(user), "{what}: {} as listed", NAMES[user]);
        }
        assert_eq!(
            snapshot.participants_total,
            Some(self.viewers()),
            "{what}: a big room's snapshot total"
        );
    }

    // ---- the target's account ----

    fn socket(&self, conn: Conn) -> usize {
        *self
            .by_conn
            .get(&conn)
            .unwrap_or_else(|| panic!("{}: an effect for an unknown {conn:?}", self.step.what))
    }

    /// Whether the user has a socket the core counts.
    fn online(&self, user: usize) -> bool {
        self.sockets
            .iter()
            .any(|s| s.user == user && matches!(s.status, Status::In | Status::Counted))
    }

    fn viewers(&self) -> u32 {
        (0..USERS).filter(|&user| self.online(user)).count() as u32
    }

    fn grace_deadline(&self) -> u64 {
        self.now + u64::from(self.grace_seconds) * 1_000
    }

    // ---- a big room's presence ----

    /// Whether the room is big now (the core counts a joining socket before its snapshot).
    fn is_crowded(&self) -> bool {
        self.viewers() as usize >= self.crowd_from
    }

    /// `user`'s first socket comes (`reason` is `None`), or their last one went: told at
    /// once in a small room, after whatever the window holds; gathered in a big one, and in
    /// one that was big until this going.
    fn presence_changed(&mut self, user: usize, reason: Option<LeaveReason>) {
        // A coming is noted before the model counts the socket (it is still joining); a
        // going once it no longer counts.
        let online = self.viewers() as usize + usize::from(reason.is_none());
        let was = online + usize::from(reason.is_some());
        if online < self.crowd_from && was < self.crowd_from {
            if self.window.is_some() {
                self.step.optional.push("B PRESENCE_CHANGED".to_owned());
            }
            self.owe(match reason {
                None => format!("B USER_JOINED {}", NAMES[user]),
                Some(reason) => format!("B USER_LEFT {} {reason:?}", NAMES[user]),
            });
            return;
        }
        assert!(online < 500, "the model's windows last 100 ms");
        let now = self.now;
        let window = self.window.get_or_insert_with(|| Window {
            due_ms: now + 100,
            order: Vec::new(),
            reasons: [None; USERS],
        });
        if !window.order.contains(&user) {
            window.order.push(user);
        }
        window.reasons[user] = reason.or(window.reasons[user]);
    }

    /// Who came and who went over the open window, net, in the order they first did.
    fn window_nets(&self) -> (Vec<usize>, Vec<usize>) {
        let Some(window) = &self.window else {
            return (Vec::new(), Vec::new());
        };
        let changed = |came: bool| {
            window
                .order
                .iter()
                .copied()
                .filter(|&user| self.online(user) == came && self.told[user] != came)
                .collect()
        };
        (changed(true), changed(false))
    }

    /// Closes the window: the clients now know who is online.
    fn close_window(&mut self) -> Option<Window> {
        let window = self.window.take()?;
        for &user in &window.order {
            self.told[user] = self.online(user);
        }
        Some(window)
    }

    /// A `USER_JOINED` or `USER_LEFT`: a window open until now must have had nothing to tell,
    /// or its `PRESENCE_CHANGED` would have gone first.
    fn told_at_once(&mut self, user: usize, came: bool) {
        let (joined, left) = self.window_nets();
        assert!(
            joined.is_empty() && left.is_empty(),
            "{}: {} told at once before the window's {joined:?} came and {left:?} went",
            self.step.what,
            NAMES[user]
        );
        self.close_window();
        self.told[user] = came;
    }

    fn check_presence_changed(&mut self, changed: &PresenceChanged) {
        let what = self.step.what.clone();
        let (joined, left) = self.window_nets();
        let window = self
            .close_window()
            .unwrap_or_else(|| panic!("{what}: PRESENCE_CHANGED with no window open"));
        assert!(
            !joined.is_empty() || !left.is_empty(),
            "{what}: PRESENCE_CHANGED for a window that changed nothing"
        );
        assert_eq!(
            changed.viewers,
            self.viewers(),
            "{what}: viewers in the batch"
        );
        let named_left = left.len().min(self.crowd_named);
        let named_joined = joined.len().min(self.crowd_named - named_left);
        let expected_left: Vec<Departure> = left[..named_left]
            .iter()
            .map(|&user| {
                let reason = window.reasons[user].unwrap_or(LeaveReason::Left);
                Departure::new(user_ref(user), reason)
            })
            .collect();
        let expected_joined: Vec<UserRef> = joined[..named_joined]
            .iter()
            .map(|&user| user_ref(user))
            .collect();
        assert_eq!(changed.left, expected_left, "{what}: goings named");
        assert_eq!(changed.joined, expected_joined, "{what}: comings named");
        let total = |all: usize, named: usize| (all > named).then_some(all as u32);
        assert_eq!(
            changed.left_total,
            total(left.len(), named_left),
            "{what}: goings counted"
        );
        assert_eq!(
            changed.joined_total,
            total(joined.len(), named_joined),
            "{what}: comings counted"
        );
    }
}

/// A participant list as the store could give it: some of the users, approved or pending,
/// some muted.
fn participants(bytes: &mut Bytes<'_>) -> Vec<Participant> {
    let mask = bytes.byte();
    (0..USERS)
        .filter(|user| mask & (1 << user) != 0)
        .map(|user| {
            let status = if mask & 0x80 != 0 && user % 2 == 1 {
                MemberStatus::Pending
            } else {
                MemberStatus::Approved
            };
            let mut p = Participant::new(user_ref(user), status, false, false);
            if mask & 0x40 != 0 && user == 2 {
                p.muted_until_ms = Some(MUTED_FOREVER_MS);
            }
            p
        })
        .collect()
}
