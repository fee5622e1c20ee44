//! Who is in a room: memberships, join requests and their approval, bans.

use sqlx::Row as _;
use streamit_protocol::v1::{
    MemberStatus, Participant, ParticipantsCursor, ParticipantsPage, RoomCode, UserId, UserRef,
};
use uuid::Uuid;

use super::rows::{self, int, wire};
use super::{Admission, Membership, Result, Store};

/// Every column `rows::participant` reads, and `joined_at_ms` for [`listed`]'s order, for one
/// room (`$1`); a query appends its filter and order.
macro_rules! participant_select {
    () => {
        "SELECT p.user_id, u.display_name, p.status, p.muted_until_ms, p.joined_at_ms, \
         CASE WHEN p.user_id = r.host_id THEN 1 ELSE 0 END AS is_host \
         FROM participants p JOIN users u ON u.id = p.user_id JOIN rooms r ON r.code = p.room_code \
         WHERE p.room_code = $1"
    };
}

/// One user's membership of one room: `$1` the room, `$2` the user.
const MEMBERSHIP: &str =
    "SELECT status, muted_until_ms FROM participants WHERE room_code = $1 AND user_id = $2";

impl Store {
    /// Everything a socket's admission checks need (the token's login, room state and host,
    /// ban, membership, the user's name) in one read: a socket opens with one round trip to
    /// the database instead of five. `None` when the room does not exist.
    pub(crate) async fn admission(
        &self,
        code: RoomCode,
        user_id: UserId,
        login_id: Uuid,
    ) -> Result<Option<Admission>> {
        let _timer = self.time("admission");
        let mut conn = self.conn(&self.admissions).await?;
        let row = sqlx::query(
            "SELECT r.state, r.host_id, r.members_version, \
             CASE WHEN EXISTS (SELECT 1 FROM logins l WHERE l.id = $3 AND l.revoked_at_ms IS NULL) \
             THEN 1 ELSE 0 END AS login_active, \
             CASE WHEN EXISTS (SELECT 1 FROM bans b WHERE b.room_code = r.code AND b.user_id = $2) \
             THEN 1 ELSE 0 END AS banned, \
             p.status, p.muted_until_ms, u.display_name \
             FROM rooms r \
             LEFT JOIN participants p ON p.room_code = r.code AND p.user_id = $2 \
             LEFT JOIN users u ON u.id = $2 \
             WHERE r.code = $1",
        )
        .bind(code.as_str().to_owned())
        .bind(user_id.to_string())
        .bind(login_id.to_string())
        .fetch_optional(&mut *conn)
        .await;
        let Some(row) = conn.settle(row)? else {
            return Ok(None);
        };
        let status: Option<String> = row.try_get("status")?;
        let name: Option<String> = row.try_get("display_name")?;
        Ok(Some(Admission {
            login_active: rows::get_bool(&row, "login_active")?,
            state: rows::get_wire(&row, "state")?,
            host_id: rows::get_user_id(&row, "host_id")?,
            banned: rows::get_bool(&row, "banned")?,
            membership: status.is_some().then(|| membership(&row)).transpose()?,
            user: name
                .is_some()
                .then(|| rows::get_display_name(&row, "display_name"))
                .transpose()?
                .map(|n| UserRef::new(user_id, n)),
            members_version: rows::get_u64(&row, "members_version")?,
        }))
    }

