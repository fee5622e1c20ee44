//! What the session knows about the room, shared between the task (which writes it) and the
//! [`RoomSession`](crate::RoomSession) handles (which read it), and the `seq` bookkeeping of
//! one socket.

use streamit_protocol::v1::{MUTED_FOREVER_MS, Playback, Room, RoomState, ServerEvent, You};

use super::clock::ClockSync;

/// The room as the last snapshot and the events since show it. Behind a `std` mutex: every
/// section is a few assignments, never held across an await.
#[derive(Debug, Default)]
pub(crate) struct State {
    pub(crate) room: Option<Room>,
    pub(crate) you: Option<You>,
    pub(crate) playback: Option<Playback>,
    pub(crate) clock: ClockSync,
    /// A socket is open and admitted.
    pub(crate) connected: bool,
    /// Rises with every admitted socket; a command is sent only on the socket it was
    /// accepted for.
    pub(crate) generation: u64,
    /// The task has stopped for good.
    pub(crate) ended: bool,
}

impl State {
    /// Keeps the room, the user's place and the playback current with a server event.
    pub(crate) fn apply(&mut self, event: &ServerEvent) {
        match event {
            ServerEvent::RoomSnapshot(snapshot) => {
                self.room = Some(snapshot.room.clone());
                self.you = Some(snapshot.you.clone());
                self.set_playback(snapshot.playback);
            }
            ServerEvent::PlaybackState(state) => self.set_playback(state.playback),
            ServerEvent::SyncCorrection(correction) => self.set_playback(correction.playback),
            ServerEvent::Error(error) => {
                if let Some(current) = error.current {
                    self.set_playback(current);
                }
            }
            ServerEvent::HostChanged(changed) => {
                if let Some(room) = &mut self.room {
                    room.host = changed.host.clone();
                }
                if let Some(you) = &mut self.you {
                    you.is_host = you.user.id == changed.host.id;
                }
            }
            ServerEvent::UserMuted(muted) => self.set_muted(
                muted.user.id,
                Some(muted.until_ms.unwrap_or(MUTED_FOREVER_MS)),
            ),
            ServerEvent::UserUnmuted(unmuted) => self.set_muted(unmuted.user.id, None),
            _ => self.apply_to_room(event),
        }
    }

    fn apply_to_room(&mut self, event: &ServerEvent) {
        let Some(room) = &mut self.room else { return };
        match event {
            ServerEvent::RoomUpdated(update) => {
                if let Some(name) = &update.name {
                    room.name = name.clone();
                }
                room.state = update.state.unwrap_or(room.state);
                room.is_private = update.is_private.unwrap_or(room.is_private);
                room.entry_mode = update.entry_mode.unwrap_or(room.entry_mode);
                room.chat_enabled = update.chat_enabled.unwrap_or(room.chat_enabled);
                room.viewers = update.viewers.unwrap_or(room.viewers);
                room.grace_deadline_ms = update.grace_deadline_ms.or(room.grace_deadline_ms);
            }
            ServerEvent::MediaChanged(changed) => {
                room.media = Some(changed.media.clone());
                room.embed_url = Some(changed.embed_url.clone());
            }
            ServerEvent::UserJoined(joined) => room.viewers = joined.viewers,
            ServerEvent::UserLeft(left) => room.viewers = left.viewers,
            ServerEvent::HostDisconnected(grace) => {
                room.state = RoomState::Grace;
                room.grace_deadline_ms = Some(grace.grace_deadline_ms);
            }
            ServerEvent::HostReconnected(_) => {
                room.state = RoomState::Live;
                room.grace_deadline_ms = None;
            }
            ServerEvent::RoomExpired(_) => room.state = RoomState::Expired,
            ServerEvent::RoomDeleted(_) => room.state = RoomState::Deleted,
            _ => {}
        }
    }

    /// Playback versions never go back, so an older state (a late reply) never wins.
    fn set_playback(&mut self, playback: Playback) {
        if self
            .playback
            .is_none_or(|current| playback.version >= current.version)
        {
            self.playback = Some(playback);
        }
    }

    fn set_muted(&mut self, user: streamit_protocol::v1::UserId, until_ms: Option<u64>) {
        if let Some(you) = self.you.as_mut().filter(|you| you.user.id == user) {
            you.muted_until_ms = until_ms;
        }
    }
}

/// Where a broadcast's `seq` falls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SeqCheck {
    /// The next one, or the first (no snapshot yet).
    InOrder,
    /// Already seen (it predates the snapshot): drop it.
    Stale,
    /// Some were missed; `resync` is true when a `RESYNC` should go out now (not already
    /// asked for).
    Gap { resync: bool },
}

/// One socket's `seq` bookkeeping.
#[derive(Debug, Default)]
pub(crate) struct Sequence {
    last: Option<u64>,
    resync_pending: bool,
}

impl Sequence {
    /// A snapshot reflects every broadcast up to its `seq`.
    pub(crate) fn snapshot(&mut self, seq: u64) {
        self.last = Some(seq);
        self.resync_pending = false;
    }

