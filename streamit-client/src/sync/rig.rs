//! A virtual-time room for the drift tests: a server-side playback the test drives like a
//! host would, and members whose controllers tick on the same clock.

use std::time::{Duration, Instant};

use streamit_protocol::v1::{Playback, PositionMs, Rate};

use super::{Correction, DriftConfig, DriftController, Player, ServerTime, SimulatedPlayer};

/// Server time at virtual time 0, Unix epoch ms.
pub(super) const EPOCH_MS: u64 = 1_700_000_000_000;
/// How often members tick, ms.
pub(super) const TICK_MS: u64 = 200;

/// The room and the virtual clock.
pub(super) struct Rig {
    base: Instant,
    now_ms: u64,
    pub(super) room: Playback,
}

/// A member: its player, its controller and what the controller did, with when (virtual ms).
pub(super) struct Member {
    pub(super) player: SimulatedPlayer,
    pub(super) ctl: DriftController,
    pub(super) log: Vec<(u64, Correction)>,
    /// The exact drift at each tick, with when (virtual ms).
    pub(super) drifts: Vec<(u64, i64)>,
}

impl Member {
    pub(super) fn new(player: SimulatedPlayer, config: DriftConfig) -> Self {
        Self {
            player,
            ctl: DriftController::new(config),
            log: Vec::new(),
            drifts: Vec::new(),
        }
    }

    /// Drift of what the viewer sees (no jitter), ms.
    pub(super) fn exact_drift_ms(&self, rig: &Rig) -> i64 {
        self.player.exact_position_ms() as i64 - rig.position_ms() as i64
    }
}

impl Rig {
    /// A room paused at 0 at virtual time 0.
    pub(super) fn new() -> Self {
        Self {
            base: Instant::now(),
            now_ms: 0,
            room: Playback::paused(PositionMs::ZERO, EPOCH_MS, 1),
        }
    }

    pub(super) fn base(&self) -> Instant {
        self.base
    }

    pub(super) fn now_ms(&self) -> u64 {
        self.now_ms
    }

    pub(super) fn server_ms(&self) -> u64 {
        EPOCH_MS + self.now_ms
    }

    /// Where the room's media is now, ms.
    pub(super) fn position_ms(&self) -> u64 {
        self.room.position_at(self.server_ms()).get()
    }

    fn set(&mut self, playing: bool, position_ms: u64, rate: f64) {
        self.room = Playback::new(
            playing,
            PositionMs::saturating(position_ms),
            Rate::new(rate).expect("test rates are valid"),
            self.server_ms(),
            self.room.version + 1,
        );
    }

    pub(super) fn play(&mut self) {
        self.set(true, self.position_ms(), self.room.rate.get());
    }

    pub(super) fn pause(&mut self) {
        self.set(false, self.position_ms(), self.room.rate.get());
    }

    pub(super) fn seek(&mut self, position_ms: u64) {
        self.set(self.room.playing, position_ms, self.room.rate.get());
    }

    pub(super) fn set_rate(&mut self, rate: f64) {
        self.set(self.room.playing, self.position_ms(), rate);
    }

    /// Runs the clock to `until_ms`, every member ticking at each multiple of [`TICK_MS`].
    pub(super) fn run_to(&mut self, members: &mut [Member], until_ms: u64) {
        while self.now_ms < until_ms {
            let next_tick = (self.now_ms / TICK_MS + 1) * TICK_MS;
            let at = next_tick.min(until_ms);
            self.now_ms = at;
            let now = self.base + Duration::from_millis(at);
            for member in members.iter_mut() {
                member.player.advance_to(now);
            }
            if at != next_tick {
                continue;
            }
            for member in members.iter_mut() {
                let player: &mut dyn Player = &mut member.player;
                if let Some(done) =
                    member
                        .ctl
                        .tick(player, &self.room, ServerTime::exact(self.server_ms()), now)
                {
                    member.log.push((at, done));
                }
                let drift = member.exact_drift_ms(self);
                member.drifts.push((at, drift));
            }
        }
    }
}
