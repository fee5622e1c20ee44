//! `churn`: R rooms for `--seconds`; each host holds its socket, seeks at `--rate` and chats
//! at `--chat-rate`; M member slots per room join, stay a random `--stay-ms` reading
//! everything, chat every `--member-chat-seconds`, leave with a clean close and come back
//! after `--pause-ms`. Every socket checks the order of what it reads, every sender that its
//! lines come back. A `churn-sample` line every `--sample-seconds` (the server's memory, open
//! files, threads and `/metrics`, the SQLite file's size with `--sqlite`, the bots' totals
//! and the interval's latency), then the run's line with each series' trend: the soak.

mod bots;
mod sample;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::bench::histogram::Latency;
use crate::bench::proc::{Meter, Servers, stats};
use crate::bench::target::{self, Target};
use crate::bench::wire::Violations;
use crate::bench::{BenchError, Common, report};

/// Seeks remembered per room for latency: ~10 s at 400 changes/s.
const RING: usize = 4096;

/// Latency since the last sample: host send → member read, and a chat line's echo.
#[derive(Default)]
struct Latencies {
    playback: Latency,
    chat_echo: Latency,
}

impl Latencies {
    fn report(&self) -> Value {
        json!({"playback": self.playback.report(), "chat_echo": self.chat_echo.report()})
    }
}

/// What every bot of a run shares.
struct Run {
    url: String,
    clock: Instant,
    deadline: Instant,
    args: Common,
    member_chat_seconds: f64,
    violations: Violations,
    /// sent[room][k % RING] = (k + 1, ns since `clock` when seek k was sent).
    sent: Vec<Vec<(AtomicU64, AtomicU64)>>,
    latency: Mutex<Latencies>,
    counts: Mutex<BTreeMap<&'static str, u64>>,
    closes: Mutex<BTreeMap<String, u64>>,
    members_in: AtomicU64,
}

impl Run {
    fn add(&self, what: &'static str, n: u64) {
        *self
            .counts
            .lock()
            .expect("no panics while counting")
            .entry(what)
            .or_default() += n;
    }

    fn latency(&self) -> MutexGuard<'_, Latencies> {
        self.latency.lock().expect("no panics while recording")
    }

    fn close_seen(&self, what: &str, code: Option<u16>) {
        let key = format!("{what} {}", code.map_or("none".into(), |c| c.to_string()));
        *self
            .closes
            .lock()
            .expect("no panics while counting")
            .entry(key)
            .or_default() += 1;
    }

    fn counts(&self) -> BTreeMap<&'static str, u64> {
        self.counts
            .lock()
            .expect("no panics while counting")
            .clone()
    }
}

/// Guests, rooms and REST joins: per room, the host and the member slots' clients.
async fn setup(
    target: &Target,
    rooms: usize,
    members: usize,
) -> Result<Vec<RoomSetup>, BenchError> {
    let mut all = Vec::new();
    for _ in 0..rooms {
        let (host, code) = target.host().await?;
        let mut slots = Vec::new();
        for _ in 0..members {
            let member = target.guest().await?;
            target::join(&member, code).await?;
            slots.push(member);
        }
        all.push(RoomSetup { host, code, slots });
    }
    Ok(all)
}

struct RoomSetup {
    host: streamit_client::Client,
    code: streamit_client::protocol::v1::RoomCode,
    slots: Vec<streamit_client::Client>,
}

