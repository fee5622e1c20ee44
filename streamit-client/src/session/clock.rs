//! Time: the [`Clock`] a session reads the local time from, and [`ClockFilter`], which turns
//! `PING`/`PONG` exchanges into an estimate of the server's clock.
//!
//! The filter is pure: it takes each exchange's three timestamps and the local time of each
//! question, and never reads a clock itself, so the session, the tests and the simulation
//! ([`crate::sync::sim`]) drive it alike.
//!
//! # How it estimates
//!
//! An exchange sent at local `t0`, stamped `s` by the server and answered at local `t1`
//! proves that the offset (server clock minus local clock) was, at that moment, between
//! `s − t1` and `s − t0`: network delays are never negative. Every exchange in the window
//! gives such an interval; the offset, as a line over local time (an offset and a rate, since
//! a local oscillator runs a little fast or slow), must pass through them. The rate comes
//! from the lower envelope of the ceilings and the upper envelope of the floors (see `fit`);
//! the offset is the middle of the band all intervals leave at that rate, each widened by
//! what a rate error could have moved it since.
//!
//! This is NTP's minimum-delay idea applied to each direction on its own: the band's floor
//! comes from the exchange with the fastest way back, its ceiling from the one with the
//! fastest way out, even when no single exchange was fast both ways, so under jitter it
//! tightens with every exchange instead of waiting for one lucky round trip. More pings
//! never make it worse. The window is a span of time, not a count, so a faster ping cadence
//! adds evidence instead of forgetting it sooner.
//!
//! The offset the session uses is slewed: a new estimate never moves it faster than
//! [`SLEW`] ms per ms of local time (2 ms a second), or than its own uncertainty per second
//! while that is larger (at most 5 %, for the first rough estimates), so server time as the
//! session tells it never jumps. Only an estimate more than [`STEP_MS`] away (the local wall clock was set,
//! or a new socket reached a node whose clock differs) is taken at once, since slewing that
//! far would take minutes. Every change of the offset beyond the rate's own steady progress
//! is summed in [`ServerTime::corrected_ms`], so drift control can tell a clock correction
//! from a player that runs fast or slow.

use std::collections::VecDeque;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::sync::ServerTime;

/// The largest rate error the filter believes of a local clock: 500 ppm, NTP's limit.
/// Quartz is off by tens of ppm; beyond this the evidence is noise, not a clock.
const MAX_RATE: f64 = 500e-6;
/// Rates whose (penalised) envelope fit is within this of the best, ms, count as equally
/// good.
const RATE_TOLERANCE_MS: f64 = 0.02;
/// What a rate costs a band, ms per unit of rate (1 ms per 1 000 ppm): a rate must be worth
/// its keep (see [`fit`]).
const RATE_COST_MS: f64 = 10_000.0;
/// How fast the applied offset moves toward a new estimate, ms per local ms, at least: 2 ms a
/// second. An offset less sure of itself moves as fast as its uncertainty per second (up to
/// [`MAX_SLEW`]), so the first rough estimate is not defended for long.
const SLEW: f64 = 0.002;
/// The fastest slew, ms per local ms: 5 %, what a catch-up nudge plays anyway.
const MAX_SLEW: f64 = 0.05;
/// Estimates farther than this from the applied offset, ms, are stepped to.
const STEP_MS: f64 = 250.0;
/// How fast the uncertainty grows with the age of the newest exchange, ms per ms: a clock's
/// rate wanders by some ppm with temperature.
const WANDER: f64 = 10e-6;
/// How far off the measured rate may put the oldest exchange of the window, ms: each
/// exchange's interval is widened by this times its age over the window's span, so that old
/// exchanges bound the offset only where the rate cannot have moved them.
const RATE_DOUBT_MS: f64 = 4.0;
/// A local clock's rate error as most are (100 ppm): the most a rate the filter cannot
/// measure yet (and so takes as 0) moves an exchange, per ms of its age.
const TYPICAL_RATE: f64 = 100e-6;
/// The band must narrow by this much, ms, for an exchange to count as tightening it.
const NARROWER_MS: f64 = 1.0;
/// Exchanges in a row that did not tighten the band, after which the estimate is settled.
const SETTLED_AFTER: u32 = 10;
/// Exchanges kept at most, whatever the window: with a ping a second, over 8 minutes.
const MAX_SAMPLES: usize = 512;

