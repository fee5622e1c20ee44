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
    /// The URL to open it with, as the pool's connections are.
    url: String,
    /// `None` until the first query, and again after a query whose failure may have broken the
    /// connection (its thread gone, an I/O error): the next query opens a new one.
    conn: Mutex<Option<AnyConnection>>,
}

impl Lane {
    /// A lane of the store at `url`: held on a SQLite file, the pool otherwise.
    pub(super) fn new(url: &str, backend: Backend) -> Self {
        if backend == Backend::Sqlite && !pool::is_memory(url) {
            Self::Held(Arc::new(Held {
                url: pool::sqlite_url(url),
                conn: Mutex::new(None),
            }))
        } else {
            Self::Pool
        }
    }
}

impl Lane {
    /// Closes the held connection, if open.
    async fn close(&self) {
        let Self::Held(held) = self else { return };
        if let Some(conn) = held.conn.lock().await.take()
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
    Held(MutexGuard<'a, Option<AnyConnection>>),
}

impl LaneConn<'_> {
    /// The query's outcome, as the store reports it; a held connection is dropped (and opened
    /// afresh by the lane's next query) unless the database itself answered.
    pub(super) fn settle<T>(self, outcome: sqlx::Result<T>) -> Result<T> {
        if let (Self::Held(mut conn), Err(error)) = (self, &outcome)
            && !still_usable_after(error)
        {
            tracing::warn!(%error, "a held connection failed; opening another for the next query");
            *conn = None;
        }
        Ok(outcome?)
    }
}

/// Whether a connection that failed with `error` can be trusted with the next query: only when
/// the database answered (a constraint, a lock held past the busy timeout). Anything else (I/O,
/// the connection's thread gone, a protocol fault) may have left it broken.
fn still_usable_after(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(_))
}

impl Deref for LaneConn<'_> {
    type Target = AnyConnection;

    fn deref(&self) -> &AnyConnection {
        match self {
            Self::Pooled(conn) => conn,
            Self::Held(conn) => conn
                .as_ref()
                .expect("a held connection is open once handed out"),
        }
    }
}

impl DerefMut for LaneConn<'_> {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        match self {
            Self::Pooled(conn) => conn,
            Self::Held(conn) => conn
                .as_mut()
                .expect("a held connection is open once handed out"),
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
        let mut conn = tokio::time::timeout(pool::SQLITE_BUSY_TIMEOUT, held.conn.lock())
            .await
            .map_err(|_| {
                Error::Unavailable(
                    "queries queued for a held connection past the busy timeout".into(),
                )
            })?;
        if conn.is_none() {
            *conn = Some(pool::connect_one(&held.url).await?);
        }
        Ok(LaneConn::Held(conn))
    }
}

#[cfg(test)]
mod tests {
    use sqlx::Executor as _;

    use super::*;

    /// Whether the store's held connection for live writes is open now.
    async fn open(store: &Store) -> bool {
        let Lane::Held(held) = &store.live_writes else {
            panic!("a SQLite file's live writes go through a held connection");
        };
        held.conn.lock().await.is_some()
    }

    #[tokio::test]
    async fn a_failure_the_database_answered_keeps_the_connection_and_any_other_replaces_it() {
        let db = streamit_testing::sqlite();
        let store = Store::connect(&db.url).await.unwrap();
        assert!(!open(&store).await, "opened by the first write, not before");

        let mut conn = store.conn(&store.live_writes).await.unwrap();
        let answered = conn.execute("SELECT * FROM no_such_table").await.map(drop);
        assert!(matches!(answered, Err(sqlx::Error::Database(_))));
        assert!(conn.settle(answered).is_err());
        assert!(
            open(&store).await,
            "SQLite answered: the connection is fine"
        );

        let conn = store.conn(&store.live_writes).await.unwrap();
        assert!(conn.settle::<()>(Err(sqlx::Error::WorkerCrashed)).is_err());
        assert!(
            !open(&store).await,
            "a crashed connection is not used again"
        );

        let mut conn = store.conn(&store.live_writes).await.unwrap();
        let written = conn.execute("SELECT 1").await.map(drop);
        conn.settle(written)
            .expect("the next write gets a new connection");
        assert!(open(&store).await);
    }
}
