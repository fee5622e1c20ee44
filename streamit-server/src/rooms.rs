//! Rooms over REST: create, join, detail, approvals, delete and the public listing.
//!
//! Who may do what is decided here, from the store's authoritative state; the lifecycle rules
//! live in [`crate::lifecycle`].

use rand::Rng as _;
use streamit_protocol::v1::{
    AuditAction, AuditLogResponse, CreateRoomRequest, CreateRoomResponse, EmbedOptions, EntryMode,
    ErrorCode, JoinRoomRequest, JoinRoomResponse, MAX_ROOM_NAME_CHARS, MemberStatus, Participant,
    PendingResponse, PublicRoomsQuery, PublicRoomsResponse, Room, RoomCode, RoomDetail, RoomName,
    RoomPassword, RoomUserRequest, UserId,
};

use crate::app::App;
use crate::audit;
use crate::auth::{Caller, password};
use crate::clock::now_ms;
use crate::error::{ApiError, ApiResult};
use crate::lifecycle::{self, Event};
use crate::media;
use crate::store::{self, NewRoom, RoomRecord};

/// Characters of a generated room password (the room-code alphabet: no look-alikes).
const GENERATED_PASSWORD_CHARS: usize = 10;
/// Attempts at a free room code before giving up (a collision is already one in 6·10¹¹).
const CODE_ATTEMPTS: usize = 5;

fn not_found() -> ApiError {
    ApiError::new(ErrorCode::RoomNotFound, "no room has that code")
}

fn not_host() -> ApiError {
    ApiError::new(ErrorCode::NotHost, "only the host may do this")
}

fn closed() -> ApiError {
    ApiError::new(ErrorCode::RoomClosed, "the room has expired or was deleted")
}

async fn find(app: &App, code: RoomCode) -> ApiResult<RoomRecord> {
    app.store.room(code).await?.ok_or_else(not_found)
}

/// An existing room the user hosts or is an approved member of.
pub(crate) async fn require_member(
    app: &App,
    user_id: UserId,
    code: RoomCode,
) -> ApiResult<RoomRecord> {
    let record = find(app, code).await?;
    if record.room.host.id != user_id {
        let membership = app.store.membership(code, user_id).await?;
        if membership.is_none_or(|m| m.status != MemberStatus::Approved) {
            return Err(ApiError::new(ErrorCode::NotAMember, "join the room first"));
        }
    }
    Ok(record)
}

async fn find_hosted(app: &App, caller: &Caller, code: RoomCode) -> ApiResult<RoomRecord> {
    let record = find(app, code).await?;
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
    app: &App,
    caller: &Caller,
    request: CreateRoomRequest,
) -> ApiResult<CreateRoomResponse> {
    if let Some(max) = app.limits.rooms_per_user
        && app.store.open_rooms_hosted_by(caller.user_id).await? >= u64::from(max)
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
            let host = app
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
        match app.store.create_room(new).await {
            Ok(room) => {
                audit::record(
                    app.store.clone(),
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
    app: &App,
    caller: &Caller,
    request: JoinRoomRequest,
) -> ApiResult<JoinRoomResponse> {
    let record = find(app, request.code).await?;
    let room = record.room;
    if room.state.is_closed() {
        return Err(closed());
    }
    if room.host.id == caller.user_id {
        return Ok(JoinRoomResponse::new(MemberStatus::Approved, true, room));
    }
    if app.store.is_banned(room.code, caller.user_id).await? {
        return Err(ApiError::new(
            ErrorCode::Banned,
            "the host banned you from this room",
        ));
    }
    if let Some(existing) = app.store.membership(room.code, caller.user_id).await? {
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
        && let Some(max) = app.limits.pending_per_room
        && app.store.pending_count(room.code).await? >= u64::from(max)
    {
        return Err(ApiError::limit_reached(
            "pending_per_room",
            max,
            "this room has as many join requests waiting as it may; try again later",
        ));
    }
    let membership = app
        .store
        .ensure_membership(room.code, caller.user_id, status, now_ms())
        .await?;
    if membership.status == MemberStatus::Pending {
        if let Some(user) = app.store.user(caller.user_id).await? {
            app.realtime.join_requested(room.code, user.to_ref()).await;
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
pub(crate) async fn detail(app: &App, caller: &Caller, code: RoomCode) -> ApiResult<RoomDetail> {
    let record = require_member(app, caller.user_id, code).await?;
    let is_host = record.room.host.id == caller.user_id;
    let participants: Vec<Participant> = app
        .store
        .participants(code)
        .await?
        .into_iter()
        .filter(|p| is_host || p.status == MemberStatus::Approved)
        .collect();
    Ok(RoomDetail::new(record.room, participants, record.playback))
}

/// The room's audit log (host only), oldest first.
pub(crate) async fn audit_log(
    app: &App,
    caller: &Caller,
    code: RoomCode,
) -> ApiResult<AuditLogResponse> {
    find_hosted(app, caller, code).await?;
    Ok(AuditLogResponse::new(app.store.audit_log(code).await?))
}

pub(crate) async fn pending(
    app: &App,
    caller: &Caller,
    code: RoomCode,
) -> ApiResult<PendingResponse> {
    find_hosted(app, caller, code).await?;
    Ok(PendingResponse::new(app.store.pending(code).await?))
}

fn not_pending() -> ApiError {
    ApiError::new(ErrorCode::NotPending, "that user has no pending request")
}

pub(crate) async fn approve(
    app: &App,
    caller: &Caller,
    request: RoomUserRequest,
) -> ApiResult<Participant> {
    find_hosted(app, caller, request.code).await?;
    let approved = app
        .store
        .approve(request.code, request.user_id)
        .await?
        .ok_or_else(not_pending)?;
    audit::record(
        app.store.clone(),
        request.code,
        caller.user_id,
        AuditAction::Approve,
        Some(request.user_id),
    )
    .await;
    Ok(approved)
}

pub(crate) async fn deny(app: &App, caller: &Caller, request: RoomUserRequest) -> ApiResult<()> {
    find_hosted(app, caller, request.code).await?;
    if app.store.deny(request.code, request.user_id).await? {
        audit::record(
            app.store.clone(),
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
pub(crate) async fn delete(app: &App, caller: &Caller, code: RoomCode) -> ApiResult<Room> {
    let record = find_hosted(app, caller, code).await?;
    let sources = lifecycle::sources(Event::Deleted);
    let to = lifecycle::next(record.room.state, Event::Deleted).map_err(|_| closed())?;
    if !app
        .store
        .transition_room(code, &sources, to, None, now_ms())
        .await?
    {
        return Err(closed());
    }
    audit::record(
        app.store.clone(),
        code,
        caller.user_id,
        AuditAction::Delete,
        None,
    )
    .await;
    app.realtime.room_deleted(code).await;
    let mut room = record.room;
    room.state = to;
    room.grace_deadline_ms = None;
    Ok(room)
}

/// One page of the public listing, after `query.cursor` or `query.offset` rooms in.
///
/// Both together are refused: an offset counted from a cursor is nobody's intent, and would
/// bring back the skipped and repeated rooms the cursor is there to prevent.
pub(crate) async fn public(app: &App, query: PublicRoomsQuery) -> ApiResult<PublicRoomsResponse> {
    if query.cursor.is_some() && query.offset.is_some() {
        return Err(ApiError::invalid(
            ErrorCode::InvalidInput,
            "offset",
            "give cursor or offset, not both",
        ));
    }
    let limit = query.limit.unwrap_or_default().get();
    let offset = query.offset.unwrap_or(0);
    Ok(app.store.public_rooms(limit, offset, query.cursor).await?)
}
