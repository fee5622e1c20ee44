//! Memberships, join requests and their approval, bans.

use streamit_protocol::v1::MemberStatus::{Approved, Pending};

use super::{Fixture, code, fixtures, guest, new_room};
use crate::store::Membership;

const PENDING: Membership = Membership {
    status: Pending,
    muted_until_ms: None,
};
const APPROVED: Membership = Membership {
    status: Approved,
    muted_until_ms: None,
};

#[tokio::test]
async fn ensuring_a_membership_is_idempotent() {
    for Fixture { store, .. } in &fixtures().await {
        let (host, bob) = (guest(store, "Ada").await, guest(store, "Bob").await);
        let room = code("MEMB2345");
        store.create_room(new_room(room, host, 1)).await.unwrap();

        assert_eq!(store.membership(room, bob).await.unwrap(), None);
        assert_eq!(
            store
                .ensure_membership(room, bob, Pending, 2)
                .await
                .unwrap(),
            PENDING
        );
        // An existing membership is left as it was, whatever the second join asks for.
        assert_eq!(
            store
                .ensure_membership(room, bob, Approved, 3)
                .await
                .unwrap(),
            PENDING,
            "{:?}",
            store.backend()
        );
        assert_eq!(store.membership(room, bob).await.unwrap(), Some(PENDING));
        assert_eq!(
            store
                .ensure_membership(room, host, Pending, 4)
                .await
                .unwrap(),
            APPROVED
        );
        assert_eq!(store.participants(room).await.unwrap().len(), 2);
    }
}

