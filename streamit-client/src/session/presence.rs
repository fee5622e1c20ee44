//! Who the app has been told is present, so a reconnect does not announce everyone again.
//!
//! After a server restart every client reconnects, and each reconnection is a `USER_JOINED`
//! to the clients already back. Those users were present all along as far as the app knows,
//! so their joins become [`Joined::Rejoined`] instead of announcements.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use streamit_protocol::v1::{RoomSnapshot, UserId};

/// How long after a reconnect a returning user counts as "present before".
pub(crate) const REJOIN_WINDOW: Duration = Duration::from_secs(60);

/// What to make of a `USER_JOINED`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Joined {
    /// Someone new: announce it.
    Announce,
    /// Someone the app already knew present, or the app's own user: presence only.
    Rejoined,
}

#[derive(Debug, Default)]
pub(crate) struct Presence {
    me: Option<UserId>,
    /// Online as far as the app has been told.
    online: BTreeSet<UserId>,
    /// Online before the last reconnect but not in its snapshot (yet).
    expected_back: BTreeSet<UserId>,
    expected_until: Option<Instant>,
}

impl Presence {
    /// A snapshot replaces the view; after a reconnect, whoever was online before and is
    /// not in it is expected back for a while.
    pub(crate) fn snapshot(&mut self, snapshot: &RoomSnapshot, reconnected: bool, now: Instant) {
        let fresh: BTreeSet<UserId> = snapshot
            .participants
            .iter()
            .filter(|p| p.online)
            .map(|p| p.user.id)
            .collect();
        if reconnected {
            self.expected_back = self.online.difference(&fresh).copied().collect();
            self.expected_until = Some(now + REJOIN_WINDOW);
        }
        self.me = Some(snapshot.you.user.id);
        self.online = fresh;
    }

    /// Some went unnamed (a crowded window of a big room): nobody is known online any more,
    /// so whoever is told joining next is announced, not taken for a duplicate.
    pub(crate) fn lost_track(&mut self) {
        self.online.clear();
    }

    pub(crate) fn joined(&mut self, user: UserId, now: Instant) -> Joined {
        if self.expected_until.is_some_and(|until| now >= until) {
            self.expected_back.clear();
            self.expected_until = None;
        }
        let known = self.me == Some(user) || self.expected_back.remove(&user);
        let already_online = !self.online.insert(user);
        if known || already_online {
            Joined::Rejoined
        } else {
            Joined::Announce
        }
    }

    pub(crate) fn left(&mut self, user: UserId) {
        self.online.remove(&user);
        self.expected_back.remove(&user);
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const ME: &str = "00000000-0000-4000-8000-000000000001";
    const BO: &str = "00000000-0000-4000-8000-000000000002";
    const CY: &str = "00000000-0000-4000-8000-000000000003";
    const DI: &str = "00000000-0000-4000-8000-000000000004";

    fn id(s: &str) -> UserId {
        s.parse().unwrap()
    }

    fn snapshot(online: &[&str]) -> RoomSnapshot {
        let participants: Vec<_> = [ME, BO, CY, DI]
            .iter()
            .map(|u| {
                json!({"user": {"id": u, "display_name": "x"}, "status": "APPROVED",
                "is_host": *u == ME, "online": online.contains(u)})
            })
            .collect();
        serde_json::from_value(json!({
            "room": {"code": "ABCD2345", "name": "R", "host": {"id": ME, "display_name": "x"},
                "state": "LIVE", "is_private": false, "entry_mode": "OPEN", "chat_enabled": true,
                "viewers": online.len(), "created_at_ms": 1},
            "you": {"user": {"id": ME, "display_name": "x"}, "is_host": true},
            "participants": participants,
            "playback": {"playing": false, "position_ms": 0, "rate": 1.0, "updated_at_ms": 1, "version": 1},
            "chat": [], "seq": 7
        }))
        .unwrap()
    }

    #[test]
    fn joins_on_a_live_socket_are_announced() {
        let now = Instant::now();
        let mut presence = Presence::default();
        presence.snapshot(&snapshot(&[ME]), false, now);
        assert_eq!(presence.joined(id(BO), now), Joined::Announce);
        presence.left(id(BO));
        assert_eq!(presence.joined(id(BO), now), Joined::Announce);
    }

    #[test]
    fn after_an_unnamed_going_a_return_is_announced() {
        let now = Instant::now();
        let mut presence = Presence::default();
        presence.snapshot(&snapshot(&[ME, BO]), false, now);
        assert_eq!(presence.joined(id(BO), now), Joined::Rejoined);
        // Bo went in a crowded window that did not name them.
        presence.lost_track();
        assert_eq!(presence.joined(id(BO), now), Joined::Announce);
    }

    #[test]
    fn after_a_reconnect_known_users_are_not_announced_again() {
        let now = Instant::now();
        let mut presence = Presence::default();
        presence.snapshot(&snapshot(&[ME, BO, CY]), false, now);
        presence.snapshot(&snapshot(&[ME, CY]), true, now);
        assert_eq!(presence.joined(id(BO), now), Joined::Rejoined);
        assert_eq!(presence.joined(id(DI), now), Joined::Announce);
        assert_eq!(presence.joined(id(ME), now), Joined::Rejoined);
        assert_eq!(
            presence.joined(id(CY), now),
            Joined::Rejoined,
            "already online"
        );
        presence.left(id(BO));
        assert_eq!(presence.joined(id(BO), now), Joined::Announce);
    }

    #[test]
    fn the_rejoin_window_closes() {
        let now = Instant::now();
        let mut presence = Presence::default();
        presence.snapshot(&snapshot(&[ME, BO]), false, now);
        presence.snapshot(&snapshot(&[ME]), true, now);
        let later = now + REJOIN_WINDOW;
        assert_eq!(presence.joined(id(BO), later), Joined::Announce);
    }
}
