//! A live room's participant list as last read from the store, with the `members_version` it
//! was read at: a socket joining a room whose members did not change since reads no list, only
//! its own admission row. Without it every admission into a room of M members read M rows (up
//! to as many as make a room big: the store reads no further).

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use streamit_protocol::v1::Participant;
use tokio::sync::Mutex;

/// The list, shared by a room's handle and the sockets joining it; it goes with the room.
///
/// An async mutex, held while the store answers: when a room fills, dozens of sockets are
/// admitted at once, and the first one's read serves them all instead of each reading the list.
/// It is never taken on the room task's path.
#[derive(Default)]
pub(super) struct Roster {
    cached: Mutex<Option<Cached>>,
    /// Set by the room while it is big: its snapshots list who is online, not the members, so
    /// a joining socket reads no list at all.
    crowded: AtomicBool,
}

struct Cached {
    /// The list is at least as new as this version (it was read after a read that saw it).
    version: u64,
    /// `None`: the room has as many members as make it big, and its snapshots list who is
    /// online instead.
    participants: Option<Arc<[Participant]>>,
}

impl Roster {
    /// The list as of `version` or newer (`None` in a room of many members): the one kept, or
    /// else what `read` returns (read after seeing `version`), which is then kept.
    pub(super) async fn at_least<E, R>(
        &self,
        version: u64,
        read: impl FnOnce() -> R,
    ) -> Result<Option<Arc<[Participant]>>, E>
    where
        R: Future<Output = Result<Option<Vec<Participant>>, E>>,
    {
        let mut cached = self.cached.lock().await;
        if let Some(kept) = cached.as_ref().filter(|kept| kept.version >= version) {
            return Ok(kept.participants.clone());
        }
        let participants: Option<Arc<[Participant]>> = read().await?.map(Into::into);
        *cached = Some(Cached {
            version,
            participants: participants.clone(),
        });
        Ok(participants)
    }

    /// What a socket joining now needs of the list: `None` while the room is big or has as
    /// many members as make it big.
    pub(super) async fn for_join<E, R>(
        &self,
        version: u64,
        read: impl FnOnce() -> R,
    ) -> Result<Option<Arc<[Participant]>>, E>
    where
        R: Future<Output = Result<Option<Vec<Participant>>, E>>,
    {
        if self.crowded.load(Ordering::Relaxed) {
            return Ok(None);
        }
        self.at_least(version, read).await
    }

    /// The room says whether it is big now.
    pub(super) fn set_crowded(&self, crowded: bool) {
        self.crowded.store(crowded, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use streamit_protocol::v1::{DisplayName, MemberStatus, UserId, UserRef};

    use super::*;

    fn list(name: &str) -> Vec<Participant> {
        let user = UserRef::new(
            UserId::from_uuid(uuid::Uuid::new_v4()),
            DisplayName::new(name).unwrap(),
        );
        vec![Participant::new(user, MemberStatus::Approved, false, false)]
    }

    /// The first name of the list `roster` gives for `version`, reading `name` if it must.
    async fn first(roster: &Roster, version: u64, name: &str) -> String {
        let read = || async { Ok::<_, Infallible>(Some(list(name))) };
        let participants = roster.at_least(version, read).await.unwrap().unwrap();
        participants[0].user.display_name.as_str().to_owned()
    }

    #[tokio::test]
    async fn reads_only_when_the_members_changed_since() {
        let roster = Roster::default();
        assert_eq!(first(&roster, 3, "Ada").await, "Ada", "nothing kept: read");
        assert_eq!(first(&roster, 2, "Bo").await, "Ada", "kept is newer");
        assert_eq!(first(&roster, 3, "Bo").await, "Ada", "kept is as new");
        assert_eq!(first(&roster, 4, "Cy").await, "Cy", "the members changed");
        assert_eq!(first(&roster, 4, "Di").await, "Cy");
    }

    #[tokio::test]
    async fn sockets_admitted_at_once_share_one_read() {
        // A small room's list, and a room of as many members as make it big (no list).
        for answer in [Some(list("Ada")), None] {
            let roster = Roster::default();
            let reads = std::sync::atomic::AtomicU32::new(0);
            let read = || async {
                reads.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                tokio::task::yield_now().await;
                Ok::<_, Infallible>(answer.clone())
            };
            let admissions = (0..20).map(|_| roster.for_join(7, read));
            for participants in futures_util::future::join_all(admissions).await {
                let listed = participants.unwrap().map(|p| p.len());
                assert_eq!(listed, answer.as_ref().map(Vec::len));
            }
            assert_eq!(reads.into_inner(), 1);
        }
    }
}
