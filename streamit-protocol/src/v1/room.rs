//! Rooms over REST: the room, its participants, and the bodies of `/api/rooms/*`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::auth::UserRef;
use super::cursor::{ParticipantsCursor, PublicRoomsCursor};
use super::ids::{RoomCode, UserId};
use super::media::MediaRef;
use super::playback::Playback;
use super::text::{RoomName, RoomPassword};
use super::values::PageLimit;

/// Where a room is in its life; `SCREAMING_SNAKE_CASE` on the wire.
///
/// `CREATED → LIVE` (host connects) `→ GRACE` (host's last socket goes) `→ LIVE` (host back in
/// time) or `→ EXPIRED`; `DELETED` by the host from any state but `EXPIRED`. `EXPIRED` and
/// `DELETED` are final.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RoomState {
    /// Created; the host has not connected yet.
    Created,
    /// The host is connected.
    Live,
    /// The host left; members stay until `grace_deadline_ms`.
    Grace,
    /// The grace deadline passed. Final.
    Expired,
    /// The host deleted the room. Final.
    Deleted,
}

impl RoomState {
    /// Every state, in lifecycle order.
    pub const ALL: [Self; 5] = [
        Self::Created,
        Self::Live,
        Self::Grace,
        Self::Expired,
        Self::Deleted,
    ];

    /// The wire spelling, e.g. `"LIVE"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Created => "CREATED",
            Self::Live => "LIVE",
            Self::Grace => "GRACE",
            Self::Expired => "EXPIRED",
            Self::Deleted => "DELETED",
        }
    }

    /// Whether the room is over for good (joins answer 410, sockets close 4010).
    pub const fn is_closed(self) -> bool {
        matches!(self, Self::Expired | Self::Deleted)
    }
}

/// How people get into a room; `SCREAMING_SNAKE_CASE` on the wire.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EntryMode {
    /// Anyone with the code.
    #[default]
    Open,
    /// Anyone with the code and the room's password.
    Password,
    /// The host approves each user.
    Approval,
}

/// A user's standing in a room; `SCREAMING_SNAKE_CASE` on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MemberStatus {
    /// A member: may connect.
    Approved,
    /// Waiting for the host's approval.
    Pending,
}

/// A room as members and joiners see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct Room {
    /// The room's code.
    pub code: RoomCode,
    /// The room's name.
    pub name: RoomName,
    /// The current host.
    pub host: UserRef,
    /// Where the room is in its life.
    pub state: RoomState,
    /// Private rooms are never listed publicly.
    pub is_private: bool,
    /// How people get in.
    pub entry_mode: EntryMode,
    /// Whether chat is on.
    pub chat_enabled: bool,
    /// What the room plays, once the host picked something.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media: Option<MediaRef>,
    /// The canonical embed URL of `media`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embed_url: Option<String>,
    /// People connected now.
    pub viewers: u32,
    /// Server clock at creation, Unix epoch ms.
    pub created_at_ms: u64,
    /// In `GRACE`: when the room expires unless the host returns, server clock, Unix epoch ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grace_deadline_ms: Option<u64>,
}

impl Room {
    /// A room without media or grace deadline.
    pub const fn new(
        code: RoomCode,
        name: RoomName,
        host: UserRef,
        state: RoomState,
        is_private: bool,
        entry_mode: EntryMode,
        chat_enabled: bool,
        viewers: u32,
        created_at_ms: u64,
    ) -> Self {
        Self {
            code,
            name,
            host,
            state,
            is_private,
            entry_mode,
            chat_enabled,
            media: None,
            embed_url: None,
            viewers,
            created_at_ms,
            grace_deadline_ms: None,
        }
    }
}

/// `GET /api/rooms/{code}/` answer: the room, its participants and its playback.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct RoomDetail {
    /// The room.
    #[serde(flatten)]
    pub room: Room,
    /// Approved members, online or not, and pending ones (the host sees those).
    pub participants: Vec<Participant>,
    /// The room's playback.
    pub playback: Playback,
}

impl RoomDetail {
    /// Builds the answer.
    pub const fn new(room: Room, participants: Vec<Participant>, playback: Playback) -> Self {
        Self {
            room,
            participants,
            playback,
        }
    }
}

/// A user in a room.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct Participant {
    /// The user.
    pub user: UserRef,
    /// Member or waiting for approval.
    pub status: MemberStatus,
    /// Whether the user hosts the room.
    pub is_host: bool,
    /// Whether the user has a live socket in the room.
    pub online: bool,
    /// Muted until then, server clock, Unix epoch ms; absent when not muted. A mute without
    /// end reads as the largest safe integer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub muted_until_ms: Option<u64>,
}

