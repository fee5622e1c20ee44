//! The bus over Redis: messages go through Redis pub/sub to every node. Per node there are two
//! connections, never one per call: a multiplexed command connection (`PUBLISH`; it reconnects
//! by itself) and one subscription connection, owned by a task that restores every topic after
//! Redis comes back. Both retry with capped exponential backoff and full jitter, so a Redis
//! restart does not meet every node at once. Messages published while a node is cut off are
//! not delivered to it (pub/sub keeps nothing).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use ::redis::aio::{ConnectionManager, ConnectionManagerConfig, PubSubSink};
use ::redis::{AsyncCommands as _, Client, Msg, Script};
use bytes::Bytes;
use futures_util::StreamExt as _;
use futures_util::future::BoxFuture;
use rand::Rng as _;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::{Bus, Error, Health, Holder, Lease, LeaseKey, Result, Subscription, Topic, deliver};

/// The longest wait for a connection or a command before it counts as failed.
const TIMEOUT: Duration = Duration::from_secs(3);
/// The first and the longest wait between two connection attempts.
const FIRST_RETRY: Duration = Duration::from_millis(100);
const LONGEST_RETRY: Duration = Duration::from_secs(5);

/// Grants a free lease: KEYS[1] the lease, KEYS[2] its fence counter; ARGV holder, ttl ms.
const ACQUIRE: &str = r"
if redis.call('EXISTS', KEYS[1]) == 1 then return false end
local fence = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], ARGV[1] .. '|' .. fence, 'PX', ARGV[2])
return fence";
/// Extends a lease still held with this token: ARGV token, ttl ms.
const RENEW: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0";
/// Deletes a lease still held with this token.
const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0";
/// Publishes ARGV[3] on channel ARGV[2] only while the lease holds with token ARGV[1].
const PUBLISH_FENCED: &str = r"
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PUBLISH', ARGV[2], ARGV[3])
return 1";

/// A Redis-backed bus; cheap to share behind an `Arc`.
pub(crate) struct Redis {
    commands: ConnectionManager,
    subscribe: mpsc::UnboundedSender<Subscribe>,
    health: Arc<Mutex<Health>>,
    scripts: Scripts,
}

/// The lease scripts, loaded once (by hash, with a fallback to the source after a flush).
struct Scripts {
    acquire: Script,
    renew: Script,
    release: Script,
    publish_fenced: Script,
}

/// A request to the subscription task.
struct Subscribe {
    topic: Topic,
    subscriber: mpsc::Sender<Bytes>,
    done: oneshot::Sender<Result<()>>,
}

/// Capped exponential backoff with full jitter.
struct Backoff(Duration);

impl Backoff {
    fn new() -> Self {
        Self(FIRST_RETRY)
    }

    fn next(&mut self) -> Duration {
        let ceiling = self.0;
        self.0 = (self.0 * 2).min(LONGEST_RETRY);
        rand::rng().random_range(Duration::ZERO..=ceiling)
    }
}

impl Redis {
    /// Connects to `url`. While Redis is unreachable this waits and retries (a node starting
    /// before its Redis is normal in a deployment); it gives up only on `shutdown`, or at once
    /// when the URL itself is wrong.
    pub(crate) async fn connect(
        url: &str,
        shutdown: &CancellationToken,
        tasks: &TaskTracker,
    ) -> Result<Self> {
        let client = Client::open(url)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(TIMEOUT))
            .set_response_timeout(Some(TIMEOUT))
            .set_max_delay(LONGEST_RETRY)
            .set_number_of_retries(2);
        let mut backoff = Backoff::new();
        let commands = loop {
            let attempt = client.get_connection_manager_with_config(config.clone());
            let error = tokio::select! {
                () = shutdown.cancelled() => return Err(Error::Closed),
                connected = attempt => match connected {
                    Ok(commands) => break commands,
                    Err(error) => error,
                },
            };
            tracing::warn!(%error, "redis unreachable; retrying");
            tokio::select! {
                () = shutdown.cancelled() => return Err(Error::Closed),
                () = tokio::time::sleep(backoff.next()) => {}
            }
        };
        let health = Arc::new(Mutex::new(Health::Down("connecting to redis".to_owned())));
        let (subscribe, requests) = mpsc::unbounded_channel();
        tasks.spawn(listen(
            client,
            requests,
            Arc::clone(&health),
            shutdown.clone(),
        ));
        Ok(Self {
            commands,
            subscribe,
            health,
            scripts: Scripts {
                acquire: Script::new(ACQUIRE),
                renew: Script::new(RENEW),
                release: Script::new(RELEASE),
                publish_fenced: Script::new(PUBLISH_FENCED),
            },
        })
    }
}

