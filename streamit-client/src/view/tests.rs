//! `RoomView::apply`, event by event, against frames written as the server sends them.

use std::time::Duration;

use serde_json::{Value, json};
use streamit_protocol::v1::{CloseCode, FrameError, RoomSnapshot, ServerMessage};

use super::*;

const HOST: &str = "00000000-0000-4000-8000-000000000001";
const ME: &str = "00000000-0000-4000-8000-000000000002";
const CY: &str = "00000000-0000-4000-8000-000000000003";
const DI: &str = "00000000-0000-4000-8000-000000000004";

fn id(s: &str) -> UserId {
    s.parse().unwrap()
}

fn user(id: &str, name: &str) -> Value {
    json!({"id": id, "display_name": name})
}

fn frame(kind: &str, seq: Option<u64>, data: Value) -> ServerMessage {
    let mut frame = json!({"v": 1, "type": kind, "ts": 1, "data": data});
    if let Some(seq) = seq {
        frame["seq"] = json!(seq);
    }
    ServerMessage::decode(&frame.to_string()).unwrap()
}

/// A broadcast with `seq`.
fn broadcast(kind: &str, seq: u64, data: Value) -> RoomEvent {
    RoomEvent::Server(frame(kind, Some(seq), data))
}

/// A reply or a host-only event, without `seq`.
fn reply(kind: &str, data: Value) -> RoomEvent {
    RoomEvent::Server(frame(kind, None, data))
}

fn playback(version: u64, position_ms: u64) -> Value {
    json!({"playing": false, "position_ms": position_ms, "rate": 1.0, "updated_at_ms": 10, "version": version})
}

fn line(n: u8, text: &str) -> Value {
    json!({"id": format!("00000000-0000-4000-8000-0000000000{n:02x}"), "user": user(HOST, "Host"),
        "text": text, "sent_at_ms": u64::from(n)})
}

fn room(code: &str) -> Value {
    json!({"code": code, "name": "Movie night", "host": user(HOST, "Host"), "state": "LIVE",
        "is_private": false, "entry_mode": "APPROVAL", "chat_enabled": true, "viewers": 2,
        "created_at_ms": 1})
}

/// The snapshot as `you` sees it at `seq`: the host and me online, Cy offline and muted until
/// 500, Di pending (in the host's snapshot only), and `chat`.
fn snapshot_data(you: &str, seq: u64, chat: &[Value]) -> Value {
    let mut participants = vec![
        json!({"user": user(HOST, "Host"), "status": "APPROVED", "is_host": true, "online": true}),
        json!({"user": user(ME, "Me"), "status": "APPROVED", "is_host": false, "online": true}),
        json!({"user": user(CY, "Cy"), "status": "APPROVED", "is_host": false, "online": false,
            "muted_until_ms": 500}),
    ];
    if you == HOST {
        participants.push(
            json!({"user": user(DI, "Di"), "status": "PENDING", "is_host": false, "online": false}),
        );
    }
    let name = if you == HOST { "Host" } else { "Me" };
    json!({"room": room("ABCD2345"), "you": {"user": user(you, name), "is_host": you == HOST},
        "participants": participants, "playback": playback(5, 0), "chat": chat, "seq": seq})
}

fn snapshot_event(you: &str, seq: u64, chat: &[Value]) -> RoomEvent {
    reply("ROOM_SNAPSHOT", snapshot_data(you, seq, chat))
}

fn snapshot(you: &str, seq: u64, chat: &[Value]) -> RoomSnapshot {
    serde_json::from_value(snapshot_data(you, seq, chat)).unwrap()
}

/// A guest's view at `seq` 10 with two chat lines.
fn guest_view() -> RoomView {
    RoomView::new(&snapshot(ME, 10, &[line(1, "one"), line(2, "two")]))
}

fn host_view() -> RoomView {
    RoomView::new(&snapshot(HOST, 10, &[]))
}

fn chat_texts(view: &RoomView) -> Vec<&str> {
    view.chat().iter().map(|l| l.text.as_str()).collect()
}

