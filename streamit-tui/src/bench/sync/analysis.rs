//! What a `sync` run measured, from every member's ticks against the room's true history:
//! the definitions of the SDK's simulation (`streamit_client::sync::sim`), so the real
//! sockets and the virtual room report the same columns the same way.
//!
//! - Each host action is a room playback version; it happened at its `updated_at_ms` (the
//!   server's clock, which is this machine's: the truth). Its segment runs to the next one
//!   (or the run's end).
//! - Drift at a tick = the player's exact position − where the room truly was at that real
//!   instant (whatever the member had heard of it by then).
//! - A member converged on an action at the first tick of its segment from which drift stays
//!   within [`CONVERGED_MS`] for [`HOLD_MS`] (or to the segment's end); the time is counted
//!   from the action, so it includes the broadcast's trip and the wait for a tick. Never
//!   converged: no such tick in the segment.
//! - Drift after convergence: every tick of a playing segment from the member's convergence
//!   (from 1 s after the action when it never converged).
//! - Steady state: from [`STEADY_AFTER_MS`] after an action to the next, while the room plays;
//!   corrections are the controller's seeks, nudges and trims.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use streamit_client::protocol::v1::{Playback, PlaybackCause};
use streamit_client::sync::sim::{CONVERGED_MS, HOLD_MS, STEADY_AFTER_MS};

/// One tick of a member, against the truth.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Tick {
    /// True server time (this machine's clock), Unix epoch ms with the fraction.
    pub(super) at_ms: f64,
    /// The player's exact position, ms.
    pub(super) position_ms: f64,
}

/// One member's record.
#[derive(Clone, Debug, Default)]
pub(super) struct Trace {
    /// Its player's media clock is exact.
    pub(super) exact_media: bool,
    pub(super) ticks: Vec<Tick>,
    /// True server time of each counted correction (seek, nudge, trim), ms.
    pub(super) corrections_ms: Vec<f64>,
}

/// One change of a room's playback, as the server announced it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Change {
    pub(super) playback: Playback,
    /// What caused it; `None` for the state the room had when members joined.
    pub(super) cause: Option<PlaybackCause>,
}

/// What the host action was, for the per-action columns: the cause, and for a seek while
/// paused or a play after a pause, which of the steps it is.
fn label(change: &Change, before: Option<&Change>) -> &'static str {
    let was_playing = before.is_some_and(|b| b.playback.playing);
    match change.cause {
        None => "INITIAL",
        Some(PlaybackCause::Play) if before.is_some_and(|b| b.cause.is_some()) && !was_playing => {
            "RESUME"
        }
        Some(PlaybackCause::Play) => "PLAY",
        Some(PlaybackCause::Pause) => "PAUSE",
        Some(PlaybackCause::Seek) if !change.playback.playing => "SEEK_PAUSED",
        Some(PlaybackCause::Seek) => "SEEK",
        Some(PlaybackCause::Rate) => "RATE",
        Some(PlaybackCause::Media) => "MEDIA",
    }
}

/// Where `room` truly is at server time `at_ms`, ms with the fraction.
fn room_position(room: &Playback, at_ms: f64) -> f64 {
    let from = room.position_ms.get() as f64;
    if !room.playing {
        return from;
    }
    from + (at_ms - room.updated_at_ms as f64).max(0.0) * room.rate.get()
}

/// Everything measured, pooled over rooms.
#[derive(Debug, Default)]
pub(super) struct Analysis {
    /// |drift| after convergence, ms: exact media clocks, skewed ones.
    pub(super) drift_exact: Vec<f64>,
    pub(super) drift_skewed: Vec<f64>,
    /// |drift| at steady state (from [`STEADY_AFTER_MS`] after an action), ms: what is left
    /// once the convergence tails are out.
    pub(super) drift_steady: Vec<f64>,
    /// Per action label: each member's time to converge, ms (`None`: never).
    pub(super) converge: BTreeMap<&'static str, Vec<Option<f64>>>,
    /// Steady minutes per member (summed over rooms, then divided by the rooms).
    steady_minutes: Vec<f64>,
    /// Steady corrections per member, and whether its media clock is exact.
    corrections: Vec<(usize, bool)>,
}

impl Analysis {
    /// Adds one room: its changes in version order (the first being the state its members
    /// joined to), its members' traces, and the run's end (true server ms).
    pub(super) fn add_room(&mut self, changes: &[Change], traces: &[Trace], end_ms: f64) {
        for trace in traces {
            let (corrections, minutes) = self.add_member(changes, trace, end_ms);
            self.corrections.push((corrections, trace.exact_media));
            self.steady_minutes.push(minutes);
        }
    }

