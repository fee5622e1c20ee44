//! One `sync` member: an SDK session on a skewed clock, a [`SimulatedPlayer`] kept on the
//! room by a [`DriftController`], and what it measures against the truth.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use streamit_client::protocol::v1::{Playback, PlaybackCause, PositionMs, RoomCode, ServerEvent};
use streamit_client::sync::{Correction, DriftController, SimulatedPlayer};
use streamit_client::{
    Client, Clock, JoinOptions, RoomEvent, RoomEvents, RoomSession, SessionOptions, SystemClock,
};

use crate::bench::BenchError;
use crate::bench::histogram::Latency;
use crate::bench::wire::Violations;

/// How often the member's loop runs the controller (the SDK asks for every 100–250 ms).
const TICK: Duration = Duration::from_millis(100);
/// Drift from the host within which a member counts as converged, ms (the target's p99).
const CONVERGED_MS: i64 = 30;
/// After a room change, how long before playback counts as steady for corrections.
const SETTLE: Duration = Duration::from_secs(5);
/// After connecting, how long the session's clock pings get before the offset is judged.
const CLOCK_WARMUP: Duration = Duration::from_secs(2);

/// The system clock moved by a fixed skew: a member whose device clock is off.
struct SkewedClock(i64);

impl Clock for SkewedClock {
    fn now_ms(&self) -> u64 {
        SystemClock.now_ms().saturating_add_signed(self.0)
    }
}

/// What a member measured.
pub(super) struct Outcome {
    pub(super) skew_ms: i64,
    /// |estimated offset − true offset|, µs, sampled each tick after the warm-up.
    pub(super) offset_error_us: Latency,
    pub(super) final_offset_error_ms: Option<i64>,
    /// |drift from the room's true position|, µs, each tick once converged.
    pub(super) drift_us: Latency,
    /// From seeing a room change to being within `CONVERGED_MS`, µs, by what changed
    /// (`SNAPSHOT`, or the `PLAYBACK_STATE` cause: `PLAY`, `SEEK`, `RATE`…).
    pub(super) converge_us: BTreeMap<&'static str, Latency>,
    /// Room changes the member saw (new playback versions).
    pub(super) changes_seen: u64,
    /// Changes followed by another (or the end) before the member converged.
    pub(super) unconverged: u64,
    /// Drift corrections (seeks, nudges) made while steady, and the steady minutes.
    pub(super) steady_corrections: u64,
    pub(super) steady_minutes: f64,
    pub(super) connected: bool,
}

/// A joined member, ready to run.
pub(super) struct Member {
    skew_ms: i64,
    session: RoomSession,
    events: RoomEvents,
    violations: Violations,
}

impl Member {
    /// A new guest on `pool` (the proxy) joins `code` with its clock skewed by `skew_ms`.
    pub(super) async fn join(
        pool: &Client,
        code: RoomCode,
        skew_ms: i64,
        violations: Violations,
    ) -> Result<Self, BenchError> {
        let client = pool.with_identity();
        let setup = |e: streamit_client::Error| BenchError::Setup(e.to_string());
        client.guest(None).await.map_err(setup)?;
        let options = SessionOptions::default().clock(SkewedClock(skew_ms));
        let (session, events) = client
            .join_room_with(code, JoinOptions::new().session(options))
            .await
            .map_err(setup)?;
        Ok(Self {
            skew_ms,
            session,
            events,
            violations,
        })
    }

    /// Follows the room until `deadline`.
    pub(super) async fn run(mut self, deadline: Instant) -> Outcome {
        let started = Instant::now();
        let mut state = State::new(self.skew_ms, started);
        let mut tick = tokio::time::interval(TICK);
        let end = tokio::time::sleep_until(deadline.into());
        tokio::pin!(end);
        loop {
            tokio::select! {
                () = &mut end => break,
                event = self.events.recv() => match event {
                    Some(event) => state.follow(&event, &self.violations),
                    None => break,
                },
                _ = tick.tick() => state.tick(&self.session, Instant::now()),
            }
        }
        self.session.close().await;
        state.finish()
    }
}

/// A room change the member is converging on.
struct Change {
    seen_at: Instant,
    what: &'static str,
    converged: bool,
}