#[test]
fn a_snapshot_shows_the_room_you_members_chat_and_playback() {
    let view = guest_view();
    assert_eq!(view.code().as_str(), "ABCD2345");
    assert_eq!(view.room().name.as_str(), "Movie night");
    assert_eq!(view.you().user.id, id(ME));
    assert!(!view.is_host());
    let marks: Vec<_> = view
        .members()
        .iter()
        .map(|m| {
            (
                m.user.display_name.as_str(),
                m.is_host,
                m.online,
                m.muted_until_ms,
            )
        })
        .collect();
    assert_eq!(
        marks,
        [
            ("Host", true, true, None),
            ("Me", false, true, None),
            ("Cy", false, false, Some(500))
        ]
    );
    assert!(view.pending().is_empty(), "requests are the host's");
    assert_eq!(chat_texts(&view), ["one", "two"]);
    assert_eq!(view.playback().version, 5);
    assert_eq!(view.seq(), 10);
    assert!(view.is_connected() && !view.is_stale());

    let hosting = host_view();
    assert!(hosting.is_host());
    let pending: Vec<_> = hosting.pending().iter().map(|u| u.id).collect();
    assert_eq!(pending, [id(DI)]);
    assert!(hosting.member(id(DI)).is_none(), "pending is not a member");
}

#[test]
fn joins_bring_members_online_or_add_them() {
    let mut view = host_view();
    view.apply(&broadcast(
        "USER_JOINED",
        11,
        json!({"user": user(CY, "Cy"), "viewers": 3}),
    ));
    assert!(view.member(id(CY)).unwrap().online);
    assert_eq!(view.room().viewers, 3);
    view.apply(&broadcast(
        "USER_JOINED",
        12,
        json!({"user": user(DI, "Di"), "viewers": 4}),
    ));
    let di = view
        .member(id(DI))
        .expect("an approved request joins the members");
    assert!(di.online && !di.is_host);
    assert_eq!(view.members().last().unwrap().user.id, id(DI));
    assert!(view.pending().is_empty(), "the request was answered");
}

#[test]
fn a_big_rooms_presence_comes_in_batches_and_its_list_is_partial() {
    let mut view = host_view();
    assert!(view.lists_everyone());
    view.apply(&broadcast(
        "PRESENCE_CHANGED",
        11,
        json!({"joined": [user(CY, "Cy"), user(DI, "Di")],
               "left": [{"user": user(ME, "Me"), "reason": "left"}], "viewers": 3}),
    ));
    assert!(view.member(id(CY)).unwrap().online);
    assert!(view.member(id(DI)).unwrap().online);
    assert!(!view.member(id(ME)).unwrap().online);
    assert_eq!(view.room().viewers, 3);
    assert_eq!(view.seq(), 11);
    assert!(
        view.lists_everyone(),
        "everyone who came and went was named"
    );

    view.apply(&broadcast(
        "PRESENCE_CHANGED",
        12,
        json!({"joined": [], "left": [{"user": user(CY, "Cy"), "reason": "left"}],
               "viewers": 300, "joined_total": 300, "left_total": 1}),
    ));
    assert_eq!(view.room().viewers, 300);
    assert!(
        !view.lists_everyone(),
        "people came unnamed: the list is a few of them"
    );

    let mut partial = snapshot_data(ME, 20, &[]);
    partial["participants_total"] = json!(40);
    let partial: RoomSnapshot = serde_json::from_value(partial).unwrap();
    assert!(!RoomView::new(&partial).lists_everyone());
}

#[test]
fn a_rejoin_after_a_reconnect_counts_as_presence() {
    let mut view = guest_view();
    let rejoined = frame(
        "USER_JOINED",
        Some(11),
        json!({"user": user(CY, "Cy"), "viewers": 3}),
    );
    view.apply(&RoomEvent::Rejoined(rejoined));
    assert!(view.member(id(CY)).unwrap().online);
    assert_eq!(view.room().viewers, 3);
}

