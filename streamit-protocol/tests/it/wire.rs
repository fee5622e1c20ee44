//! Every WebSocket event and both envelopes against `json!` literals spelled as PROTOCOL.md §2
//! spells them, in both directions, and how the two decoders answer frames they must refuse.
//!
//! Literals write rates as floats (`1.5`, `4.0`): the encoder writes an `f64`, and a JSON
//! integer and a JSON float are different `Value`s even when they are equal numbers. The case
//! tables skip rustfmt so that each case stays one line of wire and one of typed value.

use std::collections::BTreeSet;

use serde_json::{Value, json};
use streamit_protocol::v1::*;

const ADA: &str = "67e55044-10b1-426f-9247-bb680e5fe0c8";
const BO: &str = "0b6f2c1e-5d4a-4f3b-9c2d-1e0f9a8b7c6d";
const LINE: &str = "5a1d3c2b-0e9f-4a8b-8c7d-6e5f4a3b2c1d";
const TV_URL: &str = "https://www.vidking.net/embed/tv/1399/1/2";
/// Server clock in every frame, Unix epoch ms.
const TS: u64 = 1_700_000_000_000;

fn pos(ms: u64) -> PositionMs {
    PositionMs::new(ms).expect("a test position within 24 h")
}

fn rate(rate: f64) -> Rate {
    Rate::new(rate).expect("a test rate within 0.25..=4")
}

fn uid(uuid: &str) -> UserId {
    uuid.parse().expect("a test UUID")
}

fn cref(reference: &str) -> ClientRef {
    ClientRef::new(reference).expect("a test ref of at most 64 characters")
}

fn ada() -> UserRef {
    UserRef::new(uid(ADA), DisplayName::new("Ada").expect("a valid name"))
}

fn bo() -> UserRef {
    UserRef::new(uid(BO), DisplayName::new("Bo").expect("a valid name"))
}

fn ada_json() -> Value {
    json!({"id": ADA, "display_name": "Ada"})
}

fn bo_json() -> Value {
    json!({"id": BO, "display_name": "Bo"})
}

fn media(provider: Provider, kind: MediaKind, id: &str) -> MediaRef {
    MediaRef::from_parts(provider, kind, id, None, None).expect("valid test media")
}

fn movie() -> MediaRef {
    media(Provider::Vidking, MediaKind::Movie, "550")
}

fn movie_json() -> Value {
    json!({"provider": "vidking", "kind": "movie", "id": "550"})
}

fn tv() -> MediaRef {
    MediaRef::from_parts(Provider::Vidking, MediaKind::Tv, "1399", Some(1), Some(2))
        .expect("a valid episode")
}

fn tv_json() -> Value {
    json!({"provider": "vidking", "kind": "tv", "id": "1399", "season": 1, "episode": 2})
}

fn playback() -> Playback {
    Playback::new(true, pos(90_000), rate(1.5), TS - 500, 7)
}

fn playback_json() -> Value {
    json!({"playing": true, "position_ms": 90_000, "rate": 1.5, "updated_at_ms": TS - 500, "version": 7})
}

/// Parses encoder output, so it compares with a literal whatever the key order.
fn value(encoded: &str) -> Value {
    serde_json::from_str(encoded).expect("encoders write JSON")
}

fn client_error(frame: &str) -> ClientDecodeError {
    ClientMessage::decode(frame).expect_err(frame)
}

fn is_malformed(error: &FrameError) -> bool {
    matches!(error, FrameError::Malformed(_))
}

