//! [`DriftController`]: keeps a local [`Player`] on the room's playback.

use std::time::{Duration, Instant};

use streamit_protocol::v1::{Playback, PositionMs, Rate};

use super::player::Player;
use super::seek::{Landing, PendingSeek};
use super::skew::SkewEstimator;

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
    /// Drift (ms, either way) at which a player that takes any rate gets a rate nudge.
    pub nudge_threshold_ms: u64,
    /// Drift (ms, either way) at which the controller seeks: any player above it, and
    /// players without rate control from it up.
    pub seek_threshold_ms: u64,
    /// Hysteresis: once correcting, the controller goes on until the drift is below this
    /// share of the threshold that started it, so drift converges instead of parking just
    /// under the threshold.
    pub stop_fraction: f64,
    /// How much faster or slower a nudge plays, as a share of the room's rate.
    pub nudge: f64,
    /// Quiet interval after each action, ms: no new correction starts until it has passed
    /// (for a seek, counted from when the seek landed).
    pub quiet_ms: u64,
    /// Seek latency assumed until the first seek is measured, ms.
    pub initial_seek_latency_ms: u64,
    /// Weight of each new measured seek latency in the running average (an EWMA), 0–1. The
    /// first measurement replaces the initial guess.
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
            nudge_threshold_ms: 100,
            seek_threshold_ms: 500,
            stop_fraction: 0.25,
            nudge: 0.05,
            quiet_ms: 1_500,
            initial_seek_latency_ms: 250,
            seek_latency_weight: 0.3,
            seek_timeout_ms: 5_000,
            skew_window_ms: 30_000,
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
    /// Started the player because the room plays. When it was off by more than the nudge
    /// threshold's stop share (25 ms by default), it was first sent to where the room will
    /// be once the seek lands: starting is a jump anyway, and one seek now saves a
    /// correction later.
    Played {
        /// The seek made first, ms.
        seek_to_ms: Option<u64>,
    },
    /// Paused the player because the room is paused, then sent it to the room's exact
    /// position when it was off by more than the nudge threshold's stop share: a paused
    /// seek shows nothing and costs nothing.
    Paused {
        /// The seek made after pausing, ms.
        seek_to_ms: Option<u64>,
    },
    /// Set the player's rate to the room's (trimmed by the learned skew).
    RateFollowed {
        /// The rate set.
        rate: f64,
    },
    /// Seeked to fix drift; the target is where the room will be when the seek lands.
    Seek {
        /// The target, ms.
        to_ms: u64,
        /// Drift that started it, ms, positive when the player was ahead.
        drift_ms: i64,
    },
    /// Started a rate nudge: the player plays a little slower (when ahead) or faster.
    Nudge {
        /// The nudged rate.
        rate: f64,
        /// Drift that started it, ms, positive when the player was ahead.
        drift_ms: i64,
    },
    /// Ended a nudge: the player is back on the room's rate (trimmed by the learned skew).
    RateRestored {
        /// The rate set.
        rate: f64,
    },
    /// The player's media runs faster or slower than the room's clock: its rate is now
    /// trimmed to make up for it.
    Trimmed {
        /// The rate set: the room's rate divided by `skew`.
        rate: f64,
        /// Media ms the player plays per ms of server time at rate 1.
        skew: f64,
    },
}