#[test]
fn leaving_goes_offline_and_removals_leave_the_list() {
    let mut view = guest_view();
    view.apply(&broadcast(
        "USER_LEFT",
        11,
        json!({"user": user(ME, "Me"), "reason": "timeout", "viewers": 1}),
    ));
    assert!(!view.member(id(ME)).unwrap().online);
    assert_eq!(view.room().viewers, 1);
    view.apply(&broadcast(
        "USER_KICKED",
        12,
        json!({"user": user(ME, "Me")}),
    ));
    assert!(view.member(id(ME)).is_none());
    view.apply(&broadcast(
        "USER_BANNED",
        13,
        json!({"user": user(CY, "Cy")}),
    ));
    assert!(view.member(id(CY)).is_none());
    assert_eq!(view.members().len(), 1);
}

#[test]
fn a_host_change_moves_every_mark_and_the_requests() {
    let mut view = host_view();
    view.apply(&broadcast(
        "HOST_CHANGED",
        11,
        json!({"host": user(ME, "Me")}),
    ));
    assert_eq!(view.room().host.id, id(ME));
    assert!(!view.is_host());
    assert!(view.member(id(ME)).unwrap().is_host);
    assert!(!view.member(id(HOST)).unwrap().is_host);
    assert!(
        view.pending().is_empty(),
        "a former host is told of no more requests"
    );

    let mut guest = guest_view();
    guest.apply(&broadcast(
        "HOST_CHANGED",
        11,
        json!({"host": user(ME, "Me")}),
    ));
    assert!(guest.is_host() && guest.you().is_host);
}

#[test]
fn grace_has_a_deadline_until_the_host_returns() {
    let mut view = guest_view();
    view.apply(&broadcast(
        "HOST_DISCONNECTED",
        11,
        json!({"grace_seconds": 300, "grace_deadline_ms": 99_000}),
    ));
    assert_eq!(view.room().state, RoomState::Grace);
    assert_eq!(view.room().grace_deadline_ms, Some(99_000));
    assert!(!view.member(id(HOST)).unwrap().online);
    view.apply(&broadcast("HOST_RECONNECTED", 12, json!({})));
    assert_eq!(view.room().state, RoomState::Live);
    assert_eq!(view.room().grace_deadline_ms, None);
    assert!(view.member(id(HOST)).unwrap().online);
}

#[test]
fn the_end_of_the_room_is_its_state() {
    let mut expired = guest_view();
    expired.apply(&broadcast(
        "HOST_DISCONNECTED",
        11,
        json!({"grace_seconds": 1, "grace_deadline_ms": 5}),
    ));
    expired.apply(&broadcast("ROOM_EXPIRED", 12, json!({})));
    assert_eq!(expired.room().state, RoomState::Expired);
    assert_eq!(expired.room().grace_deadline_ms, None);
    let mut deleted = guest_view();
    deleted.apply(&broadcast("ROOM_DELETED", 11, json!({})));
    assert!(deleted.room().state.is_closed());
}

#[test]
fn playback_follows_every_source_and_never_goes_back() {
    let mut view = guest_view();
    let mut seek = playback(6, 1_000);
    seek["cause"] = json!("SEEK");
    seek["by"] = json!(HOST);
    view.apply(&broadcast("PLAYBACK_STATE", 11, seek));
    assert_eq!(view.playback().position_ms.get(), 1_000);
    view.apply(&reply(
        "SYNC_CORRECTION",
        json!({"playback": playback(5, 9), "drift_ms": 1}),
    ));
    assert_eq!(view.playback().version, 6, "an older version is ignored");
    view.apply(&reply(
        "SYNC_CORRECTION",
        json!({"playback": playback(7, 1_500), "drift_ms": -300}),
    ));
    assert_eq!(view.playback().version, 7);
    view.apply(&reply(
        "ERROR",
        json!({"code": "VERSION_CONFLICT", "message": "m", "current": playback(8, 2_000)}),
    ));
    assert_eq!(view.playback().position_ms.get(), 2_000);
    view.apply(&reply("ERROR", json!({"code": "NOT_HOST", "message": "m"})));
    assert_eq!(view.playback().version, 8);
}