fn lock(health: &Mutex<Health>) -> MutexGuard<'_, Health> {
    health.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Bus for Redis {
    fn publish<'a>(&'a self, topic: &'a Topic, message: Bytes) -> BoxFuture<'a, Result<()>> {
        let mut commands = self.commands.clone();
        Box::pin(async move {
            let _receivers: u64 = commands.publish(topic.as_str(), message.as_ref()).await?;
            Ok(())
        })
    }

    fn subscribe<'a>(&'a self, topic: &'a Topic) -> BoxFuture<'a, Result<Subscription>> {
        Box::pin(async move {
            let (subscriber, subscription) = Subscription::channel();
            let (done, subscribed) = oneshot::channel();
            let request = Subscribe {
                topic: topic.clone(),
                subscriber,
                done,
            };
            self.subscribe.send(request).map_err(|_| Error::Closed)?;
            subscribed.await.map_err(|_| Error::Closed)??;
            Ok(subscription)
        })
    }

    fn acquire<'a>(
        &'a self,
        key: &'a LeaseKey,
        holder: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<Option<Lease>>> {
        let mut commands = self.commands.clone();
        Box::pin(async move {
            let fence: Option<u64> = self
                .scripts
                .acquire
                .key(key.as_str())
                .key(format!("{}:fence", key.as_str()))
                .arg(holder)
                .arg(millis(ttl))
                .invoke_async(&mut commands)
                .await?;
            Ok(fence.map(|fence| Lease::new(key.clone(), holder, fence)))
        })
    }

    fn renew<'a>(&'a self, lease: &'a Lease, ttl: Duration) -> BoxFuture<'a, Result<bool>> {
        let mut commands = self.commands.clone();
        Box::pin(async move {
            let renewed: u8 = self
                .scripts
                .renew
                .key(lease.key.as_str())
                .arg(&lease.token)
                .arg(millis(ttl))
                .invoke_async(&mut commands)
                .await?;
            Ok(renewed == 1)
        })
    }

    fn release<'a>(&'a self, lease: &'a Lease) -> BoxFuture<'a, Result<()>> {
        let mut commands = self.commands.clone();
        Box::pin(async move {
            let _released: u8 = self
                .scripts
                .release
                .key(lease.key.as_str())
                .arg(&lease.token)
                .invoke_async(&mut commands)
                .await?;
            Ok(())
        })
    }

    fn holder<'a>(&'a self, key: &'a LeaseKey) -> BoxFuture<'a, Result<Option<Holder>>> {
        let mut commands = self.commands.clone();
        Box::pin(async move {
            let value: Option<String> = commands.get(key.as_str()).await?;
            Ok(value.as_deref().and_then(Holder::parse))
        })
    }

    fn publish_fenced<'a>(
        &'a self,
        lease: &'a Lease,
        topic: &'a Topic,
        message: Bytes,
    ) -> BoxFuture<'a, Result<bool>> {
        let mut commands = self.commands.clone();
        Box::pin(async move {
            let published: u8 = self
                .scripts
                .publish_fenced
                .key(lease.key.as_str())
                .arg(&lease.token)
                .arg(topic.as_str())
                .arg(message.as_ref())
                .invoke_async(&mut commands)
                .await?;
            Ok(published == 1)
        })
    }

    fn health(&self) -> Health {
        lock(&self.health).clone()
    }
}

/// A duration as Redis's whole milliseconds, at least one.
fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis())
        .unwrap_or(u64::MAX)
        .max(1)
}

