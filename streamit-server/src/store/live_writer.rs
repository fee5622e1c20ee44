//! The connection live rooms write through. Every playback change and chat line is stored
//! before it is told (`realtime::persist`), so its write sits on the path of the room's next
//! broadcast. On a SQLite file a node's live writes (playback, chat, presence, counter ceilings)
//! go through one connection held for them rather than the pool:
//! - sqlx pings every connection the pool takes back, on a task of its own, and a ping is a
//!   second trip to the connection's thread and back: two thread hand-offs per write more;
//! - each of the pool's connections keeps its own page cache, which another connection's commit
//!   invalidates, so a pooled write first reads back the pages the previous one wrote.
//!
//! SQLite lets one connection write at a time anyway: here the writes wait their turn for the
//! connection instead of for SQLite's lock. PostgreSQL takes writes in parallel, and an
//! in-memory SQLite database is the pool's one connection, so both keep the pool.

use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use sqlx::AnyConnection;
use sqlx::any::Any;
use sqlx::pool::PoolConnection;
use tokio::sync::{Mutex, MutexGuard};

use super::{Error, Result, Store, pool};

/// Where a store's live writes go.
#[derive(Clone)]
pub(super) enum LiveWriter {
    /// A connection of the pool per write.
    Pool,
    /// The connection held for them.
    Held(Arc<Held>),
}

/// The connection held for live writes, and how to open another.
pub(super) struct Held {
    /// The URL to open it with, as the pool's connections are.
    url: String,
    /// `None` until the first write, and again after a write whose failure may have broken the
    /// connection (its thread gone, an I/O error): the next write opens a new one.
    conn: Mutex<Option<AnyConnection>>,
}

impl LiveWriter {
    /// Live writes for the store at `url`.
    pub(super) fn new(url: &str, backend: super::Backend) -> Self {
        if backend == super::Backend::Sqlite && !pool::is_memory(url) {
            Self::Held(Arc::new(Held {
                url: pool::sqlite_url(url),
                conn: Mutex::new(None),
            }))
        } else {
            Self::Pool
        }
    }
}

/// A connection for one live write. Hand the write's outcome to [`LiveConn::settle`], so that a
/// held connection the failure may have broken is not used again.
pub(super) enum LiveConn<'a> {
    Pooled(PoolConnection<Any>),
    Held(MutexGuard<'a, Option<AnyConnection>>),
}

impl LiveConn<'_> {
    /// The write's outcome, as the store reports it; a held connection is dropped (and opened
    /// afresh by the next write) unless the database itself answered.
    pub(super) fn settle<T>(self, outcome: sqlx::Result<T>) -> Result<T> {
        if let (Self::Held(mut conn), Err(error)) = (self, &outcome)
            && !still_usable_after(error)
        {
            tracing::warn!(%error, "live writes' connection failed; opening another for the next");
            *conn = None;
        }
        Ok(outcome?)
    }
}

/// Whether a connection that failed with `error` can be trusted with the next write: only when
/// the database answered (a constraint, a lock held past the busy timeout). Anything else (I/O,
/// the connection's thread gone, a protocol fault) may have left it broken.
fn still_usable_after(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(_))
}

impl Deref for LiveConn<'_> {
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

impl DerefMut for LiveConn<'_> {
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
    /// A connection for a live room's write. The held one is waited for as long as SQLite waits
    /// for its lock: a write ahead may be waiting for it, and the pool's writes would too.
    pub(super) async fn live_conn(&self) -> Result<LiveConn<'_>> {
        let held = match &self.live_writer {
            LiveWriter::Pool => return Ok(LiveConn::Pooled(self.pool.acquire().await?)),
            LiveWriter::Held(held) => held,
        };
        let mut conn = tokio::time::timeout(pool::SQLITE_BUSY_TIMEOUT, held.conn.lock())
            .await
            .map_err(|_| Error::Unavailable("live writes queued past the busy timeout".into()))?;
        if conn.is_none() {
            *conn = Some(pool::connect_one(&held.url).await?);
        }
        Ok(LiveConn::Held(conn))
    }
}

#[cfg(test)]
mod tests {
    use sqlx::Executor as _;

    use super::*;

    /// Whether the store's held connection is open now.
    async fn open(store: &Store) -> bool {
        let LiveWriter::Held(held) = &store.live_writer else {
            panic!("a SQLite file's live writes go through a held connection");
        };
        held.conn.lock().await.is_some()
    }

    #[tokio::test]
    async fn a_failure_the_database_answered_keeps_the_connection_and_any_other_replaces_it() {
        let db = streamit_testing::sqlite();
        let store = Store::connect(&db.url).await.unwrap();
        assert!(!open(&store).await, "opened by the first write, not before");

        let mut conn = store.live_conn().await.unwrap();
        let answered = conn.execute("SELECT * FROM no_such_table").await.map(drop);
        assert!(matches!(answered, Err(sqlx::Error::Database(_))));
        assert!(conn.settle(answered).is_err());
        assert!(
            open(&store).await,
            "SQLite answered: the connection is fine"
        );

        let conn = store.live_conn().await.unwrap();
        assert!(conn.settle::<()>(Err(sqlx::Error::WorkerCrashed)).is_err());
        assert!(
            !open(&store).await,
            "a crashed connection is not used again"
        );

        let mut conn = store.live_conn().await.unwrap();
        let written = conn.execute("SELECT 1").await.map(drop);
        conn.settle(written)
            .expect("the next write gets a new connection");
        assert!(open(&store).await);
    }
}