/// The wire name of what changed the room's playback.
fn cause_name(cause: PlaybackCause) -> &'static str {
    match cause {
        PlaybackCause::Play => "PLAY",
        PlaybackCause::Pause => "PAUSE",
        PlaybackCause::Seek => "SEEK",
        PlaybackCause::Rate => "RATE",
        PlaybackCause::Media => "MEDIA",
    }
}

/// The member's player, controller and measurements.
struct State {
    skew_ms: i64,
    player: SimulatedPlayer,
    drift: DriftController,
    playback: Option<Playback>,
    /// The current room version: when it was first seen, what changed, and whether the
    /// member converged since.
    change: Option<Change>,
    connected_at: Instant,
    last_tick: Instant,
    outcome: Outcome,
}

impl State {
    fn new(skew_ms: i64, now: Instant) -> Self {
        Self {
            skew_ms,
            player: SimulatedPlayer::new(now),
            drift: DriftController::default(),
            playback: None,
            change: None,
            connected_at: now,
            last_tick: now,
            outcome: Outcome {
                skew_ms,
                offset_error_us: Latency::default(),
                final_offset_error_ms: None,
                drift_us: Latency::default(),
                converge_us: BTreeMap::new(),
                changes_seen: 0,
                unconverged: 0,
                steady_corrections: 0,
                steady_minutes: 0.0,
                connected: false,
            },
        }
    }

    fn follow(&mut self, event: &RoomEvent, violations: &Violations) {
        let (playback, what) = match event {
            RoomEvent::Connected => {
                self.outcome.connected = true;
                self.connected_at = Instant::now();
                return;
            }
            RoomEvent::Malformed { error } => {
                violations.report(format!("sync member read a malformed frame: {error}"));
                return;
            }
            RoomEvent::Server(message) => match &message.event {
                ServerEvent::RoomSnapshot(snapshot) => (snapshot.playback, "SNAPSHOT"),
                ServerEvent::PlaybackState(state) => (state.playback, cause_name(state.cause)),
                ServerEvent::SyncCorrection(correction) => (correction.playback, "SYNC_CORRECTION"),
                _ => return,
            },
            _ => return,
        };
        let newer = self.playback.is_none_or(|p| playback.version > p.version);
        if !newer {
            return;
        }
        if self.change.as_ref().is_some_and(|c| !c.converged) {
            self.outcome.unconverged += 1;
        }
        self.change = Some(Change {
            seen_at: Instant::now(),
            what,
            converged: false,
        });
        self.outcome.changes_seen += 1;
        self.playback = Some(playback);
    }

    fn tick(&mut self, session: &RoomSession, now: Instant) {
        let span = now.duration_since(self.last_tick);
        self.last_tick = now;
        self.player.advance_to(now);
        if now.duration_since(self.connected_at) >= CLOCK_WARMUP {
            if let Some(offset) = session.clock_offset_ms() {
                // Server and bots share this machine's clock: the true offset is −skew.
                let error = (offset + self.skew_ms).abs();
                self.outcome.offset_error_us.record(error as u64 * 1000);
                self.outcome.final_offset_error_ms = Some(error);
            }
        }
        let Some(playback) = self.playback else {
            return;
        };
        let done = self
            .drift
            .tick(&mut self.player, &playback, session.server_time(), now);
        let truth = SystemClock.now_ms();
        let drift = playback
            .drift_ms(
                PositionMs::saturating(self.player.exact_position_ms()),
                truth,
            )
            .abs();
        let Some(change) = &mut self.change else {
            return;
        };
        if !change.converged && drift <= CONVERGED_MS {
            change.converged = true;
            let micros = now.duration_since(change.seen_at).as_micros() as u64;
            self.outcome
                .converge_us
                .entry(change.what)
                .or_default()
                .record(micros);
        }
        if change.converged {
            self.outcome.drift_us.record(drift as u64 * 1000);
        }
        if now.duration_since(change.seen_at) >= SETTLE {
            self.outcome.steady_minutes += span.as_secs_f64() / 60.0;
            if matches!(
                done,
                Some(Correction::Seek { .. } | Correction::Nudge { .. })
            ) {
                self.outcome.steady_corrections += 1;
            }
        }
    }

    fn finish(mut self) -> Outcome {
        if self.change.is_some_and(|c| !c.converged) {
            self.outcome.unconverged += 1;
        }
        self.outcome
    }
}
