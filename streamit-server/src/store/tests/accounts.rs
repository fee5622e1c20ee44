//! Users, logins, refresh tokens and the JWT secret.

use streamit_protocol::v1::{DisplayName, Email, UserId};
use uuid::Uuid;

use super::{Fixture, fixtures, guest};
use crate::store::{Error, NewUser, Spend, Store};

fn account(email: &str) -> NewUser {
    NewUser {
        id: UserId::from_uuid(Uuid::new_v4()),
        email: Some(Email::new(email).unwrap()),
        password_hash: Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".to_owned()),
        display_name: DisplayName::new("Ada").unwrap(),
        is_guest: false,
        created_at_ms: 1_700_000_000_000,
    }
}

#[tokio::test]
async fn users_are_created_and_found() {
    for Fixture { store, .. } in &fixtures().await {
        let new = account("Ada@Example.com");
        let id = new.id;
        let created = store.create_user(new).await.unwrap();
        assert_eq!(
            created.email.as_ref().map(Email::as_str),
            Some("ada@example.com")
        );

        let found = store
            .user_by_email(&Email::new("ada@example.com").unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(found.user, created, "{:?}", store.backend());
        assert_eq!(
            found.password_hash.as_deref(),
            Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA")
        );
        assert_eq!(store.user(id).await.unwrap(), Some(created));

        let nobody = Email::new("nobody@example.com").unwrap();
        assert!(store.user_by_email(&nobody).await.unwrap().is_none());
        assert!(
            store
                .user(UserId::from_uuid(Uuid::new_v4()))
                .await
                .unwrap()
                .is_none()
        );

        let guest_id = guest(store, "Guest-4821").await;
        let guest = store.user(guest_id).await.unwrap().unwrap();
        assert!(guest.is_guest && guest.email.is_none());
        assert_eq!(guest.display_name.as_str(), "Guest-4821");
    }
}

#[tokio::test]
async fn a_taken_email_is_a_conflict() {
    for Fixture { store, .. } in &fixtures().await {
        store.create_user(account("ada@example.com")).await.unwrap();
        let again = store.create_user(account("ADA@example.com")).await;
        assert!(
            matches!(again, Err(Error::Conflict)),
            "{:?}: {again:?}",
            store.backend()
        );
        // Guests have no e-mail, and any number of them may exist.
        guest(store, "One").await;
        guest(store, "Two").await;
    }
}

#[tokio::test]
async fn logins_are_active_until_revoked() {
    for Fixture { store, .. } in &fixtures().await {
        let user = guest(store, "Ada").await;
        let login = Uuid::new_v4();
        store.create_login(login, user, 1_000).await.unwrap();
        assert!(store.login_active(login).await.unwrap());
        assert!(!store.login_active(Uuid::new_v4()).await.unwrap());

        assert!(
            store.revoke_login(login, 2_000).await.unwrap(),
            "revoked now"
        );
        assert!(!store.login_active(login).await.unwrap());
        assert!(
            !store.revoke_login(login, 3_000).await.unwrap(),
            "already revoked"
        );
        assert!(!store.login_active(login).await.unwrap());
    }
}

/// A user with an active login, for refresh tests.
async fn signed_in(store: &Store) -> (UserId, Uuid) {
    let user = guest(store, "Ada").await;
    let login = Uuid::new_v4();
    store.create_login(login, user, 1_000).await.unwrap();
    (user, login)
}

#[tokio::test]
async fn refresh_tokens_are_spent_once() {
    for Fixture { store, .. } in &fixtures().await {
        let (user_id, login_id) = signed_in(store).await;
        store
            .insert_refresh_token("hash-a", login_id, 10_000)
            .await
            .unwrap();

        let spent = store.spend_refresh_token("hash-a", 5_000).await.unwrap();
        assert_eq!(
            spent,
            Spend::Spent { login_id, user_id },
            "{:?}",
            store.backend()
        );
        assert_eq!(
            store.spend_refresh_token("hash-a", 6_000).await.unwrap(),
            Spend::Reused { login_id }
        );
        // A replay stays a replay after expiry too.
        assert_eq!(
            store.spend_refresh_token("hash-a", 20_000).await.unwrap(),
            Spend::Reused { login_id }
        );
        assert_eq!(
            store
                .spend_refresh_token("no-such-hash", 5_000)
                .await
                .unwrap(),
            Spend::Unknown
        );
    }
}

#[tokio::test]
async fn expired_tokens_and_revoked_logins_are_expired() {
    for Fixture { store, .. } in &fixtures().await {
        let (_, login_id) = signed_in(store).await;
        store
            .insert_refresh_token("hash-old", login_id, 5_000)
            .await
            .unwrap();
        assert_eq!(
            store.spend_refresh_token("hash-old", 5_000).await.unwrap(),
            Spend::Expired
        );
        assert_eq!(
            store.spend_refresh_token("hash-old", 9_000).await.unwrap(),
            Spend::Expired
        );

        store
            .insert_refresh_token("hash-live", login_id, 50_000)
            .await
            .unwrap();
        store.revoke_login(login_id, 6_000).await.unwrap();
        assert_eq!(
            store.spend_refresh_token("hash-live", 7_000).await.unwrap(),
            Spend::Expired,
            "{:?}",
            store.backend()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_spends_have_one_winner() {
    for Fixture { store, .. } in &fixtures().await {
        let (user_id, login_id) = signed_in(store).await;
        for round in 0..10 {
            let hash = format!("hash-{round}");
            store
                .insert_refresh_token(&hash, login_id, 10_000)
                .await
                .unwrap();
            let (a, b) = (store.clone(), store.clone());
            let (ha, hb) = (hash.clone(), hash.clone());
            let first =
                tokio::spawn(async move { a.spend_refresh_token(&ha, 1_000).await.unwrap() });
            let second =
                tokio::spawn(async move { b.spend_refresh_token(&hb, 1_000).await.unwrap() });
            let mut outcomes = [first.await.unwrap(), second.await.unwrap()];
            outcomes.sort_by_key(|o| matches!(o, Spend::Reused { .. }));
            assert_eq!(
                outcomes,
                [
                    Spend::Spent { login_id, user_id },
                    Spend::Reused { login_id }
                ],
                "{:?} round {round}",
                store.backend()
            );
        }
    }
}
