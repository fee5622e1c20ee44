//! One socket's life: the admission checks in PROTOCOL order (token 4001, room 4004, closed
//! 4010, banned 4009, approved 4003), joining the room task, then reading frames until the
//! socket, the room or the server ends it, and `closing`'s linger after the close frame.

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use futures_util::StreamExt as _;
use http::Request;
use hyper_util::rt::TokioIo;
use streamit_protocol::v1::{
    ClientMessage, CloseCode, ErrorEvent, LeaveReason, MemberStatus, Participant, RoomCode,
    ServerEvent, UserRef,
};
use tokio::sync::oneshot;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::error::ProtocolError;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use uuid::Uuid;

use super::closing::{self, Tail};
use super::history::Resume;
use super::room::{Command, Join};
use super::writer::{self, Writer};
use super::{ConnId, RoomHandle, Shared};
use crate::rate_limit::Bucket;

type Stream = WebSocketStream<TokioIo<hyper::upgrade::Upgraded>>;

/// Malformed frames in a row that close the socket with 1008.
const MALFORMED_IN_A_ROW: u32 = 10;
/// A socket silent this long (no frame, not even a pong) is gone.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// How often the server pings a quiet socket.
const PING_EVERY: Duration = Duration::from_secs(20);
/// Frames a client may send per second, sustained, before it counts as flooding (4029).
const FRAMES_PER_SECOND: u32 = 50;

/// The token from `?token=` or `Authorization: Bearer`.
pub(super) fn token_of<B>(request: &Request<B>) -> Option<String> {
    let from_query = request.uri().query().and_then(|query| {
        form_urlencoded::parse(query.as_bytes())
            .find(|(k, _)| k == "token")
            .map(|(_, v)| v.into_owned())
    });
    from_query.or_else(|| crate::auth::bearer(request.headers()).map(str::to_owned))
}

/// Where the client says it left off (`since_seq` and `epoch` on the URL), if anywhere.
pub(super) fn resume_of<B>(request: &Request<B>) -> Option<Resume> {
    let query = request.uri().query()?;
    let (mut since_seq, mut epoch) = (None, None);
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        match &*key {
            "since_seq" => since_seq = Some(value.into_owned()),
            "epoch" => epoch = Some(value.into_owned()),
            _ => {}
        }
    }
    Resume::parse(since_seq.as_deref(), epoch.as_deref())
}

/// Who a socket is, once admitted, and the room that admitted it.
struct Admitted {
    code: RoomCode,
    room: RoomHandle,
    user: UserRef,
    login_id: Uuid,
    muted_until_ms: Option<u64>,
    participants: Option<Arc<[Participant]>>,
}

/// The checks of PROTOCOL §2, in order; `Err` is the close code to refuse with.
async fn admit(
    shared: &Arc<Shared>,
    code: Result<RoomCode, ()>,
    token: Option<String>,
) -> Result<Admitted, CloseCode> {
    let token = token.ok_or(CloseCode::Unauthorized)?;
    let caller = shared
        .auth
        .verify(&token)
        .map_err(|_| CloseCode::Unauthorized)?;
    let found = match code {
        Ok(code) => shared
            .store
            .admission(code, caller.user_id, caller.login_id)
            .await
            .map_err(internal)?,
        Err(()) => None,
    };
    let (Ok(code), Some(found)) = (code, found) else {
        // No room: still answer a dead token first, as the checks' order asks.
        let active = shared
            .store
            .login_active(caller.login_id)
            .await
            .map_err(internal)?;
        return Err(if active {
            CloseCode::RoomNotFound
        } else {
            CloseCode::Unauthorized
        });
    };
    if !found.login_active {
        return Err(CloseCode::Unauthorized);
    }
    if found.state.is_closed() {
        return Err(CloseCode::RoomClosed);
    }
    if found.banned {
        return Err(CloseCode::Banned);
    }
    let is_host = found.host_id == caller.user_id;
    let approved = found
        .membership
        .as_ref()
        .is_some_and(|m| m.status == MemberStatus::Approved);
    if !is_host && !approved {
        return Err(CloseCode::NotApproved);
    }
    let user = found.user.ok_or(CloseCode::Unauthorized)?;
    let participants = shared
        .registry
        .handle(shared, code)
        .roster
        .for_join(found.members_version, || {
            (shared.store).participants_below(code, shared.room_settings.crowd_from)
        })
        .await
        .map_err(internal)?;
    // Taken again, with no wait before the join is sent: the room's task may have stopped while
    // the store answered (its last socket left), and the registry then starts a fresh one.
    let room = shared.registry.handle(shared, code);
    Ok(Admitted {
        code,
        room,
        user,
        login_id: caller.login_id,
        muted_until_ms: found.membership.and_then(|m| m.muted_until_ms),
        participants,
    })
}

