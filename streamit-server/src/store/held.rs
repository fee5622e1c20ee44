//! Connections the store holds for the real-time path's hottest queries, rather than taking
//! them from the pool, on a SQLite file:
//! - live rooms' writes (playback, chat, presence, counter ceilings): every playback change
//!   and chat line is stored before it is told (`realtime::persist`), so its write sits on the
//!   path of the room's next broadcast;
//! - sockets' admission reads: one per socket, thousands a second while a big room fills.
//!
//! Why held: sqlx pings every connection the pool takes back, on a task of its own, and for
//! SQLite a ping is a second trip to the connection's thread and back, two more thread
//! hand-offs per query; and each pooled connection keeps its own page cache, which another
//! connection's commit invalidates, so a pooled query first reads back what the last one wrote.
//! Each lane has one connection, and its queries wait their turn for it: SQLite lets one
//! connection write at a time anyway, and an admission read takes tens of microseconds. The
//! price: SQLite checkpoints its WAL inside the commit that crosses its threshold (every 1 000
//! pages, with an `fsync`), and every live write waits behind that commit.
//!
//! PostgreSQL runs queries in parallel, and an in-memory SQLite database is the pool's one
//! connection, so both keep the pool.

use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use sqlx::any::Any;
use sqlx::pool::PoolConnection;
use sqlx::{AnyConnection, Connection as _};
use tokio::sync::{Mutex, MutexGuard};

use super::{Backend, Error, Result, Store, pool};

/// Where one kind of query goes.
#[derive(Clone)]
pub(super) enum Lane {
    /// A connection of the pool per query.
    Pool,
    /// The connection held for them.
    Held(Arc<Held>),
}

/// A connection held for one lane, and how to open another.
pub(super) struct Held {
    /// What waits for the connection are timed as, in `streamit_store_query_seconds`: the
    /// pool's metrics do not see a held connection, so this is where a busy lane shows.
    wait: &'static str,
    /// The URL to open it with, as the pool's connections are.
    url: String,
    conn: Mutex<Slot>,
}

/// A held connection's state.
pub(super) enum Slot {
    /// Before the first query, and after a query whose failure may have broken the connection
    /// (its thread gone): the next query opens one.
    Unopened,
    Open(AnyConnection),
    /// The store closed: no query opens another, as none takes one from a closed pool.
    Closed,
}

impl Lane {
    /// A lane of the store at `url`: held on a SQLite file, the pool otherwise. Waits for its
    /// held connection are timed as the query `wait`.
    pub(super) fn new(url: &str, backend: Backend, wait: &'static str) -> Self {
        if backend == Backend::Sqlite && !pool::is_memory(url) {
            Self::Held(Arc::new(Held {
                wait,
                url: pool::sqlite_url(url),
                conn: Mutex::new(Slot::Unopened),
            }))
        } else {
            Self::Pool
        }
    }

    /// Closes the held connection, if open, for good.
    async fn close(&self) {
        let Self::Held(held) = self else { return };
        let slot = std::mem::replace(&mut *held.conn.lock().await, Slot::Closed);
        if let Slot::Open(conn) = slot
            && let Err(error) = conn.close().await
        {
            tracing::warn!(%error, "closing a held connection failed");
        }
    }
}

/// A connection for one query (or transaction) of a lane. Hand its outcome to
/// [`LaneConn::settle`], so that a held connection the failure may have broken is not used
/// again.
pub(super) enum LaneConn<'a> {
    Pooled(PoolConnection<Any>),
    /// Always `Slot::Open` while handed out.
    Held(MutexGuard<'a, Slot>),
}

impl LaneConn<'_> {
    /// The query's outcome, as the store reports it; a held connection is dropped (and opened
    /// afresh by the lane's next query) unless the database itself answered.
    pub(super) fn settle<T>(self, outcome: sqlx::Result<T>) -> Result<T> {
        if let (Self::Held(mut conn), Err(error)) = (self, &outcome)
            && !still_usable_after(error)
        {
            tracing::warn!(%error, "a held connection failed; opening another for the next query");
            *conn = Slot::Unopened;
        }
        Ok(outcome?)
    }
}

/// Whether a connection that failed with `error` can be trusted with the next query: when the
/// database answered (a constraint, a lock held past the busy timeout; SQLite reports a disk's
/// I/O errors this way too, and recovers from them itself). Anything else (the connection's
/// thread gone, a protocol fault) may have left it broken; a value that failed to encode or
/// decode did not, and costs a reopen, nothing more.
fn still_usable_after(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(_))
}

impl Deref for LaneConn<'_> {
    type Target = AnyConnection;

    fn deref(&self) -> &AnyConnection {
        match self {
            Self::Pooled(conn) => conn,
            Self::Held(slot) => match &**slot {
                Slot::Open(conn) => conn,
                Slot::Unopened | Slot::Closed => {
                    unreachable!("a held connection is open once handed out")
                }
            },
        }
    }
}

