//! One `sync` member: an SDK session on a skewed clock, a [`SimulatedPlayer`] (its media
//! clock exact or skewed) kept on the room by a [`DriftController`], and its record against
//! the truth.

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rand::Rng as _;
use streamit_client::protocol::v1::{PlaybackCause, RoomCode, ServerEvent};
use streamit_client::sync::{Correction, DriftController, SimulatedPlayer};
use streamit_client::{
    Client, Clock, JoinOptions, RoomEvent, RoomEvents, RoomSession, SessionOptions, SystemClock,
};

use super::analysis::{Change, Tick, Trace};
use crate::bench::BenchError;
use crate::bench::wire::Violations;

/// How often the member's loop runs the controller (the SDK asks for every 100–250 ms).
const TICK: Duration = Duration::from_millis(100);
/// After connecting, how long the session's clock pings get before the offset is judged.
const CLOCK_WARMUP: Duration = Duration::from_secs(2);

/// The system clock moved by a fixed skew: a member whose device clock is off.
struct SkewedClock(i64);

impl Clock for SkewedClock {
    fn now_ms(&self) -> u64 {
        SystemClock.now_ms().saturating_add_signed(self.0)
    }
}

/// This machine's clock (the server's: the truth), Unix epoch ms with the fraction.
pub(super) fn true_now_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64() * 1_000.0)
}

/// What a member measured.
pub(super) struct Outcome {
    pub(super) skew_ms: i64,
    /// Media ms its player plays per ms at rate 1.
    pub(super) media_rate: f64,
    /// |session's server time − true server time|, ms, each tick after the warm-up.
    pub(super) offset_errors_ms: Vec<f64>,
    pub(super) final_offset_error_ms: Option<f64>,
    pub(super) trace: Trace,
    /// Every playback version the member heard, with its cause (`None`: a snapshot's).
    pub(super) changes: BTreeMap<u64, Change>,
    /// Versions replaced by a newer one before any tick of the controller saw them: what
    /// each was (`SNAPSHOT` or its cause).
    pub(super) unticked: Vec<&'static str>,
    pub(super) connected: bool,
    /// The controller's learned skew at the end.
    pub(super) learned_skew: f64,
    /// Time between two ticks of the member's loop, ms (asked: 100).
    pub(super) tick_gaps_ms: Vec<f64>,
    /// Every counted correction: true server ms, and what it was.
    pub(super) log: Vec<(f64, Correction)>,
}

/// A joined member, ready to run.
pub(super) struct Member {
    skew_ms: i64,
    media_rate: f64,
    session: RoomSession,
    events: RoomEvents,
    violations: Violations,
}

impl Member {
    /// A new guest on `pool` (the proxy) joins `code` with its clock skewed by `skew_ms`
    /// and a player whose media clock runs at `media_rate`.
    pub(super) async fn join(
        pool: &Client,
        code: RoomCode,
        skew_ms: i64,
        media_rate: f64,
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
            media_rate,
            session,
            events,
            violations,
        })
    }

    /// Follows the room until `deadline`.
    pub(super) async fn run(mut self, deadline: Instant) -> Outcome {
        let mut state = State::new(self.skew_ms, self.media_rate, Instant::now());
        // Each member ticks at its own phase, as apps do (and as the simulation's members
        // do): with one phase for all, every member would see each change after the same
        // wait, and the run would sample one tick phase per room.
        let phase = TICK.mul_f64(rand::rng().random_range(0.0..1.0));
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + phase, TICK);
        let end = tokio::time::sleep_until(deadline.into());
        tokio::pin!(end);
        loop {
            tokio::select! {
                () = &mut end => break,
                event = self.events.recv() => match event {
                    Some(event) => state.follow(&event, &self.violations),
                    None => break,
                },
                _ = tick.tick() => state.tick(&self.session),
            }
        }
        self.session.close().await;
        state.finish()
    }
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

/// The member's player, controller and record.
struct State {
    player: SimulatedPlayer,
    drift: DriftController,
    /// The room's latest playback as heard, and whether a tick has seen it.
    playback: Option<(Change, bool)>,
    connected_at: Instant,
    outcome: Outcome,
    last_tick: Option<Instant>,
}

impl State {
    fn new(skew_ms: i64, media_rate: f64, now: Instant) -> Self {
        Self {
            player: SimulatedPlayer::new(now).with_clock_rate(media_rate),
            drift: DriftController::default(),
            playback: None,
            connected_at: now,
            outcome: Outcome {
                skew_ms,
                media_rate,
                offset_errors_ms: Vec::new(),
                final_offset_error_ms: None,
                trace: Trace {
                    exact_media: media_rate == 1.0,
                    ..Trace::default()
                },
                changes: BTreeMap::new(),
                unticked: Vec::new(),
                connected: false,
                learned_skew: 1.0,
                tick_gaps_ms: Vec::new(),
                log: Vec::new(),
            },
            last_tick: None,
        }
    }

    fn follow(&mut self, event: &RoomEvent, violations: &Violations) {
        let change = match event {
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
                ServerEvent::RoomSnapshot(snapshot) => Change {
                    playback: snapshot.playback,
                    cause: None,
                },
                ServerEvent::PlaybackState(state) => Change {
                    playback: state.playback,
                    cause: Some(state.cause),
                },
                ServerEvent::SyncCorrection(correction) => Change {
                    playback: correction.playback,
                    cause: None,
                },
                _ => return,
            },
            _ => return,
        };
        let version = change.playback.version;
        self.outcome.changes.entry(version).or_insert(change);
        if self
            .playback
            .is_some_and(|(p, _)| p.playback.version >= version)
        {
            return;
        }
        if let Some((replaced, false)) = self.playback {
            self.outcome.unticked.push(match replaced.cause {
                None => "SNAPSHOT",
                Some(cause) => cause_name(cause),
            });
        }
        self.playback = Some((change, false));
    }

    fn tick(&mut self, session: &RoomSession) {
        let now = Instant::now();
        let truth = true_now_ms();
        if let Some(last) = self.last_tick.replace(now) {
            let gap = now.duration_since(last).as_secs_f64() * 1_000.0;
            self.outcome.tick_gaps_ms.push(gap);
        }
        self.player.advance_to(now);
        let server = session.server_time();
        if now.duration_since(self.connected_at) >= CLOCK_WARMUP && session.clock().is_some() {
            let error = (server.ms - truth).abs();
            self.outcome.offset_errors_ms.push(error);
            self.outcome.final_offset_error_ms = Some(error);
        }
        let Some((change, ticked)) = &mut self.playback else {
            return;
        };
        *ticked = true;
        let done = self
            .drift
            .tick(&mut self.player, &change.playback, server, now);
        if matches!(
            done,
            Some(Correction::Seek { .. } | Correction::Nudge { .. } | Correction::Trimmed { .. })
        ) {
            self.outcome.trace.corrections_ms.push(truth);
            self.outcome.log.extend(done.map(|c| (truth, c)));
        }
        self.outcome.trace.ticks.push(Tick {
            at_ms: truth,
            position_ms: self.player.exact_position(),
        });
    }

    fn finish(mut self) -> Outcome {
        self.outcome.learned_skew = self.drift.skew();
        self.outcome
    }
}
