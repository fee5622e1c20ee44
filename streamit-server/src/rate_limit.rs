//! Token buckets: a keyed limiter for login per IP and per e-mail, guest and register per IP,
//! and a single [`Bucket`] for each WebSocket's flood control.
//!
//! Each key's bucket is stored as one instant, its "theoretical arrival time" (the generic cell
//! rate algorithm): the moment the bucket would be full again. Taking a token pushes it one
//! refill interval later; a request is refused when that would put it more than `per` ahead of
//! now. This is an exact token bucket with no floating point and no timer.
//!
//! The map sits behind a `std::sync::Mutex`: every critical section is a hash lookup and a few
//! comparisons with nothing awaited, which is cheaper than an async lock.
//!
//! Memory stays bounded under a flood of distinct keys (spoofed e-mails, many addresses): at
//! [`MAX_KEYS`] buckets the limiter drops every bucket that is full again (which forgets
//! nothing, since a full bucket is what a new key gets), and if that is not enough it refuses
//! new keys until old ones refill. It does not evict live buckets: an attacker could then
//! reset their own bucket by flooding fresh keys, which would defeat login limits. The cost is
//! that during such a flood a first-time caller may be told to retry; known keys are unaffected.

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Buckets kept before the limiter starts refusing new keys; at a few hundred bytes per key
/// (the key text plus the map entry) this caps a limiter at tens of MiB.
const MAX_KEYS: usize = 100_000;

/// The shortest time between two sweeps of full buckets, so a flood of new keys costs one scan
/// of the map per second rather than one per request.
const SWEEP_INTERVAL: Duration = Duration::from_secs(1);

/// A limit on how often each key may act.
pub(crate) struct RateLimiter {
    /// `None` when limits are off.
    rule: Option<Rule>,
    /// Buckets kept at most.
    max_keys: usize,
    state: Mutex<State>,
}

/// The bucket's shape, in GCRA terms.
#[derive(Clone, Copy, Debug)]
struct Rule {
    /// Time for one token to come back: `per / burst`.
    interval: Duration,
    /// How far ahead of now a bucket's full-again time may be: `per`, so `burst` tokens fit.
    tolerance: Duration,
}

#[derive(Default)]
struct State {
    /// Per key, when the bucket will be full again; at or before now means full.
    buckets: HashMap<String, Instant>,
    /// When full buckets were last dropped.
    last_sweep: Option<Instant>,
}

impl RateLimiter {
    /// A bucket of `burst` tokens per key, refilling `burst` tokens every `per`; a `burst` of 0
    /// is taken as 1 so a misconfiguration cannot lock everyone out.
    pub(crate) fn new(burst: u32, per: Duration) -> Self {
        Self::with_max_keys(burst, per, MAX_KEYS)
    }

    fn with_max_keys(burst: u32, per: Duration, max_keys: usize) -> Self {
        Self {
            rule: Some(Rule::new(burst, per)),
            max_keys,
            state: Mutex::default(),
        }
    }

    /// A limiter that allows everything, for `--rate-limits off` (load tests, local work).
    pub(crate) fn disabled() -> Self {
        Self {
            rule: None,
            max_keys: 0,
            state: Mutex::default(),
        }
    }

    /// Takes a token from `key`'s bucket at `now`.
    ///
    /// # Errors
    /// When the bucket is empty, or it is new and the limiter is at capacity: how long to wait
    /// before trying again (for `Retry-After` and `retry_after_ms`).
    pub(crate) fn check(&self, key: &str, now: Instant) -> Result<(), Duration> {
        let Some(rule) = self.rule else {
            return Ok(());
        };
        // A panic elsewhere while holding the lock leaves the map consistent (every write is a
        // single insert or assignment), so a poisoned lock is safe to keep using.
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(full_at) = state.buckets.get_mut(key) {
            return rule.take(full_at, now);
        }
        if state.buckets.len() >= self.max_keys {
            state.sweep(now);
            if state.buckets.len() >= self.max_keys {
                return Err(rule.tolerance);
            }
        }
        let mut full_at = now;
        let verdict = rule.take(&mut full_at, now);
        state.buckets.insert(key.to_owned(), full_at);
        verdict
    }
}

/// One bucket with no key, for a limit its owner alone checks (a socket's flood control): no
/// map and no lock on every frame.
pub(crate) struct Bucket {
    /// `None` when limits are off.
    rule: Option<Rule>,
    /// When the bucket will be full again; at or before now means full.
    full_at: Instant,
}

impl Bucket {
    /// Full, holding `burst` tokens and refilling `burst` every `per`, as [`RateLimiter::new`].
    pub(crate) fn new(burst: u32, per: Duration) -> Self {
        Self {
            rule: Some(Rule::new(burst, per)),
            full_at: Instant::now(),
        }
    }