/// The cadence of clock pings after a connect: a burst `spacing` apart, then, while the
/// estimate is still tightening (not [`ClockFilter::is_settled`]), up to four bursts more at
/// the same spacing, then the interval. Behind heavy jitter the first burst leaves the offset
/// tens of ms off; the extra pings take it to a few ms within seconds instead of minutes.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct PingPlan {
    burst_left: u32,
    extra_left: u32,
}

impl PingPlan {
    /// Extra fast pings allowed per ping of the burst.
    const EXTRA: u32 = 4;

    /// A plan for a burst of `burst` pings.
    pub(crate) fn new(burst: u32) -> Self {
        Self {
            burst_left: burst,
            extra_left: burst.saturating_mul(Self::EXTRA),
        }
    }

    /// Called as a ping is sent: whether the next one follows at the burst's spacing.
    pub(crate) fn next_is_fast(&mut self, settled: bool) -> bool {
        if self.burst_left > 1 {
            self.burst_left -= 1;
            return true;
        }
        self.burst_left = 0;
        if !settled && self.extra_left > 0 {
            self.extra_left -= 1;
            return true;
        }
        false
    }
}

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

/// What a session knows of the server's clock: [`RoomSession::clock`](crate::RoomSession::clock)
/// and [`RoomSession::clock_updates`](crate::RoomSession::clock_updates).
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub struct ClockEstimate {
    /// Server clock minus local clock, ms: the slewed offset the session uses, as of the
    /// newest exchange.
    pub offset_ms: f64,
    /// The shortest round trip in the window, ms.
    pub round_trip_ms: f64,
    /// How far the offset may be from the truth, ms: half the band every exchange of the
    /// window allows, what is still being slewed, and what the local clock's rate may have
    /// wandered since the newest exchange (assuming the way out and back are equally fast at
    /// their fastest; no exchange can see an asymmetric path).
    pub uncertainty_ms: f64,
    /// How much faster the server's clock runs than the local one, in parts per million.
    pub rate_ppm: f64,
    /// Exchanges in the window.
    pub samples: usize,
}

/// One exchange: the interval it proves the offset was in, at the local midpoint.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Sample {
    /// Local time of the exchange's midpoint, ms.
    local_ms: f64,
    /// The offset was at least this, ms.
    low_ms: f64,
    /// The offset was at most this, ms.
    high_ms: f64,
    round_trip_ms: f64,
}

/// The offset as a line over local time.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Line {
    /// Offset at `at_ms`, ms.
    offset_ms: f64,
    /// Local time of the anchor, ms.
    at_ms: f64,
    /// Offset change per local ms (the server's rate over the local one, minus 1).
    rate: f64,
    /// Width of the band of lines the exchanges allow at this rate, ms; negative when no
    /// line fits them all (rounding, or a clock that changed its rate).
    width_ms: f64,
}

impl Line {
    fn at(&self, local_ms: f64) -> f64 {
        self.offset_ms + self.rate * (local_ms - self.at_ms)
    }
}

/// Clock sync as a pure state machine: exchanges in, an estimate of server time out.
#[derive(Clone, Debug)]
pub(crate) struct ClockFilter {
    window_ms: f64,
    samples: VecDeque<Sample>,
    /// The best line through the window's exchanges.
    line: Option<Line>,
    /// Applied offset minus the line's, ms, at `since_ms`; slewed to 0 at `slew`.
    residual_ms: f64,
    slew: f64,
    since_ms: f64,
    /// Where "smooth" server time (server time minus every correction) was at
    /// `smooth_at_ms` local, and its rate since.
    smooth_ms: f64,
    smooth_at_ms: f64,
    /// The narrowest band since the last reset, ms, and exchanges since it narrowed.
    narrowest_ms: f64,
    since_narrowed: u32,
}

impl ClockFilter {
    /// A filter keeping exchanges for `window` (measured back from the newest).
    pub(crate) fn new(window: Duration) -> Self {
        Self {
            window_ms: window.as_secs_f64() * 1_000.0,
            samples: VecDeque::new(),
            line: None,
            residual_ms: 0.0,
            slew: SLEW,
            since_ms: 0.0,
            smooth_ms: 0.0,
            smooth_at_ms: 0.0,
            narrowest_ms: f64::INFINITY,
            since_narrowed: 0,
        }
    }

