//! The connection live rooms write through. On a SQLite file a node's live writes (playback,
//! chat, presence, counter ceilings) share one connection held for them, not the pool: sqlx
//! pings every connection the pool takes back, on a task of its own, so each pooled write
//! costs two trips to SQLite's connection thread instead of one, and a change's broadcast
//! waits for that write. SQLite lets one connection write at a time anyway; while one write
//! is in flight the next wait their turn here instead of for SQLite's lock. PostgreSQL takes
//! writes in parallel, so its live writes stay on the pool.

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
    /// The one connection held for them.
    Held(Arc<Mutex<AnyConnection>>),
}

impl LiveWriter {
    pub(super) fn new(held: Option<AnyConnection>) -> Self {
        held.map_or(Self::Pool, |conn| Self::Held(Arc::new(Mutex::new(conn))))
    }
}

/// A connection for one live write.
pub(super) enum LiveConn<'a> {
    Pooled(PoolConnection<Any>),
    Held(MutexGuard<'a, AnyConnection>),
}

impl Deref for LiveConn<'_> {
    type Target = AnyConnection;

    fn deref(&self) -> &AnyConnection {
        match self {
            Self::Pooled(conn) => conn,
            Self::Held(conn) => conn,
        }
    }
}

impl DerefMut for LiveConn<'_> {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        match self {
            Self::Pooled(conn) => conn,
            Self::Held(conn) => conn,
        }
    }
}

impl Store {
    /// A connection for a live room's write; waits as long as the pool would for one.
    pub(super) async fn live_conn(&self) -> Result<LiveConn<'_>> {
        match &self.live_writer {
            LiveWriter::Pool => Ok(LiveConn::Pooled(self.pool.acquire().await?)),
            LiveWriter::Held(held) => tokio::time::timeout(pool::ACQUIRE_TIMEOUT, held.lock())
                .await
                .map(LiveConn::Held)
                .map_err(|_| Error::Unavailable("live writes queued past the timeout".into())),
        }
    }
}
