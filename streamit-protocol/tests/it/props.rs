//! Property tests: every valid value survives encode → decode unchanged and its frame is valid
//! against the checked-in JSON Schema clients generate from, and no input, however hostile,
//! panics a decoder.

use proptest::prelude::*;
use serde_json::{Value, json};
use streamit_protocol::v1::*;
use uuid::Uuid;

use crate::valid::violations;

fn position() -> impl Strategy<Value = PositionMs> + Clone {
    (0..=PositionMs::MAX.get()).prop_map(|ms| PositionMs::new(ms).unwrap())
}

fn rate() -> impl Strategy<Value = Rate> + Clone {
    (Rate::MIN..=Rate::MAX).prop_map(|r| Rate::new(r).unwrap())
}

fn user_id() -> impl Strategy<Value = UserId> + Clone {
    any::<u128>().prop_map(|n| UserId::from_uuid(Uuid::from_u128(n)))
}

fn timestamp() -> impl Strategy<Value = u64> + Clone {
    0..(1u64 << 53)
}

fn user() -> impl Strategy<Value = UserRef> + Clone {
    (user_id(), "[A-Za-z0-9 éü-]{1,32}").prop_filter_map("a valid name", |(id, name)| {
        Some(UserRef::new(id, DisplayName::new(&name).ok()?))
    })
}

fn chat_text() -> impl Strategy<Value = ChatText> + Clone {
    "[^\\p{Cc}]{1,40}( [^\\p{Cc}]{1,40}){0,3}"
        .prop_filter_map("a valid line", |s| ChatText::new(&s).ok())
}

fn catalog_id() -> impl Strategy<Value = String> + Clone {
    "[A-Za-z0-9_-]{1,64}"
}

fn media() -> impl Strategy<Value = MediaRef> + Clone {
    prop_oneof![
        catalog_id().prop_map(|id| MediaRef::from_parts(
            Provider::Vidking,
            MediaKind::Movie,
            &id,
            None,
            None
        )),
        (catalog_id(), 1..500u32, 1..500u32).prop_map(|(id, s, e)| {
            MediaRef::from_parts(Provider::Vidking, MediaKind::Tv, &id, Some(s), Some(e))
        }),
        catalog_id().prop_map(|id| MediaRef::from_parts(
            Provider::Youtube,
            MediaKind::Video,
            &id,
            None,
            None
        )),
        "https?://[a-z0-9.-]{1,30}(/[a-zA-Z0-9._~%-]{0,20}){0,4}(\\?[a-z=&0-9]{0,20})?".prop_map(
            |url| { MediaRef::from_parts(Provider::Url, MediaKind::Video, &url, None, None) }
        ),
    ]
    .prop_map(|media| media.unwrap())
}

fn playback() -> impl Strategy<Value = Playback> + Clone {
    (any::<bool>(), position(), rate(), timestamp(), timestamp()).prop_map(
        |(playing, pos, rate, at, version)| Playback::new(playing, pos, rate, at, version),
    )
}

fn client_event() -> impl Strategy<Value = ClientEvent> + Clone {
    let expected = proptest::option::of(timestamp());
    prop_oneof![
        (proptest::option::of(position()), expected.clone()).prop_map(|(p, v)| {
            let mut data = PlayPause::new(p);
            data.expected_version = v;
            ClientEvent::Play(data)
        }),
        proptest::option::of(position()).prop_map(|p| ClientEvent::Pause(PlayPause::new(p))),
        (position(), expected.clone()).prop_map(|(p, v)| {
            let mut data = Seek::new(p);
            data.expected_version = v;
            ClientEvent::Seek(data)
        }),
        (rate(), expected).prop_map(|(r, v)| {
            let mut data = SetRate::new(r);
            data.expected_version = v;
            ClientEvent::SetRate(data)
        }),
        media().prop_map(|m| ClientEvent::SetMedia(SetMedia::new(m))),
        chat_text().prop_map(|t| ClientEvent::Chat(Chat::new(t))),
        any::<bool>().prop_map(|e| ClientEvent::SetChatEnabled(SetChatEnabled::new(e))),
        (
            user_id(),
            proptest::option::of(1..=MuteDuration::MAX_SECONDS)
        )
            .prop_map(|(u, d)| {
                ClientEvent::MuteUser(MuteUser::new(u, d.map(|d| MuteDuration::new(d).unwrap())))
            }),
        user_id().prop_map(|u| ClientEvent::UnmuteUser(UserTarget::new(u))),
        user_id().prop_map(|u| ClientEvent::KickUser(UserTarget::new(u))),
        user_id().prop_map(|u| ClientEvent::BanUser(UserTarget::new(u))),
        user_id().prop_map(|u| ClientEvent::TransferHost(UserTarget::new(u))),
        (
            prop_oneof![
                Just(PlayerEventKind::Progress),
                Just(PlayerEventKind::Ended),
                Just(PlayerEventKind::Buffering),
                Just(PlayerEventKind::Ready)
            ],
            position(),
            proptest::option::of(position())
        )
            .prop_map(|(k, p, d)| ClientEvent::PlayerEvent(PlayerEvent::new(k, p, d))),
        timestamp().prop_map(|t| ClientEvent::Ping(Ping::new(t))),
        position().prop_map(|p| ClientEvent::SyncCheck(SyncCheck::new(p))),
        Just(ClientEvent::Resync(Resync::snapshot())),
    ]
}

