//! `chat`: R rooms × M members; each room says `--rate` lines a second, the lines taken in
//! turn by its host and members (each user stays under the chat rules' 5 lines in 3 s), and
//! every socket of the room, the sender's included, must read every accepted line.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::stream::SplitSink;
use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use streamit_client::protocol::v1::{
    Chat, ChatText, ClientEvent, ClientMessage, ClientRef, ServerEvent,
};
use tokio_tungstenite::tungstenite::Message;

use crate::bench::histogram::Latency;
use crate::bench::proc::{Meter, Servers};
use crate::bench::target::Target;
use crate::bench::wire::{self, Order, Violations, Ws};
use crate::bench::{BenchError, Common, report};

/// How long the bots wait after the last line for lines still on their way.
const DRAIN: Duration = Duration::from_secs(10);
/// Most lines one user may send a second and stay within the chat rules (6.10).
const LINES_PER_USER_PER_S: f64 = 1.0;

/// Shared by a run's bots.
struct Tally {
    clock: Instant,
    /// sent[room][k]: ns since `clock` when line k of the room was sent; 0 until then.
    sent: Vec<Vec<AtomicU64>>,
    received: AtomicU64,
    refused: AtomicU64,
    latency: Mutex<Latency>,
    violations: Violations,
}

pub(crate) async fn run(
    url: &str,
    args: &Common,
    violations: &Violations,
) -> Result<Value, BenchError> {
    let senders_per_room = args.members + 1;
    if args.rate / senders_per_room as f64 > LINES_PER_USER_PER_S {
        return Err(BenchError::Setup(format!(
            "{} lines/s over {senders_per_room} users breaks the chat rules (at most 1 per user per s)",
            args.rate
        )));
    }
    let target = Target::new(url, false)?;
    let lines = (args.rate * args.seconds as f64).ceil() as usize;
    let tally = Arc::new(Tally {
        clock: Instant::now(),
        sent: (0..args.rooms)
            .map(|_| (0..lines).map(|_| AtomicU64::new(0)).collect())
            .collect(),
        received: AtomicU64::new(0),
        refused: AtomicU64::new(0),
        latency: Mutex::new(Latency::default()),
        violations: violations.clone(),
    });
    let mut rooms = Vec::new();
    let mut readers = Vec::new();
    for room in 0..args.rooms {
        let (host, code) = target.hosted_room().await?;
        let mut tokens = vec![host];
        for _ in 0..args.members {
            tokens.push(target.member(code).await?);
        }
        let mut sinks = Vec::new();
        for token in tokens {
            let (ws, order) = wire::open(url, code, &token, false, violations)
                .await
                .map_err(|e| BenchError::Setup(format!("socket: {e}")))?;
            let (sink, stream) = ws.split();
            sinks.push(sink);
            readers.push(tokio::spawn(read(stream, order, room, Arc::clone(&tally))));
        }
        rooms.push(sinks);
    }
    let meter = Meter::start(&Servers::new(&args.server_pid));
    let interval = Duration::from_secs_f64(1.0 / args.rate);
    let tasks: Vec<_> = rooms
        .into_iter()
        .enumerate()
        .map(|(room, sinks)| {
            let phase = interval.mul_f64(room as f64 / args.rooms as f64);
            tokio::spawn(say(sinks, room, lines, phase, interval, Arc::clone(&tally)))
        })
        .collect();
    let mut send_errors = 0;
    for task in tasks {
        send_errors += task.await.expect("a room's sender does not panic");
    }
    let send_seconds = meter.elapsed_s();
    let sent = (args.rooms * lines) as u64;
    let give_up = Instant::now() + DRAIN;
    let expected = || (sent - tally.refused.load(Ordering::Relaxed)) * senders_per_room as u64;
    while tally.received.load(Ordering::Relaxed) < expected() && Instant::now() < give_up {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for reader in &readers {
        reader.abort();
    }
    let received = tally.received.load(Ordering::Relaxed);
    let mut line = json!({
        "bench": "chat", "rooms": args.rooms, "members": args.members,
        "lines_per_s_per_room": args.rate, "seconds": args.seconds,
        "sent": sent, "refused": tally.refused.load(Ordering::Relaxed), "send_errors": send_errors,
        "expected": expected(), "received": received,
        "lost": expected().saturating_sub(received),
        "latency_ms": tally.latency.lock().expect("no panics while recording").report(),
        "deliveries_per_s": received as f64 / send_seconds,
    });
    report::merge(&mut line, meter.finish());
    Ok(line)
}

/// A room's lines: line k from socket k mod n, one per `interval` after `phase`. The text is
/// also the `ref`, so a refusal names its line. Returns the sends that failed.
async fn say(
    mut sinks: Vec<SplitSink<Ws, Message>>,
    room: usize,
    lines: usize,
    phase: Duration,
    interval: Duration,
    tally: Arc<Tally>,
) -> u64 {
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + phase, interval);
    let mut errors = 0;
    for k in 0..lines {
        tick.tick().await;
        let text = format!("r{room} line {k}");
        let event = ClientEvent::Chat(Chat::new(ChatText::new(&text).expect("a short plain line")));
        let reference = ClientRef::new(text).expect("a ref under 64 characters");
        let frame = ClientMessage::with_ref(event, reference).encode();
        tally.sent[room][k].store(tally.clock.elapsed().as_nanos() as u64, Ordering::Relaxed);
        let n = sinks.len();
        if sinks[k % n]
            .send(Message::Text(frame.into()))
            .await
            .is_err()
        {
            errors += 1;
        }
    }
    errors
}

/// The line number of a bench line of `room` (`r{room} line {k}`).
fn line_number(text: &str, room: usize) -> Option<usize> {
    let (prefix, k) = text.rsplit_once(' ')?;
    (prefix == format!("r{room} line")).then(|| k.parse().ok())?
}

/// One socket's reading until aborted: each line's send → read latency, each refusal.
async fn read(
    mut stream: futures_util::stream::SplitStream<Ws>,
    mut order: Order,
    room: usize,
    tally: Arc<Tally>,
) {
    while let Some(Ok(frame)) = stream.next().await {
        let read_at = tally.clock.elapsed().as_nanos() as u64;
        let Message::Text(text) = frame else { continue };
        let Some(message) = order.read(text.as_str(), &tally.violations) else {
            continue;
        };
        match message.event {
            ServerEvent::ChatMessage(line) => {
                let Some(k) = line_number(line.text.as_str(), room) else {
                    continue;
                };
                let at = tally.sent[room]
                    .get(k)
                    .map_or(0, |s| s.load(Ordering::Relaxed));
                if at > 0 {
                    tally
                        .latency
                        .lock()
                        .expect("no panics while recording")
                        .record(read_at.saturating_sub(at) / 1000);
                }
                tally.received.fetch_add(1, Ordering::Relaxed);
            }
            ServerEvent::Error(_) if message.reference.is_some() => {
                tally.refused.fetch_add(1, Ordering::Relaxed);
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_its_own_line_numbers_only() {
        assert_eq!(line_number("r3 line 17", 3), Some(17));
        assert_eq!(line_number("r3 line 17", 4), None);
        assert_eq!(line_number("hello", 3), None);
    }
}
