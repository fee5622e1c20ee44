//! `fanout`: R rooms × M members; each host seeks at a fixed rate; every member measures
//! send → read latency on one monotonic clock (the position of each seek is its index).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use streamit_client::protocol::v1::{ClientEvent, ClientMessage, PositionMs, Seek, ServerEvent};
use tokio_tungstenite::tungstenite::Message;

use crate::bench::histogram::Latency;
use crate::bench::proc::{Meter, Servers};
use crate::bench::report;
use crate::bench::target::Target;
use crate::bench::wire::{self, Order, Violations, Ws};
use crate::bench::{BenchError, Common};

/// How long the bots wait after the last send for deliveries still on their way.
const DRAIN: Duration = Duration::from_secs(10);

/// Before the first change the room must have been quiet this long (no frame to any member):
/// in a big room the presence batches of its filling are still arriving when the last member
/// is in, and a change timed behind them measures the filling, not the fan-out. Longer than
/// the longest presence window (1 s, protocol 6.11), so a gap between batches is not taken
/// for quiet.
const QUIET: Duration = Duration::from_millis(1_500);

/// The longest the bots wait for that quiet.
const QUIET_AT_MOST: Duration = Duration::from_secs(30);

/// When each host sent its k-th change: ns since the run's clock, 0 until sent.
type Sent = Arc<Vec<Vec<AtomicU64>>>;

