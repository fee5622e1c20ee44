//! Seeks the controller sends: [`Landing`], a seek made with the player paused, then (when
//! the room plays) a start at the instant the room reaches the target.
//!
//! A seek made while playing lands wherever the player's seek latency puts it, which is
//! unknown until measured; a paused seek followed by `play` at the right instant lands on the
//! room whatever the latency, as long as the seek is done by then. So every seek the
//! controller makes is a paused one: the player pauses, seeks to where the room will be a
//! little later than the seek should take, and plays when the room gets there. The picture
//! freezes for that lead, as it would for the seek itself.

use std::time::{Duration, Instant};

/// Where a [`Landing`] is, as of one tick.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Step {
    /// Waiting for the seek, or for the instant to play.
    Wait,
    /// The room reaches the target now: play.
    Play,
    /// Playing, and the seek was done in time or has now landed: done. Carries the seek
    /// latency seen, ms, when the player showed it (it landed after `play`, or while paused
    /// it moved from its old spot to the target).
    Landed(Option<f64>),
    /// Not done in time: given up.
    Lost,
}

/// A paused seek to `target_ms`, and the start that follows it when the room plays.
#[derive(Clone, Copy, Debug)]
pub(super) struct Landing {
    sent: Instant,
    target_ms: u64,
    /// The player's position when the seek was sent.
    from_ms: u64,
    /// Server time (ms) to play at, and the room's rate, when the room plays.
    play_at_ms: Option<(f64, f64)>,
    /// When `play` was called.
    played: Option<Instant>,
    /// The position at the previous look after `play`.
    last_position: Option<u64>,
    /// Latency seen while paused: the position left its old spot for the target.
    seen_ms: Option<f64>,
}

impl Landing {
    /// A seek sent at `sent` from `from_ms` to `target_ms`; when the room plays (at a rate),
    /// the player starts at server time `play_at_ms`.
    pub(super) fn new(
        sent: Instant,
        from_ms: u64,
        target_ms: u64,
        play_at_ms: Option<(f64, f64)>,
    ) -> Self {
        Self {
            sent,
            target_ms,
            from_ms,
            play_at_ms,
            played: None,
            last_position: None,
            seen_ms: None,
        }
    }

    /// One tick's look: the player at `position`, at local `now` and server time
    /// `server_ms`; `half_tick_ms` is half the app's tick interval, so that the start
    /// happens at the tick nearest its instant.
    pub(super) fn step(
        &mut self,
        position: u64,
        now: Instant,
        server_ms: f64,
        half_tick_ms: f64,
        timeout: Duration,
    ) -> Step {
        let elapsed = now.saturating_duration_since(self.sent);
        if elapsed > timeout {
            return Step::Lost;
        }
        let elapsed_ms = elapsed.as_secs_f64() * 1_000.0;
        let on_target = position.abs_diff(self.target_ms) <= 1;
        if self.seen_ms.is_none() && on_target && self.from_ms.abs_diff(self.target_ms) > 1 {
            // A player that shows the target at once (an HTML video does) tells nothing
            // here; one that shows it only once done has just landed.
            if self.played.is_none() && self.last_position.is_some_and(|p| p != position) {
                self.seen_ms = Some(elapsed_ms);
            }
        }
        let Some(played) = self.played else {
            self.last_position = Some(position);
            return match self.play_at_ms {
                Some((at, _)) if server_ms + half_tick_ms >= at => {
                    self.played = Some(now);
                    self.last_position = None;
                    Step::Play
                }
                Some(_) => Step::Wait,
                None if on_target => Step::Landed(self.seen_ms),
                None => Step::Wait,
            };
        };
        let advancing = self
            .last_position
            .is_some_and(|last| position > last && position > self.target_ms);
        self.last_position = Some(position);
        if !advancing || now <= played {
            return Step::Wait;
        }
        // When it left the target, from how far it has played since.
        let rate = self.play_at_ms.map_or(1.0, |(_, rate)| rate);
        let started_ms = elapsed_ms - (position - self.target_ms) as f64 / rate;
        let played_ms = played.saturating_duration_since(self.sent).as_secs_f64() * 1_000.0;
        Step::Landed(if started_ms > played_ms + LATE_MS {
            Some(started_ms)
        } else {
            self.seen_ms
        })
    }
}

/// A start this much after the play, ms, is a seek still in flight, not position noise.
const LATE_MS: f64 = 10.0;

#[cfg(test)]
mod tests {
    use super::*;

    const TIMEOUT: Duration = Duration::from_secs(5);

    /// Looks every 100 ms at `position(ms since sending)` with server time = ms since
    /// sending; returns each step that is not `Wait`, with when.
    fn watch(mut landing: Landing, position: impl Fn(u64) -> u64) -> Vec<(u64, Step)> {
        let mut steps = Vec::new();
        for t in (100..=6_000u64).step_by(100) {
            let now = landing.sent + Duration::from_millis(t);
            let step = landing.step(position(t), now, t as f64, 50.0, TIMEOUT);
            if step != Step::Wait {
                steps.push((t, step));
                if step != Step::Play {
                    break;
                }
            }
        }
        steps
    }

    #[test]
    fn a_seek_done_in_time_plays_at_its_instant() {
        // From 1 000 to 10 500, frozen there (paused) until played at 500.
        let landing = Landing::new(Instant::now(), 1_000, 10_500, Some((500.0, 1.0)));
        let at = |t: u64| 10_500 + t.saturating_sub(500);
        assert_eq!(
            watch(landing, at),
            [(500, Step::Play), (700, Step::Landed(None))]
        );
    }

    #[test]
    fn a_seek_slower_than_the_lead_is_seen_landing_late() {
        // Lands at 800, 300 ms after the play.
        let landing = Landing::new(Instant::now(), 1_000, 10_500, Some((500.0, 1.0)));
        let at = |t: u64| 10_500 + t.saturating_sub(800);
        assert_eq!(
            watch(landing, at),
            [(500, Step::Play), (900, Step::Landed(Some(800.0)))]
        );
    }

    #[test]
    fn a_player_that_shows_the_target_only_once_done_tells_its_latency() {
        let landing = Landing::new(Instant::now(), 1_000, 10_500, Some((600.0, 1.0)));
        let at = |t: u64| match t {
            ..300 => 1_000,
            300..600 => 10_500,
            _ => 10_500 + t - 600,
        };
        assert_eq!(
            watch(landing, at),
            [(600, Step::Play), (800, Step::Landed(Some(300.0)))]
        );
    }

    #[test]
    fn a_paused_room_lands_on_the_target_and_a_stuck_seek_is_lost() {
        let landing = Landing::new(Instant::now(), 9_000, 8_000, None);
        assert_eq!(
            watch(landing, |t| if t < 400 { 9_000 } else { 8_000 }),
            [(400, Step::Landed(Some(400.0)))]
        );
        let stuck = Landing::new(Instant::now(), 9_000, 8_000, Some((300.0, 1.0)));
        assert_eq!(
            watch(stuck, |_| 8_000),
            [(300, Step::Play), (5_100, Step::Lost)]
        );
    }
}
