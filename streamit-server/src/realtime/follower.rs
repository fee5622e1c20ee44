//! A room this node serves sockets of but does not own: its sockets' commands go to the
//! owner over the bus, and the owner's frames come back and go out to them, in the order the
//! owner sent them. `PING` is answered here (the server's clock is the same on every node).
//!
//! A follower never decides anything. When the owner goes (its lease runs out or changes
//! hands, or it does not answer a join in time), the follower lets its sockets go with 1012:
//! they reconnect, and the first to arrive makes some node the room's new owner.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use streamit_protocol::v1::{ClientEvent, CloseCode, Pong, RoomCode, ServerEvent};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Utf8Bytes;

use super::cluster::{FromOwner, Header, ToOwner};
use super::room::{Command, Join, settle_joins};
use super::writer::{self, Writer, reply_frame};
use super::{ConnId, RoomHandle, Shared};
use crate::bus::{Holder, Subscription, Topic};
use crate::clock::now_ms;

/// How long a join may wait for the owner's answer before the owner counts as gone.
const JOIN_TIMEOUT: Duration = Duration::from_secs(5);
/// How often the follower checks that its owner still holds the room.
const OWNER_CHECK: Duration = Duration::from_secs(1);

/// The frames of an `Admit` or `Resume`, one per line.
fn lines(frame: &Utf8Bytes) -> impl Iterator<Item = Utf8Bytes> + '_ {
    frame.as_str().split('\n').map(Utf8Bytes::from)
}

/// A socket the owner has not yet admitted or refused.
struct Joiner {
    writer: Writer,
    admitted: oneshot::Sender<Result<RoomHandle, CloseCode>>,
    since: Instant,
}

/// Why following ended.
enum Stop {
    /// No sockets left here.
    Idle,
    Shutdown,
    /// The owner went or changed: this node's sockets reconnect to whoever owns the room next.
    OwnerGone,
}

struct Follower {
    shared: Arc<Shared>,
    code: RoomCode,
    handle: RoomHandle,
    owner: Holder,
    /// Where this node's sockets' commands go.
    commands_topic: Topic,
    sockets: HashMap<ConnId, Writer>,
    joining: HashMap<ConnId, Joiner>,
}

/// Follows the room's owner until this node has no socket in it, the owner goes, or the
/// server stops.
pub(super) async fn run(
    shared: Arc<Shared>,
    code: RoomCode,
    handle: RoomHandle,
    mut commands: mpsc::Receiver<Command>,
    owner: Holder,
) {
    let id = handle.id;
    let cluster = shared.cluster.clone();
    let mut frames: Subscription = match cluster.bus.subscribe(&cluster.frames_topic(code)).await {
        Ok(frames) => frames,
        Err(error) => {
            tracing::error!(%error, "listening to the room's owner failed");
            let refusal = Some(CloseCode::ServiceRestart);
            return settle_joins(&shared, code, id, commands, refusal).await;
        }
    };
    tracing::debug!(owner = %owner.name, fence = owner.fence, "following the room's owner");
    let mut room = Follower {
        shared: Arc::clone(&shared),
        code,
        handle,
        owner,
        commands_topic: cluster.commands_topic(code),
        sockets: HashMap::new(),
        joining: HashMap::new(),
    };
    let mut check = tokio::time::interval(OWNER_CHECK.min(cluster.room_lease / 3));
    check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let stop = loop {
        tokio::select! {
            biased;
            () = shared.shutdown.cancelled() => break Stop::Shutdown,
            command = commands.recv() => match command {
                Some(command) => if let Some(stop) = room.handle(command).await { break stop },
                None => break Stop::Idle,
            },
            frame = frames.next() => match frame {
                Some(frame) => if let Some(stop) = room.frame(&frame) { break stop },
                None => break Stop::OwnerGone,
            },
            _ = check.tick() => if let Some(stop) = room.check_owner().await { break stop },
        }
    };
    let (close, refusal) = match stop {
        Stop::Shutdown => (CloseCode::ServiceRestart, Some(CloseCode::ServiceRestart)),
        Stop::Idle | Stop::OwnerGone => (CloseCode::ServiceRestart, None),
    };
    if let Stop::OwnerGone = stop {
        tracing::info!("the room's owner is gone; its sockets here reconnect");
    }
    for (_, writer) in room.sockets.drain() {
        writer.close(close);
    }
    // Their joins went to the owner that is gone: they try again, as the sockets above do.
    for (_, joiner) in room.joining.drain() {
        let _ = joiner.admitted.send(Err(CloseCode::ServiceRestart));
    }
    settle_joins(&shared, code, id, commands, refusal).await;
}

