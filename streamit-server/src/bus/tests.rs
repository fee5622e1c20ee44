//! One suite for every bus (run on [`Local`] and on [`Redis`] against a real `redis-server`),
//! then what only a bus between nodes can show: two nodes on one Redis, and Redis going away.

use std::time::Duration;

use bytes::Bytes;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::*;

/// Longer than any delivery on loopback; only reached when something is lost.
const WAIT: Duration = Duration::from_secs(10);

async fn next(subscription: &mut Subscription) -> Bytes {
    tokio::time::timeout(WAIT, subscription.next())
        .await
        .expect("a message within the wait")
        .expect("the bus is open")
}

/// Nothing arrives for a moment: enough on loopback for a message already sent to show.
async fn nothing_more(subscription: &mut Subscription) {
    let quiet = tokio::time::timeout(Duration::from_millis(200), subscription.next()).await;
    assert!(quiet.is_err(), "unexpected message: {quiet:?}");
}

/// The suite every implementation passes.
async fn suite(bus: &dyn Bus, prefix: &str) {
    delivers_everything_in_order(bus, prefix).await;
    every_subscriber_hears_only_its_topics(bus, prefix).await;
    a_dropped_subscription_is_forgotten(bus, prefix).await;
    a_lease_has_one_holder_at_a_time(bus, prefix).await;
    a_lost_lease_can_no_longer_publish(bus, prefix).await;
    assert_eq!(bus.health(), Health::Up);
}

async fn a_lease_has_one_holder_at_a_time(bus: &dyn Bus, prefix: &str) {
    let key = LeaseKey::new(prefix, "room:ABCD2345");
    let ttl = Duration::from_secs(30);
    let first = bus.acquire(&key, "node-a", ttl).await.unwrap().unwrap();
    assert!(bus.acquire(&key, "node-b", ttl).await.unwrap().is_none());
    let holder = bus.holder(&key).await.unwrap().unwrap();
    assert_eq!(
        (holder.name.as_str(), holder.fence),
        ("node-a", first.fence)
    );
    assert!(bus.renew(&first, ttl).await.unwrap());
    bus.release(&first).await.unwrap();
    assert_eq!(bus.holder(&key).await.unwrap(), None);
    let second = bus.acquire(&key, "node-b", ttl).await.unwrap().unwrap();
    assert!(second.fence > first.fence, "fences rise with every grant");
    assert!(
        !bus.renew(&first, ttl).await.unwrap(),
        "an old grant stays lost"
    );
    bus.release(&first).await.unwrap();
    assert_eq!(
        bus.holder(&key).await.unwrap().map(|h| h.name),
        Some("node-b".to_owned()),
        "releasing an old grant leaves the new one alone"
    );
    bus.release(&second).await.unwrap();
}

async fn a_lost_lease_can_no_longer_publish(bus: &dyn Bus, prefix: &str) {
    let key = LeaseKey::new(prefix, "room:EFGH2345");
    let topic = Topic::new(prefix, "fenced");
    let mut subscription = bus.subscribe(&topic).await.unwrap();
    let paused = bus
        .acquire(&key, "node-a", Duration::from_millis(100))
        .await
        .unwrap()
        .unwrap();
    assert!(
        bus.publish_fenced(&paused, &topic, Bytes::from_static(b"a1"))
            .await
            .unwrap()
    );
    assert_eq!(next(&mut subscription).await, "a1");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let ttl = Duration::from_secs(30);
    let taken = bus.acquire(&key, "node-b", ttl).await.unwrap().unwrap();
    assert!(!bus.renew(&paused, ttl).await.unwrap());
    assert!(
        !bus.publish_fenced(&paused, &topic, Bytes::from_static(b"a2"))
            .await
            .unwrap()
    );
    assert!(
        bus.publish_fenced(&taken, &topic, Bytes::from_static(b"b1"))
            .await
            .unwrap()
    );
    assert_eq!(
        next(&mut subscription).await,
        "b1",
        "nothing from the lost lease"
    );
    bus.release(&taken).await.unwrap();
}

async fn delivers_everything_in_order(bus: &dyn Bus, prefix: &str) {
    let topic = Topic::new(prefix, "order");
    let mut subscription = bus.subscribe(&topic).await.unwrap();
    for i in 0..500u32 {
        bus.publish(&topic, Bytes::from(i.to_string()))
            .await
            .unwrap();
    }
    for i in 0..500u32 {
        assert_eq!(next(&mut subscription).await, i.to_string());
    }
    nothing_more(&mut subscription).await;
}

async fn every_subscriber_hears_only_its_topics(bus: &dyn Bus, prefix: &str) {
    let (films, music) = (Topic::new(prefix, "films"), Topic::new(prefix, "music"));
    let mut first = bus.subscribe(&films).await.unwrap();
    let mut second = bus.subscribe(&films).await.unwrap();
    let mut other = bus.subscribe(&music).await.unwrap();
    bus.publish(&films, Bytes::from_static(b"heat"))
        .await
        .unwrap();
    assert_eq!(next(&mut first).await, "heat");
    assert_eq!(next(&mut second).await, "heat");
    nothing_more(&mut other).await;
}

