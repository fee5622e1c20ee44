//! Entry points for the fuzz targets in `fuzz/` (feature `fuzzing`): the server's own decoders
//! of untrusted input, otherwise private, behind thin functions that hide its error type; and a
//! room's rules behind public mirrors of their inputs, effects and store questions (`room`).

use http::header::CONTENT_TYPE;
use serde::de::DeserializeOwned;
use streamit_protocol::v1::{EmbedOptions, ErrorCode, MediaRef};

/// Decodes a request body exactly as the HTTP layer does for an `application/json` request:
/// the decoded value, or the wire code of the refusal.
///
/// # Errors
/// The code the server would answer with (`INVALID_INPUT`, `INVALID_MEDIA`, ...).
pub fn decode_body<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ErrorCode> {
    let (parts, ()) = http::Request::builder()
        .header(CONTENT_TYPE, "application/json")
        .body(())
        .expect("a fixed, valid header")
        .into_parts();
    crate::http::json_body(&parts, bytes).map_err(|error| error.code)
}

/// The canonical embed URL, as `POST /api/media/embed/` and `MEDIA_CHANGED` carry it.
pub fn embed_url(media: &MediaRef, options: &EmbedOptions) -> String {
    crate::media::embed_url(media, options)
}

/// A room's rules (`RoomCore`) behind public types, for the `room_rules` target: inputs in,
/// effects and store questions out, exactly as the room task sees them. Connections are
/// named by the target (`Conn::new`); nothing here reads a clock or a store.
#[doc(hidden)]
pub mod room {
    use std::sync::Arc;

    use streamit_protocol::v1::{
        AuditAction, ChatMessage, ClientMessage, ClientRef, CloseCode, LeaveReason, MediaRef,
        MemberStatus, Participant, Playback, Room, RoomSnapshot, RoomState, ServerEvent,
        ServerMessage, UserId, UserRef,
    };
    pub use uuid::Uuid;

    use crate::realtime::ConnId;
    use crate::realtime::fuzzing::{
        Answer, Ask, Effect, Input, Joining, Loaded, NodeTag, Outbound, Persist, ProgressReport,
        Query, RoomCore, Settings, Then, Write,
    };

    /// A socket: its node's tag and its number there.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
    pub struct Conn(ConnId);

    impl Conn {
        pub const fn new(node: u64, n: u64) -> Self {
            Self(ConnId::new(NodeTag::fixed(node), n))
        }
    }

    /// What the room is loaded with, and the server's settings.
    pub struct Start {
        pub room: Room,
        pub playback: Playback,
        pub seq: u64,
        pub seq_ceiling: u64,
        pub version_ceiling: u64,
        pub chat: Vec<ChatMessage>,
        pub grace_seconds: u32,
        pub sync_threshold_ms: u64,
        /// People online from which the room is big (`usize::MAX`: never).
        pub crowd_from: usize,
        /// Others a big room's snapshots list.
        pub crowd_listed: usize,
        /// People a big room's presence batches name at most.
        pub crowd_named: usize,
    }

    /// `room_core::Input`.
    pub enum In {
        Join {
            conn: Conn,
            user: UserRef,
            login_id: Uuid,
            muted_until_ms: Option<u64>,
            /// `None`: the handshake found the room big, or with as many members as make it big.
            participants: Option<Vec<Participant>>,
        },
        Leave {
            conn: Conn,
            reason: LeaveReason,
        },
        Client {
            conn: Conn,
            message: ClientMessage,
        },
        Deleted,
        Expired,
        CloseLogin(Uuid),
        JoinRequested(UserRef),
        Tick,
        Start,
        /// The node with this tag is gone.
        NodeGone(u64),
        /// The big room's presence window is due.
        PresenceDue,
    }

