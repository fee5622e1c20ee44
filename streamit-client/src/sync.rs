//! Drift control: keeping a local player on the room's playback.
//!
//! The room's [`Playback`](streamit_protocol::v1::Playback) says where the media is at any
//! server time ([`position_at`](streamit_protocol::v1::Playback::position_at)); a local
//! player drifts from it (late commands, buffering, a clock that runs fast, slow seeks).
//! A [`DriftController`] brings it back, acting only on the local player through the
//! [`Player`] trait; [`SimulatedPlayer`] is a player on virtual time with those faults built
//! in, for tests, the terminal client and the load bots.
//!
//! ```no_run
//! # use std::time::Instant;
//! # use streamit_client::sync::{DriftController, Player};
//! # use streamit_client::protocol::v1::Playback;
//! # fn room_playback() -> Playback { unimplemented!() }
//! # fn server_now_ms() -> u64 { unimplemented!() }
//! # fn run(player: &mut dyn Player) {
//! let mut drift = DriftController::default();
//! loop {
//!     // Every 100–250 ms, from the app's own loop:
//!     if let Some(done) = drift.tick(player, &room_playback(), server_now_ms(), Instant::now()) {
//!         tracing::debug!(?done, "drift correction");
//!     }
//! #   break;
//! }
//! # }
//! ```
//!
//! Module map: `player` (the [`Player`] trait), `controller` ([`DriftController`],
//! [`DriftConfig`], [`Correction`]), `seek` (telling when a seek has landed), `skew`
//! (learning a player's clock skew), `simulated` ([`SimulatedPlayer`]).
//!
//! # What the controller does
//!
//! - It mirrors the room: plays or pauses the player when the room does (with a seek when the
//!   player would otherwise start or stop off the room's position), and plays at the room's
//!   rate where the player can.
//! - It corrects drift with hysteresis: it starts when the drift passes a threshold and goes
//!   on until the drift is below a quarter of it, so drift converges to zero instead of
//!   parking just under the threshold, where any wobble would start another correction.
//! - Players that take arbitrary rates get a gentle rate nudge (5 % by default) until the
//!   drift is small, then go back to the room's rate; others, and drift too large to nudge
//!   away soon, get a seek.
//! - A seek aims at where the room will be when the seek lands (`now + seek latency`), and
//!   the latency is learned from each seek it sees land (first measurement, then an
//!   average), so a player with slow seeks does not land behind and seek again forever.
//! - After each correction it stays quiet for a while, so it judges the result rather than
//!   the transition; it never corrects a buffering player.
//! - Where the player takes arbitrary rates, it learns the player's skew (a device or media
//!   clock that runs 0.5 % fast gains 30 ms a minute) from clean stretches of playback and
//!   trims the rate to cancel it, so such a player needs one trim instead of a nudge every
//!   few seconds. A player without rate control that drifts gets a seek each time it passes
//!   the seek threshold.
//! - It never produces room commands. The app must not forward the player callbacks a
//!   correction causes (see [`DriftController`]).
//! - [`DriftConfig::auto_correct`] (or [`DriftController::set_auto_correct`]) turns it into a
//!   drift meter that leaves the player alone.
//!
//! # Defaults
//!
//! | [`DriftConfig`] field | default | why |
//! |---|---|---|
//! | `nudge_threshold_ms` | 100 (stops at 25) | Above the position noise of web players (tens of ms) and a tick of playback, so noise never starts a nudge; at 25 ms two screens in a room look simultaneous, inside the 30 ms drift target. |
//! | `seek_threshold_ms` | 500 (stops at 125) | The server's `SYNC_CHECK` threshold, so the client fixes by itself what the server would flag. A seek shows (a jump and a stall as long as the seek latency): worth it only for drift people notice, or too large to nudge away soon (500 ms at 5 % takes 10 s). Players without rate control settle within 125 ms. |
//! | `stop_fraction` | 0.25 | Act at X, stop at X/4: far enough below the threshold that the next correction needs real drift, not noise. |
//! | `nudge` | 0.05 | 5 % with pitch kept is hard to notice on speech and music, and removes 50 ms of drift a second. |
//! | `quiet_ms` | 1 500 | Players report unsteady positions for a few hundred ms after a seek, a play or a rate change; it also caps corrections at one per 1.5 s for a player that cannot keep up at all. |
//! | `initial_seek_latency_ms` | 250 | Between a seek in buffered media (under 150 ms) and one that fetches (300–600 ms); replaced by the first measurement. |
//! | `seek_latency_weight` | 0.3 | Follows a player whose seeks slow down within a few seeks, while one odd seek (a far keyframe) moves the estimate little. |
//! | `seek_timeout_ms` | 5 000 | Longer than any healthy seek; past it the seek is taken as lost, not learned from. |
//! | `skew_window_ms` | 30 000 | A slope over 30 s of positions with ±5 ms jitter is good to about 0.003 %, far finer than the tolerance. |
//! | `skew_tolerance` | 0.000 2 | 12 ms a minute: residual skew below it takes minutes to reach the nudge threshold, and estimation noise never causes a re-trim. |
//! | `max_skew` | 0.02 | Device and media clocks are off by well under 1 % (crystals by 0.01 %, 24 vs 23.976 fps by 0.1 %); a 2 % slope is a measurement broken by something else, such as stalls the player does not report. |
//! | `hold_ms` | 3 000 | Covers a command's round trip on a slow network, and lets correction resume soon when the room refused the command. |

mod controller;
mod player;
#[cfg(test)]
mod rig;
mod seek;
mod server_time;
pub mod sim;
mod simulated;
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
