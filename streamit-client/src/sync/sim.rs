//! A room in plain virtual time: a host, members behind a jittery network with skewed
//! clocks and drifting media, each running the SDK's clock filter and a [`DriftController`]
//! over a [`SimulatedPlayer`], measured against the truth.
//!
//! It is the sync engine without I/O: the same clock filter a session feeds with
//! `PING`/`PONG`s and the same controller an app ticks, driven by an event queue in virtual
//! microseconds, seeded, so minutes of a room run in well under a second of CPU and the same
//! seed gives the same numbers. The tests assert the sync targets on it; `streamit bench
//! sync` measures the same columns with the same definitions ([`CONVERGED_MS`],
//! [`HOLD_MS`], [`STEADY_AFTER_MS`]) over real sockets.
//!
//! ```
//! use streamit_client::sync::sim::{Delay, Scenario};
//!
//! let report = Scenario::standard(7, Delay::uniform(5.0, 60.0)).run();
//! assert!(report.offset_error_ms.p99 < 10.0);
//! println!("{report}");
//! ```
//!
//! What it models: the server's clock is the truth (virtual time plus an epoch); a member's
//! wall clock is off by a fixed offset and runs fast or slow by some ppm, read in whole ms as
//! a real one is; each direction of a member's connection delays every frame by a random
//! draw from its [`Delay`], in order (TCP); the session's pings (a burst, then a cadence)
//! and its clock window are the session's defaults unless set. Host actions change the
//! room's playback at the server and reach each member after its delay. Members tick their
//! controllers every [`Scenario::tick_ms`], each at its own phase, each tick up to
//! [`Scenario::tick_jitter_ms`] late. What it leaves out:
//! loss and retransmission (a late frame, not a lost one), the server's own processing
//! time, a host that is itself behind a network.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::{Duration, Instant};

use streamit_protocol::v1::{Playback, PositionMs, Rate};

use super::SimulatedPlayer;
use super::controller::room_position;
use super::simulated::splitmix64;
use super::{Correction, DriftConfig, DriftController, Player, SeekBehavior, ServerTime};
use crate::session::clock::{ClockFilter, PingPlan};

mod report;

pub use report::{Convergence, Percentiles, Report};

/// Server time at virtual time 0, Unix epoch ms.
const EPOCH_MS: u64 = 1_700_000_000_000;
/// Drift within this counts as converged, ms.
pub const CONVERGED_MS: f64 = 20.0;
/// How long drift must stay within [`CONVERGED_MS`] to count as converged, ms.
pub const HOLD_MS: u64 = 2_000;
/// Steady state starts this long after a host action, ms.
pub const STEADY_AFTER_MS: u64 = 3_000;

/// One way's delay through the network: a uniform draw per frame, frames kept in order.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Delay {
    /// Shortest delay, ms.
    pub min_ms: f64,
    /// Longest delay, ms.
    pub max_ms: f64,
}

impl Delay {
    /// Each frame delayed by `min_ms` to `max_ms`, uniformly.
    pub fn uniform(min_ms: f64, max_ms: f64) -> Self {
        Self { min_ms, max_ms }
    }

    /// Loopback: a tenth of a ms, give or take as much.
    pub fn loopback() -> Self {
        Self::uniform(0.05, 0.25)
    }

    fn draw(&self, state: &mut u64) -> f64 {
        *state = splitmix64(*state);
        let share = (*state >> 11) as f64 / (1u64 << 53) as f64;
        self.min_ms + (self.max_ms - self.min_ms) * share
    }
}

/// What the host does.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
#[non_exhaustive]
pub enum HostAction {
    /// Play from where the media is.
    Play,
    /// Pause where the media is.
    Pause,
    /// Jump to a position, ms, keeping play or pause.
    Seek(u64),
    /// Change the rate.
    SetRate(f64),
}

