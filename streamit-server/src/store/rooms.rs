//! Rooms: creation, lookup, the lifecycle compare-and-set, presence and the public listing.

use sqlx::Row;
use streamit_protocol::v1::{
    MemberStatus, PublicRoom, PublicRoomsCursor, PublicRoomsResponse, Room, RoomCode, RoomState,
    UserId,
};

use super::accounts::conflict_if_taken;
use super::live::{Fenced, Term};
use super::rows::{self, episode_part, flag, int, wire};
use super::{NewRoom, Result, RoomRecord, Store};

/// Every column `rows::room` and `rows::playback` read, with the host's name; a query appends
/// its `WHERE`.
macro_rules! room_select {
    () => {
        "SELECT r.code, r.name, r.host_id, h.display_name AS host_name, r.state, r.is_private, \
         r.entry_mode, r.password_hash, r.chat_enabled, r.media_provider, r.media_kind, \
         r.media_id, r.media_season, r.media_episode, r.embed_url, r.viewers, r.created_at_ms, \
         r.grace_deadline_ms, r.playing, r.position_ms, r.rate, r.playback_updated_at_ms, \
         r.playback_version, r.seq \
         FROM rooms r JOIN users h ON h.id = r.host_id"
    };
}

/// Which rooms the public listing shows; shared by the page and its total so they agree.
macro_rules! listed {
    () => {
        " WHERE r.state = $1 AND r.is_private = 0 AND r.host_connected = 1"
    };
}

/// How many states a room can be in: `transition_room` always binds this many, so its
/// statement is one text whatever `from` holds.
const STATES: usize = crate::lifecycle::STATES.len();

impl Store {
    /// How many rooms are in each lifecycle state, for `/metrics`.
    pub(crate) async fn rooms_by_state(&self) -> Result<Vec<(RoomState, u64)>> {
        let _timer = self.time("rooms_by_state");
        let found = sqlx::query("SELECT state, COUNT(*) AS n FROM rooms GROUP BY state")
            .fetch_all(&self.pool)
            .await?;
        found
            .iter()
            .map(|row| Ok((rows::get_wire(row, "state")?, rows::get_u64(row, "n")?)))
            .collect()
    }

    /// How many rooms `host` hosts that have not ended (created, live or in grace).
    pub(crate) async fn open_rooms_hosted_by(&self, host: UserId) -> Result<u64> {
        let _timer = self.time("open_rooms_hosted_by");
        let count: i64 = sqlx::query(
            "SELECT COUNT(*) AS n FROM rooms WHERE host_id = $1 AND state IN ($2, $3, $4)",
        )
        .bind(host.to_string())
        .bind(wire(RoomState::Created))
        .bind(wire(RoomState::Live))
        .bind(wire(RoomState::Grace))
        .fetch_one(&self.pool)
        .await?
        .try_get("n")?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    /// Creates a room and its host's approved membership in one transaction; `Conflict` when
    /// the code is taken. Playback starts paused at 0, version 0; `seq` starts at 0.
    pub(crate) async fn create_room(&self, room: NewRoom) -> Result<Room> {
        let _timer = self.time("create_room");
        let media = room.media.as_ref();
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO rooms (code, name, host_id, state, is_private, entry_mode, password_hash, \
             chat_enabled, media_provider, media_kind, media_id, media_season, media_episode, \
             embed_url, created_at_ms, playback_updated_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15)",
        )
        .bind(room.code.as_str().to_owned())
        .bind(room.name.as_str().to_owned())
        .bind(room.host_id.to_string())
        .bind(wire(RoomState::Created))
        .bind(flag(room.is_private))
        .bind(wire(room.entry_mode))
        .bind(room.password_hash)
        .bind(flag(room.chat_enabled))
        .bind(media.map(|m| m.provider().as_str()))
        .bind(media.map(|m| m.kind().as_str()))
        .bind(media.map(|m| m.id().to_owned()))
        .bind(episode_part(media.and_then(|m| m.season())))
        .bind(episode_part(media.and_then(|m| m.episode())))
        .bind(room.embed_url)
        .bind(int(room.created_at_ms))
        .execute(&mut *tx)
        .await
        .map_err(conflict_if_taken)?;
        sqlx::query("INSERT INTO participants (room_code, user_id, status, joined_at_ms) VALUES ($1, $2, $3, $4)")
            .bind(room.code.as_str().to_owned())
            .bind(room.host_id.to_string())
            .bind(wire(MemberStatus::Approved))
            .bind(int(room.created_at_ms))
            .execute(&mut *tx)
            .await?;
        let row = sqlx::query(concat!(room_select!(), " WHERE r.code = $1"))
            .bind(room.code.as_str().to_owned())
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        rows::room(&row)
    }