    /// Adds the exchange `PING` at local `sent_ms` → server `server_ms` → `PONG` at local
    /// `received_ms` (each a clock reading, whole ms). An exchange whose local clock went
    /// backwards is ignored; returns whether it was taken.
    pub(crate) fn add(&mut self, sent_ms: u64, server_ms: u64, received_ms: u64) -> bool {
        let Some(round_trip) = received_ms.checked_sub(sent_ms) else {
            return false;
        };
        // Epoch ms are far below 2^52, so the conversions are exact. Each reading is a
        // floor: the true times lie up to 1 ms later, which widens the interval by 1 ms on
        // each side.
        let (sent, server, received) = (sent_ms as f64, server_ms as f64, received_ms as f64);
        let sample = Sample {
            local_ms: (sent + received) / 2.0,
            low_ms: server - received - 1.0,
            high_ms: server - sent + 1.0,
            round_trip_ms: round_trip as f64,
        };
        let now = sample.local_ms;
        let applied = self.line.map(|_| self.offset_at(now));
        if let Some(applied) = applied {
            // An exchange that no offset within a step of the applied one explains: the
            // local clock was set, or the server is another. What came before is void.
            if sample.low_ms > applied + STEP_MS || sample.high_ms < applied - STEP_MS {
                self.samples.clear();
            }
        }
        self.samples.push_back(sample);
        while self.samples.len() > MAX_SAMPLES
            || self
                .samples
                .front()
                .is_some_and(|oldest| oldest.local_ms < now - self.window_ms)
        {
            self.samples.pop_front();
        }
        let doubt = self.line.map_or(0.0, |line| {
            line.width_ms.abs() / 2.0 + (self.offset_at(now) - line.at(now)).abs()
        });
        self.slew = (doubt / 1_000.0).clamp(SLEW, MAX_SLEW);
        let line = fit(&self.samples);
        if line.width_ms < self.narrowest_ms - NARROWER_MS {
            self.narrowest_ms = line.width_ms;
            self.since_narrowed = 0;
        } else {
            self.since_narrowed = self.since_narrowed.saturating_add(1);
        }
        let smooth = applied.map(|_| self.smooth_at(now));
        self.line = Some(line);
        match (applied, smooth) {
            (Some(applied), Some(smooth)) => {
                let residual = applied - line.at(now);
                self.residual_ms = if residual.abs() > STEP_MS {
                    0.0
                } else {
                    residual
                };
                self.since_ms = now;
                // Smooth time goes on from where it was, at the new rate.
                self.smooth_ms = smooth;
                self.smooth_at_ms = now;
            }
            _ => {
                self.residual_ms = 0.0;
                self.since_ms = now;
                self.smooth_ms = now + line.at(now);
                self.smooth_at_ms = now;
            }
        }
        true
    }

    /// Starts a new window (a new socket may take another path, or reach another node),
    /// keeping the applied offset until new exchanges move it.
    pub(crate) fn reset(&mut self) {
        self.samples.clear();
        self.narrowest_ms = f64::INFINITY;
        self.since_narrowed = 0;
    }

    /// Whether the last [`SETTLED_AFTER`] exchanges left the band about as it was: more
    /// exchanges soon would add little, so pinging can slow down.
    pub(crate) fn is_settled(&self) -> bool {
        self.since_narrowed >= SETTLED_AFTER
    }

    /// The applied offset at local time `local_ms`, ms; `None` before the first exchange.
    pub(crate) fn offset_ms(&self, local_ms: u64) -> Option<f64> {
        self.line.map(|_| self.offset_at(local_ms as f64))
    }

    /// Server time at local time `local_ms`, `None` before the first exchange.
    pub(crate) fn server_time(&self, local_ms: u64) -> Option<ServerTime> {
        self.line?;
        let local = local_ms as f64;
        let server = local + self.offset_at(local);
        Some(ServerTime::new(server, server - self.smooth_at(local)))
    }