pub(crate) async fn run(
    url: &str,
    args: &Common,
    violations: &Violations,
) -> Result<Value, BenchError> {
    if args.rate <= 0.0
        || args.chat_rate > 1.0
        || (args.member_chat_seconds > 0.0 && args.member_chat_seconds < 1.0)
    {
        return Err(BenchError::Setup(
            "--rate must be positive; the chat rules allow one line a second per bot user".into(),
        ));
    }
    let target = Target::new(url, false)?;
    let setup_started = Instant::now();
    let rooms = setup(&target, args.rooms, args.members).await?;
    let setup_s = setup_started.elapsed().as_secs_f64();
    let http = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap_or_default();
    let pid = args.server_pid.first().copied();
    let sqlite = args.sqlite.as_deref();
    let idle = sample::read(&http, url, pid, sqlite, 0).await;
    let meter = Meter::start(&Servers::new(&args.server_pid));
    let run = Arc::new(Run {
        url: url.to_owned(),
        clock: Instant::now(),
        deadline: Instant::now() + Duration::from_secs(args.seconds),
        args: args.clone(),
        member_chat_seconds: args.member_chat_seconds,
        violations: violations.clone(),
        sent: (0..args.rooms)
            .map(|_| {
                (0..RING)
                    .map(|_| (AtomicU64::new(0), AtomicU64::new(0)))
                    .collect()
            })
            .collect(),
        latency: Mutex::new(Latencies::default()),
        counts: Mutex::new(BTreeMap::new()),
        closes: Mutex::new(BTreeMap::new()),
        members_in: AtomicU64::new(0),
    });
    let mut tasks = Vec::new();
    let mut id = 0;
    for (room, setup) in rooms.into_iter().enumerate() {
        tasks.push(tokio::spawn(bots::host(
            Arc::clone(&run),
            room,
            setup.code,
            setup.host,
        )));
        for client in setup.slots {
            tasks.push(tokio::spawn(bots::slot(
                Arc::clone(&run),
                id,
                room,
                setup.code,
                client,
            )));
            id += 1;
        }
    }
    let print_sample = |phase: &str, t: f64, reading: &sample::Reading, extra: Value| {
        let mut line = json!({
            "bench": "churn-sample", "phase": phase, "t_s": (t * 10.0).round() / 10.0,
            "readings": reading.values, "bots": run.counts(),
        });
        report::merge(&mut line, extra);
        println!("{line}");
    };
    print_sample("idle", 0.0, &idle, json!({}));
    let mut series: BTreeMap<&'static str, Vec<(f64, f64)>> = BTreeMap::new();
    let mut total = Latencies::default();
    let every = Duration::from_secs(args.sample_seconds.max(1));
    let (mut server_cpu_last, mut bots_cpu_last, mut at_last) =
        (idle.cpu_s, stats("self").0, Instant::now());
    // No sample at the deadline itself: the members are leaving then.
    let mut next = Instant::now() + every;
    while next < run.deadline {
        tokio::time::sleep_until(next.into()).await;
        next += every;
        let reading = sample::read(
            &http,
            url,
            pid,
            sqlite,
            run.members_in.load(Ordering::Relaxed),
        )
        .await;
        let (bots_cpu, now) = (stats("self").0, Instant::now());
        let span = now.duration_since(at_last).as_secs_f64();
        let cpu = json!({
            "server_cpu_share": (reading.cpu_s - server_cpu_last) / span,
            "bots_cpu_share": (bots_cpu - bots_cpu_last) / span,
        });
        (server_cpu_last, bots_cpu_last, at_last) = (reading.cpu_s, bots_cpu, now);
        let interval = std::mem::take(&mut *run.latency());
        total.playback.merge(&interval.playback);
        total.chat_echo.merge(&interval.chat_echo);
        let t = meter.elapsed_s();
        for name in sample::SERIES {
            series
                .entry(name)
                .or_default()
                .push((t, reading.values[name]));
        }
        let mut extra = cpu;
        extra["latency_ms"] = interval.report();
        print_sample("run", t, &reading, extra);
    }
    for task in tasks {
        task.await.expect("a bot does not panic");
    }
    let measured = meter.finish();
    let elapsed = meter.elapsed_s();
    let rest = std::mem::take(&mut *run.latency());
    total.playback.merge(&rest.playback);
    total.chat_echo.merge(&rest.chat_echo);
    let ended = sample::read(&http, url, pid, sqlite, 0).await;
    let counts = run.counts();
    let get = |k: &str| counts.get(k).copied().unwrap_or(0);
    let mut line = json!({
        "bench": "churn", "rooms": args.rooms, "members": args.members,
        "rate_per_room": args.rate, "chat_rate_per_room": args.chat_rate,
        "member_chat_seconds": args.member_chat_seconds,
        "stay_ms": [args.stay_ms.0, args.stay_ms.1], "pause_ms": [args.pause_ms.0, args.pause_ms.1],
        "seconds": args.seconds, "setup_s": setup_s, "samples": series.get("rss_kib").map_or(0, Vec::len),
        "totals": counts, "sent": get("seeks") + get("chat_sent"),
        "received": get("broadcasts"), "lost": get("chat_lost"),
        "joins_per_s": get("joins") as f64 / elapsed,
        "deliveries_per_s": get("broadcasts") as f64 / elapsed,
        "closes": *run.closes.lock().expect("bots are done"),
        "latency_ms": total.report(),
        "series": sample::summary(&series, elapsed),
        "readings_at_end": ended.values,
    });
    report::merge(&mut line, measured);
    Ok(line)
}
