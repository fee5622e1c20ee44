//! Server → client WebSocket frames: `ServerEvent`, its payloads, and `ServerMessage`, the
//! frame `{"v", "type", "seq"?, "ts", "ref"?, "data"}` with its decoder.

use std::borrow::Cow;
use std::str::FromStr;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::PROTOCOL_VERSION;
use super::auth::UserRef;
use super::codes::ErrorCode;
use super::events::{Data, Empty, UnknownEvent, event_enum};
use super::frame::{FrameError, check_shape, data_object};
use super::ids::{ClientRef, MessageId, UserId};
use super::limits::MAX_SERVER_FRAME_BYTES;
use super::media::MediaRef;
use super::playback::Playback;
use super::room::{EntryMode, Participant, Room, RoomState};
use super::text::{ChatText, RoomName};

event_enum! {
    /// An event the server sends: a broadcast to the room (with `seq`) or a reply to one
    /// client (with its `ref`).
    pub enum ServerEvent {
        /// The whole room, first on every socket and after `RESYNC` (boxed: it is by far the
        /// largest event and the rarest).
        RoomSnapshot(Box<RoomSnapshot>) = "ROOM_SNAPSHOT",
        /// Instead of `ROOM_SNAPSHOT`, first on a socket that asked to resume (`since_seq` and
        /// `epoch` on the WebSocket URL) when the room still holds everything it missed: those
        /// broadcasts follow at once, in order, with their own `seq`, then live ones.
        RoomResumed(RoomResumed) = "ROOM_RESUMED",
        /// Playback changed.
        PlaybackState(PlaybackState) = "PLAYBACK_STATE",
        /// A chat line, to everyone including its sender.
        ChatMessage(ChatMessage) = "CHAT_MESSAGE",
        /// A user's first socket connected.
        UserJoined(UserJoined) = "USER_JOINED",
        /// A user's last socket went.
        UserLeft(UserLeft) = "USER_LEFT",
        /// In a big room, instead of `USER_JOINED` and `USER_LEFT`: who came or went in the
        /// last short window, one frame per window, naming a few and counting the rest.
        PresenceChanged(PresenceChanged) = "PRESENCE_CHANGED",
        /// The host's last socket went; the room is in grace until the deadline.
        HostDisconnected(HostDisconnected) = "HOST_DISCONNECTED",
        /// The host came back within grace.
        HostReconnected(Empty) = "HOST_RECONNECTED",
        /// Grace ran out; every socket closes with 4010.
        RoomExpired(Empty) = "ROOM_EXPIRED",
        /// The host deleted the room; every socket closes with 4010.
        RoomDeleted(Empty) = "ROOM_DELETED",
        /// Room fields changed; only those are present.
        RoomUpdated(RoomUpdate) = "ROOM_UPDATED",
        /// The host picked new media.
        MediaChanged(MediaChanged) = "MEDIA_CHANGED",
        /// Someone else hosts now.
        HostChanged(HostChanged) = "HOST_CHANGED",
        /// A member was muted.
        UserMuted(Moderation) = "USER_MUTED",
        /// A member's mute was lifted.
        UserUnmuted(Moderation) = "USER_UNMUTED",
        /// A member was kicked.
        UserKicked(Moderation) = "USER_KICKED",
        /// A member was banned.
        UserBanned(Moderation) = "USER_BANNED",
        /// To the host only: someone asks to join an `APPROVAL` room.
        JoinRequested(JoinRequested) = "JOIN_REQUESTED",
        /// Reply to `PING`.
        Pong(Pong) = "PONG",
        /// Reply to `SYNC_CHECK` when the client is off by more than the threshold.
        SyncCorrection(SyncCorrection) = "SYNC_CORRECTION",
        /// A request was refused.
        Error(ErrorEvent) = "ERROR",
    }
    unknown: Unknown,
}

/// A chat line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct ChatMessage {
    /// The line's id.
    pub id: MessageId,
    /// Who said it.
    pub user: UserRef,
    /// What they said.
    pub text: ChatText,
    /// Server clock when it was accepted, Unix epoch ms.
    pub sent_at_ms: u64,
}

