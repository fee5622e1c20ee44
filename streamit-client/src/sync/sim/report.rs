//! [`Report`]: what a [`Scenario`](super::Scenario) run measured, in the columns.

use std::fmt;

use serde::Serialize;

use streamit_protocol::v1::Playback;

use super::{CONVERGED_MS, HOLD_MS, STEADY_AFTER_MS, Scenario};
use crate::sync::Correction;

/// A distribution's middle, tail and worst.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Percentiles {
    /// Median.
    pub p50: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Largest.
    pub max: f64,
    /// How many values.
    pub count: usize,
}

impl Percentiles {
    pub(super) fn of(mut values: Vec<f64>) -> Self {
        if values.is_empty() {
            return Self::default();
        }
        values.sort_by(f64::total_cmp);
        let at = |share: f64| {
            let index = ((values.len() as f64 * share).ceil() as usize).clamp(1, values.len());
            values[index - 1]
        };
        Self {
            p50: at(0.5),
            p99: at(0.99),
            max: at(1.0),
            count: values.len(),
        }
    }
}

/// How members converged after one host action.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Convergence {
    /// When the host acted, virtual ms.
    pub at_ms: u64,
    /// What the host did.
    pub action: super::HostAction,
    /// Each member's time from the action until its drift stayed within
    /// [`CONVERGED_MS`] for [`HOLD_MS`] (or until the next action), ms; `None`: never.
    pub times_ms: Vec<Option<u64>>,
}

impl Convergence {
    /// Median and largest time of the members that converged, ms.
    pub fn median_max_ms(&self) -> (Option<u64>, Option<u64>) {
        let mut done: Vec<u64> = self.times_ms.iter().flatten().copied().collect();
        done.sort_unstable();
        let median = done.get(done.len().saturating_sub(1) / 2).copied();
        (median, done.last().copied())
    }

    /// Members that never converged before the next action.
    pub fn never(&self) -> usize {
        self.times_ms.iter().filter(|t| t.is_none()).count()
    }
}

/// What a run measured. Drift is the viewer's truth: the player's exact position minus the
/// room's position at the same real instant.
///
/// It serialises (serde) to one JSON object, for `streamit bench sync`'s one line per run.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Report {
    /// |session's server time − true server time|, ms, at every tick after the first burst
    /// of pings.
    pub offset_error_ms: Percentiles,
    /// |drift|, ms, at every tick of playback from the member's convergence after the last
    /// action (from a second after it for a member that never converged).
    pub drift_ms: Percentiles,
    /// Each host action's convergence.
    pub converge: Vec<Convergence>,
    /// Seeks, nudges and trims per member per minute of steady playback (from
    /// [`STEADY_AFTER_MS`] after an action to the next).
    pub corrections_per_minute: f64,
    /// The most any one member made per minute of steady playback.
    pub worst_corrections_per_minute: f64,
    /// Seeks, nudges and trims in steady playback on members whose media clock is exact.
    pub exact_media_corrections: usize,
    /// Minutes of steady playback per member.
    pub steady_minutes: f64,
}

/// One member's record, as the report reads it.
pub(super) struct Trace<'a> {
    pub(super) exact_media: bool,
    /// Virtual ms, true drift ms, clock error ms.
    pub(super) ticks: &'a [(u64, f64, Option<f64>)],
    pub(super) log: &'a [(u64, Correction)],
}

fn counted(correction: &Correction) -> bool {
    matches!(
        correction,
        Correction::Seek { .. } | Correction::Nudge { .. } | Correction::Trimmed { .. }
    )
}

