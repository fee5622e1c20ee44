//! [`SimulatedPlayer`]: a clock-driven player with the faults of real ones, on virtual time.

use std::time::{Duration, Instant};

use streamit_protocol::v1::{Capabilities, Rate};

use super::player::Player;

/// What a [`SimulatedPlayer`] reports while a seek is in flight.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum SeekBehavior {
    /// The position jumps to the target at once and stays there until the seek latency has
    /// passed, then playback goes on from the target: what an HTML `<video>` reports through
    /// `currentTime` while it is `seeking`.
    #[default]
    FreezeAtTarget,
    /// Playback goes on from the old spot until the seek latency has passed, then the
    /// position jumps to the target: players that report their position only once the new
    /// spot is decoded.
    KeepPlaying,
}

/// A media player simulated on a clock you drive: for tests, the terminal client and the load
/// bots.
///
/// Nothing in it reads the real clock. It starts at the [`Instant`] given to
/// [`new`](Self::new) and moves only when [`advance`](Self::advance) or
/// [`advance_to`](Self::advance_to) is called, so a test runs minutes of playback in
/// microseconds and always the same way. Call them before each use of the [`Player`]
/// methods: commands act at the player's current time.
///
/// Faults, each off by default:
/// - seek latency ([`with_seek_latency`](Self::with_seek_latency)): a seek lands after a
///   delay; what the position does meanwhile is the [`SeekBehavior`];
/// - buffering stalls ([`with_stall_at`](Self::with_stall_at), [`stall`](Self::stall)):
///   the position freezes and [`Player::is_buffering`] is `true` for the stall's duration,
///   which runs whether or not the player is playing; a seek cancels a stall in progress
///   (the new spot has its own wait, the seek latency);
/// - clock skew ([`with_clock_rate`](Self::with_clock_rate)): the player's notion of elapsed
///   time runs fast or slow by a factor, like a device clock that drifts;
/// - jitter ([`with_jitter`](Self::with_jitter)): reported positions are off by up to ±J ms
///   while playing, deterministically from a seed.
///
/// A clock *offset* is not the player's fault but the session's (its estimate of server
/// time); to test one, hand [`DriftController::tick`](super::DriftController::tick) a
/// server time that is off.
#[derive(Clone, Debug)]
pub struct SimulatedPlayer {
    start: Instant,
    now: Instant,
    /// Exact media position, ms.
    position: f64,
    playing: bool,
    rate: f64,
    capabilities: Capabilities,
    seek_latency: Duration,
    seek_behavior: SeekBehavior,
    clock_rate: f64,
    jitter_ms: u64,
    seed: u64,
    /// A seek in flight: when it lands and where to.
    pending_seek: Option<(Instant, f64)>,
    stalled_until: Option<Instant>,
    /// Stalls still to come: media position (ms) where each starts, and its length.
    stalls: Vec<(f64, Duration)>,
    seeks: u32,
}

/// What the next step of [`SimulatedPlayer::advance_to`] stops at.
enum Event {
    Target,
    SeekLands,
    StallEnds,
    StallStarts(usize),
}

impl SimulatedPlayer {
    /// A paused player at position 0, normal rate, able to seek and change rate, with no
    /// faults, whose clock starts at `start`.
    pub fn new(start: Instant) -> Self {
        Self {
            start,
            now: start,
            position: 0.0,
            playing: false,
            rate: 1.0,
            capabilities: Capabilities::new(true, true, true),
            seek_latency: Duration::ZERO,
            seek_behavior: SeekBehavior::default(),
            clock_rate: 1.0,
            jitter_ms: 0,
            seed: 0,
            pending_seek: None,
            stalled_until: None,
            stalls: Vec::new(),
            seeks: 0,
        }
    }

    /// Starts at `position_ms` instead of 0.
    pub fn with_position(mut self, position_ms: u64) -> Self {
        self.position = position_ms as f64;
        self
    }

    /// What the player claims to support. Without `rate`, [`Player::set_rate`] refuses
    /// every rate; without `seek`, seeks are ignored.
    pub fn with_capabilities(mut self, capabilities: Capabilities) -> Self {
        self.capabilities = capabilities;
        self
    }

    /// How long a seek takes to land.
    pub fn with_seek_latency(mut self, latency: Duration) -> Self {
        self.seek_latency = latency;
        self
    }

    /// What the position does while a seek is in flight.
    pub fn with_seek_behavior(mut self, behavior: SeekBehavior) -> Self {
        self.seek_behavior = behavior;
        self
    }

    /// How fast the player's clock runs: 1.005 is 0.5 % fast (the media gains 5 ms a
    /// second on the room), 0.99 is 1 % slow. Must be positive.
    pub fn with_clock_rate(mut self, factor: f64) -> Self {
        self.clock_rate = factor;
        self
    }

    /// Reported positions are off by up to ±`max_ms` while playing, chosen from `seed` and
    /// the current time, so the same run reports the same positions.
    pub fn with_jitter(mut self, max_ms: u64, seed: u64) -> Self {
        self.jitter_ms = max_ms;
        self.seed = seed;
        self
    }