fn client_cases() -> Vec<(Value, ClientMessage)> {
    use ClientEvent as E;
    let msg = ClientMessage::new;
    let with_ref = |event, reference| ClientMessage::with_ref(event, cref(reference));
    let mut pause = PlayPause::new(Some(pos(2_000)));
    pause.expected_version = Some(7);
    let mut seek = Seek::new(PositionMs::MAX);
    seek.expected_version = Some(8);
    let mut slow = SetRate::new(rate(0.25));
    slow.expected_version = Some(9);
    let set_media = |media| E::SetMedia(SetMedia::new(media));
    let clip = media(Provider::Youtube, MediaKind::Video, "dQw4w9WgXcQ");
    let file = media(
        Provider::Url,
        MediaKind::Video,
        "https://cdn.example.com/a.mp4",
    );
    let chat = |text| E::Chat(Chat::new(ChatText::new(text).expect("a valid chat line")));
    let mute = |duration| E::MuteUser(MuteUser::new(uid(BO), duration));
    #[rustfmt::skip]
    let mut cases = vec![
        (json!({"type": "PLAY", "data": {"position_ms": 1500}, "ref": "c1"}), with_ref(E::Play(PlayPause::new(Some(pos(1_500)))), "c1")),
        (json!({"type": "PLAY", "data": {}}), msg(E::Play(PlayPause::new(None)))),
        (json!({"type": "PAUSE", "data": {"position_ms": 2000, "expected_version": 7}}), msg(E::Pause(pause))),
        (json!({"type": "PAUSE", "data": {}, "ref": "c2"}), with_ref(E::Pause(PlayPause::new(None)), "c2")),
        (json!({"type": "SEEK", "data": {"position_ms": 86_400_000, "expected_version": 8}}), msg(E::Seek(seek))),
        (json!({"type": "SEEK", "data": {"position_ms": 0}}), msg(E::Seek(Seek::new(PositionMs::ZERO)))),
        (json!({"type": "SET_RATE", "data": {"rate": 1.5}}), msg(E::SetRate(SetRate::new(rate(1.5))))),
        (json!({"type": "SET_RATE", "data": {"rate": 0.25, "expected_version": 9}}), msg(E::SetRate(slow))),
        (json!({"type": "SET_RATE", "data": {"rate": 4.0}}), msg(E::SetRate(SetRate::new(rate(4.0))))),
        (json!({"type": "SET_MEDIA", "data": {"media": movie_json()}}), msg(set_media(movie()))),
        (json!({"type": "SET_MEDIA", "data": {"media": tv_json()}}), msg(set_media(tv()))),
        (json!({"type": "SET_MEDIA", "data": {"media": {"provider": "youtube", "kind": "video", "id": "dQw4w9WgXcQ"}}}), msg(set_media(clip))),
        (json!({"type": "SET_MEDIA", "data": {"media": {"provider": "url", "kind": "video", "id": "https://cdn.example.com/a.mp4"}}}), msg(set_media(file))),
        (json!({"type": "CHAT", "data": {"text": "hello, room"}, "ref": "c3"}), with_ref(chat("hello, room"), "c3")),
        (json!({"type": "CHAT", "data": {"text": "two\nlines\tand a tab"}}), msg(chat("two\nlines\tand a tab"))),
        (json!({"type": "SET_CHAT_ENABLED", "data": {"enabled": false}}), msg(E::SetChatEnabled(SetChatEnabled::new(false)))),
        (json!({"type": "SET_CHAT_ENABLED", "data": {"enabled": true}}), msg(E::SetChatEnabled(SetChatEnabled::new(true)))),
        (json!({"type": "MUTE_USER", "data": {"user_id": BO, "duration_s": 600}}), msg(mute(Some(MuteDuration::new(600).expect("ten minutes"))))),
        (json!({"type": "MUTE_USER", "data": {"user_id": BO}}), msg(mute(None))),
        (json!({"type": "PING", "data": {"client_ts": 123_456}, "ref": "p1"}), with_ref(E::Ping(Ping::new(123_456)), "p1")),
        (json!({"type": "SYNC_CHECK", "data": {"position_ms": 91_250}}), msg(E::SyncCheck(SyncCheck::new(pos(91_250))))),
        (json!({"type": "RESYNC", "data": {}, "ref": "r-7"}), with_ref(E::Resync(Resync::snapshot()), "r-7")),
        (json!({"type": "RESYNC", "data": {}}), msg(E::Resync(Resync::snapshot()))),
        (json!({"type": "RESYNC", "data": {"since_seq": 41, "epoch": "3f9c"}}), msg(E::Resync(Resync::since(41, "3f9c")))),
    ];
    let targets = [
        (
            "UNMUTE_USER",
            E::UnmuteUser as fn(UserTarget) -> ClientEvent,
        ),
        ("KICK_USER", E::KickUser),
        ("BAN_USER", E::BanUser),
        ("TRANSFER_HOST", E::TransferHost),
    ];
    for (wire_type, variant) in targets {
        let wire = json!({"type": wire_type, "data": {"user_id": BO}, "ref": "h1"});
        cases.push((wire, with_ref(variant(UserTarget::new(uid(BO))), "h1")));
    }
    let kinds = [
        ("progress", PlayerEventKind::Progress),
        ("ended", PlayerEventKind::Ended),
        ("buffering", PlayerEventKind::Buffering),
        ("ready", PlayerEventKind::Ready),
    ];
    for (wire_kind, kind) in kinds {
        let data = json!({"kind": wire_kind, "position_ms": 60_000, "duration_ms": 7_200_000});
        let event = PlayerEvent::new(kind, pos(60_000), Some(pos(7_200_000)));
        let wire = json!({"type": "PLAYER_EVENT", "data": data});
        cases.push((wire, msg(E::PlayerEvent(event))));
        let data = json!({"kind": wire_kind, "position_ms": 0});
        let event = PlayerEvent::new(kind, PositionMs::ZERO, None);
        let wire = json!({"type": "PLAYER_EVENT", "data": data});
        cases.push((wire, msg(E::PlayerEvent(event))));
    }
    cases
}

#[test]
fn every_client_event_round_trips() {
    let cases = client_cases();
    for (wire, expected) in &cases {
        let decoded = ClientMessage::decode(&wire.to_string()).unwrap();
        assert_eq!(&decoded, expected, "decoding {wire}");
        assert_eq!(&value(&decoded.encode()), wire, "encoding {expected:?}");
    }
    let covered: BTreeSet<&str> = cases.iter().map(|(_, m)| m.event.event_type()).collect();
    let all: BTreeSet<&str> = ClientEvent::TYPES.iter().copied().collect();
    assert_eq!(covered, all, "every client event has a case");
}

#[test]
fn client_decoding_accepts_what_the_protocol_allows() {
    // (input, what the encoder writes back for it)
    #[rustfmt::skip]
    let cases = [
        (json!({"type": "RESYNC"}), json!({"type": "RESYNC", "data": {}})),
        (json!({"type": "RESYNC", "data": null, "ref": "r"}), json!({"type": "RESYNC", "data": {}, "ref": "r"})),
        (json!({"type": "RESYNC", "data": {"full": true}}), json!({"type": "RESYNC", "data": {}})),
        (json!({"type": "PLAY"}), json!({"type": "PLAY", "data": {}})),
        (json!({"type": "PLAY", "data": {"position_ms": null, "expected_version": null}, "ref": null}), json!({"type": "PLAY", "data": {}})),
        (json!({"type": "MUTE_USER", "data": {"user_id": BO, "duration_s": null}}), json!({"type": "MUTE_USER", "data": {"user_id": BO}})),
        (
            json!({"type": "SEEK", "data": {"position_ms": 5, "smooth": true}, "v": 1, "seq": 3, "extra": [1, {"a": 2}]}),
            json!({"type": "SEEK", "data": {"position_ms": 5}}),
        ),
        (
            json!({"type": "SET_MEDIA", "data": {"media": {"provider": "youtube", "kind": "video", "id": "abc", "title": "x"}}}),
            json!({"type": "SET_MEDIA", "data": {"media": {"provider": "youtube", "kind": "video", "id": "abc"}}}),
        ),
        (json!({"type": "CHAT", "data": {"text": "  hi \n"}}), json!({"type": "CHAT", "data": {"text": "hi"}})),
    ];
    for (input, canonical) in cases {
        let decoded = ClientMessage::decode(&input.to_string()).unwrap();
        assert_eq!(value(&decoded.encode()), canonical, "{input}");
    }
}