fn client_ref() -> impl Strategy<Value = Option<ClientRef>> + Clone {
    proptest::option::of("\\PC{0,64}".prop_map(|s| ClientRef::new(s).unwrap()))
}

fn room() -> impl Strategy<Value = Room> + Clone {
    let code = proptest::array::uniform8(any::<u32>()).prop_map(|n| {
        let mut i = 0;
        RoomCode::generate(|| {
            i += 1;
            n[i - 1]
        })
    });
    let state = prop_oneof![
        Just(RoomState::Created),
        Just(RoomState::Live),
        Just(RoomState::Grace),
        Just(RoomState::Expired),
        Just(RoomState::Deleted)
    ];
    let mode = prop_oneof![
        Just(EntryMode::Open),
        Just(EntryMode::Password),
        Just(EntryMode::Approval)
    ];
    (
        code,
        "[a-zA-Z0-9 ]{0,63}[a-z]",
        user(),
        state,
        mode,
        any::<(bool, bool)>(),
        any::<u32>(),
        timestamp(),
    )
        .prop_flat_map(
            |(code, name, host, state, mode, (private, chat), viewers, at)| {
                let room = Room::new(
                    code,
                    RoomName::new(&name).unwrap(),
                    host,
                    state,
                    private,
                    mode,
                    chat,
                    viewers,
                    at,
                );
                (
                    Just(room),
                    proptest::option::of(media()),
                    proptest::option::of(timestamp()),
                )
            },
        )
        .prop_map(|(mut room, media, deadline)| {
            room.embed_url = media
                .as_ref()
                .map(|m| format!("https://embed.example/{}", m.id()));
            room.media = media;
            room.grace_deadline_ms = deadline;
            room
        })
}

fn server_event() -> impl Strategy<Value = ServerEvent> + Clone {
    let cause = prop_oneof![
        Just(PlaybackCause::Play),
        Just(PlaybackCause::Pause),
        Just(PlaybackCause::Seek),
        Just(PlaybackCause::Rate),
        Just(PlaybackCause::Media)
    ];
    let reason = prop_oneof![
        Just(LeaveReason::Left),
        Just(LeaveReason::Kicked),
        Just(LeaveReason::Banned),
        Just(LeaveReason::Timeout)
    ];
    let chat = (any::<u128>(), user(), chat_text(), timestamp()).prop_map(|(id, u, t, at)| {
        ChatMessage::new(MessageId::from_uuid(Uuid::from_u128(id)), u, t, at)
    });
    let participant = (
        user(),
        any::<(bool, bool, bool)>(),
        proptest::option::of(timestamp()),
    )
        .prop_map(|(u, (approved, host, online), muted)| {
            let status = if approved {
                MemberStatus::Approved
            } else {
                MemberStatus::Pending
            };
            let mut p = Participant::new(u, status, host, online);
            p.muted_until_ms = muted;
            p
        });
    let snapshot = (
        room(),
        user(),
        any::<bool>(),
        proptest::collection::vec(participant, 0..4),
        playback(),
        proptest::collection::vec(chat.clone(), 0..4),
        timestamp(),
    )
        .prop_map(|(room, you, host, people, playback, chat, seq)| {
            ServerEvent::RoomSnapshot(Box::new(RoomSnapshot::new(
                room,
                You::new(you, host, None),
                people,
                playback,
                chat,
                seq,
            )))
        });
    let error_code = proptest::sample::select(ErrorCode::ALL);
    prop_oneof![
        snapshot,
        (playback(), cause, user_id())
            .prop_map(|(p, c, by)| ServerEvent::PlaybackState(PlaybackState::new(p, c, by))),
        chat.prop_map(ServerEvent::ChatMessage),
        (user(), any::<u32>()).prop_map(|(u, n)| ServerEvent::UserJoined(UserJoined::new(u, n))),
        (user(), reason, any::<u32>())
            .prop_map(|(u, r, n)| ServerEvent::UserLeft(UserLeft::new(u, r, n))),
        (any::<u32>(), timestamp())
            .prop_map(|(s, d)| ServerEvent::HostDisconnected(HostDisconnected::new(s, d))),
        Just(ServerEvent::HostReconnected(Empty {})),
        Just(ServerEvent::RoomExpired(Empty {})),
        Just(ServerEvent::RoomDeleted(Empty {})),
        (
            proptest::option::of(any::<bool>()),
            proptest::option::of(any::<u32>())
        )
            .prop_map(|(chat, viewers)| {
                let mut update = RoomUpdate::default();
                update.chat_enabled = chat;
                update.viewers = viewers;
                ServerEvent::RoomUpdated(update)
            }),
        media().prop_map(|m| {
            let url = format!("https://embed.example/{}", m.id());
            ServerEvent::MediaChanged(MediaChanged::new(m, url))
        }),
        user().prop_map(|u| ServerEvent::HostChanged(HostChanged::new(u))),
        (user(), proptest::option::of(timestamp()))
            .prop_map(|(u, t)| ServerEvent::UserMuted(Moderation::new(u, t))),
        user().prop_map(|u| ServerEvent::UserBanned(Moderation::new(u, None))),
        user().prop_map(|u| ServerEvent::JoinRequested(JoinRequested::new(u))),
        (timestamp(), timestamp()).prop_map(|(c, s)| ServerEvent::Pong(Pong::new(c, s))),
        (playback(), -86_400_000i64..=86_400_000)
            .prop_map(|(p, d)| ServerEvent::SyncCorrection(SyncCorrection::new(p, d))),
        (
            error_code,
            "\\PC{0,80}",
            proptest::option::of(timestamp()),
            proptest::option::of(playback())
        )
            .prop_map(|(code, message, retry, current)| {
                let mut error = ErrorEvent::new(code, message);
                error.retry_after_ms = retry;
                error.current = current;
                ServerEvent::Error(error)
            }),
    ]
}

