//! [`DriftController`]: keeps a local [`Player`] on the room's playback.

use std::time::{Duration, Instant};

use streamit_protocol::v1::{Playback, Rate};

use super::player::Player;
use super::seek::{Landing, Step};
use super::server_time::ServerTime;
use super::skew::SkewEstimator;
use smoother::Smoother;

mod smoother;

/// The tunables of a [`DriftController`]. Each default, and why it is what it is, is in the
/// [module docs](super#defaults).
///
/// Start from [`DriftConfig::default`] and change the fields you need.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct DriftConfig {
    /// Whether the controller acts on the player at all. When `false` it only measures:
    /// [`DriftController::last_drift_ms`] stays current and the player is left alone, after
    /// undoing a rate change of its own.
    pub auto_correct: bool,
    /// Steady drift (ms of the room's time, i.e. media ms divided by the room's rate, either
    /// way, averaged over `smoothing_ms`) at which a player that takes any rate gets a rate
    /// correction (a nudge).
    pub nudge_threshold_ms: u64,
    /// Drift (ms of the room's time, either way) corrected right after the room changed or
    /// a seek of the controller landed: the time lost before the tick, or a landing a
    /// little off.
    pub align_threshold_ms: u64,
    /// Drift (ms, either way) at which the controller seeks; players without rate control
    /// seek from it in steady play.
    pub seek_threshold_ms: u64,
    /// How long a nudge aims to take, ms: its rate is the drift over this, up to
    /// `max_nudge`.
    pub catch_up_ms: u64,
    /// The largest nudge, as a share of the room's rate.
    pub max_nudge: f64,
    /// Steady drift is averaged over this long, ms, before it starts a nudge.
    pub smoothing_ms: u64,
    /// Quiet interval after the controller starts, pauses or lands the player, ms: no
    /// correction starts until it has passed, so the controller judges the result rather
    /// than the transition.
    pub quiet_ms: u64,
    /// Seek latency assumed until one is measured, ms.
    pub initial_seek_latency_ms: u64,
    /// Weight of each new measured seek latency in the running average (an EWMA), 0–1. The
    /// first measurement, and any above the average, replace it.
    pub seek_latency_weight: f64,
    /// How long a seek may take to land before the controller stops waiting for it, ms.
    pub seek_timeout_ms: u64,
    /// Clean playback, ms, needed before the controller trusts a skew estimate; 0 turns
    /// skew learning off.
    pub skew_window_ms: u64,
    /// The controller re-trims the rate when its skew estimate moves by more than this
    /// share (0.000 2 = 0.02 % = 12 ms a minute).
    pub skew_tolerance: f64,
    /// A skew estimate further than this share from 1 is taken for a broken measurement and
    /// dropped.
    pub max_skew: f64,
    /// How long [`DriftController::expect_room_change`] leaves the player alone when the
    /// room's answer does not come, ms.
    pub hold_ms: u64,
}

impl Default for DriftConfig {
    fn default() -> Self {
        Self {
            auto_correct: true,
            nudge_threshold_ms: 10,
            align_threshold_ms: 5,
            seek_threshold_ms: 500,
            catch_up_ms: 500,
            max_nudge: 0.25,
            smoothing_ms: 1_000,
            quiet_ms: 200,
            initial_seek_latency_ms: 400,
            seek_latency_weight: 0.3,
            seek_timeout_ms: 5_000,
            skew_window_ms: 10_000,
            skew_tolerance: 0.000_2,
            max_skew: 0.02,
            hold_ms: 3_000,
        }
    }
}

