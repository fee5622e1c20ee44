//! A bus that times every operation of the bus it wraps, for `/metrics`: the round trips to
//! Redis an operator watches (`streamit_bus_seconds`, `streamit_bus_failures_total`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::future::BoxFuture;

use super::{Bus, Health, Holder, Lease, LeaseKey, Result, Subscription, Topic};
use crate::metrics::Metrics;

pub(crate) struct Timed {
    inner: Arc<dyn Bus>,
    metrics: Arc<Metrics>,
}

impl Timed {
    pub(crate) fn new(inner: Arc<dyn Bus>, metrics: Arc<Metrics>) -> Self {
        Self { inner, metrics }
    }

    /// Runs `call`, recording how long it took and whether it failed under `op`.
    fn timed<'a, T: Send + 'a>(
        &'a self,
        op: &'static str,
        call: BoxFuture<'a, Result<T>>,
    ) -> BoxFuture<'a, Result<T>> {
        Box::pin(async move {
            let started = Instant::now();
            let answer = call.await;
            let took: Duration = started.elapsed();
            self.metrics.bus(op, took, answer.is_err());
            answer
        })
    }
}

impl Bus for Timed {
    fn publish<'a>(&'a self, topic: &'a Topic, message: Bytes) -> BoxFuture<'a, Result<()>> {
        self.timed("publish", self.inner.publish(topic, message))
    }

    fn subscribe<'a>(&'a self, topic: &'a Topic) -> BoxFuture<'a, Result<Subscription>> {
        self.timed("subscribe", self.inner.subscribe(topic))
    }

    fn acquire<'a>(
        &'a self,
        key: &'a LeaseKey,
        holder: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<Option<Lease>>> {
        self.timed("acquire", self.inner.acquire(key, holder, ttl))
    }

    fn renew<'a>(&'a self, lease: &'a Lease, ttl: Duration) -> BoxFuture<'a, Result<bool>> {
        self.timed("renew", self.inner.renew(lease, ttl))
    }

    fn release<'a>(&'a self, lease: &'a Lease) -> BoxFuture<'a, Result<()>> {
        self.timed("release", self.inner.release(lease))
    }

    fn holder<'a>(&'a self, key: &'a LeaseKey) -> BoxFuture<'a, Result<Option<Holder>>> {
        self.timed("holder", self.inner.holder(key))
    }

    fn publish_fenced<'a>(
        &'a self,
        lease: &'a Lease,
        topic: &'a Topic,
        message: Bytes,
    ) -> BoxFuture<'a, Result<bool>> {
        self.timed(
            "publish_fenced",
            self.inner.publish_fenced(lease, topic, message),
        )
    }

    fn health(&self) -> Health {
        self.inner.health()
    }
}
