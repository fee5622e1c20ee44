//! Client → server WebSocket frames: `ClientEvent`, its payloads, and `ClientMessage`, the
//! frame `{"type", "data"?, "ref"?}` with its two-step decoder.

use std::borrow::Cow;
use std::str::FromStr;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::codes::ErrorCode;
use super::events::{Data, event_enum};
use super::frame::{FrameError, check_shape, data_object};
use super::ids::{ClientRef, UserId};
use super::limits::MAX_FRAME_BYTES;
use super::media::MediaRef;
use super::text::ChatText;
use super::values::{MuteDuration, PositionMs, Rate};

event_enum! {
    /// An event a client sends. Host-only events from anyone else answer `ERROR NOT_HOST`.
    pub enum ClientEvent {
        /// Host: play from `position_ms`, or from where the media is.
        Play(PlayPause) = "PLAY",
        /// Host: pause at `position_ms`, or where the media is.
        Pause(PlayPause) = "PAUSE",
        /// Host: jump, keeping play or pause.
        Seek(Seek) = "SEEK",
        /// Host: change the rate.
        SetRate(SetRate) = "SET_RATE",
        /// Host: play other media, from 0, paused.
        SetMedia(SetMedia) = "SET_MEDIA",
        /// Member: say something.
        Chat(Chat) = "CHAT",
        /// Host: turn chat on or off.
        SetChatEnabled(SetChatEnabled) = "SET_CHAT_ENABLED",
        /// Host: mute a member, for `duration_s` or until unmuted.
        MuteUser(MuteUser) = "MUTE_USER",
        /// Host: lift a mute.
        UnmuteUser(UserTarget) = "UNMUTE_USER",
        /// Host: remove a member; they must join again.
        KickUser(UserTarget) = "KICK_USER",
        /// Host: remove a member for good.
        BanUser(UserTarget) = "BAN_USER",
        /// Host: hand the room to an online approved member.
        TransferHost(UserTarget) = "TRANSFER_HOST",
        /// Member: what the local player did; saves watch progress, never touches playback.
        PlayerEvent(PlayerEvent) = "PLAYER_EVENT",
        /// Anyone: measure the round trip and the clock offset.
        Ping(Ping) = "PING",
        /// Member: report the local position; answered only when it is off by more than the
        /// server's threshold.
        SyncCheck(SyncCheck) = "SYNC_CHECK",
        /// Anyone: ask for a fresh `ROOM_SNAPSHOT`, or to be replayed what was missed.
        Resync(Resync) = "RESYNC",
    }
}

/// `PLAY` and `PAUSE` data.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct PlayPause {
    /// Where to play or pause; where the media is now when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position_ms: Option<PositionMs>,
    /// Refuse with `VERSION_CONFLICT` unless the playback is at this version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_version: Option<u64>,
}

impl PlayPause {
    /// At a position, or where the media is.
    pub const fn new(position_ms: Option<PositionMs>) -> Self {
        Self {
            position_ms,
            expected_version: None,
        }
    }

    /// Refused with `VERSION_CONFLICT` unless the room's playback is at `version` when the
    /// server applies it: a host that acts on what it saw does not undo a change it has not
    /// seen yet.
    #[must_use]
    pub const fn with_expected_version(mut self, version: u64) -> Self {
        self.expected_version = Some(version);
        self
    }
}

/// `SEEK` data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct Seek {
    /// Where to jump.
    pub position_ms: PositionMs,
    /// Refuse with `VERSION_CONFLICT` unless the playback is at this version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_version: Option<u64>,
}

impl Seek {
    /// A jump to `position_ms`.
    pub const fn new(position_ms: PositionMs) -> Self {
        Self {
            position_ms,
            expected_version: None,
        }
    }

    /// Refused with `VERSION_CONFLICT` unless the room's playback is at `version` when the
    /// server applies it: a host that acts on what it saw does not undo a change it has not
    /// seen yet.
    #[must_use]
    pub const fn with_expected_version(mut self, version: u64) -> Self {
        self.expected_version = Some(version);
        self
    }
}

