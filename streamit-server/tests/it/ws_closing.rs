//! The close code always arrives (RFC 6455 §7.1.1): for every close the server starts, a client
//! that keeps sending as fast as it can still reads the documented code, in every one of
//! [`RUNS`] runs. Were the server to drop the connection right after its close frame, the
//! client's frames still unread there would make its kernel reset the connection, and a client
//! still sending then fails on its next send, never reading the close frame.

use futures_util::{FutureExt as _, SinkExt as _, StreamExt as _};
use serde_json::json;
use streamit_protocol::v1::{ClientEvent, ClientMessage, Ping, UserTarget};
use streamit_server::{Config, Switch};
use streamit_testing::{TestDatabase, sqlite};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use tokio_tungstenite::tungstenite::{Bytes, Error as WsError, Message};

use crate::support::{Account, StatusCode, TestServer};
use crate::ws_support::{WAIT, Ws, WsClient, hosted_room, member, uid};

/// Runs of each close.
const RUNS: usize = 50;

/// The most frames a client sends in one run: far more than any close needs, so the loop is
/// bounded even if the server never closed; the client then waits for the close frame.
const MAX_FRAMES: usize = 20_000;

/// Flushes every this many frames: as fast as a client can be, short of one write per frame.
const BATCH: usize = 16;

fn ping_frame() -> Message {
    Message::text(ClientMessage::new(ClientEvent::Ping(Ping::new(1))).encode())
}

/// One client task, the way many clients are written: it sends `frame` as fast as it can and,
/// between sends, takes whatever has already arrived without waiting for more. It stops at the
/// close frame, whose code it returns, or at the first failure: a send refused because the
/// server reset the connection means the client never learns why it was closed.
fn send_until_closed(mut ws: Ws, frame: Message) -> JoinHandle<Result<u16, String>> {
    tokio::spawn(async move {
        for sent in 1..=MAX_FRAMES {
            while let Some(Some(read)) = ws.next().now_or_never() {
                if let Some(end) = close_of(read) {
                    return end;
                }
            }
            let sending = if sent % BATCH == 0 {
                ws.send(frame.clone()).await
            } else {
                ws.feed(frame.clone()).await
            };
            if let Err(error) = sending {
                return Err(format!("sending failed after {sent} frames: {error}"));
            }
        }
        let read = async {
            while let Some(read) = ws.next().await {
                if let Some(end) = close_of(read) {
                    return end;
                }
            }
            Err("the stream ended without a close frame".to_owned())
        };
        tokio::time::timeout(WAIT * 3, read)
            .await
            .unwrap_or_else(|_| Err("no close frame within the wait".to_owned()))
    })
}

/// The end a frame read means: the close frame's code, or why there is none; `None` to read on.
fn close_of(read: Result<Message, WsError>) -> Option<Result<u16, String>> {
    match read {
        Ok(Message::Close(Some(close))) => Some(Ok(u16::from(close.code))),
        Ok(Message::Close(None)) => Some(Err("a close frame without a code".to_owned())),
        Ok(_) => None,
        Err(error) => Some(Err(format!("reading failed: {error}"))),
    }
}

/// Admits `who` to `code` and starts a [`send_until_closed`] client on the socket.
async fn sending_client(
    s: &TestServer,
    code: &str,
    who: &Account,
    frame: Message,
) -> JoinHandle<Result<u16, String>> {
    let (socket, _) = WsClient::join(s, code, who, "sender").await;
    let (_, ws) = socket.into_inner();
    send_until_closed(ws, frame)
}

/// What the client read, once its task ends.
async fn outcome(client: JoinHandle<Result<u16, String>>) -> Result<u16, String> {
    tokio::time::timeout(WAIT * 6, client)
        .await
        .expect("the client ends: its sends and its wait are bounded")
        .expect("the client task does not panic")
}

/// Asserts every run read `expected`, listing the runs that did not.
fn every_run_read(expected: u16, what: &str, reads: &[Result<u16, String>]) {
    let misses: Vec<_> = reads
        .iter()
        .enumerate()
        .filter(|(_, read)| **read != Ok(expected))
        .collect();
    assert!(
        misses.is_empty(),
        "{what}: {} of {} runs did not read {expected}: {misses:?}",
        misses.len(),
        reads.len()
    );
}

/// A server on a fresh SQLite file, a room and its host.
async fn room(tweak: impl FnOnce(&mut Config)) -> (TestDatabase, TestServer, String, Account) {
    let db = sqlite();
    let s = TestServer::start(&db.url, tweak).await;
    let (host, code) = hosted_room(&s, json!({})).await;
    (db, s, code, host)
}

