//! Chat over real sockets (PROTOCOL §2 Chat rules): trimmed lines to everyone, sender included;
//! empty, too long, chat off, muted, duplicate and too fast are refused to the sender only, and a
//! refused line is neither broadcast nor in a later snapshot. Also `SET_CHAT_ENABLED` and mutes.

use std::time::Duration;

use serde_json::json;
use streamit_protocol::v1::{
    Chat, ChatMessage, ChatText, ClientEvent, ErrorCode, MuteDuration, MuteUser, ServerEvent,
    SetChatEnabled, UserTarget,
};
use streamit_testing::sqlite;

use crate::support::{Account, TestServer};
use crate::ws_support::{WsClient, expect_error, hosted_room, member, next_event, uid};

fn chat(text: &str) -> ClientEvent {
    ClientEvent::Chat(Chat::new(ChatText::new(text).unwrap()))
}

/// A raw `CHAT` frame, for text the protocol type would refuse to build.
fn raw_chat(text: &str, reference: &str) -> String {
    json!({"type": "CHAT", "data": {"text": text}, "ref": reference}).to_string()
}

struct Room {
    s: TestServer,
    code: String,
    host: Account,
    ada: Account,
    host_socket: WsClient,
    ada_socket: WsClient,
}

async fn room() -> (Room, streamit_testing::TestDatabase) {
    let db = sqlite();
    let s = TestServer::start(&db.url, |_| {}).await;
    let (host, code) = hosted_room(&s, json!({})).await;
    let ada = member(&s, &code, "Ada").await;
    let (mut host_socket, _) = WsClient::join(&s, &code, &host, "host").await;
    let (ada_socket, _) = WsClient::join(&s, &code, &ada, "ada").await;
    let _ = next_event!(host_socket, UserJoined);
    let room = Room {
        s,
        code,
        host,
        ada,
        host_socket,
        ada_socket,
    };
    (room, db)
}

impl Room {
    /// Both sockets' next event must be this line from `who`.
    async fn line(&mut self, who: &Account, text: &str) -> ChatMessage {
        let (a, line) = next_event!(self.host_socket, ChatMessage);
        let (b, same) = next_event!(self.ada_socket, ChatMessage);
        assert_eq!(line, same);
        assert_eq!((a.seq, a.reference.clone()), (b.seq, None), "a broadcast");
        assert!(a.seq.is_some());
        assert_eq!(line.text.as_str(), text);
        assert_eq!(line.user.id, uid(who));
        line
    }

    async fn idle(&mut self, context: &str) {
        self.host_socket.assert_idle(context).await;
        self.ada_socket.assert_idle(context).await;
    }

    /// The chat a new member's snapshot shows.
    async fn snapshot_chat(&self) -> Vec<String> {
        let late = member(&self.s, &self.code, "Late").await;
        let (socket, snapshot) = WsClient::join(&self.s, &self.code, &late, "late").await;
        socket.disconnect().await;
        snapshot
            .chat
            .iter()
            .map(|m| m.text.as_str().to_owned())
            .collect()
    }
}

#[tokio::test]
async fn lines_are_trimmed_and_reach_everyone_including_the_sender() {
    let (mut r, _db) = room().await;
    r.ada_socket
        .send_text(raw_chat("   hello there \n\t", "hi"))
        .await;
    let ada = r.ada.clone();
    let line = r.line(&ada, "hello there").await;
    assert!(line.sent_at_ms > 0);
    r.host_socket.send(chat("welcome"), Some("w")).await;
    let host = r.host.clone();
    r.line(&host, "welcome").await;
    // Exactly 500 characters (not bytes) is fine.
    let long = "é".repeat(500);
    r.ada_socket.send(chat(&long), None).await;
    r.line(&ada, &long).await;
    r.idle("one broadcast per line").await;
}

