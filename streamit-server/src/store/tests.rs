//! The store against real databases: every test runs once per backend that
//! `streamit_testing::backends` offers (SQLite always, PostgreSQL when reachable), each on a
//! fresh database of its own.

mod accounts;
mod live;
mod members;
mod progress;
mod retention;
mod rooms;

use streamit_protocol::v1::{
    DisplayName, EntryMode, MediaKind, MediaRef, Provider, RoomCode, RoomName, UserId,
};
use streamit_testing::TestDatabase;
use uuid::Uuid;

use super::{Fenced, NewRoom, NewUser, Store, Term};

/// A connected store and the database it owns; the store is declared first so it is dropped
/// before its database is removed.
struct Fixture {
    store: Store,
    db: TestDatabase,
}

/// One connected store per available backend.
async fn fixtures() -> Vec<Fixture> {
    let mut fixtures = Vec::new();
    for db in streamit_testing::backends().await {
        let store = Store::connect(&db.url).await.unwrap();
        fixtures.push(Fixture { store, db });
    }
    fixtures
}

/// A guest named `name`, created at time 1000.
/// A new owner term of `room`, as a room's owner takes one when it loads the room.
async fn term(store: &Store, room: RoomCode) -> Term {
    store
        .take_term(room)
        .await
        .expect("a term")
        .expect("the room exists")
}

/// A write an owner made, which must have taken.
#[track_caller]
fn written(fenced: Fenced) {
    assert_eq!(fenced, Fenced::Written);
}

async fn guest(store: &Store, name: &str) -> UserId {
    let id = UserId::from_uuid(Uuid::new_v4());
    let user = NewUser {
        id,
        email: None,
        password_hash: None,
        display_name: DisplayName::new(name).unwrap(),
        is_guest: true,
        created_at_ms: 1_000,
    };
    store.create_user(user).await.unwrap();
    id
}

fn code(s: &str) -> RoomCode {
    RoomCode::parse(s).unwrap()
}

fn episode(season: u32, episode: u32) -> MediaRef {
    MediaRef::from_parts(
        Provider::Vidking,
        MediaKind::Tv,
        "1399",
        Some(season),
        Some(episode),
    )
    .unwrap()
}

fn movie(id: &str) -> MediaRef {
    MediaRef::from_parts(Provider::Vidking, MediaKind::Movie, id, None, None).unwrap()
}

/// An open, public room without media, created at `created_at_ms`.
fn new_room(code: RoomCode, host_id: UserId, created_at_ms: u64) -> NewRoom {
    NewRoom {
        code,
        name: RoomName::new("Movie night").unwrap(),
        host_id,
        is_private: false,
        entry_mode: EntryMode::Open,
        password_hash: None,
        chat_enabled: true,
        media: None,
        embed_url: None,
        created_at_ms,
    }
}

/// Runs the migrations on a second connection to a migrated database: nothing to apply, and
/// the data stays.
#[tokio::test]
async fn migrations_are_idempotent() {
    for Fixture { store, db } in &fixtures().await {
        let host = guest(store, "Ada").await;
        let again = Store::connect(&db.url).await.unwrap();
        assert_eq!(again.backend(), store.backend());
        again.ping().await.unwrap();
        assert!(
            again.user(host).await.unwrap().is_some(),
            "{:?}",
            store.backend()
        );
        Store::connect(&db.url).await.unwrap().ping().await.unwrap();
    }
}

/// PostgreSQL connections the server dropped while they sat idle (a restart, a failover, a
/// proxy's timeout) are replaced before use, not handed to a request that then fails.
#[tokio::test]
async fn postgres_connections_dropped_while_idle_are_replaced() {
    let Some(db) = streamit_testing::postgres().await else {
        return;
    };
    let store = Store::connect(&db.url).await.unwrap();
    let host = guest(&store, "Ada").await;
    let admin = Store::connect(&db.url).await.unwrap();
    sqlx::query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .execute(&admin.pool)
    .await
    .unwrap();
    tokio::time::sleep(super::pool::PING_AFTER_IDLE + std::time::Duration::from_secs(1)).await;
    assert!(store.user(host).await.unwrap().is_some());
}

/// Two nodes starting at once on a fresh database both come up with one schema.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_starts_agree() {
    for db in streamit_testing::backends().await {
        let (a, b) = tokio::join!(Store::connect(&db.url), Store::connect(&db.url));
        let (a, b) = (a.unwrap(), b.unwrap());
        let id = guest(&a, "Ada").await;
        assert!(b.user(id).await.unwrap().is_some(), "{:?}", a.backend());
    }
}

#[tokio::test]
async fn in_memory_sqlite_is_one_shared_database() {
    let store = Store::connect("sqlite::memory:").await.unwrap();
    let ids = [
        guest(&store, "A").await,
        guest(&store, "B").await,
        guest(&store, "C").await,
    ];
    for id in ids {
        assert!(store.user(id).await.unwrap().is_some());
    }
}

#[tokio::test]
async fn unknown_schemes_are_refused() {
    assert!(Store::connect("mysql://localhost/streamit").await.is_err());
}
