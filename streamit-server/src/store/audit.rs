//! Each room's audit log of host actions, capped at the newest `AUDIT_KEPT_PER_ROOM`.
//!
//! Actor and subject are plain ids, not references: the log outlives a guest the retention
//! purge removes while the room still stands.

use streamit_protocol::v1::{AUDIT_KEPT_PER_ROOM, AuditEvent, RoomCode};

use super::rows::{self, int, wire};
use super::{Result, Store};

impl Store {
    /// Appends `event` to the room's log and drops what is past the cap.
    pub(crate) async fn record_audit(&self, room: RoomCode, event: &AuditEvent) -> Result<()> {
        let _timer = self.time("record_audit");
        sqlx::query(
            "INSERT INTO audit_events (room_code, at_ms, action, actor_id, subject_id) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(room.as_str().to_owned())
        .bind(int(event.at_ms))
        .bind(wire(event.action))
        .bind(event.actor.to_string())
        .bind(event.subject.map(|s| s.to_string()))
        .execute(&self.pool)
        .await?;
        sqlx::query(
            "DELETE FROM audit_events WHERE room_code = $1 AND id < \
             (SELECT id FROM audit_events WHERE room_code = $1 ORDER BY id DESC LIMIT 1 OFFSET $2)",
        )
        .bind(room.as_str().to_owned())
        .bind(i64::try_from(AUDIT_KEPT_PER_ROOM - 1).unwrap_or(i64::MAX))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The room's log, oldest first (writes may land out of order; their times do not).
    pub(crate) async fn audit_log(&self, room: RoomCode) -> Result<Vec<AuditEvent>> {
        let _timer = self.time("audit_log");
        let found = sqlx::query(
            "SELECT at_ms, action, actor_id, subject_id FROM audit_events \
             WHERE room_code = $1 ORDER BY at_ms, id",
        )
        .bind(room.as_str().to_owned())
        .fetch_all(&self.pool)
        .await?;
        found
            .iter()
            .map(|row| {
                Ok(AuditEvent::new(
                    rows::get_u64(row, "at_ms")?,
                    rows::get_wire(row, "action")?,
                    rows::get_user_id(row, "actor_id")?,
                    rows::get_opt_user_id(row, "subject_id")?,
                ))
            })
            .collect()
    }
}