/// What [`DriftController::tick`] did to the local player: for logs and metrics, and for
/// telling the player callbacks it causes from the user's own actions.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum Correction {
    /// Started the player because the room plays: at once, playing a little faster until it
    /// has made up the time lost before the tick (a nudge, ended by
    /// [`RateRestored`](Self::RateRestored)), or at the instant the room reaches the spot a
    /// [`Seek`](Self::Seek) went to.
    Played,
    /// Paused the player because the room is paused, then sent it to the room's exact
    /// position when it was off by more than the alignment threshold: a paused seek shows
    /// nothing and costs nothing.
    Paused {
        /// The seek made after pausing, ms.
        seek_to_ms: Option<u64>,
    },
    /// Set the player's rate to the room's (trimmed by the learned skew).
    RateFollowed {
        /// The rate set.
        rate: f64,
    },
    /// Paused the player and sent it to where the room will be once the seek is done; it
    /// plays again ([`Played`](Self::Played)) at the instant the room gets there.
    Seek {
        /// The target, ms.
        to_ms: u64,
        /// Drift that started it, ms, positive when the player was ahead.
        drift_ms: i64,
    },
    /// Started a nudge: the player plays a little slower (when ahead) or faster, sized to
    /// remove the drift in about [`DriftConfig::catch_up_ms`].
    Nudge {
        /// The nudged rate.
        rate: f64,
        /// Drift that started it, ms, positive when the player was ahead.
        drift_ms: i64,
    },
    /// Ended a nudge at the tick nearest zero drift: the player is back on the room's rate
    /// (trimmed by the learned skew).
    RateRestored {
        /// The rate set.
        rate: f64,
    },
    /// The player's media runs faster or slower than the room's clock: its rate is now
    /// trimmed to make up for it, and the drift gathered meanwhile is being taken out by a
    /// nudge (ended by [`RateRestored`](Self::RateRestored)).
    Trimmed {
        /// The rate set: the room's rate divided by `skew`.
        rate: f64,
        /// Media ms the player plays per ms of server time at rate 1.
        skew: f64,
    },
}

/// Keeps a local [`Player`] on a room's [`Playback`]: mirrors play/pause and rate, makes up
/// the time lost before each room change is seen, and holds the drift near zero with small
/// rate nudges, seeking only past the seek threshold.
///
/// It only ever acts on the local player and never produces a room command. The app must
/// not forward the player callbacks a correction causes (a `seeked`, `play`, `pause` or
/// `ratechange`) to the room: a member's seek would become a room `SEEK`, which every other
/// member would follow, which their controllers would fine-tune, and so on. Forward only
/// what the user did; to tell the two apart, check [`is_correcting`](Self::is_correcting)
/// or compare the callback with the last [`Correction`]. When the user does act and the app
/// sends the room a command, call [`expect_room_change`](Self::expect_room_change), or the
/// controller would put the player back where the room still is until the room follows.
///
/// One controller per player: create a new one when the media changes, since seek latency,
/// rate support and skew are the player's. Clock corrections need no new controller: they
/// come with each [`ServerTime`].
#[derive(Clone, Debug)]
pub struct DriftController {
    config: DriftConfig,
    seek_latency_ms: f64,
    latency_samples: u32,
    skew: f64,
    estimator: SkewEstimator,
    smoother: Smoother,
    /// The room's playback version at the previous tick.
    version: Option<u64>,
    /// The room just changed or a seek landed: the next look corrects from the alignment
    /// threshold.
    align: bool,
    nudge: Option<Nudge>,
    landing: Option<Landing>,
    quiet_until: Option<Instant>,
    hold_until: Option<Instant>,
    /// The app's tick interval, ms (a running average).
    tick_ms: f64,
    last_tick: Option<Instant>,
    /// A tick interval has been measured.
    tick_seen: bool,
    /// The last alignment follows a landing of the controller's own (not a room change):
    /// a player without rate control is not sent again for less than half a tick, which
    /// is as close as a start at a tick can land.
    after_landing: bool,
    /// The player takes rates other than the room's (for nudges and trims).
    fine_rates: bool,
    /// The room rate asked of the player at this version, so a refusal is not retried.
    asked_rate: Option<(u64, f64)>,
    /// The controller set a rate other than the room's.
    rate_touched: bool,
    last_drift_ms: Option<i64>,
    correcting: bool,
}

/// A nudge in progress: planned to remove `from_drift` at `removal` media ms per server ms.
#[derive(Clone, Copy, Debug)]
struct Nudge {
    from_drift: f64,
    /// Smooth server time it started at, ms.
    started_ms: f64,
    removal: f64,
}

/// The tick interval assumed until two ticks are seen, ms.
const DEFAULT_TICK_MS: f64 = 100.0;

impl Default for DriftController {
    fn default() -> Self {
        Self::new(DriftConfig::default())
    }
}