impl ChatMessage {
    /// Builds the line.
    pub const fn new(id: MessageId, user: UserRef, text: ChatText, sent_at_ms: u64) -> Self {
        Self {
            id,
            user,
            text,
            sent_at_ms,
        }
    }
}

/// The receiving user's own place in the room, inside `ROOM_SNAPSHOT`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct You {
    /// Who you are.
    pub user: UserRef,
    /// Whether you host the room.
    pub is_host: bool,
    /// Muted until then, server clock, Unix epoch ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub muted_until_ms: Option<u64>,
}

impl You {
    /// Builds the entry.
    pub const fn new(user: UserRef, is_host: bool, muted_until_ms: Option<u64>) -> Self {
        Self {
            user,
            is_host,
            muted_until_ms,
        }
    }
}

/// `ROOM_SNAPSHOT` data: everything a client needs to show the room.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct RoomSnapshot {
    /// The room.
    pub room: Room,
    /// The receiving user.
    pub you: You,
    /// Everyone in the room; in a big room, or one of many members (`participants_total`
    /// present), only the host, you and a bounded number of others online.
    pub participants: Vec<Participant>,
    /// Present when `participants` lists only some of the room: how many people are
    /// connected to it (as `viewers`). Absent when the list is whole.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub participants_total: Option<u32>,
    /// Playback, in server time.
    pub playback: Playback,
    /// The last 50 chat lines, oldest first.
    pub chat: Vec<ChatMessage>,
    /// The room's broadcast `seq` this snapshot reflects; the next broadcast is `seq + 1`.
    pub seq: u64,
    /// Names the room's history of broadcasts: a client that reconnects with `since_seq` and
    /// this `epoch` gets what it missed replayed, as long as the epoch has not changed (it
    /// changes whenever that history is lost). Opaque; compare for equality only. Absent
    /// from servers that cannot replay.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epoch: Option<String>,
}

impl RoomSnapshot {
    /// Builds the snapshot.
    pub const fn new(
        room: Room,
        you: You,
        participants: Vec<Participant>,
        playback: Playback,
        chat: Vec<ChatMessage>,
        seq: u64,
    ) -> Self {
        Self {
            room,
            you,
            participants,
            playback,
            chat,
            seq,
            epoch: None,
            participants_total: None,
        }
    }

    /// The snapshot, naming the room's history `epoch`.
    #[must_use]
    pub fn with_epoch(mut self, epoch: impl Into<String>) -> Self {
        self.epoch = Some(epoch.into());
        self
    }
}

/// `ROOM_RESUMED` data: the socket resumes where it left off.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct RoomResumed {
    /// The room's history epoch, the one the client gave.
    pub epoch: String,
    /// The last `seq` the client said it holds; the replayed broadcasts are `since_seq + 1`
    /// to `since_seq + replayed`.
    pub since_seq: u64,
    /// How many broadcasts follow as replay before live ones (possibly 0).
    pub replayed: u32,
}

impl RoomResumed {
    /// Builds the payload.
    pub fn new(epoch: impl Into<String>, since_seq: u64, replayed: u32) -> Self {
        Self {
            epoch: epoch.into(),
            since_seq,
            replayed,
        }
    }
}

/// What changed playback; `SCREAMING_SNAKE_CASE` on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PlaybackCause {
    /// `PLAY`.
    Play,
    /// `PAUSE`.
    Pause,
    /// `SEEK`.
    Seek,
    /// `SET_RATE`.
    Rate,
    /// `SET_MEDIA` (playback reset to 0, paused).
    Media,
}

/// `PLAYBACK_STATE` data: the new `Playback`, flat, plus what caused it and who.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct PlaybackState {
    /// The new playback.
    #[serde(flatten)]
    pub playback: Playback,
    /// What changed it.
    pub cause: PlaybackCause,
    /// Who changed it.
    pub by: UserId,
}