    /// Stalls for `length` when playback reaches `position_ms` (once).
    pub fn with_stall_at(mut self, position_ms: u64, length: Duration) -> Self {
        self.stalls.push((position_ms as f64, length));
        self
    }

    /// Stalls now for `length`, as when the network drops for a while.
    pub fn stall(&mut self, length: Duration) {
        self.stalled_until = Some(self.now + length);
    }

    /// The player's current time.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// Moves the clock forward by `elapsed`.
    pub fn advance(&mut self, elapsed: Duration) {
        self.advance_to(self.now + elapsed);
    }

    /// Moves the clock forward to `now`; a time before the current one changes nothing.
    pub fn advance_to(&mut self, now: Instant) {
        while self.now < now {
            let (at, event) = self.next_event(now);
            if self.is_moving() {
                let elapsed_ms = (at - self.now).as_secs_f64() * 1000.0;
                self.position += elapsed_ms * self.speed();
            }
            self.now = at;
            match event {
                Event::Target => {}
                Event::SeekLands => {
                    if let Some((_, target)) = self.pending_seek.take() {
                        self.position = target;
                    }
                }
                Event::StallEnds => self.stalled_until = None,
                Event::StallStarts(index) => {
                    let (position, length) = self.stalls.swap_remove(index);
                    self.position = position;
                    self.stalled_until = Some(at + length);
                }
            }
        }
    }

    /// The exact position, without jitter: what the viewer sees. Tests measure drift on it.
    pub fn exact_position_ms(&self) -> u64 {
        self.position.max(0.0).round() as u64
    }

    /// The exact position with its fraction, ms: what the viewer sees, for measuring drift
    /// finer than a whole ms.
    pub fn exact_position(&self) -> f64 {
        self.position.max(0.0)
    }

    /// How many seeks the player has been asked for.
    pub fn seek_count(&self) -> u32 {
        self.seeks
    }

    /// Media ms per ms of real time right now, when moving.
    fn speed(&self) -> f64 {
        self.rate * self.clock_rate
    }

    fn is_moving(&self) -> bool {
        let frozen_by_seek =
            self.pending_seek.is_some() && self.seek_behavior == SeekBehavior::FreezeAtTarget;
        self.playing && self.stalled_until.is_none() && !frozen_by_seek
    }

    /// The first thing that happens before `limit`, and when.
    fn next_event(&self, limit: Instant) -> (Instant, Event) {
        let mut next = (limit, Event::Target);
        if let Some((lands, _)) = self.pending_seek {
            if lands <= next.0 {
                next = (lands, Event::SeekLands);
            }
        }
        if let Some(until) = self.stalled_until {
            if until <= next.0 {
                next = (until, Event::StallEnds);
            }
        }
        if self.is_moving() {
            for (index, &(at_position, _)) in self.stalls.iter().enumerate() {
                // The tolerance keeps a stall that rounding put a hair behind us.
                if at_position + 1e-6 < self.position {
                    continue;
                }
                let wait_ms = ((at_position - self.position) / self.speed()).max(0.0);
                let at = self.now + Duration::from_secs_f64(wait_ms / 1000.0);
                if at <= next.0 {
                    next = (at, Event::StallStarts(index));
                }
            }
        }
        next
    }

    fn jitter(&self) -> i64 {
        if self.jitter_ms == 0 || !self.is_moving() {
            return 0;
        }
        let nanos = (self.now - self.start).as_nanos() as u64;
        let span = 2 * self.jitter_ms + 1;
        (splitmix64(self.seed ^ nanos) % span) as i64 - self.jitter_ms as i64
    }
}

impl Player for SimulatedPlayer {
    fn position_ms(&self) -> u64 {
        (self.exact_position_ms() as i64 + self.jitter()).max(0) as u64
    }

    fn is_playing(&self) -> bool {
        self.playing
    }

    fn is_buffering(&self) -> bool {
        self.stalled_until.is_some()
    }

    fn play(&mut self) {
        self.playing = true;
    }

    fn pause(&mut self) {
        self.playing = false;
    }

    fn seek(&mut self, position_ms: u64) {
        if !self.capabilities.seek {
            return;
        }
        self.seeks += 1;
        self.stalled_until = None;
        let target = position_ms as f64;
        if self.seek_latency.is_zero() {
            self.pending_seek = None;
            self.position = target;
            return;
        }
        self.pending_seek = Some((self.now + self.seek_latency, target));
        if self.seek_behavior == SeekBehavior::FreezeAtTarget {
            self.position = target;
        }
    }

    fn rate(&self) -> f64 {
        self.rate
    }

    fn set_rate(&mut self, rate: f64) -> bool {
        if !self.capabilities.rate || Rate::new(rate).is_err() {
            return false;
        }
        self.rate = rate;
        true
    }

    fn capabilities(&self) -> Capabilities {
        self.capabilities
    }
}