    /// A room with its private parts; `viewers` as stored.
    pub(crate) async fn room(&self, code: RoomCode) -> Result<Option<RoomRecord>> {
        let _timer = self.time("room");
        let row = sqlx::query(concat!(room_select!(), " WHERE r.code = $1"))
            .bind(code.as_str().to_owned())
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(RoomRecord {
            room: rows::room(&row)?,
            password_hash: row.try_get("password_hash")?,
            playback: rows::playback(&row)?,
            seq: rows::get_u64(&row, "seq")?,
        }))
    }

    /// Moves a room to `to` only if it is in one of `from` (a compare-and-set, safe when several
    /// nodes race), setting `grace_deadline_ms`; whether it moved. A room that ends records
    /// `now_ms` as its end, for the retention purge.
    pub(crate) async fn transition_room(
        &self,
        code: RoomCode,
        from: &[RoomState],
        to: RoomState,
        grace_deadline_ms: Option<u64>,
        now_ms: u64,
    ) -> Result<bool> {
        let _timer = self.time("transition_room");
        let Some(&first) = from.first() else {
            return Ok(false);
        };
        // Padding with a state already listed leaves the `IN` list's meaning unchanged.
        let mut allowed = [first; STATES];
        for (slot, state) in allowed.iter_mut().zip(from) {
            *slot = *state;
        }
        let ended_at_ms = to.is_closed().then_some(now_ms);
        let updated = sqlx::query(
            "UPDATE rooms SET state = $2, grace_deadline_ms = $3, ended_at_ms = $9 \
             WHERE code = $1 AND state IN ($4, $5, $6, $7, $8)",
        )
        .bind(code.as_str().to_owned())
        .bind(wire(to))
        .bind(grace_deadline_ms.map(int));
        let updated = allowed
            .into_iter()
            .fold(updated, |query, state| query.bind(wire(state)))
            .bind(ended_at_ms.map(int))
            .execute(&self.pool)
            .await?;
        Ok(updated.rows_affected() == 1)
    }

    /// Records live presence, written by the real-time layer: people connected now and
    /// whether the host is among them.
    pub(crate) async fn set_presence(
        &self,
        code: RoomCode,
        term: Term,
        viewers: u32,
        host_connected: bool,
    ) -> Result<Fenced> {
        let _timer = self.time("set_presence");
        let mut conn = self.conn(&self.live_writes).await?;
        let written = sqlx::query(
            "UPDATE rooms SET viewers = $2, host_connected = $3 WHERE code = $1 AND owner_term = $4",
        )
        .bind(code.as_str().to_owned())
        .bind(i64::from(viewers))
        .bind(flag(host_connected))
        .bind(term.0)
        .execute(&mut *conn)
        .await;
        Ok(Fenced::from_rows(conn.settle(written)?.rows_affected()))
    }

    /// `LIVE`, public rooms whose host is connected, most viewers first (newest first among
    /// equals), one page of them after `after` (from the top without it) and `offset` more, the
    /// total, and the cursor of the next page when there is one.
    ///
    /// The key `(viewers, created_at_ms, code)` is sorted descending in all three so "after" is
    /// one row-value comparison, read alike by SQLite and PostgreSQL. The first page starts
    /// after a key above every room's (`i64::MAX` viewers), so both kinds of page are one
    /// statement.
    pub(crate) async fn public_rooms(
        &self,
        limit: u8,
        offset: u32,
        after: Option<PublicRoomsCursor>,
    ) -> Result<PublicRoomsResponse> {
        let _timer = self.time("public_rooms");
        let (viewers, created_at_ms, code) = match after {
            Some(cursor) => (
                i64::from(cursor.viewers()),
                int(cursor.created_at_ms()),
                cursor.code().as_str().to_owned(),
            ),
            None => (i64::MAX, i64::MAX, String::new()),
        };
        // One row more than the page says whether another page follows.
        let mut page = sqlx::query(concat!(
            room_select!(),
            listed!(),
            " AND (r.viewers, r.created_at_ms, r.code) < ($2, $3, $4) \
             ORDER BY r.viewers DESC, r.created_at_ms DESC, r.code DESC LIMIT $5 OFFSET $6"
        ))
        .bind(wire(RoomState::Live))
        .bind(viewers)
        .bind(created_at_ms)
        .bind(code)
        .bind(i64::from(limit) + 1)
        .bind(i64::from(offset))
        .fetch_all(&self.pool)
        .await?;
        let more = page.len() > usize::from(limit);
        page.truncate(usize::from(limit));
        let total = sqlx::query(concat!("SELECT COUNT(*) AS total FROM rooms r", listed!()))
            .bind(wire(RoomState::Live))
            .fetch_one(&self.pool)
            .await?;
        let rooms = page
            .iter()
            .map(|row| rows::room(row).map(|room| PublicRoom::from_room(&room)))
            .collect::<Result<Vec<_>>>()?;
        let mut listing = PublicRoomsResponse::new(rooms, rows::get_u64(&total, "total")?);
        listing.next_cursor = listing
            .rooms
            .last()
            .filter(|_| more)
            .map(PublicRoomsCursor::after);
        Ok(listing)
    }
}