impl PlaybackState {
    /// Builds the payload.
    pub const fn new(playback: Playback, cause: PlaybackCause, by: UserId) -> Self {
        Self {
            playback,
            cause,
            by,
        }
    }
}

/// `USER_JOINED` data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct UserJoined {
    /// Who.
    pub user: UserRef,
    /// People connected now.
    pub viewers: u32,
}

impl UserJoined {
    /// Builds the payload.
    pub const fn new(user: UserRef, viewers: u32) -> Self {
        Self { user, viewers }
    }
}

/// Why a user left; `lowercase` on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum LeaveReason {
    /// Closed their last socket.
    Left,
    /// Kicked by the host.
    Kicked,
    /// Banned by the host.
    Banned,
    /// Their connection went silent.
    Timeout,
}

/// `USER_LEFT` data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct UserLeft {
    /// Who.
    pub user: UserRef,
    /// Why.
    pub reason: LeaveReason,
    /// People connected now.
    pub viewers: u32,
}

impl UserLeft {
    /// Builds the payload.
    pub const fn new(user: UserRef, reason: LeaveReason, viewers: u32) -> Self {
        Self {
            user,
            reason,
            viewers,
        }
    }
}

/// `PRESENCE_CHANGED` data: who came and who went since the last such frame, net (someone
/// who came and went within the window is in neither list). A window with more people than
/// the server names per frame names some and counts the rest (`joined_total`, `left_total`):
/// naming everyone would make filling a room of n people cost every socket n names.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct PresenceChanged {
    /// Users whose first socket connected (some of them when `joined_total` is present).
    pub joined: Vec<UserRef>,
    /// Users whose last socket went, and why (some of them when `left_total` is present).
    pub left: Vec<Departure>,
    /// People connected now.
    pub viewers: u32,
    /// Present when `joined` names only some of those who came: how many came in all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub joined_total: Option<u32>,
    /// Present when `left` names only some of those who went: how many went in all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub left_total: Option<u32>,
}

impl PresenceChanged {
    /// Builds the payload, naming everyone who came and went.
    pub const fn new(joined: Vec<UserRef>, left: Vec<Departure>, viewers: u32) -> Self {
        Self {
            joined,
            left,
            viewers,
            joined_total: None,
            left_total: None,
        }
    }

    /// The payload of a window in which `joined` came and `left` went in all, more than the
    /// lists name: each total is kept only where it says more than its list.
    #[must_use]
    pub fn with_totals(mut self, joined: usize, left: usize) -> Self {
        let partial = |total: usize, named: usize| (total > named).then(|| count(total));
        self.joined_total = partial(joined, self.joined.len());
        self.left_total = partial(left, self.left.len());
        self
    }

    /// Whether the lists name everyone who came and went in the window.
    pub const fn names_everyone(&self) -> bool {
        self.joined_total.is_none() && self.left_total.is_none()
    }

    /// How many came in the window, named or not.
    pub fn joined_count(&self) -> u32 {
        self.joined_total
            .unwrap_or_else(|| count(self.joined.len()))
    }

    /// How many went in the window, named or not.
    pub fn left_count(&self) -> u32 {
        self.left_total.unwrap_or_else(|| count(self.left.len()))
    }
}

/// A list's length on the wire, where lists never near `u32::MAX`.
fn count(len: usize) -> u32 {
    u32::try_from(len).unwrap_or(u32::MAX)
}

/// One user gone, in a `PRESENCE_CHANGED`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct Departure {
    /// Who.
    pub user: UserRef,
    /// Why.
    pub reason: LeaveReason,
}

impl Departure {
    /// Builds the entry.
    pub const fn new(user: UserRef, reason: LeaveReason) -> Self {
        Self { user, reason }
    }
}

/// `HOST_DISCONNECTED` data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct HostDisconnected {
    /// Grace length, in seconds.
    pub grace_seconds: u32,
    /// When the room expires unless the host returns, server clock, Unix epoch ms.
    pub grace_deadline_ms: u64,
}