impl Participant {
    /// An unmuted participant.
    pub const fn new(user: UserRef, status: MemberStatus, is_host: bool, online: bool) -> Self {
        Self {
            user,
            status,
            is_host,
            online,
            muted_until_ms: None,
        }
    }
}

/// A room in the public listing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct PublicRoom {
    /// The room's code.
    pub code: RoomCode,
    /// The room's name.
    pub name: RoomName,
    /// The host.
    pub host: UserRef,
    /// People connected now.
    pub viewers: u32,
    /// What it plays.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media: Option<MediaRef>,
    /// How people get in.
    pub entry_mode: EntryMode,
    /// Server clock at creation, Unix epoch ms.
    pub created_at_ms: u64,
}

impl PublicRoom {
    /// The listing entry of a room.
    pub fn from_room(room: &Room) -> Self {
        Self {
            code: room.code,
            name: room.name.clone(),
            host: room.host.clone(),
            viewers: room.viewers,
            media: room.media.clone(),
            entry_mode: room.entry_mode,
            created_at_ms: room.created_at_ms,
        }
    }
}

/// `POST /api/rooms/create/` body; every field is optional.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct CreateRoomRequest {
    /// Name; the server picks one from the host's name when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<RoomName>,
    /// Keep the room out of the public listing (default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_private: Option<bool>,
    /// How people get in (default `OPEN`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry_mode: Option<EntryMode>,
    /// Password for `PASSWORD` rooms; generated and shown once when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<RoomPassword>,
    /// Chat on (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chat_enabled: Option<bool>,
    /// What to play first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media: Option<MediaRef>,
}

/// Built from [`Default`] with the `with_*` methods (struct literals are closed to other
/// crates, since more optional fields may come):
///
/// ```
/// use streamit_protocol::v1::{CreateRoomRequest, EntryMode, RoomName};
///
/// let request = CreateRoomRequest::default()
///     .with_name(RoomName::new("Movie night").unwrap())
///     .with_entry_mode(EntryMode::Approval)
///     .with_private(true);
/// assert_eq!(request.is_private, Some(true));
/// ```
impl CreateRoomRequest {
    /// Names the room.
    #[must_use]
    pub fn with_name(mut self, name: RoomName) -> Self {
        self.name = Some(name);
        self
    }

    /// Keeps the room out of the public listing, or not.
    #[must_use]
    pub const fn with_private(mut self, private: bool) -> Self {
        self.is_private = Some(private);
        self
    }

    /// How people get in.
    #[must_use]
    pub const fn with_entry_mode(mut self, mode: EntryMode) -> Self {
        self.entry_mode = Some(mode);
        self
    }

    /// The password of a `PASSWORD` room.
    #[must_use]
    pub fn with_password(mut self, password: RoomPassword) -> Self {
        self.password = Some(password);
        self
    }

    /// Chat on or off from the start.
    #[must_use]
    pub const fn with_chat_enabled(mut self, enabled: bool) -> Self {
        self.chat_enabled = Some(enabled);
        self
    }

    /// What to play first.
    #[must_use]
    pub fn with_media(mut self, media: MediaRef) -> Self {
        self.media = Some(media);
        self
    }
}

/// `POST /api/rooms/create/` answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct CreateRoomResponse {
    /// The new room.
    pub room: Room,
    /// The generated password of a `PASSWORD` room created without one; shown only here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<RoomPassword>,
}

impl CreateRoomResponse {
    /// Builds the answer.
    pub const fn new(room: Room, password: Option<RoomPassword>) -> Self {
        Self { room, password }
    }
}

/// `POST /api/rooms/join/` body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct JoinRoomRequest {
    /// The room's code, any case.
    pub code: RoomCode,
    /// The room's password, for `PASSWORD` rooms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<RoomPassword>,
}

impl JoinRoomRequest {
    /// Builds the body.
    pub const fn new(code: RoomCode, password: Option<RoomPassword>) -> Self {
        Self { code, password }
    }
}

/// `POST /api/rooms/join/` answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct JoinRoomResponse {
    /// `APPROVED` (connect now) or `PENDING` (wait for the host); the host is always approved.
    pub status: MemberStatus,
    /// Whether the caller hosts the room.
    pub is_host: bool,
    /// The room.
    pub room: Room,
}

impl JoinRoomResponse {
    /// Builds the answer.
    pub const fn new(status: MemberStatus, is_host: bool, room: Room) -> Self {
        Self {
            status,
            is_host,
            room,
        }
    }
}

/// `GET /api/rooms/{code}/pending/` answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct PendingResponse {
    /// Users waiting for approval, oldest first.
    pub requests: Vec<Participant>,
}