/// The closes the client's own frames cause: each frame is the offence.
async fn closes_for_what_is_sent(
    expected: u16,
    what: &str,
    frame: Message,
    tweak: impl FnOnce(&mut Config),
) {
    let (_db, s, code, host) = room(tweak).await;
    let mut reads = Vec::new();
    for _ in 0..RUNS {
        let client = sending_client(&s, &code, &host, frame.clone()).await;
        reads.push(outcome(client).await);
    }
    every_run_read(expected, what, &reads);
    s.stop().await;
}

#[tokio::test]
async fn a_run_of_malformed_frames_reads_1008() {
    let frame = Message::text("not JSON");
    closes_for_what_is_sent(1008, "malformed", frame, |_| {}).await;
}

#[tokio::test]
async fn a_flood_reads_4029() {
    let on = |c: &mut Config| c.rate_limits = Switch::On;
    closes_for_what_is_sent(4029, "flood", ping_frame(), on).await;
}

#[tokio::test]
async fn frames_over_16_kib_read_1009() {
    let frame = Message::text("x".repeat(20 * 1024));
    closes_for_what_is_sent(1009, "too big", frame, |_| {}).await;
}

#[tokio::test]
async fn text_that_is_not_utf8_reads_1007() {
    let frame = Frame::message(
        Bytes::from_static(b"{\"type\":\"PING\xff\xfe\"}"),
        OpCode::Data(Data::Text),
        true,
    );
    closes_for_what_is_sent(1007, "invalid UTF-8", Message::Frame(frame), |_| {}).await;
}

#[tokio::test]
async fn a_protocol_violation_reads_1002() {
    // A continuation frame with no message to continue.
    let frame = Frame::message(Bytes::from_static(b"x"), OpCode::Data(Data::Continue), true);
    closes_for_what_is_sent(1002, "protocol violation", Message::Frame(frame), |_| {}).await;
}

/// Who ends a member's socket, besides the member.
#[derive(Clone, Copy, Debug)]
enum By {
    Kick,
    Ban,
    /// The member's login, logged out over REST.
    Logout,
}

/// Each run, a fresh member sends PINGs as fast as it can while `by` ends its socket.
async fn closes_by_others(expected: u16, by: By) {
    let (_db, s, code, host) = room(|_| {}).await;
    let (mut host_socket, _) = WsClient::join(&s, &code, &host, "host").await;
    let mut reads = Vec::new();
    for run in 0..RUNS {
        let who = member(&s, &code, &format!("Member {run}")).await;
        let client = sending_client(&s, &code, &who, ping_frame()).await;
        let target = UserTarget::new(uid(&who));
        match by {
            By::Kick => host_socket.send(ClientEvent::KickUser(target), None).await,
            By::Ban => host_socket.send(ClientEvent::BanUser(target), None).await,
            By::Logout => {
                let body = json!({"refresh": who.refresh});
                let answer = s.post_as(&who.access, "/api/auth/logout/", body).await;
                assert_eq!(answer.status, StatusCode::NO_CONTENT, "{}", answer.text);
            }
        }
        reads.push(outcome(client).await);
    }
    every_run_read(expected, &format!("{by:?}"), &reads);
    s.stop().await;
}

#[tokio::test]
async fn a_kicked_member_reads_4011() {
    closes_by_others(4011, By::Kick).await;
}

#[tokio::test]
async fn a_banned_member_reads_4009() {
    closes_by_others(4009, By::Ban).await;
}

#[tokio::test]
async fn a_member_whose_login_ends_reads_4001() {
    closes_by_others(4001, By::Logout).await;
}

#[tokio::test]
async fn a_member_of_a_deleted_room_reads_4010() {
    let db = sqlite();
    let s = TestServer::start(&db.url, |_| {}).await;
    let mut reads = Vec::new();
    for run in 0..RUNS {
        let (host, code) = hosted_room(&s, json!({})).await;
        let who = member(&s, &code, &format!("Member {run}")).await;
        let client = sending_client(&s, &code, &who, ping_frame()).await;
        s.post_as(&host.access, "/api/rooms/delete/", json!({"code": code}))
            .await
            .ok(StatusCode::OK);
        reads.push(outcome(client).await);
    }
    every_run_read(4010, "room deleted", &reads);
    s.stop().await;
}

#[tokio::test]
async fn a_member_of_a_server_shutting_down_reads_1012() {
    let mut reads = Vec::new();
    for _ in 0..RUNS {
        let (_db, s, code, host) = room(|c| c.shutdown_grace_seconds = 5).await;
        let client = sending_client(&s, &code, &host, ping_frame()).await;
        s.stop().await;
        reads.push(outcome(client).await);
    }
    every_run_read(1012, "shutdown", &reads);
}
