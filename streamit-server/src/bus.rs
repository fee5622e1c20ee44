//! How messages cross nodes (ARCHITECTURE: bus). One trait, [`Bus`], and two implementations
//! that pass one test suite: [`Local`], in-process, the default (a server with no Redis at
//! all), and [`Redis`] (`--redis-url`), which carries the same messages to every node.
//!
//! Delivery is publish/subscribe, at most once: a subscriber hears what is published after its
//! subscription is in place, in the order each publisher published it. Nothing is kept for a
//! subscriber that is not listening (Redis is never the authority: the store is), and a
//! subscriber that falls behind by [`SUBSCRIBER_BACKLOG`] messages loses the newest ones rather
//! than stall every other subscriber.
//!
//! Leases give one node at a time a right (to own a room, to count as alive), for a time it
//! must keep renewing. Each grant carries a fencing number that rises with every grant of the
//! same lease, and [`Bus::publish_fenced`] publishes only while the lease is still held: a node
//! paused past its lease cannot speak for a room any more, whatever it believes.
//!
//! Modules: `local` (in-process), `redis` (one subscription connection and one multiplexed
//! command connection per node, both reconnecting with backoff and jitter), `timed` (the
//! round trips, for `/metrics`).

mod local;
mod redis;
#[cfg(test)]
mod tests;
mod timed;

use std::borrow::Borrow;
use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use futures_util::future::BoxFuture;
use tokio::sync::mpsc;

pub(crate) use local::Local;
pub(crate) use redis::Redis;
pub(crate) use timed::Timed;

/// The bus a node runs on: Redis at `redis_url`, else in-process.
///
/// # Errors
/// When the URL is not a Redis URL, or `shutdown` came while waiting for Redis.
pub(crate) async fn connect(
    redis_url: Option<&str>,
    shutdown: &tokio_util::sync::CancellationToken,
    tasks: &tokio_util::task::TaskTracker,
) -> Result<std::sync::Arc<dyn Bus>> {
    Ok(match redis_url {
        None => std::sync::Arc::new(Local::default()),
        Some(url) => std::sync::Arc::new(Redis::connect(url, shutdown, tasks).await?),
    })
}

/// Messages a subscription may hold unread before newer ones are dropped.
pub(crate) const SUBSCRIBER_BACKLOG: usize = 1024;

/// Why a bus operation failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    /// Redis could not be reached or refused the command.
    #[error("redis: {0}")]
    Redis(#[from] ::redis::RedisError),
    /// The bus is being shut down or its connection task stopped.
    #[error("the bus is closed")]
    Closed,
}

pub(crate) type Result<T, E = Error> = std::result::Result<T, E>;

/// A named stream of messages; every node that subscribes to it hears every message.
#[derive(Clone, PartialEq, Eq, Hash)]
pub(crate) struct Topic(String);

impl Topic {
    /// `name` under the cluster's key prefix, so clusters (and tests) sharing one Redis never
    /// hear each other.
    pub(crate) fn new(prefix: &str, name: &str) -> Self {
        Self(format!("{prefix}:{name}"))
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

/// Lets a topic be looked up by the channel name Redis reports.
impl Borrow<str> for Topic {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The name of a lease, under the cluster's key prefix.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct LeaseKey(String);

impl LeaseKey {
    pub(crate) fn new(prefix: &str, name: &str) -> Self {
        Self(format!("{prefix}:lease:{name}"))
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }
}

/// A lease this node was granted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Lease {
    key: LeaseKey,
    /// `holder|fence`: what the lease's value must still be for this grant to hold.
    token: String,
    /// Rises with every grant of this lease.
    pub(crate) fence: u64,
}

impl Lease {
    fn new(key: LeaseKey, holder: &str, fence: u64) -> Self {
        Self {
            key,
            token: format!("{holder}|{fence}"),
            fence,
        }
    }
}

/// Who holds a lease, and under which grant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Holder {
    pub(crate) name: String,
    pub(crate) fence: u64,
}

impl Holder {
    /// Reads a lease's value, `holder|fence`.
    fn parse(token: &str) -> Option<Self> {
        let (name, fence) = token.rsplit_once('|')?;
        Some(Self {
            name: name.to_owned(),
            fence: fence.parse().ok()?,
        })
    }
}

/// Messages of one topic, as they arrive; unsubscribes when dropped.
pub(crate) struct Subscription {
    receiver: mpsc::Receiver<Bytes>,
}

impl Subscription {
    /// The subscription's sending side, and the subscription.
    fn channel() -> (mpsc::Sender<Bytes>, Self) {
        let (sender, receiver) = mpsc::channel(SUBSCRIBER_BACKLOG);
        (sender, Self { receiver })
    }

    /// The next message; `None` once the bus is gone.
    pub(crate) async fn next(&mut self) -> Option<Bytes> {
        self.receiver.recv().await
    }
}

/// Hands `message` to one subscriber without waiting; `false` once it is gone.
fn deliver(subscriber: &mpsc::Sender<Bytes>, topic: &str, message: &Bytes) -> bool {
    match subscriber.try_send(message.clone()) {
        Ok(()) => true,
        Err(mpsc::error::TrySendError::Full(_)) => {
            tracing::warn!(%topic, "a bus subscriber is behind; a message was dropped");
            true
        }
        Err(mpsc::error::TrySendError::Closed(_)) => false,
    }
}

/// Whether the bus can carry messages now, for `/readyz`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Health {
    Up,
    /// Why not, in words an operator can act on.
    Down(String),
}

/// One way for messages to cross nodes.
pub(crate) trait Bus: Send + Sync + 'static {
    /// Sends `message` to every subscriber of `topic` on every node.
    fn publish<'a>(&'a self, topic: &'a Topic, message: Bytes) -> BoxFuture<'a, Result<()>>;

    /// Listens to `topic`: every message published once this returns is delivered.
    fn subscribe<'a>(&'a self, topic: &'a Topic) -> BoxFuture<'a, Result<Subscription>>;

    /// Grants `key` to `holder` for `ttl`, unless someone holds it now.
    fn acquire<'a>(
        &'a self,
        key: &'a LeaseKey,
        holder: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<Option<Lease>>>;

    /// Extends the lease by `ttl` from now; `false` when it was lost (expired, or granted to
    /// another since).
    fn renew<'a>(&'a self, lease: &'a Lease, ttl: Duration) -> BoxFuture<'a, Result<bool>>;

    /// Gives the lease up, if it is still this grant.
    fn release<'a>(&'a self, lease: &'a Lease) -> BoxFuture<'a, Result<()>>;

    /// Who holds `key` now, with the grant's fence.
    fn holder<'a>(&'a self, key: &'a LeaseKey) -> BoxFuture<'a, Result<Option<Holder>>>;

    /// Publishes only while `lease` holds, in one atomic step; `false` (nothing published)
    /// when it was lost.
    fn publish_fenced<'a>(
        &'a self,
        lease: &'a Lease,
        topic: &'a Topic,
        message: Bytes,
    ) -> BoxFuture<'a, Result<bool>>;

    /// Whether messages can cross now.
    fn health(&self) -> Health;
}