    pub(crate) fn broadcast(&mut self, seq: u64) -> SeqCheck {
        let Some(last) = self.last else {
            return SeqCheck::InOrder;
        };
        if seq <= last {
            return SeqCheck::Stale;
        }
        self.last = Some(seq);
        if seq == last + 1 {
            return SeqCheck::InOrder;
        }
        let resync = !self.resync_pending;
        self.resync_pending = true;
        SeqCheck::Gap { resync }
    }

    /// A `RESYNC` went out for another reason (the app lagged).
    pub(crate) fn resync_requested(&mut self) {
        self.resync_pending = true;
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use streamit_protocol::v1::ServerMessage;

    use super::*;

    const ME: &str = "00000000-0000-4000-8000-000000000001";
    const BO: &str = "00000000-0000-4000-8000-000000000002";

    fn event(kind: &str, data: serde_json::Value) -> ServerEvent {
        let frame = json!({"v": 1, "type": kind, "ts": 1, "data": data}).to_string();
        ServerMessage::decode(&frame).unwrap().event
    }

    fn playback(version: u64, position: u64) -> serde_json::Value {
        json!({"playing": true, "position_ms": position, "rate": 1.0, "updated_at_ms": 10, "version": version})
    }

    fn snapshot() -> ServerEvent {
        event(
            "ROOM_SNAPSHOT",
            json!({
                "room": {"code": "ABCD2345", "name": "R", "host": {"id": ME, "display_name": "me"},
                    "state": "LIVE", "is_private": false, "entry_mode": "OPEN", "chat_enabled": true,
                    "viewers": 1, "created_at_ms": 1},
                "you": {"user": {"id": ME, "display_name": "me"}, "is_host": true},
                "participants": [], "playback": playback(5, 0), "chat": [], "seq": 3
            }),
        )
    }

    #[test]
    fn playback_follows_every_source_and_never_goes_back() {
        let mut state = State::default();
        state.apply(&snapshot());
        let by = json!(ME);
        let mut newer = playback(6, 1_000);
        newer["cause"] = json!("SEEK");
        newer["by"] = by;
        state.apply(&event("PLAYBACK_STATE", newer));
        assert_eq!(state.playback.unwrap().position_ms.get(), 1_000);
        state.apply(&event(
            "SYNC_CORRECTION",
            json!({"playback": playback(5, 9), "drift_ms": 1}),
        ));
        assert_eq!(
            state.playback.unwrap().version,
            6,
            "an older version is ignored"
        );
        let conflict =
            json!({"code": "VERSION_CONFLICT", "message": "m", "current": playback(8, 2_000)});
        state.apply(&event("ERROR", conflict));
        assert_eq!(state.playback.unwrap().version, 8);
    }

    #[test]
    fn host_room_and_mute_changes_are_kept() {
        let mut state = State::default();
        state.apply(&snapshot());
        state.apply(&event(
            "HOST_CHANGED",
            json!({"host": {"id": BO, "display_name": "bo"}}),
        ));
        assert!(!state.you.as_ref().unwrap().is_host);
        assert_eq!(state.room.as_ref().unwrap().host.id.to_string(), BO);
        state.apply(&event(
            "ROOM_UPDATED",
            json!({"chat_enabled": false, "viewers": 4}),
        ));
        state.apply(&event("MEDIA_CHANGED", json!({"media": {"provider": "youtube", "kind": "video", "id": "abc"}, "embed_url": "u"})));
        let room = state.room.as_ref().unwrap();
        assert!(!room.chat_enabled);
        assert_eq!(room.viewers, 4);
        assert_eq!(room.embed_url.as_deref(), Some("u"));
        state.apply(&event(
            "USER_MUTED",
            json!({"user": {"id": ME, "display_name": "me"}}),
        ));
        assert_eq!(
            state.you.as_ref().unwrap().muted_until_ms,
            Some(MUTED_FOREVER_MS)
        );
        state.apply(&event(
            "USER_UNMUTED",
            json!({"user": {"id": ME, "display_name": "me"}}),
        ));
        assert_eq!(state.you.as_ref().unwrap().muted_until_ms, None);
        state.apply(&event(
            "HOST_DISCONNECTED",
            json!({"grace_seconds": 5, "grace_deadline_ms": 99}),
        ));
        assert_eq!(state.room.as_ref().unwrap().state, RoomState::Grace);
        state.apply(&event("ROOM_EXPIRED", json!({})));
        assert_eq!(state.room.as_ref().unwrap().state, RoomState::Expired);
    }

    #[test]
    fn sequence_spots_gaps_once_and_drops_stale() {
        let mut seq = Sequence::default();
        assert_eq!(
            seq.broadcast(40),
            SeqCheck::InOrder,
            "nothing to compare yet"
        );
        seq.snapshot(10);
        assert_eq!(seq.broadcast(11), SeqCheck::InOrder);
        assert_eq!(seq.broadcast(11), SeqCheck::Stale);
        assert_eq!(seq.broadcast(9), SeqCheck::Stale);
        assert_eq!(seq.broadcast(14), SeqCheck::Gap { resync: true });
        assert_eq!(seq.broadcast(16), SeqCheck::Gap { resync: false });
        seq.snapshot(16);
        assert_eq!(seq.broadcast(17), SeqCheck::InOrder);
        assert_eq!(seq.broadcast(19), SeqCheck::Gap { resync: true });
    }
}