impl DerefMut for LaneConn<'_> {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        match self {
            Self::Pooled(conn) => conn,
            Self::Held(slot) => match &mut **slot {
                Slot::Open(conn) => conn,
                Slot::Unopened | Slot::Closed => {
                    unreachable!("a held connection is open once handed out")
                }
            },
        }
    }
}

impl Store {
    /// Closes every connection, the held ones first, waiting for those in use to come back.
    /// SQLite folds the WAL back into a database file when its last connection closes, and
    /// removes the WAL files: after a clean stop only the database remains, which is what a
    /// copy of it for a backup needs (docs/operations.md).
    pub(crate) async fn close(&self) {
        self.live_writes.close().await;
        self.admissions.close().await;
        self.pool.close().await;
    }

    /// A connection of `lane`. A held one is waited for as long as SQLite waits for its lock:
    /// a query ahead may be waiting for it, and the pool's queries would too.
    pub(super) async fn conn<'a>(&'a self, lane: &'a Lane) -> Result<LaneConn<'a>> {
        let held = match lane {
            Lane::Pool => return Ok(LaneConn::Pooled(self.pool.acquire().await?)),
            Lane::Held(held) => held,
        };
        let waiting = self.time(held.wait);
        let mut conn = tokio::time::timeout(pool::SQLITE_BUSY_TIMEOUT, held.conn.lock())
            .await
            .map_err(|_| {
                Error::Unavailable(
                    "queries queued for a held connection past the busy timeout".into(),
                )
            })?;
        drop(waiting);
        match &*conn {
            Slot::Open(_) => {}
            Slot::Unopened => *conn = Slot::Open(pool::connect_one(&held.url).await?),
            Slot::Closed => return Err(sqlx::Error::PoolClosed.into()),
        }
        Ok(LaneConn::Held(conn))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use sqlx::Executor as _;

    use super::*;

    /// The held connection's page-cache setting, a per-connection one: set on one connection,
    /// it tells that connection from any opened after it.
    async fn cache_size(conn: &mut LaneConn<'_>) -> i64 {
        sqlx::query_scalar("PRAGMA cache_size")
            .fetch_one(&mut **conn)
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn a_failure_the_database_answered_keeps_the_connection_and_any_other_replaces_it() {
        let db = streamit_testing::sqlite();
        let store = Store::connect(&db.url).await.unwrap();
        let lane = &store.live_writes;
        let mut conn = store.conn(lane).await.unwrap();
        conn.execute("PRAGMA cache_size = 1234").await.unwrap();
        let answered = conn.execute("SELECT * FROM no_such_table").await.map(drop);
        assert!(matches!(answered, Err(sqlx::Error::Database(_))));
        assert!(conn.settle(answered).is_err());

        let mut conn = store.conn(lane).await.unwrap();
        assert_eq!(
            cache_size(&mut conn).await,
            1234,
            "SQLite answered: the same connection"
        );
        assert!(conn.settle::<()>(Err(sqlx::Error::WorkerCrashed)).is_err());

        let mut conn = store.conn(lane).await.unwrap();
        assert_ne!(
            cache_size(&mut conn).await,
            1234,
            "a crashed connection is not used again"
        );
    }

    #[tokio::test]
    async fn a_closed_store_opens_no_held_connection_again() {
        let db = streamit_testing::sqlite();
        let store = Store::connect(&db.url).await.unwrap();
        for lane in [&store.live_writes, &store.admissions] {
            let conn = store.conn(lane).await.unwrap();
            conn.settle(Ok(())).unwrap();
        }
        store.close().await;
        for lane in [&store.live_writes, &store.admissions] {
            let refused = store.conn(lane).await.err().expect("closed");
            assert!(refused.is_unavailable(), "{refused}");
        }
    }

    #[tokio::test]
    async fn a_query_waits_for_its_lane_as_long_as_sqlite_waits_for_a_lock() {
        let db = streamit_testing::sqlite();
        let store = Store::connect(&db.url).await.unwrap();
        let held = store.conn(&store.admissions).await.unwrap();
        let started = std::time::Instant::now();
        let waited = store
            .conn(&store.admissions)
            .await
            .err()
            .expect("the lane is taken");
        assert!(waited.is_unavailable(), "{waited}");
        assert!(started.elapsed() >= pool::SQLITE_BUSY_TIMEOUT);
        // The other lane is free all the while.
        let other = store.conn(&store.live_writes);
        assert!(
            tokio::time::timeout(Duration::from_secs(1), other)
                .await
                .is_ok()
        );
        drop(held);
    }
}
