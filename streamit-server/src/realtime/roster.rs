//! A live room's participant list as last read from the store, with the `members_version` it
//! was read at: a socket joining a room whose members did not change since reads no list, only
//! its own admission row. Without it every admission into a room of M members read M rows.

use std::sync::{Arc, Mutex, MutexGuard};

use streamit_protocol::v1::Participant;

/// The list, shared by a room's handle and the sockets joining it; it goes with the room.
#[derive(Default)]
pub(super) struct Roster(Mutex<Option<Cached>>);

struct Cached {
    /// The list is at least as new as this version (it was read after a read that saw it).
    version: u64,
    participants: Arc<[Participant]>,
}

impl Roster {
    fn lock(&self) -> MutexGuard<'_, Option<Cached>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The list as of `version` or newer, if one is kept.
    pub(super) fn at_least(&self, version: u64) -> Option<Arc<[Participant]>> {
        self.lock()
            .as_ref()
            .filter(|cached| cached.version >= version)
            .map(|cached| Arc::clone(&cached.participants))
    }

    /// Keeps `participants`, read after seeing `version`, unless a newer list is kept already.
    pub(super) fn keep(&self, version: u64, participants: Arc<[Participant]>) {
        let mut cached = self.lock();
        if cached.as_ref().is_none_or(|c| c.version < version) {
            *cached = Some(Cached {
                version,
                participants,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use streamit_protocol::v1::{DisplayName, MemberStatus, UserId, UserRef};

    use super::*;

    fn list(name: &str) -> Arc<[Participant]> {
        let user = UserRef::new(
            UserId::from_uuid(uuid::Uuid::new_v4()),
            DisplayName::new(name).unwrap(),
        );
        Arc::from(vec![Participant::new(
            user,
            MemberStatus::Approved,
            false,
            false,
        )])
    }

    #[test]
    fn serves_only_lists_at_least_as_new_and_never_goes_back() {
        let roster = Roster::default();
        assert!(roster.at_least(0).is_none(), "nothing kept yet");
        roster.keep(3, list("Ada"));
        assert_eq!(
            roster.at_least(2).unwrap()[0].user.display_name.as_str(),
            "Ada"
        );
        assert_eq!(
            roster.at_least(3).unwrap()[0].user.display_name.as_str(),
            "Ada"
        );
        assert!(roster.at_least(4).is_none(), "the members changed since");
        roster.keep(2, list("Bo"));
        assert_eq!(
            roster.at_least(3).unwrap()[0].user.display_name.as_str(),
            "Ada",
            "an older read never replaces a newer one"
        );
        roster.keep(5, list("Cy"));
        assert_eq!(
            roster.at_least(5).unwrap()[0].user.display_name.as_str(),
            "Cy"
        );
    }
}