/// `SET_RATE` data.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct SetRate {
    /// The new rate.
    pub rate: Rate,
    /// Refuse with `VERSION_CONFLICT` unless the playback is at this version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_version: Option<u64>,
}

impl SetRate {
    /// A rate change.
    pub const fn new(rate: Rate) -> Self {
        Self {
            rate,
            expected_version: None,
        }
    }

    /// Refused with `VERSION_CONFLICT` unless the room's playback is at `version` when the
    /// server applies it: a host that acts on what it saw does not undo a change it has not
    /// seen yet.
    #[must_use]
    pub const fn with_expected_version(mut self, version: u64) -> Self {
        self.expected_version = Some(version);
        self
    }
}

/// `SET_MEDIA` data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct SetMedia {
    /// The new media.
    pub media: MediaRef,
}

impl SetMedia {
    /// Builds the payload.
    pub const fn new(media: MediaRef) -> Self {
        Self { media }
    }
}

/// `CHAT` data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct Chat {
    /// The line, trimmed: 1 to 500 characters.
    pub text: ChatText,
}

impl Chat {
    /// Builds the payload.
    pub const fn new(text: ChatText) -> Self {
        Self { text }
    }
}

/// `SET_CHAT_ENABLED` data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct SetChatEnabled {
    /// Chat on or off.
    pub enabled: bool,
}

impl SetChatEnabled {
    /// Builds the payload.
    pub const fn new(enabled: bool) -> Self {
        Self { enabled }
    }
}

/// `MUTE_USER` data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct MuteUser {
    /// Who.
    pub user_id: UserId,
    /// For how long; until `UNMUTE_USER` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_s: Option<MuteDuration>,
}

impl MuteUser {
    /// Builds the payload.
    pub const fn new(user_id: UserId, duration_s: Option<MuteDuration>) -> Self {
        Self {
            user_id,
            duration_s,
        }
    }
}

/// Data of the host actions on one member: `UNMUTE_USER`, `KICK_USER`, `BAN_USER`,
/// `TRANSFER_HOST`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct UserTarget {
    /// Who.
    pub user_id: UserId,
}

impl UserTarget {
    /// Builds the payload.
    pub const fn new(user_id: UserId) -> Self {
        Self { user_id }
    }
}

/// What a local player reported; `lowercase` on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum PlayerEventKind {
    /// Periodic position report.
    Progress,
    /// Reached the end.
    Ended,
    /// Stalled, waiting for data.
    Buffering,
    /// Loaded and able to play.
    Ready,
}

/// `PLAYER_EVENT` data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct PlayerEvent {
    /// What happened.
    pub kind: PlayerEventKind,
    /// The local player's position.
    pub position_ms: PositionMs,
    /// The media's length, when the player knows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<PositionMs>,
}

impl PlayerEvent {
    /// Builds the payload.
    pub const fn new(
        kind: PlayerEventKind,
        position_ms: PositionMs,
        duration_ms: Option<PositionMs>,
    ) -> Self {
        Self {
            kind,
            position_ms,
            duration_ms,
        }
    }
}

/// `RESYNC` data: nothing, for a fresh snapshot; or where the client left off, to be replayed
/// what it missed when the room still holds it (`ROOM_RESUMED`, then those broadcasts).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct Resync {
    /// The last `seq` the client holds with no gap before it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since_seq: Option<u64>,
    /// The history epoch that `seq` belongs to (from the last `ROOM_SNAPSHOT`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epoch: Option<String>,
}

impl Resync {
    /// A request for a fresh snapshot.
    pub const fn snapshot() -> Self {
        Self {
            since_seq: None,
            epoch: None,
        }
    }

    /// A request to be replayed what came after `since_seq` in `epoch`.
    pub fn since(since_seq: u64, epoch: impl Into<String>) -> Self {
        Self {
            since_seq: Some(since_seq),
            epoch: Some(epoch.into()),
        }
    }
}