    /// One member: its drift and convergence per action, and its steady corrections and
    /// minutes.
    fn add_member(&mut self, changes: &[Change], trace: &Trace, end_ms: f64) -> (usize, f64) {
        let (mut corrections, mut steady_ms) = (0, 0.0);
        for (index, change) in changes.iter().enumerate().skip(1) {
            let room = change.playback;
            let at_ms = room.updated_at_ms as f64;
            let until = changes
                .get(index + 1)
                .map_or(end_ms, |next| next.playback.updated_at_ms as f64);
            let segment: Vec<(f64, f64)> = trace
                .ticks
                .iter()
                .filter(|t| t.at_ms >= at_ms && t.at_ms < until)
                .map(|t| (t.at_ms, t.position_ms - room_position(&room, t.at_ms)))
                .collect();
            let converged = converged_at(&segment);
            self.converge
                .entry(label(change, changes.get(index - 1)))
                .or_default()
                .push(converged.map(|at| at - at_ms));
            if !room.playing {
                continue;
            }
            let from = converged.unwrap_or(at_ms + 1_000.0);
            let drifts = if trace.exact_media {
                &mut self.drift_exact
            } else {
                &mut self.drift_skewed
            };
            drifts.extend(
                segment
                    .iter()
                    .filter(|(at, _)| *at >= from)
                    .map(|(_, d)| d.abs()),
            );
            let steady_from = at_ms + STEADY_AFTER_MS as f64;
            self.drift_steady.extend(
                segment
                    .iter()
                    .filter(|(at, _)| *at >= steady_from)
                    .map(|(_, d)| d.abs()),
            );
            if steady_from < until {
                steady_ms += until - steady_from;
                corrections += trace
                    .corrections_ms
                    .iter()
                    .filter(|&&at| at >= steady_from && at < until)
                    .count();
            }
        }
        (corrections, steady_ms / 60_000.0)
    }

    /// The columns, as JSON.
    pub(super) fn report(&self) -> Value {
        let all: Vec<f64> = self
            .drift_exact
            .iter()
            .chain(&self.drift_skewed)
            .copied()
            .collect();
        let converge: BTreeMap<&str, Value> = self
            .converge
            .iter()
            .map(|(what, times)| {
                let done: Vec<f64> = times.iter().flatten().copied().collect();
                let mut line = percentiles(done);
                line["never"] = times.iter().filter(|t| t.is_none()).count().into();
                (*what, line)
            })
            .collect();
        let never: usize = self
            .converge
            .iter()
            .filter(|(what, _)| **what != "INITIAL")
            .map(|(_, times)| times.iter().filter(|t| t.is_none()).count())
            .sum();
        let rate = |exact: Option<bool>| {
            let (mut count, mut minutes) = (0, 0.0);
            for (&(c, e), m) in self.corrections.iter().zip(&self.steady_minutes) {
                if exact.is_none_or(|x| x == e) {
                    count += c;
                    minutes += m;
                }
            }
            json!({
                "corrections": count,
                "member_minutes": minutes,
                "per_member_per_min": if minutes > 0.0 { count as f64 / minutes } else { 0.0 },
            })
        };
        let worst = self
            .corrections
            .iter()
            .zip(&self.steady_minutes)
            .map(|(&(c, _), &m)| if m > 0.0 { c as f64 / m } else { 0.0 })
            .fold(0.0, f64::max);
        json!({
            "drift_after_convergence_ms": percentiles(all),
            "drift_after_convergence_ms_exact_media": percentiles(self.drift_exact.clone()),
            "drift_after_convergence_ms_skewed_media": percentiles(self.drift_skewed.clone()),
            "drift_steady_ms": percentiles(self.drift_steady.clone()),
            "time_to_converge_ms_by_action": converge,
            "actions_never_converged": never,
            "steady_corrections": {
                "all": rate(None),
                "exact_media": rate(Some(true)),
                "skewed_media": rate(Some(false)),
                "worst_member_per_min": worst,
            },
        })
    }
}

/// The first tick from which drift stays within [`CONVERGED_MS`] for [`HOLD_MS`] or to the
/// segment's end, as in the simulation.
fn converged_at(segment: &[(f64, f64)]) -> Option<f64> {
    let mut candidate: Option<f64> = None;
    for &(at, drift) in segment {
        if drift.abs() > CONVERGED_MS {
            candidate = None;
            continue;
        }
        let from = *candidate.get_or_insert(at);
        if at - from >= HOLD_MS as f64 {
            return Some(from);
        }
    }
    candidate
}

