//! What the session knows about the room, shared between the task (which writes it) and the
//! [`RoomSession`](crate::RoomSession) handles (which read it), and the `seq` bookkeeping of
//! one socket.

use super::clock::ClockSync;
use super::events::RoomEvent;
use crate::view::RoomView;

/// The room as the last snapshot and the events since show it, folded by the same
/// [`RoomView`] apps use (without chat, which the session never reads). Behind a `std`
/// mutex: every section is a few assignments, never held across an await.
#[derive(Debug, Default)]
pub(crate) struct State {
    /// From the first snapshot on.
    pub(crate) view: Option<RoomView>,
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
    pub(crate) fn apply(&mut self, event: &RoomEvent) {
        match &mut self.view {
            Some(view) => view.apply(event),
            None => {
                self.view = event
                    .snapshot()
                    .map(|s| RoomView::new(s).with_chat_limit(0))
            }
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

    fn event(kind: &str, seq: Option<u64>, data: serde_json::Value) -> RoomEvent {
        let mut frame = json!({"v": 1, "type": kind, "ts": 1, "data": data});
        if let Some(seq) = seq {
            frame["seq"] = json!(seq);
        }
        RoomEvent::Server(ServerMessage::decode(&frame.to_string()).unwrap())
    }

    #[test]
    fn the_view_starts_at_the_first_snapshot_and_keeps_no_chat() {
        let me = "00000000-0000-4000-8000-000000000001";
        let line = json!({"id": "00000000-0000-4000-8000-0000000000aa",
            "user": {"id": me, "display_name": "me"}, "text": "hi", "sent_at_ms": 1});
        let mut state = State::default();
        state.apply(&event("CHAT_MESSAGE", Some(3), line.clone()));
        assert!(state.view.is_none(), "nothing before the snapshot");
        state.apply(&event(
            "ROOM_SNAPSHOT",
            None,
            json!({
                "room": {"code": "ABCD2345", "name": "R", "host": {"id": me, "display_name": "me"},
                    "state": "LIVE", "is_private": false, "entry_mode": "OPEN", "chat_enabled": true,
                    "viewers": 1, "created_at_ms": 1},
                "you": {"user": {"id": me, "display_name": "me"}, "is_host": true},
                "participants": [],
                "playback": {"playing": false, "position_ms": 0, "rate": 1.0, "updated_at_ms": 1, "version": 1},
                "chat": [line.clone()], "seq": 3
            }),
        ));
        state.apply(&event("CHAT_MESSAGE", Some(4), line));
        let view = state.view.as_ref().unwrap();
        assert!(view.is_host());
        assert_eq!(view.seq(), 4);
        assert!(view.chat().is_empty());
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