    /// `room_core::Effect`, the write-behind's and progress' variants spelled out.
    #[derive(Debug)]
    pub enum Out {
        Broadcast(ServerMessage),
        Reply {
            conn: Conn,
            reference: Option<ClientRef>,
            event: ServerEvent,
        },
        Admit {
            conn: Conn,
            snapshot: Box<RoomSnapshot>,
        },
        Refuse {
            conn: Conn,
            close: CloseCode,
        },
        Detach {
            conn: Conn,
            close: CloseCode,
        },
        PersistPlayback {
            playback: Playback,
            seq: u64,
        },
        PersistPresence {
            viewers: u32,
            host_online: bool,
        },
        PersistChat(ChatMessage),
        RaiseCeilings {
            seq: u64,
            version: u64,
        },
        Audit {
            actor: UserId,
            action: AuditAction,
            subject: Option<UserId>,
        },
        SaveProgress {
            user_id: UserId,
            media: MediaRef,
            position_ms: u64,
            duration_ms: Option<u64>,
            ended: bool,
        },
        SyncChecked {
            drift_ms: i64,
            corrected: bool,
        },
    }

    /// `room_core::Query`, the writes spelled out.
    #[derive(Debug)]
    pub enum Question {
        Transition {
            to: RoomState,
            deadline_ms: Option<u64>,
        },
        Membership(UserId),
        User(UserId),
        Participants,
        WriteMedia {
            media: MediaRef,
            embed_url: String,
        },
        WriteChatEnabled(bool),
        WriteMutedUntil {
            user: UserId,
            until: Option<u64>,
        },
        WriteRemoveMember(UserId),
        WriteBan(UserId),
        WriteHost(UserId),
    }

    /// `room_core::Answer`.
    #[derive(Debug)]
    pub enum Reply {
        Transitioned(bool),
        Membership(Option<MemberStatus>),
        User(Option<UserRef>),
        Participants(Option<Vec<Participant>>),
        Written,
        Failed,
    }

    /// A rule waiting on the store: answer it with [`RoomRules::resume`].
    pub struct Paused {
        pub question: Question,
        then: Then,
    }

    /// The room's rules.
    pub struct RoomRules(RoomCore);

    impl RoomRules {
        pub fn new(start: Start) -> Self {
            let settings = Settings {
                grace_seconds: start.grace_seconds,
                sync_threshold_ms: start.sync_threshold_ms,
                crowd_from: start.crowd_from,
                crowd_listed: start.crowd_listed,
                crowd_named: start.crowd_named,
            };
            Self(RoomCore::new(
                settings,
                Loaded {
                    room: start.room,
                    playback: start.playback,
                    seq: start.seq,
                    seq_ceiling: start.seq_ceiling,
                    version_ceiling: start.version_ceiling,
                    chat: start.chat,
                },
            ))
        }

        pub fn apply(&mut self, input: In, now_ms: u64) -> Option<Paused> {
            let input = match input {
                In::Join {
                    conn,
                    user,
                    login_id,
                    muted_until_ms,
                    participants,
                } => Input::Join(Joining {
                    conn: conn.0,
                    user,
                    login_id,
                    muted_until_ms,
                    participants: participants.map(Arc::from),
                }),
                In::Leave { conn, reason } => Input::Leave {
                    conn: conn.0,
                    reason,
                },
                In::Client { conn, message } => Input::Client {
                    conn: conn.0,
                    message,
                },
                In::Deleted => Input::Deleted,
                In::Expired => Input::Expired,
                In::CloseLogin(login_id) => Input::CloseLogin(login_id),
                In::JoinRequested(user) => Input::JoinRequested(user),
                In::Tick => Input::Tick,
                In::Start => Input::Start,
                In::NodeGone(node) => Input::NodeGone(NodeTag::fixed(node)),
                In::PresenceDue => Input::PresenceDue,
            };
            self.0.apply(input, now_ms).map(waiting)
        }