    /// The estimate as of local time `local_ms`.
    pub(crate) fn estimate(&self, local_ms: u64) -> Option<ClockEstimate> {
        let line = self.line?;
        let local = local_ms as f64;
        let newest = self.samples.back().map_or(line.at_ms, |s| s.local_ms);
        let applied = self.offset_at(local);
        let round_trip_ms = self
            .samples
            .iter()
            .map(|s| s.round_trip_ms)
            .fold(f64::INFINITY, f64::min);
        Some(ClockEstimate {
            offset_ms: applied,
            round_trip_ms: if round_trip_ms.is_finite() {
                round_trip_ms
            } else {
                0.0
            },
            uncertainty_ms: line.width_ms.abs() / 2.0
                + (applied - line.at(local)).abs()
                + (local - newest).abs() * WANDER,
            rate_ppm: line.rate * 1e6,
            samples: self.samples.len(),
        })
    }

    fn offset_at(&self, local_ms: f64) -> f64 {
        let Some(line) = self.line else {
            return 0.0;
        };
        let slewed = (local_ms - self.since_ms).max(0.0) * self.slew;
        let left = (self.residual_ms.abs() - slewed).max(0.0);
        line.at(local_ms) + left.copysign(self.residual_ms)
    }

    fn smooth_at(&self, local_ms: f64) -> f64 {
        let rate = self.line.map_or(0.0, |line| line.rate);
        self.smooth_ms + (local_ms - self.smooth_at_ms) * (1.0 + rate)
    }
}

/// The band's width at `rate`: the tightest ceiling minus the highest floor, with times
/// taken from `at_ms`; and the band's middle there.
fn band(samples: &VecDeque<Sample>, rate: f64, doubt: f64, at_ms: f64) -> (f64, f64) {
    let mut floor = f64::NEG_INFINITY;
    let mut ceiling = f64::INFINITY;
    for s in samples {
        let shift = rate * (s.local_ms - at_ms);
        let widen = doubt * (at_ms - s.local_ms).abs();
        floor = floor.max(s.low_ms - shift - widen);
        ceiling = ceiling.min(s.high_ms - shift + widen);
    }
    (ceiling - floor, (ceiling + floor) / 2.0)
}

/// The line through the window (which is never empty here), anchored at the newest exchange.
///
/// The rate is the mean of two envelope fits (Moon, Skelly and Towsley's linear programme):
/// the line under every ceiling that comes closest to them on average, whose rate the
/// fastest ways out set, and the line over every floor that comes closest to them, set by
/// the fastest ways back. Each is the top of a concave function of the rate (a minimum of
/// lines), found by a ternary search. A rate costs [`RATE_COST_MS`] per unit, and among
/// rates within [`RATE_TOLERANCE_MS`] of the top the one closest to 0 is taken: over a span
/// of a second or two the envelopes' slope is noise that would then be extrapolated for
/// seconds; over minutes a wrong rate costs far more than that, so the fit closes in on the
/// true one. The offset is the middle of the band all exchanges allow at that rate.
fn fit(samples: &VecDeque<Sample>) -> Line {
    let at_ms = samples.back().map_or(0.0, |s| s.local_ms);
    let mean_ms = samples.iter().map(|s| s.local_ms).sum::<f64>() / samples.len().max(1) as f64;
    let ceiling = most_likely_rate(|rate| {
        samples
            .iter()
            .map(|s| s.high_ms - rate * (s.local_ms - mean_ms))
            .fold(f64::INFINITY, f64::min)
    });
    let floor = most_likely_rate(|rate| {
        samples
            .iter()
            .map(|s| rate * (s.local_ms - mean_ms) - s.low_ms)
            .fold(f64::INFINITY, f64::min)
    });
    let rate = (ceiling + floor) / 2.0;
    let span_ms = at_ms - samples.front().map_or(at_ms, |s| s.local_ms);
    let doubt = (RATE_DOUBT_MS / span_ms.max(1.0)).min(TYPICAL_RATE);
    let (width_ms, offset_ms) = band(samples, rate, doubt, at_ms);
    Line {
        offset_ms,
        at_ms,
        rate,
        width_ms,
    }
}

