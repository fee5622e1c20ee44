//! Watch progress: how far each member got in each piece of media, per room. Saving is an
//! idempotent upsert; `completed` turns true at 95 % (or on the player's `ended`) and stays.
//! Progress never touches the room's playback.

use streamit_protocol::v1::{
    COMPLETED_AT_SHARE, ErrorCode, MediaRef, ProgressListResponse, ProgressQuery, RoomCode,
    SaveProgressRequest, Seconds, UserId, WatchProgress,
};

use crate::auth::Caller;
use crate::clock::now_ms;
use crate::error::{ApiError, ApiResult};
use crate::rooms;
use crate::store::{self, ProgressUpdate, Store};

fn no_progress() -> ApiError {
    ApiError::new(ErrorCode::NoProgress, "no progress saved for that media")
}

/// Whether a position counts as the end of the media.
pub(crate) fn reaches_end(position_s: Seconds, duration_s: Option<Seconds>) -> bool {
    // Multiplied, not divided: the store judges a save without a length the same way in SQL.
    duration_s.is_some_and(|d| d.get() > 0.0 && position_s.get() >= d.get() * COMPLETED_AT_SHARE)
}

pub(crate) async fn save(
    store: &Store,
    caller: &Caller,
    request: SaveProgressRequest,
) -> ApiResult<WatchProgress> {
    let room = rooms::require_member(store, caller.user_id, request.room_code).await?;
    let media = request.media.or(room.room.media).ok_or_else(|| {
        ApiError::invalid(
            ErrorCode::InvalidMedia,
            "media",
            "the room plays nothing yet; name the media",
        )
    })?;
    let saved = record(
        store,
        Report {
            user_id: caller.user_id,
            room_code: request.room_code,
            media: &media,
            position_s: request.position_s,
            duration_s: request.duration_s,
            ended: false,
        },
    )
    .await?;
    Ok(saved)
}

/// One report of how far a member got, from REST or from a `PLAYER_EVENT`.
pub(crate) struct Report<'a> {
    pub(crate) user_id: UserId,
    pub(crate) room_code: RoomCode,
    pub(crate) media: &'a MediaRef,
    pub(crate) position_s: Seconds,
    pub(crate) duration_s: Option<Seconds>,
    /// The player said `ended`.
    pub(crate) ended: bool,
}

/// Saves a report in one statement. Players send the length only now and then, so a report
/// without one is judged against the length already stored, by the store.
pub(crate) async fn record(store: &Store, report: Report<'_>) -> store::Result<WatchProgress> {
    let update = ProgressUpdate {
        user_id: report.user_id,
        room_code: report.room_code,
        media: report.media,
        position_s: report.position_s,
        duration_s: report.duration_s,
        completed: report.ended || reaches_end(report.position_s, report.duration_s),
        now_ms: now_ms(),
    };
    store.save_progress(update).await
}

pub(crate) async fn get(
    store: &Store,
    caller: &Caller,
    query: ProgressQuery,
) -> ApiResult<WatchProgress> {
    let media = query
        .media()
        .map_err(|e| ApiError::invalid(ErrorCode::InvalidMedia, e.field.as_str(), e.to_string()))?;
    store
        .progress(caller.user_id, query.room_code, &media)
        .await?
        .ok_or_else(no_progress)
}

/// Progress on whatever the room plays now.
pub(crate) async fn resume(
    store: &Store,
    caller: &Caller,
    code: RoomCode,
) -> ApiResult<WatchProgress> {
    let record = rooms::require_member(store, caller.user_id, code).await?;
    let media = record.room.media.ok_or_else(no_progress)?;
    store
        .progress(caller.user_id, code, &media)
        .await?
        .ok_or_else(no_progress)
}

pub(crate) async fn list(store: &Store, caller: &Caller) -> ApiResult<ProgressListResponse> {
    Ok(ProgressListResponse::new(
        store.progress_list(caller.user_id).await?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: f64) -> Seconds {
        Seconds::new(v).unwrap()
    }

    #[test]
    fn completion_starts_at_95_percent() {
        assert!(reaches_end(s(95.0), Some(s(100.0))));
        assert!(!reaches_end(s(94.9), Some(s(100.0))));
        assert!(!reaches_end(s(50.0), None));
        assert!(!reaches_end(s(0.0), Some(s(0.0))));
    }
}
