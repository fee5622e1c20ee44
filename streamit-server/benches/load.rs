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
//!
//! `cargo bench -p streamit-server --bench load -- --url http://127.0.0.1:8000 --rooms 10
//! --members 50 --rate 4 --seconds 20 --server-pid <pid>` against a server started with
//! `--rate-limits off`.
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
    server_pid: Option<u32>,
    bare: bool,
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
        server_pid: None,
        bare: false,
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
            "--server-pid" => args.server_pid = Some(value.parse().expect("--server-pid PID")),
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

/// `/proc` readings of the server given by `--server-pid`; zeros without one.
fn server_stats(args: &Args) -> (f64, u64) {
    args.server_pid
        .map_or((0.0, 0), |pid| proc_stats(&pid.to_string()))
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
        for _ in 0..args.members {
            let token = member(&setup, &args.url, code).await;
            let ws = connect(&args.url, code, &token).await;
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
