//! Load bots for a running server (PERFORMANCE.md), until `streamit bench` exists. One JSON
//! line per run.
//!
//! - `--scenario fanout` (default): R rooms × M members; each host changes playback at a fixed
//!   rate; every member measures send → read latency on one monotonic clock.
//! - `--scenario connect`: W workers open sockets to one room as fast as they can for the given
//!   seconds, each waiting for its `ROOM_SNAPSHOT` before closing: admissions per second under
//!   churn (every socket also costs its room a `USER_JOINED` and a `USER_LEFT`).
//! - `--scenario hold`: W workers open R × M sockets as fast as they can and hold them:
//!   admissions per second while rooms fill, and server memory per held socket.
//! - `--scenario soak`: R rooms for the given seconds; each host holds its socket, seeks at
//!   `--rate` and chats at `--chat-rate` per second; M member slots per room join, stay a random
//!   `--stay-ms` while reading everything, chat every `--member-chat-seconds`, leave cleanly and
//!   rejoin after `--pause-ms`. Every socket checks that `seq` rises by one from its snapshot's,
//!   every sender that its chat lines come back. A JSON line every `--sample-seconds` (the
//!   server's RSS, open files and threads from `/proc`, its `/metrics`, with `--sqlite PATH`
//!   the database's and its WAL's sizes, the bots' totals so far), then a summary line (first,
//!   last, max and slope of each, totals, the bots' CPU). Real server only (not `--bare`).
//!
//! `cargo bench -p streamit-server --bench load -- --url http://127.0.0.1:8000 --rooms 10
//! --members 50 --rate 4 --seconds 20 --server-pid <pid>` against a server started with
//! `--rate-limits off`.
//!
//! Several nodes: `--member-url` puts every member on another node than its host (`--url`), and
//! `--server-pid A,B` sums both nodes' CPU and memory.
//!
//! `--bare` drives the bare broadcast server instead (`benches/bare.rs`, the baseline), with the
//! same bots and the same arguments: it has no REST API, so the bots skip it, making up room
//! codes and sending a dummy token.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt as _, StreamExt as _};
use hdrhistogram::Histogram;
use serde_json::{Value, json};
use streamit_protocol::v1::{
    ClientEvent, ClientMessage, CreateRoomResponse, PositionMs, RoomCode, Seek, ServerEvent,
    ServerMessage,
};
use tokio_tungstenite::tungstenite::Message;

struct Args {
    scenario: String,
    workers: usize,
    url: String,
    rooms: usize,
    members: usize,
    rate: f64,
    seconds: u64,
    /// The server's processes (several nodes: comma-separated); CPU and memory are summed.
    server_pids: Vec<u32>,
    /// Fan-out: where members connect (another node of the cluster); `url` by default.
    member_url: Option<String>,
    bare: bool,
    /// Soak: host chat lines per second per room.
    chat_rate: f64,
    /// Soak: seconds between a member's chat lines while it is in.
    member_chat_seconds: f64,
    /// Soak: how long a member stays, ms, drawn uniformly from the range.
    stay_ms: (u64, u64),
    /// Soak: how long a member is away between two stays, ms.
    pause_ms: (u64, u64),
    /// Soak: seconds between two sample lines.
    sample_seconds: u64,
    /// Soak: the server's SQLite file, whose size and WAL's size are sampled too.
    sqlite: Option<String>,
}

fn args() -> Args {
    let mut args = Args {
        scenario: "fanout".into(),
        workers: 32,
        url: "http://127.0.0.1:8000".into(),
        rooms: 10,
        members: 50,
        rate: 4.0,
        seconds: 20,
        server_pids: Vec::new(),
        member_url: None,
        bare: false,
        chat_rate: 0.5,
        member_chat_seconds: 3.0,
        stay_ms: (1_000, 8_000),
        pause_ms: (200, 2_000),
        sample_seconds: 10,
        sqlite: None,
    };
    let raw: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < raw.len() {
        let value = raw.get(i + 1).cloned().unwrap_or_default();
        match raw[i].as_str() {
            "--url" => args.url = value,
            "--scenario" => args.scenario = value,
            "--workers" => args.workers = value.parse().expect("--workers N"),
            "--rooms" => args.rooms = value.parse().expect("--rooms N"),
            "--members" => args.members = value.parse().expect("--members N"),
            "--rate" => args.rate = value.parse().expect("--rate changes/s"),
            "--seconds" => args.seconds = value.parse().expect("--seconds N"),
            "--server-pid" => {
                args.server_pids = value
                    .split(',')
                    .map(|pid| pid.parse().expect("--server-pid PID[,PID…]"))
                    .collect();
            }
            "--member-url" => args.member_url = Some(value),
            "--chat-rate" => args.chat_rate = value.parse().expect("--chat-rate lines/s"),
            "--member-chat-seconds" => {
                args.member_chat_seconds = value.parse().expect("--member-chat-seconds S");
            }
            "--sqlite" => args.sqlite = Some(value),
            "--stay-ms" => args.stay_ms = range(&value, "--stay-ms MIN-MAX"),
            "--pause-ms" => args.pause_ms = range(&value, "--pause-ms MIN-MAX"),
            "--sample-seconds" => {
                args.sample_seconds = value.parse().expect("--sample-seconds N");
            }
            // A flag: takes no value.
            "--bare" => {
                args.bare = true;
                i += 1;
                continue;
            }
            _ => {
                i += 1;
                continue;
            }
        }
        i += 2;
    }
    args
}

/// `MIN-MAX` (or one number for both).
fn range(value: &str, usage: &str) -> (u64, u64) {
    let (lo, hi) = value.split_once('-').unwrap_or((value, value));
    let (lo, hi) = (lo.parse().expect(usage), hi.parse().expect(usage));
    assert!(lo <= hi, "{usage}");
    (lo, hi)
}

/// Where rooms and tokens come from.
enum Setup {
    /// The real server's REST API: guests who create and join rooms.
    Rest(reqwest::Client),
    /// Nothing to set up: the bare server takes any room code and ignores the token.
    Bare,
}

impl Setup {
    fn of(args: &Args) -> Self {
        if args.bare {
            Self::Bare
        } else {
            Self::Rest(reqwest::Client::new())
        }
    }
}

/// What the bots send as a token to the bare server, which never reads it.
const BARE_TOKEN: &str = "bare";

/// A guest host and the room it created; on the bare server a fresh random code, so runs
/// against the same server never share rooms.
async fn hosted_room(setup: &Setup, url: &str) -> (String, RoomCode) {
    let Setup::Rest(http) = setup else {
        return (BARE_TOKEN.into(), RoomCode::generate(rand::random::<u32>));
    };
    let host = guest(http, url).await;
    let created: CreateRoomResponse = http
        .post(format!("{url}/api/rooms/create/"))
        .bearer_auth(&host)
        .json(&json!({}))
        .send()
        .await
        .expect("create")
        .json()
        .await
        .expect("create body");
    (host, created.room.code)
}

