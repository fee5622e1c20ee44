//! What the real-time layer persists: the counters' crash-safe ceilings, write-behind playback,
//! chat history, moderation (host, mute, kick, ban) and recovery after a restart.
//!
//! A live room's actor counts broadcast `seq` and playback `version` in memory and writes them
//! behind. To keep both from ever going back across a crash, it first reserves a block: the
//! stored ceilings move ahead and the actor never counts past them, so whatever a dead actor
//! sent is below the ceilings the next one starts from. Every statement here keeps
//! `seq_ceiling >= seq` and `version_ceiling >= playback_version`.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Connection as _, Row as _};
use streamit_protocol::v1::{
    CHAT_HISTORY_KEPT, ChatMessage, ChatText, MediaRef, MessageId, Playback, RoomCode, RoomState,
    UserId, UserRef,
};

use super::members::members_changed;
use super::rows::{self, flag, int, wire};
use super::{Result, Store};

/// Every column `chat_message` reads, newest first; a query appends its `LIMIT`.
macro_rules! recent_chat_select {
    () => {
        "SELECT m.id, m.user_id, u.display_name, m.text, m.sent_at_ms \
         FROM chat_messages m JOIN users u ON u.id = m.user_id \
         WHERE m.room_code = $1 ORDER BY m.sent_at_ms DESC, m.id DESC"
    };
}

/// A room owner's term in the store, a fencing token: each owner takes a new one as it loads
/// the room and names it in the writes it makes while live, so once a newer owner has taken
/// the room, a superseded one (a node paused past its lease, cut off from Redis) changes
/// nothing. Redis's leases keep two owners from acting at once; the store's terms make sure,
/// whatever Redis forgot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Term(pub(super) i64);

/// Whether a write naming a [`Term`] took.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use = "a superseded owner must stop"]
pub(crate) enum Fenced {
    Written,
    /// A newer owner holds the room (or it is gone): nothing was written.
    Superseded,
}

impl Fenced {
    pub(super) fn from_rows(rows: u64) -> Self {
        if rows == 0 {
            Self::Superseded
        } else {
            Self::Written
        }
    }
}

