//! Drift control: keeping a local player on the room's playback.
//!
//! The room's [`Playback`](streamit_protocol::v1::Playback) says where the media is at any
//! server time ([`position_at`](streamit_protocol::v1::Playback::position_at)); a local
//! player drifts from it (late commands, buffering, a media clock that runs fast, slow
//! seeks). A [`DriftController`] brings it back, acting only on the local player through the
//! [`Player`] trait; [`SimulatedPlayer`] is a player on virtual time with those faults built
//! in, for tests, the terminal client and the load bots; [`sim`] runs a whole room of them
//! behind a simulated network, in virtual time, and measures the result.
//!
//! ```no_run
//! # use std::time::Instant;
//! # use streamit_client::RoomSession;
//! # use streamit_client::sync::{DriftController, Player};
//! # fn run(session: &RoomSession, player: &mut dyn Player) {
//! let mut drift = DriftController::default();
//! loop {
//!     // Every 100–250 ms, as regularly as the app can, from its own loop:
//!     let Some(room) = session.playback() else { break };
//!     if let Some(done) = drift.tick(player, &room, session.server_time(), Instant::now()) {
//!         tracing::debug!(?done, "drift correction");
//!     }
//! #   break;
//! }
//! # }
//! ```
//!
//! Module map: `player` (the [`Player`] trait), `server_time` ([`ServerTime`], the clock
//! reading the controller takes), `controller` ([`DriftController`], [`DriftConfig`],
//! [`Correction`]; its `smoother` averages steady drift), `seek` (paused seeks and the start
//! at the room's instant), `skew` (learning a player's media-clock skew), `simulated`
//! ([`SimulatedPlayer`]), [`sim`] (the room in virtual time, and its [`sim::Report`]).
//!
//! # What the controller does
//!
//! Drift is the player's position minus the room's at the session's server time, to the
//! fraction of a ms.
//!
//! - **It mirrors the room**: plays or pauses the player when the room does, and plays at the
//!   room's rate (trimmed by the learned skew) where the player can.
//! - **It makes up the time lost before the tick.** A room change is seen late (the
//!   broadcast's trip, then the wait for the app's tick), so a player that simply followed it
//!   would start, or change rate, behind. On a `PLAY` the player starts at once and plays
//!   faster until it has caught up (a nudge; at most 25 %, so 250 ms in a second); on a
//!   `SET_RATE` the new rate comes with the same catch-up; past that reach it seeks.
//! - **Every seek is a paused seek, started at the room's instant.** The player pauses and
//!   seeks to where the room will be at a tick a little more than the seek latency ahead,
//!   and plays at that tick; so it lands on the room whatever its seek latency, as long as
//!   the seek is done by then (the picture freezes for that lead, as for any seek). The
//!   latency starts as a guess (400 ms) and is learned whenever a seek shows it: one still
//!   in flight at its start, or a player that shows the target only once there. Any landing
//!   a little off (a tick that came late) is aligned like a room change.
//! - **Drift goes to zero, not to a threshold.** After a room change or a landing, drift
//!   past 5 ms is corrected; in steady play, drift averaged over a second past 10 ms. Both
//!   thresholds are in the room's time (drift in media ms divided by the room's rate): at
//!   1.5× a clock estimate that moved 8 ms moves the room 12 media ms, still an 8 ms matter
//!   for a viewer, and not nudged for. A
//!   correction is a nudge: a rate a few % off the room's, sized so that the planned drift
//!   reaches zero on a tick after about half a second, and ended there. Hard seeks happen
//!   only past the seek threshold (500 ms), or for players without rate control, which seek
//!   from it in steady play (and from 10 ms after a room change).
//! - **Clock corrections are not media drift.** Each [`ServerTime`] carries the corrections
//!   the session's clock sync has made; the controller learns skew on the timeline without
//!   them, so a better clock estimate moves the room's timeline (and the player follows it
//!   like any drift) but never reads as the player running fast or slow.
//! - **Media-clock skew is trimmed once.** Where the player takes arbitrary rates, it learns
//!   the player's skew (a media clock 0.15 % fast gains 90 ms a minute) as a slope over 10 s
//!   of clean playback, and trims the rate by it when it is past 0.02 %, taking out the drift
//!   gathered meanwhile; it re-trims only when the estimate moves by 0.02 % again (the
//!   tolerance is the hysteresis: estimation noise never re-trims). When steady drift passes
//!   the alignment threshold (5 ms) before the 10 s are in, an estimate over at least 5 s
//!   is used if its standard error is within 0.005 % and it explains the drift's direction:
//!   the skew is then trimmed before it needs a nudge, one correction in all.
//! - It never corrects a buffering player, and never produces room commands. The app must
//!   not forward the player callbacks a correction causes (see [`DriftController`]).
//! - [`DriftConfig::auto_correct`] (or [`DriftController::set_auto_correct`]) turns it into a
//!   drift meter that leaves the player alone.
//!
//! What it cannot do: land a seek closer than the app's tick allows (a start happens at a
//! tick), or hold a player without rate control closer than its seeks allow.
//!
//! # Defaults
//!
//! | [`DriftConfig`] field | default | why |
//! |---|---|---|
//! | `nudge_threshold_ms` | 10 | Above what position jitter (averaged over a second) and the clock's error (a few ms behind 5–60 ms of jitter) show, so an exact player is never nudged; below what two screens side by side show. |
//! | `align_threshold_ms` | 5 | Right after a change the drift is the change's doing, not noise: worth taking out down to the noise. |
//! | `seek_threshold_ms` | 500 | The server's `SYNC_CHECK` threshold, so the client fixes by itself what the server would flag; below it a nudge takes a drift out in a second or two without a freeze. |
//! | `catch_up_ms` | 500 | A nudge aims to be done in half a second: short enough to converge within a second of a room change, long enough that small drifts need rates within a few % of the room's. |
//! | `max_nudge` | 0.25 | Brief enough to go unnoticed at a start; removes 250 ms a second. |
//! | `smoothing_ms` | 1 000 | Ten ticks: ±3 ms of position jitter averages to about ±1 ms. |
//! | `quiet_ms` | 200 | Players report unsteady positions for a moment after they start; two ticks. |
//! | `initial_seek_latency_ms` | 400 | Above most seeks in buffered or nearby media, so the first start lands on the room; a slower player is seen late once and learned. |
//! | `seek_latency_weight` | 0.3 | Follows a player whose seeks speed up within a few seeks; a slower seek replaces the estimate at once (a late start costs more than a longer freeze). |
//! | `seek_timeout_ms` | 5 000 | Longer than any healthy seek; past it the seek is taken as lost, not learned from. |
//! | `skew_window_ms` | 10 000 | A slope over 10 s of positions with ±2 ms jitter is good to about 0.005 %, well inside the tolerance, and trims a 0.15 % player before it has drifted 15 ms. |
//! | `skew_tolerance` | 0.000 2 | 12 ms a minute: residual skew below it needs a nudge at most every minute, and estimation noise never causes a re-trim. |
//! | `max_skew` | 0.02 | Device and media clocks are off by well under 1 % (crystals by 0.01 %, 24 vs 23.976 fps by 0.1 %); a 2 % slope is a measurement broken by something else, such as stalls the player does not report. |
//! | `hold_ms` | 3 000 | Covers a command's round trip on a slow network, and lets correction resume soon when the room refused the command. |
//!
//! Measured on [`sim`] (`bench/results/2026-12-05-sync-sim.md`): behind 5–60 ms of jitter,
//! drift after convergence p50 about 1.5 ms and p99 under 10 ms, every host action converged
//! within 1 s, under one correction per member per minute and none on exact media clocks.
//! Over real sockets (`streamit bench sync`, `bench/results/2026-12-06-sync-real.md`), with
//! the same definitions, the same orders of magnitude.

