//! Playback and the other room events over real sockets (PROTOCOL §2 Client events): every
//! host event broadcasts `PLAYBACK_STATE` with its cause, author and the next version;
//! `expected_version` conflicts; `SET_MEDIA`; host authority; `PLAYER_EVENT` saves progress and
//! never touches playback; `PING`, `SYNC_CHECK`, `RESYNC`; and `seq` without gaps.

use std::time::Duration;

use serde_json::{Value, json};
use streamit_protocol::v1::{
    Chat, ChatText, ClientEvent, ClientRef, ErrorCode, MediaRef, MuteUser, Ping, PlayPause,
    PlaybackCause, PlaybackState, PlayerEvent, PlayerEventKind, PositionMs, Rate, Seek,
    ServerEvent, ServerMessage, SetChatEnabled, SetMedia, SetRate, SyncCheck, UserTarget,
};
use streamit_testing::sqlite;

use crate::support::{Account, StatusCode, TestServer};
use crate::ws_support::{
    WsClient, eventually, expect_error, film, hosted_room, member, next_event, room_detail, uid,
};

fn pos(ms: u64) -> PositionMs {
    PositionMs::new(ms).unwrap()
}

fn seek(ms: u64) -> ClientEvent {
    ClientEvent::Seek(Seek::new(pos(ms)))
}

fn play(ms: Option<u64>) -> ClientEvent {
    ClientEvent::Play(PlayPause::new(ms.map(pos)))
}

fn pause(ms: Option<u64>) -> ClientEvent {
    ClientEvent::Pause(PlayPause::new(ms.map(pos)))
}

fn rate(r: f64) -> ClientEvent {
    ClientEvent::SetRate(SetRate::new(Rate::new(r).unwrap()))
}

fn chat(text: &str) -> ClientEvent {
    ClientEvent::Chat(Chat::new(ChatText::new(text).unwrap()))
}

fn media(id: &str) -> MediaRef {
    serde_json::from_value(film(id)).unwrap()
}

/// A room with a connected host and members; their snapshots' seq is the room's.
struct Party {
    s: TestServer,
    code: String,
    host: Account,
    host_socket: WsClient,
    members: Vec<(Account, WsClient)>,
    seq: u64,
}

/// A room on SQLite with its host and `names` connected, every USER_JOINED read.
async fn party(s: TestServer, body: Value, names: &[&str]) -> Party {
    let (host, code) = hosted_room(&s, body).await;
    let (host_socket, snapshot) = WsClient::join(&s, &code, &host, "host").await;
    let mut party = Party {
        s,
        code,
        host,
        host_socket,
        members: Vec::new(),
        seq: snapshot.seq,
    };
    for name in names {
        let who = member(&party.s, &party.code, name).await;
        let (socket, snapshot) = WsClient::join(&party.s, &party.code, &who, name).await;
        party.seq = snapshot.seq;
        for other in party.sockets() {
            let (message, joined) = next_event!(*other, UserJoined);
            assert_eq!(joined.user.id, uid(&who));
            assert_eq!(message.seq, Some(snapshot.seq));
        }
        party.members.push((who, socket));
    }
    party
}

impl Party {
    fn sockets(&mut self) -> impl Iterator<Item = &mut WsClient> {
        std::iter::once(&mut self.host_socket).chain(self.members.iter_mut().map(|(_, s)| s))
    }

    /// Every socket's next event must be the same broadcast, with the next `seq`; returns it.
    async fn broadcast(&mut self) -> ServerMessage {
        self.seq += 1;
        let seq = self.seq;
        let mut first: Option<ServerMessage> = None;
        for socket in self.sockets() {
            let message = socket.next_event().await;
            assert_eq!(message.seq, Some(seq), "{}: {message:?}", socket.label);
            assert_eq!(
                message.reference, None,
                "{}: broadcasts carry no ref",
                socket.label
            );
            if let Some(first) = &first {
                assert_eq!(
                    message.event, first.event,
                    "{}: everyone sees the same",
                    socket.label
                );
            } else {
                first = Some(message);
            }
        }
        first.unwrap()
    }

    /// The next broadcast must be a PLAYBACK_STATE; its data.
    async fn playback_state(&mut self) -> PlaybackState {
        let message = self.broadcast().await;
        match message.event {
            ServerEvent::PlaybackState(state) => state,
            other => panic!("wanted PLAYBACK_STATE, got {other:?}"),
        }
    }

