//! What the store forgets after the retention period: ended rooms (with their members, chat,
//! bans and progress), guests nobody can sign in as any more, ended logins and expired refresh
//! tokens. Registered accounts are never purged.

use streamit_protocol::v1::RoomState;

use super::rows::{int, wire};
use super::{Result, Store};

/// Rows one purge removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Purged {
    pub(crate) rooms: u64,
    pub(crate) guests: u64,
    pub(crate) logins: u64,
    pub(crate) refresh_tokens: u64,
}

impl Purged {
    pub(crate) fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

impl Store {
    /// Removes what ended before `cutoff_ms`. Rooms go first: a guest who hosted one can go
    /// only once the room has. A purged guest's chat lines and memberships go with it.
    pub(crate) async fn purge(&self, cutoff_ms: u64) -> Result<Purged> {
        let _timer = self.time("purge");
        let rooms = sqlx::query("DELETE FROM rooms WHERE state IN ($1, $2) AND ended_at_ms < $3")
            .bind(wire(RoomState::Expired))
            .bind(wire(RoomState::Deleted))
            .bind(int(cutoff_ms))
            .execute(&self.pool)
            .await?
            .rows_affected();
        // A guest goes once nobody could sign in as it for the whole retention period: every
        // login revoked, or every refresh token expired, before the cutoff. (A token spent by a
        // refresh still counts until it expires, so a refresh in progress keeps its guest.)
        let guests = sqlx::query(
            "DELETE FROM users WHERE is_guest = 1 AND created_at_ms < $1 \
             AND NOT EXISTS (SELECT 1 FROM rooms r WHERE r.host_id = users.id) \
             AND NOT EXISTS (SELECT 1 FROM logins l JOIN refresh_tokens t ON t.login_id = l.id \
                 WHERE l.user_id = users.id \
                 AND (l.revoked_at_ms IS NULL OR l.revoked_at_ms >= $1) \
                 AND t.expires_at_ms >= $1)",
        )
        .bind(int(cutoff_ms))
        .execute(&self.pool)
        .await?
        .rows_affected();
        // Revoked ones, and ones whose every refresh token had expired by then: nobody can
        // use them again, and each sign-in would otherwise leave a row for ever.
        let logins = sqlx::query(
            "DELETE FROM logins WHERE revoked_at_ms < $1 \
             OR (created_at_ms < $1 AND NOT EXISTS (SELECT 1 FROM refresh_tokens t \
                 WHERE t.login_id = logins.id AND t.expires_at_ms >= $1))",
        )
        .bind(int(cutoff_ms))
        .execute(&self.pool)
        .await?
        .rows_affected();
        let refresh_tokens = sqlx::query("DELETE FROM refresh_tokens WHERE expires_at_ms < $1")
            .bind(int(cutoff_ms))
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(Purged {
            rooms,
            guests,
            logins,
            refresh_tokens,
        })
    }
}
