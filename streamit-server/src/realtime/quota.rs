//! How many sockets one user, and one address, may hold open on this node at once. A socket
//! over either limit is refused with 4029; the counts fall as sockets close.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use streamit_protocol::v1::UserId;

use crate::rate_limit::address_key;

/// Open sockets per key, at most `max` each (`None`: no limit).
struct Counts<K> {
    open: Mutex<HashMap<K, u32>>,
    max: Option<u32>,
}

impl<K: Eq + Hash + Copy> Counts<K> {
    fn new(max: Option<u32>) -> Arc<Self> {
        Arc::new(Self {
            open: Mutex::new(HashMap::new()),
            max,
        })
    }

    /// One more socket for `key`, or `None` when it already holds `max`.
    fn take(self: &Arc<Self>, key: K) -> Option<Slot<K>> {
        let mut open = self
            .open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let count = open.entry(key).or_default();
        if self.max.is_some_and(|max| *count >= max) {
            return None;
        }
        *count += 1;
        Some(Slot {
            counts: Arc::clone(self),
            key,
        })
    }
}

/// A socket counted against its key until dropped.
pub(super) struct Slot<K: Eq + Hash + Copy> {
    counts: Arc<Counts<K>>,
    key: K,
}

impl<K: Eq + Hash + Copy> Drop for Slot<K> {
    fn drop(&mut self) {
        let mut open = self
            .counts
            .open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(count) = open.get_mut(&self.key) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.key);
            }
        }
    }
}

/// The per-user and per-address socket limits of this node.
pub(super) struct SocketQuota {
    per_user: Arc<Counts<UserId>>,
    per_ip: Arc<Counts<IpAddr>>,
}

impl SocketQuota {
    /// Limits of `per_user` and `per_ip` sockets; `None` lifts them.
    pub(super) fn new(per_user: Option<u32>, per_ip: Option<u32>) -> Self {
        Self {
            per_user: Counts::new(per_user),
            per_ip: Counts::new(per_ip),
        }
    }

    pub(super) fn user(&self, user: UserId) -> Option<Slot<UserId>> {
        self.per_user.take(user)
    }

    /// One more socket for the address (an IPv6 one counts by its /64).
    pub(super) fn ip(&self, ip: IpAddr) -> Option<Slot<IpAddr>> {
        self.per_ip.take(address_key(ip))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_holds_at_most_max_and_gets_slots_back_as_they_drop() {
        let quota = SocketQuota::new(Some(2), None);
        let ada = UserId::from_uuid(uuid::Uuid::new_v4());
        let bob = UserId::from_uuid(uuid::Uuid::new_v4());
        let first = quota.user(ada).unwrap();
        let _second = quota.user(ada).unwrap();
        assert!(quota.user(ada).is_none(), "a third is refused");
        assert!(quota.user(bob).is_some(), "others are counted apart");
        drop(first);
        assert!(quota.user(ada).is_some(), "a closed socket frees its slot");
        let ip: IpAddr = "203.0.113.9".parse().unwrap();
        let slots: Vec<_> = (0..100).map(|_| quota.ip(ip).unwrap()).collect();
        assert_eq!(slots.len(), 100, "no limit per address here");
    }

    #[test]
    fn counts_are_forgotten_at_zero() {
        let quota = SocketQuota::new(Some(1), Some(1));
        let ip: IpAddr = "203.0.113.9".parse().unwrap();
        drop(quota.ip(ip).unwrap());
        assert!(quota.per_ip.open.lock().unwrap().is_empty());
    }
}