/// Random JSON, nested up to a few levels, with object keys that often hit real field names.
fn json_value() -> impl Strategy<Value = Value> + Clone {
    let key = prop_oneof![
        Just("type".to_owned()),
        Just("data".to_owned()),
        Just("ref".to_owned()),
        Just("position_ms".to_owned()),
        Just("text".to_owned()),
        Just("media".to_owned()),
        "[a-z_]{1,12}",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        "\\PC{0,20}".prop_map(Value::String),
        proptest::sample::select(ClientEvent::TYPES).prop_map(|t| Value::String(t.to_owned())),
        proptest::sample::select(ServerEvent::TYPES).prop_map(|t| Value::String(t.to_owned())),
    ];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::btree_map(key.clone(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn client_messages_round_trip(event in client_event(), reference in client_ref()) {
        let message = match reference {
            Some(r) => ClientMessage::with_ref(event, r),
            None => ClientMessage::new(event),
        };
        let encoded = message.encode();
        let violations = violations("ClientMessage", &serde_json::from_str(&encoded).unwrap());
        prop_assert!(violations.is_empty(), "{}: {:?}", encoded, violations);
        let decoded = ClientMessage::decode(&encoded).unwrap();
        prop_assert_eq!(decoded, message);
    }

    #[test]
    fn server_messages_round_trip(event in server_event(), seq in proptest::option::of(timestamp()), ts in timestamp(), reference in client_ref()) {
        let mut message = ServerMessage::reply(reference, ts, event);
        message.seq = seq;
        let encoded = message.encode();
        let violations = violations("ServerMessage", &serde_json::from_str(&encoded).unwrap());
        prop_assert!(violations.is_empty(), "{}: {:?}", encoded, violations);
        let decoded = ServerMessage::decode(&encoded).unwrap();
        prop_assert_eq!(decoded, message);
    }

    #[test]
    fn any_text_is_safe_to_decode(text in "\\PC{0,200}") {
        let _ = ClientMessage::decode(&text);
        let _ = ServerMessage::decode(&text);
    }

    #[test]
    fn random_json_frames_decode_or_fail_cleanly(data in json_value(), kind in proptest::sample::select(ClientEvent::TYPES), server_kind in proptest::sample::select(ServerEvent::TYPES)) {
        let client = json!({"type": kind, "data": data, "ref": "r"}).to_string();
        match ClientMessage::decode(&client) {
            Ok(message) => prop_assert_eq!(ClientMessage::decode(&message.encode()).unwrap(), message),
            Err(error) => prop_assert!(matches!(error.code(), ErrorCode::InvalidMessage | ErrorCode::MessageTooLong | ErrorCode::InvalidMedia)),
        }
        let server = json!({"v": 1, "type": server_kind, "ts": 1, "data": data}).to_string();
        if let Ok(message) = ServerMessage::decode(&server) {
            prop_assert_eq!(ServerMessage::decode(&message.encode()).unwrap(), message);
        }
        let _ = ClientMessage::decode(&data.to_string());
    }

    #[test]
    fn position_never_rewinds_or_overflows(p in playback(), a in any::<u64>(), b in any::<u64>()) {
        let (early, late) = (a.min(b), a.max(b));
        prop_assert!(p.position_at(early) <= p.position_at(late));
        prop_assert!(p.position_at(late) <= PositionMs::MAX);
    }
}