/// The rate closest to 0 among those within [`RATE_TOLERANCE_MS`] of the top of
/// `fitness(rate) − RATE_COST_MS × |rate|` (`fitness` concave), within ±[`MAX_RATE`].
fn most_likely_rate(fitness: impl Fn(f64) -> f64) -> f64 {
    let value = |rate: f64| fitness(rate) - rate.abs() * RATE_COST_MS;
    let (mut lo, mut hi) = (-MAX_RATE, MAX_RATE);
    for _ in 0..80 {
        let a = lo + (hi - lo) / 3.0;
        let b = hi - (hi - lo) / 3.0;
        if value(a) < value(b) {
            lo = a;
        } else {
            hi = b;
        }
    }
    let best = (lo + hi) / 2.0;
    let good = value(best) - RATE_TOLERANCE_MS;
    let edge = |mut inside: f64, mut outside: f64| {
        if value(outside) >= good {
            return outside;
        }
        for _ in 0..60 {
            let middle = (inside + outside) / 2.0;
            if value(middle) >= good {
                inside = middle;
            } else {
                outside = middle;
            }
        }
        inside
    };
    0.0_f64.clamp(edge(best, -MAX_RATE), edge(best, MAX_RATE))
}

#[cfg(test)]
mod tests {
    use super::*;

    const WINDOW: Duration = Duration::from_secs(120);

    #[test]
    fn offset_is_measured_from_the_midpoint() {
        let mut sync = ClockFilter::new(WINDOW);
        // Local clock 5 s ahead of the server; 10 ms each way.
        assert!(sync.add(1_005_000, 1_000_010, 1_005_020));
        let estimate = sync.estimate(1_005_020).unwrap();
        assert_eq!(estimate.offset_ms, -5_000.0);
        assert_eq!(estimate.round_trip_ms, 20.0);
        assert_eq!(estimate.rate_ppm, 0.0);
        // Half of the 20 ms round trip plus a ms of rounding each side.
        assert!((estimate.uncertainty_ms - 11.0).abs() < 0.01);
    }

    #[test]
    fn each_direction_tightens_the_band_on_its_own() {
        let mut sync = ClockFilter::new(WINDOW);
        // True offset 0. Fast out, slow back; then slow out, fast back: no exchange was
        // fast both ways, yet together they pin the offset.
        sync.add(1_000, 1_001, 1_101);
        sync.add(2_000, 2_100, 2_101);
        // The applied offset slews from the first exchange's −49.5 ms; 30 s later it is
        // on the line.
        let estimate = sync.estimate(32_101).unwrap();
        assert!(estimate.offset_ms.abs() <= 1.0, "{estimate:?}");
        assert_eq!(
            estimate.rate_ppm, 0.0,
            "two exchanges a second apart show no rate"
        );
        assert!(estimate.uncertainty_ms <= 2.5, "{estimate:?}");
        assert_eq!(estimate.round_trip_ms, 101.0);
    }

    #[test]
    fn a_fast_local_clock_is_measured_and_followed_between_exchanges() {
        let mut sync = ClockFilter::new(WINDOW);
        // The local clock runs 100 ppm fast: the offset falls 0.1 ms a second.
        let local = |server: u64| server + 3_000 + server / 10_000;
        for i in 0..120u64 {
            let server = 1_000_000 + i * 1_000;
            let delay = 5 + (i * 7919) % 40;
            let back = 5 + (i * 104_729) % 40;
            sync.add(local(server - delay), server, local(server + back));
        }
        let estimate = sync.estimate(local(1_119_000)).unwrap();
        assert!((estimate.rate_ppm + 100.0).abs() < 10.0, "{estimate:?}");
        // A minute after the last exchange the line still holds.
        let later = 1_180_000;
        let server = later as f64 - sync.offset_ms(local(later)).unwrap() - local(later) as f64;
        assert!(server.abs() <= 2.0, "{server} ms off: {estimate:?}");
    }

