//! [`PendingSeek`]: a seek the controller sent, and telling when it has landed.

use std::time::{Duration, Instant};

/// A seek the controller sent and is waiting to see land.
#[derive(Clone, Copy, Debug)]
pub(super) struct PendingSeek {
    sent: Instant,
    target_ms: u64,
    /// The player's position when the seek was sent.
    from_ms: u64,
    /// How far ahead of the room's position at sending the target was, media ms.
    lead_ms: f64,
    /// The room's rate while playing; `None` when paused (no latency to learn then).
    playing_rate: Option<f64>,
    /// The position at the previous look since sending.
    last_position: Option<u64>,
    /// The position has left the course it had before the seek.
    left_course: bool,
}

/// Position differences this small are rounding and jitter, ms.
const SLACK_MS: f64 = 50.0;

/// Where a [`PendingSeek`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Landing {
    /// Not landed yet.
    InFlight,
    /// Landed where it can be measured.
    Landed,
    /// Landed so close to the course the player was on that no landing can be seen: the
    /// seek changed next to nothing, and teaches nothing.
    Unseen,
    /// Not seen landing in time: taken as lost.
    Lost,
}

impl PendingSeek {
    /// A seek sent at `sent` from `from_ms` to `target_ms`, aimed `lead_ms` ahead of the
    /// room, which plays at `playing_rate` (`None` when paused).
    pub(super) fn new(
        sent: Instant,
        from_ms: u64,
        target_ms: u64,
        lead_ms: f64,
        playing_rate: Option<f64>,
    ) -> Self {
        Self {
            sent,
            target_ms,
            from_ms,
            lead_ms,
            playing_rate,
            last_position: None,
            left_course: false,
        }
    }

    /// Where the seek is, with the player at `position` at `now`.
    ///
    /// A paused seek has landed when the player shows the target. A playing one has landed
    /// when the player has left the course it was on (players report either the target at
    /// once or the old course until the seek lands), plays on, and is past the target by no
    /// more than it played since sending: ahead of the target but far from it is the old
    /// course, not a landing. A player that lands short of the target is seen landing once
    /// it passes the target, so the latency learned includes how short it lands. One that
    /// stays on its course for `unseen_after` landed unseen; none lands after `timeout`.
    pub(super) fn landing(
        &mut self,
        position: u64,
        now: Instant,
        unseen_after: Duration,
        timeout: Duration,
    ) -> Landing {
        let elapsed = now.saturating_duration_since(self.sent);
        if elapsed > timeout {
            return Landing::Lost;
        }
        let Some(rate) = self.playing_rate else {
            return if position.abs_diff(self.target_ms) <= 1 {
                Landing::Landed
            } else {
                Landing::InFlight
            };
        };
        let elapsed_ms = elapsed.as_secs_f64() * 1000.0;
        let course = self.from_ms as f64 + elapsed_ms * rate;
        self.left_course |= (position as f64 - course).abs() > SLACK_MS;
        let advancing = self.last_position.is_some_and(|last| position > last);
        self.last_position = Some(position);
        let past = position as f64 - self.target_ms as f64;
        let on_target = past > 0.0 && past <= elapsed_ms * rate * 1.1 + SLACK_MS;
        match (self.left_course, advancing) {
            (true, true) if on_target => Landing::Landed,
            (false, true) if elapsed >= unseen_after => Landing::Unseen,
            _ => Landing::InFlight,
        }
    }

    /// The seek latency, ms, a playing seek shows by landing `drift_ms` from the room: it
    /// aimed `lead` ahead, so it took `(lead − drift) / rate`.
    pub(super) fn latency_ms(&self, drift_ms: i64) -> Option<f64> {
        let rate = self.playing_rate?;
        Some((self.lead_ms - drift_ms as f64) / rate)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const UNSEEN: Duration = Duration::from_millis(1_500);
    const TIMEOUT: Duration = Duration::from_millis(5_000);

    /// Looks at a seek every 200 ms with `course(ms since sending)` as the position; returns
    /// when it stopped being in flight, and how.
    fn watch(mut seek: PendingSeek, course: impl Fn(u64) -> u64) -> (u64, Landing) {
        for t in (200..=6_000).step_by(200) {
            let now = seek.sent + Duration::from_millis(t);
            let landing = seek.landing(course(t), now, UNSEEN, TIMEOUT);
            if landing != Landing::InFlight {
                return (t, landing);
            }
        }
        (u64::MAX, Landing::InFlight)
    }

    fn playing(from: u64, target: u64, lead: f64) -> PendingSeek {
        PendingSeek::new(Instant::now(), from, target, lead, Some(1.0))
    }

    #[test]
    fn a_seek_reported_at_its_target_lands_once_it_plays_on() {
        // From 10 000 to 10 700, frozen there for 300 ms.
        let seek = playing(10_000, 10_700, 250.0);
        let at = |t: u64| 10_700 + t.saturating_sub(300);
        assert_eq!(watch(seek, at), (400, Landing::Landed));
        assert_eq!(seek.latency_ms(-50), Some(300.0));
    }

    #[test]
    fn a_seek_reported_on_the_old_course_lands_when_it_jumps() {
        // Backward by 40 ms and 600 ms slow: the old course passes for a landing by distance.
        let seek = playing(10_740, 10_700, 800.0);
        let at = |t: u64| {
            if t < 600 {
                10_740 + t
            } else {
                10_700 + t - 600
            }
        };
        assert_eq!(watch(seek, at), (800, Landing::Landed));
    }

    #[test]
    fn a_seek_that_changes_nothing_is_unseen_and_a_stuck_one_lost() {
        let seek = playing(10_000, 10_020, 20.0);
        assert_eq!(watch(seek, |t| 10_000 + t), (1_600, Landing::Unseen));
        assert_eq!(watch(seek, |_| 10_020), (5_200, Landing::Lost));
    }

    #[test]
    fn a_paused_seek_lands_on_its_target_and_teaches_nothing() {
        let seek = PendingSeek::new(Instant::now(), 9_000, 8_000, 0.0, None);
        assert_eq!(
            watch(seek, |t| if t < 400 { 9_000 } else { 8_000 }),
            (400, Landing::Landed)
        );
        assert_eq!(seek.latency_ms(0), None);
    }
}