    /// A user's membership of a room.
    pub(crate) async fn membership(
        &self,
        code: RoomCode,
        user_id: UserId,
    ) -> Result<Option<Membership>> {
        let _timer = self.time("membership");
        let row = sqlx::query(MEMBERSHIP)
            .bind(code.as_str().to_owned())
            .bind(user_id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(membership).transpose()
    }

    /// Adds a membership with `status` unless one exists; returns the membership as it now is
    /// (an existing one is left as it was, so joining is idempotent and, joining again, leaves
    /// `members_version` alone).
    pub(crate) async fn ensure_membership(
        &self,
        code: RoomCode,
        user_id: UserId,
        status: MemberStatus,
        now_ms: u64,
    ) -> Result<Membership> {
        let _timer = self.time("ensure_membership");
        let mut tx = self.pool.begin().await?;
        let inserted = sqlx::query(
            "INSERT INTO participants (room_code, user_id, status, joined_at_ms) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (room_code, user_id) DO NOTHING RETURNING status, muted_until_ms",
        )
        .bind(code.as_str().to_owned())
        .bind(user_id.to_string())
        .bind(wire(status))
        .bind(int(now_ms))
        .fetch_optional(&mut *tx)
        .await?;
        let row = match inserted {
            Some(row) => {
                members_changed(&mut tx, code).await?;
                row
            }
            // Someone else's insert won (the same user joining twice at once): theirs stands.
            None => {
                sqlx::query(MEMBERSHIP)
                    .bind(code.as_str().to_owned())
                    .bind(user_id.to_string())
                    .fetch_one(&mut *tx)
                    .await?
            }
        };
        tx.commit().await?;
        membership(&row)
    }

    /// Everyone in the room, approved and pending, host first then by join time; `online`
    /// false (presence is the real-time layer's).
    pub(crate) async fn participants(&self, code: RoomCode) -> Result<Vec<Participant>> {
        let _timer = self.time("participants");
        let found = sqlx::query(participant_select!())
            .bind(code.as_str().to_owned())
            .fetch_all(&self.pool)
            .await?;
        listed(&found)
    }

    /// The participants a snapshot lists, as [`Store::participants`] orders them, or `None`
    /// when the room has `many` or more: its snapshots then list who is online instead
    /// (protocol 6.11). Reads at most `many` rows, in the primary key's order, so a joiner of
    /// a room of thousands of members costs the store what one of a room of `many` does.
    pub(crate) async fn participants_below(
        &self,
        code: RoomCode,
        many: usize,
    ) -> Result<Option<Vec<Participant>>> {
        let _timer = self.time("participants_below");
        let found = sqlx::query(concat!(
            participant_select!(),
            " ORDER BY p.user_id LIMIT $2"
        ))
        .bind(code.as_str().to_owned())
        .bind(int(many as u64))
        .fetch_all(&self.pool)
        .await?;
        if found.len() >= many {
            return Ok(None);
        }
        listed(&found).map(Some)
    }

    /// Up to `limit` approved members after user `after` (from the first without it), by user
    /// id, and where the next page starts when more follow.
    pub(crate) async fn participants_page(
        &self,
        code: RoomCode,
        limit: u8,
        after: Option<UserId>,
    ) -> Result<ParticipantsPage> {
        let _timer = self.time("participants_page");
        // One row more than the page says whether another page follows.
        let found = sqlx::query(concat!(
            participant_select!(),
            " AND p.status = $2 AND p.user_id > $3 ORDER BY p.user_id LIMIT $4"
        ))
        .bind(code.as_str().to_owned())
        .bind(wire(MemberStatus::Approved))
        .bind(after.map(|user| user.to_string()).unwrap_or_default())
        .bind(i64::from(limit) + 1)
        .fetch_all(&self.pool)
        .await?;
        let mut page = found
            .iter()
            .map(rows::participant)
            .collect::<Result<Vec<_>>>()?;
        let next = (page.len() > usize::from(limit)).then(|| {
            page.truncate(usize::from(limit));
            page.last()
                .map(|last| ParticipantsCursor::after(last.user.id))
        });
        Ok(ParticipantsPage::new(page, next.flatten()))
    }

    /// Pending members, oldest request first.
    pub(crate) async fn pending(&self, code: RoomCode) -> Result<Vec<Participant>> {
        let _timer = self.time("pending");
        let found = sqlx::query(concat!(
            participant_select!(),
            " AND p.status = $2 ORDER BY p.joined_at_ms, p.user_id"
        ))
        .bind(code.as_str().to_owned())
        .bind(wire(MemberStatus::Pending))
        .fetch_all(&self.pool)
        .await?;
        found.iter().map(rows::participant).collect()
    }

    /// How many join requests wait for the room's host.
    pub(crate) async fn pending_count(&self, code: RoomCode) -> Result<u64> {
        let _timer = self.time("pending_count");
        let count: i64 = sqlx::query(
            "SELECT COUNT(*) AS n FROM participants WHERE room_code = $1 AND status = $2",
        )
        .bind(code.as_str().to_owned())
        .bind(wire(MemberStatus::Pending))
        .fetch_one(&self.pool)
        .await?
        .try_get("n")?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    /// Turns a pending membership into an approved one; `None` when it was not pending.
    pub(crate) async fn approve(
        &self,
        code: RoomCode,
        user_id: UserId,
    ) -> Result<Option<Participant>> {
        let _timer = self.time("approve");
        let mut tx = self.pool.begin().await?;
        let approved = sqlx::query(
            "UPDATE participants SET status = $3 WHERE room_code = $1 AND user_id = $2 AND status = $4 \
             RETURNING user_id",
        )
        .bind(code.as_str().to_owned())
        .bind(user_id.to_string())
        .bind(wire(MemberStatus::Approved))
        .bind(wire(MemberStatus::Pending))
        .fetch_optional(&mut *tx)
        .await?;
        if approved.is_none() {
            return Ok(None);
        }
        members_changed(&mut tx, code).await?;
        let row = sqlx::query(concat!(participant_select!(), " AND p.user_id = $2"))
            .bind(code.as_str().to_owned())
            .bind(user_id.to_string())
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        rows::participant(&row).map(Some)
    }

    /// Removes a pending membership; false when it was not pending.
    pub(crate) async fn deny(&self, code: RoomCode, user_id: UserId) -> Result<bool> {
        let _timer = self.time("deny");
        let mut tx = self.pool.begin().await?;
        let deleted = sqlx::query(
            "DELETE FROM participants WHERE room_code = $1 AND user_id = $2 AND status = $3",
        )
        .bind(code.as_str().to_owned())
        .bind(user_id.to_string())
        .bind(wire(MemberStatus::Pending))
        .execute(&mut *tx)
        .await?;
        let denied = deleted.rows_affected() > 0;
        if denied {
            members_changed(&mut tx, code).await?;
        }
        tx.commit().await?;
        Ok(denied)
    }

    /// Whether the user is banned from the room.
    pub(crate) async fn is_banned(&self, code: RoomCode, user_id: UserId) -> Result<bool> {
        let _timer = self.time("is_banned");
        let ban = sqlx::query("SELECT user_id FROM bans WHERE room_code = $1 AND user_id = $2")
            .bind(code.as_str().to_owned())
            .bind(user_id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        Ok(ban.is_some())
    }
}

/// Participants from rows of `participant_select!`, host first, then in joining order (by
/// user id among those who joined in the same ms): sorted here rather than by the query, so a
/// read that stops after a number of rows can follow the primary key's order.
fn listed(found: &[sqlx::any::AnyRow]) -> Result<Vec<Participant>> {
    let mut listed = found
        .iter()
        .map(|row| Ok((rows::get_u64(row, "joined_at_ms")?, rows::participant(row)?)))
        .collect::<Result<Vec<_>>>()?;
    listed.sort_by(|(a_at, a), (b_at, b)| {
        (b.is_host.cmp(&a.is_host))
            .then(a_at.cmp(b_at))
            .then(a.user.id.cmp(&b.user.id))
    });
    Ok(listed
        .into_iter()
        .map(|(_, participant)| participant)
        .collect())
}

fn membership(row: &sqlx::any::AnyRow) -> Result<Membership> {
    Ok(Membership {
        status: rows::get_wire(row, "status")?,
        muted_until_ms: rows::get_opt_u64(row, "muted_until_ms")?,
    })
}

/// Raises the room's `members_version`, inside the transaction that changed its participant
/// list, so nobody sees the change without the new version.
pub(super) async fn members_changed(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    code: RoomCode,
) -> Result<()> {
    sqlx::query("UPDATE rooms SET members_version = members_version + 1 WHERE code = $1")
        .bind(code.as_str().to_owned())
        .execute(&mut **tx)
        .await?;
    Ok(())
}