fn internal(error: crate::store::Error) -> CloseCode {
    tracing::error!(%error, "admission check failed");
    CloseCode::InternalError
}

/// Runs one socket from upgrade to close.
#[tracing::instrument(skip_all, fields(room = ?code.ok(), conn, user))]
pub(super) async fn run(
    shared: Arc<Shared>,
    code: Result<RoomCode, ()>,
    token: Option<String>,
    resume: Option<Resume>,
    client: IpAddr,
    stream: Stream,
) {
    let _open = shared.metrics.socket_open();
    let conn = ConnId::new(
        shared.cluster.node,
        shared.next_conn.fetch_add(1, Ordering::Relaxed),
    );
    tracing::Span::current().record("conn", tracing::field::display(conn));
    let (sink, mut stream) = stream.split();
    let (writer, outbox) = writer::channel(tracing::Span::current(), Arc::clone(&shared.metrics));
    let writing = shared.tasks.spawn(outbox.drain(sink));
    // Held while the socket is open, given back once its close is decided: a closing socket
    // that lingers for its peer's close frame no longer counts.
    let Some(address_slot) = shared.sockets.ip(client) else {
        // No linger for a socket over a limit: lingering would let one address hold a task
        // and a file per refused attempt for seconds, which is what the limit is there to stop.
        tracing::debug!(%client, "too many sockets from one address; closing with 4029");
        writer.close(CloseCode::TooSlow);
        closing::finish(stream, writing, Tail::Gone).await;
        return;
    };
    // Boxed: the checks' database futures are large and would otherwise size this task, which
    // lives as long as the socket, for its whole life.
    let admission = Box::pin(admit(&shared, code, token));
    let admitted = tokio::select! {
        admitted = admission => admitted,
        () = shared.shutdown.cancelled() => Err(CloseCode::ServiceRestart),
    };
    let admitted = match admitted {
        Ok(admitted) => admitted,
        Err(close) => {
            tracing::debug!(%close, "socket refused");
            writer.close(close);
            drop(address_slot);
            closing::finish(stream, writing, Tail::Frames).await;
            return;
        }
    };
    let user_id = admitted.user.id;
    let Some(user_slot) = shared.sockets.user(user_id) else {
        tracing::debug!(user = %user_id, "too many sockets for one user; closing with 4029");
        writer.close(CloseCode::TooSlow);
        drop(address_slot);
        closing::finish(stream, writing, Tail::Gone).await;
        return;
    };
    let (reply, joined) = oneshot::channel();
    let join = Join {
        conn,
        user: admitted.user,
        login_id: admitted.login_id,
        muted_until_ms: admitted.muted_until_ms,
        participants: admitted.participants,
        resume,
        writer: writer.clone(),
        admitted: reply,
    };
    let registry = &shared.registry;
    registry
        .join(&shared, admitted.code, admitted.room, Box::new(join))
        .await;
    let room = match joined.await {
        Ok(Ok(room)) => room,
        refused => {
            // A dropped answer means the room task stopped: with the server, or by a fault.
            let dropped = if shared.shutdown.is_cancelled() {
                CloseCode::ServiceRestart
            } else {
                CloseCode::InternalError
            };
            writer.close(refused.ok().and_then(Result::err).unwrap_or(dropped));
            drop((address_slot, user_slot));
            closing::finish(stream, writing, Tail::Frames).await;
            return;
        }
    };
    tracing::Span::current().record("user", tracing::field::display(user_id));
    tracing::debug!("socket admitted");
    shared.metrics.admitted();
    let ended = read(&shared, conn, &room, &writer, &mut stream).await;
    room.send(Command::Leave {
        conn,
        reason: ended.reason,
    })
    .await;
    // The room closes the writer when it hears of the leave; if the room is gone, do it here.
    writer.close(CloseCode::Normal);
    drop((address_slot, user_slot));
    closing::finish(stream, writing, ended.tail).await;
}

