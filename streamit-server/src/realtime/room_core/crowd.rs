//! Presence in a big room: instead of a `USER_JOINED` or `USER_LEFT` to everyone for each
//! person who comes or goes (filling a room of n people would send on the order of n² frames),
//! the comings and goings of a short window go out as one `PRESENCE_CHANGED`, net of whoever
//! came and went within it.

use std::collections::HashMap;

use streamit_protocol::v1::{Departure, LeaveReason, UserId, UserRef};

/// How long presence changes gather before they are told.
const PRESENCE_WINDOW_MS: u64 = 100;

/// The changes of the window open now.
#[derive(Default)]
pub(super) struct Crowd {
    /// Users who came or went, in the order they first did.
    order: Vec<UserId>,
    /// Each of them, with whether they were online when the window opened.
    changed: HashMap<UserId, (UserRef, bool)>,
    /// Why each user who went last went.
    reasons: HashMap<UserId, LeaveReason>,
    due_at_ms: Option<u64>,
}

impl Crowd {
    /// Notes that `user` came (`online`) or went (with `reason`); `was_online` is their
    /// presence before this change.
    pub(super) fn note(
        &mut self,
        user: &UserRef,
        was_online: bool,
        reason: Option<LeaveReason>,
        now_ms: u64,
    ) {
        if !self.changed.contains_key(&user.id) {
            self.order.push(user.id);
            self.changed.insert(user.id, (user.clone(), was_online));
        }
        if let Some(reason) = reason {
            self.reasons.insert(user.id, reason);
        }
        self.due_at_ms.get_or_insert(now_ms + PRESENCE_WINDOW_MS);
    }

    /// When the window's changes are due to be told.
    pub(super) fn due_at_ms(&self) -> Option<u64> {
        self.due_at_ms
    }

    /// Closes the window: who is online now and was not, and who was and is not (with why),
    /// given who is online now.
    pub(super) fn close(
        &mut self,
        is_online: impl Fn(UserId) -> bool,
    ) -> (Vec<UserRef>, Vec<Departure>) {
        self.due_at_ms = None;
        let mut joined = Vec::new();
        let mut left = Vec::new();
        for id in self.order.drain(..) {
            let Some((user, was_online)) = self.changed.remove(&id) else {
                continue;
            };
            match (was_online, is_online(user.id)) {
                (false, true) => joined.push(user),
                (true, false) => {
                    let reason = self.reasons.get(&user.id).copied();
                    left.push(Departure::new(user, reason.unwrap_or(LeaveReason::Left)));
                }
                _ => {}
            }
        }
        self.reasons.clear();
        (joined, left)
    }
}