async fn a_dropped_subscription_is_forgotten(bus: &dyn Bus, prefix: &str) {
    let topic = Topic::new(prefix, "dropped");
    let gone = bus.subscribe(&topic).await.unwrap();
    drop(gone);
    for _ in 0..3 {
        bus.publish(&topic, Bytes::from_static(b"x")).await.unwrap();
    }
    let mut again = bus.subscribe(&topic).await.unwrap();
    bus.publish(&topic, Bytes::from_static(b"y")).await.unwrap();
    assert_eq!(next(&mut again).await, "y");
}

async fn redis_node(url: &str, shutdown: &CancellationToken) -> Redis {
    let tasks = TaskTracker::new();
    Redis::connect(url, shutdown, &tasks).await.unwrap()
}

/// Waits until the bus's subscriptions are in place.
async fn up(bus: &dyn Bus) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while bus.health() != Health::Up {
        assert!(tokio::time::Instant::now() < deadline, "{:?}", bus.health());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn the_local_bus_passes_the_suite() {
    suite(&Local::default(), "local").await;
}

#[tokio::test]
async fn the_redis_bus_passes_the_suite() {
    let Some(redis) = streamit_testing::redis().await else {
        return;
    };
    let shutdown = CancellationToken::new();
    let bus = redis_node(&redis.url, &shutdown).await;
    suite(&bus, &redis.prefix).await;
    shutdown.cancel();
}

#[tokio::test]
async fn what_one_node_publishes_every_node_hears() {
    let Some(redis) = streamit_testing::redis().await else {
        return;
    };
    let shutdown = CancellationToken::new();
    let (a, b) = (
        redis_node(&redis.url, &shutdown).await,
        redis_node(&redis.url, &shutdown).await,
    );
    let topic = Topic::new(&redis.prefix, "rooms");
    let mut on_a = a.subscribe(&topic).await.unwrap();
    let mut on_b = b.subscribe(&topic).await.unwrap();
    a.publish(&topic, Bytes::from_static(b"from a"))
        .await
        .unwrap();
    b.publish(&topic, Bytes::from_static(b"from b"))
        .await
        .unwrap();
    for subscription in [&mut on_a, &mut on_b] {
        assert_eq!(next(subscription).await, "from a");
        assert_eq!(next(subscription).await, "from b");
    }
    let elsewhere = Topic::new("another-cluster", "rooms");
    a.publish(&elsewhere, Bytes::from_static(b"x"))
        .await
        .unwrap();
    nothing_more(&mut on_b).await;
    shutdown.cancel();
}

#[tokio::test]
async fn subscriptions_come_back_after_redis_restarts() {
    let Some(mut redis) = streamit_testing::redis().await else {
        return;
    };
    if std::env::var("STREAMIT_TEST_REDIS_URL").is_ok() {
        return; // a shared Redis is not the test's to restart
    }
    let shutdown = CancellationToken::new();
    let bus = redis_node(&redis.url, &shutdown).await;
    let topic = Topic::new(&redis.prefix, "restart");
    let mut subscription = bus.subscribe(&topic).await.unwrap();
    up(&bus).await;
    redis.kill();
    let deadline = tokio::time::Instant::now() + WAIT;
    while bus.health() == Health::Up {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the loss went unnoticed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        bus.publish(&topic, Bytes::from_static(b"lost"))
            .await
            .is_err()
    );
    redis.restart().await;
    up(&bus).await;
    let deadline = tokio::time::Instant::now() + WAIT;
    while bus
        .publish(&topic, Bytes::from_static(b"back"))
        .await
        .is_err()
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "publishing never resumed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(next(&mut subscription).await, "back");
    shutdown.cancel();
}

#[tokio::test]
async fn a_node_starting_before_redis_waits_for_it() {
    let Some(mut redis) = streamit_testing::redis().await else {
        return;
    };
    if std::env::var("STREAMIT_TEST_REDIS_URL").is_ok() {
        return;
    }
    redis.kill();
    let shutdown = CancellationToken::new();
    let url = redis.url.clone();
    let starting = tokio::spawn({
        let shutdown = shutdown.clone();
        async move { redis_node(&url, &shutdown).await }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!starting.is_finished(), "it gave up instead of waiting");
    redis.restart().await;
    let bus = tokio::time::timeout(WAIT, starting).await.unwrap().unwrap();
    up(&bus).await;
    shutdown.cancel();
}

#[tokio::test]
async fn a_wrong_url_fails_at_once() {
    let shutdown = CancellationToken::new();
    let tasks = TaskTracker::new();
    assert!(matches!(
        Redis::connect("not a url", &shutdown, &tasks).await,
        Err(Error::Redis(_))
    ));
}