#[tokio::test]
async fn participants_and_pending_requests_are_ordered() {
    for Fixture { store, .. } in &fixtures().await {
        let host = guest(store, "Ada").await;
        let (late, early, member) = (
            guest(store, "Late").await,
            guest(store, "Early").await,
            guest(store, "Member").await,
        );
        let room = code("RDER2345");
        store
            .create_room(new_room(room, host, 5_000))
            .await
            .unwrap();
        store
            .ensure_membership(room, late, Pending, 3_000)
            .await
            .unwrap();
        store
            .ensure_membership(room, early, Pending, 2_000)
            .await
            .unwrap();
        store
            .ensure_membership(room, member, Approved, 1_000)
            .await
            .unwrap();

        let pending = store.pending(room).await.unwrap();
        let names: Vec<_> = pending
            .iter()
            .map(|p| p.user.display_name.as_str())
            .collect();
        assert_eq!(names, ["Early", "Late"], "{:?}", store.backend());
        assert!(
            pending
                .iter()
                .all(|p| p.status == Pending && !p.is_host && !p.online)
        );

        let everyone = store.participants(room).await.unwrap();
        let names: Vec<_> = everyone
            .iter()
            .map(|p| p.user.display_name.as_str())
            .collect();
        assert_eq!(
            names,
            ["Ada", "Member", "Early", "Late"],
            "host first, then by join time"
        );
        assert!(everyone[0].is_host && everyone[1..].iter().all(|p| !p.is_host));
        // A snapshot's read: the same list while there are fewer than make a room big, and
        // none (having read only that many rows) once there are as many.
        assert_eq!(
            store.participants_below(room, 5).await.unwrap(),
            Some(everyone)
        );
        assert_eq!(store.participants_below(room, 4).await.unwrap(), None);
        assert!(store.pending(code("ZZZZ2345")).await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn only_pending_requests_are_approved_or_denied() {
    for Fixture { store, .. } in &fixtures().await {
        let (host, bob, eve) = (
            guest(store, "Ada").await,
            guest(store, "Bob").await,
            guest(store, "Eve").await,
        );
        let room = code("APPR2345");
        store.create_room(new_room(room, host, 1)).await.unwrap();
        store
            .ensure_membership(room, bob, Pending, 2)
            .await
            .unwrap();
        store
            .ensure_membership(room, eve, Pending, 3)
            .await
            .unwrap();

        let approved = store.approve(room, bob).await.unwrap().unwrap();
        assert_eq!(
            (approved.user.id, approved.status, approved.is_host),
            (bob, Approved, false),
            "{:?}",
            store.backend()
        );
        assert_eq!(approved.user.display_name.as_str(), "Bob");
        assert_eq!(
            store.approve(room, bob).await.unwrap(),
            None,
            "no longer pending"
        );
        assert_eq!(store.approve(room, host).await.unwrap(), None);
        assert_eq!(
            store
                .approve(room, guest(store, "Stranger").await)
                .await
                .unwrap(),
            None
        );
        assert!(
            !store.deny(room, bob).await.unwrap(),
            "approved members are not denied"
        );

        assert!(store.deny(room, eve).await.unwrap());
        assert_eq!(store.membership(room, eve).await.unwrap(), None);
        assert!(!store.deny(room, eve).await.unwrap());
        assert_eq!(store.approve(room, eve).await.unwrap(), None);
        assert_eq!(store.membership(room, bob).await.unwrap(), Some(APPROVED));
        assert!(store.pending(room).await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn nobody_is_banned_by_default() {
    for Fixture { store, .. } in &fixtures().await {
        let (host, bob) = (guest(store, "Ada").await, guest(store, "Bob").await);
        let room = code("BANS2345");
        store.create_room(new_room(room, host, 1)).await.unwrap();
        store
            .ensure_membership(room, bob, Approved, 2)
            .await
            .unwrap();
        assert!(!store.is_banned(room, bob).await.unwrap());
        assert!(!store.is_banned(room, host).await.unwrap());
    }
}

/// Every change to what the participant list shows raises `members_version`; joining again,
/// or a failed approval, does not (nodes keep the list they read until the version moves).
#[tokio::test]
async fn members_version_moves_with_every_change_to_the_list() {
    for Fixture { store, .. } in &fixtures().await {
        let (host, bob, cy) = (
            guest(store, "Ada").await,
            guest(store, "Bob").await,
            guest(store, "Cy").await,
        );
        let room = code("VRSN2345");
        store.create_room(new_room(room, host, 1)).await.unwrap();
        let version = || async {
            let login = uuid::Uuid::new_v4();
            let found = store.admission(room, host, login).await.unwrap().unwrap();
            found.members_version
        };
        let mut last = version().await;
        let mut changed = async |what: &str, moved: bool| {
            let now = version().await;
            assert_eq!(now > last, moved, "{:?}: {what}", store.backend());
            assert!(now >= last, "never back");
            last = now;
        };

        store
            .ensure_membership(room, bob, Approved, 2)
            .await
            .unwrap();
        changed("a member joins", true).await;
        store
            .ensure_membership(room, bob, Approved, 3)
            .await
            .unwrap();
        changed("the same member joins again", false).await;
        store.ensure_membership(room, cy, Pending, 4).await.unwrap();
        changed("someone asks to join", true).await;
        assert!(store.approve(room, bob).await.unwrap().is_none());
        changed("approving a member already approved", false).await;
        store.approve(room, cy).await.unwrap().unwrap();
        changed("an approval", true).await;
        store.set_muted_until(room, bob, Some(99)).await.unwrap();
        changed("a mute", true).await;
        store.set_muted_until(room, bob, None).await.unwrap();
        changed("an unmute", true).await;
        store.set_host(room, bob).await.unwrap();
        changed("a new host", true).await;
        store.remove_member(room, cy).await.unwrap();
        changed("a kick", true).await;
        store.ensure_membership(room, cy, Pending, 5).await.unwrap();
        changed("asking again", true).await;
        assert!(store.deny(room, cy).await.unwrap());
        changed("a denial", true).await;
        assert!(!store.deny(room, cy).await.unwrap());
        changed("denying nobody", false).await;
        store.ban(room, host, 6).await.unwrap();
        changed("a ban", true).await;
    }
}
