//! Learning how fast a player's media really runs against the room's clock.

/// Estimates a player's skew: media ms it plays per ms of server time at rate 1.
///
/// A least-squares slope of the reported position against "rate time" (server ms elapsed,
/// each interval weighted by the rate the player had), pooled over clean stretches of
/// playback. Weighting by rate lets nudges happen inside a stretch; a seek, a stall or any
/// interval that moved the position by far more or less than the rate says ends the stretch
/// instead of bending the slope. A slope fits all samples rather than two end points, so
/// position jitter averages out.
#[derive(Clone, Debug)]
pub(super) struct SkewEstimator {
    window_ms: f64,
    /// The previous clean sample: smooth server ms, position ms.
    last: Option<(f64, f64)>,
    /// The player's rate since `last`.
    rate: f64,
    stretch: Stretch,
    /// Centred sums of closed stretches.
    sxy: f64,
    sxx: f64,
    syy: f64,
    /// Samples in the closed stretches.
    n: f64,
    /// Rate time the closed stretches cover, ms.
    span_ms: f64,
}

/// Sums over one stretch; x is rate time and y the position, both from the stretch's start.
#[derive(Clone, Copy, Debug, Default)]
struct Stretch {
    n: f64,
    x: f64,
    y: f64,
    sx: f64,
    sy: f64,
    sxx: f64,
    sxy: f64,
    syy: f64,
}

impl Stretch {
    fn add(&mut self, dx: f64, dy: f64) {
        self.x += dx;
        self.y += dy;
        self.n += 1.0;
        self.sx += self.x;
        self.sy += self.y;
        self.sxx += self.x * self.x;
        self.sxy += self.x * self.y;
        self.syy += self.y * self.y;
    }

    /// Centred `(Sxy, Sxx, Syy)`.
    fn centred(&self) -> (f64, f64, f64) {
        if self.n < 2.0 {
            return (0.0, 0.0, 0.0);
        }
        (
            self.sxy - self.sx * self.sy / self.n,
            self.sxx - self.sx * self.sx / self.n,
            self.syy - self.sy * self.sy / self.n,
        )
    }
}

/// An interval whose position moved outside this share of its rate time is not playback.
const PLAUSIBLE: std::ops::RangeInclusive<f64> = 0.75..=1.25;

impl SkewEstimator {
    /// An estimator that answers once it has `window_ms` of clean playback.
    pub(super) fn new(window_ms: u64) -> Self {
        Self {
            window_ms: window_ms as f64,
            last: None,
            rate: 1.0,
            stretch: Stretch::default(),
            sxy: 0.0,
            sxx: 0.0,
            syy: 0.0,
            n: 0.0,
            span_ms: 0.0,
        }
    }

    /// Takes the position at `server_ms` (on the clock's smooth timeline, so that clock
    /// corrections do not bend the slope), or `None` when this tick is not clean playback.
    pub(super) fn observe(&mut self, sample: Option<(f64, f64)>) {
        let Some((server_ms, position_ms)) = sample else {
            self.break_stretch();
            return;
        };
        let step = self.last.and_then(|(last_ms, last_position)| {
            let dx = (server_ms - last_ms) * self.rate;
            let dy = position_ms - last_position;
            (dx > 0.0 && PLAUSIBLE.contains(&(dy / dx))).then_some((dx, dy))
        });
        match step {
            Some((dx, dy)) => self.stretch.add(dx, dy),
            None => self.restart_stretch(),
        }
        self.last = Some((server_ms, position_ms));
        if self.stretch.x >= self.window_ms {
            // Keeps the sums small enough for f64 to stay exact.
            self.restart_stretch();
        }
    }

    /// Called after the tick's actions: the rate the player now has, and whether the
    /// position was moved (a seek, a play or pause), which ends the stretch.
    pub(super) fn after_tick(&mut self, rate: f64, moved: bool) {
        self.rate = rate;
        if moved {
            self.break_stretch();
        }
    }

    /// The skew, once a window of clean playback is in.
    pub(super) fn estimate(&self) -> Option<f64> {
        self.estimate_over(self.window_ms)
    }

    /// The skew, once `min_ms` of clean playback is in.
    pub(super) fn estimate_over(&self, min_ms: f64) -> Option<f64> {
        self.estimate_with_error(min_ms).map(|(skew, _)| skew)
    }

    /// The skew and its standard error (from the scatter about the fitted slopes), once
    /// `min_ms` of clean playback is in: less than a window is a rougher estimate, worth
    /// using only when its error says it is good enough.
    pub(super) fn estimate_with_error(&self, min_ms: f64) -> Option<(f64, f64)> {
        let (sxy, sxx, syy) = self.stretch.centred();
        let span = self.span_ms + self.stretch.x;
        let (sxy, sxx, syy) = (self.sxy + sxy, self.sxx + sxx, self.syy + syy);
        if span < min_ms || sxx <= 0.0 {
            return None;
        }
        let slope = sxy / sxx;
        // Each stretch fits its own intercept: two degrees of freedom per stretch at most;
        // counting two in all keeps the error an estimate, not a bound.
        let n = self.n + self.stretch.n;
        let residual = (syy - slope * sxy).max(0.0) / (n - 2.0).max(1.0);
        Some((slope, (residual / sxx).sqrt()))
    }

