//! Rooms over REST: create, join, detail, approvals, delete and the public listing.
//!
//! Who may do what is decided here, from the store's authoritative state; the lifecycle rules
//! live in [`crate::lifecycle`].

use rand::Rng as _;
use streamit_protocol::v1::{
    AuditAction, AuditLogResponse, CreateRoomRequest, CreateRoomResponse, EmbedOptions, EntryMode,
    ErrorCode, JoinRoomRequest, JoinRoomResponse, MAX_ROOM_NAME_CHARS, MemberStatus, Participant,
    ParticipantsPage, ParticipantsQuery, PendingResponse, PublicRoomsQuery, PublicRoomsResponse,
    Room, RoomCode, RoomDetail, RoomName, RoomPassword, RoomUserRequest, UserId,
};

use crate::audit;
use crate::auth::{Caller, password};
use crate::clock::now_ms;
use crate::error::{ApiError, ApiResult};
use crate::lifecycle::{self, Event};
use crate::media;
use crate::notices::{Notice, Notices};
use crate::store::{self, NewRoom, RoomRecord, Store};

/// Characters of a generated room password (the room-code alphabet: no look-alikes).
const GENERATED_PASSWORD_CHARS: usize = 10;
/// Attempts at a free room code before giving up (a collision is already one in 6·10¹¹).
const CODE_ATTEMPTS: usize = 5;

/// What the room services reach.
pub(crate) struct Rooms {
    pub(crate) store: Store,
    pub(crate) notices: Notices,
    /// Open rooms one user may host; `None` when lifted.
    pub(crate) rooms_per_user: Option<u32>,
    /// Join requests one room may hold pending; `None` when lifted.
    pub(crate) pending_per_room: Option<u32>,
}

fn not_found() -> ApiError {
    ApiError::new(ErrorCode::RoomNotFound, "no room has that code")
}

fn not_host() -> ApiError {
    ApiError::new(ErrorCode::NotHost, "only the host may do this")
}

fn closed() -> ApiError {
    ApiError::new(ErrorCode::RoomClosed, "the room has expired or was deleted")
}

async fn find(store: &Store, code: RoomCode) -> ApiResult<RoomRecord> {
    store.room(code).await?.ok_or_else(not_found)
}

/// An existing room the user hosts or is an approved member of.
pub(crate) async fn require_member(
    store: &Store,
    user_id: UserId,
    code: RoomCode,
) -> ApiResult<RoomRecord> {
    let record = find(store, code).await?;
    if record.room.host.id != user_id {
        let membership = store.membership(code, user_id).await?;
        if membership.is_none_or(|m| m.status != MemberStatus::Approved) {
            return Err(ApiError::new(ErrorCode::NotAMember, "join the room first"));
        }
    }
    Ok(record)
}

async fn find_hosted(rooms: &Rooms, caller: &Caller, code: RoomCode) -> ApiResult<RoomRecord> {
    let record = find(&rooms.store, code).await?;
    if record.room.host.id != caller.user_id {
        return Err(not_host());
    }
    Ok(record)
}

fn generated_password() -> RoomPassword {
    let mut rng = rand::rng();
    let text: String = (0..GENERATED_PASSWORD_CHARS)
        .map(|_| char::from(RoomCode::ALPHABET[rng.random_range(0..RoomCode::ALPHABET.len())]))
        .collect();
    RoomPassword::new(&text).expect("ten alphabet characters are a valid room password")
}

fn default_name(host_name: &str) -> RoomName {
    let name: String = format!("{host_name}'s room")
        .chars()
        .take(MAX_ROOM_NAME_CHARS)
        .collect();
    RoomName::new(&name).unwrap_or_else(|_| RoomName::new("Watch room").expect("a valid name"))
}

