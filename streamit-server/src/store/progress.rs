//! Watch progress: one row per user × room × media, never touching the room's playback.

use streamit_protocol::v1::{MediaRef, RoomCode, UserId, WatchProgress};

use super::rows::{self, flag, int};
use super::{ProgressUpdate, Result, Store};

/// Every column `rows::progress` reads.
macro_rules! progress_columns {
    () => {
        "room_code, provider, kind, media_id, season, episode, position_s, duration_s, completed, \
         updated_at_ms"
    };
}

impl Store {
    /// Saves progress (one row per user × room × media; `completed` sticky) and returns it.
    ///
    /// A save without a duration keeps the one already known: players report it only now and
    /// then, and forgetting it would drop `percent` from the answer.
    pub(crate) async fn save_progress(&self, update: ProgressUpdate<'_>) -> Result<WatchProgress> {
        let query = sqlx::query(concat!(
            "INSERT INTO watch_progress (user_id, room_code, provider, kind, media_id, season, episode, \
             position_s, duration_s, completed, updated_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
             ON CONFLICT (user_id, room_code, provider, kind, media_id, season, episode) DO UPDATE SET \
             position_s = excluded.position_s, \
             duration_s = COALESCE(excluded.duration_s, watch_progress.duration_s), \
             completed = CASE WHEN watch_progress.completed = 1 OR excluded.completed = 1 THEN 1 ELSE 0 END, \
             updated_at_ms = excluded.updated_at_ms \
             RETURNING ",
            progress_columns!()
        ))
        .bind(update.user_id.to_string())
        .bind(update.room_code.as_str().to_owned());
        let row = rows::bind_media(query, update.media)
            .bind(update.position_s.get())
            .bind(update.duration_s.map(|d| d.get()))
            .bind(flag(update.completed))
            .bind(int(update.now_ms))
            .fetch_one(&self.pool)
            .await?;
        rows::progress(&row)
    }

    /// A user's progress on one piece of media in a room.
    pub(crate) async fn progress(
        &self,
        user_id: UserId,
        code: RoomCode,
        media: &MediaRef,
    ) -> Result<Option<WatchProgress>> {
        let query = sqlx::query(concat!(
            "SELECT ",
            progress_columns!(),
            " FROM watch_progress WHERE user_id = $1 AND room_code = $2 AND provider = $3 AND kind = $4 AND media_id = $5 \
             AND season = $6 AND episode = $7"
        ))
        .bind(user_id.to_string())
        .bind(code.as_str().to_owned());
        let row = rows::bind_media(query, media)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(rows::progress).transpose()
    }

    /// All a user's progress, most recently updated first.
    pub(crate) async fn progress_list(&self, user_id: UserId) -> Result<Vec<WatchProgress>> {
        let found = sqlx::query(concat!(
            "SELECT ",
            progress_columns!(),
            " FROM watch_progress WHERE user_id = $1 ORDER BY updated_at_ms DESC, room_code, provider, kind, media_id, season, episode"
        ))
        .bind(user_id.to_string())
        .fetch_all(&self.pool)
        .await?;
        found.iter().map(rows::progress).collect()
    }
}