impl HostDisconnected {
    /// Builds the payload.
    pub const fn new(grace_seconds: u32, grace_deadline_ms: u64) -> Self {
        Self {
            grace_seconds,
            grace_deadline_ms,
        }
    }
}

/// `ROOM_UPDATED` data: only the `Room` fields that changed are present.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct RoomUpdate {
    /// New name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<RoomName>,
    /// New state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<RoomState>,
    /// New listing choice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_private: Option<bool>,
    /// New entry mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry_mode: Option<EntryMode>,
    /// Chat on or off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chat_enabled: Option<bool>,
    /// People connected now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub viewers: Option<u32>,
    /// New grace deadline, server clock, Unix epoch ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grace_deadline_ms: Option<u64>,
}

/// `MEDIA_CHANGED` data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct MediaChanged {
    /// The new media.
    pub media: MediaRef,
    /// Its canonical embed URL.
    pub embed_url: String,
}

impl MediaChanged {
    /// Builds the payload.
    pub const fn new(media: MediaRef, embed_url: String) -> Self {
        Self { media, embed_url }
    }
}

/// `HOST_CHANGED` data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct HostChanged {
    /// The new host.
    pub host: UserRef,
}

impl HostChanged {
    /// Builds the payload.
    pub const fn new(host: UserRef) -> Self {
        Self { host }
    }
}

/// Data of `USER_MUTED`, `USER_UNMUTED`, `USER_KICKED` and `USER_BANNED`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct Moderation {
    /// Who.
    pub user: UserRef,
    /// For a timed mute: until when, server clock, Unix epoch ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until_ms: Option<u64>,
}

impl Moderation {
    /// Builds the payload.
    pub const fn new(user: UserRef, until_ms: Option<u64>) -> Self {
        Self { user, until_ms }
    }
}

/// `JOIN_REQUESTED` data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct JoinRequested {
    /// Who asks.
    pub user: UserRef,
}

impl JoinRequested {
    /// Builds the payload.
    pub const fn new(user: UserRef) -> Self {
        Self { user }
    }
}

/// `PONG` data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct Pong {
    /// The `PING`'s `client_ts`, echoed.
    pub client_ts: u64,
    /// Server clock when answering, Unix epoch ms.
    pub server_ts: u64,
}

impl Pong {
    /// Builds the payload.
    pub const fn new(client_ts: u64, server_ts: u64) -> Self {
        Self {
            client_ts,
            server_ts,
        }
    }
}

/// `SYNC_CORRECTION` data.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct SyncCorrection {
    /// The room's playback, to follow.
    pub playback: Playback,
    /// How far the reported position was off, in ms: positive when ahead.
    pub drift_ms: i64,
}

impl SyncCorrection {
    /// Builds the payload.
    pub const fn new(playback: Playback, drift_ms: i64) -> Self {
        Self { playback, drift_ms }
    }
}

/// `ERROR` data: a request was refused.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct ErrorEvent {
    /// The code to act on.
    pub code: ErrorCode,
    /// Human text.
    pub message: String,
    /// For `RATE_LIMITED`: wait this long before trying again, in ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_ms: Option<u64>,
    /// For `VERSION_CONFLICT`: the current playback.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current: Option<Playback>,
}

impl ErrorEvent {
    /// An error without extras.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            retry_after_ms: None,
            current: None,
        }
    }
}

/// A server frame: `{"v": 1, "type", "seq"?, "ts", "ref"?, "data"}`.
///
/// Build it once per broadcast and [`encode`](Self::encode) it once; the bytes go to every
/// socket. Decode with [`ServerMessage::decode`]: an event this library does not know becomes
/// [`ServerEvent::Unknown`] instead of an error.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct ServerMessage {
    /// The room's broadcast sequence number; present on broadcasts only.
    pub seq: Option<u64>,
    /// Server clock when sent, Unix epoch ms.
    pub ts: u64,
    /// The `ref` of the request this answers; present on replies only.
    pub reference: Option<ClientRef>,
    /// The event.
    pub event: ServerEvent,
}

