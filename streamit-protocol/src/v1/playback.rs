//! The room's playback state and where the media is at a given server time.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::values::{PositionMs, Rate};

/// A room's playback: the position the media had at server time `updated_at_ms`, and how it
/// moves from there.
///
/// Where it is at server time `now`:
/// `position_ms + (playing ? (now − updated_at_ms) × rate : 0)`, see [`Playback::position_at`].
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct Playback {
    /// Whether the media is playing.
    pub playing: bool,
    /// Position at `updated_at_ms`.
    pub position_ms: PositionMs,
    /// Playback rate.
    pub rate: Rate,
    /// Server clock when this state was set, Unix epoch ms.
    pub updated_at_ms: u64,
    /// Rises by one with every change and never goes back, also across server restarts.
    pub version: u64,
}

impl Playback {
    /// A paused state at `position_ms`, normal rate.
    pub const fn paused(position_ms: PositionMs, updated_at_ms: u64, version: u64) -> Self {
        Self {
            playing: false,
            position_ms,
            rate: Rate::NORMAL,
            updated_at_ms,
            version,
        }
    }

    /// A state with every field given.
    pub const fn new(
        playing: bool,
        position_ms: PositionMs,
        rate: Rate,
        updated_at_ms: u64,
        version: u64,
    ) -> Self {
        Self {
            playing,
            position_ms,
            rate,
            updated_at_ms,
            version,
        }
    }

    /// Where the media is at server time `now_ms` (Unix epoch ms).
    ///
    /// Paused media stays put. A `now_ms` before `updated_at_ms` (a clock that stepped back, or
    /// a stale estimate) counts as no time elapsed, never as rewinding. The result is clamped to
    /// [`PositionMs::MAX`]. It is computed from the anchor each time, never accumulated, so it
    /// has no drift however long the room plays.
    pub fn position_at(&self, now_ms: u64) -> PositionMs {
        if !self.playing {
            return self.position_ms;
        }
        let elapsed = now_ms.saturating_sub(self.updated_at_ms);
        // Both factors are far below 2^53 (elapsed is bounded by the clock, rate by 4), so the
        // product is exact to well under a millisecond.
        let advanced = (elapsed as f64 * self.rate.get()).round() as u64;
        PositionMs::saturating(self.position_ms.get().saturating_add(advanced))
    }

    /// How far `reported` is from where the room is at `now_ms`, in ms: positive when ahead.
    pub fn drift_ms(&self, reported: PositionMs, now_ms: u64) -> i64 {
        let expected = self.position_at(now_ms).get();
        // Positions are at most 24 h in ms, so both fit i64 exactly.
        reported.get() as i64 - expected as i64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pos(ms: u64) -> PositionMs {
        PositionMs::new(ms).unwrap()
    }

    fn playing(at: u64, rate: f64) -> Playback {
        Playback::new(true, pos(10_000), Rate::new(rate).unwrap(), at, 3)
    }

    #[test]
    fn paused_media_stays_put() {
        let p = Playback::paused(pos(5_000), 1_000, 1);
        assert_eq!(p.position_at(1_000_000), pos(5_000));
    }

    #[test]
    fn playing_media_advances_by_rate() {
        assert_eq!(playing(1_000, 1.0).position_at(3_500), pos(12_500));
        assert_eq!(playing(1_000, 2.0).position_at(3_500), pos(15_000));
        assert_eq!(playing(1_000, 0.25).position_at(5_000), pos(11_000));
        assert_eq!(
            playing(1_000, 1.5).position_at(1_001),
            pos(10_002),
            "rounds to nearest"
        );
    }

    #[test]
    fn a_clock_before_the_anchor_never_rewinds() {
        assert_eq!(playing(10_000, 1.0).position_at(9_000), pos(10_000));
        assert_eq!(playing(10_000, 1.0).position_at(0), pos(10_000));
    }

    #[test]
    fn position_is_clamped_to_a_day() {
        let p = Playback::new(true, PositionMs::MAX, Rate::new(4.0).unwrap(), 0, 1);
        assert_eq!(p.position_at(u64::MAX), PositionMs::MAX);
        assert_eq!(playing(0, 4.0).position_at(u64::MAX / 2), PositionMs::MAX);
    }

    #[test]
    fn no_drift_over_hours() {
        let start = 1_700_000_000_000;
        let hours = 20 * 60 * 60 * 1000;
        let p = Playback::new(true, PositionMs::ZERO, Rate::NORMAL, start, 1);
        assert_eq!(p.position_at(start + hours), pos(hours));
        let fast = Playback::new(true, PositionMs::ZERO, Rate::new(1.25).unwrap(), start, 1);
        assert_eq!(
            fast.position_at(start + 16 * 60 * 60 * 1000),
            pos(20 * 60 * 60 * 1000)
        );
        for step in (0..hours).step_by(3_600_001) {
            assert_eq!(p.position_at(start + step), pos(step));
        }
    }

    #[test]
    fn drift_is_signed() {
        let p = playing(1_000, 1.0);
        assert_eq!(p.drift_ms(pos(12_600), 3_500), 100);
        assert_eq!(p.drift_ms(pos(12_000), 3_500), -500);
    }

    #[test]
    fn wire_shape() {
        let wire = json!({"playing": true, "position_ms": 10000, "rate": 1.5, "updated_at_ms": 1000, "version": 3});
        let p: Playback = serde_json::from_value(wire.clone()).unwrap();
        assert_eq!(p, playing(1_000, 1.5));
        assert_eq!(serde_json::to_value(p).unwrap(), wire);
        let bad_rate =
            json!({"playing": true, "position_ms": 0, "rate": 9, "updated_at_ms": 0, "version": 0});
        assert!(serde_json::from_value::<Playback>(bad_rate).is_err());
    }
}
