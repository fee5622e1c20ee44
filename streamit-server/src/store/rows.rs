//! Values to columns and columns back to wire types.
//!
//! The `Any` driver knows no unsigned integers and decodes booleans only from a boolean column,
//! so `u64`s travel as `i64`, booleans as `i32` 0/1, and enums as their wire spelling. A
//! column that no longer parses as its wire type is `Error::Corrupt`, naming the column.

use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::Row;
use sqlx::any::AnyRow;
use streamit_protocol::v1::{
    DisplayName, Email, MediaRef, Participant, Playback, PositionMs, Rate, Room, RoomCode,
    RoomName, Seconds, User, UserId, UserRef, WatchProgress,
};

use super::{Error, Result};

/// A `u64` as a BIGINT. Protocol integers stay below 2^53, so saturating never happens in
/// practice; it only keeps a wild value from wrapping negative.
pub(super) fn int(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// A boolean as INTEGER 0/1.
pub(super) fn flag(value: bool) -> i32 {
    i32::from(value)
}

/// An enum's wire spelling (`"LIVE"`, `"PENDING"`), the form enum columns hold.
pub(super) fn wire<T: Serialize>(value: T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(name)) => name,
        other => unreachable!("enums stored in columns serialise to strings, not {other:?}"),
    }
}

/// The query with a `MediaRef`'s five columns bound next, in the order every statement lists
/// them: provider, kind, id, season, episode.
pub(super) fn bind_media<'q>(
    query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    media: &MediaRef,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    query
        .bind(media.provider().as_str())
        .bind(media.kind().as_str())
        .bind(media.id().to_owned())
        .bind(episode_part(media.season()))
        .bind(episode_part(media.episode()))
}

/// Season and episode as key columns: 0 when absent.
pub(super) fn episode_part(value: Option<u32>) -> i64 {
    value.map_or(0, i64::from)
}

fn corrupt(column: &str, value: impl std::fmt::Debug, why: impl std::fmt::Display) -> Error {
    Error::Corrupt(format!("{column} = {value:?}: {why}"))
}

pub(super) fn get_u64(row: &AnyRow, column: &str) -> Result<u64> {
    let value: i64 = row.try_get(column)?;
    u64::try_from(value).map_err(|e| corrupt(column, value, e))
}

pub(super) fn get_opt_u64(row: &AnyRow, column: &str) -> Result<Option<u64>> {
    let value: Option<i64> = row.try_get(column)?;
    value
        .map(|v| u64::try_from(v).map_err(|e| corrupt(column, v, e)))
        .transpose()
}

pub(super) fn get_bool(row: &AnyRow, column: &str) -> Result<bool> {
    match row.try_get::<i64, _>(column)? {
        0 => Ok(false),
        1 => Ok(true),
        other => Err(corrupt(column, other, "not a 0/1 boolean")),
    }
}

/// An enum column, parsed from its wire spelling.
pub(super) fn get_wire<T: DeserializeOwned>(row: &AnyRow, column: &str) -> Result<T> {
    let name: String = row.try_get(column)?;
    serde_json::from_value(serde_json::Value::String(name.clone()))
        .map_err(|e| corrupt(column, name, e))
}