    async fn assert_all_idle(&mut self, context: &str) {
        for socket in self.sockets() {
            socket.assert_idle(context).await;
        }
    }

    /// The host's fresh snapshot, through RESYNC.
    async fn host_snapshot(&mut self) -> streamit_protocol::v1::RoomSnapshot {
        let reply = self
            .host_socket
            .request(ClientEvent::Resync(
                streamit_protocol::v1::Resync::snapshot(),
            ))
            .await;
        match reply.event {
            ServerEvent::RoomSnapshot(snapshot) => *snapshot,
            other => panic!("wanted ROOM_SNAPSHOT, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn every_playback_event_reaches_everyone_with_the_next_version() {
    let db = sqlite();
    let s = TestServer::start(&db.url, |_| {}).await;
    let mut p = party(s, json!({}), &["Ada", "Bo"]).await;
    let host_id = uid(&p.host);
    let mut version = p.host_snapshot().await.playback.version;

    let steps: [(ClientEvent, PlaybackCause, bool, Option<u64>); 7] = [
        (play(Some(1_000)), PlaybackCause::Play, true, Some(1_000)),
        (pause(Some(5_000)), PlaybackCause::Pause, false, Some(5_000)),
        (seek(60_000), PlaybackCause::Seek, false, Some(60_000)),
        // Paused, so "from where it is" is exactly where it was.
        (play(None), PlaybackCause::Play, true, Some(60_000)),
        (seek(10_000), PlaybackCause::Seek, true, Some(10_000)),
        (rate(1.5), PlaybackCause::Rate, true, None),
        (pause(None), PlaybackCause::Pause, false, None),
    ];
    for (i, (event, cause, playing, position)) in steps.into_iter().enumerate() {
        let reference = format!("step-{i}");
        p.host_socket.send(event, Some(&reference)).await;
        let state = p.playback_state().await;
        version += 1;
        assert_eq!(state.cause, cause, "step {i}: {state:?}");
        assert_eq!(state.by, host_id, "step {i}");
        assert_eq!(state.playback.playing, playing, "step {i}: {state:?}");
        assert_eq!(
            state.playback.version, version,
            "step {i}: version rises by one"
        );
        if let Some(position) = position {
            assert_eq!(
                state.playback.position_ms.get(),
                position,
                "step {i}: {state:?}"
            );
        }
        if i >= 5 {
            assert!(
                (state.playback.rate.get() - 1.5).abs() < f64::EPSILON,
                "step {i}"
            );
        }
    }
    p.assert_all_idle("nothing but the broadcasts").await;
    let snapshot = p.host_snapshot().await;
    assert_eq!(snapshot.playback.version, version);
    assert!(!snapshot.playback.playing);
    assert_eq!(
        snapshot.seq, p.seq,
        "the snapshot shows the last broadcast's seq"
    );
}

#[tokio::test]
async fn a_stale_expected_version_is_a_conflict_with_the_current_playback() {
    let db = sqlite();
    let s = TestServer::start(&db.url, |_| {}).await;
    let mut p = party(s, json!({}), &["Ada"]).await;
    p.host_socket.send(seek(1_000), None).await;
    let current = p.playback_state().await.playback;

    let mut stale_seek = Seek::new(pos(2_000));
    stale_seek.expected_version = Some(current.version - 1);
    let mut stale_play = PlayPause::new(None);
    stale_play.expected_version = Some(current.version + 1);
    let mut stale_rate = SetRate::new(Rate::new(2.0).unwrap());
    stale_rate.expected_version = Some(0);
    let attempts = [
        ("seek", ClientEvent::Seek(stale_seek)),
        ("play", ClientEvent::Play(stale_play)),
        ("pause", ClientEvent::Pause(stale_play)),
        ("rate", ClientEvent::SetRate(stale_rate)),
    ];
    for (reference, event) in attempts {
        p.host_socket.send(event, Some(reference)).await;
        let error = expect_error!(p.host_socket, ErrorCode::VersionConflict, Some(reference));
        assert_eq!(
            error.current,
            Some(current),
            "{reference}: the current playback"
        );
    }
    p.assert_all_idle("a conflict changes nothing").await;

    let mut fresh = Seek::new(pos(3_000));
    fresh.expected_version = Some(current.version);
    p.host_socket
        .send(ClientEvent::Seek(fresh), Some("fresh"))
        .await;
    let state = p.playback_state().await;
    assert_eq!(state.playback.version, current.version + 1);
    assert_eq!(state.playback.position_ms.get(), 3_000);
}

#[tokio::test]
async fn set_media_announces_the_media_then_resets_playback() {
    let db = sqlite();
    let s = TestServer::start(&db.url, |_| {}).await;
    let mut p = party(s, json!({}), &["Ada"]).await;
    p.host_socket.send(play(Some(90_000)), None).await;
    let before = p.playback_state().await.playback;

    p.host_socket
        .send(
            ClientEvent::SetMedia(SetMedia::new(media("603"))),
            Some("m"),
        )
        .await;
    let changed = p.broadcast().await;
    let ServerEvent::MediaChanged(changed) = changed.event else {
        panic!("wanted MEDIA_CHANGED first, got {changed:?}");
    };
    assert_eq!(changed.media, media("603"));
    assert_eq!(changed.embed_url, "https://www.vidking.net/embed/movie/603");
    let state = p.playback_state().await;
    assert_eq!(state.cause, PlaybackCause::Media);
    assert_eq!(state.by, uid(&p.host));
    assert!(!state.playback.playing);
    assert_eq!(state.playback.position_ms.get(), 0);
    assert!((state.playback.rate.get() - 1.0).abs() < f64::EPSILON);
    assert_eq!(state.playback.version, before.version + 1);
    p.assert_all_idle("two broadcasts, no more").await;

    let snapshot = p.host_snapshot().await;
    assert_eq!(snapshot.room.media, Some(media("603")));
    let detail = room_detail(&p.s, &p.host, &p.code).await;
    assert_eq!(detail["media"], film("603"), "{detail}");
    assert_eq!(
        detail["embed_url"],
        "https://www.vidking.net/embed/movie/603"
    );

    // A bad media is refused before anything changes.
    let bad = json!({"type": "SET_MEDIA", "ref": "bad", "data": {"media": {"provider": "vidking", "kind": "tv", "id": "1"}}});
    p.host_socket.send_text(bad.to_string()).await;
    expect_error!(p.host_socket, ErrorCode::InvalidMedia, Some("bad"));
    p.assert_all_idle("bad media").await;
}

#[tokio::test]
async fn out_of_range_values_are_invalid_messages() {
    let db = sqlite();
    let s = TestServer::start(&db.url, |_| {}).await;
    let mut p = party(s, json!({}), &[]).await;
    let day_and_a_bit = 24 * 60 * 60 * 1000 + 1;
    for (reference, frame) in [
        (
            "far",
            json!({"type": "SEEK", "data": {"position_ms": day_and_a_bit}}),
        ),
        ("neg", json!({"type": "SEEK", "data": {"position_ms": -1}})),
        ("fast", json!({"type": "SET_RATE", "data": {"rate": 4.5}})),
        ("slow", json!({"type": "SET_RATE", "data": {"rate": 0.2}})),
        ("none", json!({"type": "SEEK", "data": {}})),
    ] {
        let mut frame = frame;
        frame["ref"] = json!(reference);
        p.host_socket.send_text(frame.to_string()).await;
        expect_error!(p.host_socket, ErrorCode::InvalidMessage, Some(reference));
    }
    p.host_socket.send(seek(24 * 60 * 60 * 1000), None).await;
    assert_eq!(
        p.playback_state().await.playback.position_ms,
        PositionMs::MAX
    );
}

#[tokio::test]
async fn members_cannot_do_what_only_the_host_may() {
    let db = sqlite();
    let s = TestServer::start(&db.url, |_| {}).await;
    let mut p = party(s, json!({"media": film("550")}), &["Ada", "Bo"]).await;
    p.host_socket.send(play(Some(30_000)), None).await;
    p.playback_state().await;
    let before = p.host_snapshot().await;
    let bo = uid(&p.members[1].0);
    let host = uid(&p.host);
    let ada = uid(&p.members[0].0);
    let attempts = [
        play(Some(1)),
        pause(Some(2)),
        seek(3),
        rate(2.0),
        ClientEvent::SetMedia(SetMedia::new(media("603"))),
        ClientEvent::SetChatEnabled(SetChatEnabled::new(false)),
        ClientEvent::MuteUser(MuteUser::new(bo, None)),
        ClientEvent::MuteUser(MuteUser::new(host, None)),
        ClientEvent::UnmuteUser(UserTarget::new(bo)),
        ClientEvent::KickUser(UserTarget::new(bo)),
        ClientEvent::KickUser(UserTarget::new(host)),
        ClientEvent::BanUser(UserTarget::new(bo)),
        ClientEvent::BanUser(UserTarget::new(host)),
        ClientEvent::TransferHost(UserTarget::new(ada)),
        ClientEvent::TransferHost(UserTarget::new(bo)),
    ];
    let ada_socket = &mut p.members[0].1;
    for (i, event) in attempts.into_iter().enumerate() {
        let reference = format!("try-{i}-{}", event.event_type());
        ada_socket.send(event, Some(&reference)).await;
        expect_error!(*ada_socket, ErrorCode::NotHost, Some(reference.as_str()));
    }
    p.assert_all_idle("refused host events broadcast nothing")
        .await;
    let after = p.host_snapshot().await;
    assert_eq!(after.room, before.room, "the room is unchanged");
    assert_eq!(after.playback, before.playback, "playback is unchanged");
    assert_eq!(after.participants, before.participants);
    assert_eq!(after.seq, before.seq, "nothing was broadcast");
    assert!(after.you.is_host);
    // Bo is neither muted, kicked, banned nor host.
    let bo_socket = &mut p.members[1].1;
    bo_socket.send(chat("still here"), None).await;
    let message = p.broadcast().await;
    assert!(
        matches!(message.event, ServerEvent::ChatMessage(_)),
        "{message:?}"
    );
    let answer = p.s.join(&p.members[1].0, &p.code).await;
    assert_eq!(answer.ok(StatusCode::OK)["status"], "APPROVED");
    assert_eq!(
        room_detail(&p.s, &p.host, &p.code).await["host"]["id"],
        p.host.user_id
    );
}

#[tokio::test]
async fn player_events_save_progress_and_never_touch_playback() {
    let db = sqlite();
    let s = TestServer::start(&db.url, |_| {}).await;
    let mut p = party(s, json!({}), &["Ada"]).await;
    let ada = p.members[0].0.clone();
    let resume = format!("/api/rooms/{}/resume/", p.code);
    let player = |kind, at: u64, duration: Option<u64>| {
        ClientEvent::PlayerEvent(PlayerEvent::new(kind, pos(at), duration.map(pos)))
    };
    // No media yet: nothing to save.
    p.members[0]
        .1
        .send(
            player(PlayerEventKind::Progress, 5_000, None),
            Some("early"),
        )
        .await;
    p.assert_all_idle("a player event is not broadcast").await;
    p.s.get_as(&ada.access, &resume)
        .await
        .error(StatusCode::NOT_FOUND, "NO_PROGRESS");

    p.host_socket
        .send(ClientEvent::SetMedia(SetMedia::new(media("550"))), None)
        .await;
    p.broadcast().await;
    p.playback_state().await;
    p.host_socket.send(seek(10_000), None).await;
    p.playback_state().await;
    let before = p.host_snapshot().await;

    p.members[0]
        .1
        .send(
            player(PlayerEventKind::Progress, 120_000, Some(600_000)),
            Some("progress"),
        )
        .await;
    p.assert_all_idle("progress is no broadcast").await;
    let saved = eventually("progress saved", Duration::from_secs(10), || async {
        let answer = p.s.get_as(&ada.access, &resume).await;
        (answer.status == StatusCode::OK && answer.body["position_s"] == json!(120.0))
            .then(|| answer.body.clone())
    })
    .await;
    assert_eq!(saved["completed"], false, "{saved}");
    assert_eq!(saved["media"], film("550"), "{saved}");
    assert_eq!(saved["duration_s"], json!(600.0), "{saved}");

    for kind in [PlayerEventKind::Buffering, PlayerEventKind::Ready] {
        p.members[0].1.send(player(kind, 130_000, None), None).await;
    }
    p.members[0]
        .1
        .send(player(PlayerEventKind::Ended, 200_000, None), Some("ended"))
        .await;
    p.assert_all_idle("player events are no broadcast").await;
    eventually(
        "ended marks completion",
        Duration::from_secs(10),
        || async {
            let answer = p.s.get_as(&ada.access, &resume).await;
            (answer.status == StatusCode::OK && answer.body["completed"] == json!(true))
                .then_some(())
        },
    )
    .await;
    // The host's own progress is separate, and playback never moved.
    p.host_socket
        .send(player(PlayerEventKind::Progress, 42_000, None), None)
        .await;
    eventually("host progress saved", Duration::from_secs(10), || async {
        let answer = p.s.get_as(&p.host.access, &resume).await;
        (answer.status == StatusCode::OK && answer.body["position_s"] == json!(42.0)).then_some(())
    })
    .await;
    let after = p.host_snapshot().await;
    assert_eq!(
        after.playback, before.playback,
        "progress never touches playback"
    );
    assert_eq!(after.seq, before.seq);
}

#[tokio::test]
async fn ping_sync_check_and_resync_answer_the_sender_only() {
    let db = sqlite();
    let s = TestServer::start(&db.url, |_| {}).await;
    let mut p = party(s, json!({}), &["Ada"]).await;
    p.host_socket.send(seek(60_000), None).await;
    let paused = p.playback_state().await.playback;
    let ada = &mut p.members[0].1;

    ada.send(ClientEvent::Ping(Ping::new(123_456)), Some("ping"))
        .await;
    let (message, pong) = next_event!(*ada, Pong);
    assert_eq!(
        message.reference.as_ref().map(ClientRef::as_str),
        Some("ping")
    );
    assert_eq!(message.seq, None);
    assert_eq!(pong.client_ts, 123_456);
    assert!(pong.server_ts > 0);
    // Without a ref, the reply has none.
    ada.send(ClientEvent::Ping(Ping::new(1)), None).await;
    let (message, _) = next_event!(*ada, Pong);
    assert_eq!(message.reference, None);

    // Far behind a paused room: corrected, with the room's playback and the drift.
    ada.send(ClientEvent::SyncCheck(SyncCheck::new(pos(0))), Some("far"))
        .await;
    let (message, correction) = next_event!(*ada, SyncCorrection);
    assert_eq!(
        message.reference.as_ref().map(ClientRef::as_str),
        Some("far")
    );
    assert_eq!(message.seq, None);
    assert_eq!(correction.playback, paused);
    assert_eq!(correction.drift_ms, -60_000, "negative when behind");
    ada.send(
        ClientEvent::SyncCheck(SyncCheck::new(pos(70_000))),
        Some("ahead"),
    )
    .await;
    let (_, correction) = next_event!(*ada, SyncCorrection);
    assert_eq!(correction.drift_ms, 10_000, "positive when ahead");
    // Close enough: nothing, so the next frame is the PONG.
    for (reference, at) in [("near", 60_100), ("exact", 60_000), ("edge", 59_500)] {
        ada.send(
            ClientEvent::SyncCheck(SyncCheck::new(pos(at))),
            Some(reference),
        )
        .await;
        ada.assert_idle(reference).await;
    }

    ada.send(
        ClientEvent::Resync(streamit_protocol::v1::Resync::snapshot()),
        Some("again"),
    )
    .await;
    let (message, snapshot) = next_event!(*ada, RoomSnapshot);
    assert_eq!(
        message.reference.as_ref().map(ClientRef::as_str),
        Some("again")
    );
    assert_eq!(message.seq, None, "a snapshot is a reply");
    assert_eq!(snapshot.seq, p.seq);
    assert_eq!(snapshot.playback, paused);
    assert!(!snapshot.you.is_host);
    p.host_socket
        .assert_idle("replies go to their sender only")
        .await;
}

#[tokio::test]
async fn seq_rises_by_one_per_broadcast_for_everyone() {
    let db = sqlite();
    let s = TestServer::start(&db.url, |_| {}).await;
    let mut p = party(s, json!({}), &["Ada", "Bo"]).await;
    let start = p.seq;
    // Three senders at once, none waiting: the room still orders them one by one.
    for i in 0..10 {
        p.host_socket.send(seek(i * 1_000), None).await;
        if i < 4 {
            p.members[0].1.send(chat(&format!("ada {i}")), None).await;
            p.members[1].1.send(chat(&format!("bo {i}")), None).await;
            // Replies in between carry no seq and do not count.
            p.members[1]
                .1
                .send(ClientEvent::Ping(Ping::new(i)), None)
                .await;
        }
    }
    let total = 18;
    let mut seen: Vec<Vec<(u64, String)>> = Vec::new();
    for (i, socket) in p.sockets().enumerate() {
        let mut broadcasts = Vec::new();
        // Bo (the third socket) also waits for the replies to its four PINGs.
        let (mut pongs, wanted_pongs) = (0, if i == 2 { 4 } else { 0 });
        while broadcasts.len() < total || pongs < wanted_pongs {
            let message = socket.next_event().await;
            if let Some(seq) = message.seq {
                let what = match &message.event {
                    ServerEvent::PlaybackState(state) => {
                        format!("seek {}", state.playback.position_ms.get())
                    }
                    ServerEvent::ChatMessage(line) => line.text.as_str().to_owned(),
                    other => panic!("{}: unexpected {other:?}", socket.label),
                };
                broadcasts.push((seq, what));
            } else {
                assert!(matches!(message.event, ServerEvent::Pong(_)), "{message:?}");
                pongs += 1;
            }
        }
        let seqs: Vec<u64> = broadcasts.iter().map(|(seq, _)| *seq).collect();
        let wanted: Vec<u64> = (start + 1..=start + total as u64).collect();
        assert_eq!(seqs, wanted, "{}: one by one, no gap", socket.label);
        seen.push(broadcasts);
    }
    assert!(
        seen.windows(2).all(|w| w[0] == w[1]),
        "everyone sees the same order: {seen:?}"
    );
    // Each sender's events keep their order.
    let order = &seen[0];
    for prefix in ["seek", "ada", "bo"] {
        let mine: Vec<&String> = order
            .iter()
            .map(|(_, w)| w)
            .filter(|w| w.starts_with(prefix))
            .collect();
        let mut sorted = mine.clone();
        sorted.sort_by_key(|w| w.rsplit(' ').next().unwrap().parse::<u64>().unwrap());
        assert_eq!(mine, sorted, "{prefix}");
    }
    p.seq = start + total as u64;

    // A late joiner's snapshot seq is the USER_JOINED everyone else saw; the next is +1.
    let late = member(&p.s, &p.code, "Late").await;
    let (late_socket, snapshot) = WsClient::join(&p.s, &p.code, &late, "late").await;
    assert_eq!(
        snapshot.seq,
        p.seq + 1,
        "the snapshot reflects its own USER_JOINED"
    );
    for socket in p.sockets() {
        let (message, joined) = next_event!(*socket, UserJoined);
        assert_eq!(joined.user.id, uid(&late));
        assert_eq!(message.seq, Some(snapshot.seq), "{}", socket.label);
    }
    p.seq = snapshot.seq;
    p.members.push((late, late_socket));
    p.host_socket.send(seek(5), None).await;
    let next = p.playback_state().await;
    assert_eq!(next.playback.position_ms.get(), 5);
    assert_eq!(
        p.seq,
        snapshot.seq + 1,
        "the late joiner's next frame is seq + 1"
    );
}

#[tokio::test]
async fn resync_with_where_the_client_left_off_replays_what_it_missed() {
    let db = sqlite();
    let s = TestServer::start(&db.url, |_| {}).await;
    let mut p = party(s, json!({}), &["Ada"]).await;
    let first = p.host_snapshot().await;
    let epoch = first.epoch.clone().expect("the snapshot names the epoch");
    p.host_socket.send(seek(1_000), None).await;
    p.host_socket.send(seek(2_000), None).await;
    let mut seen = Vec::new();
    for _ in 0..2 {
        seen.push(p.broadcast().await);
    }
    let ada = &mut p.members[0].1;
    // Ada says she holds everything up to the first snapshot: both seeks come again, in order,
    // after ROOM_RESUMED answering her request.
    let resync = streamit_protocol::v1::Resync::since(first.seq, epoch.clone());
    let reply = ada.request(ClientEvent::Resync(resync)).await;
    let ServerEvent::RoomResumed(resumed) = reply.event else {
        panic!("wanted ROOM_RESUMED, got {reply:?}");
    };
    assert_eq!((resumed.since_seq, resumed.replayed), (first.seq, 2));
    for expected in &seen {
        let replayed = ada.next_event().await;
        assert_eq!(&replayed, expected, "the very broadcasts, seq and all");
    }
    ada.assert_idle("after the replay").await;
    // Another epoch (or none) gets a snapshot, as before.
    let other = streamit_protocol::v1::Resync::since(first.seq, "not-this-room");
    let reply = ada.request(ClientEvent::Resync(other)).await;
    assert!(
        matches!(reply.event, ServerEvent::RoomSnapshot(_)),
        "{reply:?}"
    );
}