impl PendingResponse {
    /// Builds the answer.
    pub const fn new(requests: Vec<Participant>) -> Self {
        Self { requests }
    }
}

/// `POST /api/rooms/approve/` and `POST /api/rooms/deny/` body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct RoomUserRequest {
    /// The room.
    pub code: RoomCode,
    /// The user to approve or deny.
    pub user_id: UserId,
}

impl RoomUserRequest {
    /// Builds the body.
    pub const fn new(code: RoomCode, user_id: UserId) -> Self {
        Self { code, user_id }
    }
}

/// `POST /api/rooms/delete/` body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct RoomCodeRequest {
    /// The room.
    pub code: RoomCode,
}

impl RoomCodeRequest {
    /// Builds the body.
    pub const fn new(code: RoomCode) -> Self {
        Self { code }
    }
}

/// `GET /api/rooms/public/` query.
///
/// Page with `cursor`: the first page without one, each next page with the `next_cursor` of the
/// page before, until a page has none. `offset` is the older way, kept for old clients: rooms
/// that come or go between two pages shift every offset after them, so offset paging can show a
/// room twice or never.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct PublicRoomsQuery {
    /// Page size, 1 to 100 (default 20).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<PageLimit>,
    /// Rooms to skip (default 0). Superseded by `cursor`, and refused beside it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<u32>,
    /// Where this page starts: the `next_cursor` of the page before (absent for the first page).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<PublicRoomsCursor>,
}

impl PublicRoomsQuery {
    /// Builds the query.
    pub const fn new(limit: Option<PageLimit>, offset: Option<u32>) -> Self {
        Self {
            limit,
            offset,
            cursor: None,
        }
    }

    /// The query for the page after the one that gave `cursor` as its `next_cursor`.
    pub const fn after(limit: Option<PageLimit>, cursor: PublicRoomsCursor) -> Self {
        Self {
            limit,
            offset: None,
            cursor: Some(cursor),
        }
    }
}

/// `GET /api/rooms/public/` answer: `LIVE` public rooms whose host is connected, most viewers
/// first, then newest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct PublicRoomsResponse {
    /// This page.
    pub rooms: Vec<PublicRoom>,
    /// Listed rooms in all.
    pub total: u64,
    /// Where the next page starts, for the query's `cursor`; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<PublicRoomsCursor>,
}

impl PublicRoomsResponse {
    /// Builds the answer of a last page; set `next_cursor` when more follow.
    pub const fn new(rooms: Vec<PublicRoom>, total: u64) -> Self {
        Self {
            rooms,
            total,
            next_cursor: None,
        }
    }
}

/// `GET /api/rooms/{code}/participants/` query: one page of a room's approved members, by
/// user id. A big room's snapshot lists only a few (protocol 6.11); this lists everyone.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct ParticipantsQuery {
    /// Page size, 1 to 100 (default 20).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<PageLimit>,
    /// Where this page starts: the `next_cursor` of the page before (absent for the first page).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<ParticipantsCursor>,
}

impl ParticipantsQuery {
    /// The first page, of `limit` members (20 when `None`).
    pub const fn first(limit: Option<PageLimit>) -> Self {
        Self {
            limit,
            cursor: None,
        }
    }

    /// The page after the one that gave `cursor` as its `next_cursor`.
    pub const fn after(limit: Option<PageLimit>, cursor: ParticipantsCursor) -> Self {
        Self {
            limit,
            cursor: Some(cursor),
        }
    }
}

/// `GET /api/rooms/{code}/participants/` answer. `online` is `false` throughout: who is
/// connected is the socket's to tell (snapshots, presence events), not the store's.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct ParticipantsPage {
    /// This page, by user id.
    pub participants: Vec<Participant>,
    /// Where the next page starts, for the query's `cursor`; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<ParticipantsCursor>,
}