/// `{n, p50, p90, p99, max}` of exact values, ms (nearest rank).
pub(super) fn percentiles(mut values: Vec<f64>) -> Value {
    if values.is_empty() {
        return json!({ "n": 0 });
    }
    values.sort_by(f64::total_cmp);
    let at = |share: f64| {
        let rank = ((values.len() as f64 * share).ceil() as usize).clamp(1, values.len());
        (values[rank - 1] * 1_000.0).round() / 1_000.0
    };
    json!({
        "n": values.len(), "p50": at(0.5), "p90": at(0.9), "p99": at(0.99), "max": at(1.0),
    })
}

#[cfg(test)]
mod tests {
    use streamit_client::protocol::v1::{PositionMs, Rate};

    use super::*;

    const T0: u64 = 1_700_000_000_000;

    fn change(
        playing: bool,
        at: u64,
        position: u64,
        version: u64,
        cause: Option<PlaybackCause>,
    ) -> Change {
        Change {
            playback: Playback::new(
                playing,
                PositionMs::saturating(position),
                Rate::NORMAL,
                T0 + at,
                version,
            ),
            cause,
        }
    }

    /// Ticks every 100 ms from `from` to `to` (virtual ms after T0), at `position(t)`.
    fn ticks(from: u64, to: u64, position: impl Fn(u64) -> f64) -> Vec<Tick> {
        (from..to)
            .step_by(100)
            .map(|t| Tick {
                at_ms: (T0 + t) as f64,
                position_ms: position(t),
            })
            .collect()
    }

    /// The last run's one change that "never converged" on loopback was a member's
    /// snapshot: paused at 0 like its player, but replaced by the host's `PLAY` before the
    /// member's next 100 ms tick, so no tick ever saw it. Counted against the truth, the
    /// joining state is not a host action, and a `PLAY` the member heard late is measured
    /// from when the host played.
    #[test]
    fn a_change_superseded_before_a_tick_is_measured_against_the_truth() {
        let changes = [
            change(false, 0, 0, 1, None),
            change(true, 50, 0, 2, Some(PlaybackCause::Play)),
        ];
        // The member's first tick comes at 130 ms; its player starts then, 60 ms behind,
        // and catches up 20 ms a tick (a 20 % nudge) until it is on the room.
        let trace = Trace {
            exact_media: true,
            ticks: ticks(130, 5_000, |t| {
                let room = t as f64 - 50.0;
                let behind = (60.0 - (t as f64 - 130.0) * 0.2).max(0.0);
                room - behind
            }),
            corrections_ms: Vec::new(),
        };
        let mut analysis = Analysis::default();
        analysis.add_room(&changes, &[trace], (T0 + 5_000) as f64);
        assert_eq!(
            analysis.converge.keys().copied().collect::<Vec<_>>(),
            ["PLAY"]
        );
        // Within 20 ms from the tick at 330 ms, 280 ms after the PLAY.
        assert_eq!(analysis.converge["PLAY"], [Some(280.0)]);
        let report = analysis.report();
        assert_eq!(report["actions_never_converged"], 0);
        assert_eq!(report["drift_after_convergence_ms"]["max"], 20.0);
    }

    #[test]
    fn a_member_off_the_room_for_the_whole_segment_never_converged() {
        let changes = [
            change(false, 0, 0, 1, None),
            change(true, 0, 0, 2, Some(PlaybackCause::Play)),
            change(false, 3_000, 3_000, 3, Some(PlaybackCause::Pause)),
            change(true, 4_000, 3_000, 4, Some(PlaybackCause::Play)),
        ];
        let trace = Trace {
            exact_media: false,
            // 50 ms ahead while playing, and stuck 50 ms ahead of the pause.
            ticks: ticks(0, 6_000, |t| match t {
                ..3_000 => t as f64 + 50.0,
                3_000..4_000 => 3_050.0,
                _ => t as f64 - 1_000.0,
            }),
            corrections_ms: vec![(T0 + 5_500) as f64],
        };
        let mut analysis = Analysis::default();
        analysis.add_room(&changes, &[trace], (T0 + 6_000) as f64);
        assert_eq!(analysis.converge["PLAY"], [None]);
        assert_eq!(analysis.converge["PAUSE"], [None]);
        assert_eq!(analysis.converge["RESUME"], [Some(0.0)]);
        let report = analysis.report();
        assert_eq!(report["actions_never_converged"], 2);
        // The resume's segment plays 2 s: none of it steady (3 s after the action).
        assert_eq!(
            report["steady_corrections"]["skewed_media"]["corrections"],
            0
        );
        // 50 ms off from 1 s after the PLAY (it never converged), on the room after the
        // resume.
        let drift = &report["drift_after_convergence_ms_skewed_media"];
        assert_eq!(
            (drift["n"].as_u64(), drift["max"].as_f64()),
            (Some(40), Some(50.0))
        );
    }
}