impl DriftController {
    /// A controller with `config`, knowing nothing yet about its player.
    pub fn new(config: DriftConfig) -> Self {
        Self {
            seek_latency_ms: config.initial_seek_latency_ms as f64,
            latency_samples: 0,
            skew: 1.0,
            estimator: SkewEstimator::new(config.skew_window_ms),
            smoother: Smoother::new(config.smoothing_ms as f64),
            version: None,
            align: false,
            nudge: None,
            landing: None,
            quiet_until: None,
            hold_until: None,
            tick_ms: DEFAULT_TICK_MS,
            last_tick: None,
            tick_seen: false,
            after_landing: false,
            fine_rates: true,
            asked_rate: None,
            rate_touched: false,
            last_drift_ms: None,
            correcting: false,
            config,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &DriftConfig {
        &self.config
    }

    /// Switches auto-correction on or off (a "sync" toggle in the app). Switched on again,
    /// the controller treats the room's state as new and aligns the player to it.
    pub fn set_auto_correct(&mut self, on: bool) {
        if on && !self.config.auto_correct {
            self.version = None;
        }
        self.config.auto_correct = on;
    }

    /// The drift measured at the last tick, ms: positive when the player was ahead of the
    /// room. Kept current with auto-correction off.
    pub fn last_drift_ms(&self) -> Option<i64> {
        self.last_drift_ms
    }

    /// Whether the player is under the controller's influence as of the last tick: an action
    /// was taken within the quiet interval, a seek has not landed yet, or a nudge is running.
    /// Player callbacks that arrive meanwhile are the controller's doing, not the user's.
    pub fn is_correcting(&self) -> bool {
        self.correcting
    }

    /// The seek latency learned so far (or the configured guess), ms.
    pub fn seek_latency_ms(&self) -> u64 {
        self.seek_latency_ms.round() as u64
    }

    /// The player's learned skew: media ms it plays per ms of server time at rate 1 (1.0
    /// until learned).
    pub fn skew(&self) -> f64 {
        self.skew
    }

    /// The app has sent the room a command (`PLAY`, `PAUSE`, `SEEK`, `SET_RATE`) for what the
    /// user did on this player: leave the player alone until the room's playback changes,
    /// or for [`DriftConfig::hold_ms`] if it does not (the command was refused).
    pub fn expect_room_change(&mut self, now_local: Instant) {
        self.hold_until = Some(now_local + ms(self.config.hold_ms));
    }

    /// Measures the drift and, at most once per call, acts on `player`.
    ///
    /// Call it every 100–250 ms, as regularly as the app can, with the room's latest
    /// playback (from the snapshot, `PLAYBACK_STATE` and `SYNC_CORRECTION`), the session's
    /// [`server_time`](crate::RoomSession::server_time) and the local monotonic time.
    /// Returns what it did, if anything.
    pub fn tick(
        &mut self,
        player: &mut dyn Player,
        room: &Playback,
        server: ServerTime,
        now_local: Instant,
    ) -> Option<Correction> {
        self.learn_tick(now_local);
        let position = player.position_ms();
        let drift = position as f64 - room_position(room, server.ms);
        self.last_drift_ms = Some(drift.round() as i64);
        let changed = self.version != Some(room.version);
        if changed {
            self.on_room_change(room.version);
        }
        let steady = !changed
            && room.playing
            && player.is_playing()
            && !player.is_buffering()
            && self.landing.is_none()
            && self.hold_until.is_none();
        let smooth_ms = server.smooth_ms();
        self.estimator
            .observe(steady.then_some((smooth_ms, position as f64)));
        if steady && self.nudge.is_none() {
            self.smoother.push(smooth_ms, drift);
        } else {
            self.smoother.clear();
        }
        let now = Now {
            server,
            local: now_local,
            drift,
            position,
        };
        let outcome = self.act(player, room, &now);
        let moved = matches!(
            outcome,
            Some(Correction::Seek { .. } | Correction::Played | Correction::Paused { .. })
        );
        self.estimator.after_tick(player.rate(), moved);
        if outcome.is_some() {
            self.smoother.clear();
        }
        if moved {
            self.quiet_until = Some(now_local + ms(self.config.quiet_ms));
        }
        self.correcting =
            self.landing.is_some() || self.nudge.is_some() || self.is_quiet(now_local);
        outcome
    }

    /// Learns the app's tick interval: the first gap seen, then a running average.
    fn learn_tick(&mut self, now: Instant) {
        let Some(last) = self.last_tick.replace(now) else {
            return;
        };
        let gap = now.saturating_duration_since(last).as_secs_f64() * 1_000.0;
        if gap <= 0.0 || gap >= 1_000.0 {
            return;
        }
        if std::mem::replace(&mut self.tick_seen, true) {
            self.tick_ms += 0.2 * (gap - self.tick_ms);
        } else {
            self.tick_ms = gap;
        }
    }

    fn on_room_change(&mut self, version: u64) {
        self.align = true;
        self.after_landing = false;
        self.version = Some(version);
        self.nudge = None;
        self.landing = None;
        self.quiet_until = None;
        self.hold_until = None;
        self.asked_rate = None;
    }

    fn act(&mut self, player: &mut dyn Player, room: &Playback, now: &Now) -> Option<Correction> {
        if !self.config.auto_correct {
            return self.let_go(player, room);
        }
        if !self.tick_seen {
            // The very first tick only measures: starts and nudges are timed in ticks.
            return None;
        }
        if let Some(until) = self.hold_until {
            if now.local < until {
                return None;
            }
            self.hold_until = None;
        }
        if self.landing.is_some() {
            return self.follow_landing(player, room, now);
        }
        if room.playing != player.is_playing() {
            return self.follow_play_state(player, room, now);
        }
        if let Some(followed) = self.follow_rate(player, room, now) {
            return Some(followed);
        }
        if player.is_buffering() {
            return None;
        }
        if let Some(trimmed) = self.trim(player, room, now) {
            return Some(trimmed);
        }
        self.correct(player, room, now)
    }

    /// Auto-correction is off: undo a rate of our own once, then touch nothing.
    fn let_go(&mut self, player: &mut dyn Player, room: &Playback) -> Option<Correction> {
        self.nudge = None;
        self.landing = None;
        if !std::mem::take(&mut self.rate_touched) {
            return None;
        }
        let rate = room.rate.get();
        player
            .set_rate(rate)
            .then_some(Correction::RateRestored { rate })
    }

    /// A seek of ours is under way: play at its instant, learn its latency when it shows.
    fn follow_landing(
        &mut self,
        player: &mut dyn Player,
        room: &Playback,
        now: &Now,
    ) -> Option<Correction> {
        let landing = self.landing.as_mut()?;
        let timeout = ms(self.config.seek_timeout_ms);
        match landing.step(
            now.position,
            now.local,
            now.server.ms,
            self.tick_ms / 2.0,
            timeout,
        ) {
            Step::Wait => None,
            Step::Play => {
                player.play();
                Some(Correction::Played)
            }
            Step::Landed(latency) => {
                self.landing = None;
                if let Some(latency) = latency {
                    self.learn_latency(latency.clamp(0.0, self.config.seek_timeout_ms as f64));
                }
                self.align = true;
                // A late landing is the latency's doing, which is learned now; anything
                // else is the tick's.
                self.after_landing = latency.is_none();
                // A player reports unsteady positions for a moment after it starts.
                self.quiet_until = room.playing.then(|| now.local + ms(self.config.quiet_ms));
                None
            }
            Step::Lost => {
                self.landing = None;
                self.align = true;
                None
            }
        }
    }

    fn follow_play_state(
        &mut self,
        player: &mut dyn Player,
        room: &Playback,
        now: &Now,
    ) -> Option<Correction> {
        let size = now.drift.abs();
        let can_seek = player.capabilities().seek;
        if !room.playing {
            player.pause();
            self.nudge = None;
            let off = can_seek && size > self.config.align_threshold_ms as f64;
            let seek_to_ms = off.then(|| self.seek_paused(player, room, now));
            return Some(Correction::Paused { seek_to_ms });
        }
        let fine = self.fine_rates && player.capabilities().rate;
        // What the largest nudge takes out in twice the catch-up time.
        let reach = if fine {
            self.config.max_nudge * 2.0 * self.config.catch_up_ms as f64 * room.rate.get()
        } else {
            self.config.nudge_threshold_ms as f64
        };
        if can_seek && size > reach {
            return Some(self.schedule(player, room, now));
        }
        self.restore_rate(player, room);
        player.play();
        // The time lost before this tick is made up from now on.
        if fine && in_time(size, room) > self.config.align_threshold_ms as f64 {
            self.start_nudge(player, room, now);
        }
        self.align = false;
        Some(Correction::Played)
    }

    /// Puts the player on the room's rate (trimmed by the skew), unless a nudge owns it;
    /// right after a room change, with the time the old rate lost made up on the way.
    fn follow_rate(
        &mut self,
        player: &mut dyn Player,
        room: &Playback,
        now: &Now,
    ) -> Option<Correction> {
        if self.nudge.is_some() || !player.capabilities().rate {
            return None;
        }
        let rate = self.base_rate(room);
        if (player.rate() - rate).abs() < 1e-9 {
            return None;
        }
        let version = room.version;
        if self.asked_rate == Some((version, rate)) || !player.set_rate(rate) {
            // Refused, or taken and not kept: no more trims, and the room's own rate is
            // asked once per room change.
            self.asked_rate = Some((version, rate));
            if self.skew != 1.0 || self.rate_touched {
                self.fine_rates = false;
                self.skew = 1.0;
                self.rate_touched = false;
            }
            return None;
        }
        self.asked_rate = Some((version, rate));
        self.rate_touched = rate != room.rate.get();
        let size = now.drift.abs();
        if self.align
            && room.playing
            && self.fine_rates
            && in_time(size, room) > self.config.align_threshold_ms as f64
            && size <= self.config.seek_threshold_ms as f64
        {
            self.align = false;
            if let Some(nudge) = self.start_nudge(player, room, now) {
                return Some(nudge);
            }
        }
        Some(Correction::RateFollowed { rate })
    }

    fn learn_latency(&mut self, sample_ms: f64) {
        self.seek_latency_ms = if self.latency_samples == 0 || sample_ms > self.seek_latency_ms {
            sample_ms
        } else {
            let weight = self.config.seek_latency_weight;
            self.seek_latency_ms + weight * (sample_ms - self.seek_latency_ms)
        };
        self.latency_samples = self.latency_samples.saturating_add(1);
    }

    /// Trims the rate when the learned skew (over a full window) has moved past the
    /// tolerance, and takes out the drift the skew gathered (past the alignment threshold)
    /// with a nudge on the way.
    fn trim(&mut self, player: &mut dyn Player, room: &Playback, now: &Now) -> Option<Correction> {
        if !self.can_trim(player, room) {
            return None;
        }
        let skew = self.estimator.estimate()?;
        self.apply_trim(player, room, now, skew)
    }

    /// Steady drift has passed the alignment threshold before a full window of playback is
    /// in: when half a window's estimate already accounts for it (past the tolerance, the
    /// way the drift goes) and is good to a quarter of the tolerance (its standard error),
    /// trims by it now, before the drift reaches the nudge threshold, so the skew costs one
    /// correction, not a nudge and then a trim. `steady` is the smoothed drift.
    fn trim_early(
        &mut self,
        player: &mut dyn Player,
        room: &Playback,
        now: &Now,
        steady: f64,
    ) -> Option<Correction> {
        if !self.can_trim(player, room) {
            return None;
        }
        let half = self.config.skew_window_ms as f64 / 2.0;
        let (skew, error) = self.estimator.estimate_with_error(half)?;
        if (skew - self.skew).signum() != steady.signum()
            || error > self.config.skew_tolerance / 4.0
        {
            return None;
        }
        self.apply_trim(player, room, now, skew)
    }

    fn can_trim(&self, player: &dyn Player, room: &Playback) -> bool {
        self.config.skew_window_ms != 0
            && room.playing
            && self.nudge.is_none()
            && self.fine_rates
            && player.capabilities().rate
    }

    /// Trims the rate by `skew` when it is a sane skew past the tolerance from the current
    /// trim; the drift gathered is taken out by a nudge on the way.
    fn apply_trim(
        &mut self,
        player: &mut dyn Player,
        room: &Playback,
        now: &Now,
        skew: f64,
    ) -> Option<Correction> {
        if (skew - 1.0).abs() > self.config.max_skew || skew <= 0.0 {
            self.estimator.reset();
            return None;
        }
        if (skew / self.skew - 1.0).abs() <= self.config.skew_tolerance {
            return None;
        }
        let previous = std::mem::replace(&mut self.skew, skew);
        let rate = self.base_rate(room);
        if !player.set_rate(rate) {
            self.skew = previous;
            self.fine_rates = false;
            return None;
        }
        self.rate_touched = true;
        let drift = self.smoother.mean().unwrap_or(now.drift);
        if drift.abs() > self.config.align_threshold_ms as f64 {
            self.start_nudge(player, room, &Now { drift, ..*now });
        }
        Some(Correction::Trimmed { rate, skew })
    }

    /// Steers a nudge, aligns after a change, seeks past the seek threshold, and nudges
    /// steady drift past the nudge threshold.
    fn correct(
        &mut self,
        player: &mut dyn Player,
        room: &Playback,
        now: &Now,
    ) -> Option<Correction> {
        if let Some(nudge) = self.nudge {
            return self.steer_nudge(player, room, now, nudge);
        }
        let size = now.drift.abs();
        let caps = player.capabilities();
        if !room.playing {
            // Both paused: a paused seek is free, so any visible difference goes.
            let off = caps.seek && size > self.config.align_threshold_ms as f64;
            self.align = false;
            return off.then(|| {
                let to_ms = self.seek_paused(player, room, now);
                Correction::Seek {
                    to_ms,
                    drift_ms: now.drift.round() as i64,
                }
            });
        }
        if caps.seek && size > self.config.seek_threshold_ms as f64 {
            return Some(self.schedule(player, room, now));
        }
        if self.is_quiet(now.local) {
            return None;
        }
        let fine = self.fine_rates && caps.rate;
        if std::mem::take(&mut self.align) {
            if in_time(size, room) <= self.config.align_threshold_ms as f64 {
                return None;
            }
            if fine {
                if let Some(nudge) = self.start_nudge(player, room, now) {
                    return Some(nudge);
                }
            }
            let mut reseek = self.config.nudge_threshold_ms as f64;
            if std::mem::take(&mut self.after_landing) {
                reseek += self.tick_ms / 2.0 * room.rate.get();
            }
            return (caps.seek && size > reseek).then(|| self.schedule(player, room, now));
        }
        let steady = self.smoother.mean()?;
        let off = in_time(steady.abs(), room);
        if fine && off > self.config.align_threshold_ms as f64 {
            if let Some(trimmed) = self.trim_early(player, room, now, steady) {
                return Some(trimmed);
            }
        }
        if fine && off > self.config.nudge_threshold_ms as f64 {
            let smoothed = Now {
                drift: steady,
                ..*now
            };
            return self.start_nudge(player, room, &smoothed);
        }
        None
    }

    fn start_nudge(
        &mut self,
        player: &mut dyn Player,
        room: &Playback,
        now: &Now,
    ) -> Option<Correction> {
        // A whole number of ticks, so that the nudge ends on one: the catch-up time, or
        // more when the largest nudge needs longer.
        let tick = self.tick_ms.max(1.0);
        let speed = room.rate.get();
        let ticks = (self.config.catch_up_ms as f64 / tick)
            .round()
            .max((now.drift.abs() / (self.config.max_nudge * speed * tick)).ceil())
            .max(1.0);
        let share = now.drift.abs() / (ticks * tick * speed);
        let factor = if now.drift > 0.0 {
            1.0 - share
        } else {
            1.0 + share
        };
        let rate = (self.base_rate(room) * factor).clamp(Rate::MIN, Rate::MAX);
        if !player.set_rate(rate) {
            self.fine_rates = false;
            return None;
        }
        self.nudge = Some(Nudge {
            from_drift: now.drift,
            started_ms: now.server.smooth_ms(),
            removal: share * room.rate.get(),
        });
        self.rate_touched = true;
        Some(Correction::Nudge {
            rate,
            drift_ms: now.drift.round() as i64,
        })
    }

    /// A nudge ends at the tick nearest the instant its plan reaches zero drift; earlier
    /// when the drift has plainly crossed zero, with a seek when it went past the seek
    /// threshold (a stall).
    fn steer_nudge(
        &mut self,
        player: &mut dyn Player,
        room: &Playback,
        now: &Now,
        nudge: Nudge,
    ) -> Option<Correction> {
        let elapsed = now.server.smooth_ms() - nudge.started_ms;
        let left = nudge.from_drift.abs() - nudge.removal * elapsed;
        let crossed = now.drift.signum() != nudge.from_drift.signum()
            && now.drift.abs() > self.config.align_threshold_ms as f64;
        let far = now.drift.abs() > self.config.seek_threshold_ms as f64;
        if left > nudge.removal * self.tick_ms / 2.0 && !crossed && !far {
            return None;
        }
        self.nudge = None;
        let base = self.base_rate(room);
        player.set_rate(base);
        self.rate_touched = base != room.rate.get();
        if far && player.capabilities().seek {
            return Some(self.schedule(player, room, now));
        }
        Some(Correction::RateRestored { rate: base })
    }

    /// Pauses the player and sends it to where the room will be a whole number of ticks
    /// from now, at least the seek latency away; it plays at that tick.
    fn schedule(&mut self, player: &mut dyn Player, room: &Playback, now: &Now) -> Correction {
        let tick = self.tick_ms.max(1.0);
        let ticks = ((self.seek_latency_ms + tick / 2.0) / tick).ceil().max(1.0);
        let play_at_ms = now.server.ms + ticks * tick;
        let to_ms = room_position(room, play_at_ms).round() as u64;
        if player.is_playing() {
            player.pause();
        }
        self.nudge = None;
        self.restore_rate(player, room);
        player.seek(to_ms);
        let start = Some((play_at_ms, room.rate.get()));
        self.landing = Some(Landing::new(now.local, now.position, to_ms, start));
        Correction::Seek {
            to_ms,
            drift_ms: now.drift.round() as i64,
        }
    }

    /// Seeks a paused player to the paused room's position.
    fn seek_paused(&mut self, player: &mut dyn Player, room: &Playback, now: &Now) -> u64 {
        let to_ms = room.position_ms.get();
        player.seek(to_ms);
        self.landing = Some(Landing::new(now.local, now.position, to_ms, None));
        to_ms
    }

    /// Puts a player that takes rates back on the base rate, as before a start: a nudge
    /// cut short by a room change would otherwise go on until the player is seen playing.
    fn restore_rate(&mut self, player: &mut dyn Player, room: &Playback) {
        let base = self.base_rate(room);
        if player.capabilities().rate
            && (player.rate() - base).abs() > 1e-9
            && player.set_rate(base)
        {
            self.rate_touched = base != room.rate.get();
        }
    }

    /// Still in the pause after a correction, when drift is not acted on.
    fn is_quiet(&self, now: Instant) -> bool {
        self.quiet_until.is_some_and(|until| now < until)
    }

    /// The room's rate, trimmed by the learned skew.
    fn base_rate(&self, room: &Playback) -> f64 {
        (room.rate.get() / self.skew).clamp(Rate::MIN, Rate::MAX)
    }
}

/// One tick's inputs.
#[derive(Clone, Copy)]
struct Now {
    server: ServerTime,
    local: Instant,
    /// Player minus room, ms.
    drift: f64,
    position: u64,
}

/// Where `room` puts the media at server time `server_ms`, ms, without rounding: the
/// protocol's `position_at` to the fraction (paused stays put, no rewinding before the
/// anchor).
pub(super) fn room_position(room: &Playback, server_ms: f64) -> f64 {
    let from = room.position_ms.get() as f64;
    if !room.playing {
        return from;
    }
    from + (server_ms - room.updated_at_ms as f64).max(0.0) * room.rate.get()
}

/// A drift in media ms as the room's time it stands for, ms: what the viewer sees against
/// another screen. At 1.5× a clock estimate that moved 8 ms moves the room's position 12
/// media ms, and is still an 8 ms matter; the nudge and alignment thresholds compare this.
fn in_time(media_ms: f64, room: &Playback) -> f64 {
    media_ms / room.rate.get()
}

fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

#[cfg(test)]
mod tests;