#[test]
fn media_changes_are_kept() {
    let mut view = guest_view();
    let media = json!({"provider": "youtube", "kind": "video", "id": "abc"});
    view.apply(&broadcast(
        "MEDIA_CHANGED",
        11,
        json!({"media": media, "embed_url": "https://e/abc"}),
    ));
    assert_eq!(view.room().embed_url.as_deref(), Some("https://e/abc"));
    assert_eq!(view.room().media.as_ref().unwrap().id(), "abc");
}

#[test]
fn chat_lines_are_appended_and_bounded() {
    let mut view = guest_view().with_chat_limit(3);
    view.apply(&broadcast("CHAT_MESSAGE", 11, line(3, "three")));
    view.apply(&broadcast("CHAT_MESSAGE", 12, line(4, "four")));
    assert_eq!(chat_texts(&view), ["two", "three", "four"]);
    let silent = view.with_chat_limit(0);
    assert!(silent.chat().is_empty());
    let mut silent = silent;
    silent.apply(&broadcast("CHAT_MESSAGE", 13, line(5, "five")));
    assert!(silent.chat().is_empty());
    assert_eq!(silent.seq(), 13);
}

#[test]
fn room_updates_change_only_what_they_carry() {
    let mut view = guest_view();
    view.apply(&broadcast(
        "ROOM_UPDATED",
        11,
        json!({"chat_enabled": false, "viewers": 7}),
    ));
    let room = view.room();
    assert!(!room.chat_enabled);
    assert_eq!(room.viewers, 7);
    assert_eq!(room.name.as_str(), "Movie night");
    view.apply(&broadcast(
        "ROOM_UPDATED",
        12,
        json!({"state": "GRACE", "grace_deadline_ms": 40}),
    ));
    assert_eq!(view.room().grace_deadline_ms, Some(40));
    view.apply(&broadcast(
        "ROOM_UPDATED",
        13,
        json!({"state": "LIVE", "name": "Later"}),
    ));
    assert_eq!(view.room().grace_deadline_ms, None, "no deadline off GRACE");
    assert_eq!(view.room().name.as_str(), "Later");
}

#[test]
fn mutes_mark_members_and_you() {
    let mut view = guest_view();
    view.apply(&broadcast(
        "USER_MUTED",
        11,
        json!({"user": user(ME, "Me"), "until_ms": 2_000}),
    ));
    assert_eq!(view.you().muted_until_ms, Some(2_000));
    let me = view.member(id(ME)).unwrap();
    assert!(me.is_muted_at(1_999) && !me.is_muted_at(2_000));
    view.apply(&broadcast(
        "USER_MUTED",
        12,
        json!({"user": user(CY, "Cy")}),
    ));
    assert_eq!(
        view.member(id(CY)).unwrap().muted_until_ms,
        Some(MUTED_FOREVER_MS)
    );
    view.apply(&broadcast(
        "USER_UNMUTED",
        13,
        json!({"user": user(ME, "Me")}),
    ));
    assert_eq!(view.you().muted_until_ms, None);
    assert!(!view.member(id(ME)).unwrap().is_muted_at(0));
}

#[test]
fn join_requests_wait_until_answered() {
    let mut view = host_view();
    let cy_asks = reply("JOIN_REQUESTED", json!({"user": user(CY, "Cy")}));
    let eve = "00000000-0000-4000-8000-000000000005";
    view.apply(&reply("JOIN_REQUESTED", json!({"user": user(eve, "Eve")})));
    view.apply(&reply("JOIN_REQUESTED", json!({"user": user(eve, "Eve")})));
    view.apply(&cy_asks);
    let pending: Vec<_> = view.pending().iter().map(|u| u.id).collect();
    assert_eq!(
        pending,
        [id(DI), id(eve), id(CY)],
        "oldest first, once each"
    );

    let approved: Participant = serde_json::from_value(
        json!({"user": user(DI, "Di"), "status": "APPROVED", "is_host": false, "online": false}),
    )
    .unwrap();
    view.request_approved(&approved);
    view.request_denied(id(eve));
    let pending: Vec<_> = view.pending().iter().map(|u| u.id).collect();
    assert_eq!(pending, [id(CY)]);
    let di = view.member(id(DI)).expect("approved: a member");
    assert!(!di.online, "offline until they connect");
}