    #[test]
    fn a_better_estimate_is_slewed_into_never_stepped() {
        let mut sync = ClockFilter::new(WINDOW);
        // A slow first exchange puts the offset at 40 ms, give or take 51; a fast one then
        // says 0.
        sync.add(0, 90, 100);
        assert_eq!(sync.offset_ms(100), Some(40.0));
        let before = sync.server_time(1_001).unwrap();
        sync.add(1_000, 1_001, 1_002);
        let after = sync.server_time(1_001).unwrap();
        assert!((after.ms - before.ms).abs() < 0.01, "no jump");
        // As unsure as it was, the old offset goes at 5 %: 20 ms in 400 ms, all in 800.
        assert!((sync.offset_ms(1_401).unwrap() - 20.0).abs() < 0.1);
        assert!(sync.offset_ms(1_801).unwrap().abs() < 0.6);
        let late = sync.server_time(30_000).unwrap();
        assert!((late.corrected_ms + 40.0).abs() < 0.6, "{late:?}");
        let smooth = |t: ServerTime| t.ms - t.corrected_ms;
        assert!((smooth(late) - smooth(before) - 28_999.0).abs() < 0.6);
        // A sure offset moves 2 ms a second: a 1.5 ms refinement takes 750 ms.
        sync.add(3_000, 3_004, 3_002);
        let moved = sync.offset_ms(3_377).unwrap();
        assert!((moved - 0.75).abs() < 0.2, "{moved}");
    }

    #[test]
    fn a_clock_set_far_away_is_stepped_to() {
        let mut sync = ClockFilter::new(WINDOW);
        sync.add(20_000, 20_010, 20_020);
        // The local clock is set back 10 s.
        sync.add(20_000, 30_010, 20_020);
        assert!((sync.offset_ms(20_020).unwrap() - 10_000.0).abs() < 0.01);
        assert_eq!(sync.estimate(20_020).unwrap().samples, 1);
    }

    #[test]
    fn old_exchanges_leave_the_window() {
        let mut sync = ClockFilter::new(Duration::from_secs(10));
        sync.add(0, 5, 10);
        for i in 1..=20 {
            sync.add(i * 1_000, i * 1_000 + 40, i * 1_000 + 80);
        }
        let estimate = sync.estimate(20_080).unwrap();
        assert_eq!(estimate.samples, 11);
        assert_eq!(estimate.round_trip_ms, 80.0);
    }

    #[test]
    fn a_clock_going_backwards_gives_no_sample() {
        let mut sync = ClockFilter::new(WINDOW);
        assert!(!sync.add(1_000, 5, 999));
        assert_eq!(sync.estimate(1_000), None);
        assert_eq!(sync.server_time(1_000), None);
    }

    #[test]
    fn reset_keeps_the_applied_offset_until_new_exchanges() {
        let mut sync = ClockFilter::new(WINDOW);
        sync.add(0, 10, 0);
        sync.reset();
        assert_eq!(sync.offset_ms(0), Some(10.0));
        sync.add(100, 100, 140);
        let estimate = sync.estimate(140).unwrap();
        assert_eq!(estimate.samples, 1);
        assert!((estimate.offset_ms - 10.0).abs() < 0.1, "slewed from 10");
    }

    #[test]
    fn settled_once_ten_exchanges_in_a_row_leave_the_band_alone() {
        let mut sync = ClockFilter::new(WINDOW);
        sync.add(0, 50, 100);
        for i in 1..=9 {
            sync.add(i * 100, i * 100 + 50, i * 100 + 100);
        }
        assert!(!sync.is_settled(), "nine alike after the first");
        sync.add(1_000, 1_050, 1_100);
        assert!(sync.is_settled());
        sync.add(1_100, 1_120, 1_130);
        assert!(!sync.is_settled(), "a fast one narrows the band");
        sync.reset();
        assert!(!sync.is_settled());
    }

    #[test]
    fn pings_are_fast_for_the_burst_then_while_unsettled() {
        let mut plan = PingPlan::new(3);
        let fast: Vec<bool> = (0..4).map(|_| plan.next_is_fast(true)).collect();
        assert_eq!(fast, [true, true, false, false], "settled: the burst only");
        let mut plan = PingPlan::new(2);
        let fast = (0..20).filter(|_| plan.next_is_fast(false)).count();
        assert_eq!(
            fast,
            1 + 8,
            "the burst's gaps, then four bursts more at most"
        );
    }

    #[test]
    fn the_system_clock_reads_epoch_ms() {
        assert!(SystemClock.now_ms() > 1_600_000_000_000);
    }
}