/// Subscribers per topic, on this node.
type Topics = HashMap<Topic, Vec<mpsc::Sender<Bytes>>>;

/// The subscription connection's task: connects, restores every topic, serves subscription
/// requests and routes messages, and starts over when the connection is lost.
async fn listen(
    client: Client,
    mut requests: mpsc::UnboundedReceiver<Subscribe>,
    health: Arc<Mutex<Health>>,
    shutdown: CancellationToken,
) {
    let mut topics = Topics::new();
    let mut backoff = Backoff::new();
    loop {
        let connected = tokio::select! {
            () = shutdown.cancelled() => return,
            connected = tokio::time::timeout(TIMEOUT, resubscribed(&client, &topics)) => connected,
        };
        let (mut sink, mut stream) = match connected {
            Ok(Ok(connection)) => connection,
            failed => {
                let reason = match failed {
                    Ok(Err(error)) => format!("redis unreachable: {error}"),
                    _ => "redis did not answer in time".to_owned(),
                };
                let was_up = std::mem::replace(&mut *lock(&health), Health::Down(reason.clone()));
                if was_up == Health::Up {
                    tracing::error!(%reason, "bus subscriptions lost; reconnecting");
                }
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = tokio::time::sleep(backoff.next()) => continue,
                }
            }
        };
        if std::mem::replace(&mut *lock(&health), Health::Up) != Health::Up {
            tracing::info!(topics = topics.len(), "bus subscriptions in place");
        }
        backoff = Backoff::new();
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                request = requests.recv() => {
                    let Some(request) = request else { return };
                    if serve(&mut sink, &mut topics, request).await.is_err() {
                        break;
                    }
                }
                message = stream.next() => match message {
                    Some(message) => route(&mut sink, &mut topics, &message).await,
                    None => {
                        *lock(&health) = Health::Down("redis connection lost".to_owned());
                        tracing::error!("bus subscriptions lost; reconnecting");
                        break;
                    }
                },
            }
        }
    }
}

/// A fresh subscription connection, subscribed to every topic that has subscribers.
async fn resubscribed(
    client: &Client,
    topics: &Topics,
) -> ::redis::RedisResult<(PubSubSink, ::redis::aio::PubSubStream)> {
    let (mut sink, stream) = client.get_async_pubsub().await?.split();
    let names: Vec<&str> = topics.keys().map(Topic::as_str).collect();
    if !names.is_empty() {
        sink.subscribe(names).await?;
    }
    Ok((sink, stream))
}

/// Adds a subscriber, subscribing on Redis when it is the topic's first; `Err` when the
/// connection failed (the requester hears so too).
async fn serve(sink: &mut PubSubSink, topics: &mut Topics, request: Subscribe) -> Result<(), ()> {
    let Subscribe {
        topic,
        subscriber,
        done,
    } = request;
    if let Some(subscribers) = topics.get_mut(&topic) {
        subscribers.push(subscriber);
        let _ = done.send(Ok(()));
        return Ok(());
    }
    let subscribed = tokio::time::timeout(TIMEOUT, sink.subscribe(topic.as_str())).await;
    match subscribed {
        Ok(Ok(())) => {
            topics.insert(topic, vec![subscriber]);
            let _ = done.send(Ok(()));
            Ok(())
        }
        Ok(Err(error)) => {
            let _ = done.send(Err(error.into()));
            Err(())
        }
        Err(_) => {
            let _ = done.send(Err(Error::Closed));
            Err(())
        }
    }
}

/// Hands a message to the topic's subscribers; a topic nobody listens to any more is dropped.
async fn route(sink: &mut PubSubSink, topics: &mut Topics, message: &Msg) {
    let name = message.get_channel_name();
    let Some(subscribers) = topics.get_mut(name) else {
        return;
    };
    let payload = Bytes::copy_from_slice(message.get_payload_bytes());
    subscribers.retain(|subscriber| deliver(subscriber, name, &payload));
    if subscribers.is_empty() {
        topics.remove(name);
        // A failure here surfaces as the connection's end; the topic is forgotten either way.
        let _ = sink.unsubscribe(name).await;
    }
}
