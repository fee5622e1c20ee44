//! `churn`'s bots: a host that holds its socket, seeks and chats; member slots that join,
//! stay, chat, leave cleanly and come back. Every frame goes through the order check; each
//! sender follows its own chat lines until they come back.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use futures_util::{SinkExt as _, StreamExt as _};
use rand::Rng as _;
use streamit_client::Client;
use streamit_client::protocol::v1::{
    Chat, ChatText, ClientEvent, ClientMessage, ClientRef, PositionMs, RoomCode, Seek, ServerEvent,
};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use super::{RING, Run};
use crate::bench::target;
use crate::bench::wire::{self, Order, Refusal, Ws};

/// How long a leaving socket waits for its lines in flight, then for the server's close.
const LEAVE_TIMEOUT: Duration = Duration::from_secs(5);
/// Between two failed connects of one slot.
const RETRY: Duration = Duration::from_secs(1);
/// The chat rules allow 5 lines in 3 s per user: no bot user sends more than one a second.
pub(super) const CHAT_SPACING: Duration = Duration::from_secs(1);

/// One socket's reading: its order and its own chat lines in flight, by text (also the ref).
struct Seen {
    room: usize,
    member: bool,
    order: Order,
    in_flight: HashMap<String, Instant>,
}

/// The close code of a socket that ended (none when it broke without one).
struct Closed(Option<u16>);

impl Seen {
    fn take(&mut self, run: &Run, frame: Option<Result<Message, WsError>>) -> Result<(), Closed> {
        let text = match frame {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Close(close))) => {
                return Err(Closed(close.map(|c| u16::from(c.code))));
            }
            Some(Ok(_)) => return Ok(()),
            Some(Err(_)) | None => return Err(Closed(None)),
        };
        let read_at = run.clock.elapsed().as_nanos() as u64;
        let Some(message) = self.order.read(text.as_str(), &run.violations) else {
            return Ok(());
        };
        if message.seq.is_some() {
            run.add("broadcasts", 1);
        }
        match message.event {
            ServerEvent::PlaybackState(state) if self.member => {
                run.add("playback", 1);
                let k = state.playback.position_ms.get();
                let (tag, at) = &run.sent[self.room][k as usize % RING];
                if tag.load(Ordering::Relaxed) == k + 1 {
                    let micros = read_at.saturating_sub(at.load(Ordering::Relaxed)) / 1000;
                    run.latency().playback.record(micros);
                }
            }
            ServerEvent::ChatMessage(line) => {
                if let Some(sent) = self.in_flight.remove(line.text.as_str()) {
                    run.add("chat_echoed", 1);
                    run.latency()
                        .chat_echo
                        .record(sent.elapsed().as_micros() as u64);
                }
            }
            ServerEvent::Error(_) => {
                let ours = message
                    .reference
                    .and_then(|r| self.in_flight.remove(r.as_str()));
                run.add(
                    if ours.is_some() {
                        "chat_refused"
                    } else {
                        "errors"
                    },
                    1,
                );
            }
            _ => {}
        }
        Ok(())
    }

    /// Lines still in flight when the socket ended count as lost.
    fn lose_in_flight(&mut self, run: &Run) {
        run.add("chat_lost", self.in_flight.len() as u64);
        self.in_flight.clear();
    }
}

