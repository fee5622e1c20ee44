//! The retention purge: what ended before the cutoff goes, what still lives or can still be
//! used stays.

use streamit_protocol::v1::{DisplayName, MemberStatus, RoomState, UserId};
use uuid::Uuid;

use super::{Fixture, code, fixtures, guest, new_room};
use crate::store::NewUser;
use crate::store::retention::Purged;

/// Far after everything the test makes (all at times near 1 000 ms or "now"): everything
/// ended counts as old.
const LATER: u64 = u64::MAX / 4;

#[tokio::test]
async fn ended_rooms_and_stale_guests_go_and_nothing_alive_does() {
    for Fixture { store, .. } in &fixtures().await {
        let label = format!("{:?}", store.backend());
        // A guest who hosted a room that ended, with a member: both go with the room.
        let old_host = guest(store, "Old host").await;
        let member = guest(store, "Member").await;
        store
            .create_room(new_room(code("WXYZ2345"), old_host, 1_000))
            .await
            .unwrap();
        store
            .ensure_membership(code("WXYZ2345"), member, MemberStatus::Approved, 1_000)
            .await
            .unwrap();
        let ended = store
            .transition_room(
                code("WXYZ2345"),
                &[RoomState::Created],
                RoomState::Deleted,
                None,
                5_000,
            )
            .await
            .unwrap();
        assert!(ended, "{label}");
        // A guest hosting a live room, and one who can still sign in: both stay.
        let live_host = guest(store, "Live host").await;
        store
            .create_room(new_room(code("MNPQ2345"), live_host, 1_000))
            .await
            .unwrap();
        let signed_in = guest(store, "Signed in").await;
        let login = Uuid::new_v4();
        store.create_login(login, signed_in, 1_000).await.unwrap();
        store
            .insert_refresh_token("live-token", login, LATER + 1)
            .await
            .unwrap();
        // A registered account is never purged.
        let registered = UserId::from_uuid(Uuid::new_v4());
        store
            .create_user(NewUser {
                id: registered,
                email: Some("ada@example.com".parse().unwrap()),
                password_hash: Some("$argon2id$x".to_owned()),
                display_name: DisplayName::new("Ada").unwrap(),
                is_guest: false,
                created_at_ms: 1_000,
            })
            .await
            .unwrap();

        // Before the cutoff reaches them, nothing goes.
        let none = store.purge(500).await.unwrap();
        assert_eq!(none, Purged::default(), "{label}");

        let purged = store.purge(LATER).await.unwrap();
        assert_eq!(purged.rooms, 1, "{label}: the ended room");
        assert_eq!(purged.guests, 2, "{label}: its host and member");
        assert!(
            store.room(code("WXYZ2345")).await.unwrap().is_none(),
            "{label}"
        );
        for gone in [old_host, member] {
            assert!(store.user(gone).await.unwrap().is_none(), "{label}");
        }
        for kept in [live_host, signed_in, registered] {
            assert!(store.user(kept).await.unwrap().is_some(), "{label}");
        }
        assert!(
            store.room(code("MNPQ2345")).await.unwrap().is_some(),
            "{label}"
        );
        assert!(store.login_active(login).await.unwrap(), "{label}");

        // Once its login is revoked, the guest can no longer sign in: it goes, logins and all.
        store.revoke_login(login, 3_000).await.unwrap();
        // A registered account's ended login goes, the account stays.
        let ended_login = Uuid::new_v4();
        store
            .create_login(ended_login, registered, 1_000)
            .await
            .unwrap();
        store
            .insert_refresh_token("old-token", ended_login, 5_000)
            .await
            .unwrap();
        store.revoke_login(ended_login, 3_000).await.unwrap();
        // Revoked within the retention period (after the cutoff): kept for now.
        let recent = store.purge(2_500).await.unwrap();
        assert_eq!(recent.guests, 0, "{label}: logged out too recently");
        let purged = store.purge(LATER).await.unwrap();
        assert_eq!(
            purged.guests, 1,
            "{label}: the guest who can no longer sign in"
        );
        assert_eq!(
            purged.logins, 1,
            "{label}: the registered account's ended login"
        );
        assert!(store.user(signed_in).await.unwrap().is_none(), "{label}");
        assert!(store.user(registered).await.unwrap().is_some(), "{label}");
        assert!(!store.login_active(ended_login).await.unwrap(), "{label}");
    }
}