/// A guest who joined `code`, by token.
async fn member(setup: &Setup, url: &str, code: RoomCode) -> String {
    let Setup::Rest(http) = setup else {
        return BARE_TOKEN.into();
    };
    let token = guest(http, url).await;
    http.post(format!("{url}/api/rooms/join/"))
        .bearer_auth(&token)
        .json(&json!({"code": code}))
        .send()
        .await
        .expect("join");
    token
}

async fn guest(http: &reqwest::Client, url: &str) -> String {
    let answer: Value = http
        .post(format!("{url}/api/auth/guest/"))
        .json(&json!({}))
        .send()
        .await
        .expect("guest")
        .json()
        .await
        .expect("guest body");
    answer["access"].as_str().expect("access token").to_owned()
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(url: &str, code: RoomCode, token: &str) -> Ws {
    let ws_url = format!(
        "{}/ws/room/{code}/?token={token}",
        url.replacen("http", "ws", 1)
    );
    let (mut ws, _) = tokio_tungstenite::connect_async_with_config(ws_url, None, true)
        .await
        .expect("websocket");
    let first = ws.next().await.expect("a snapshot").expect("a frame");
    assert!(
        first.to_text().unwrap_or("").contains("ROOM_SNAPSHOT"),
        "the first frame is the snapshot"
    );
    ws
}

/// `/proc` readings of the servers given by `--server-pid`, summed; zeros without one.
fn server_stats(args: &Args) -> (f64, u64) {
    args.server_pids
        .iter()
        .map(|pid| proc_stats(&pid.to_string()))
        .fold((0.0, 0), |(cpu, rss), (c, r)| (cpu + c, rss + r))
}

/// `/proc` readings of a process: CPU seconds (user + system) and resident memory in KiB.
fn proc_stats(pid: &str) -> (f64, u64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    let cpu = (ticks(11) + ticks(12)) / 100.0;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let rss = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0);
    (cpu, rss)
}

#[tokio::main]
async fn main() {
    let args = args();
    // Every socket is an open file; the hold scenario needs thousands.
    rlimit::increase_nofile_limit(u64::MAX).expect("raise the open-file limit");
    match args.scenario.as_str() {
        "connect" => connect_scenario(args).await,
        "hold" => hold_scenario(args).await,
        "soak" => soak::run(args).await,
        _ => fanout(args).await,
    }
}

/// Opens R × M member sockets as fast as W workers can (each waits for its snapshot) and holds
/// them: admissions per second while rooms fill, and server memory per held socket.
async fn hold_scenario(args: Args) {
    let setup = Setup::of(&args);
    let rss_fresh = server_stats(&args).1;
    let mut seats = Vec::new();
    for _ in 0..args.rooms {
        let (_host, code) = hosted_room(&setup, &args.url).await;
        for _ in 0..args.members {
            let token = member(&setup, &args.url, code).await;
            seats.push((code, token));
        }
    }
    let rss_accounts = server_stats(&args).1;
    let seats = Arc::new(seats);
    let next = Arc::new(AtomicU64::new(0));
    let (server_cpu_before, _) = server_stats(&args);
    let started = Instant::now();
    let workers: Vec<_> = (0..args.workers)
        .map(|_| {
            let (seats, next, url) = (Arc::clone(&seats), Arc::clone(&next), args.url.clone());
            tokio::spawn(async move {
                let mut held = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed) as usize;
                    let Some((code, token)) = seats.get(i) else {
                        break held;
                    };
                    held.push(connect(&url, *code, token).await);
                }
            })
        })
        .collect();
    let mut sockets = Vec::new();
    for worker in workers {
        sockets.extend(worker.await.expect("worker"));
    }
    let fill_seconds = started.elapsed().as_secs_f64();
    let (server_cpu_after, _) = server_stats(&args);
    // Let write-behind and allocator settle before reading memory.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_held = server_stats(&args).1;
    let held = sockets.len();
    println!(
        "{}",
        json!({
            "bench": "hold", "rooms": args.rooms, "members": args.members, "workers": args.workers,
            "sockets_held": held, "fill_seconds": fill_seconds, "admissions_per_s": held as f64 / fill_seconds,
            "server_cpu_share": (server_cpu_after - server_cpu_before) / fill_seconds,
            "server_rss_kib": {"fresh": rss_fresh, "with_accounts": rss_accounts, "with_sockets": rss_held},
            "server_rss_per_socket_kib": (rss_held as f64 - rss_accounts as f64) / held.max(1) as f64,
        })
    );
    drop(sockets);
}

/// Sockets admitted per second: each worker connects, waits for the snapshot, closes, again.
async fn connect_scenario(args: Args) {
    let setup = Setup::of(&args);
    let (_host, code) = hosted_room(&setup, &args.url).await;
    let mut members = Vec::new();
    for _ in 0..args.members {
        let token = member(&setup, &args.url, code).await;
        members.push(token);
    }
    let members = Arc::new(members);
    let (server_cpu_before, _) = server_stats(&args);
    let started = Instant::now();
    let deadline = started + Duration::from_secs(args.seconds);
    let latency = Arc::new(Mutex::new(
        Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("histogram bounds"),
    ));
    let workers: Vec<_> = (0..args.workers)
        .map(|worker| {
            let (members, latency, url) =
                (Arc::clone(&members), Arc::clone(&latency), args.url.clone());
            tokio::spawn(async move {
                let mut admitted = 0u64;
                let mut i = worker;
                while Instant::now() < deadline {
                    let began = Instant::now();
                    let mut ws = connect(&url, code, &members[i % members.len()]).await;
                    let micros = began.elapsed().as_micros() as u64;
                    let _ = latency
                        .lock()
                        .expect("no panics while recording")
                        .record(micros.max(1));
                    let _ = ws.close(None).await;
                    admitted += 1;
                    i += args.workers;
                }
                admitted
            })
        })
        .collect();
    let mut admitted = 0;
    for worker in workers {
        admitted += worker.await.expect("worker");
    }
    let elapsed = started.elapsed().as_secs_f64();
    let (server_cpu_after, server_rss) = server_stats(&args);
    let latency = latency.lock().expect("workers are done").clone();
    let ms = |q: f64| latency.value_at_quantile(q) as f64 / 1000.0;
    println!(
        "{}",
        json!({
            "bench": "connect", "workers": args.workers, "members": args.members, "seconds": args.seconds,
            "admitted": admitted, "admissions_per_s": admitted as f64 / elapsed,
            "admission_ms": {"p50": ms(0.5), "p99": ms(0.99), "max": latency.max() as f64 / 1000.0},
            "server_cpu_share": (server_cpu_after - server_cpu_before) / elapsed,
            "server_rss_kib": server_rss,
        })
    );
}