/// `PING` data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct Ping {
    /// The client's clock when sending, in ms; echoed in `PONG`.
    pub client_ts: u64,
}

impl Ping {
    /// Builds the payload.
    pub const fn new(client_ts: u64) -> Self {
        Self { client_ts }
    }
}

/// `SYNC_CHECK` data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct SyncCheck {
    /// The local player's position now.
    pub position_ms: PositionMs,
}

impl SyncCheck {
    /// Builds the payload.
    pub const fn new(position_ms: PositionMs) -> Self {
        Self { position_ms }
    }
}

/// A client frame: `{"type": ..., "data": {...}?, "ref": "..."?}`.
///
/// Decode with [`ClientMessage::decode`] (or `str::parse`): it tells a frame whose `type` is
/// unknown (`UNKNOWN_EVENT`) from one whose data is wrong (`INVALID_MESSAGE`), and keeps the
/// `ref` either way so the answer can carry it.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct ClientMessage {
    /// The client's request id (`ref`), echoed on replies.
    pub reference: Option<ClientRef>,
    /// The event.
    pub event: ClientEvent,
}

/// A client frame that could not be decoded, with the `ref` when the frame had a valid one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{error}")]
#[non_exhaustive]
pub struct ClientDecodeError {
    /// The frame's `ref`, to echo in the `ERROR` reply.
    pub reference: Option<ClientRef>,
    /// What was wrong.
    pub error: FrameError,
}

impl ClientDecodeError {
    /// The code of the `ERROR` reply.
    pub fn code(&self) -> ErrorCode {
        self.error.code()
    }
}

/// The envelope, every field raw, so one bad field does not hide the others (above all `ref`).
#[derive(Deserialize)]
struct RawClientFrame<'a> {
    #[serde(rename = "type", borrow, default)]
    event_type: Option<&'a RawValue>,
    #[serde(borrow, default)]
    data: Option<&'a RawValue>,
    #[serde(rename = "ref", borrow, default)]
    reference: Option<&'a RawValue>,
}

impl ClientMessage {
    /// A frame without `ref`.
    pub const fn new(event: ClientEvent) -> Self {
        Self {
            reference: None,
            event,
        }
    }

    /// A frame with `ref`.
    pub const fn with_ref(event: ClientEvent, reference: ClientRef) -> Self {
        Self {
            reference: Some(reference),
            event,
        }
    }

    /// Decodes a text frame in two steps: the envelope, then `data` for its `type`.
    ///
    /// # Errors
    /// When the frame is too large or deep, not an object with a string `type`, names an
    /// unknown event, or carries data that does not fit the event.
    pub fn decode(text: &str) -> Result<Self, ClientDecodeError> {
        let fail = |reference, error| ClientDecodeError { reference, error };
        check_shape(text, MAX_FRAME_BYTES).map_err(|e| fail(None, e))?;
        let raw: RawClientFrame<'_> = serde_json::from_str(text)
            .map_err(|e| fail(None, FrameError::Malformed(e.to_string())))?;
        let reference = match raw
            .reference
            .map(|r| serde_json::from_str::<Option<ClientRef>>(r.get()))
        {
            None => None,
            Some(Ok(reference)) => reference,
            Some(Err(e)) => return Err(fail(None, FrameError::Malformed(format!("ref: {e}")))),
        };
        let Some(Ok(event_type)) = raw
            .event_type
            .map(|t| serde_json::from_str::<String>(t.get()))
        else {
            let error = FrameError::Malformed("`type` must be a string".into());
            return Err(fail(reference, error));
        };
        let data = data_object(&event_type, raw.data).map_err(|e| fail(reference.clone(), e))?;
        match ClientEvent::from_parts(&event_type, data) {
            Some(Ok(event)) => Ok(Self { reference, event }),
            Some(Err(e)) => {
                let code = refine_code(&event_type, data);
                let error = FrameError::InvalidData {
                    event_type,
                    message: e.to_string(),
                    code,
                };
                Err(fail(reference, error))
            }
            None => Err(fail(reference, FrameError::UnknownEvent(event_type))),
        }
    }