    /// A bucket that never runs out, for `--rate-limits off`.
    pub(crate) fn disabled() -> Self {
        Self {
            rule: None,
            full_at: Instant::now(),
        }
    }

    /// Takes a token at `now`; when empty, how long until one is back.
    pub(crate) fn take(&mut self, now: Instant) -> Result<(), Duration> {
        self.rule
            .map_or(Ok(()), |rule| rule.take(&mut self.full_at, now))
    }
}

impl Rule {
    /// `burst` tokens (at least 1, so a misconfiguration cannot lock everyone out) coming back
    /// over `per`.
    fn new(burst: u32, per: Duration) -> Self {
        Self {
            interval: per / burst.max(1),
            tolerance: per,
        }
    }

    /// Takes one token from the bucket that is full again at `full_at`.
    fn take(self, full_at: &mut Instant, now: Instant) -> Result<(), Duration> {
        let next = (*full_at).max(now) + self.interval;
        let ahead = next.saturating_duration_since(now);
        if ahead > self.tolerance {
            return Err(ahead - self.tolerance);
        }
        *full_at = next;
        Ok(())
    }
}

impl State {
    /// Drops every bucket that is full at `now`, at most once per [`SWEEP_INTERVAL`].
    fn sweep(&mut self, now: Instant) {
        let recent = self
            .last_sweep
            .is_some_and(|at| now.saturating_duration_since(at) < SWEEP_INTERVAL);
        if recent {
            return;
        }
        self.last_sweep = Some(now);
        self.buckets.retain(|_, full_at| *full_at > now);
    }
}

impl fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimiter")
            .field("rule", &self.rule)
            .field("max_keys", &self.max_keys)
            .finish_non_exhaustive()
    }
}

