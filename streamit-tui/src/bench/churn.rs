//! `churn`: R rooms for `--seconds`; each host holds its socket, seeks at `--rate` and chats
//! at `--chat-rate`; M member slots per room join, stay a random `--stay-ms` reading
//! everything, leave with a clean close and come back after `--pause-ms`. Every socket
//! checks the order of what it reads; playback latency is host send → member read.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt as _, StreamExt as _};
use rand::Rng as _;
use serde_json::{Value, json};
use streamit_client::Client;
use streamit_client::protocol::v1::{
    Chat, ChatText, ClientEvent, ClientMessage, PositionMs, RoomCode, Seek, ServerEvent,
};
use tokio_tungstenite::tungstenite::Message;

use crate::bench::histogram::Latency;
use crate::bench::proc::{Meter, Servers};
use crate::bench::target::{self, Target};
use crate::bench::wire::{self, Order, Refusal, Violations, Ws};
use crate::bench::{BenchError, Common, report};

/// Seeks remembered per room for latency: ~10 s at 400 changes/s.
const RING: usize = 4096;
/// How long a leaving socket waits for the server's close frame.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);
/// Between two failed connects of one slot.
const RETRY: Duration = Duration::from_secs(1);

/// What every bot of a run shares.
struct Run {
    url: String,
    clock: Instant,
    deadline: Instant,
    args: Common,
    violations: Violations,
    /// sent[room][k % RING] = (k + 1, ns since `clock` when seek k was sent).
    sent: Vec<Vec<(AtomicU64, AtomicU64)>>,
    latency: Mutex<Latency>,
    counts: Mutex<BTreeMap<&'static str, u64>>,
    closes: Mutex<BTreeMap<String, u64>>,
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

pub(crate) async fn run(
    url: &str,
    args: &Common,
    violations: &Violations,
) -> Result<Value, BenchError> {
    if args.bare {
        return Err(BenchError::NotBare("churn"));
    }
    let target = Target::new(url, false)?;
    let mut rooms = Vec::new();
    for _ in 0..args.rooms {
        let (host, code) = target.hosted_room().await?;
        let mut members = Vec::new();
        for _ in 0..args.members {
            let member = target.guest().await?;
            target::join(&member, code).await?;
            members.push(member);
        }
        rooms.push((host, code, members));
    }
    let meter = Meter::start(&Servers::new(&args.server_pid));
    let run = Arc::new(Run {
        url: url.to_owned(),
        clock: Instant::now(),
        deadline: Instant::now() + Duration::from_secs(args.seconds),
        args: args.clone(),
        violations: violations.clone(),
        sent: (0..args.rooms)
            .map(|_| {
                (0..RING)
                    .map(|_| (AtomicU64::new(0), AtomicU64::new(0)))
                    .collect()
            })
            .collect(),
        latency: Mutex::new(Latency::default()),
        counts: Mutex::new(BTreeMap::new()),
        closes: Mutex::new(BTreeMap::new()),
    });
    let mut tasks = Vec::new();
    for (room, (host_token, code, members)) in rooms.into_iter().enumerate() {
        tasks.push(tokio::spawn(host(Arc::clone(&run), room, code, host_token)));
        for member in members {
            tasks.push(tokio::spawn(slot(Arc::clone(&run), room, code, member)));
        }
    }
    for task in tasks {
        task.await.expect("a bot does not panic");
    }
    let counts = run.counts.lock().expect("bots are done").clone();
    let get = |k: &str| counts.get(k).copied().unwrap_or(0);
    let elapsed = meter.elapsed_s();
    let mut line = json!({
        "bench": "churn", "rooms": args.rooms, "members": args.members,
        "rate_per_room": args.rate, "chat_rate_per_room": args.chat_rate,
        "stay_ms": [args.stay_ms.0, args.stay_ms.1], "pause_ms": [args.pause_ms.0, args.pause_ms.1],
        "seconds": args.seconds, "counts": counts,
        "sent": get("seeks"), "received": get("playback"),
        "joins_per_s": get("joins") as f64 / elapsed,
        "deliveries_per_s": get("broadcasts") as f64 / elapsed,
        "closes": *run.closes.lock().expect("bots are done"),
        "latency_ms": run.latency.lock().expect("bots are done").report(),
    });
    report::merge(&mut line, meter.finish());
    Ok(line)
}

/// Connects until admitted or the run is over; joins again over REST after a 4003 and
/// refreshes the token after a 4001.
async fn enter(run: &Run, client: &Client, code: RoomCode) -> Option<(Ws, Order)> {
    while Instant::now() < run.deadline {
        let token = target::token(client).ok()?;
        match wire::open(&run.url, code, &token, false, &run.violations).await {
            Ok(entered) => return Some(entered),
            Err(Refusal::Closed(close)) => {
                run.add("refused", 1);
                run.close_seen("refused", close);
                match close {
                    Some(4001) => drop(client.refresh().await),
                    Some(4003) => drop(target::join(client, code).await),
                    _ => tokio::time::sleep(RETRY).await,
                }
            }
            Err(Refusal::Failed(_)) => {
                run.add("connect_errors", 1);
                tokio::time::sleep(RETRY).await;
            }
        }
    }
    None
}

/// Reads one frame's worth: counts, order, latency. `Err` with the close code when the
/// socket ended.
fn take(
    run: &Run,
    order: &mut Order,
    room: usize,
    member: bool,
    frame: Option<Result<Message, tokio_tungstenite::tungstenite::Error>>,
) -> Result<(), Option<u16>> {
    let read_at = run.clock.elapsed().as_nanos() as u64;
    let text = match frame {
        Some(Ok(Message::Text(text))) => text,
        Some(Ok(Message::Close(close))) => return Err(close.map(|c| u16::from(c.code))),
        Some(Ok(_)) => return Ok(()),
        Some(Err(_)) | None => return Err(None),
    };
    let Some(message) = order.read(text.as_str(), &run.violations) else {
        return Ok(());
    };
    if message.seq.is_some() {
        run.add("broadcasts", 1);
    }
    match message.event {
        ServerEvent::PlaybackState(state) if member => {
            run.add("playback", 1);
            let k = state.playback.position_ms.get();
            let (tag, at) = &run.sent[room][k as usize % RING];
            if tag.load(Ordering::Relaxed) == k + 1 {
                let micros = read_at.saturating_sub(at.load(Ordering::Relaxed)) / 1000;
                run.latency
                    .lock()
                    .expect("no panics while recording")
                    .record(micros);
            }
        }
        ServerEvent::ChatMessage(_) => run.add("chat_read", 1),
        ServerEvent::Error(_) => run.add("errors", 1),
        _ => {}
    }
    Ok(())
}

/// A host: holds its socket (reconnecting if the server closes it), seeks at `rate` and
/// chats at `chat_rate` until the deadline.
async fn host(run: Arc<Run>, room: usize, code: RoomCode, token: String) {
    let every = Duration::from_secs_f64(1.0 / run.args.rate.max(0.001));
    // Rooms are not in step in real life (see `fanout`).
    let phase = every.mul_f64(room as f64 / run.args.rooms.max(1) as f64);
    let mut seeks = tokio::time::interval_at(tokio::time::Instant::now() + phase, every);
    let chat_every = Duration::from_secs_f64(1.0 / run.args.chat_rate.clamp(0.001, 1.0));
    let mut chats = tokio::time::interval(chat_every);
    let over = tokio::time::sleep_until(run.deadline.into());
    tokio::pin!(over);
    let (mut k, mut lines) = (0u64, 0u64);
    let Ok((mut ws, mut order)) = wire::open(&run.url, code, &token, false, &run.violations).await
    else {
        run.add("connect_errors", 1);
        return;
    };
    loop {
        let frame = tokio::select! {
            () = &mut over => break,
            _ = seeks.tick() => {
                let frame = ClientMessage::new(ClientEvent::Seek(Seek::new(PositionMs::saturating(k)))).encode();
                let (tag, at) = &run.sent[room][k as usize % RING];
                at.store(run.clock.elapsed().as_nanos() as u64, Ordering::Relaxed);
                tag.store(k + 1, Ordering::Relaxed);
                k += 1;
                run.add("seeks", 1);
                Message::Text(frame.into())
            }
            _ = chats.tick(), if run.args.chat_rate > 0.0 => {
                lines += 1;
                let text = ChatText::new(&format!("h{room}-{lines}")).expect("a short line");
                run.add("chat_sent", 1);
                Message::Text(ClientMessage::new(ClientEvent::Chat(Chat::new(text))).encode().into())
            }
            frame = ws.next() => match take(&run, &mut order, room, false, frame) {
                Ok(()) => continue,
                Err(code) => {
                    run.close_seen("host closed", code);
                    return;
                }
            },
        };
        if ws.send(frame).await.is_err() {
            run.close_seen("host send failed", None);
            return;
        }
    }
    leave(&run, &mut ws, &mut order, room).await;
}

fn between(range: (u64, u64)) -> Duration {
    Duration::from_millis(rand::rng().random_range(range.0..=range.1))
}

/// A member slot: one guest who joins, stays, leaves cleanly and comes back, until the
/// deadline.
async fn slot(run: Arc<Run>, room: usize, code: RoomCode, client: Client) {
    // Spread the first joins over a stay.
    tokio::time::sleep(between((0, run.args.stay_ms.1))).await;
    while Instant::now() < run.deadline {
        let Some((mut ws, mut order)) = enter(&run, &client, code).await else {
            break;
        };
        run.add("joins", 1);
        let stay = tokio::time::sleep_until(
            (Instant::now() + between(run.args.stay_ms))
                .min(run.deadline)
                .into(),
        );
        tokio::pin!(stay);
        let ended = loop {
            tokio::select! {
                () = &mut stay => break None,
                frame = ws.next() => if let Err(code) = take(&run, &mut order, room, true, frame) {
                    break Some(code);
                },
            }
        };
        match ended {
            None => {
                run.add("leaves", 1);
                leave(&run, &mut ws, &mut order, room).await;
            }
            Some(code) => {
                run.add("server_closes", 1);
                run.close_seen("member closed", code);
            }
        }
        drop(ws);
        let back = (Instant::now() + between(run.args.pause_ms)).min(run.deadline);
        tokio::time::sleep_until(back.into()).await;
    }
}

/// Sends a close frame and reads up to the server's.
async fn leave(run: &Run, ws: &mut Ws, order: &mut Order, room: usize) {
    let _ = ws.close(None).await;
    let by = tokio::time::Instant::now() + CLOSE_TIMEOUT;
    loop {
        match tokio::time::timeout_at(by, ws.next()).await {
            Ok(Some(Ok(Message::Close(_))) | None) => return,
            Ok(Some(Err(_))) | Err(_) => {
                run.add("unclean_leaves", 1);
                return;
            }
            Ok(frame) => {
                let _ = take(run, order, room, true, frame);
            }
        }
    }
}