pub(super) fn get_parsed<T, E: std::fmt::Display>(
    row: &AnyRow,
    column: &str,
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> Result<T> {
    let text: String = row.try_get(column)?;
    parse(&text).map_err(|e| corrupt(column, &text, e))
}

pub(super) fn get_user_id(row: &AnyRow, column: &str) -> Result<UserId> {
    get_parsed(row, column, str::parse)
}

pub(super) fn get_opt_user_id(row: &AnyRow, column: &str) -> Result<Option<UserId>> {
    let text: Option<String> = row.try_get(column)?;
    text.map(|t| t.parse().map_err(|e| corrupt(column, &t, e)))
        .transpose()
}

pub(super) fn get_room_code(row: &AnyRow, column: &str) -> Result<RoomCode> {
    get_parsed(row, column, RoomCode::parse)
}

/// A display name, repaired (`new_lossy`) if an earlier, looser rule let it in: one such name
/// must not fail every room, roster and chat history that shows it.
pub(super) fn get_display_name(row: &AnyRow, column: &str) -> Result<DisplayName> {
    get_parsed(row, column, DisplayName::new_lossy)
}

fn get_seconds(row: &AnyRow, column: &str) -> Result<Seconds> {
    let value: f64 = row.try_get(column)?;
    Seconds::new(value).map_err(|e| corrupt(column, value, e))
}

/// A user from `id, display_name, email, is_guest, created_at_ms`.
pub(super) fn user(row: &AnyRow) -> Result<User> {
    let mut user = User::new(
        get_user_id(row, "id")?,
        get_display_name(row, "display_name")?,
        get_bool(row, "is_guest")?,
        get_u64(row, "created_at_ms")?,
    );
    let email: Option<String> = row.try_get("email")?;
    user.email = email
        .map(|e| Email::new(&e).map_err(|why| corrupt("email", &e, why)))
        .transpose()?;
    Ok(user)
}

/// Media from `<prefix>provider, <prefix>kind, <prefix>id, <prefix>season, <prefix>episode`;
/// `None` when the provider is NULL (a room with nothing picked yet).
fn media(row: &AnyRow, columns: [&str; 5]) -> Result<Option<MediaRef>> {
    let [provider, kind, id, season, episode] = columns;
    if row.try_get::<Option<String>, _>(provider)?.is_none() {
        return Ok(None);
    }
    let part = |column| -> Result<Option<u32>> {
        let value: i64 = row.try_get(column)?;
        match value {
            0 => Ok(None),
            n => u32::try_from(n)
                .map(Some)
                .map_err(|e| corrupt(column, n, e)),
        }
    };
    let media_id: String = row.try_get(id)?;
    let media = MediaRef::from_parts(
        get_wire(row, provider)?,
        get_wire(row, kind)?,
        &media_id,
        part(season)?,
        part(episode)?,
    )
    .map_err(|e| corrupt(id, &media_id, e))?;
    Ok(Some(media))
}

/// A room from the columns of `ROOM_SELECT`.
pub(super) fn room(row: &AnyRow) -> Result<Room> {
    let host = UserRef::new(
        get_user_id(row, "host_id")?,
        get_display_name(row, "host_name")?,
    );
    let viewers = get_u64(row, "viewers")?;
    let mut room = Room::new(
        get_room_code(row, "code")?,
        // Lossy for the same reason as display names: the public listing shows every room.
        get_parsed(row, "name", RoomName::new_lossy)?,
        host,
        get_wire(row, "state")?,
        get_bool(row, "is_private")?,
        get_wire(row, "entry_mode")?,
        get_bool(row, "chat_enabled")?,
        u32::try_from(viewers).map_err(|e| corrupt("viewers", viewers, e))?,
        get_u64(row, "created_at_ms")?,
    );
    room.media = media(
        row,
        [
            "media_provider",
            "media_kind",
            "media_id",
            "media_season",
            "media_episode",
        ],
    )?;
    room.embed_url = row.try_get("embed_url")?;
    room.grace_deadline_ms = get_opt_u64(row, "grace_deadline_ms")?;
    Ok(room)
}

/// A room's playback from the columns of `ROOM_SELECT`.
pub(super) fn playback(row: &AnyRow) -> Result<Playback> {
    let position = get_u64(row, "position_ms")?;
    let rate: f64 = row.try_get("rate")?;
    Ok(Playback::new(
        get_bool(row, "playing")?,
        PositionMs::new(position).map_err(|e| corrupt("position_ms", position, e))?,
        Rate::new(rate).map_err(|e| corrupt("rate", rate, e))?,
        get_u64(row, "playback_updated_at_ms")?,
        get_u64(row, "playback_version")?,
    ))
}

/// A participant from the columns of `PARTICIPANT_SELECT`; `online` is the real-time layer's.
pub(super) fn participant(row: &AnyRow) -> Result<Participant> {
    let user = UserRef::new(
        get_user_id(row, "user_id")?,
        get_display_name(row, "display_name")?,
    );
    let mut participant = Participant::new(
        user,
        get_wire(row, "status")?,
        get_bool(row, "is_host")?,
        false,
    );
    participant.muted_until_ms = get_opt_u64(row, "muted_until_ms")?;
    Ok(participant)
}

/// Watch progress from the columns of `PROGRESS_SELECT`.
pub(super) fn progress(row: &AnyRow) -> Result<WatchProgress> {
    let media = media(row, ["provider", "kind", "media_id", "season", "episode"])?
        .ok_or_else(|| corrupt("provider", "NULL", "progress without media"))?;
    let duration: Option<f64> = row.try_get("duration_s")?;
    let duration = duration
        .map(|d| Seconds::new(d).map_err(|e| corrupt("duration_s", d, e)))
        .transpose()?;
    let position = get_seconds(row, "position_s")?;
    let mut progress = WatchProgress::new(
        get_room_code(row, "room_code")?,
        media,
        position,
        get_bool(row, "completed")?,
        get_u64(row, "updated_at_ms")?,
    );
    progress.duration_s = duration;
    progress.percent = percent(position, duration);
    Ok(progress)
}

/// How far into the media, 0 to 100, when its length is known.
fn percent(position: Seconds, duration: Option<Seconds>) -> Option<f64> {
    duration
        .filter(|d| d.get() > 0.0)
        .map(|d| (position.get() / d.get() * 100.0).min(100.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_is_capped_and_needs_a_length() {
        let s = |v| Seconds::new(v).unwrap();
        assert_eq!(percent(s(30.0), Some(s(120.0))), Some(25.0));
        assert_eq!(percent(s(130.0), Some(s(120.0))), Some(100.0));
        assert_eq!(percent(s(30.0), Some(s(0.0))), None);
        assert_eq!(percent(s(30.0), None), None);
    }

    #[test]
    fn enums_are_stored_in_wire_spelling() {
        use streamit_protocol::v1::{EntryMode, MediaKind, MemberStatus, Provider, RoomState};
        assert_eq!(wire(RoomState::Live), "LIVE");
        assert_eq!(wire(EntryMode::Approval), "APPROVAL");
        assert_eq!(wire(MemberStatus::Pending), "PENDING");
        assert_eq!(wire(Provider::Vidking), Provider::Vidking.as_str());
        assert_eq!(wire(MediaKind::Tv), "tv");
    }
}