    /// The frame as JSON text.
    pub fn encode(&self) -> String {
        serde_json::to_string(&Wire(self))
            .expect("client frames have string keys and finite numbers")
    }
}

/// Picks the precise code for data a known event refused: a chat line over the limit is
/// `MESSAGE_TOO_LONG` and a bad `media` is `INVALID_MEDIA`, as over HTTP; everything else is
/// `INVALID_MESSAGE`.
fn refine_code(event_type: &str, data: &str) -> ErrorCode {
    #[derive(Deserialize)]
    struct RawChat {
        text: String,
    }
    match event_type {
        "CHAT" => serde_json::from_str::<RawChat>(data)
            .ok()
            .and_then(|chat| ChatText::new(&chat.text).err())
            .map_or(ErrorCode::InvalidMessage, |e| e.chat_code()),
        "SET_MEDIA" => {
            let fields = serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(data);
            if fields.is_ok_and(|fields| {
                fields
                    .get("media")
                    .is_some_and(serde_json::Value::is_object)
            }) {
                ErrorCode::InvalidMedia
            } else {
                ErrorCode::InvalidMessage
            }
        }
        _ => ErrorCode::InvalidMessage,
    }
}

impl FromStr for ClientMessage {
    type Err = ClientDecodeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::decode(s)
    }
}

struct Wire<'a>(&'a ClientMessage);

impl Serialize for Wire<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap as _;
        let message = self.0;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("type", message.event.event_type())?;
        map.serialize_entry("data", &Data(&message.event))?;
        if let Some(reference) = &message.reference {
            map.serialize_entry("ref", reference)?;
        }
        map.end()
    }
}

impl JsonSchema for ClientMessage {
    fn schema_name() -> Cow<'static, str> {
        "ClientMessage".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let event = generator.subschema_for::<ClientEvent>();
        let reference = generator.subschema_for::<ClientRef>();
        omittable_data(generator);
        json_schema!({
            "description": "A frame a client sends: an event, and a ref the replies will echo. `data` may be omitted where every field of it is optional (`{\"type\": \"PLAY\"}`): the server reads it as `{}`.",
            "allOf": [
                event,
                {"type": "object", "properties": {"ref": reference}}
            ]
        })
    }
}

/// The decoder reads a missing or `null` `data` as `{}` (`frame::data_object`), so the events
/// whose payload has no required field need no `data`: their schema says so.
fn omittable_data(generator: &mut SchemaGenerator) {
    let definitions = generator.definitions_mut();
    let has_required = |definitions: &serde_json::Map<String, serde_json::Value>, name: &str| {
        definitions
            .get(name)
            .and_then(|schema| schema.get("required"))
            .and_then(serde_json::Value::as_array)
            .is_some_and(|required| !required.is_empty())
    };
    let Some(variants) = definitions
        .get("ClientEvent")
        .and_then(|event| event.get("oneOf"))
        .and_then(serde_json::Value::as_array)
    else {
        return;
    };
    let omittable: Vec<bool> = variants
        .iter()
        .map(|variant| {
            variant
                .pointer("/properties/data/$ref")
                .and_then(serde_json::Value::as_str)
                .and_then(|reference| reference.rsplit('/').next())
                .is_some_and(|name| !has_required(definitions, name))
        })
        .collect();
    let Some(variants) = definitions
        .get_mut("ClientEvent")
        .and_then(|event| event.get_mut("oneOf"))
        .and_then(serde_json::Value::as_array_mut)
    else {
        return;
    };
    for (variant, omittable) in variants.iter_mut().zip(omittable) {
        if !omittable {
            continue;
        }
        if let Some(required) = variant
            .get_mut("required")
            .and_then(serde_json::Value::as_array_mut)
        {
            required.retain(|field| field != "data");
        }
    }
}

impl Serialize for ClientMessage {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        Wire(self).serialize(serializer)
    }
}