mod controller;
mod player;
#[cfg(test)]
mod rig;
mod seek;
mod server_time;
pub mod sim;
pub(crate) mod simulated;
mod skew;

pub use controller::{Correction, DriftConfig, DriftController};
pub use player::Player;
pub use server_time::ServerTime;
pub use simulated::{SeekBehavior, SimulatedPlayer};

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use streamit_protocol::v1::Capabilities;

    use super::rig::{Member, Rig};
    use super::*;

    fn counted(correction: &Correction) -> bool {
        matches!(
            correction,
            Correction::Seek { .. } | Correction::Nudge { .. } | Correction::Trimmed { .. }
        )
    }

    /// Two members follow a room for ten minutes of play with a pause, a seek while paused
    /// and a seek while playing; one has a clock 0.5 % fast, the other a 2 s stall and slow
    /// seeks and no rate control.
    #[test]
    fn members_converge_and_stay_with_few_corrections() {
        let mut rig = Rig::new();
        let fast = SimulatedPlayer::new(rig.base())
            .with_clock_rate(1.005)
            .with_seek_latency(Duration::from_millis(100))
            .with_jitter(3, 1);
        let stalling = SimulatedPlayer::new(rig.base())
            .with_seek_latency(Duration::from_millis(150))
            .with_stall_at(120_000, Duration::from_secs(2))
            .with_capabilities(Capabilities::new(true, false, true))
            .with_jitter(3, 2);
        let mut members = [
            Member::new(fast, DriftConfig::default()),
            Member::new(stalling, DriftConfig::default()),
        ];
        // When the room changed, virtual ms; changes land between ticks, as they would.
        let mut changes: Vec<u64> = Vec::new();
        rig.run_to(&mut members, 1_050);
        rig.play();
        changes.push(rig.now_ms());
        rig.run_to(&mut members, 300_130);
        rig.pause();
        changes.push(rig.now_ms());
        rig.run_to(&mut members, 310_070);
        rig.seek(200_000);
        changes.push(rig.now_ms());
        rig.run_to(&mut members, 320_010);
        rig.play();
        changes.push(rig.now_ms());
        rig.run_to(&mut members, 450_090);
        rig.seek(400_000);
        changes.push(rig.now_ms());
        // Ten minutes of play in all: 1.05–300.13 s and 320.01–620.96 s.
        rig.run_to(&mut members, 620_960);

        let settling = |at: u64| changes.iter().any(|&c| (c..c + 10_000).contains(&at));
        let mut p99 = Vec::new();
        for (index, member) in members.iter().enumerate() {
            let drift = member.exact_drift_ms(&rig);
            let steady: Vec<_> = member
                .log
                .iter()
                .filter(|(at, correction)| *at > 30_000 && counted(correction) && !settling(*at))
                .collect();
            // Steady drift: after the first minute, outside the room's changes, the pause and
            // the stall.
            let mut sizes: Vec<_> = member
                .drifts
                .iter()
                .filter(|(at, _)| {
                    *at > 60_000
                        && !settling(*at)
                        && !(300_000..320_000).contains(at)
                        && !(120_000..130_000).contains(at)
                })
                .map(|(_, drift)| drift.unsigned_abs())
                .collect();
            sizes.sort_unstable();
            p99.push(sizes[sizes.len() * 99 / 100]);
            println!(
                "member {index}: ends {drift} ms off, steady drift p99 {} ms, max {:?} ms, \
                 {} steady corrections {steady:?}, seek latency {} ms, skew {:.5}, log {:?}",
                p99[index],
                sizes.last(),
                steady.len(),
                member.ctl.seek_latency_ms(),
                member.ctl.skew(),
                member.log,
            );
            assert!(drift.abs() <= 15, "member {index} ends {drift} ms off");
            assert!(
                steady.len() <= 9,
                "member {index}: {} corrections in 9.5 steady minutes",
                steady.len()
            );
        }
        assert!(
            p99[0] <= 15,
            "the fast clock, trimmed, stays within 15 ms: {p99:?}"
        );
        let [fast, stalling] = &members;
        assert!(
            (fast.ctl.skew() - 1.005).abs() < 0.000_2,
            "{}",
            fast.ctl.skew()
        );
        assert_eq!(
            stalling.ctl.seek_latency_ms(),
            400,
            "seeks done before their start teach nothing"
        );
        assert!(
            stalling
                .log
                .iter()
                .any(|(at, c)| (121_000..125_000).contains(at)
                    && matches!(c, Correction::Seek { .. })),
            "the stall is recovered by a seek once it ends"
        );
    }
}
