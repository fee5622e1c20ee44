//! Presence in a big room: instead of a `USER_JOINED` or `USER_LEFT` to everyone for each
//! person who comes or goes (filling a room of n people would send on the order of n² frames),
//! the comings and goings of a short window go out as one `PRESENCE_CHANGED`, net of whoever
//! came and went within it.

use std::collections::HashMap;

use streamit_protocol::v1::{Departure, LeaveReason, UserId, UserRef};

/// How long presence changes gather before they are told.
const PRESENCE_WINDOW_MS: u64 = 100;

/// One user's change within the window.
struct Changed {
    user: UserRef,
    /// Online when the window opened: their first change in it was a going.
    was_online: bool,
    /// Why they last went, if they did.
    reason: Option<LeaveReason>,
}

/// The changes of the window open now.
#[derive(Default)]
pub(super) struct Crowd {
    /// Users who came or went, in the order they first did.
    order: Vec<UserId>,
    changed: HashMap<UserId, Changed>,
    due_at_ms: Option<u64>,
}

impl Crowd {
    /// Notes that `user` came (`reason` is `None`) or went (with `reason`).
    pub(super) fn note(&mut self, user: &UserRef, reason: Option<LeaveReason>, now_ms: u64) {
        let changed = self.changed.entry(user.id).or_insert_with(|| {
            self.order.push(user.id);
            Changed {
                user: user.clone(),
                was_online: reason.is_some(),
                reason: None,
            }
        });
        changed.reason = reason.or(changed.reason);
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
            let Some(changed) = self.changed.remove(&id) else {
                continue;
            };
            match (changed.was_online, is_online(id)) {
                (false, true) => joined.push(changed.user),
                (true, false) => {
                    let reason = changed.reason.unwrap_or(LeaveReason::Left);
                    left.push(Departure::new(changed.user, reason));
                }
                _ => {}
            }
        }
        (joined, left)
    }
}
