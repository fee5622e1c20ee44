//! Watch progress: one row per user × room × media, never touching the room's playback.

use streamit_protocol::v1::{
    COMPLETED_AT_SHARE, MediaRef, PROGRESS_KEPT_PER_USER, RoomCode, UserId, WatchProgress,
};

use super::rows::{self, flag, int};
use super::{ProgressUpdate, Result, Store};

/// Every column `rows::progress` reads.
macro_rules! progress_columns {
    () => {
        "room_code, provider, kind, media_id, season, episode, position_s, duration_s, completed, \
         updated_at_ms"
    };
}

/// The upsert of [`Store::save_progress`], with or without the duration column (bound last, as
/// `$11`, when present). Without it, the save also completes the media when it reaches
/// `COMPLETED_AT_SHARE` of the length already stored (bound as `$11`).
macro_rules! save_progress_sql {
    ($column:literal, $value:literal, $update:literal, $completes:literal) => {
        concat!(
            "INSERT INTO watch_progress (user_id, room_code, provider, kind, media_id, season, \
             episode, position_s, completed, updated_at_ms",
            $column,
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10",
            $value,
            ") ON CONFLICT (user_id, room_code, provider, kind, media_id, season, episode) DO UPDATE \
             SET position_s = excluded.position_s, ",
            $update,
            " completed = CASE WHEN watch_progress.completed = 1 OR excluded.completed = 1",
            $completes,
            " THEN 1 ELSE 0 END, updated_at_ms = excluded.updated_at_ms RETURNING ",
            progress_columns!()
        )
    };
}

impl Store {
    /// Saves progress (one row per user × room × media; `completed` sticky) and returns it.
    ///
    /// A save without a duration keeps the one already known: players report it only now and
    /// then, and forgetting it would drop `percent` from the answer. That save runs its own
    /// statement rather than binding a NULL length: sqlx 0.8's `Any` driver sends a NULL `f64`
    /// to PostgreSQL as `float4`, and a connection that cached the statement that way then
    /// refuses every real length ("incorrect binary data format in bind parameter").
    pub(crate) async fn save_progress(&self, update: ProgressUpdate<'_>) -> Result<WatchProgress> {
        let _timer = self.time("save_progress");
        let user_id = update.user_id;
        let saved = self.upsert_progress(update).await?;
        self.trim_progress(user_id).await?;
        Ok(saved)
    }

    /// Keeps the user's newest [`PROGRESS_KEPT_PER_USER`] entries: a client names the media it
    /// saves progress for, so without a bound one user could grow the table without end. Rows
    /// tied with the last one kept stay too.
    async fn trim_progress(&self, user_id: UserId) -> Result<()> {
        sqlx::query(
            "DELETE FROM watch_progress WHERE user_id = $1 AND updated_at_ms < \
             (SELECT updated_at_ms FROM watch_progress WHERE user_id = $1 \
              ORDER BY updated_at_ms DESC LIMIT 1 OFFSET $2)",
        )
        .bind(user_id.to_string())
        .bind(i64::try_from(PROGRESS_KEPT_PER_USER - 1).unwrap_or(i64::MAX))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn upsert_progress(&self, update: ProgressUpdate<'_>) -> Result<WatchProgress> {
        let sql = match update.duration_s {
            Some(_) => save_progress_sql!(
                ", duration_s",
                ", $11",
                "duration_s = excluded.duration_s,",
                ""
            ),
            None => save_progress_sql!(
                "",
                "",
                "",
                " OR (watch_progress.duration_s > 0 \
                 AND excluded.position_s >= watch_progress.duration_s * $11)"
            ),
        };
        let query = sqlx::query(sql)
            .bind(update.user_id.to_string())
            .bind(update.room_code.as_str().to_owned());
        let query = rows::bind_media(query, update.media)
            .bind(update.position_s.get())
            .bind(flag(update.completed))
            .bind(int(update.now_ms));
        let query = match update.duration_s {
            Some(duration) => query.bind(duration.get()),
            None => query.bind(COMPLETED_AT_SHARE),
        };
        let row = query.fetch_one(&self.pool).await?;
        rows::progress(&row)
    }

    /// A user's progress on one piece of media in a room.
    pub(crate) async fn progress(
        &self,
        user_id: UserId,
        code: RoomCode,
        media: &MediaRef,
    ) -> Result<Option<WatchProgress>> {
        let _timer = self.time("progress");
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
        let _timer = self.time("progress_list");
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