/// Sends one chat line, unique to the run (it is also the `ref`).
async fn chat(run: &Run, ws: &mut Ws, seen: &mut Seen, text: String) -> Result<(), WsError> {
    let line = ChatText::new(&text).expect("a short plain line");
    let reference = ClientRef::new(text.clone()).expect("a ref under 64 characters");
    let frame = ClientMessage::with_ref(ClientEvent::Chat(Chat::new(line)), reference).encode();
    seen.in_flight.insert(text, Instant::now());
    run.add("chat_sent", 1);
    ws.send(Message::Text(frame.into())).await
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

/// Leaves cleanly: waits for the lines in flight, sends a close frame and reads up to the
/// server's.
async fn leave(run: &Run, ws: &mut Ws, seen: &mut Seen) {
    let by = tokio::time::Instant::now() + LEAVE_TIMEOUT;
    while !seen.in_flight.is_empty() {
        let Ok(frame) = tokio::time::timeout_at(by, ws.next()).await else {
            break;
        };
        if seen.take(run, frame).is_err() {
            break;
        }
    }
    seen.lose_in_flight(run);
    let _ = ws.close(None).await;
    let by = tokio::time::Instant::now() + LEAVE_TIMEOUT;
    loop {
        match tokio::time::timeout_at(by, ws.next()).await {
            Ok(Some(Ok(Message::Close(_))) | None) => return,
            Ok(Some(Err(WsError::ConnectionClosed | WsError::AlreadyClosed))) => return,
            Ok(Some(Err(_))) | Err(_) => {
                run.add("unclean_leaves", 1);
                return;
            }
            Ok(frame) => drop(seen.take(run, frame)),
        }
    }
}

/// A host: holds its socket (coming back if the server closes it), seeks at `rate` and chats
/// at `chat_rate` until the deadline.
pub(super) async fn host(run: Arc<Run>, room: usize, code: RoomCode, client: Client) {
    let every = Duration::from_secs_f64(1.0 / run.args.rate);
    // Rooms are not in step in real life (see `fanout`).
    let phase = every.mul_f64(room as f64 / run.args.rooms.max(1) as f64);
    let mut seeks = tokio::time::interval_at(tokio::time::Instant::now() + phase, every);
    let chat_every = Duration::from_secs_f64(1.0 / run.args.chat_rate.max(1e-6)).max(CHAT_SPACING);
    let mut chats = tokio::time::interval_at(
        tokio::time::Instant::now() + chat_every.mul_f64(rand::rng().random::<f64>()),
        chat_every,
    );
    let over = tokio::time::sleep_until(run.deadline.into());
    tokio::pin!(over);
    let (mut k, mut lines) = (0u64, 0u64);
    while let Some((mut ws, order)) = enter(&run, &client, code).await {
        let mut seen = Seen {
            room,
            member: false,
            order,
            in_flight: HashMap::new(),
        };
        let ended = loop {
            tokio::select! {
                () = &mut over => break None,
                _ = seeks.tick() => {
                    let seek = Seek::new(PositionMs::saturating(k % 86_400_000));
                    let frame = ClientMessage::new(ClientEvent::Seek(seek)).encode();
                    let (tag, at) = &run.sent[room][k as usize % RING];
                    at.store(run.clock.elapsed().as_nanos() as u64, Ordering::Relaxed);
                    tag.store(k + 1, Ordering::Relaxed);
                    k += 1;
                    run.add("seeks", 1);
                    if ws.send(Message::Text(frame.into())).await.is_err() {
                        break Some(Closed(None));
                    }
                }
                _ = chats.tick(), if run.args.chat_rate > 0.0 => {
                    lines += 1;
                    if chat(&run, &mut ws, &mut seen, format!("h{room}-{lines}")).await.is_err() {
                        break Some(Closed(None));
                    }
                }
                frame = ws.next() => if let Err(closed) = seen.take(&run, frame) {
                    break Some(closed);
                },
            }
        };
        match ended {
            None => return leave(&run, &mut ws, &mut seen).await,
            Some(Closed(close)) => {
                run.add("server_closes", 1);
                run.close_seen("host closed", close);
                seen.lose_in_flight(&run);
            }
        }
    }
}

fn between(range: (u64, u64)) -> Duration {
    Duration::from_millis(rand::rng().random_range(range.0..=range.1))
}

/// A member slot: one guest who joins, stays, chats every `member_chat_seconds`, leaves
/// cleanly and comes back, until the deadline.
pub(super) async fn slot(run: Arc<Run>, id: usize, room: usize, code: RoomCode, client: Client) {
    // Spread the first joins over a stay.
    tokio::time::sleep(between((0, run.args.stay_ms.1))).await;
    let member_chat = Duration::from_secs_f64(run.member_chat_seconds).max(CHAT_SPACING);
    let (mut lines, mut last_line) = (0u64, None::<tokio::time::Instant>);
    let deadline = tokio::time::Instant::from_std(run.deadline);
    while let Some((mut ws, order)) = enter(&run, &client, code).await {
        run.add("joins", 1);
        run.members_in.fetch_add(1, Ordering::Relaxed);
        let mut seen = Seen {
            room,
            member: true,
            order,
            in_flight: HashMap::new(),
        };
        let now = tokio::time::Instant::now();
        let stay = tokio::time::sleep_until((now + between(run.args.stay_ms)).min(deadline));
        tokio::pin!(stay);
        let mut first = now + member_chat.mul_f64(rand::rng().random::<f64>());
        if let Some(last) = last_line {
            first = first.max(last + CHAT_SPACING);
        }
        let next_line = tokio::time::sleep_until(first);
        tokio::pin!(next_line);
        let ended = loop {
            tokio::select! {
                () = &mut stay => break None,
                () = &mut next_line, if run.member_chat_seconds > 0.0 => {
                    lines += 1;
                    let now = tokio::time::Instant::now();
                    last_line = Some(now);
                    next_line.as_mut().reset(now + member_chat);
                    if chat(&run, &mut ws, &mut seen, format!("m{id}-{lines}")).await.is_err() {
                        break Some(Closed(None));
                    }
                }
                frame = ws.next() => if let Err(closed) = seen.take(&run, frame) {
                    break Some(closed);
                },
            }
        };
        match ended {
            None => {
                run.add("leaves", 1);
                leave(&run, &mut ws, &mut seen).await;
            }
            Some(Closed(close)) => {
                run.add("server_closes", 1);
                run.close_seen("member closed", close);
                seen.lose_in_flight(&run);
            }
        }
        run.members_in.fetch_sub(1, Ordering::Relaxed);
        drop(ws);
        tokio::time::sleep_until(
            (tokio::time::Instant::now() + between(run.args.pause_ms)).min(deadline),
        )
        .await;
        if Instant::now() >= run.deadline {
            break;
        }
    }
}