/// Keeps a local [`Player`] on a room's [`Playback`]: mirrors play/pause and rate, and
/// corrects drift with rate nudges or latency-compensated seeks, with hysteresis and a quiet
/// interval.
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
/// rate support and skew are the player's.
#[derive(Clone, Debug)]
pub struct DriftController {
    config: DriftConfig,
    seek_latency_ms: f64,
    latency_samples: u32,
    skew: f64,
    estimator: SkewEstimator,
    /// The room's playback version at the previous tick.
    version: Option<u64>,
    /// Correcting until the drift is below the stop threshold.
    episode: bool,
    /// The room just changed: the next drift check starts correcting from the stop threshold.
    align: bool,
    /// The rate of a nudge in progress.
    nudge: Option<f64>,
    pending: Option<PendingSeek>,
    quiet_until: Option<Instant>,
    hold_until: Option<Instant>,
    /// The player takes rates other than the room's (for nudges and trims).
    fine_rates: bool,
    /// The room rate asked of the player at this version, so a refusal is not retried.
    asked_rate: Option<(u64, f64)>,
    /// The controller set a rate other than the room's.
    rate_touched: bool,
    last_drift_ms: Option<i64>,
    correcting: bool,
}

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
            version: None,
            episode: false,
            align: false,
            nudge: None,
            pending: None,
            quiet_until: None,
            hold_until: None,
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
    /// Call it every 100–250 ms with the room's latest playback (from the snapshot,
    /// `PLAYBACK_STATE` and `SYNC_CORRECTION`), the session's estimate of server time now
    /// (Unix epoch ms) and the local monotonic time. Returns what it did, if anything.
    pub fn tick(
        &mut self,
        player: &mut dyn Player,
        room: &Playback,
        now_server_ms: u64,
        now_local: Instant,
    ) -> Option<Correction> {
        let position = player.position_ms();
        let drift = room.drift_ms(PositionMs::saturating(position), now_server_ms);
        self.last_drift_ms = Some(drift);
        let changed = self.version != Some(room.version);
        if changed {
            self.on_room_change(room.version);
        }
        let steady = !changed
            && room.playing
            && player.is_playing()
            && !player.is_buffering()
            && self.pending.is_none()
            && self.hold_until.is_none();
        self.estimator
            .observe(steady.then_some((now_server_ms, position)));
        let now = Now {
            server_ms: now_server_ms,
            local: now_local,
            drift,
            position,
        };
        let outcome = self.act(player, room, &now);
        let moved = matches!(
            outcome,
            Some(Correction::Seek { .. } | Correction::Played { .. } | Correction::Paused { .. })
        );
        self.estimator.after_tick(player.rate(), moved);
        if outcome.is_some() {
            self.quiet_until = Some(now_local + ms(self.config.quiet_ms));
        }
        self.correcting =
            self.pending.is_some() || self.nudge.is_some() || self.is_quiet(now_local);
        outcome
    }

    fn on_room_change(&mut self, version: u64) {
        // A first sight of the room is no discontinuity: the usual thresholds apply.
        self.align = self.version.is_some();
        self.version = Some(version);
        self.episode = false;
        self.nudge = None;
        self.pending = None;
        self.quiet_until = None;
        self.hold_until = None;
        self.asked_rate = None;
    }

    fn act(&mut self, player: &mut dyn Player, room: &Playback, now: &Now) -> Option<Correction> {
        if !self.config.auto_correct {
            return self.let_go(player, room);
        }
        if let Some(until) = self.hold_until {
            if now.local < until {
                return None;
            }
            self.hold_until = None;
        }
        if room.playing != player.is_playing() {
            return self.follow_play_state(player, room, now);
        }
        if let Some(followed) = self.follow_rate(player, room) {
            return Some(followed);
        }
        if self.awaiting_seek(player, now) || player.is_buffering() {
            return None;
        }
        if let Some(trimmed) = self.trim(player, room) {
            return Some(trimmed);
        }
        self.correct(player, room, now)
    }

    /// Auto-correction is off: undo a rate of our own once, then touch nothing.
    fn let_go(&mut self, player: &mut dyn Player, room: &Playback) -> Option<Correction> {
        self.episode = false;
        self.nudge = None;
        self.pending = None;
        if !std::mem::take(&mut self.rate_touched) {
            return None;
        }
        let rate = room.rate.get();
        player
            .set_rate(rate)
            .then_some(Correction::RateRestored { rate })
    }

    fn follow_play_state(
        &mut self,
        player: &mut dyn Player,
        room: &Playback,
        now: &Now,
    ) -> Option<Correction> {
        if self.is_quiet(now.local) {
            return None;
        }
        let fine_stop = self.config.nudge_threshold_ms as f64 * self.config.stop_fraction;
        let off = now.drift.unsigned_abs() as f64 > fine_stop && player.capabilities().seek;
        // Where that seek lands off (the seek latency is still a guess) is the controller's
        // own doing, also on a first sight of the room: finish it as after a room change.
        self.align |= off;
        if room.playing {
            let seek_to_ms = off.then(|| self.send_seek(player, room, now));
            player.play();
            Some(Correction::Played { seek_to_ms })
        } else {
            player.pause();
            let seek_to_ms = off.then(|| self.send_seek(player, room, now));
            Some(Correction::Paused { seek_to_ms })
        }
    }

    /// Puts the player on the room's rate (trimmed by the skew), unless a nudge owns it.
    fn follow_rate(&mut self, player: &mut dyn Player, room: &Playback) -> Option<Correction> {
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
        Some(Correction::RateFollowed { rate })
    }

    /// Whether a seek is still in flight; learns the seek latency when it lands.
    fn awaiting_seek(&mut self, player: &dyn Player, now: &Now) -> bool {
        let Some(pending) = self.pending.as_mut() else {
            return false;
        };
        let unseen_after = ms(self.config.quiet_ms);
        let timeout = ms(self.config.seek_timeout_ms);
        let landing = pending.landing(now.position, now.local, unseen_after, timeout);
        let sample = pending.latency_ms(now.drift);
        match landing {
            Landing::InFlight => return true,
            Landing::Lost => {
                self.pending = None;
                return false;
            }
            Landing::Landed | Landing::Unseen => self.pending = None,
        }
        self.quiet_until = Some(now.local + ms(self.config.quiet_ms));
        if let Some(sample) = sample.filter(|_| landing == Landing::Landed && player.is_playing()) {
            self.learn_latency(sample.clamp(0.0, self.config.seek_timeout_ms as f64));
        }
        true
    }

    fn learn_latency(&mut self, sample_ms: f64) {
        self.seek_latency_ms = if self.latency_samples == 0 {
            sample_ms
        } else {
            let weight = self.config.seek_latency_weight;
            self.seek_latency_ms + weight * (sample_ms - self.seek_latency_ms)
        };
        self.latency_samples = self.latency_samples.saturating_add(1);
    }

    /// Trims the rate when the learned skew has moved past the tolerance.
    fn trim(&mut self, player: &mut dyn Player, room: &Playback) -> Option<Correction> {
        if self.config.skew_window_ms == 0
            || !room.playing
            || self.nudge.is_some()
            || !self.fine_rates
            || !player.capabilities().rate
        {
            return None;
        }
        let skew = self.estimator.estimate()?;
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
        // The drift gathered before the trim is taken out now, while the rate is changing.
        self.align = true;
        Some(Correction::Trimmed { rate, skew })
    }

    /// The hysteresis: start past the threshold, go on until below the stop threshold.
    fn correct(
        &mut self,
        player: &mut dyn Player,
        room: &Playback,
        now: &Now,
    ) -> Option<Correction> {
        let fine = self.fine_rates && player.capabilities().rate;
        let start = if fine {
            self.config.nudge_threshold_ms
        } else {
            self.config.seek_threshold_ms
        };
        let stop = start as f64 * self.config.stop_fraction;
        let size = now.drift.unsigned_abs();
        if let Some(rate) = self.nudge {
            return self.steer_nudge(player, room, now, rate, stop);
        }
        if (size as f64) < stop {
            self.episode = false;
            self.align = false;
            return None;
        }
        if !self.episode {
            let from = if std::mem::take(&mut self.align) {
                stop
            } else {
                start as f64
            };
            if size as f64 <= from {
                return None;
            }
            self.episode = true;
        }
        if self.is_quiet(now.local) {
            return None;
        }
        if fine && room.playing && size <= self.config.seek_threshold_ms {
            if let Some(nudge) = self.start_nudge(player, room, now.drift) {
                return Some(nudge);
            }
        }
        if !player.capabilities().seek {
            return None;
        }
        let to_ms = self.send_seek(player, room, now);
        Some(Correction::Seek {
            to_ms,
            drift_ms: now.drift,
        })
    }

    fn start_nudge(
        &mut self,
        player: &mut dyn Player,
        room: &Playback,
        drift: i64,
    ) -> Option<Correction> {
        let factor = if drift > 0 {
            1.0 - self.config.nudge
        } else {
            1.0 + self.config.nudge
        };
        let rate = (self.base_rate(room) * factor).clamp(Rate::MIN, Rate::MAX);
        if !player.set_rate(rate) {
            self.fine_rates = false;
            return None;
        }
        self.nudge = Some(rate);
        self.rate_touched = true;
        Some(Correction::Nudge {
            rate,
            drift_ms: drift,
        })
    }

    /// A nudge runs until the drift is below `stop` or changes sign; a drift past the seek
    /// threshold (a stall) ends it with a seek.
    fn steer_nudge(
        &mut self,
        player: &mut dyn Player,
        room: &Playback,
        now: &Now,
        rate: f64,
        stop: f64,
    ) -> Option<Correction> {
        let size = now.drift.unsigned_abs();
        let slowing = rate < self.base_rate(room);
        let overshot = (now.drift > 0) != slowing;
        let far = size > self.config.seek_threshold_ms;
        if (size as f64) >= stop && !overshot && !far {
            return None;
        }
        self.nudge = None;
        let base = self.base_rate(room);
        player.set_rate(base);
        self.rate_touched = base != room.rate.get();
        if far && player.capabilities().seek {
            let to_ms = self.send_seek(player, room, now);
            return Some(Correction::Seek {
                to_ms,
                drift_ms: now.drift,
            });
        }
        self.episode = (size as f64) >= stop;
        Some(Correction::RateRestored { rate: base })
    }

    /// Seeks to where the room will be when the seek lands, and waits for it.
    fn send_seek(&mut self, player: &mut dyn Player, room: &Playback, now: &Now) -> u64 {
        let aim_ms = if room.playing {
            self.seek_latency_ms.round() as u64
        } else {
            0
        };
        let here = room.position_at(now.server_ms).get();
        let target_ms = room.position_at(now.server_ms + aim_ms).get();
        player.seek(target_ms);
        let lead_ms = target_ms as f64 - here as f64;
        let playing_rate = room.playing.then(|| room.rate.get());
        self.pending = Some(PendingSeek::new(
            now.local,
            now.position,
            target_ms,
            lead_ms,
            playing_rate,
        ));
        target_ms
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
struct Now {
    server_ms: u64,
    local: Instant,
    drift: i64,
    position: u64,
}

fn ms(millis: u64) -> Duration {
    Duration::from_millis(millis)
}

#[cfg(test)]
mod tests;