#[tokio::test]
async fn empty_and_too_long_lines_are_refused_to_the_sender_only() {
    let (mut r, _db) = room().await;
    for (reference, text) in [("empty", ""), ("blank", "   \n\t ")] {
        r.ada_socket.send_text(raw_chat(text, reference)).await;
        expect_error!(r.ada_socket, ErrorCode::InvalidMessage, Some(reference));
    }
    r.ada_socket
        .send_text(raw_chat(&"x".repeat(501), "long"))
        .await;
    expect_error!(r.ada_socket, ErrorCode::MessageTooLong, Some("long"));
    // Trimmed to 500: fine.
    let padded = format!("  {}  ", "y".repeat(500));
    r.ada_socket.send_text(raw_chat(&padded, "padded")).await;
    let ada = r.ada.clone();
    r.line(&ada, &"y".repeat(500)).await;
    r.idle("refused lines are not broadcast").await;
    assert_eq!(r.snapshot_chat().await, ["y".repeat(500)]);
}

#[tokio::test]
async fn chat_off_refuses_lines_until_it_is_back_on() {
    let (mut r, _db) = room().await;
    r.host_socket
        .send(
            ClientEvent::SetChatEnabled(SetChatEnabled::new(false)),
            Some("off"),
        )
        .await;
    for socket in [&mut r.host_socket, &mut r.ada_socket] {
        let (message, update) = next_event!(*socket, RoomUpdated);
        assert!(
            message.seq.is_some() && message.reference.is_none(),
            "{message:?}"
        );
        assert_eq!(
            serde_json::to_value(&update).unwrap(),
            json!({"chat_enabled": false}),
            "only the changed field"
        );
    }
    r.ada_socket.send(chat("anyone?"), Some("muted-room")).await;
    expect_error!(r.ada_socket, ErrorCode::ChatDisabled, Some("muted-room"));
    r.idle("a refused line").await;
    let late = member(&r.s, &r.code, "Late").await;
    let (_late_socket, snapshot) = WsClient::join(&r.s, &r.code, &late, "late").await;
    assert!(!snapshot.room.chat_enabled, "the snapshot shows chat off");
    let _ = next_event!(r.host_socket, UserJoined);
    let _ = next_event!(r.ada_socket, UserJoined);

    r.host_socket
        .send(ClientEvent::SetChatEnabled(SetChatEnabled::new(true)), None)
        .await;
    for socket in [&mut r.host_socket, &mut r.ada_socket] {
        let (_, update) = next_event!(*socket, RoomUpdated);
        assert_eq!(update.chat_enabled, Some(true));
    }
    r.ada_socket.send(chat("anyone?"), None).await;
    let ada = r.ada.clone();
    r.line(&ada, "anyone?").await;
}

#[tokio::test]
async fn muted_members_are_refused_until_unmuted() {
    let (mut r, _db) = room().await;
    let ada_id = uid(&r.ada);
    r.host_socket
        .send(
            ClientEvent::MuteUser(MuteUser::new(ada_id, None)),
            Some("mute"),
        )
        .await;
    for socket in [&mut r.host_socket, &mut r.ada_socket] {
        let (_, muted) = next_event!(*socket, UserMuted);
        assert_eq!(muted.user.id, ada_id);
    }
    r.ada_socket.send(chat("let me speak"), Some("m1")).await;
    expect_error!(r.ada_socket, ErrorCode::Muted, Some("m1"));
    r.idle("a muted line").await;
    // The mute outlives the socket.
    let ada = r.ada.clone();
    let (mut again, snapshot) = WsClient::join(&r.s, &r.code, &ada, "ada again").await;
    assert!(snapshot.you.muted_until_ms.is_some(), "{:?}", snapshot.you);
    let me = snapshot
        .participants
        .iter()
        .find(|p| p.user.id == ada_id)
        .unwrap();
    assert!(me.muted_until_ms.is_some(), "{me:?}");
    again.send(chat("from my phone"), Some("m2")).await;
    expect_error!(again, ErrorCode::Muted, Some("m2"));

    r.host_socket
        .send(ClientEvent::UnmuteUser(UserTarget::new(ada_id)), None)
        .await;
    for socket in [&mut r.host_socket, &mut r.ada_socket, &mut again] {
        let (_, unmuted) = next_event!(*socket, UserUnmuted);
        assert_eq!((unmuted.user.id, unmuted.until_ms), (ada_id, None));
    }
    r.ada_socket.send(chat("thanks"), None).await;
    r.line(&ada, "thanks").await;
    let (_, line) = next_event!(again, ChatMessage);
    assert_eq!(line.text.as_str(), "thanks");
}

