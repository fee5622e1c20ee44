//! The in-process bus: one node, no other service. Publishing hands the message to this
//! process's subscribers directly; leases live in this process's memory.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use futures_util::future::{self, BoxFuture};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::{Bus, Health, Holder, Lease, LeaseKey, Result, Subscription, Topic, deliver};

/// A grant, until it runs out.
struct Granted {
    token: String,
    until: Instant,
}

/// Leases and the last fence each was granted with.
#[derive(Default)]
struct Leases {
    granted: HashMap<LeaseKey, Granted>,
    fences: HashMap<LeaseKey, u64>,
}

impl Leases {
    /// The grant of `key`, unless it ran out.
    fn current(&mut self, key: &LeaseKey) -> Option<&mut Granted> {
        if self
            .granted
            .get(key)
            .is_some_and(|granted| granted.until <= Instant::now())
        {
            self.granted.remove(key);
        }
        self.granted.get_mut(key)
    }
}

/// Subscribers per topic, and leases. Std mutexes: the sections are short and never await.
#[derive(Default)]
pub(crate) struct Local {
    topics: Mutex<HashMap<Topic, Vec<mpsc::Sender<Bytes>>>>,
    leases: Mutex<Leases>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Local {
    fn deliver(&self, topic: &Topic, message: &Bytes) {
        let mut topics = lock(&self.topics);
        if let Some(subscribers) = topics.get_mut(topic) {
            subscribers.retain(|subscriber| deliver(subscriber, topic.as_str(), message));
            if subscribers.is_empty() {
                topics.remove(topic);
            }
        }
    }
}

impl Bus for Local {
    fn publish<'a>(&'a self, topic: &'a Topic, message: Bytes) -> BoxFuture<'a, Result<()>> {
        self.deliver(topic, &message);
        Box::pin(future::ready(Ok(())))
    }

    fn subscribe<'a>(&'a self, topic: &'a Topic) -> BoxFuture<'a, Result<Subscription>> {
        let (sender, subscription) = Subscription::channel();
        lock(&self.topics)
            .entry(topic.clone())
            .or_default()
            .push(sender);
        Box::pin(future::ready(Ok(subscription)))
    }

    fn acquire<'a>(
        &'a self,
        key: &'a LeaseKey,
        holder: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<Option<Lease>>> {
        let mut leases = lock(&self.leases);
        let granted = if leases.current(key).is_some() {
            None
        } else {
            let fence = leases.fences.entry(key.clone()).or_default();
            *fence += 1;
            let lease = Lease::new(key.clone(), holder, *fence);
            let granted = Granted {
                token: lease.token.clone(),
                until: Instant::now() + ttl,
            };
            leases.granted.insert(key.clone(), granted);
            Some(lease)
        };
        Box::pin(future::ready(Ok(granted)))
    }

    fn renew<'a>(&'a self, lease: &'a Lease, ttl: Duration) -> BoxFuture<'a, Result<bool>> {
        let mut leases = lock(&self.leases);
        let renewed = match leases.current(&lease.key) {
            Some(granted) if granted.token == lease.token => {
                granted.until = Instant::now() + ttl;
                true
            }
            _ => false,
        };
        Box::pin(future::ready(Ok(renewed)))
    }

    fn release<'a>(&'a self, lease: &'a Lease) -> BoxFuture<'a, Result<()>> {
        let mut leases = lock(&self.leases);
        if leases
            .current(&lease.key)
            .is_some_and(|granted| granted.token == lease.token)
        {
            leases.granted.remove(&lease.key);
        }
        Box::pin(future::ready(Ok(())))
    }

    fn holder<'a>(&'a self, key: &'a LeaseKey) -> BoxFuture<'a, Result<Option<Holder>>> {
        let holder = lock(&self.leases)
            .current(key)
            .and_then(|granted| Holder::parse(&granted.token));
        Box::pin(future::ready(Ok(holder)))
    }

    fn publish_fenced<'a>(
        &'a self,
        lease: &'a Lease,
        topic: &'a Topic,
        message: Bytes,
    ) -> BoxFuture<'a, Result<bool>> {
        let holds = lock(&self.leases)
            .current(&lease.key)
            .is_some_and(|granted| granted.token == lease.token);
        if holds {
            self.deliver(topic, &message);
        }
        Box::pin(future::ready(Ok(holds)))
    }

    fn health(&self) -> Health {
        Health::Up
    }
}
