//! Reconnect delays: capped exponential backoff with jitter, so a server restart is not met
//! by every client at the same instant.

use std::time::Duration;

/// A connection that held this long was healthy: the count of attempts starts again after
/// it. One that ends sooner (a server that admits and then drops every socket, or keeps
/// failing to mend gaps) does not, so such a server is not asked again at the shortest delay
/// forever.
const HEALTHY_AFTER: Duration = Duration::from_secs(30);

/// Counts reconnect attempts since the last healthy connection and picks each delay.
#[derive(Debug)]
pub(crate) struct Backoff {
    initial: Duration,
    max: Duration,
    attempt: u32,
}

impl Backoff {
    pub(crate) fn new(initial: Duration, max: Duration) -> Self {
        Self {
            initial,
            max: max.max(initial),
            attempt: 0,
        }
    }

    /// The next attempt's number (from 1) and how long to wait before it.
    pub(crate) fn next(&mut self) -> (u32, Duration) {
        self.attempt = self.attempt.saturating_add(1);
        let jitter = rand::random::<f64>();
        (self.attempt, self.delay(self.attempt, jitter))
    }

    /// A connection admitted for `held` ended: when it was healthy, the count starts again.
    pub(crate) fn connection_ended(&mut self, held: Duration) {
        if held >= HEALTHY_AFTER {
            self.attempt = 0;
        }
    }

    /// `initial × 2^(attempt − 1)`, capped at `max`, then scaled into `[½, 1]` of itself by
    /// `jitter` (in `[0, 1)`): never zero, never more than the cap.
    fn delay(&self, attempt: u32, jitter: f64) -> Duration {
        let doublings = attempt.saturating_sub(1).min(31);
        let full = self
            .initial
            .checked_mul(1 << doublings)
            .map_or(self.max, |d| d.min(self.max));
        full.mul_f64(0.5 + jitter.clamp(0.0, 1.0) / 2.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_the_cap() {
        let backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(1));
        let full: Vec<_> = (1..=6).map(|a| backoff.delay(a, 1.0)).collect();
        let ms = |n| Duration::from_millis(n);
        assert_eq!(
            full,
            [ms(100), ms(200), ms(400), ms(800), ms(1000), ms(1000)]
        );
        assert_eq!(backoff.delay(1, 0.0), ms(50));
        assert_eq!(backoff.delay(u32::MAX, 0.0), ms(500));
    }

    #[test]
    fn attempts_count_until_a_connection_holds() {
        let mut backoff = Backoff::new(Duration::from_millis(10), Duration::from_millis(40));
        for expected in 1..=5 {
            let (attempt, delay) = backoff.next();
            assert_eq!(attempt, expected);
            assert!(delay >= Duration::from_millis(5) && delay <= Duration::from_millis(40));
        }
        backoff.connection_ended(HEALTHY_AFTER - Duration::from_millis(1));
        assert_eq!(
            backoff.next().0,
            6,
            "a connection dropped soon is one more attempt"
        );
        backoff.connection_ended(HEALTHY_AFTER);
        assert_eq!(backoff.next().0, 1);
    }
}