/// A fast, well-mixed hash of one word (Steele, Lea and Flood's SplitMix64 finaliser).
pub(crate) fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    fn playing() -> SimulatedPlayer {
        let mut player = SimulatedPlayer::new(Instant::now());
        player.play();
        player
    }

    #[test]
    fn plays_on_its_clock_at_its_rate() {
        let mut player = SimulatedPlayer::new(Instant::now()).with_position(1_000);
        player.advance(500 * MS);
        assert_eq!(player.position_ms(), 1_000, "paused stays put");
        player.play();
        player.advance(2_000 * MS);
        assert_eq!(player.position_ms(), 3_000);
        assert!(player.set_rate(1.5));
        player.advance(2_000 * MS);
        assert_eq!(player.position_ms(), 6_000);
        player.pause();
        player.advance(2_000 * MS);
        assert_eq!(player.position_ms(), 6_000);
    }

    #[test]
    fn time_never_runs_back() {
        let mut player = playing();
        let start = player.now();
        player.advance(1_000 * MS);
        player.advance_to(start);
        assert_eq!(player.now(), start + 1_000 * MS);
        assert_eq!(player.position_ms(), 1_000);
    }

    #[test]
    fn a_skewed_clock_gains_on_real_time() {
        let mut player = playing().with_clock_rate(1.005);
        player.advance(60_000 * MS);
        assert_eq!(player.position_ms(), 60_300);
        let mut slow = playing().with_clock_rate(0.99);
        slow.advance(10_000 * MS);
        assert_eq!(slow.position_ms(), 9_900);
    }

    #[test]
    fn a_seek_freezes_at_its_target_until_it_lands() {
        let mut player = playing().with_seek_latency(300 * MS);
        player.advance(1_000 * MS);
        player.seek(10_000);
        player.advance(200 * MS);
        assert_eq!(player.position_ms(), 10_000, "reports the target, frozen");
        player.advance(100 * MS);
        assert_eq!(player.position_ms(), 10_000, "lands now");
        player.advance(100 * MS);
        assert_eq!(player.position_ms(), 10_100);
        assert_eq!(player.seek_count(), 1);
    }

    #[test]
    fn a_seek_can_keep_playing_from_the_old_spot_until_it_lands() {
        let mut player = playing()
            .with_seek_latency(300 * MS)
            .with_seek_behavior(SeekBehavior::KeepPlaying);
        player.advance(1_000 * MS);
        player.seek(10_000);
        player.advance(200 * MS);
        assert_eq!(player.position_ms(), 1_200);
        player.advance(200 * MS);
        assert_eq!(player.position_ms(), 10_100);
    }

    #[test]
    fn a_stall_at_a_position_freezes_playback_while_buffering() {
        let mut player = playing().with_stall_at(1_000, 2_000 * MS);
        player.advance(999 * MS);
        assert!(!player.is_buffering());
        player.advance(MS);
        assert!(player.is_buffering());
        player.advance(1_999 * MS);
        assert_eq!(player.position_ms(), 1_000);
        assert!(player.is_buffering() && player.is_playing());
        player.advance(MS);
        assert!(!player.is_buffering());
        player.advance(500 * MS);
        assert_eq!(player.position_ms(), 1_500);
        player.advance(60_000 * MS);
        assert_eq!(player.position_ms(), 61_500, "each stall happens once");
    }

    #[test]
    fn a_stall_on_demand_and_one_a_seek_cancels() {
        let mut player = playing();
        player.stall(500 * MS);
        player.advance(1_000 * MS);
        assert_eq!(player.position_ms(), 500);
        player.stall(10_000 * MS);
        player.advance(1_000 * MS);
        player.seek(5_000);
        assert!(!player.is_buffering());
        player.advance(1_000 * MS);
        assert_eq!(player.position_ms(), 6_000);
    }

    #[test]
    fn jitter_is_bounded_deterministic_and_only_reported() {
        let run = |seed| {
            let mut player = playing().with_jitter(10, seed);
            let mut seen = Vec::new();
            for _ in 0..200 {
                player.advance(250 * MS);
                let off = player.position_ms() as i64 - player.exact_position_ms() as i64;
                assert!(off.abs() <= 10, "{off}");
                seen.push(off);
            }
            seen
        };
        let first = run(7);
        assert_eq!(first, run(7));
        assert_ne!(first, run(8));
        assert!(first.iter().any(|&off| off < -5) && first.iter().any(|&off| off > 5));
    }

    #[test]
    fn capabilities_are_honoured() {
        let mut player = playing().with_capabilities(Capabilities::new(false, false, false));
        assert!(!player.set_rate(0.95));
        player.seek(5_000);
        assert_eq!((player.position_ms(), player.seek_count()), (0, 0));
        let mut able = playing();
        assert!(!able.set_rate(5.0), "outside the protocol's rates");
        assert!(able.set_rate(0.95));
        assert!((able.rate() - 0.95).abs() < f64::EPSILON);
    }
}