#[tokio::test]
async fn a_timed_mute_ends_by_itself() {
    let (mut r, _db) = room().await;
    let ada_id = uid(&r.ada);
    let duration = MuteDuration::new(1).unwrap();
    r.host_socket
        .send(
            ClientEvent::MuteUser(MuteUser::new(ada_id, Some(duration))),
            None,
        )
        .await;
    let (message, muted) = next_event!(r.host_socket, UserMuted);
    let until = muted.until_ms.expect("a timed mute says until when");
    assert!(
        until > message.ts,
        "the end is in the future of the broadcast"
    );
    let (_, same) = next_event!(r.ada_socket, UserMuted);
    assert_eq!(same.until_ms, Some(until));
    r.ada_socket.send(chat("now?"), Some("now")).await;
    expect_error!(r.ada_socket, ErrorCode::Muted, Some("now"));
    // Retry until the server lets the line through; every refusal is MUTED until then.
    let socket = &mut r.ada_socket;
    let retrying = async {
        loop {
            let reference = socket.fresh_ref("try");
            socket.send(chat("back"), Some(&reference)).await;
            let message = socket.next_event().await;
            match message.event {
                ServerEvent::ChatMessage(line) => return line,
                ServerEvent::Error(error) if error.code == ErrorCode::Muted => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                _ => panic!("wanted MUTED or the line, got {message:?}"),
            }
        }
    };
    let line = tokio::time::timeout(Duration::from_secs(10), retrying)
        .await
        .expect("the mute ends by itself");
    assert_eq!(line.text.as_str(), "back");
    assert!(
        line.sent_at_ms >= until,
        "accepted only once the mute ended"
    );
    let (_, seen) = next_event!(r.host_socket, ChatMessage);
    assert_eq!(seen, line);
    r.host_socket
        .assert_idle("refused lines were not broadcast")
        .await;
}

#[tokio::test]
async fn duplicates_and_bursts_are_refused_and_never_stored() {
    let (mut r, _db) = room().await;
    let ada = r.ada.clone();
    r.ada_socket.send(chat("same"), Some("d1")).await;
    r.line(&ada, "same").await;
    r.ada_socket.send(chat("same"), Some("d2")).await;
    expect_error!(r.ada_socket, ErrorCode::DuplicateMessage, Some("d2"));
    // Trimming happens first: this is the same line.
    r.ada_socket.send_text(raw_chat("  same ", "d3")).await;
    expect_error!(r.ada_socket, ErrorCode::DuplicateMessage, Some("d3"));
    r.idle("duplicates are not broadcast").await;
    // Another user may say the same.
    r.host_socket.send(chat("same"), None).await;
    let host = r.host.clone();
    r.line(&host, "same").await;

    // Four more make five in the window; the sixth is one too many.
    for i in 2..=5 {
        r.ada_socket.send(chat(&format!("line {i}")), None).await;
        r.line(&ada, &format!("line {i}")).await;
    }
    r.ada_socket.send(chat("line 6"), Some("six")).await;
    let error = expect_error!(r.ada_socket, ErrorCode::RateLimited, Some("six"));
    let retry = error
        .retry_after_ms
        .expect("RATE_LIMITED says when to retry");
    assert!(retry > 0 && retry <= 10_000, "{retry}");
    r.ada_socket.send(chat("line 7"), Some("seven")).await;
    let error = expect_error!(r.ada_socket, ErrorCode::RateLimited, Some("seven"));
    assert!(error.retry_after_ms.is_some_and(|later| later <= retry));
    r.idle("refused lines are not broadcast").await;
    // The host is not limited by Ada's burst.
    r.host_socket.send(chat("calm down"), None).await;
    r.line(&host, "calm down").await;

    let stored = r.snapshot_chat().await;
    assert_eq!(
        stored,
        [
            "same",
            "same",
            "line 2",
            "line 3",
            "line 4",
            "line 5",
            "calm down"
        ],
        "only accepted lines, oldest first"
    );
}