/// One member: its clock, its player, and how its player misbehaves.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct MemberSpec {
    /// Its wall clock minus the server's, ms.
    pub clock_offset_ms: i64,
    /// How much faster its wall clock runs than the server's, ppm.
    pub clock_rate_ppm: f64,
    /// Media ms its player plays per ms at rate 1 (1.0015 is 0.15 % fast).
    pub media_rate: f64,
    /// How long its player's seeks take, ms.
    pub seek_latency_ms: u64,
    /// What its player reports while a seek is in flight.
    pub seek_behavior: SeekBehavior,
    /// Reported positions are off by up to this, ms.
    pub position_jitter_ms: u64,
}

impl MemberSpec {
    /// A member with an exact clock and player.
    pub fn new() -> Self {
        Self {
            clock_offset_ms: 0,
            clock_rate_ppm: 0.0,
            media_rate: 1.0,
            seek_latency_ms: 0,
            seek_behavior: SeekBehavior::FreezeAtTarget,
            position_jitter_ms: 0,
        }
    }
}

impl Default for MemberSpec {
    fn default() -> Self {
        Self::new()
    }
}

/// A run: who, behind what, doing what, for how long.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Scenario {
    /// Seeds every random draw.
    pub seed: u64,
    /// Each direction of every member's connection.
    pub delay: Delay,
    /// The members.
    pub members: Vec<MemberSpec>,
    /// Host actions: virtual ms, action; in time order.
    pub actions: Vec<(u64, HostAction)>,
    /// The run's length, virtual ms.
    pub duration_ms: u64,
    /// How often members tick their controllers, ms.
    pub tick_ms: u64,
    /// Each tick comes up to this much late, ms, as an app's timer does under load.
    pub tick_jitter_ms: u64,
    /// Clock pings after connecting: how many, and how far apart (ms).
    pub fast_pings: (u32, u64),
    /// Clock pings after the burst, every so many ms.
    pub ping_interval_ms: u64,
    /// The clock filter's window.
    pub clock_window: Duration,
    /// Every member's controller settings.
    pub drift: DriftConfig,
}

impl Scenario {
    /// The issue's room over five minutes: eight members with clocks over ±5 s and
    /// ±100 ppm, four of them with media clocks 0.05–0.15 % off, seek latencies 50–450 ms
    /// of both kinds, ±2 ms of position jitter, ticking every 100 ms; the host plays, seeks,
    /// changes the rate twice, pauses, seeks paused and resumes; the session's default
    /// pings and window, the default controller.
    pub fn standard(seed: u64, delay: Delay) -> Self {
        let offsets = [-5_000, -3_500, -2_000, -500, 500, 2_000, 3_500, 5_000];
        let ppm = [-100.0, 80.0, -50.0, 30.0, -20.0, 60.0, -80.0, 100.0];
        let media = [1.0, 1.0015, 1.0, 0.9995, 1.0, 1.001, 1.0, 0.9985];
        let members = (0..8)
            .map(|i| MemberSpec {
                clock_offset_ms: offsets[i],
                clock_rate_ppm: ppm[i],
                media_rate: media[i],
                seek_latency_ms: 50 + 50 * i as u64 + if i == 7 { 50 } else { 0 },
                seek_behavior: if i % 2 == 0 {
                    SeekBehavior::FreezeAtTarget
                } else {
                    SeekBehavior::KeepPlaying
                },
                position_jitter_ms: 2,
            })
            .collect();
        Self {
            seed,
            delay,
            members,
            actions: vec![
                (3_037, HostAction::Play),
                (60_411, HostAction::Seek(600_000)),
                (100_123, HostAction::SetRate(1.5)),
                (130_987, HostAction::SetRate(1.0)),
                (160_555, HostAction::Pause),
                (170_271, HostAction::Seek(900_000)),
                (180_649, HostAction::Play),
            ],
            duration_ms: 300_000,
            tick_ms: 100,
            tick_jitter_ms: 0,
            fast_pings: (10, 100),
            ping_interval_ms: 1_000,
            clock_window: Duration::from_secs(120),
            drift: DriftConfig::default(),
        }
    }

    /// Runs it.
    pub fn run(&self) -> Report {
        World::new(self).run()
    }
}

/// Something that happens at a virtual time.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Event {
    Tick(usize),
    Ping(usize),
    /// A `PONG` reaches member `.0`: the `PING`'s local stamp and the server's.
    Pong(usize, u64, u64),
    /// The room's playback reaches member `.0`, as of host action `.1`.
    Playback(usize, usize),
    Action(usize),
}