pub(crate) async fn create(
    rooms: &Rooms,
    caller: &Caller,
    request: CreateRoomRequest,
) -> ApiResult<CreateRoomResponse> {
    if let Some(max) = rooms.rooms_per_user
        && rooms.store.open_rooms_hosted_by(caller.user_id).await? >= u64::from(max)
    {
        return Err(ApiError::limit_reached(
            "rooms_per_user",
            max,
            "you host as many open rooms as allowed; delete one first",
        ));
    }
    let entry_mode = request.entry_mode.unwrap_or_default();
    if request.password.is_some() && entry_mode != EntryMode::Password {
        return Err(ApiError::invalid(
            ErrorCode::InvalidInput,
            "password",
            "only PASSWORD rooms take a password",
        ));
    }
    let (password_hash, shown_password) = match (entry_mode, request.password) {
        (EntryMode::Password, Some(given)) => (
            Some(password::hash_off_thread(given.as_str().to_owned()).await?),
            None,
        ),
        (EntryMode::Password, None) => {
            let generated = generated_password();
            (
                Some(password::hash_off_thread(generated.as_str().to_owned()).await?),
                Some(generated),
            )
        }
        _ => (None, None),
    };
    let name = match request.name {
        Some(name) => name,
        None => {
            let host = rooms
                .store
                .user(caller.user_id)
                .await?
                .ok_or_else(|| ApiError::new(ErrorCode::Unauthorized, "unknown user"))?;
            default_name(host.display_name.as_str())
        }
    };
    let embed_url = request
        .media
        .as_ref()
        .map(|m| media::embed_url(m, &EmbedOptions::default()));
    for _ in 0..CODE_ATTEMPTS {
        let code = {
            let mut rng = rand::rng();
            RoomCode::generate(|| rng.random())
        };
        let new = NewRoom {
            code,
            name: name.clone(),
            host_id: caller.user_id,
            is_private: request.is_private.unwrap_or(false),
            entry_mode,
            password_hash: password_hash.clone(),
            chat_enabled: request.chat_enabled.unwrap_or(true),
            media: request.media.clone(),
            embed_url: embed_url.clone(),
            created_at_ms: now_ms(),
        };
        match rooms.store.create_room(new).await {
            Ok(room) => {
                audit::record(
                    rooms.store.clone(),
                    room.code,
                    caller.user_id,
                    AuditAction::Create,
                    None,
                )
                .await;
                return Ok(CreateRoomResponse::new(room, shown_password));
            }
            Err(store::Error::Conflict) => continue,
            Err(other) => return Err(other.into()),
        }
    }
    Err(ApiError::internal(
        "no free room code after several attempts",
    ))
}

/// Joins a room; joining again answers the membership as it is.
pub(crate) async fn join(
    rooms: &Rooms,
    caller: &Caller,
    request: JoinRoomRequest,
) -> ApiResult<JoinRoomResponse> {
    let record = find(&rooms.store, request.code).await?;
    let room = record.room;
    if room.state.is_closed() {
        return Err(closed());
    }
    if room.host.id == caller.user_id {
        return Ok(JoinRoomResponse::new(MemberStatus::Approved, true, room));
    }
    if rooms.store.is_banned(room.code, caller.user_id).await? {
        return Err(ApiError::new(
            ErrorCode::Banned,
            "the host banned you from this room",
        ));
    }
    if let Some(existing) = rooms.store.membership(room.code, caller.user_id).await? {
        return Ok(JoinRoomResponse::new(existing.status, false, room));
    }
    let status = match room.entry_mode {
        EntryMode::Open => MemberStatus::Approved,
        EntryMode::Approval => MemberStatus::Pending,
        EntryMode::Password => {
            check_room_password(record.password_hash, request.password).await?;
            MemberStatus::Approved
        }
    };
    if status == MemberStatus::Pending
        && let Some(max) = rooms.pending_per_room
        && rooms.store.pending_count(room.code).await? >= u64::from(max)
    {
        return Err(ApiError::limit_reached(
            "pending_per_room",
            max,
            "this room has as many join requests waiting as it may; try again later",
        ));
    }
    let membership = rooms
        .store
        .ensure_membership(room.code, caller.user_id, status, now_ms())
        .await?;
    if membership.status == MemberStatus::Pending {
        if let Some(user) = rooms.store.user(caller.user_id).await? {
            let notice = Notice::JoinRequested {
                code: room.code,
                user: user.to_ref(),
            };
            rooms.notices.send(notice).await;
        }
    }
    Ok(JoinRoomResponse::new(membership.status, false, room))
}

async fn check_room_password(hash: Option<String>, given: Option<RoomPassword>) -> ApiResult<()> {
    let wrong = || ApiError::new(ErrorCode::WrongPassword, "wrong room password");
    let (Some(hash), Some(given)) = (hash, given) else {
        return Err(wrong());
    };
    let valid = password::verify_off_thread(given.as_str().to_owned(), hash).await?;
    if valid { Ok(()) } else { Err(wrong()) }
}