async fn fanout(args: Args) {
    let setup = Setup::of(&args);
    let changes_per_room = (args.rate * args.seconds as f64).ceil() as usize;
    let clock = Instant::now();
    // sent[room][k]: ns since `clock` when the host sent its k-th change; 0 = not yet.
    let sent: Arc<Vec<Vec<AtomicU64>>> = Arc::new(
        (0..args.rooms)
            .map(|_| (0..changes_per_room).map(|_| AtomicU64::new(0)).collect())
            .collect(),
    );
    let received = Arc::new(AtomicU64::new(0));
    let latency = Arc::new(Mutex::new(
        Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("histogram bounds"),
    ));
    let rss_fresh = server_stats(&args).1;
    let mut hosts = Vec::new();
    let mut readers = Vec::new();
    for room in 0..args.rooms {
        let (host_token, code) = hosted_room(&setup, &args.url).await;
        hosts.push((room, code, connect(&args.url, code, &host_token).await));
        let member_url = args.member_url.as_deref().unwrap_or(&args.url);
        for _ in 0..args.members {
            let token = member(&setup, member_url, code).await;
            let ws = connect(member_url, code, &token).await;
            let (sent, received, latency) = (
                Arc::clone(&sent),
                Arc::clone(&received),
                Arc::clone(&latency),
            );
            readers.push(tokio::spawn(read_member(
                ws, room, sent, received, clock, latency,
            )));
        }
    }
    let (server_cpu_before, server_rss) = server_stats(&args);
    let (bots_cpu_before, _) = proc_stats("self");
    let started = Instant::now();
    let interval = Duration::from_secs_f64(1.0 / args.rate);
    let senders: Vec<_> = hosts
        .into_iter()
        .map(|(room, _code, ws)| {
            let sent = Arc::clone(&sent);
            let rooms = args.rooms;
            tokio::spawn(async move {
                let (mut sink, mut stream) = ws.split();
                // Drain the host's own copies so its socket never backs up.
                let drain = tokio::spawn(async move { while stream.next().await.is_some() {} });
                // Rooms are not in step in real life: spread their changes over the interval,
                // or every room's fan-out lands in the same instant and the bots measure their
                // own queue.
                let phase = interval.mul_f64(room as f64 / rooms as f64);
                let mut tick =
                    tokio::time::interval_at(tokio::time::Instant::now() + phase, interval);
                for k in 0..changes_per_room {
                    tick.tick().await;
                    let seek = Seek::new(PositionMs::new(k as u64).expect("small positions"));
                    let frame = ClientMessage::new(ClientEvent::Seek(seek)).encode();
                    sent[room][k].store(clock.elapsed().as_nanos() as u64, Ordering::Relaxed);
                    sink.send(Message::Text(frame.into())).await.expect("send");
                }
                (sink, drain)
            })
        })
        .collect();
    let mut hosts = Vec::new();
    for sender in senders {
        hosts.push(sender.await.expect("host task"));
    }
    let send_seconds = started.elapsed().as_secs_f64();
    let expected = (args.rooms * args.members * changes_per_room) as u64;
    let give_up = Instant::now() + Duration::from_secs(10);
    while received.load(Ordering::Relaxed) < expected && Instant::now() < give_up {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for reader in readers {
        reader.abort();
    }
    let latency = latency.lock().expect("readers are done").clone();
    let elapsed = started.elapsed().as_secs_f64();
    let (server_cpu_after, server_rss_after) = server_stats(&args);
    let (bots_cpu_after, _) = proc_stats("self");
    drop(hosts);
    let got = received.load(Ordering::Relaxed);
    // The histogram holds µs.
    let ms = |q: f64| latency.value_at_quantile(q) as f64 / 1000.0;
    let report = json!({
        "bench": "fanout",
        "rooms": args.rooms, "members": args.members, "rate_per_room": args.rate, "seconds": args.seconds,
        "sent": args.rooms * changes_per_room, "expected": expected, "received": got, "lost": expected - got.min(expected),
        "latency_ms": {"p50": ms(0.50), "p90": ms(0.90), "p99": ms(0.99), "max": latency.max() as f64 / 1000.0},
        "deliveries_per_s": got as f64 / send_seconds,
        "elapsed_s": elapsed,
        "server_cpu_s": server_cpu_after - server_cpu_before,
        "server_cpu_share": (server_cpu_after - server_cpu_before) / elapsed,
        "server_rss_kib": {"before_sockets": rss_fresh, "with_sockets": server_rss, "after": server_rss_after},
        "server_rss_per_socket_kib": (server_rss as f64 - rss_fresh as f64) / (args.rooms * (args.members + 1)) as f64,
        "bots_cpu_share": (bots_cpu_after - bots_cpu_before) / elapsed,
    });
    println!("{report}");
}

/// Reads one member's socket, recording send → read latency in µs. Runs until aborted: a
/// timeout per read would cost the bots more than the reading.
async fn read_member(
    mut ws: Ws,
    room: usize,
    sent: Arc<Vec<Vec<AtomicU64>>>,
    received: Arc<AtomicU64>,
    clock: Instant,
    latency: Arc<Mutex<Histogram<u64>>>,
) {
    while let Some(Ok(frame)) = ws.next().await {
        let read_at = clock.elapsed().as_nanos() as u64;
        let Ok(text) = frame.to_text() else { continue };
        let Ok(message) = ServerMessage::decode(text) else {
            continue;
        };
        if let ServerEvent::PlaybackState(state) = message.event {
            let k = state.playback.position_ms.get() as usize;
            let at = sent[room].get(k).map_or(0, |s| s.load(Ordering::Relaxed));
            if at > 0 {
                let micros = (read_at.saturating_sub(at) / 1000).max(1);
                let _ = latency
                    .lock()
                    .expect("no panics while recording")
                    .record(micros);
            }
            received.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// `--scenario soak`: rooms with steady playback and chat, members churning in and out, for
/// as long as asked; samples of the server's resources and the bots' totals as it goes.
mod soak {
    use std::collections::{BTreeMap, HashMap};
    use std::sync::Arc;
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

    use futures_util::{SinkExt as _, StreamExt as _};
    use hdrhistogram::Histogram;
    use rand::Rng as _;
    use serde_json::{Value, json};
    use streamit_protocol::v1::{
        Chat, ChatText, ClientEvent, ClientMessage, ClientRef, CreateRoomResponse, PositionMs,
        RoomCode, Seek, ServerEvent, ServerMessage,
    };
    use tokio::time::MissedTickBehavior;
    use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
    use tokio_tungstenite::tungstenite::{Error as WsError, Message};

    use super::{Args, Ws, proc_stats};

    /// Seeks remembered per room for latency: enough for ~10 s at 400 changes/s.
    const RING: usize = 4096;
    /// How long a sender waits for its last chat lines to come back before leaving.
    const ECHO_TIMEOUT: Duration = Duration::from_secs(5);
    /// How long a leaving socket waits for the server's close frame.
    const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);
    /// How long a connect (upgrade and snapshot) may take before it counts as failed.
    const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
    /// The server's chat rules allow 5 lines in 3 s per user: no user of the bots sends more
    /// than one a second.
    const CHAT_SPACING: Duration = Duration::from_secs(1);
    /// A token this close to its expiry is refreshed before the next connect.
    const REFRESH_AHEAD_MS: u64 = 120_000;
    /// Failures told on stderr; the totals count them all.
    const NOTES: u64 = 50;

    /// The bots' totals, all sockets together.
    #[derive(Default)]
    struct Totals {
        /// Member sockets admitted (snapshot read).
        joins: AtomicU64,
        /// Member sockets the bots closed.
        leaves: AtomicU64,
        /// ... of which the server's close frame did not come within `CLOSE_TIMEOUT`.
        unclean_leaves: AtomicU64,
        /// Sockets, of members and hosts, the server closed (or that broke) while in.
        server_closes: AtomicU64,
        /// Connects refused with a close code (then retried after a refresh or a REST join).
        refused: AtomicU64,
        /// Connects that failed otherwise (no upgrade, no snapshot in time).
        connect_errors: AtomicU64,
        rest_joins: AtomicU64,
        refreshes: AtomicU64,
        rest_errors: AtomicU64,
        /// Hosts' `SEEK`s sent.
        seeks: AtomicU64,
        /// Frames with `seq` read, members and hosts.
        broadcasts: AtomicU64,
        /// `PLAYBACK_STATE` read by members.
        playback: AtomicU64,
        chat_sent: AtomicU64,
        /// Lines that came back to their sender.
        chat_echoed: AtomicU64,
        /// Lines that did not come back to their sender while it was in.
        chat_lost: AtomicU64,
        /// Lines answered with `ERROR` (the chat rules; the bots pace below them).
        chat_refused: AtomicU64,
        /// Other `ERROR` replies.
        errors: AtomicU64,
        /// Broadcasts whose `seq` skipped ahead of the last one + 1 ...
        gaps: AtomicU64,
        /// ... and the `seq` values skipped.
        missed: AtomicU64,
        /// Broadcasts whose `seq` was at or below the last one.
        out_of_order: AtomicU64,
        /// Member sockets in now.
        connected: AtomicU64,
    }

    impl Totals {
        fn report(&self) -> Value {
            let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
            json!({
                "joins": get(&self.joins), "leaves": get(&self.leaves),
                "unclean_leaves": get(&self.unclean_leaves), "server_closes": get(&self.server_closes),
                "refused": get(&self.refused), "connect_errors": get(&self.connect_errors),
                "rest_joins": get(&self.rest_joins), "refreshes": get(&self.refreshes),
                "rest_errors": get(&self.rest_errors), "seeks": get(&self.seeks),
                "broadcasts": get(&self.broadcasts), "playback": get(&self.playback),
                "chat_sent": get(&self.chat_sent), "chat_echoed": get(&self.chat_echoed),
                "chat_lost": get(&self.chat_lost), "chat_refused": get(&self.chat_refused),
                "errors": get(&self.errors), "gaps": get(&self.gaps), "missed": get(&self.missed),
                "out_of_order": get(&self.out_of_order), "members_in": get(&self.connected),
            })
        }
    }

    fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// µs histograms: host send → member read of playback, and chat send → the sender's read.
    struct Latencies {
        playback: Histogram<u64>,
        chat: Histogram<u64>,
    }

    impl Latencies {
        fn new() -> Self {
            let histogram =
                || Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("histogram bounds");
            Self {
                playback: histogram(),
                chat: histogram(),
            }
        }

        fn report(&self) -> Value {
            let ms = |h: &Histogram<u64>, q: f64| h.value_at_quantile(q) as f64 / 1000.0;
            let of = |h: &Histogram<u64>| json!({"n": h.len(), "p50": ms(h, 0.5), "p99": ms(h, 0.99), "max": h.max() as f64 / 1000.0});
            json!({"playback": of(&self.playback), "chat_echo": of(&self.chat)})
        }
    }

    /// What every bot task shares.
    struct Soak {
        url: String,
        http: reqwest::Client,
        clock: Instant,
        deadline: Instant,
        rate: f64,
        chat_rate: f64,
        member_chat: Duration,
        stay_ms: (u64, u64),
        pause_ms: (u64, u64),
        totals: Totals,
        /// Codes of the closes the server sent to sockets that were in, and of refused connects.
        closes: Mutex<BTreeMap<String, u64>>,
        /// sent[room][k % RING] = (k + 1, ns since `clock` when the host sent seek k).
        sent: Vec<Vec<(AtomicU64, AtomicU64)>>,
        /// Since the last sample.
        latency: Mutex<Latencies>,
        /// Failures told on stderr so far (the first `NOTES` are).
        notes: AtomicU64,
        /// The server's SQLite file, if given.
        sqlite: Option<String>,
    }

    impl Soak {
        /// Tells a failure on stderr, the first `NOTES` of them.
        fn note(&self, what: &str) {
            if self.notes.fetch_add(1, Ordering::Relaxed) < NOTES {
                eprintln!("{:.1} s: {what}", self.clock.elapsed().as_secs_f64());
            }
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
    }

    fn now_ms() -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64)
    }

    /// A guest's tokens.
    struct Account {
        access: String,
        refresh: String,
        expires_at_ms: u64,
    }

    impl Account {
        fn from_answer(answer: &Value) -> Result<Self, String> {
            let text = |k: &str| answer[k].as_str().map(str::to_owned);
            match (
                text("access"),
                text("refresh"),
                answer["access_expires_at_ms"].as_u64(),
            ) {
                (Some(access), Some(refresh), Some(expires_at_ms)) => Ok(Self {
                    access,
                    refresh,
                    expires_at_ms,
                }),
                _ => Err(format!("not a token answer: {answer}")),
            }
        }

        async fn guest(soak: &Soak) -> Result<Self, String> {
            let answer = post(soak, "/api/auth/guest/", None, json!({})).await?;
            Self::from_answer(&answer)
        }

        /// Refreshes the access token when it is close to expiring.
        async fn keep_fresh(&mut self, soak: &Soak) {
            if now_ms() + REFRESH_AHEAD_MS >= self.expires_at_ms {
                self.refresh(soak).await;
            }
        }

        async fn refresh(&mut self, soak: &Soak) {
            let body = json!({"refresh": self.refresh});
            match post(soak, "/api/auth/refresh/", None, body).await {
                Ok(answer) => match Self::from_answer(&answer) {
                    Ok(fresh) => {
                        *self = fresh;
                        add(&soak.totals.refreshes, 1);
                    }
                    Err(error) => {
                        add(&soak.totals.rest_errors, 1);
                        soak.note(&error);
                    }
                },
                Err(error) => {
                    add(&soak.totals.rest_errors, 1);
                    soak.note(&error);
                }
            }
        }
    }

    /// A REST call's JSON answer, or why not.
    async fn post(
        soak: &Soak,
        path: &str,
        token: Option<&str>,
        body: Value,
    ) -> Result<Value, String> {
        let mut request = soak.http.post(format!("{}{path}", soak.url)).json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let answer = request.send().await.map_err(|e| e.to_string())?;
        let status = answer.status();
        let body: Value = answer.json().await.map_err(|e| e.to_string())?;
        if status.is_success() {
            Ok(body)
        } else {
            Err(format!("{path}: {status} {body}"))
        }
    }

    async fn rest_join(soak: &Soak, account: &Account, code: RoomCode) -> bool {
        let body = json!({"code": code});
        match post(soak, "/api/rooms/join/", Some(&account.access), body).await {
            Ok(answer) if answer["status"] == "APPROVED" => {
                add(&soak.totals.rest_joins, 1);
                true
            }
            answer => {
                add(&soak.totals.rest_errors, 1);
                soak.note(&format!("join: {answer:?}"));
                false
            }
        }
    }

    /// Why a connect did not get in.
    enum Refusal {
        /// The server closed the socket before the snapshot, with this code.
        Closed(Option<u16>),
        /// No upgrade, or no snapshot in time: why.
        Failed(String),
    }

    /// The bots' sockets: tungstenite zeroes its read buffer's spare room before every read,
    /// so its default 128 KiB would have the bots spend most of their core in `memset`.
    fn config() -> WebSocketConfig {
        WebSocketConfig::default().read_buffer_size(4 * 1024)
    }

    /// Opens a socket and reads its snapshot: the socket and the snapshot's `seq`.
    async fn open(url: &str, code: RoomCode, token: &str) -> Result<(Ws, u64), Refusal> {
        let ws_url = format!(
            "{}/ws/room/{code}/?token={token}",
            url.replacen("http", "ws", 1)
        );
        let opening = async {
            let (mut ws, _) =
                tokio_tungstenite::connect_async_with_config(ws_url, Some(config()), true)
                    .await
                    .map_err(|e| Refusal::Failed(format!("connect: {e}")))?;
            match ws.next().await {
                Some(Ok(Message::Text(text))) => match ServerMessage::decode(text.as_str()) {
                    Ok(ServerMessage {
                        event: ServerEvent::RoomSnapshot(snapshot),
                        ..
                    }) => Ok((ws, snapshot.seq)),
                    _ => Err(Refusal::Failed(format!("first frame: {text}"))),
                },
                Some(Ok(Message::Close(close))) => {
                    Err(Refusal::Closed(close.map(|c| u16::from(c.code))))
                }
                other => Err(Refusal::Failed(format!("first frame: {other:?}"))),
            }
        };
        tokio::time::timeout(CONNECT_TIMEOUT, opening)
            .await
            .unwrap_or_else(|_| Err(Refusal::Failed("no snapshot in time".into())))
    }

    /// Connects until admitted or the run is over: refreshes the token when it nears expiry
    /// or the server says 4001, joins over REST when needed or the server says 4003.
    async fn enter(
        soak: &Soak,
        account: &mut Account,
        code: RoomCode,
        joined: &mut bool,
    ) -> Option<(Ws, u64)> {
        while Instant::now() < soak.deadline {
            account.keep_fresh(soak).await;
            if !*joined {
                *joined = rest_join(soak, account, code).await;
                if !*joined {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            }
            match open(&soak.url, code, &account.access).await {
                Ok(entered) => return Some(entered),
                Err(Refusal::Closed(close)) => {
                    add(&soak.totals.refused, 1);
                    soak.close_seen("refused", close);
                    match close {
                        Some(4001) => account.refresh(soak).await,
                        Some(4003) => *joined = false,
                        _ => tokio::time::sleep(Duration::from_secs(1)).await,
                    }
                }
                Err(Refusal::Failed(why)) => {
                    add(&soak.totals.connect_errors, 1);
                    soak.note(&why);
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
        None
    }

    /// One socket's reading: `seq` from its snapshot on, and its own chat lines in flight.
    struct Seen {
        room: usize,
        member: bool,
        last_seq: u64,
        /// Chat lines sent and not yet back, by text (also their `ref`).
        in_flight: HashMap<String, Instant>,
    }

    /// A socket the server closed (or that broke), with the close code if any.
    struct Closed(Option<u16>);

    impl Seen {
        fn new(room: usize, member: bool, last_seq: u64) -> Self {
            Self {
                room,
                member,
                last_seq,
                in_flight: HashMap::new(),
            }
        }

        fn take(
            &mut self,
            soak: &Soak,
            frame: Option<Result<Message, WsError>>,
        ) -> Result<(), Closed> {
            match frame {
                Some(Ok(Message::Text(text))) => {
                    self.text(soak, text.as_str());
                    Ok(())
                }
                Some(Ok(Message::Close(close))) => Err(Closed(close.map(|c| u16::from(c.code)))),
                Some(Ok(_)) => Ok(()),
                Some(Err(_)) | None => Err(Closed(None)),
            }
        }

        fn text(&mut self, soak: &Soak, text: &str) {
            let read_at = soak.clock.elapsed().as_nanos() as u64;
            let Ok(message) = ServerMessage::decode(text) else {
                add(&soak.totals.errors, 1);
                return;
            };
            let totals = &soak.totals;
            if let Some(seq) = message.seq {
                add(&totals.broadcasts, 1);
                if seq > self.last_seq + 1 {
                    add(&totals.gaps, 1);
                    add(&totals.missed, seq - self.last_seq - 1);
                } else if seq <= self.last_seq {
                    add(&totals.out_of_order, 1);
                }
                self.last_seq = self.last_seq.max(seq);
            }
            match message.event {
                ServerEvent::PlaybackState(state) if self.member => {
                    add(&totals.playback, 1);
                    let k = state.playback.position_ms.get();
                    let (tag, at) = &soak.sent[self.room][k as usize % RING];
                    if tag.load(Ordering::Relaxed) == k + 1 {
                        let micros = read_at.saturating_sub(at.load(Ordering::Relaxed)) / 1000;
                        let _ = soak
                            .latency
                            .lock()
                            .expect("no panics while recording")
                            .playback
                            .record(micros.max(1));
                    }
                }
                ServerEvent::ChatMessage(line) => {
                    if let Some(sent) = self.in_flight.remove(line.text.as_str()) {
                        add(&totals.chat_echoed, 1);
                        let micros = sent.elapsed().as_micros() as u64;
                        let _ = soak
                            .latency
                            .lock()
                            .expect("no panics while recording")
                            .chat
                            .record(micros.max(1));
                    }
                }
                ServerEvent::Error(_) => {
                    let ours = message
                        .reference
                        .and_then(|r| self.in_flight.remove(r.as_str()));
                    add(
                        if ours.is_some() {
                            &totals.chat_refused
                        } else {
                            &totals.errors
                        },
                        1,
                    );
                }
                _ => {}
            }
        }

        /// Lines still in flight when the socket ended count as lost.
        fn lose_in_flight(&mut self, soak: &Soak) {
            add(&soak.totals.chat_lost, self.in_flight.len() as u64);
            self.in_flight.clear();
        }
    }

    /// Sends one chat line, unique to the run (it is also the `ref`).
    async fn chat(soak: &Soak, ws: &mut Ws, seen: &mut Seen, text: String) -> Result<(), WsError> {
        let line = ChatText::new(&text).expect("a valid chat line");
        let reference = ClientRef::new(text.clone()).expect("a short ref");
        let frame = ClientMessage::with_ref(ClientEvent::Chat(Chat::new(line)), reference).encode();
        seen.in_flight.insert(text, Instant::now());
        add(&soak.totals.chat_sent, 1);
        ws.send(Message::Text(frame.into())).await
    }

    /// Leaves cleanly: waits for the lines in flight, sends a close frame and reads up to the
    /// server's. `false` when the server's close did not come in time.
    async fn leave(soak: &Soak, ws: &mut Ws, seen: &mut Seen) -> bool {
        let echoes_by = tokio::time::Instant::now() + ECHO_TIMEOUT;
        while !seen.in_flight.is_empty() {
            match tokio::time::timeout_at(echoes_by, ws.next()).await {
                Ok(frame) => {
                    if seen.take(soak, frame).is_err() {
                        break;
                    }
                }
                Err(_) => break,
            }
        }
        seen.lose_in_flight(soak);
        let _ = ws.close(None).await;
        let closed_by = tokio::time::Instant::now() + CLOSE_TIMEOUT;
        loop {
            match tokio::time::timeout_at(closed_by, ws.next()).await {
                Ok(Some(Ok(Message::Close(_))) | None) => return true,
                Ok(Some(Err(WsError::ConnectionClosed | WsError::AlreadyClosed))) => return true,
                Ok(Some(Err(_))) | Err(_) => return false,
                Ok(frame) => {
                    let _ = seen.take(soak, frame);
                }
            }
        }
    }

    /// A host: holds its socket (reconnecting if the server closes it), seeks at `rate` and
    /// chats at `chat_rate` until the deadline.
    async fn host(
        soak: Arc<Soak>,
        room: usize,
        rooms: usize,
        code: RoomCode,
        mut account: Account,
    ) {
        let seek_every = Duration::from_secs_f64(1.0 / soak.rate);
        // Rooms are not in step in real life (see `fanout`).
        let phase = seek_every.mul_f64(room as f64 / rooms as f64);
        let mut seeks = tokio::time::interval_at(tokio::time::Instant::now() + phase, seek_every);
        let chat_every = if soak.chat_rate > 0.0 {
            Duration::from_secs_f64(1.0 / soak.chat_rate).max(CHAT_SPACING)
        } else {
            Duration::from_secs(86_400)
        };
        let mut chats = tokio::time::interval_at(
            tokio::time::Instant::now() + chat_every.mul_f64(rand::rng().random::<f64>()),
            chat_every,
        );
        chats.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let deadline = tokio::time::Instant::from_std(soak.deadline);
        let (mut k, mut lines, mut joined) = (0u64, 0u64, true);
        let over = tokio::time::sleep_until(deadline);
        tokio::pin!(over);
        while let Some((mut ws, seq)) = enter(&soak, &mut account, code, &mut joined).await {
            let mut seen = Seen::new(room, false, seq);
            let ended = loop {
                tokio::select! {
                    () = &mut over => break Ok(()),
                    _ = seeks.tick() => {
                        let position = PositionMs::new(k % 86_400_000).expect("within 24 h");
                        let frame = ClientMessage::new(ClientEvent::Seek(Seek::new(position))).encode();
                        let (tag, at) = &soak.sent[room][k as usize % RING];
                        at.store(soak.clock.elapsed().as_nanos() as u64, Ordering::Relaxed);
                        tag.store(k + 1, Ordering::Relaxed);
                        k += 1;
                        add(&soak.totals.seeks, 1);
                        if ws.send(Message::Text(frame.into())).await.is_err() {
                            break Err(Closed(None));
                        }
                    }
                    _ = chats.tick() => {
                        lines += 1;
                        if chat(&soak, &mut ws, &mut seen, format!("h{room}-{lines}")).await.is_err() {
                            break Err(Closed(None));
                        }
                    }
                    frame = ws.next() => if let Err(closed) = seen.take(&soak, frame) {
                        break Err(closed);
                    },
                }
            };
            match ended {
                Ok(()) => {
                    leave(&soak, &mut ws, &mut seen).await;
                    return;
                }
                Err(Closed(close)) => {
                    add(&soak.totals.server_closes, 1);
                    soak.close_seen("host closed", close);
                    seen.lose_in_flight(&soak);
                }
            }
        }
    }

    fn between(soak_range: (u64, u64)) -> Duration {
        Duration::from_millis(rand::rng().random_range(soak_range.0..=soak_range.1))
    }

    /// A member slot: one guest who joins, stays, chats, leaves cleanly and comes back, until
    /// the deadline.
    async fn member(
        soak: Arc<Soak>,
        slot: usize,
        room: usize,
        code: RoomCode,
        mut account: Account,
    ) {
        // Spread the first joins over a stay.
        tokio::time::sleep(between((0, soak.stay_ms.1))).await;
        let (mut lines, mut joined) = (0u64, true);
        let mut last_line: Option<tokio::time::Instant> = None;
        let deadline = tokio::time::Instant::from_std(soak.deadline);
        while Instant::now() < soak.deadline {
            let Some((mut ws, seq)) = enter(&soak, &mut account, code, &mut joined).await else {
                break;
            };
            add(&soak.totals.joins, 1);
            add(&soak.totals.connected, 1);
            let mut seen = Seen::new(room, true, seq);
            let now = tokio::time::Instant::now();
            let stay = tokio::time::sleep_until((now + between(soak.stay_ms)).min(deadline));
            tokio::pin!(stay);
            let mut first = now + soak.member_chat.mul_f64(rand::rng().random::<f64>());
            if let Some(last) = last_line {
                first = first.max(last + CHAT_SPACING);
            }
            let next_line = tokio::time::sleep_until(first);
            tokio::pin!(next_line);
            let ended = loop {
                tokio::select! {
                    () = &mut stay => break Ok(()),
                    () = &mut next_line => {
                        lines += 1;
                        let now = tokio::time::Instant::now();
                        last_line = Some(now);
                        next_line.as_mut().reset(now + soak.member_chat);
                        if chat(&soak, &mut ws, &mut seen, format!("m{slot}-{lines}")).await.is_err() {
                            break Err(Closed(None));
                        }
                    }
                    frame = ws.next() => if let Err(closed) = seen.take(&soak, frame) {
                        break Err(closed);
                    },
                }
            };
            match ended {
                Ok(()) => {
                    add(&soak.totals.leaves, 1);
                    if !leave(&soak, &mut ws, &mut seen).await {
                        add(&soak.totals.unclean_leaves, 1);
                    }
                }
                Err(Closed(close)) => {
                    add(&soak.totals.server_closes, 1);
                    soak.close_seen("member closed", close);
                    seen.lose_in_flight(&soak);
                }
            }
            soak.totals.connected.fetch_sub(1, Ordering::Relaxed);
            drop(ws);
            tokio::time::sleep_until(
                (tokio::time::Instant::now() + between(soak.pause_ms)).min(deadline),
            )
            .await;
        }
    }

    /// `/proc` and `/metrics` readings of the server, and the bots' own memory and members in.
    struct ServerReading {
        cpu_s: f64,
        values: BTreeMap<&'static str, f64>,
    }

    /// The series the summary follows, as named in the sample lines.
    const SERIES: [&str; 10] = [
        "rss_kib",
        "open_files",
        "threads",
        "tasks",
        "sockets_open",
        "rooms_live",
        "db_kib",
        "wal_kib",
        "bots_rss_kib",
        "members_in",
    ];

    async fn read_server(soak: &Soak, pid: Option<u32>) -> ServerReading {
        let (cpu_s, rss) = pid.map_or((0.0, 0), |pid| proc_stats(&pid.to_string()));
        let open_files = pid.map_or(0, |pid| {
            std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, Iterator::count)
        });
        let threads = pid.map_or(0.0, |pid| {
            std::fs::read_to_string(format!("/proc/{pid}/status"))
                .unwrap_or_default()
                .lines()
                .find_map(|l| l.strip_prefix("Threads:")?.trim().parse().ok())
                .unwrap_or(0.0)
        });
        let scrape = || async {
            soak.http
                .get(format!("{}/metrics", soak.url))
                .timeout(Duration::from_secs(5))
                .send()
                .await?
                .error_for_status()?
                .text()
                .await
        };
        // Once more on failure: an idle keep-alive connection may close as it is reused.
        let metrics_text = match scrape().await {
            Ok(text) => Ok(text),
            Err(error) => {
                soak.note(&format!("/metrics: {error}"));
                scrape().await
            }
        };
        // Each metric's series summed over their labels (`streamit_http_requests_total{…}`).
        let mut metrics: HashMap<String, f64> = HashMap::new();
        for line in metrics_text.unwrap_or_default().lines() {
            let Some((series, value)) = line.rsplit_once(' ') else {
                continue;
            };
            let (Some(name), Ok(value)) = (series.split('{').next(), value.parse::<f64>()) else {
                continue;
            };
            if !line.starts_with('#') {
                *metrics.entry(name.to_owned()).or_default() += value;
            }
        }
        let metric = |name: &str| metrics.get(name).copied().unwrap_or(-1.0);
        // KiB; -1 without `--sqlite` or the file.
        let file_kib = |suffix: &str| {
            soak.sqlite.as_ref().map_or(-1.0, |path| {
                std::fs::metadata(format!("{path}{suffix}"))
                    .map_or(-1.0, |m| (m.len() / 1024) as f64)
            })
        };
        let values = BTreeMap::from([
            ("rss_kib", rss as f64),
            ("open_files", open_files as f64),
            ("threads", threads),
            ("tasks", metric("streamit_tasks")),
            ("sockets_open", metric("streamit_sockets_open")),
            ("rooms_live", metric("streamit_rooms_live")),
            ("broadcasts_total", metric("streamit_broadcasts_total")),
            ("deliveries_total", metric("streamit_deliveries_total")),
            ("admissions_total", metric("streamit_admissions_total")),
            (
                "socket_closes_total",
                metric("streamit_socket_closes_total"),
            ),
            (
                "http_requests_total",
                metric("streamit_http_requests_total"),
            ),
            (
                "slow_consumers_total",
                metric("streamit_slow_consumers_total"),
            ),
            ("db_kib", file_kib("")),
            ("wal_kib", file_kib("-wal")),
            ("bots_rss_kib", proc_stats("self").1 as f64),
            (
                "members_in",
                soak.totals.connected.load(Ordering::Relaxed) as f64,
            ),
        ]);
        ServerReading { cpu_s, values }
    }

    /// Least-squares slope of `points` (seconds, value), per 10 minutes.
    fn slope_per_10_min(points: &[(f64, f64)]) -> f64 {
        let n = points.len() as f64;
        if points.len() < 2 {
            return 0.0;
        }
        let (mt, mv) = points
            .iter()
            .fold((0.0, 0.0), |(t, v), (pt, pv)| (t + pt / n, v + pv / n));
        let (num, den) = points.iter().fold((0.0, 0.0), |(num, den), (t, v)| {
            (num + (t - mt) * (v - mv), den + (t - mt) * (t - mt))
        });
        if den == 0.0 { 0.0 } else { num / den * 600.0 }
    }

    pub(super) async fn run(args: Args) {
        assert!(
            !args.bare,
            "the soak needs the real server's REST API and chat"
        );
        assert!(args.rate > 0.0, "--rate must be positive");
        assert!(
            args.chat_rate <= 1.0 && args.member_chat_seconds >= 1.0,
            "the chat rules allow 5 lines in 3 s per user: at most one a second"
        );
        let started_setup = Instant::now();
        let mut soak = Soak {
            url: args.url.clone(),
            http: reqwest::Client::new(),
            clock: Instant::now(),
            deadline: Instant::now(),
            rate: args.rate,
            chat_rate: args.chat_rate,
            member_chat: Duration::from_secs_f64(args.member_chat_seconds),
            stay_ms: args.stay_ms,
            pause_ms: args.pause_ms,
            totals: Totals::default(),
            closes: Mutex::new(BTreeMap::new()),
            sent: (0..args.rooms)
                .map(|_| {
                    (0..RING)
                        .map(|_| (AtomicU64::new(0), AtomicU64::new(0)))
                        .collect()
                })
                .collect(),
            latency: Mutex::new(Latencies::new()),
            notes: AtomicU64::new(0),
            sqlite: args.sqlite.clone(),
        };
        // Accounts and rooms, rooms in parallel: a host who created the room, members who
        // joined it over REST.
        let setup = Arc::new(soak);
        let rooms: Vec<_> = (0..args.rooms)
            .map(|_| {
                let (setup, members) = (Arc::clone(&setup), args.members);
                tokio::spawn(async move {
                    let host = Account::guest(&setup).await.expect("a host");
                    let created = post(&setup, "/api/rooms/create/", Some(&host.access), json!({}))
                        .await
                        .expect("a room");
                    let created: CreateRoomResponse =
                        serde_json::from_value(created).expect("a create answer");
                    let code = created.room.code;
                    let mut slots = Vec::new();
                    for _ in 0..members {
                        let member = Account::guest(&setup).await.expect("a member");
                        assert!(rest_join(&setup, &member, code).await, "joined");
                        slots.push(member);
                    }
                    (host, code, slots)
                })
            })
            .collect();
        let mut setups = Vec::new();
        for room in rooms {
            setups.push(room.await.expect("room setup"));
        }
        soak = Arc::into_inner(setup).expect("setup tasks are done");
        let setup_seconds = started_setup.elapsed().as_secs_f64();
        soak.totals = Totals::default();
        let idle = read_server(&soak, args.server_pids.first().copied()).await;
        let started = Instant::now();
        soak.deadline = started + Duration::from_secs(args.seconds);
        let soak = Arc::new(soak);
        let (bots_cpu_before, _) = proc_stats("self");
        let mut tasks = Vec::new();
        let mut slot = 0;
        for (room, (host_account, code, members)) in setups.into_iter().enumerate() {
            tasks.push(tokio::spawn(host(
                Arc::clone(&soak),
                room,
                args.rooms,
                code,
                host_account,
            )));
            for account in members {
                tasks.push(tokio::spawn(member(
                    Arc::clone(&soak),
                    slot,
                    room,
                    code,
                    account,
                )));
                slot += 1;
            }
        }
        // Samples until the deadline.
        let print_sample = |phase: &str,
                            t: f64,
                            reading: &ServerReading,
                            cpu: Option<(f64, f64)>,
                            latency: Option<Value>| {
            let mut line = json!({
                "bench": "soak-sample", "phase": phase, "t_s": (t * 10.0).round() / 10.0,
                "readings": reading.values, "bots": soak.totals.report(),
            });
            if let Some((server_cpu, bots_cpu)) = cpu {
                line["server_cpu_share"] = json!(server_cpu);
                line["bots_cpu_share"] = json!(bots_cpu);
            }
            if let Some(latency) = latency {
                line["latency_ms"] = latency;
            }
            println!("{line}");
        };
        print_sample("idle", 0.0, &idle, None, None);
        let mut series: BTreeMap<&str, Vec<(f64, f64)>> = BTreeMap::new();
        let mut total_latency = Latencies::new();
        let every = Duration::from_secs(args.sample_seconds.max(1));
        let (mut server_cpu_last, mut bots_cpu_last, mut at_last) =
            (idle.cpu_s, bots_cpu_before, started);
        // No sample at the deadline itself: the members are leaving then.
        let mut next = started + every;
        while next < soak.deadline {
            tokio::time::sleep_until(tokio::time::Instant::from_std(next)).await;
            next += every;
            let reading = read_server(&soak, args.server_pids.first().copied()).await;
            let (bots_cpu, _) = proc_stats("self");
            let (now, t) = (Instant::now(), started.elapsed().as_secs_f64());
            let span = now.duration_since(at_last).as_secs_f64();
            let cpu = (
                (reading.cpu_s - server_cpu_last) / span,
                (bots_cpu - bots_cpu_last) / span,
            );
            (server_cpu_last, bots_cpu_last, at_last) = (reading.cpu_s, bots_cpu, now);
            let interval = std::mem::replace(
                &mut *soak.latency.lock().expect("no panics while recording"),
                Latencies::new(),
            );
            total_latency
                .playback
                .add(&interval.playback)
                .expect("same bounds");
            total_latency.chat.add(&interval.chat).expect("same bounds");
            for name in SERIES {
                series
                    .entry(name)
                    .or_default()
                    .push((t, reading.values[name]));
            }
            print_sample("run", t, &reading, Some(cpu), Some(interval.report()));
        }
        for task in tasks {
            task.await.expect("a bot task");
        }
        let elapsed = started.elapsed().as_secs_f64();
        let (bots_cpu_after, _) = proc_stats("self");
        let rest = std::mem::replace(
            &mut *soak.latency.lock().expect("bots are done"),
            Latencies::new(),
        );
        total_latency
            .playback
            .add(&rest.playback)
            .expect("same bounds");
        total_latency.chat.add(&rest.chat).expect("same bounds");
        let ended = read_server(&soak, args.server_pids.first().copied()).await;
        // Every bot has left: what the server holds a few seconds on, once closes finished.
        tokio::time::sleep(Duration::from_secs(5)).await;
        let drained = read_server(&soak, args.server_pids.first().copied()).await;
        print_sample(
            "drained",
            started.elapsed().as_secs_f64(),
            &drained,
            None,
            None,
        );
        let summary: BTreeMap<&str, Value> = series
            .iter()
            .map(|(name, points)| {
                let values = points.iter().map(|p| p.1);
                let second_half: Vec<(f64, f64)> = points
                    .iter()
                    .copied()
                    .filter(|p| p.0 >= elapsed / 2.0)
                    .collect();
                (
                    *name,
                    json!({
                        "first": points.first().map(|p| p.1), "last": points.last().map(|p| p.1),
                        "max": values.clone().fold(f64::MIN, f64::max),
                        "min": values.fold(f64::MAX, f64::min),
                        "slope_per_10_min": slope_per_10_min(points),
                        "second_half_slope_per_10_min": slope_per_10_min(&second_half),
                        "idle": idle.values[name], "drained": drained.values[name],
                    }),
                )
            })
            .collect();
        let totals = soak.totals.report();
        let broadcasts = totals["broadcasts"].as_u64().unwrap_or(0);
        let lost =
            totals["missed"].as_u64().unwrap_or(0) + totals["chat_lost"].as_u64().unwrap_or(0);
        let report = json!({
            "bench": "soak",
            "rooms": args.rooms, "members": args.members, "rate_per_room": args.rate,
            "chat_rate_per_room": args.chat_rate, "member_chat_seconds": args.member_chat_seconds,
            "stay_ms": [args.stay_ms.0, args.stay_ms.1], "pause_ms": [args.pause_ms.0, args.pause_ms.1],
            "seconds": args.seconds, "elapsed_s": elapsed, "setup_s": setup_seconds,
            "samples": series.get("rss_kib").map_or(0, Vec::len),
            "totals": totals, "lost": lost,
            "closes": *soak.closes.lock().expect("bots are done"),
            "joins_per_s": soak.totals.joins.load(Ordering::Relaxed) as f64 / elapsed,
            "deliveries_per_s": broadcasts as f64 / elapsed,
            "latency_ms": total_latency.report(),
            "server_cpu_s": ended.cpu_s - idle.cpu_s,
            "server_cpu_share": (ended.cpu_s - idle.cpu_s) / elapsed,
            "bots_cpu_share": (bots_cpu_after - bots_cpu_before) / elapsed,
            "series": summary,
            "readings_at_end": ended.values,
        });
        println!("{report}");
    }
}