#[derive(Deserialize)]
struct RawServerFrame<'a> {
    v: u64,
    #[serde(rename = "type")]
    event_type: String,
    #[serde(default)]
    seq: Option<u64>,
    ts: u64,
    #[serde(rename = "ref", default)]
    reference: Option<ClientRef>,
    #[serde(borrow, default)]
    data: Option<&'a RawValue>,
}

impl ServerMessage {
    /// A broadcast, stamped with the room's `seq`.
    pub const fn broadcast(seq: u64, ts: u64, event: ServerEvent) -> Self {
        Self {
            seq: Some(seq),
            ts,
            reference: None,
            event,
        }
    }

    /// A reply to one client, carrying its request's `ref` (if it had one).
    pub const fn reply(reference: Option<ClientRef>, ts: u64, event: ServerEvent) -> Self {
        Self {
            seq: None,
            ts,
            reference,
            event,
        }
    }

    /// Decodes a text frame: the envelope, then `data` for its `type`.
    ///
    /// # Errors
    /// When the frame is too large or deep, the envelope is malformed or of another version,
    /// or a known event's data does not fit it. Unknown events are not errors.
    pub fn decode(text: &str) -> Result<Self, FrameError> {
        check_shape(text, MAX_SERVER_FRAME_BYTES)?;
        let raw: RawServerFrame<'_> =
            serde_json::from_str(text).map_err(|e| FrameError::Malformed(e.to_string()))?;
        if raw.v != u64::from(PROTOCOL_VERSION) {
            return Err(FrameError::UnsupportedVersion(raw.v));
        }
        let data = data_object(&raw.event_type, raw.data)?;
        let event = match ServerEvent::from_parts(&raw.event_type, data) {
            Some(Ok(event)) => event,
            Some(Err(e)) => {
                return Err(FrameError::InvalidData {
                    event_type: raw.event_type,
                    message: e.to_string(),
                    code: ErrorCode::InvalidMessage,
                });
            }
            None => ServerEvent::Unknown(UnknownEvent {
                event_type: raw.event_type,
                data: serde_json::from_str(data)
                    .map_err(|e| FrameError::Malformed(e.to_string()))?,
            }),
        };
        Ok(Self {
            seq: raw.seq,
            ts: raw.ts,
            reference: raw.reference,
            event,
        })
    }

    /// The frame as JSON text.
    pub fn encode(&self) -> String {
        serde_json::to_string(self).expect("server frames have string keys and finite numbers")
    }
}

impl FromStr for ServerMessage {
    type Err = FrameError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::decode(s)
    }
}

impl JsonSchema for ServerMessage {
    fn schema_name() -> Cow<'static, str> {
        "ServerMessage".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let event = generator.subschema_for::<ServerEvent>();
        let reference = generator.subschema_for::<ClientRef>();
        json_schema!({
            "description": "A frame the server sends. Clients must ignore events whose type they do not know.",
            "allOf": [
                event,
                {
                    "type": "object",
                    "properties": {
                        "v": {"description": "Protocol version.", "const": PROTOCOL_VERSION},
                        "seq": {
                            "description": "The room's broadcast sequence number, rising by one per broadcast; broadcasts only.",
                            "type": "integer", "minimum": 0
                        },
                        "ts": {"description": "Server clock when sent, Unix epoch ms.", "type": "integer", "minimum": 0},
                        "ref": reference
                    },
                    "required": ["v", "ts"]
                }
            ]
        })
    }
}

impl Serialize for ServerMessage {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap as _;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("v", &PROTOCOL_VERSION)?;
        map.serialize_entry("type", self.event.event_type())?;
        if let Some(seq) = self.seq {
            map.serialize_entry("seq", &seq)?;
        }
        map.serialize_entry("ts", &self.ts)?;
        if let Some(reference) = &self.reference {
            map.serialize_entry("ref", reference)?;
        }
        map.serialize_entry("data", &Data(&self.event))?;
        map.end()
    }
}