/// The room with its participants and playback, for approved members. Pending requests are
/// shown to the host only.
pub(crate) async fn detail(
    rooms: &Rooms,
    caller: &Caller,
    code: RoomCode,
) -> ApiResult<RoomDetail> {
    let record = require_member(&rooms.store, caller.user_id, code).await?;
    let is_host = record.room.host.id == caller.user_id;
    let participants: Vec<Participant> = rooms
        .store
        .participants(code)
        .await?
        .into_iter()
        .filter(|p| is_host || p.status == MemberStatus::Approved)
        .collect();
    Ok(RoomDetail::new(record.room, participants, record.playback))
}

/// One page of the room's approved members, by user id (members only).
pub(crate) async fn participants(
    rooms: &Rooms,
    caller: &Caller,
    code: RoomCode,
    query: ParticipantsQuery,
) -> ApiResult<ParticipantsPage> {
    require_member(&rooms.store, caller.user_id, code).await?;
    let limit = query.limit.unwrap_or_default().get();
    let after = query.cursor.map(|cursor| cursor.user());
    Ok(rooms.store.participants_page(code, limit, after).await?)
}

/// The room's audit log (host only), oldest first.
pub(crate) async fn audit_log(
    rooms: &Rooms,
    caller: &Caller,
    code: RoomCode,
) -> ApiResult<AuditLogResponse> {
    find_hosted(rooms, caller, code).await?;
    Ok(AuditLogResponse::new(rooms.store.audit_log(code).await?))
}

pub(crate) async fn pending(
    rooms: &Rooms,
    caller: &Caller,
    code: RoomCode,
) -> ApiResult<PendingResponse> {
    find_hosted(rooms, caller, code).await?;
    Ok(PendingResponse::new(rooms.store.pending(code).await?))
}

fn not_pending() -> ApiError {
    ApiError::new(ErrorCode::NotPending, "that user has no pending request")
}

pub(crate) async fn approve(
    rooms: &Rooms,
    caller: &Caller,
    request: RoomUserRequest,
) -> ApiResult<Participant> {
    find_hosted(rooms, caller, request.code).await?;
    let approved = rooms
        .store
        .approve(request.code, request.user_id)
        .await?
        .ok_or_else(not_pending)?;
    audit::record(
        rooms.store.clone(),
        request.code,
        caller.user_id,
        AuditAction::Approve,
        Some(request.user_id),
    )
    .await;
    Ok(approved)
}

pub(crate) async fn deny(
    rooms: &Rooms,
    caller: &Caller,
    request: RoomUserRequest,
) -> ApiResult<()> {
    find_hosted(rooms, caller, request.code).await?;
    if rooms.store.deny(request.code, request.user_id).await? {
        audit::record(
            rooms.store.clone(),
            request.code,
            caller.user_id,
            AuditAction::Deny,
            Some(request.user_id),
        )
        .await;
        Ok(())
    } else {
        Err(not_pending())
    }
}

/// Deletes the room for good; a room already closed answers 410.
pub(crate) async fn delete(rooms: &Rooms, caller: &Caller, code: RoomCode) -> ApiResult<Room> {
    let record = find_hosted(rooms, caller, code).await?;
    let sources = lifecycle::sources(Event::Deleted);
    let to = lifecycle::next(record.room.state, Event::Deleted).map_err(|_| closed())?;
    if !rooms
        .store
        .transition_room(code, &sources, to, None, now_ms())
        .await?
    {
        return Err(closed());
    }
    audit::record(
        rooms.store.clone(),
        code,
        caller.user_id,
        AuditAction::Delete,
        None,
    )
    .await;
    rooms.notices.send(Notice::RoomDeleted { code }).await;
    let mut room = record.room;
    room.state = to;
    room.grace_deadline_ms = None;
    Ok(room)
}

/// One page of the public listing, after `query.cursor` or `query.offset` rooms in.
///
/// Both together are refused: an offset counted from a cursor is nobody's intent, and would
/// bring back the skipped and repeated rooms the cursor is there to prevent.
pub(crate) async fn public(
    rooms: &Rooms,
    query: PublicRoomsQuery,
) -> ApiResult<PublicRoomsResponse> {
    if query.cursor.is_some() && query.offset.is_some() {
        return Err(ApiError::invalid(
            ErrorCode::InvalidInput,
            "offset",
            "give cursor or offset, not both",
        ));
    }
    let limit = query.limit.unwrap_or_default().get();
    let offset = query.offset.unwrap_or(0);
    Ok(rooms
        .store
        .public_rooms(limit, offset, query.cursor)
        .await?)
}
