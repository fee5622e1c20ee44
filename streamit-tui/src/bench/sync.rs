//! `sync`: R rooms, each with a host and M SDK members whose clocks are skewed by up to
//! `±--skew-ms` and who reach the server through the SDK's network-conditions proxy
//! (`streamit_client::netem`). Each member runs a [`SimulatedPlayer`] under the SDK's
//! [`DriftController`]; a share of them (`--media-skew-share`) have media clocks off by up to
//! `±--media-skew-pct` %, spread over them. After a warm-up the host plays, seeks, changes
//! the rate and back, pauses, seeks paused and resumes. Measured against the truth (the
//! server runs on this machine's clock), with the simulation's definitions (`analysis`):
//! each member's clock-offset error, drift after convergence, the time to converge after
//! each host action, and corrections per member per minute at steady state, apart for exact
//! and skewed media clocks.

mod analysis;
mod member;

use std::collections::BTreeMap;
use std::net::ToSocketAddrs as _;
use std::time::{Duration, Instant};

use rand::Rng as _;
use serde_json::{Value, json};
use streamit_client::netem::{Conditions, NetemProxy};
use streamit_client::protocol::v1::{PositionMs, Rate, RoomCode};
use streamit_client::{Client, RoomEvent, RoomSession};

use crate::bench::proc::{Meter, Servers};
use crate::bench::target::Target;
use crate::bench::wire::Violations;
use crate::bench::{BenchError, Common, report};

use self::analysis::{Analysis, percentiles};
use self::member::{Member, Outcome, true_now_ms};

/// What the host does, at these shares of the run (after the warm-up): the script.
const SCRIPT: [(f64, Step); 7] = [
    (0.0, Step::Play),
    (0.15, Step::Seek(600_000)),
    (0.3, Step::Rate(1.5)),
    (0.45, Step::Rate(1.0)),
    (0.6, Step::Pause),
    (0.67, Step::Seek(900_000)),
    (0.74, Step::Resume),
];

#[derive(Clone, Copy, Debug)]
enum Step {
    Play,
    Seek(u64),
    Rate(f64),
    Pause,
    Resume,
}

/// Member `index` of a room of `members`: its media clock's rate. The first
/// `share × members` are skewed, by `pct` % spread evenly over them, alternately fast and
/// slow (for 4: +¼, −½, +¾, −1 × `pct`).
fn media_rate(index: usize, members: usize, pct: f64, share: f64) -> f64 {
    let skewed = (share.clamp(0.0, 1.0) * members as f64).round() as usize;
    if index >= skewed || pct == 0.0 {
        return 1.0;
    }
    let size = pct / 100.0 * (index + 1) as f64 / skewed as f64;
    if index % 2 == 0 {
        1.0 + size
    } else {
        1.0 - size
    }
}

pub(crate) async fn run(
    url: &str,
    args: &Common,
    violations: &Violations,
) -> Result<Value, BenchError> {
    let target = Target::new(url, false)?;
    let upstream = url
        .split_once("://")
        .map_or(url, |(_, rest)| rest)
        .to_socket_addrs()
        .ok()
        .and_then(|mut addrs| addrs.next())
        .ok_or_else(|| BenchError::Url(url.to_owned()))?;
    let (low, high) = args.latency_ms;
    let conditions = Conditions::new()
        .latency(Duration::from_millis(low))
        .jitter(Duration::from_millis(high.saturating_sub(low)));
    let proxy = NetemProxy::start(upstream, conditions).await?;
    let pool = Client::builder(proxy.base_url())
        .no_proxy()
        .build()
        .map_err(|e| BenchError::Setup(e.to_string()))?;
    let duration = Duration::from_secs(args.seconds);
    let mut hosts = Vec::new();
    let mut members = Vec::new();
    for _ in 0..args.rooms {
        let (host, code) = target.host().await?;
        let skew = args.skew_ms as i64;
        let mut room = Vec::new();
        for index in 0..args.members {
            let skew_ms = if skew == 0 {
                0
            } else {
                rand::rng().random_range(-skew..=skew)
            };
            let rate = media_rate(
                index,
                args.members,
                args.media_skew_pct,
                args.media_skew_share,
            );
            room.push(Member::join(&pool, code, skew_ms, rate, violations.clone()).await?);
        }
        members.push(room);
        hosts.push((host, code));
    }
    let meter = Meter::start(&Servers::new(&args.server_pid));
    let warmup = Duration::from_millis(args.warmup_ms);
    let deadline = Instant::now() + warmup + duration;
    let host_tasks: Vec<_> = hosts
        .into_iter()
        .map(|(host, code)| tokio::spawn(host_script(host, code, warmup, duration)))
        .collect();
    let member_tasks: Vec<Vec<_>> = members
        .into_iter()
        .map(|room| {
            room.into_iter()
                .map(|member| tokio::spawn(member.run(deadline)))
                .collect()
        })
        .collect();
    let mut host_errors = 0u64;
    for task in host_tasks {
        if let Err(error) = task.await.expect("a host does not panic") {
            eprintln!("streamit bench: sync host: {error}");
            host_errors += 1;
        }
    }
    let mut rooms = Vec::new();
    for room in member_tasks {
        let mut outcomes = Vec::new();
        for task in room {
            outcomes.push(task.await.expect("a member does not panic"));
        }
        rooms.push(outcomes);
    }
    let end_ms = true_now_ms();
    let mut line = summary(args, &rooms, host_errors, end_ms);
    report::merge(&mut line, meter.finish());
    Ok(line)
}

