//! Presence in a big room: instead of a `USER_JOINED` or `USER_LEFT` to everyone for each
//! person who comes or goes (filling a room of n people would send on the order of n² frames),
//! the comings and goings of a short window go out as one `PRESENCE_CHANGED`, net of whoever
//! came and went within it. The window grows with the room, so the frames it costs do not.

use std::collections::HashMap;

use streamit_protocol::v1::{Departure, LeaveReason, UserId, UserRef};

/// How long presence changes gather at least before they are told.
const WINDOW_MIN_MS: u64 = 100;
/// How long they gather at most, however big the room.
const WINDOW_MAX_MS: u64 = 1_000;
/// Presence frames a room sends a second at most (one per member per window), as long as
/// `WINDOW_MAX_MS` allows: each costs a socket write, and while a room of thousands fills,
/// frames every 100 ms to all of them cost more than the admissions themselves.
const FRAMES_PER_SECOND: u64 = 5_000;

/// How long a window lasts in a room with `online` people: 100 ms up to 500 people, then long
/// enough to keep the room to `FRAMES_PER_SECOND`, up to 1 s from 5 000 people.
pub(super) fn window_ms(online: usize) -> u64 {
    let online = u64::try_from(online).unwrap_or(u64::MAX);
    (online.saturating_mul(1_000) / FRAMES_PER_SECOND).clamp(WINDOW_MIN_MS, WINDOW_MAX_MS)
}

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
    /// Notes that `user` came (`reason` is `None`) or went (with `reason`); a window it opens
    /// lasts `window_ms`.
    pub(super) fn note(
        &mut self,
        user: &UserRef,
        reason: Option<LeaveReason>,
        now_ms: u64,
        window_ms: u64,
    ) {
        let changed = self.changed.entry(user.id).or_insert_with(|| {
            self.order.push(user.id);
            Changed {
                user: user.clone(),
                was_online: reason.is_some(),
                reason: None,
            }
        });
        changed.reason = reason.or(changed.reason);
        self.due_at_ms.get_or_insert(now_ms + window_ms);
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

#[cfg(test)]
mod tests {
    use super::window_ms;

    #[test]
    fn windows_grow_with_the_room_between_bounds() {
        assert_eq!(window_ms(0), 100);
        assert_eq!(window_ms(500), 100);
        assert_eq!(window_ms(1_000), 200);
        assert_eq!(window_ms(5_000), 1_000);
        assert_eq!(window_ms(usize::MAX), 1_000);
    }
}