impl Store {
    /// Takes the room's next owner term, superseding every earlier owner's; `None` when there
    /// is no such room.
    pub(crate) async fn take_term(&self, code: RoomCode) -> Result<Option<Term>> {
        let _timer = self.time("take_term");
        let row = sqlx::query(
            "UPDATE rooms SET owner_term = owner_term + 1 WHERE code = $1 RETURNING owner_term",
        )
        .bind(code.as_str().to_owned())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| Ok(Term(row.try_get("owner_term")?)))
            .transpose()
    }

    /// Reserves `block` more `seq` and `version` values for a room's actor as it starts: returns
    /// where to continue counting from and moves the ceilings `block` ahead, in one statement so
    /// two actors never get overlapping ranges. The actor counts no further than the ceilings,
    /// so after a crash the next reservation starts past anything ever broadcast. `None` when
    /// there is no such room.
    ///
    /// The start is the old ceiling, or the stored value should it ever be higher, so the
    /// invariant repairs itself instead of handing out a number already used.
    pub(crate) async fn reserve_counters(
        &self,
        code: RoomCode,
        block: u64,
    ) -> Result<Option<(u64, u64)>> {
        let _timer = self.time("reserve_counters");
        let row = sqlx::query(
            "UPDATE rooms SET \
             seq_ceiling = CASE WHEN seq_ceiling < seq THEN seq ELSE seq_ceiling END + $2, \
             version_ceiling = CASE WHEN version_ceiling < playback_version \
             THEN playback_version ELSE version_ceiling END + $2 \
             WHERE code = $1 \
             RETURNING seq_ceiling - $2 AS seq_start, version_ceiling - $2 AS version_start",
        )
        .bind(code.as_str().to_owned())
        .bind(int(block))
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok((
                rows::get_u64(&row, "seq_start")?,
                rows::get_u64(&row, "version_start")?,
            ))
        })
        .transpose()
    }

    /// Raises a room's ceilings to at least these values, for an actor extending its block
    /// before it runs out; never lowers either, so a late or repeated call cannot undo a
    /// newer reservation.
    pub(crate) async fn raise_ceilings(
        &self,
        code: RoomCode,
        seq_ceiling: u64,
        version_ceiling: u64,
    ) -> Result<()> {
        let _timer = self.time("raise_ceilings");
        let mut conn = self.conn(&self.live_writes).await?;
        let raised = sqlx::query(
            "UPDATE rooms SET \
             seq_ceiling = CASE WHEN seq_ceiling < $2 THEN $2 ELSE seq_ceiling END, \
             version_ceiling = CASE WHEN version_ceiling < $3 THEN $3 ELSE version_ceiling END \
             WHERE code = $1",
        )
        .bind(code.as_str().to_owned())
        .bind(int(seq_ceiling))
        .bind(int(version_ceiling))
        .execute(&mut *conn)
        .await;
        conn.settle(raised).map(drop)
    }

    /// Writes a room's playback and last `seq` behind the actor, so a snapshot after a restart
    /// shows where the room was.
    ///
    /// Playback never goes back: a write older than the stored `version` changes nothing (the
    /// last words of an owner that lost the room, written after the next owner's; a new owner
    /// always counts from above the old one's ceiling).
    ///
    /// With `settle` (a graceful stop: nothing more will be counted) the ceilings come down to
    /// exactly these values, so the next actor continues without a gap, but only if they are
    /// still the `(seq_ceiling, version_ceiling)` given: a newer actor that already reserved
    /// above them keeps its block. Otherwise the ceilings only rise when a value passed them,
    /// keeping them at or above what is stored.
    pub(crate) async fn save_playback(
        &self,
        code: RoomCode,
        term: Term,
        playback: &Playback,
        seq: u64,
        settle: Option<(u64, u64)>,
    ) -> Result<Fenced> {
        let _timer = self.time("save_playback");
        let (settling, held) = match settle {
            Some(held) => (true, held),
            None => (false, (0, 0)),
        };
        let mut conn = self.conn(&self.live_writes).await?;
        let written = sqlx::query(
            "UPDATE rooms SET playing = $2, position_ms = $3, rate = $4, \
             playback_updated_at_ms = $5, playback_version = $6, seq = $7, \
             seq_ceiling = CASE WHEN ($8 = 1 AND seq_ceiling = $9 AND version_ceiling = $10) \
             OR seq_ceiling < $7 THEN $7 ELSE seq_ceiling END, \
             version_ceiling = CASE WHEN ($8 = 1 AND seq_ceiling = $9 AND version_ceiling = $10) \
             OR version_ceiling < $6 THEN $6 ELSE version_ceiling END \
             WHERE code = $1 AND owner_term = $11 AND playback_version <= $6",
        )
        .bind(code.as_str().to_owned())
        .bind(flag(playback.playing))
        .bind(int(playback.position_ms.get()))
        .bind(playback.rate.get())
        .bind(int(playback.updated_at_ms))
        .bind(int(playback.version))
        .bind(int(seq))
        .bind(flag(settling))
        .bind(int(held.0))
        .bind(int(held.1))
        .bind(term.0)
        .execute(&mut *conn)
        .await;
        // Within one term versions only rise, so only a newer owner leaves the row unchanged.
        Ok(Fenced::from_rows(conn.settle(written)?.rows_affected()))
    }

    /// Stores a batch of chat lines in one transaction, then trims the room's history to the
    /// newest `CHAT_HISTORY_KEPT`, so the table stays bounded however long a room lives.
    ///
    /// A line already stored (same id) is skipped, so retrying a batch whose commit went
    /// unacknowledged duplicates nothing.
    pub(crate) async fn insert_chat(
        &self,
        code: RoomCode,
        term: Term,
        messages: &[ChatMessage],
    ) -> Result<Fenced> {
        let _timer = self.time("insert_chat");
        if messages.is_empty() {
            return Ok(Fenced::Written);
        }
        let mut conn = self.conn(&self.live_writes).await?;
        let stored = store_chat(&mut conn, code, term, messages).await;
        conn.settle(stored)
    }

    /// The newest `limit` chat lines of a room, oldest first (the order a client shows them),
    /// each with its author's current name, for the snapshot a joining socket receives.
    pub(crate) async fn recent_chat(
        &self,
        code: RoomCode,
        limit: usize,
    ) -> Result<Vec<ChatMessage>> {
        let _timer = self.time("recent_chat");
        let found = sqlx::query(concat!(recent_chat_select!(), " LIMIT $2"))
            .bind(code.as_str().to_owned())
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .fetch_all(&self.pool)
            .await?;
        found.iter().rev().map(chat_message).collect()
    }

    /// Changes a room's media and its embed URL, picked by the host while live, so a snapshot
    /// after a restart shows it.
    pub(crate) async fn set_media(
        &self,
        code: RoomCode,
        media: &MediaRef,
        embed_url: &str,
    ) -> Result<()> {
        let _timer = self.time("set_media");
        let query = sqlx::query(
            "UPDATE rooms SET media_provider = $2, media_kind = $3, media_id = $4, \
             media_season = $5, media_episode = $6, embed_url = $7 WHERE code = $1",
        )
        .bind(code.as_str().to_owned());
        rows::bind_media(query, media)
            .bind(embed_url.to_owned())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Turns a room's chat on or off, as the host decided, so it stays so across restarts.
    pub(crate) async fn set_chat_enabled(&self, code: RoomCode, enabled: bool) -> Result<()> {
        let _timer = self.time("set_chat_enabled");
        sqlx::query("UPDATE rooms SET chat_enabled = $2 WHERE code = $1")
            .bind(code.as_str().to_owned())
            .bind(flag(enabled))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Hands a room to a new host, who must already be an approved member (the caller checks).
    /// Memberships stay as they are: the old host remains an approved member, and `is_host`
    /// follows `rooms.host_id`.
    pub(crate) async fn set_host(&self, code: RoomCode, host: UserId) -> Result<()> {
        let _timer = self.time("set_host");
        sqlx::query(
            "UPDATE rooms SET host_id = $2, members_version = members_version + 1 WHERE code = $1",
        )
        .bind(code.as_str().to_owned())
        .bind(host.to_string())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Mutes a member until a server time (`None` unmutes), kept on the membership so leaving
    /// and rejoining does not lift it.
    pub(crate) async fn set_muted_until(
        &self,
        code: RoomCode,
        user: UserId,
        until_ms: Option<u64>,
    ) -> Result<()> {
        let _timer = self.time("set_muted_until");
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE participants SET muted_until_ms = $3 WHERE room_code = $1 AND user_id = $2",
        )
        .bind(code.as_str().to_owned())
        .bind(user.to_string())
        .bind(until_ms.map(int))
        .execute(&mut *tx)
        .await?;
        members_changed(&mut tx, code).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Removes a membership (a kick): the user must join again, through the room's entry mode.
    pub(crate) async fn remove_member(&self, code: RoomCode, user: UserId) -> Result<()> {
        let _timer = self.time("remove_member");
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM participants WHERE room_code = $1 AND user_id = $2")
            .bind(code.as_str().to_owned())
            .bind(user.to_string())
            .execute(&mut *tx)
            .await?;
        members_changed(&mut tx, code).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Bans a user and removes their membership in one transaction, so nobody sees them banned
    /// yet still a member. Banning twice keeps the first ban's time.
    pub(crate) async fn ban(&self, code: RoomCode, user: UserId, now_ms: u64) -> Result<()> {
        let _timer = self.time("ban");
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO bans (room_code, user_id, banned_at_ms) VALUES ($1, $2, $3) \
             ON CONFLICT (room_code, user_id) DO NOTHING",
        )
        .bind(code.as_str().to_owned())
        .bind(user.to_string())
        .bind(int(now_ms))
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM participants WHERE room_code = $1 AND user_id = $2")
            .bind(code.as_str().to_owned())
            .bind(user.to_string())
            .execute(&mut *tx)
            .await?;
        members_changed(&mut tx, code).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Called once when a single-node server starts: no socket survived the restart, so every
    /// room's presence is reset, and every `LIVE` room lost its connected host with the process
    /// that died, so it moves to `GRACE` until `deadline_ms` (rooms already in `GRACE` keep
    /// their deadline). Returns the codes moved to `GRACE`, sorted, for the caller to schedule.
    pub(crate) async fn recover_after_restart(&self, deadline_ms: u64) -> Result<Vec<RoomCode>> {
        let _timer = self.time("recover_after_restart");
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE rooms SET viewers = 0, host_connected = 0 \
             WHERE viewers <> 0 OR host_connected <> 0",
        )
        .execute(&mut *tx)
        .await?;
        let moved = sqlx::query(
            "UPDATE rooms SET state = $2, grace_deadline_ms = $3 WHERE state = $1 RETURNING code",
        )
        .bind(wire(RoomState::Live))
        .bind(wire(RoomState::Grace))
        .bind(int(deadline_ms))
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        let mut codes = moved
            .iter()
            .map(|row| rows::get_room_code(row, "code"))
            .collect::<Result<Vec<_>>>()?;
        codes.sort_unstable();
        Ok(codes)
    }

    /// Every `LIVE` room, for the sweep that finds rooms whose owner node died.
    pub(crate) async fn live_rooms(&self) -> Result<Vec<RoomCode>> {
        let _timer = self.time("live_rooms");
        let found = sqlx::query("SELECT code FROM rooms WHERE state = $1 ORDER BY code")
            .bind(wire(RoomState::Live))
            .fetch_all(&self.pool)
            .await?;
        found
            .iter()
            .map(|row| rows::get_room_code(row, "code"))
            .collect()
    }

    /// A `LIVE` room whose owner node went without a word: nobody is connected to it any more,
    /// so it goes into `GRACE` until `deadline_ms`, as after a restart. Returns whether it did
    /// (a room no longer `LIVE` is left alone).
    pub(crate) async fn orphaned(&self, code: RoomCode, deadline_ms: u64) -> Result<bool> {
        let _timer = self.time("orphaned");
        let moved = sqlx::query(
            "UPDATE rooms SET state = $2, grace_deadline_ms = $3, viewers = 0, \
             host_connected = 0 WHERE code = $1 AND state = $4",
        )
        .bind(code.as_str().to_owned())
        .bind(wire(RoomState::Grace))
        .bind(int(deadline_ms))
        .bind(wire(RoomState::Live))
        .execute(&self.pool)
        .await?;
        Ok(moved.rows_affected() == 1)
    }

    /// `GRACE` rooms whose deadline has come (`<= now_ms`), earliest first, for the sweeper to
    /// expire; served by the `(state, grace_deadline_ms)` index.
    pub(crate) async fn rooms_past_deadline(&self, now_ms: u64) -> Result<Vec<RoomCode>> {
        let _timer = self.time("rooms_past_deadline");
        let found = sqlx::query(
            "SELECT code FROM rooms WHERE state = $1 AND grace_deadline_ms <= $2 \
             ORDER BY grace_deadline_ms, code",
        )
        .bind(wire(RoomState::Grace))
        .bind(int(now_ms))
        .fetch_all(&self.pool)
        .await?;
        found
            .iter()
            .map(|row| rows::get_room_code(row, "code"))
            .collect()
    }
}

/// [`Store::insert_chat`]'s transaction, on the connection given.
async fn store_chat(
    conn: &mut AnyConnection,
    code: RoomCode,
    term: Term,
    messages: &[ChatMessage],
) -> sqlx::Result<Fenced> {
    let mut tx = conn.begin().await?;
    // Touching the room's row first holds it (PostgreSQL locks it; SQLite has one writer)
    // until the lines are in, so no newer owner takes the room in between.
    let holds = sqlx::query("UPDATE rooms SET owner_term = $2 WHERE code = $1 AND owner_term = $2")
        .bind(code.as_str().to_owned())
        .bind(term.0)
        .execute(&mut *tx)
        .await?;
    if holds.rows_affected() == 0 {
        return Ok(Fenced::Superseded);
    }
    for message in messages {
        sqlx::query(
            "INSERT INTO chat_messages (id, room_code, user_id, text, sent_at_ms) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING",
        )
        .bind(message.id.to_string())
        .bind(code.as_str().to_owned())
        .bind(message.user.id.to_string())
        .bind(message.text.as_str().to_owned())
        .bind(int(message.sent_at_ms))
        .execute(&mut *tx)
        .await?;
    }
    // Trimming after every batch keeps a room's rows near the limit, so the `NOT IN` list
    // and the rows it scans stay small.
    sqlx::query(
        "DELETE FROM chat_messages WHERE room_code = $1 AND id NOT IN \
         (SELECT id FROM chat_messages WHERE room_code = $1 \
         ORDER BY sent_at_ms DESC, id DESC LIMIT $2)",
    )
    .bind(code.as_str().to_owned())
    .bind(i64::try_from(CHAT_HISTORY_KEPT).unwrap_or(i64::MAX))
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Fenced::Written)
}

/// A chat line from the columns of `recent_chat_select!`.
fn chat_message(row: &AnyRow) -> Result<ChatMessage> {
    let name = rows::get_display_name(row, "display_name")?;
    Ok(ChatMessage::new(
        rows::get_parsed(row, "id", str::parse::<MessageId>)?,
        UserRef::new(rows::get_user_id(row, "user_id")?, name),
        // Lossy: a line stored before chat refused direction changes must not fail the snapshot.
        rows::get_parsed(row, "text", ChatText::new_lossy)?,
        rows::get_u64(row, "sent_at_ms")?,
    ))
}