/// The host's script over the run; its own events are read and dropped.
async fn host_script(
    host: Client,
    code: RoomCode,
    warmup: Duration,
    duration: Duration,
) -> Result<(), String> {
    let (session, mut events) = host.join_room(code).await.map_err(|e| e.to_string())?;
    // Commands are taken once the socket is admitted.
    let connected = async {
        while let Some(event) = events.recv().await {
            if matches!(event, RoomEvent::Connected) {
                return true;
            }
        }
        false
    };
    if !tokio::time::timeout(duration, connected)
        .await
        .unwrap_or(false)
    {
        return Err(format!("host of {code}: no connection"));
    }
    let drain = tokio::spawn(async move { while events.recv().await.is_some() {} });
    let started = tokio::time::Instant::now() + warmup;
    for (share, step) in SCRIPT {
        tokio::time::sleep_until(started + duration.mul_f64(share)).await;
        act(&session, step).await.map_err(|e| e.to_string())?;
    }
    tokio::time::sleep_until(started + duration).await;
    session.close().await;
    drain.abort();
    Ok(())
}

async fn act(session: &RoomSession, step: Step) -> streamit_client::Result<()> {
    match step {
        Step::Play => session.play(Some(PositionMs::saturating(0))).await?,
        Step::Resume => session.play(None).await?,
        Step::Pause => session.pause(None).await?,
        Step::Seek(ms) => session.seek(PositionMs::saturating(ms)).await?,
        Step::Rate(rate) => {
            session
                .set_rate(Rate::new(rate).expect("the script's rates are in range"))
                .await?
        }
    };
    Ok(())
}

/// The run's line from every room's members' outcomes; `end_ms` is when the run ended (true
/// server ms).
fn summary(args: &Common, rooms: &[Vec<Outcome>], host_errors: u64, end_ms: f64) -> Value {
    let mut analysis = Analysis::default();
    let mut offset_errors = Vec::new();
    let mut tick_gaps = Vec::new();
    for outcomes in rooms {
        // The room's history: every version any of its members heard.
        let mut changes = BTreeMap::new();
        for outcome in outcomes {
            for (version, change) in &outcome.changes {
                changes.entry(*version).or_insert(*change);
            }
            offset_errors.extend_from_slice(&outcome.offset_errors_ms);
            tick_gaps.extend_from_slice(&outcome.tick_gaps_ms);
        }
        let changes: Vec<_> = changes.into_values().collect();
        let traces: Vec<_> = outcomes.iter().map(|o| o.trace.clone()).collect();
        analysis.add_room(&changes, &traces, end_ms);
    }
    let outcomes: Vec<&Outcome> = rooms.iter().flatten().collect();
    let first_change_ms = rooms
        .iter()
        .flatten()
        .flat_map(|o| o.changes.values().filter(|c| c.cause.is_some()))
        .map(|c| c.playback.updated_at_ms as f64)
        .fold(f64::INFINITY, f64::min);
    let per_member: Vec<Value> = outcomes
        .iter()
        .map(|o| {
            json!({
                "skew_ms": o.skew_ms, "media_rate": o.media_rate,
                "learned_skew": (o.learned_skew * 1e6).round() / 1e6,
                "offset_error_ms": o.final_offset_error_ms.map(|e| (e * 100.0).round() / 100.0),
                // Seeks, nudges and trims: s from the first host action, and which.
                "corrections": o.log.iter().map(|(at, c)| {
                    let kind = format!("{c:?}");
                    let kind = kind.split([' ', '{']).next().unwrap_or_default().to_owned();
                    json!([((at - first_change_ms) / 10.0).round() / 100.0, kind])
                }).collect::<Vec<_>>(),
                "connected": o.connected,
            })
        })
        .collect();
    let mut line = json!({
        "bench": "sync", "rooms": args.rooms, "members": args.members, "seconds": args.seconds,
        "warmup_ms": args.warmup_ms,
        "skew_ms": args.skew_ms, "latency_ms_added": [args.latency_ms.0, args.latency_ms.1],
        "media_skew_pct": args.media_skew_pct, "media_skew_share": args.media_skew_share,
        "proxy": "streamit_client::netem (latency + uniform jitter each way, order kept, no loss)",
        "script": SCRIPT.iter().map(|(at, step)| format!("{at}: {step:?}")).collect::<Vec<_>>(),
        "host_errors": host_errors,
        "sent": SCRIPT.len() * args.rooms,
        // Each member hears the playback of its snapshot, then each of the script's changes.
        "expected": (SCRIPT.len() + 1) * args.rooms * args.members,
        "received": outcomes.iter().map(|o| o.changes.len()).sum::<usize>(),
        "changes_replaced_before_a_tick": outcomes
            .iter()
            .flat_map(|o| o.unticked.iter().copied())
            .collect::<Vec<_>>(),
        "clock_offset_error_ms": percentiles(offset_errors),
        "tick_gap_ms": percentiles(tick_gaps),
        "per_member": per_member,
    });
    report::merge(&mut line, analysis.report());
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_clocks_are_skewed_for_a_share_spread_up_to_the_largest() {
        let rates: Vec<f64> = (0..8).map(|i| media_rate(i, 8, 0.15, 0.5)).collect();
        let expected = [1.000_375, 0.999_25, 1.001_125, 0.998_5, 1.0, 1.0, 1.0, 1.0];
        for (rate, want) in rates.iter().zip(expected) {
            assert!((rate - want).abs() < 1e-12, "{rates:?}");
        }
        assert!((0..10).all(|i| media_rate(i, 10, 0.0, 0.5) == 1.0));
        assert!((0..10).all(|i| media_rate(i, 10, 0.15, 0.0) == 1.0));
    }
}