/// How reading a socket ended.
struct Ended {
    /// What `USER_LEFT` will say.
    reason: LeaveReason,
    /// What is left to read of the socket (see [`closing::finish`]).
    tail: Tail,
}

impl Ended {
    const fn left() -> Self {
        Self {
            reason: LeaveReason::Left,
            tail: Tail::Frames,
        }
    }
}

/// The close a read error calls for: RFC 6455's codes for a frame too big, text that is not
/// UTF-8, and other protocol violations; none when the connection is gone.
fn close_for(error: &WsError) -> Option<CloseCode> {
    match error {
        WsError::Capacity(_) => Some(CloseCode::MessageTooBig),
        WsError::Utf8(_) => Some(CloseCode::InvalidPayload),
        WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake) => None,
        WsError::Protocol(_) => Some(CloseCode::ProtocolError),
        _ => None,
    }
}

/// Reads frames until the socket ends.
async fn read(
    shared: &Shared,
    conn: ConnId,
    room: &super::RoomHandle,
    writer: &Writer,
    stream: &mut futures_util::stream::SplitStream<Stream>,
) -> Ended {
    let mut flood = if shared.flood_limits {
        Bucket::new(FRAMES_PER_SECOND, Duration::from_secs(1))
    } else {
        Bucket::disabled()
    };
    let mut malformed_in_a_row = 0;
    let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + PING_EVERY, PING_EVERY);
    let mut last_heard = Instant::now();
    // Made once: made afresh for every frame, each would join (and leave) its token's waiter
    // list under the token's lock, and the shutdown token is one for every socket of the node.
    let shutdown = shared.shutdown.cancelled();
    tokio::pin!(shutdown);
    let closing = writer.closing();
    tokio::pin!(closing);
    loop {
        let frame = tokio::select! {
            () = &mut shutdown => {
                writer.close(CloseCode::ServiceRestart);
                return Ended::left();
            }
            () = &mut closing => return Ended::left(),
            _ = ping.tick() => {
                if last_heard.elapsed() >= IDLE_TIMEOUT {
                    writer.close(CloseCode::GoingAway);
                    return Ended { reason: LeaveReason::Timeout, tail: Tail::Frames };
                }
                writer.ping();
                continue;
            }
            frame = stream.next() => frame,
        };
        last_heard = Instant::now();
        let text = match frame {
            None => {
                return Ended {
                    reason: LeaveReason::Left,
                    tail: Tail::Gone,
                };
            }
            Some(Ok(Message::Close(_))) => return Ended::left(),
            Some(Err(error)) => {
                match close_for(&error) {
                    Some(close) => {
                        tracing::debug!(%error, %close, "closing the socket");
                        writer.close(close);
                    }
                    None => tracing::debug!(%error, "socket read failed"),
                }
                return Ended {
                    reason: LeaveReason::Left,
                    tail: Tail::after(&error),
                };
            }
            Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => continue,
            Some(Ok(Message::Binary(_))) => None,
            Some(Ok(Message::Text(text))) => Some(text),
        };
        if flood.take(Instant::now()).is_err() {
            tracing::info!("socket flooding; closing it with 4029");
            writer.close(CloseCode::TooSlow);
            return Ended::left();
        }
        let decoded = match &text {
            Some(text) => ClientMessage::decode(text.as_str())
                .map_err(|e| (e.reference.clone(), e.code(), e.to_string())),
            None => Err((
                None,
                streamit_protocol::v1::ErrorCode::InvalidMessage,
                "frames are JSON text".to_owned(),
            )),
        };
        match decoded {
            Ok(message) => {
                malformed_in_a_row = 0;
                room.send(Command::Client { conn, message }).await;
            }
            Err((reference, code, message)) => {
                malformed_in_a_row += 1;
                let error = ServerEvent::Error(ErrorEvent::new(code, message));
                writer.send(writer::reply_frame(reference, error));
                if malformed_in_a_row >= MALFORMED_IN_A_ROW {
                    writer.close(CloseCode::PolicyViolation);
                    return Ended::left();
                }
            }
        }
    }
}