        pub fn resume(&mut self, paused: Paused, reply: Reply, now_ms: u64) -> Option<Paused> {
            let answer = match reply {
                Reply::Transitioned(took) => Answer::Transitioned(took),
                Reply::Membership(status) => Answer::Membership(status),
                Reply::User(user) => Answer::User(user),
                Reply::Participants(participants) => Answer::Participants(participants),
                Reply::Written => Answer::Written,
                Reply::Failed => Answer::Failed,
            };
            self.0.resume(paused.then, answer, now_ms).map(waiting)
        }

        /// The effects queued so far, in order.
        pub fn drain(&mut self) -> Vec<Out> {
            self.0.drain_effects().map(out).collect()
        }

        pub fn ceilings_not_raised(&mut self) {
            self.0.ceilings_not_raised();
        }

        pub fn shut_down(&mut self) {
            self.0.shut_down();
        }

        pub fn seq(&self) -> u64 {
            self.0.seq()
        }

        /// When the big room's gathered presence is due, if anything is gathered.
        pub fn presence_due_at(&self) -> Option<u64> {
            self.0.presence_due_at()
        }

        pub fn state(&self) -> RoomState {
            self.0.state()
        }

        pub fn is_empty(&self) -> bool {
            self.0.is_empty()
        }

        /// The playback and `seq` used, and the ceilings reserved.
        pub fn settlement(&self) -> (Playback, u64, (u64, u64)) {
            self.0.settlement()
        }
    }

    fn waiting(ask: Ask) -> Paused {
        let question = match ask.query {
            Query::Transition {
                to, deadline_ms, ..
            } => Question::Transition { to, deadline_ms },
            Query::Membership(user) => Question::Membership(user),
            Query::User(user) => Question::User(user),
            Query::Participants => Question::Participants,
            Query::Write(Write::Media { media, embed_url }) => {
                Question::WriteMedia { media, embed_url }
            }
            Query::Write(Write::ChatEnabled(enabled)) => Question::WriteChatEnabled(enabled),
            Query::Write(Write::MutedUntil { user, until }) => {
                Question::WriteMutedUntil { user, until }
            }
            Query::Write(Write::RemoveMember(user)) => Question::WriteRemoveMember(user),
            Query::Write(Write::Ban(user)) => Question::WriteBan(user),
            Query::Write(Write::Host(user)) => Question::WriteHost(user),
        };
        Paused {
            question,
            then: ask.then,
        }
    }

    fn out(effect: Effect) -> Out {
        match effect {
            Effect::Out(Outbound::Broadcast(message)) => Out::Broadcast(message),
            Effect::Out(Outbound::Reply {
                conn,
                reference,
                event,
            }) => Out::Reply {
                conn: Conn(conn),
                reference,
                event,
            },
            Effect::Out(Outbound::Admit { conn, snapshot }) => Out::Admit {
                conn: Conn(conn),
                snapshot,
            },
            Effect::Out(Outbound::Refuse { conn, close }) => Out::Refuse {
                conn: Conn(conn),
                close,
            },
            Effect::Out(Outbound::Detach { conn, close }) => Out::Detach {
                conn: Conn(conn),
                close,
            },
            Effect::Persist(Persist::Playback { playback, seq }) => {
                Out::PersistPlayback { playback, seq }
            }
            Effect::Persist(Persist::Presence {
                viewers,
                host_online,
            }) => Out::PersistPresence {
                viewers,
                host_online,
            },
            Effect::Persist(Persist::Chat(message)) => Out::PersistChat(message),
            Effect::RaiseCeilings { seq, version } => Out::RaiseCeilings { seq, version },
            Effect::Audit {
                actor,
                action,
                subject,
            } => Out::Audit {
                actor,
                action,
                subject,
            },
            Effect::SaveProgress(ProgressReport {
                user_id,
                media,
                position_ms,
                duration_ms,
                ended,
            }) => Out::SaveProgress {
                user_id,
                media,
                position_ms,
                duration_ms,
                ended,
            },
            Effect::SyncChecked {
                drift_ms,
                corrected,
            } => Out::SyncChecked {
                drift_ms,
                corrected,
            },
        }
    }
}