    /// Forgets everything learned, as after a nonsense estimate.
    pub(super) fn reset(&mut self) {
        self.sxy = 0.0;
        self.sxx = 0.0;
        self.syy = 0.0;
        self.n = 0.0;
        self.span_ms = 0.0;
        self.break_stretch();
    }

    fn break_stretch(&mut self) {
        self.close_stretch();
        self.last = None;
    }

    /// Closes the stretch and starts the next at the current sample.
    fn restart_stretch(&mut self) {
        self.close_stretch();
        self.stretch.add(0.0, 0.0);
    }

    fn close_stretch(&mut self) {
        let (sxy, sxx, syy) = self.stretch.centred();
        self.sxy += sxy;
        self.sxx += sxx;
        self.syy += syy;
        if self.stretch.n >= 2.0 {
            self.n += self.stretch.n;
        }
        self.span_ms += self.stretch.x;
        self.stretch = Stretch::default();
        // Halving old stretches past a few windows follows a skew that changes slowly (a
        // device warming up) without letting one noisy window decide.
        if self.span_ms > 4.0 * self.window_ms {
            self.sxy /= 2.0;
            self.sxx /= 2.0;
            self.syy /= 2.0;
            self.n /= 2.0;
            self.span_ms /= 2.0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `seconds` of 200 ms ticks of a player whose media runs `skew` times the rate,
    /// with a deterministic ±`jitter` ms wobble, starting at server time `from_ms`.
    fn feed(
        est: &mut SkewEstimator,
        from_ms: u64,
        seconds: u64,
        skew: f64,
        rate: f64,
        jitter: i64,
    ) {
        est.after_tick(rate, false);
        for tick in 0..=seconds * 5 {
            let t = tick * 200;
            let wobble = [0, jitter, -jitter, jitter / 2, -jitter / 2][(tick % 5) as usize];
            let position = 60_000.0 + t as f64 * rate * skew + wobble as f64;
            est.observe(Some(((from_ms + t) as f64, position.round())));
        }
    }

    #[test]
    fn learns_a_fast_clock_through_jitter() {
        let mut est = SkewEstimator::new(30_000);
        feed(&mut est, 0, 20, 1.005, 1.0, 5);
        assert_eq!(est.estimate(), None, "not a full window yet");
        feed(&mut est, 20_000, 20, 1.005, 1.0, 5);
        let skew = est.estimate().expect("a window is in");
        assert!((skew - 1.005).abs() < 0.000_05, "{skew}");
    }

    #[test]
    fn rate_changes_and_breaks_keep_the_estimate() {
        let mut est = SkewEstimator::new(30_000);
        feed(&mut est, 0, 15, 0.99, 1.0, 3);
        // A nudge: the same stretch goes on at another rate.
        est.after_tick(0.95, false);
        feed(&mut est, 15_000, 10, 0.99, 0.95, 3);
        // A seek: a new stretch, far away.
        est.after_tick(1.0, true);
        feed(&mut est, 30_000, 15, 0.99, 1.0, 3);
        let skew = est.estimate().expect("a window is in");
        assert!((skew - 0.99).abs() < 0.000_1, "{skew}");
    }

    #[test]
    fn the_error_of_an_early_estimate_shows_the_jitter() {
        let mut clean = SkewEstimator::new(10_000);
        feed(&mut clean, 0, 5, 1.0015, 1.0, 0);
        let (skew, error) = clean.estimate_with_error(5_000.0).expect("5 s are in");
        // Whole-ms positions alone: about ±0.3 ms of noise, an error near 0.004 %.
        assert!(
            (skew - 1.0015).abs() < 0.000_05 && error < 0.000_05,
            "{skew} ± {error}"
        );
        let mut noisy = SkewEstimator::new(10_000);
        feed(&mut noisy, 0, 5, 1.0015, 1.0, 4);
        let (skew, error) = noisy.estimate_with_error(5_000.0).expect("5 s are in");
        assert!(error > 0.000_2, "{skew} ± {error}");
        assert_eq!(noisy.estimate(), None, "not a window yet");
    }

    #[test]
    fn stalls_and_jumps_are_not_playback() {
        let mut est = SkewEstimator::new(10_000);
        let mut position = 0;
        for tick in 0..200u64 {
            // Frozen for 2 s in the middle (an unreported stall), then a jump ahead.
            if !(80..90).contains(&tick) {
                position += 200;
            }
            if tick == 150 {
                position += 5_000;
            }
            est.observe(Some(((tick * 200) as f64, position as f64)));
        }
        let skew = est.estimate().expect("a window is in");
        assert!((skew - 1.0).abs() < 1e-9, "{skew}");
        est.reset();
        assert_eq!(est.estimate(), None);
    }
}