#[test]
fn unknown_client_types_are_unknown_event_and_keep_ref() {
    for wire_type in ["DANCE", "play", "Play", "PONG", "ROOM_SNAPSHOT", ""] {
        let frame = json!({"type": wire_type, "data": {"position_ms": "bad"}, "ref": "u1"});
        let err = client_error(&frame.to_string());
        assert_eq!(err.code(), ErrorCode::UnknownEvent, "{frame}");
        assert_eq!(err.reference, Some(cref("u1")), "{frame}");
        assert_eq!(err.error, FrameError::UnknownEvent(wire_type.to_owned()));
    }
    let err = client_error(r#"{"type":"DANCE"}"#);
    assert_eq!((err.code(), err.reference), (ErrorCode::UnknownEvent, None));
}

#[test]
fn bad_client_data_is_refused_and_keeps_ref() {
    #[rustfmt::skip]
    let cases = [
        ("SEEK", json!({"position_ms": "1500"})),
        ("SEEK", json!({"position_ms": 1.5})),
        ("SEEK", json!({"position_ms": -1})),
        ("SEEK", json!({"position_ms": 86_400_001})),
        ("SEEK", json!({})),
        ("SEEK", Value::Null),
        ("PLAY", json!({"position_ms": 86_400_001})),
        ("PLAY", json!("now")),
        ("PLAY", json!([1500])),
        ("PAUSE", json!({"position_ms": true})),
        ("PAUSE", json!({"expected_version": -1})),
        ("SET_RATE", json!({"rate": 5.0})),
        ("SET_RATE", json!({"rate": 0.2})),
        ("SET_RATE", json!({"rate": "fast"})),
        ("SET_RATE", json!({})),
        ("SET_MEDIA", json!({})),
        ("SET_MEDIA", json!({"media": null})),
        ("SET_MEDIA", json!({"media": "vidking/movie/550"})),
        ("CHAT", json!({"text": 5})),
        ("CHAT", json!({})),
        ("CHAT", json!({"text": "   "})),
        ("CHAT", json!({"text": ""})),
        ("CHAT", json!({"text": "ring \u{7} bell"})),
        ("SET_CHAT_ENABLED", json!({"enabled": "yes"})),
        ("SET_CHAT_ENABLED", json!({})),
        ("MUTE_USER", json!({"user_id": "not-a-uuid"})),
        ("MUTE_USER", json!({"user_id": BO, "duration_s": 0})),
        ("MUTE_USER", json!({"user_id": BO, "duration_s": 2_592_001})),
        ("MUTE_USER", json!({"duration_s": 60})),
        ("UNMUTE_USER", json!({"user_id": 7})),
        ("KICK_USER", json!({})),
        ("BAN_USER", json!({"user_id": null})),
        ("TRANSFER_HOST", json!({"user_id": "ABCD2345"})),
        ("PLAYER_EVENT", json!({"kind": "paused", "position_ms": 0})),
        ("PLAYER_EVENT", json!({"kind": "PROGRESS", "position_ms": 0})),
        ("PLAYER_EVENT", json!({"position_ms": 0})),
        ("PLAYER_EVENT", json!({"kind": "ended"})),
        ("PLAYER_EVENT", json!({"kind": "ended", "position_ms": 0, "duration_ms": 86_400_001})),
        ("PING", json!({"client_ts": -1})),
        ("PING", json!({"client_ts": "now"})),
        ("PING", json!({})),
        ("SYNC_CHECK", json!({"position_ms": 86_400_001})),
        ("SYNC_CHECK", json!({})),
        ("RESYNC", json!(5)),
    ];
    #[rustfmt::skip]
    let bad_media = [
        json!({"provider": "vidking", "kind": "tv", "id": "1399"}),
        json!({"provider": "vidking", "kind": "tv", "id": "1399", "season": 0, "episode": 1}),
        json!({"provider": "vidking", "kind": "movie", "id": "550", "season": 1}),
        json!({"provider": "vidking", "kind": "movie", "id": "../550"}),
        json!({"provider": "netflix", "kind": "movie", "id": "1"}),
        json!({"provider": "url", "kind": "video", "id": "ftp://x.example/a"}),
    ];
    let check = |wire_type: &str, data: Value, code: ErrorCode| {
        let frame = json!({"type": wire_type, "data": data, "ref": "bad-1"});
        let err = client_error(&frame.to_string());
        assert_eq!(err.code(), code, "{frame}: {err}");
        assert_eq!(err.reference, Some(cref("bad-1")), "{frame}");
        let FrameError::InvalidData { event_type, .. } = &err.error else {
            panic!("{frame}: {err:?}")
        };
        assert_eq!(event_type, wire_type);
    };
    for (wire_type, data) in cases {
        check(wire_type, data, ErrorCode::InvalidMessage);
    }
    // A fault inside `media` answers as over HTTP.
    for media in bad_media {
        check(
            "SET_MEDIA",
            json!({"media": media}),
            ErrorCode::InvalidMedia,
        );
    }
}

#[test]
fn chat_length_is_counted_in_characters_after_trimming() {
    let chat = |text: &str| json!({"type": "CHAT", "data": {"text": text}, "ref": "c"}).to_string();
    let err = client_error(&chat(&"x".repeat(MAX_CHAT_CHARS + 1)));
    assert_eq!(err.code(), ErrorCode::MessageTooLong);
    assert_eq!(err.reference, Some(cref("c")));
    assert!(matches!(err.error, FrameError::InvalidData { .. }));
    let err = client_error(&chat(&"é".repeat(MAX_CHAT_CHARS + 1)));
    assert_eq!(err.code(), ErrorCode::MessageTooLong);
    let padded = format!("   {}\n\n", "é".repeat(MAX_CHAT_CHARS));
    let decoded = ClientMessage::decode(&chat(&padded)).unwrap();
    let ClientEvent::Chat(line) = decoded.event else {
        panic!("{decoded:?}")
    };
    assert_eq!(line.text.as_str(), "é".repeat(MAX_CHAT_CHARS));
    let err = client_error(&chat("   "));
    assert_eq!(err.code(), ErrorCode::InvalidMessage);
    assert_eq!(err.reference, Some(cref("c")));
}

#[test]
fn frames_that_are_not_an_object_with_a_string_type_are_malformed() {
    let cases = [
        ("", None),
        ("{", None),
        ("not json", None),
        (r#"{"type":"PLAY","data":{}} trailing"#, None),
        ("[]", None),
        (r#"[{"type":"PLAY"}]"#, None),
        ("5", None),
        ("null", None),
        (r#""PLAY""#, None),
        ("{}", None),
        (r#"{"type":5,"ref":"m"}"#, Some("m")),
        (r#"{"type":null,"data":{},"ref":"m"}"#, Some("m")),
        (r#"{"type":["PLAY"],"ref":"m"}"#, Some("m")),
        (r#"{"data":{"position_ms":1},"ref":"m"}"#, Some("m")),
        (r#"{"type":"PLAY","ref":5}"#, None),
    ];
    for (frame, reference) in cases {
        let err = client_error(frame);
        assert!(is_malformed(&err.error), "{frame:?}: {err:?}");
        assert_eq!(err.code(), ErrorCode::InvalidMessage, "{frame:?}");
        assert_eq!(err.reference, reference.map(cref), "{frame:?}");
    }
}

#[test]
fn a_json_array_is_never_a_client_frame() {
    for frame in [
        r#"["PLAY"]"#,
        r#"["RESYNC",{},"r"]"#,
        r#"["SEEK",{"position_ms":5}]"#,
    ] {
        let err = client_error(frame);
        assert!(is_malformed(&err.error), "{frame}: {err:?}");
    }
}

#[test]
fn ref_is_at_most_64_characters() {
    let ping = |r: &str| json!({"type": "PING", "data": {"client_ts": 1}, "ref": r}).to_string();
    let at_limit = "é".repeat(MAX_REF_CHARS);
    let decoded = ClientMessage::decode(&ping(&at_limit)).unwrap();
    assert_eq!(decoded.reference, Some(cref(&at_limit)));
    assert_eq!(value(&decoded.encode())["ref"], at_limit);
    let err = client_error(&ping(&"r".repeat(MAX_REF_CHARS + 1)));
    assert!(is_malformed(&err.error), "{err:?}");
    assert_eq!(err.code(), ErrorCode::InvalidMessage);
    assert_eq!(err.reference, None);
    let pong = json!({"client_ts": 1, "server_ts": 2});
    let reply = json!({"v": 1, "type": "PONG", "ts": TS, "ref": "r".repeat(65), "data": pong});
    let err = ServerMessage::decode(&reply.to_string()).unwrap_err();
    assert!(is_malformed(&err), "{err:?}");
}

#[test]
fn frames_over_16_kib_are_refused_unread() {
    let ping = |pad: usize| {
        let frame = json!({"type": "PING", "data": {"client_ts": 1}, "pad": "x".repeat(pad)});
        frame.to_string()
    };
    let room = MAX_FRAME_BYTES - ping(0).len();
    assert_eq!(ping(room).len(), MAX_FRAME_BYTES);
    let decoded = ClientMessage::decode(&ping(room)).unwrap();
    assert_eq!(decoded.event, ClientEvent::Ping(Ping::new(1)));
    let err = client_error(&ping(room + 1));
    assert_eq!(err.error, FrameError::TooLarge(MAX_FRAME_BYTES + 1));
    assert_eq!(err.code(), ErrorCode::InvalidMessage);
    // The limit is in bytes: 8 200 two-byte characters are over it.
    let wide = json!({"type": "CHAT", "data": {"text": "é".repeat(8_200)}}).to_string();
    assert_eq!(client_error(&wide).error, FrameError::TooLarge(wide.len()));
    // Server frames may be larger (a big room's snapshot), up to their own limit.
    let server_frame = |pad: usize| {
        let data = json!({"pad": "x".repeat(pad)});
        json!({"v": 1, "type": "HOST_RECONNECTED", "ts": TS, "data": data}).to_string()
    };
    assert!(ServerMessage::decode(&server_frame(MAX_FRAME_BYTES)).is_ok());
    let big = server_frame(MAX_SERVER_FRAME_BYTES);
    let err = ServerMessage::decode(&big).unwrap_err();
    assert_eq!(err, FrameError::TooLarge(big.len()));
}

#[test]
fn frames_nested_deeper_than_32_are_refused_unparsed() {
    // The envelope and `data` are two levels; arrays make up the rest.
    let nested = |levels: usize| {
        let arrays = (0..levels).fold(json!(1), |inner, _| json!([inner]));
        json!({"type": "RESYNC", "data": {"x": arrays}, "ref": "d"}).to_string()
    };
    assert!(ClientMessage::decode(&nested(MAX_JSON_DEPTH - 2)).is_ok());
    let err = client_error(&nested(MAX_JSON_DEPTH - 1));
    assert_eq!(err.error, FrameError::TooDeep);
    assert_eq!(err.code(), ErrorCode::InvalidMessage);
    let brackets = json!({"type": "CHAT", "data": {"text": "{[".repeat(100)}});
    let decoded = ClientMessage::decode(&brackets.to_string());
    assert!(decoded.is_ok(), "brackets inside strings are not nesting");
    let arrays = (0..MAX_JSON_DEPTH).fold(json!(1), |inner, _| json!([inner]));
    let deep = json!({"v": 1, "type": "NEW", "ts": TS, "data": {"x": arrays}}).to_string();
    assert_eq!(ServerMessage::decode(&deep), Err(FrameError::TooDeep));
}

fn snapshot() -> ServerEvent {
    let code = RoomCode::parse("ABCD2345").expect("a valid code");
    let name = RoomName::new("Movie night").expect("a valid name");
    let (state, mode) = (RoomState::Live, EntryMode::Approval);
    let mut room = Room::new(code, name, ada(), state, false, mode, true, 2, TS - 60_000);
    room.media = Some(movie());
    room.embed_url = Some("https://www.vidking.net/embed/movie/550".to_owned());
    let host = Participant::new(ada(), MemberStatus::Approved, true, true);
    let mut muted = Participant::new(bo(), MemberStatus::Approved, false, true);
    muted.muted_until_ms = Some(TS + 60_000);
    let you = You::new(bo(), false, Some(TS + 60_000));
    let text = ChatText::new("hi all").expect("a valid line");
    let chat = vec![ChatMessage::new(
        LINE.parse().expect("a UUID"),
        bo(),
        text,
        TS - 1_000,
    )];
    let snapshot = RoomSnapshot::new(room, you, vec![host, muted], playback(), chat, 41);
    ServerEvent::RoomSnapshot(Box::new(snapshot))
}

/// The snapshot, naming its history's epoch.
fn snapshot_with_epoch() -> ServerEvent {
    match snapshot() {
        ServerEvent::RoomSnapshot(snapshot) => {
            ServerEvent::RoomSnapshot(Box::new(snapshot.with_epoch("3f9c")))
        }
        other => other,
    }
}

fn with_epoch(mut snapshot: Value) -> Value {
    snapshot["epoch"] = json!("3f9c");
    snapshot
}

fn snapshot_json() -> Value {
    json!({
        "room": {
            "code": "ABCD2345", "name": "Movie night", "host": ada_json(), "state": "LIVE",
            "is_private": false, "entry_mode": "APPROVAL", "chat_enabled": true,
            "media": movie_json(), "embed_url": "https://www.vidking.net/embed/movie/550",
            "viewers": 2, "created_at_ms": TS - 60_000
        },
        "you": {"user": bo_json(), "is_host": false, "muted_until_ms": TS + 60_000},
        "participants": [
            {"user": ada_json(), "status": "APPROVED", "is_host": true, "online": true},
            {"user": bo_json(), "status": "APPROVED", "is_host": false, "online": true, "muted_until_ms": TS + 60_000}
        ],
        "playback": playback_json(),
        "chat": [{"id": LINE, "user": bo_json(), "text": "hi all", "sent_at_ms": TS - 1_000}],
        "seq": 41
    })
}

fn server_cases() -> Vec<(Value, ServerMessage)> {
    use ServerEvent as E;
    let broadcast = |seq, event| ServerMessage::broadcast(seq, TS, event);
    let reply = |r: Option<&str>, event| ServerMessage::reply(r.map(cref), TS, event);
    let mut chat_off = RoomUpdate::default();
    chat_off.chat_enabled = Some(false);
    let mut grace = RoomUpdate::default();
    grace.state = Some(RoomState::Grace);
    grace.grace_deadline_ms = Some(TS + 300_000);
    grace.viewers = Some(1);
    let mut renamed = RoomUpdate::default();
    renamed.name = Some(RoomName::new("Late show").expect("a valid name"));
    renamed.is_private = Some(true);
    renamed.entry_mode = Some(EntryMode::Password);
    let error = |code, message| E::Error(ErrorEvent::new(code, message));
    let mut limited = ErrorEvent::new(ErrorCode::RateLimited, "slow down");
    limited.retry_after_ms = Some(10_000);
    let mut conflict = ErrorEvent::new(ErrorCode::VersionConflict, "moved on");
    conflict.current = Some(playback());
    let welcome = ChatText::new("welcome").expect("a valid line");
    let line = ChatMessage::new(LINE.parse().expect("a UUID"), ada(), welcome, TS);
    let correction = |drift| E::SyncCorrection(SyncCorrection::new(playback(), drift));
    #[rustfmt::skip]
    let mut cases = vec![
        (json!({"v": 1, "type": "ROOM_SNAPSHOT", "ts": TS, "data": snapshot_json()}), reply(None, snapshot())),
        (json!({"v": 1, "type": "ROOM_SNAPSHOT", "ts": TS, "ref": "r-7", "data": snapshot_json()}), reply(Some("r-7"), snapshot())),
        (json!({"v": 1, "type": "ROOM_SNAPSHOT", "ts": TS, "data": with_epoch(snapshot_json())}), reply(None, snapshot_with_epoch())),
        (json!({"v": 1, "type": "ROOM_RESUMED", "ts": TS, "data": {"epoch": "3f9c", "since_seq": 41, "replayed": 5}}),
            reply(None, ServerEvent::RoomResumed(RoomResumed::new("3f9c", 41, 5)))),
        (json!({"v": 1, "type": "CHAT_MESSAGE", "seq": 43, "ts": TS, "data": {"id": LINE, "user": ada_json(), "text": "welcome", "sent_at_ms": TS}}),
            broadcast(43, E::ChatMessage(line))),
        (json!({"v": 1, "type": "USER_JOINED", "seq": 44, "ts": TS, "data": {"user": bo_json(), "viewers": 3}}),
            broadcast(44, E::UserJoined(UserJoined::new(bo(), 3)))),
        (json!({"v": 1, "type": "HOST_DISCONNECTED", "seq": 45, "ts": TS, "data": {"grace_seconds": 300, "grace_deadline_ms": TS + 300_000}}),
            broadcast(45, E::HostDisconnected(HostDisconnected::new(300, TS + 300_000)))),
        (json!({"v": 1, "type": "ROOM_UPDATED", "seq": 46, "ts": TS, "data": {"chat_enabled": false}}), broadcast(46, E::RoomUpdated(chat_off))),
        (json!({"v": 1, "type": "ROOM_UPDATED", "seq": 47, "ts": TS, "data": {"state": "GRACE", "grace_deadline_ms": TS + 300_000, "viewers": 1}}),
            broadcast(47, E::RoomUpdated(grace))),
        (json!({"v": 1, "type": "ROOM_UPDATED", "seq": 48, "ts": TS, "data": {"name": "Late show", "is_private": true, "entry_mode": "PASSWORD"}}),
            broadcast(48, E::RoomUpdated(renamed))),
        (json!({"v": 1, "type": "MEDIA_CHANGED", "seq": 49, "ts": TS, "data": {"media": tv_json(), "embed_url": TV_URL}}),
            broadcast(49, E::MediaChanged(MediaChanged::new(tv(), TV_URL.to_owned())))),
        (json!({"v": 1, "type": "HOST_CHANGED", "seq": 50, "ts": TS, "data": {"host": bo_json()}}), broadcast(50, E::HostChanged(HostChanged::new(bo())))),
        (json!({"v": 1, "type": "USER_MUTED", "seq": 51, "ts": TS, "data": {"user": bo_json(), "until_ms": TS + 600_000}}),
            broadcast(51, E::UserMuted(Moderation::new(bo(), Some(TS + 600_000))))),
        (json!({"v": 1, "type": "JOIN_REQUESTED", "ts": TS, "data": {"user": bo_json()}}), reply(None, E::JoinRequested(JoinRequested::new(bo())))),
        (json!({"v": 1, "type": "PONG", "ts": TS, "ref": "p1", "data": {"client_ts": 123_456, "server_ts": TS}}),
            reply(Some("p1"), E::Pong(Pong::new(123_456, TS)))),
        (json!({"v": 1, "type": "SYNC_CORRECTION", "ts": TS, "ref": "s1", "data": {"playback": playback_json(), "drift_ms": -750}}),
            reply(Some("s1"), correction(-750))),
        (json!({"v": 1, "type": "SYNC_CORRECTION", "ts": TS, "data": {"playback": playback_json(), "drift_ms": 1_200}}), reply(None, correction(1_200))),
        (json!({"v": 1, "type": "ERROR", "ts": TS, "ref": "c1", "data": {"code": "NOT_HOST", "message": "host only"}}),
            reply(Some("c1"), error(ErrorCode::NotHost, "host only"))),
        (json!({"v": 1, "type": "ERROR", "ts": TS, "ref": "c3", "data": {"code": "RATE_LIMITED", "message": "slow down", "retry_after_ms": 10_000}}),
            reply(Some("c3"), E::Error(limited))),
        (json!({"v": 1, "type": "ERROR", "ts": TS, "ref": "c4", "data": {"code": "VERSION_CONFLICT", "message": "moved on", "current": playback_json()}}),
            reply(Some("c4"), E::Error(conflict))),
        (json!({"v": 1, "type": "ERROR", "ts": TS, "data": {"code": "UNKNOWN_EVENT", "message": "no DANCE"}}),
            reply(None, error(ErrorCode::UnknownEvent, "no DANCE"))),
    ];
    let causes = [
        ("PLAY", PlaybackCause::Play),
        ("PAUSE", PlaybackCause::Pause),
        ("SEEK", PlaybackCause::Seek),
        ("RATE", PlaybackCause::Rate),
        ("MEDIA", PlaybackCause::Media),
    ];
    for (wire_cause, cause) in causes {
        let mut data = playback_json();
        data["cause"] = json!(wire_cause);
        data["by"] = json!(ADA);
        let wire = json!({"v": 1, "type": "PLAYBACK_STATE", "seq": 42, "ts": TS, "data": data});
        let state = PlaybackState::new(playback(), cause, uid(ADA));
        cases.push((wire, broadcast(42, E::PlaybackState(state))));
    }
    let reasons = [
        ("left", LeaveReason::Left),
        ("kicked", LeaveReason::Kicked),
        ("banned", LeaveReason::Banned),
        ("timeout", LeaveReason::Timeout),
    ];
    for (wire_reason, reason) in reasons {
        let data = json!({"user": bo_json(), "reason": wire_reason, "viewers": 1});
        let wire = json!({"v": 1, "type": "USER_LEFT", "seq": 52, "ts": TS, "data": data});
        let left = UserLeft::new(bo(), reason, 1);
        cases.push((wire, broadcast(52, E::UserLeft(left))));
    }
    let presence = json!({"joined": [bo_json()],
        "left": [{"user": bo_json(), "reason": "kicked"}], "viewers": 400});
    cases.push((
        json!({"v": 1, "type": "PRESENCE_CHANGED", "seq": 53, "ts": TS, "data": presence}),
        broadcast(
            53,
            E::PresenceChanged(PresenceChanged::new(
                vec![bo()],
                vec![Departure::new(bo(), LeaveReason::Kicked)],
                400,
            )),
        ),
    ));
    let crowded = json!({"joined": [bo_json()], "left": [], "viewers": 1630,
        "joined_total": 1200, "left_total": 3});
    cases.push((
        json!({"v": 1, "type": "PRESENCE_CHANGED", "seq": 53, "ts": TS, "data": crowded}),
        broadcast(
            53,
            E::PresenceChanged(PresenceChanged::new(vec![bo()], vec![], 1630).with_totals(1200, 3)),
        ),
    ));
    let empty = [
        (
            "HOST_RECONNECTED",
            E::HostReconnected as fn(Empty) -> ServerEvent,
        ),
        ("ROOM_EXPIRED", E::RoomExpired),
        ("ROOM_DELETED", E::RoomDeleted),
    ];
    for (wire_type, variant) in empty {
        let wire = json!({"v": 1, "type": wire_type, "seq": 53, "ts": TS, "data": {}});
        cases.push((wire, broadcast(53, variant(Empty {}))));
    }
    let moderation = [
        ("USER_MUTED", E::UserMuted as fn(Moderation) -> ServerEvent),
        ("USER_UNMUTED", E::UserUnmuted),
        ("USER_KICKED", E::UserKicked),
        ("USER_BANNED", E::UserBanned),
    ];
    for (wire_type, variant) in moderation {
        let data = json!({"user": bo_json()});
        let wire = json!({"v": 1, "type": wire_type, "seq": 54, "ts": TS, "data": data});
        cases.push((wire, broadcast(54, variant(Moderation::new(bo(), None)))));
    }
    cases
}

#[test]
fn every_server_event_round_trips() {
    let cases = server_cases();
    for (wire, expected) in &cases {
        let decoded = ServerMessage::decode(&wire.to_string()).unwrap();
        assert_eq!(&decoded, expected, "decoding {wire}");
        assert_eq!(&value(&decoded.encode()), wire, "encoding {expected:?}");
    }
    let covered: BTreeSet<&str> = cases.iter().map(|(_, m)| m.event.event_type()).collect();
    let all: BTreeSet<&str> = ServerEvent::TYPES.iter().copied().collect();
    assert_eq!(covered, all, "every server event has a case");
}

#[test]
fn envelopes_are_written_in_protocol_order() {
    let broadcast = ServerMessage::broadcast(3, TS, ServerEvent::HostReconnected(Empty {}));
    let expected = r#"{"v":1,"type":"HOST_RECONNECTED","seq":3,"ts":1700000000000,"data":{}}"#;
    assert_eq!(broadcast.encode(), expected);
    let reply = ServerMessage::reply(Some(cref("p")), TS, ServerEvent::Pong(Pong::new(1, 2)));
    let expected = r#"{"v":1,"type":"PONG","ts":1700000000000,"ref":"p","data":{"client_ts":1,"server_ts":2}}"#;
    assert_eq!(reply.encode(), expected);
    let resync = ClientMessage::with_ref(ClientEvent::Resync(Resync::snapshot()), cref("r"));
    assert_eq!(resync.encode(), r#"{"type":"RESYNC","data":{},"ref":"r"}"#);
}

#[test]
fn server_decoding_accepts_what_the_protocol_allows() {
    // (input, what the encoder writes back for it)
    #[rustfmt::skip]
    let cases = [
        (json!({"v": 1, "type": "HOST_RECONNECTED", "seq": 9, "ts": TS}), json!({"v": 1, "type": "HOST_RECONNECTED", "seq": 9, "ts": TS, "data": {}})),
        (json!({"v": 1, "type": "ROOM_DELETED", "seq": null, "ts": TS, "ref": null, "data": null}), json!({"v": 1, "type": "ROOM_DELETED", "ts": TS, "data": {}})),
        (json!({"v": 1, "type": "PONG", "ts": TS, "node": "eu-1", "data": {"client_ts": 1, "server_ts": 2, "rtt_hint": 3}}),
            json!({"v": 1, "type": "PONG", "ts": TS, "data": {"client_ts": 1, "server_ts": 2}})),
        (json!({"v": 1, "type": "USER_MUTED", "seq": 1, "ts": TS, "data": {"user": bo_json(), "until_ms": null}}),
            json!({"v": 1, "type": "USER_MUTED", "seq": 1, "ts": TS, "data": {"user": bo_json()}})),
    ];
    for (input, canonical) in cases {
        let decoded = ServerMessage::decode(&input.to_string()).unwrap();
        assert_eq!(value(&decoded.encode()), canonical, "{input}");
    }
    let mut lower = json!({"v": 1, "type": "ROOM_SNAPSHOT", "ts": TS, "data": snapshot_json()});
    lower["data"]["room"]["code"] = json!("abcd2345");
    let decoded = ServerMessage::decode(&lower.to_string()).unwrap();
    let ServerEvent::RoomSnapshot(snapshot) = &decoded.event else {
        panic!("{decoded:?}")
    };
    assert_eq!(snapshot.room.code, RoomCode::parse("ABCD2345").unwrap());
    assert_eq!(value(&decoded.encode())["data"]["room"]["code"], "ABCD2345");
    let data = json!({"code": "SOMETHING_NEW", "message": "?"});
    let newer = json!({"v": 1, "type": "ERROR", "ts": TS, "data": data});
    let decoded = ServerMessage::decode(&newer.to_string()).unwrap();
    let ServerEvent::Error(error) = decoded.event else {
        panic!("{decoded:?}")
    };
    assert_eq!(error.code, ErrorCode::Unknown);
}

#[test]
fn unknown_server_events_are_kept_whole() {
    #[rustfmt::skip]
    let cases = [
        json!({"v": 1, "type": "CONFETTI", "seq": 60, "ts": TS, "data": {"colour": "gold", "bursts": [1, 2.5, null]}}),
        json!({"v": 1, "type": "POLL_RESULT", "ts": TS, "ref": "q1", "data": {}}),
        json!({"v": 1, "type": "PLAY", "ts": TS, "data": {"position_ms": 1}}),
        json!({"v": 1, "type": "pong", "ts": TS, "data": {"client_ts": "anything"}}),
    ];
    for wire in cases {
        let decoded = ServerMessage::decode(&wire.to_string()).unwrap();
        let ServerEvent::Unknown(unknown) = &decoded.event else {
            panic!("{decoded:?}")
        };
        assert_eq!(unknown.event_type, wire["type"]);
        assert_eq!(unknown.data, wire["data"]);
        assert_eq!(decoded.event.event_type(), wire["type"]);
        assert_eq!(decoded.seq, wire["seq"].as_u64());
        assert_eq!(decoded.reference, wire["ref"].as_str().map(cref));
        assert_eq!(value(&decoded.encode()), wire);
    }
}

#[test]
fn server_frames_of_another_version_are_refused() {
    let pong = |v: Value| {
        let data = json!({"client_ts": 1, "server_ts": 2});
        json!({"v": v, "type": "PONG", "ts": TS, "data": data}).to_string()
    };
    let err = ServerMessage::decode(&pong(json!(2))).unwrap_err();
    assert_eq!(err, FrameError::UnsupportedVersion(2));
    assert_eq!(err.code(), ErrorCode::InvalidMessage);
    let err = ServerMessage::decode(&pong(json!(0))).unwrap_err();
    assert_eq!(err, FrameError::UnsupportedVersion(0));
    assert!(is_malformed(
        &ServerMessage::decode(&pong(json!("1"))).unwrap_err()
    ));
}

#[test]
fn bad_server_frames_are_refused() {
    #[rustfmt::skip]
    let malformed = [
        json!({"type": "PONG", "ts": TS, "data": {"client_ts": 1, "server_ts": 2}}),
        json!({"v": 1, "type": "PONG", "data": {"client_ts": 1, "server_ts": 2}}),
        json!({"v": 1, "ts": TS, "data": {}}),
        json!({"v": 1, "type": 5, "ts": TS, "data": {}}),
        json!({"v": 1, "type": "HOST_RECONNECTED", "seq": "7", "ts": TS}),
        json!({"v": 1, "type": "HOST_RECONNECTED", "ts": -1}),
        json!([1, "HOST_RECONNECTED"]),
        json!("HOST_RECONNECTED"),
    ];
    for frame in malformed {
        let err = ServerMessage::decode(&frame.to_string()).unwrap_err();
        assert!(is_malformed(&err), "{frame}: {err:?}");
    }
    assert!(is_malformed(
        &ServerMessage::decode("{\"v\":1,").unwrap_err()
    ));
    let mut bad_code = json!({"v": 1, "type": "ROOM_SNAPSHOT", "ts": TS, "data": snapshot_json()});
    bad_code["data"]["room"]["code"] = json!("ABCD234O");
    let mut too_fast = playback_json();
    too_fast["rate"] = json!(5.0);
    too_fast["cause"] = json!("RATE");
    too_fast["by"] = json!(ADA);
    #[rustfmt::skip]
    let invalid = [
        bad_code,
        json!({"v": 1, "type": "PLAYBACK_STATE", "seq": 1, "ts": TS, "data": too_fast}),
        json!({"v": 1, "type": "PONG", "ts": TS, "data": {"client_ts": 1}}),
        json!({"v": 1, "type": "USER_LEFT", "seq": 1, "ts": TS, "data": {"user": bo_json(), "reason": "vanished", "viewers": 0}}),
        json!({"v": 1, "type": "CHAT_MESSAGE", "seq": 1, "ts": TS, "data": {"id": LINE, "user": bo_json(), "text": "  ", "sent_at_ms": 1}}),
    ];
    for frame in invalid {
        let err = ServerMessage::decode(&frame.to_string()).unwrap_err();
        let FrameError::InvalidData {
            event_type, code, ..
        } = &err
        else {
            panic!("{frame}: {err:?}")
        };
        assert_eq!(event_type, frame["type"].as_str().unwrap());
        assert_eq!(*code, ErrorCode::InvalidMessage);
    }
}

#[test]
fn presence_totals_are_said_only_where_the_lists_name_fewer() {
    let whole = PresenceChanged::new(vec![bo()], vec![], 5).with_totals(1, 0);
    let wire = serde_json::to_value(&whole).expect("encodes");
    assert_eq!(
        wire,
        json!({"joined": [bo_json()], "left": [], "viewers": 5})
    );
    assert_eq!((whole.joined_count(), whole.left_count()), (1, 0));

    let partial = PresenceChanged::new(vec![bo()], vec![], 5).with_totals(1, 4);
    assert_eq!((partial.joined_total, partial.left_total), (None, Some(4)));
    assert_eq!((partial.joined_count(), partial.left_count()), (1, 4));
}
