//! What the session knows about the room, shared between the task (which writes it) and the
//! [`RoomSession`](crate::RoomSession) handles (which read it), and the `seq` bookkeeping of
//! one socket.

use std::time::Duration;

use super::clock::ClockFilter;
use super::events::RoomEvent;
use crate::view::RoomView;

/// The room as the last snapshot and the events since show it, folded by the same
/// [`RoomView`] apps use (without chat, which the session never reads). Behind a `std`
/// mutex: every section is a few assignments, never held across an await.
#[derive(Debug)]
pub(crate) struct State {
    /// From the first snapshot on.
    pub(crate) view: Option<RoomView>,
    pub(crate) clock: ClockFilter,
    /// A socket is open and admitted.
    pub(crate) connected: bool,
    /// Rises with every admitted socket; a command is sent only on the socket it was
    /// accepted for.
    pub(crate) generation: u64,
    /// The task has stopped for good.
    pub(crate) ended: bool,
}

impl State {
    /// Nothing known yet; clock-sync exchanges are kept for `clock_window`.
    pub(crate) fn new(clock_window: Duration) -> Self {
        Self {
            view: None,
            clock: ClockFilter::new(clock_window),
            connected: false,
            generation: 0,
            ended: false,
        }
    }

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
    /// Some were missed: what to ask for now.
    Gap { resync: Recovery },
}

/// How to get back what a gap lost.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Recovery {
    /// Already asked for: nothing more to send.
    Wait,
    /// A fresh snapshot (`RESYNC` with no data); the broadcast that showed the gap is taken.
    Snapshot,
    /// A replay of everything after `since_seq` (`RESYNC` with it and the epoch); the
    /// broadcast that showed the gap is dropped, as are the next ones until the replay.
    Replay { since_seq: u64 },
}

/// One socket's `seq` bookkeeping.
#[derive(Debug, Default)]
pub(crate) struct Sequence {
    last: Option<u64>,
    resync_pending: bool,
    /// A `RESYNC` asked to be replayed from `last`: broadcasts are dropped until the replay,
    /// which brings them again in order.
    replay_pending: bool,
}

impl Sequence {
    /// A snapshot reflects every broadcast up to its `seq`.
    pub(crate) fn snapshot(&mut self, seq: u64) {
        self.last = Some(seq);
        self.resync_pending = false;
        self.replay_pending = false;
    }

    /// `ROOM_RESUMED`: the broadcasts after `since_seq` follow.
    pub(crate) fn resumed(&mut self, since_seq: u64) {
        self.snapshot(since_seq);
    }

    /// Judges a broadcast. On a gap, `can_replay` (the room's epoch is known) keeps `last`
    /// where it is and asks for a replay from there; otherwise the broadcast is taken and a
    /// snapshot asked for.
    pub(crate) fn broadcast(&mut self, seq: u64, can_replay: bool) -> SeqCheck {
        let Some(last) = self.last else {
            return SeqCheck::InOrder;
        };
        if seq <= last || self.replay_pending {
            return SeqCheck::Stale;
        }
        if seq == last + 1 {
            self.last = Some(seq);
            return SeqCheck::InOrder;
        }
        if can_replay && !self.resync_pending {
            self.resync_pending = true;
            self.replay_pending = true;
            return SeqCheck::Gap {
                resync: Recovery::Replay { since_seq: last },
            };
        }
        self.last = Some(seq);
        let resync = if self.resync_pending {
            Recovery::Wait
        } else {
            Recovery::Snapshot
        };
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
        let mut state = State::new(Duration::from_secs(120));
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
            seq.broadcast(40, false),
            SeqCheck::InOrder,
            "nothing to compare yet"
        );
        seq.snapshot(10);
        assert_eq!(seq.broadcast(11, false), SeqCheck::InOrder);
        assert_eq!(seq.broadcast(11, false), SeqCheck::Stale);
        assert_eq!(seq.broadcast(9, false), SeqCheck::Stale);
        let snapshot = SeqCheck::Gap {
            resync: Recovery::Snapshot,
        };
        assert_eq!(seq.broadcast(14, false), snapshot);
        let wait = SeqCheck::Gap {
            resync: Recovery::Wait,
        };
        assert_eq!(seq.broadcast(16, false), wait);
        seq.snapshot(16);
        assert_eq!(seq.broadcast(17, false), SeqCheck::InOrder);
        assert_eq!(seq.broadcast(19, false), snapshot);
    }

    #[test]
    fn with_an_epoch_a_gap_asks_for_a_replay_and_holds_until_it_comes() {
        let mut seq = Sequence::default();
        seq.snapshot(10);
        assert_eq!(seq.broadcast(11, true), SeqCheck::InOrder);
        let replay = SeqCheck::Gap {
            resync: Recovery::Replay { since_seq: 11 },
        };
        assert_eq!(seq.broadcast(13, true), replay, "12 was missed");
        assert_eq!(
            seq.broadcast(14, true),
            SeqCheck::Stale,
            "the replay brings it"
        );
        seq.resumed(11);
        assert_eq!(seq.broadcast(12, true), SeqCheck::InOrder);
        assert_eq!(seq.broadcast(13, true), SeqCheck::InOrder);
        assert_eq!(seq.broadcast(14, true), SeqCheck::InOrder);
    }
}