/// A member while running.
struct Member {
    spec: MemberSpec,
    player: SimulatedPlayer,
    ctl: DriftController,
    clock: ClockFilter,
    /// The room's playback as this member last heard it.
    room: Playback,
    pings: PingPlan,
    /// Random state of the tick's lateness.
    ticks_late: u64,
    /// How late the pending tick is, µs.
    late_us: u64,
    /// Random state of each direction, and when each direction's last frame arrives (µs).
    up: (u64, u64),
    down: (u64, u64),
    /// Per tick: virtual ms, true drift ms, clock error ms (once synced).
    ticks: Vec<(u64, f64, Option<f64>)>,
    log: Vec<(u64, Correction)>,
}

struct World<'a> {
    scenario: &'a Scenario,
    base: Instant,
    queue: BinaryHeap<Reverse<(u64, u64, usize)>>,
    events: Vec<Event>,
    members: Vec<Member>,
    /// The room's playback after each action (index 0: before any).
    history: Vec<Playback>,
}

impl<'a> World<'a> {
    fn new(scenario: &'a Scenario) -> Self {
        let base = Instant::now();
        let room = Playback::paused(PositionMs::saturating(60_000), EPOCH_MS, 1);
        let members = scenario
            .members
            .iter()
            .enumerate()
            .map(|(i, spec)| {
                let seed = splitmix64(scenario.seed ^ (i as u64 + 1).wrapping_mul(0x51_7CC1));
                Member {
                    spec: spec.clone(),
                    player: SimulatedPlayer::new(base)
                        .with_position(60_000)
                        .with_clock_rate(spec.media_rate)
                        .with_seek_latency(Duration::from_millis(spec.seek_latency_ms))
                        .with_seek_behavior(spec.seek_behavior)
                        .with_jitter(spec.position_jitter_ms, seed),
                    ctl: DriftController::new(scenario.drift.clone()),
                    clock: ClockFilter::new(scenario.clock_window),
                    room,
                    pings: PingPlan::new(scenario.fast_pings.0),
                    ticks_late: splitmix64(seed ^ 3),
                    late_us: 0,
                    up: (splitmix64(seed ^ 1), 0),
                    down: (splitmix64(seed ^ 2), 0),
                    ticks: Vec::new(),
                    log: Vec::new(),
                }
            })
            .collect();
        Self {
            scenario,
            base,
            queue: BinaryHeap::new(),
            events: Vec::new(),
            members,
            history: vec![room],
        }
    }

    fn at(&mut self, micros: u64, event: Event) {
        let order = self.events.len() as u64;
        self.events.push(event);
        self.queue
            .push(Reverse((micros, order, self.events.len() - 1)));
    }

    fn run(mut self) -> Report {
        let tick_us = self.scenario.tick_ms * 1_000;
        for i in 0..self.members.len() {
            let phase = splitmix64(self.scenario.seed ^ ((i as u64) << 8)) % tick_us.max(1);
            self.at(phase, Event::Tick(i));
            self.at(phase / 2, Event::Ping(i));
        }
        for index in 0..self.scenario.actions.len() {
            self.at(self.scenario.actions[index].0 * 1_000, Event::Action(index));
        }
        let end_us = self.scenario.duration_ms * 1_000;
        while let Some(Reverse((micros, _, index))) = self.queue.pop() {
            if micros > end_us {
                break;
            }
            match self.events[index] {
                Event::Tick(i) => self.tick(i, micros),
                Event::Ping(i) => self.ping(i, micros),
                Event::Pong(i, sent, server) => {
                    let member = &mut self.members[i];
                    let received = local_ms(&member.spec, micros);
                    member.clock.add(sent, server, received);
                }
                Event::Playback(i, version) => {
                    let playback = self.history[version];
                    let member = &mut self.members[i];
                    if playback.version > member.room.version {
                        member.room = playback;
                    }
                }
                Event::Action(index) => self.act(index, micros),
            }
        }
        Report::new(self.scenario, &self.history, &self.members_view())
    }