impl Report {
    pub(super) fn new(scenario: &Scenario, history: &[Playback], traces: &[Trace<'_>]) -> Self {
        let synced_from = u64::from(scenario.fast_pings.0) * scenario.fast_pings.1 + 500;
        let offsets = traces
            .iter()
            .flat_map(|t| t.ticks.iter())
            .filter(|(at, _, _)| *at >= synced_from)
            .filter_map(|(_, _, error)| error.map(f64::abs))
            .collect();
        let mut drifts = Vec::new();
        let mut converge = Vec::new();
        let mut steady_ms = 0u64;
        let mut per_member = vec![0usize; traces.len()];
        let mut exact_media_corrections = 0;
        for (index, &(at_ms, action)) in scenario.actions.iter().enumerate() {
            let until = scenario
                .actions
                .get(index + 1)
                .map_or(scenario.duration_ms, |next| next.0);
            let playing = history.get(index + 1).is_some_and(|p| p.playing);
            let mut times_ms = Vec::new();
            for trace in traces {
                let segment: Vec<_> = trace
                    .ticks
                    .iter()
                    .filter(|(at, _, _)| (at_ms..until).contains(at))
                    .collect();
                let converged = converged_at(&segment);
                times_ms.push(converged.map(|at| at - at_ms));
                if playing {
                    let from = converged.unwrap_or(at_ms + 1_000);
                    drifts.extend(
                        segment
                            .iter()
                            .filter(|(at, _, _)| *at >= from)
                            .map(|(_, drift, _)| drift.abs()),
                    );
                }
            }
            converge.push(Convergence {
                at_ms,
                action,
                times_ms,
            });
            let steady_from = at_ms + STEADY_AFTER_MS;
            if !playing || steady_from >= until {
                continue;
            }
            steady_ms += until - steady_from;
            for (m, trace) in traces.iter().enumerate() {
                let count = trace
                    .log
                    .iter()
                    .filter(|(at, c)| (steady_from..until).contains(at) && counted(c))
                    .count();
                per_member[m] += count;
                if trace.exact_media {
                    exact_media_corrections += count;
                }
            }
        }
        let steady_minutes = steady_ms as f64 / 60_000.0;
        let rate = |count: usize| {
            if steady_minutes > 0.0 {
                count as f64 / steady_minutes
            } else {
                0.0
            }
        };
        let total: usize = per_member.iter().sum();
        Self {
            offset_error_ms: Percentiles::of(offsets),
            drift_ms: Percentiles::of(drifts),
            converge,
            corrections_per_minute: rate(total) / traces.len().max(1) as f64,
            worst_corrections_per_minute: rate(per_member.iter().copied().max().unwrap_or(0)),
            exact_media_corrections,
            steady_minutes,
        }
    }
}

/// The first tick from which drift stays within [`CONVERGED_MS`] for [`HOLD_MS`] or to the
/// segment's end.
fn converged_at(segment: &[&(u64, f64, Option<f64>)]) -> Option<u64> {
    let mut candidate: Option<u64> = None;
    for &&(at, drift, _) in segment {
        if drift.abs() > CONVERGED_MS {
            candidate = None;
            continue;
        }
        let from = *candidate.get_or_insert(at);
        if at - from >= HOLD_MS {
            return Some(from);
        }
    }
    candidate
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = |v: Option<u64>| {
            v.map_or("never".to_owned(), |v| {
                format!("{:.2} s", v as f64 / 1_000.0)
            })
        };
        writeln!(
            f,
            "clock-offset error p50 {:.2} / p99 {:.2} / max {:.2} ms",
            self.offset_error_ms.p50, self.offset_error_ms.p99, self.offset_error_ms.max
        )?;
        writeln!(
            f,
            "drift after convergence p50 {:.2} / p99 {:.2} / max {:.2} ms",
            self.drift_ms.p50, self.drift_ms.p99, self.drift_ms.max
        )?;
        for c in &self.converge {
            let (median, max) = c.median_max_ms();
            writeln!(
                f,
                "converged after {:?} at {} ms: median {} / max {}, {} never",
                c.action,
                c.at_ms,
                ms(median),
                ms(max),
                c.never()
            )?;
        }
        write!(
            f,
            "corrections per member per minute at steady state {:.2} (worst member {:.2}); \
             on exact media clocks {} in {:.1} steady minutes each",
            self.corrections_per_minute,
            self.worst_corrections_per_minute,
            self.exact_media_corrections,
            self.steady_minutes
        )
    }
}