pub(crate) async fn run(
    url: &str,
    args: &Common,
    violations: &Violations,
) -> Result<Value, BenchError> {
    let target = Target::new(url, args.bare)?;
    let servers = Servers::new(&args.server_pid);
    let changes = (args.rate * args.seconds as f64).ceil() as usize;
    let clock = Instant::now();
    let sent: Sent = Arc::new(
        (0..args.rooms)
            .map(|_| (0..changes).map(|_| AtomicU64::new(0)).collect())
            .collect(),
    );
    let received = Arc::new(AtomicU64::new(0));
    let last_frame = Arc::new(AtomicU64::new(0));
    let latency = Arc::new(Mutex::new(Latency::default()));
    let rss_fresh = servers.rss_kib();
    let member_url = args.member_url.as_deref().unwrap_or(url);
    let mut hosts = Vec::new();
    let mut readers = Vec::new();
    for room in 0..args.rooms {
        let (host_token, code) = target.hosted_room().await?;
        let (host, _) = wire::open(url, code, &host_token, args.bare, violations)
            .await
            .map_err(|e| BenchError::Setup(format!("host socket: {e}")))?;
        hosts.push(host);
        for _ in 0..args.members {
            let token = target.member(code).await?;
            let (ws, order) = wire::open(member_url, code, &token, args.bare, violations)
                .await
                .map_err(|e| BenchError::Setup(format!("member socket: {e}")))?;
            let reader = Reader {
                room,
                sent: Arc::clone(&sent),
                received: Arc::clone(&received),
                last_frame: Arc::clone(&last_frame),
                latency: Arc::clone(&latency),
                clock,
                violations: violations.clone(),
            };
            readers.push(tokio::spawn(reader.run(ws, order)));
        }
    }
    let rss_with_sockets = servers.rss_kib();
    let waiting_since = Instant::now();
    let quiet_until = waiting_since + QUIET_AT_MOST;
    while Instant::now() < quiet_until
        && clock
            .elapsed()
            .saturating_sub(Duration::from_nanos(last_frame.load(Ordering::Relaxed)))
            < QUIET
    {
        tokio::time::sleep(QUIET / 10).await;
    }
    let waited_for_quiet_s = waiting_since.elapsed().as_secs_f64();
    let meter = Meter::start(&servers);
    let interval = Duration::from_secs_f64(1.0 / args.rate);
    let senders: Vec<_> = hosts
        .into_iter()
        .enumerate()
        .map(|(room, ws)| {
            // Rooms are not in step in real life: spread their changes over the interval, or
            // every room's fan-out lands in the same instant and the bots measure their own
            // queue.
            let phase = interval.mul_f64(room as f64 / args.rooms as f64);
            tokio::spawn(host(
                ws,
                room,
                changes,
                phase,
                interval,
                Arc::clone(&sent),
                clock,
            ))
        })
        .collect();
    let mut hosts = Vec::new();
    for sender in senders {
        hosts.push(sender.await.expect("a host task does not panic"));
    }
    let send_seconds = meter.elapsed_s();
    let expected = (args.rooms * args.members * changes) as u64;
    let give_up = Instant::now() + DRAIN;
    while received.load(Ordering::Relaxed) < expected && Instant::now() < give_up {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for reader in &readers {
        reader.abort();
    }
    let measured = meter.finish();
    let send_errors = hosts.iter().filter(|ok| !**ok).count();
    let got = received.load(Ordering::Relaxed);
    let latency = latency.lock().expect("no panics while recording").report();
    let mut line = json!({
        "bench": "fanout", "bare": args.bare,
        "rooms": args.rooms, "members": args.members, "rate_per_room": args.rate, "seconds": args.seconds,
        "sent": args.rooms * changes, "expected": expected, "received": got,
        "lost": expected.saturating_sub(got), "host_send_errors": send_errors,
        "latency_ms": latency,
        "waited_for_quiet_s": waited_for_quiet_s,
        "quiet_before_first_change": waited_for_quiet_s < QUIET_AT_MOST.as_secs_f64(),
        "deliveries_per_s": got as f64 / send_seconds,
        "server_rss_kib_before_sockets": rss_fresh,
        "server_rss_per_socket_kib": (rss_with_sockets as f64 - rss_fresh as f64)
            / (args.rooms * (args.members + 1)).max(1) as f64,
    });
    report::merge(&mut line, measured);
    Ok(line)
}

/// A host: `changes` seeks, one per `interval` after `phase`, each stamped before it is sent.
/// Its own copies are drained so its socket never backs up. `false` if a send failed.
async fn host(
    ws: Ws,
    room: usize,
    changes: usize,
    phase: Duration,
    interval: Duration,
    sent: Sent,
    clock: Instant,
) -> bool {
    let (mut sink, mut stream) = ws.split();
    let drain = tokio::spawn(async move { while stream.next().await.is_some() {} });
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + phase, interval);
    let mut ok = true;
    for k in 0..changes {
        tick.tick().await;
        let seek = Seek::new(PositionMs::saturating(k as u64));
        let frame = ClientMessage::new(ClientEvent::Seek(seek)).encode();
        sent[room][k].store(clock.elapsed().as_nanos() as u64, Ordering::Relaxed);
        if sink.send(Message::Text(frame.into())).await.is_err() {
            ok = false;
            break;
        }
    }
    drain.abort();
    ok
}

/// One member's socket, read until aborted (a timeout per read would cost the bots more
/// than the reading).
struct Reader {
    room: usize,
    sent: Sent,
    received: Arc<AtomicU64>,
    /// When any member last read a frame, in ns since `clock`.
    last_frame: Arc<AtomicU64>,
    latency: Arc<Mutex<Latency>>,
    clock: Instant,
    violations: Violations,
}

impl Reader {
    async fn run(self, mut ws: Ws, mut order: Order) {
        while let Some(Ok(frame)) = ws.next().await {
            let read_at = self.clock.elapsed().as_nanos() as u64;
            // Only texts: the server's keep-alive pings never stop, and would never let a
            // room look quiet.
            let Message::Text(text) = frame else { continue };
            self.last_frame.fetch_max(read_at, Ordering::Relaxed);
            let Some(message) = order.read(text.as_str(), &self.violations) else {
                continue;
            };
            if let ServerEvent::PlaybackState(state) = message.event {
                let k = state.playback.position_ms.get() as usize;
                let at = self.sent[self.room]
                    .get(k)
                    .map_or(0, |s| s.load(Ordering::Relaxed));
                if at > 0 {
                    self.latency
                        .lock()
                        .expect("no panics while recording")
                        .record(read_at.saturating_sub(at) / 1000);
                }
                self.received.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}