impl Follower {
    async fn handle(&mut self, command: Command) -> Option<Stop> {
        let to_owner = match command {
            Command::Join(join) => {
                let Join {
                    conn,
                    user,
                    login_id,
                    muted_until_ms,
                    participants,
                    resume,
                    writer,
                    admitted,
                } = *join;
                let joiner = Joiner {
                    writer,
                    admitted,
                    since: Instant::now(),
                };
                self.joining.insert(conn, joiner);
                ToOwner::Join {
                    conn,
                    user,
                    login_id,
                    muted_until_ms,
                    participants: participants.map(|p| p.to_vec()),
                    resume,
                }
            }
            Command::Leave { conn, reason } => {
                if let Some(writer) = self.sockets.remove(&conn) {
                    writer.close(CloseCode::Normal);
                }
                self.joining.remove(&conn);
                ToOwner::Leave { conn, reason }
            }
            Command::Client { conn, message } => match message.event {
                ClientEvent::Ping(ping) => {
                    if let Some(writer) = self.sockets.get(&conn) {
                        let pong = ServerEvent::Pong(Pong::new(ping.client_ts, now_ms()));
                        writer.send(reply_frame(message.reference, pong));
                    }
                    return None;
                }
                _ => ToOwner::Client {
                    conn,
                    frame: message.encode(),
                },
            },
            // The owner hears these too, and acts for every node.
            Command::Deleted
            | Command::Expired
            | Command::CloseLogin(_)
            | Command::JoinRequested(_) => return None,
            Command::LetGo => return Some(Stop::OwnerGone),
        };
        if let Some(encoded) = to_owner.encode()
            && let Err(error) = self
                .shared
                .cluster
                .bus
                .publish(&self.commands_topic, encoded)
                .await
        {
            tracing::error!(%error, "a command could not reach the room's owner");
            return Some(Stop::OwnerGone);
        }
        self.idle()
    }

    /// Carries out one frame from the owner.
    fn frame(&mut self, message: &bytes::Bytes) -> Option<Stop> {
        let (
            Header {
                fence,
                crowded,
                what,
            },
            frame,
        ) = Header::decode(message)?;
        if fence < self.owner.fence {
            return None; // the previous owner's last words
        }
        if fence > self.owner.fence {
            return Some(Stop::OwnerGone);
        }
        self.handle.roster.set_crowded(crowded);
        let Ok(frame) = Utf8Bytes::try_from(frame) else {
            tracing::warn!("a frame from the owner is not UTF-8");
            return None;
        };
        match what {
            FromOwner::Broadcast => {
                writer::broadcast(self.sockets.values(), &frame, crowded, &self.shared.metrics);
            }
            FromOwner::Reply { conn } => {
                if let Some(writer) = self.sockets.get(&conn) {
                    writer.send(frame);
                }
            }
            FromOwner::Admit { conn } => {
                if let Some(joiner) = self.joining.remove(&conn) {
                    for line in lines(&frame) {
                        joiner.writer.send_in_room(line, crowded);
                    }
                    self.sockets.insert(conn, joiner.writer);
                    let _ = joiner.admitted.send(Ok(self.handle.clone()));
                }
            }
            FromOwner::Resume { conn } => {
                if let Some(writer) = self.sockets.get(&conn) {
                    for line in lines(&frame) {
                        writer.send_in_room(line, crowded);
                    }
                }
            }
            FromOwner::Refuse { conn, close } => {
                if let Some(joiner) = self.joining.remove(&conn) {
                    let _ = joiner.admitted.send(Err(close));
                }
            }
            FromOwner::Detach { conn, close } => {
                if let Some(writer) = self.sockets.remove(&conn) {
                    writer.close(close);
                }
            }
        }
        self.idle()
    }

    /// Whether the owner still holds the room and answers joins in time.
    async fn check_owner(&self) -> Option<Stop> {
        let cluster = &self.shared.cluster;
        let key = cluster.room_lease_key(self.code);
        match cluster.bus.holder(&key).await {
            Ok(Some(holder)) if holder.fence == self.owner.fence => {}
            Ok(_) => return Some(Stop::OwnerGone),
            Err(error) => tracing::warn!(%error, "checking the room's owner failed"),
        }
        let late = self
            .joining
            .values()
            .any(|joiner| joiner.since.elapsed() >= JOIN_TIMEOUT);
        late.then_some(Stop::OwnerGone)
    }

    fn idle(&self) -> Option<Stop> {
        (self.sockets.is_empty() && self.joining.is_empty()).then_some(Stop::Idle)
    }
}
