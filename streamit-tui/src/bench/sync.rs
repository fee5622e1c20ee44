//! `sync`: R rooms, each with a host and M SDK members whose clocks are skewed by up to
//! `±--skew-ms` and who reach the server through the SDK's network-conditions proxy (`streamit_client::netem`). Each member runs
//! a [`SimulatedPlayer`] under the SDK's [`DriftController`]; the host plays, seeks and
//! changes rate. Measured against the truth (the server runs on this machine's clock):
//! each member's clock-offset error, drift from the host's playback after convergence, the
//! time to converge after each change, and drift corrections per member per minute.

mod member;

use std::collections::BTreeMap;
use std::net::ToSocketAddrs as _;
use std::time::{Duration, Instant};

use rand::Rng as _;
use serde_json::{Value, json};
use streamit_client::netem::{Conditions, NetemProxy};
use streamit_client::protocol::v1::{PositionMs, Rate, RoomCode};
use streamit_client::{Client, RoomEvent, RoomSession};

use crate::bench::histogram::Latency;
use crate::bench::proc::{Meter, Servers};
use crate::bench::target::Target;
use crate::bench::wire::Violations;
use crate::bench::{BenchError, Common, report};

use self::member::{Member, Outcome};

/// What the host does, at these shares of the run: play from 0, seek, faster, back to 1×.
const SCRIPT: [(f64, Step); 4] = [
    (0.0, Step::Play),
    (0.25, Step::Seek(600_000)),
    (0.5, Step::Rate(1.25)),
    (0.75, Step::Rate(1.0)),
];

#[derive(Clone, Copy, Debug)]
enum Step {
    Play,
    Seek(u64),
    Rate(f64),
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
        for _ in 0..args.members {
            let skew_ms = if skew == 0 {
                0
            } else {
                rand::rng().random_range(-skew..=skew)
            };
            members.push(Member::join(&pool, code, skew_ms, violations.clone()).await?);
        }
        hosts.push((host, code));
    }
    let meter = Meter::start(&Servers::new(&args.server_pid));
    let deadline = Instant::now() + duration;
    let host_tasks: Vec<_> = hosts
        .into_iter()
        .map(|(host, code)| tokio::spawn(host_script(host, code, duration)))
        .collect();
    let member_tasks: Vec<_> = members
        .into_iter()
        .map(|member| tokio::spawn(member.run(deadline)))
        .collect();
    let mut host_errors = 0u64;
    for task in host_tasks {
        if let Err(error) = task.await.expect("a host does not panic") {
            eprintln!("streamit bench: sync host: {error}");
            host_errors += 1;
        }
    }
    let mut outcomes = Vec::new();
    for task in member_tasks {
        outcomes.push(task.await.expect("a member does not panic"));
    }
    let mut line = summary(args, &outcomes, host_errors);
    report::merge(&mut line, meter.finish());
    Ok(line)
}

/// The host's script over the run; its own events are read and dropped.
async fn host_script(host: Client, code: RoomCode, duration: Duration) -> Result<(), String> {
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
    let started = tokio::time::Instant::now();
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
        Step::Seek(ms) => session.seek(PositionMs::saturating(ms)).await?,
        Step::Rate(rate) => {
            session
                .set_rate(Rate::new(rate).expect("the script's rates are in range"))
                .await?
        }
    };
    Ok(())
}

/// The run's line from every member's outcome.
fn summary(args: &Common, outcomes: &[Outcome], host_errors: u64) -> Value {
    let mut offset_error = Latency::default();
    let mut drift = Latency::default();
    let mut converge = Latency::default();
    let mut converge_by_change: BTreeMap<&str, Latency> = BTreeMap::new();
    let (mut corrections, mut minutes, mut unconverged) = (0u64, 0.0, 0u64);
    for outcome in outcomes {
        offset_error.merge(&outcome.offset_error_us);
        drift.merge(&outcome.drift_us);
        for (what, latency) in &outcome.converge_us {
            converge.merge(latency);
            converge_by_change.entry(what).or_default().merge(latency);
        }
        corrections += outcome.steady_corrections;
        minutes += outcome.steady_minutes;
        unconverged += outcome.unconverged;
    }
    let per_member: Vec<Value> = outcomes
        .iter()
        .map(|o| {
            json!({
                "skew_ms": o.skew_ms, "offset_error_ms": o.final_offset_error_ms,
                "corrections_per_min": o.steady_corrections as f64 / o.steady_minutes.max(1e-9),
                "connected": o.connected,
            })
        })
        .collect();
    json!({
        "bench": "sync", "rooms": args.rooms, "members": args.members, "seconds": args.seconds,
        "skew_ms": args.skew_ms, "latency_ms_added": [args.latency_ms.0, args.latency_ms.1],
        "proxy": "streamit_client::netem (latency + uniform jitter each way, order kept, no loss)",
        "script": SCRIPT.iter().map(|(at, step)| format!("{at}: {step:?}")).collect::<Vec<_>>(),
        "host_errors": host_errors,
        "sent": SCRIPT.len() * args.rooms,
        // Each member sees the playback of its snapshot, then each of the script's changes.
        "expected": (SCRIPT.len() + 1) * args.rooms * args.members,
        "received": outcomes.iter().map(|o| o.changes_seen).sum::<u64>(),
        "clock_offset_error_ms": offset_error.report(),
        "drift_after_convergence_ms": drift.report(),
        "time_to_converge_ms": converge.report(),
        "time_to_converge_ms_by_change": converge_by_change
            .iter()
            .map(|(what, latency)| (*what, latency.report()))
            .collect::<BTreeMap<_, _>>(),
        "changes_never_converged": unconverged,
        "corrections_per_member_per_min": corrections as f64 / f64::max(minutes, 1e-9),
        "per_member": per_member,
    })
}