impl ParticipantsPage {
    /// Builds a page; `next_cursor` when more follow.
    pub const fn new(
        participants: Vec<Participant>,
        next_cursor: Option<ParticipantsCursor>,
    ) -> Self {
        Self {
            participants,
            next_cursor,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const HOST: &str = "67e55044-10b1-426f-9247-bb680e5fe0c8";

    fn room_json() -> serde_json::Value {
        json!({
            "code": "ABCD2345", "name": "Movie night", "host": {"id": HOST, "display_name": "Ada"},
            "state": "GRACE", "is_private": false, "entry_mode": "APPROVAL", "chat_enabled": true,
            "media": {"provider": "vidking", "kind": "movie", "id": "550"},
            "embed_url": "https://www.vidking.net/embed/movie/550",
            "viewers": 3, "created_at_ms": 1000, "grace_deadline_ms": 301000
        })
    }

    #[test]
    fn room_round_trips() {
        let room: Room = serde_json::from_value(room_json()).unwrap();
        assert_eq!(room.state, RoomState::Grace);
        assert_eq!(serde_json::to_value(&room).unwrap(), room_json());
    }

    #[test]
    fn room_detail_is_the_room_plus_members_and_playback() {
        let mut wire = room_json();
        wire["participants"] = json!([{
            "user": {"id": HOST, "display_name": "Ada"}, "status": "APPROVED", "is_host": true, "online": false
        }]);
        wire["playback"] = json!({"playing": false, "position_ms": 0, "rate": 1.0, "updated_at_ms": 1000, "version": 1});
        let detail: RoomDetail = serde_json::from_value(wire.clone()).unwrap();
        assert_eq!(detail.participants.len(), 1);
        assert_eq!(serde_json::to_value(&detail).unwrap(), wire);
    }

    #[test]
    fn join_and_create_bodies() {
        let join: JoinRoomRequest =
            serde_json::from_value(json!({"code": "abcd2345", "password": null})).unwrap();
        assert_eq!(
            serde_json::to_value(&join).unwrap(),
            json!({"code": "ABCD2345"})
        );
        let answer = json!({"status": "PENDING", "is_host": false, "room": room_json()});
        let parsed: JoinRoomResponse = serde_json::from_value(answer.clone()).unwrap();
        assert_eq!(serde_json::to_value(&parsed).unwrap(), answer);
        let create: CreateRoomRequest = serde_json::from_value(json!({})).unwrap();
        assert_eq!(create, CreateRoomRequest::default());
        let create = json!({"name": "R", "is_private": true, "entry_mode": "PASSWORD", "password": "pw", "chat_enabled": false,
            "media": {"provider": "youtube", "kind": "video", "id": "abc"}});
        let parsed: CreateRoomRequest = serde_json::from_value(create.clone()).unwrap();
        assert_eq!(serde_json::to_value(&parsed).unwrap(), create);
        let created = json!({"room": room_json(), "password": "x7k2m9"});
        let parsed: CreateRoomResponse = serde_json::from_value(created.clone()).unwrap();
        assert_eq!(serde_json::to_value(&parsed).unwrap(), created);
    }

    #[test]
    fn listing_and_small_bodies() {
        let listing = json!({"rooms": [{"code": "ABCD2345", "name": "R", "host": {"id": HOST, "display_name": "Ada"},
            "viewers": 2, "entry_mode": "OPEN", "created_at_ms": 9}], "total": 1});
        let parsed: PublicRoomsResponse = serde_json::from_value(listing.clone()).unwrap();
        assert_eq!(serde_json::to_value(&parsed).unwrap(), listing);
        let query: PublicRoomsQuery = serde_json::from_value(json!({"limit": 5})).unwrap();
        assert_eq!(query.limit.unwrap().get(), 5);
        let last = PublicRoomsCursor::after(&parsed.rooms[0]);
        let mut more = parsed.clone();
        more.next_cursor = Some(last);
        let wire = serde_json::to_value(&more).unwrap();
        assert_eq!(wire["next_cursor"], json!(last.to_string()));
        assert_eq!(
            serde_json::from_value::<PublicRoomsResponse>(wire).unwrap(),
            more
        );
        let next = PublicRoomsQuery::after(None, last);
        assert_eq!(
            serde_json::to_value(&next).unwrap(),
            json!({"cursor": last.to_string()})
        );
        assert!(
            serde_json::from_value::<PublicRoomsQuery>(json!({"cursor": "bm9wZQ"})).is_err(),
            "\"nope\" is no cursor"
        );
        assert!(serde_json::from_value::<PublicRoomsQuery>(json!({"limit": 0})).is_err());
        let approve = json!({"code": "ABCD2345", "user_id": HOST});
        let parsed: RoomUserRequest = serde_json::from_value(approve.clone()).unwrap();
        assert_eq!(serde_json::to_value(&parsed).unwrap(), approve);
        let delete: RoomCodeRequest = serde_json::from_value(json!({"code": "ABCD2345"})).unwrap();
        assert_eq!(
            serde_json::to_value(&delete).unwrap(),
            json!({"code": "ABCD2345"})
        );
        let pending = json!({"requests": []});
        let parsed: PendingResponse = serde_json::from_value(pending.clone()).unwrap();
        assert_eq!(serde_json::to_value(&parsed).unwrap(), pending);
    }

    #[test]
    fn closed_states() {
        assert!(RoomState::Expired.is_closed() && RoomState::Deleted.is_closed());
        for state in RoomState::ALL {
            assert_eq!(serde_json::to_value(state).unwrap(), state.as_str());
        }
        assert!(!RoomState::Grace.is_closed());
    }
}