#[test]
fn seq_skips_what_the_view_has_and_marks_gaps_stale() {
    let mut view = guest_view();
    view.apply(&broadcast("CHAT_MESSAGE", 10, line(9, "already in")));
    assert_eq!(chat_texts(&view), ["one", "two"]);
    view.apply(&broadcast("CHAT_MESSAGE", 11, line(3, "three")));
    assert!(!view.is_stale());
    view.apply(&broadcast("CHAT_MESSAGE", 14, line(4, "four")));
    assert!(view.is_stale(), "12 and 13 were missed");
    assert_eq!(view.seq(), 14);
    view.apply(&snapshot_event(ME, 20, &[line(2, "two"), line(3, "three")]));
    assert!(!view.is_stale());
    view.apply(&RoomEvent::Lagged { missed: 3 });
    assert!(view.is_stale());
}

#[test]
fn a_later_snapshot_replaces_the_view_but_keeps_joined_chat_and_newer_playback() {
    let mut view = guest_view();
    view.apply(&broadcast("CHAT_MESSAGE", 11, line(3, "three")));
    let mut newer = playback(9, 4_000);
    newer["cause"] = json!("SEEK");
    newer["by"] = json!(HOST);
    view.apply(&broadcast("PLAYBACK_STATE", 12, newer));
    view.apply(&broadcast(
        "USER_KICKED",
        13,
        json!({"user": user(CY, "Cy")}),
    ));
    view.apply(&RoomEvent::Disconnected { close: None });

    // The snapshot's history starts at "two", which the view has: "one" stays before it.
    view.apply(&snapshot_event(
        ME,
        30,
        &[line(2, "two"), line(3, "three"), line(4, "four")],
    ));
    assert_eq!(chat_texts(&view), ["one", "two", "three", "four"]);
    assert!(view.member(id(CY)).is_some(), "the snapshot's members");
    assert_eq!(view.seq(), 30);
    assert_eq!(view.playback().version, 9, "version 5 is older");
    assert!(view.is_connected());

    // No overlap: lines may be missing in between, so the old ones go.
    view.apply(&snapshot_event(ME, 90, &[line(60, "sixty")]));
    assert_eq!(chat_texts(&view), ["sixty"]);

    let mut other = snapshot_data(ME, 1, &[]);
    other["room"] = room("ZZZZ2345");
    view.apply(&reply("ROOM_SNAPSHOT", other));
    assert_eq!(view.code().as_str(), "ZZZZ2345");
    assert_eq!(
        view.playback().version,
        5,
        "another room's playback is its own"
    );
    assert!(view.chat().is_empty());
}

#[test]
fn lifecycle_events_mark_the_connection_only() {
    let mut view = guest_view();
    let before = view.clone();
    view.apply(&RoomEvent::Reconnecting {
        attempt: 1,
        delay: Duration::ZERO,
    });
    view.apply(&RoomEvent::Malformed {
        error: FrameError::Malformed("x".into()),
    });
    view.apply(&reply("PONG", json!({"client_ts": 1, "server_ts": 2})));
    view.apply(&broadcast("SOMETHING_NEW", 11, json!({"x": 1})));
    assert_eq!(view.seq(), 11, "an unknown broadcast still counts in seq");
    view.apply(&RoomEvent::Disconnected {
        close: Some(CloseCode::ServiceRestart.into()),
    });
    assert!(!view.is_connected());
    view.apply(&RoomEvent::Connected);
    assert!(view.is_connected());
    let mut unchanged = view.clone();
    unchanged.seq = before.seq;
    assert_eq!(unchanged, before);
}

#[test]
fn follow_starts_at_the_first_snapshot() {
    let mut view = None;
    RoomView::follow(&mut view, &RoomEvent::Connected);
    RoomView::follow(&mut view, &broadcast("CHAT_MESSAGE", 3, line(1, "early")));
    assert!(view.is_none());
    RoomView::follow(&mut view, &snapshot_event(ME, 10, &[]));
    RoomView::follow(&mut view, &broadcast("CHAT_MESSAGE", 11, line(1, "hi")));
    let view = view.expect("the snapshot made it");
    assert_eq!(chat_texts(&view), ["hi"]);
}
