//! Time: the [`Clock`] a session reads the local time from, and [`ClockSync`], which turns
//! `PING`/`PONG` round trips into an offset from the local clock to the server's.

use std::collections::VecDeque;
use std::time::{SystemTime, UNIX_EPOCH};

/// Samples kept; the estimate is the one among them with the smallest round trip.
const SAMPLES_KEPT: usize = 8;

/// The local wall clock a session measures with, in Unix epoch ms.
///
/// The default is [`SystemClock`]. Tests and simulations plug in their own (skewed,
/// stepped, simulated) to see how the session copes.
pub trait Clock: Send + Sync {
    /// Now, Unix epoch ms.
    fn now_ms(&self) -> u64;
}

/// The operating system's wall clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| {
                u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
            })
    }
}

/// One `PING`/`PONG` exchange, measured on the local clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Sample {
    /// Round trip, in ms.
    pub(crate) round_trip_ms: u64,
    /// Server clock minus local clock, in ms.
    pub(crate) offset_ms: i64,
}

/// Cristian's algorithm over a window: the server stamped `server_ts` somewhere within the
/// round trip, so the sample with the shortest round trip brackets it most tightly. Keeps the
/// last [`SAMPLES_KEPT`] samples and trusts the one with the smallest round trip (the newest
/// among equals).
#[derive(Debug, Default)]
pub(crate) struct ClockSync {
    samples: VecDeque<Sample>,
    /// The estimate from before the last reset, used until a new sample arrives.
    previous: Option<Sample>,
}

impl ClockSync {
    /// Adds the exchange `PING` at local `sent_ms` → server `server_ms` → `PONG` at local
    /// `received_ms`. A sample whose local clock went backwards is ignored.
    pub(crate) fn add(&mut self, sent_ms: u64, server_ms: u64, received_ms: u64) -> Option<Sample> {
        let round_trip_ms = received_ms.checked_sub(sent_ms)?;
        // Epoch ms are far below 2^62, so the casts are exact. The server read its clock, on
        // average, half way through the round trip.
        let midpoint = sent_ms as f64 + round_trip_ms as f64 / 2.0;
        let offset_ms = (server_ms as f64 - midpoint).round() as i64;
        let sample = Sample {
            round_trip_ms,
            offset_ms,
        };
        if self.samples.len() == SAMPLES_KEPT {
            self.samples.pop_front();
        }
        self.samples.push_back(sample);
        Some(sample)
    }

    /// The best sample of the window, or the estimate from before the last reset.
    pub(crate) fn estimate(&self) -> Option<Sample> {
        self.samples
            .iter()
            .rev()
            .min_by_key(|s| s.round_trip_ms)
            .copied()
            .or(self.previous)
    }

    /// Starts a new window (a new socket may take another path, or reach another node),
    /// keeping the current estimate until the first new sample.
    pub(crate) fn reset(&mut self) {
        self.previous = self.estimate();
        self.samples.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_is_measured_from_the_midpoint() {
        let mut sync = ClockSync::default();
        // Local clock 5 s ahead of the server; 10 ms each way.
        let sample = sync.add(1_005_000, 1_000_010, 1_005_020).unwrap();
        assert_eq!(sample.round_trip_ms, 20);
        assert_eq!(sample.offset_ms, -5_000);
        assert_eq!(sync.estimate(), Some(sample));
    }

    #[test]
    fn the_shortest_round_trip_wins_and_ties_go_to_the_newest() {
        let mut sync = ClockSync::default();
        sync.add(0, 100, 100);
        let tight = sync.add(1_000, 1_010, 1_010).unwrap();
        sync.add(2_000, 2_200, 2_300);
        assert_eq!(sync.estimate(), Some(tight));
        let newer_tie = sync.add(3_000, 3_012, 3_010).unwrap();
        assert_eq!(sync.estimate(), Some(newer_tie));
    }

    #[test]
    fn only_the_last_eight_samples_count() {
        let mut sync = ClockSync::default();
        sync.add(0, 0, 0);
        for i in 1..=8 {
            sync.add(i * 1_000, i * 1_000 + 300, i * 1_000 + 50);
        }
        assert_eq!(sync.estimate().unwrap().round_trip_ms, 50);
    }

    #[test]
    fn a_clock_going_backwards_gives_no_sample() {
        let mut sync = ClockSync::default();
        assert_eq!(sync.add(1_000, 5, 999), None);
        assert_eq!(sync.estimate(), None);
    }

    #[test]
    fn reset_keeps_the_old_estimate_until_a_new_sample() {
        let mut sync = ClockSync::default();
        let old = sync.add(0, 10, 0).unwrap();
        sync.reset();
        assert_eq!(sync.estimate(), Some(old));
        let new = sync.add(100, 100, 140).unwrap();
        assert_eq!(sync.estimate(), Some(new));
    }

    #[test]
    fn the_system_clock_reads_epoch_ms() {
        assert!(SystemClock.now_ms() > 1_600_000_000_000);
    }
}