    fn tick(&mut self, i: usize, micros: u64) {
        let now = self.base + Duration::from_micros(micros);
        let truth = *self.history.last().expect("the room has a playback");
        let member = &mut self.members[i];
        member.player.advance_to(now);
        let local = local_ms(&member.spec, micros);
        let true_server = EPOCH_MS as f64 + micros as f64 / 1_000.0;
        let server = member
            .clock
            .server_time(local)
            .unwrap_or_else(|| ServerTime::exact(local));
        let synced = member
            .clock
            .offset_ms(local)
            .map(|_| server.ms - true_server);
        let player: &mut dyn Player = &mut member.player;
        if let Some(done) = member.ctl.tick(player, &member.room, server, now) {
            member.log.push((micros / 1_000, done));
        }
        let drift = member.player.exact_position_ms() as f64 - room_position(&truth, true_server);
        member.ticks.push((micros / 1_000, drift, synced));
        // The next tick is due a period after this one was (not after it came late).
        let jitter_us = self.scenario.tick_jitter_ms * 1_000;
        let member = &mut self.members[i];
        member.ticks_late = splitmix64(member.ticks_late);
        let next_late = member.ticks_late % (jitter_us + 1);
        let due = micros - member.late_us + self.scenario.tick_ms * 1_000;
        member.late_us = next_late;
        self.at(due + next_late, Event::Tick(i));
    }

    fn ping(&mut self, i: usize, micros: u64) {
        let member = &mut self.members[i];
        let sent = local_ms(&member.spec, micros);
        let up = arrive(&mut member.up, &self.scenario.delay, micros);
        let server = EPOCH_MS + up / 1_000;
        let back = arrive(&mut member.down, &self.scenario.delay, up);
        let gap = if member.pings.next_is_fast(member.clock.is_settled()) {
            self.scenario.fast_pings.1
        } else {
            self.scenario.ping_interval_ms
        };
        self.at(back, Event::Pong(i, sent, server));
        self.at(micros + gap * 1_000, Event::Ping(i));
    }

    fn act(&mut self, index: usize, micros: u64) {
        let room = *self.history.last().expect("the room has a playback");
        let server_ms = EPOCH_MS + micros / 1_000;
        let here = room.position_at(server_ms).get();
        let (playing, position, rate) = match self.scenario.actions[index].1 {
            HostAction::Play => (true, here, room.rate.get()),
            HostAction::Pause => (false, here, room.rate.get()),
            HostAction::Seek(to) => (room.playing, to, room.rate.get()),
            HostAction::SetRate(rate) => (room.playing, here, rate),
        };
        let rate = Rate::new(rate).unwrap_or(Rate::NORMAL);
        let next = Playback::new(
            playing,
            PositionMs::saturating(position),
            rate,
            server_ms,
            room.version + 1,
        );
        self.history.push(next);
        let version = self.history.len() - 1;
        for i in 0..self.members.len() {
            let due = arrive(&mut self.members[i].down, &self.scenario.delay, micros);
            self.at(due, Event::Playback(i, version));
        }
    }

    fn members_view(&self) -> Vec<report::Trace<'_>> {
        self.members
            .iter()
            .map(|m| report::Trace {
                exact_media: m.spec.media_rate == 1.0,
                ticks: &m.ticks,
                log: &m.log,
            })
            .collect()
    }
}

/// When a frame sent at `micros` arrives through a direction: a fresh delay, never before
/// the frame ahead of it.
fn arrive(direction: &mut (u64, u64), delay: &Delay, micros: u64) -> u64 {
    let due = micros + (delay.draw(&mut direction.0) * 1_000.0).round() as u64;
    direction.1 = direction.1.max(due);
    direction.1
}

/// A member's wall clock at virtual `micros`, whole ms as a clock reads.
fn local_ms(spec: &MemberSpec, micros: u64) -> u64 {
    let true_ms = micros as f64 / 1_000.0;
    let local = EPOCH_MS as f64
        + spec.clock_offset_ms as f64
        + true_ms * (1.0 + spec.clock_rate_ppm * 1e-6);
    local.floor() as u64
}

#[cfg(test)]
mod tests;