/// The key per-address limits count a client under: an IPv4 address as it is, an IPv6 one by
/// its /64, the block one subscriber usually gets whole, so a client cannot escape a limit by
/// moving within its own block.
pub(crate) fn address_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let prefix = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(Ipv6Addr::from(prefix))
        }
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use std::panic::{AssertUnwindSafe, catch_unwind};

    use super::*;

    const MINUTE: Duration = Duration::from_secs(60);

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn a_bucket_without_key_limits_like_a_keyed_one() {
        let mut bucket = Bucket::new(3, secs(3));
        let start = Instant::now();
        let keyed = RateLimiter::new(3, secs(3));
        for at in [0, 0, 0, 0, 1, 1, 2, 5] {
            let now = start + secs(at);
            assert_eq!(bucket.take(now), keyed.check("k", now), "at {at} s");
        }
        let mut off = Bucket::disabled();
        assert!((0..1000).all(|_| off.take(start).is_ok()));
    }

    #[test]
    fn allows_a_burst_then_refuses_with_the_wait() {
        let limiter = RateLimiter::new(5, MINUTE);
        let t0 = Instant::now();
        for _ in 0..5 {
            assert_eq!(limiter.check("1.2.3.4", t0), Ok(()));
        }
        assert_eq!(limiter.check("1.2.3.4", t0), Err(secs(12)));
        assert_eq!(limiter.check("1.2.3.4", t0 + secs(5)), Err(secs(7)));
    }

    #[test]
    fn refills_one_token_per_interval() {
        let limiter = RateLimiter::new(5, MINUTE);
        let t0 = Instant::now();
        for _ in 0..5 {
            limiter.check("k", t0).unwrap();
        }
        assert!(limiter.check("k", t0 + secs(11)).is_err());
        assert_eq!(limiter.check("k", t0 + secs(12)), Ok(()));
        assert!(limiter.check("k", t0 + secs(12)).is_err());
        assert_eq!(limiter.check("k", t0 + secs(24)), Ok(()));
    }

    #[test]
    fn refills_fully_after_per_and_no_further() {
        let limiter = RateLimiter::new(3, secs(3));
        let t0 = Instant::now();
        for _ in 0..3 {
            limiter.check("k", t0).unwrap();
        }
        // An hour idle still gives only `burst` tokens.
        let later = t0 + secs(3600);
        for _ in 0..3 {
            assert_eq!(limiter.check("k", later), Ok(()));
        }
        assert_eq!(limiter.check("k", later), Err(secs(1)));
    }

    #[test]
    fn refused_requests_take_no_token() {
        let limiter = RateLimiter::new(1, secs(10));
        let t0 = Instant::now();
        limiter.check("k", t0).unwrap();
        for s in 1..10 {
            assert_eq!(limiter.check("k", t0 + secs(s)), Err(secs(10 - s)));
        }
        assert_eq!(limiter.check("k", t0 + secs(10)), Ok(()));
    }

    #[test]
    fn keys_are_independent() {
        let limiter = RateLimiter::new(1, MINUTE);
        let t0 = Instant::now();
        assert_eq!(limiter.check("ada@example.com", t0), Ok(()));
        assert!(limiter.check("ada@example.com", t0).is_err());
        assert_eq!(limiter.check("bo@example.com", t0), Ok(()));
    }

    #[test]
    fn sub_second_rates_work() {
        // WebSocket flood control: 20 messages a second.
        let limiter = RateLimiter::new(20, secs(1));
        let t0 = Instant::now();
        for _ in 0..20 {
            limiter.check("conn", t0).unwrap();
        }
        assert_eq!(limiter.check("conn", t0), Err(Duration::from_millis(50)));
        assert_eq!(
            limiter.check("conn", t0 + Duration::from_millis(50)),
            Ok(())
        );
    }

    #[test]
    fn zero_burst_means_one() {
        let limiter = RateLimiter::new(0, MINUTE);
        let t0 = Instant::now();
        assert_eq!(limiter.check("k", t0), Ok(()));
        assert_eq!(limiter.check("k", t0), Err(MINUTE));
    }

    #[test]
    fn disabled_allows_everything_and_keeps_nothing() {
        let limiter = RateLimiter::disabled();
        let t0 = Instant::now();
        for i in 0..1000 {
            assert_eq!(limiter.check(&format!("k{}", i % 3), t0), Ok(()));
        }
        assert!(limiter.state.lock().unwrap().buckets.is_empty());
    }

    #[test]
    fn a_flood_of_keys_is_bounded() {
        let limiter = RateLimiter::with_max_keys(2, secs(10), 3);
        let t0 = Instant::now();
        for key in ["a", "b", "c"] {
            limiter.check(key, t0).unwrap();
        }
        // Full: a new key is refused rather than stored, known keys still work.
        assert_eq!(limiter.check("d", t0), Err(secs(10)));
        assert_eq!(limiter.check("a", t0), Ok(()));
        assert_eq!(limiter.state.lock().unwrap().buckets.len(), 3);
        // Once buckets are full again they are dropped and new keys fit.
        let later = t0 + secs(10);
        assert_eq!(limiter.check("d", later), Ok(()));
        assert_eq!(limiter.check("e", later), Ok(()));
        assert_eq!(limiter.state.lock().unwrap().buckets.len(), 2);
    }

    #[test]
    fn sweeping_drops_only_full_buckets() {
        let limiter = RateLimiter::with_max_keys(2, secs(10), 2);
        let t0 = Instant::now();
        limiter.check("busy", t0).unwrap();
        limiter.check("busy", t0).unwrap();
        limiter.check("idle", t0).unwrap();
        // At t0 + 5 s "idle" is full again, "busy" still owes a token.
        assert_eq!(limiter.check("new", t0 + secs(5)), Ok(()));
        let buckets = &limiter.state.lock().unwrap().buckets;
        assert!(buckets.contains_key("busy") && buckets.contains_key("new"));
        assert!(!buckets.contains_key("idle"));
    }

    #[test]
    fn sweeps_are_spaced_out() {
        let limiter = RateLimiter::with_max_keys(1, Duration::from_millis(100), 1);
        let t0 = Instant::now();
        limiter.check("a", t0).unwrap();
        assert!(
            limiter.check("b", t0).is_err(),
            "sweeps at t0, a is not full yet"
        );
        // "a" is full from t0 + 100 ms, but the next sweep waits for t0 + 1 s.
        assert!(limiter.check("b", t0 + Duration::from_millis(500)).is_err());
        assert_eq!(limiter.check("b", t0 + secs(1)), Ok(()));
    }

    #[test]
    fn a_poisoned_lock_is_recovered() {
        let limiter = RateLimiter::new(1, MINUTE);
        let t0 = Instant::now();
        limiter.check("k", t0).unwrap();
        let _ = catch_unwind(AssertUnwindSafe(|| {
            let _guard = limiter.state.lock().unwrap();
            panic!("poisoning the lock on purpose");
        }));
        assert!(limiter.state.is_poisoned());
        assert!(
            limiter.check("k", t0).is_err(),
            "the bucket survives the poisoning"
        );
        assert_eq!(limiter.check("other", t0), Ok(()));
    }

    #[test]
    fn shared_across_threads() {
        let limiter = RateLimiter::new(100, MINUTE);
        let t0 = Instant::now();
        let allowed: usize = std::thread::scope(|scope| {
            let workers: Vec<_> = (0..4)
                .map(|_| scope.spawn(|| (0..50).filter(|_| limiter.check("k", t0).is_ok()).count()))
                .collect();
            workers.into_iter().map(|w| w.join().unwrap()).sum()
        });
        assert_eq!(allowed, 100);
    }

    #[test]
    fn debug_is_short() {
        let shown = format!("{:?}", RateLimiter::new(5, MINUTE));
        assert!(
            shown.starts_with("RateLimiter { rule: Some(Rule"),
            "{shown}"
        );
        assert_eq!(
            format!("{:?}", RateLimiter::disabled()),
            "RateLimiter { rule: None, max_keys: 0, .. }"
        );
    }
}
