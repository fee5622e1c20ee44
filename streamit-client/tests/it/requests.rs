//! Every body, query and client event an app sends, built from outside the protocol crate with
//! each combination of its optional fields.
//!
//! The protocol's structs are `#[non_exhaustive]`, so struct literals (and `..Default::default()`)
//! do not compile here: this is what an app can write, and each body is checked on the wire.

use serde::Serialize;
use serde_json::{Value, json};
use streamit_client::protocol::v1::{
    AccessToken, Chat, ChatText, ClientEvent, ClientMessage, ClientRef, Color, CreateRoomRequest,
    DisplayName, Email, EmbedOptions, EmbedRequest, EntryMode, GuestRequest, JoinRoomRequest,
    LoginRequest, LogoutRequest, MediaKind, MediaRef, MuteDuration, MuteUser, PageLimit,
    ParticipantsCursor, ParticipantsQuery, Password, Ping, PlayPause, PlayerEvent, PlayerEventKind,
    PositionMs, ProgressQuery, Provider, PublicRoomsCursor, PublicRoomsQuery, Rate, RefreshRequest,
    RefreshToken, RegisterRequest, Resync, RoomCode, RoomCodeRequest, RoomName, RoomPassword,
    RoomUserRequest, SaveProgressRequest, Seconds, Seek, SetChatEnabled, SetMedia, SetRate,
    SyncCheck, TokenPair, UserId, UserTarget,
};

const USER: &str = "67e55044-10b1-426f-9247-bb680e5fe0c8";
/// `3.1700000000000.ABCD2345`: a page that ended on a room with 3 viewers.
const ROOMS_CURSOR: &str = "My4xNzAwMDAwMDAwMDAwLkFCQ0QyMzQ1";

fn wire(value: &impl Serialize) -> Value {
    serde_json::to_value(value).unwrap()
}

fn code() -> RoomCode {
    RoomCode::parse("ABCD2345").unwrap()
}

fn user() -> UserId {
    USER.parse().unwrap()
}

fn movie() -> MediaRef {
    MediaRef::from_parts(Provider::Vidking, MediaKind::Movie, "550", None, None).unwrap()
}

fn episode() -> MediaRef {
    MediaRef::from_parts(Provider::Vidking, MediaKind::Tv, "1399", Some(1), Some(2)).unwrap()
}

fn position(ms: u64) -> PositionMs {
    PositionMs::new(ms).unwrap()
}

#[test]
fn auth_bodies() {
    let email = Email::new("ada@example.com").unwrap();
    let password = Password::new("correct horse").unwrap();
    let name = DisplayName::new("Ada").unwrap();
    assert_eq!(
        wire(&RegisterRequest::new(
            email.clone(),
            password.clone(),
            name.clone()
        )),
        json!({"email": "ada@example.com", "password": "correct horse", "display_name": "Ada"})
    );
    assert_eq!(
        wire(&LoginRequest::new(email, password)),
        json!({"email": "ada@example.com", "password": "correct horse"})
    );
    assert_eq!(wire(&GuestRequest::new(None)), json!({}));
    assert_eq!(
        wire(&GuestRequest::new(Some(name))),
        json!({"display_name": "Ada"})
    );
    let refresh = RefreshToken::new("r.t").unwrap();
    assert_eq!(
        wire(&RefreshRequest::new(refresh.clone())),
        json!({"refresh": "r.t"})
    );
    assert_eq!(wire(&LogoutRequest::new(None)), json!({}));
    assert_eq!(
        wire(&LogoutRequest::new(Some(refresh.clone()))),
        json!({"refresh": "r.t"})
    );
    let saved = TokenPair::new(
        AccessToken::new("a.b.c").unwrap(),
        refresh,
        1_700_000_000_000,
    );
    assert_eq!(
        wire(&saved),
        json!({"access": "a.b.c", "refresh": "r.t", "access_expires_at_ms": 1_700_000_000_000_u64})
    );
}

#[test]
fn room_bodies() {
    assert_eq!(wire(&CreateRoomRequest::default()), json!({}));
    let every = CreateRoomRequest::default()
        .with_name(RoomName::new("Movie night").unwrap())
        .with_private(true)
        .with_entry_mode(EntryMode::Password)
        .with_password(RoomPassword::new("sesame").unwrap())
        .with_chat_enabled(false)
        .with_media(movie());
    assert_eq!(
        wire(&every),
        json!({"name": "Movie night", "is_private": true, "entry_mode": "PASSWORD",
               "password": "sesame", "chat_enabled": false,
               "media": {"provider": "vidking", "kind": "movie", "id": "550"}})
    );
    assert_eq!(
        wire(&CreateRoomRequest::default().with_entry_mode(EntryMode::Approval)),
        json!({"entry_mode": "APPROVAL"})
    );

    assert_eq!(
        wire(&JoinRoomRequest::new(code(), None)),
        json!({"code": "ABCD2345"})
    );
    assert_eq!(
        wire(&JoinRoomRequest::new(
            code(),
            Some(RoomPassword::new("sesame").unwrap())
        )),
        json!({"code": "ABCD2345", "password": "sesame"})
    );
    assert_eq!(
        wire(&RoomUserRequest::new(code(), user())),
        json!({"code": "ABCD2345", "user_id": USER})
    );
    assert_eq!(
        wire(&RoomCodeRequest::new(code())),
        json!({"code": "ABCD2345"})
    );
}

#[test]
fn listing_queries() {
    let ten = Some(PageLimit::new(10).unwrap());
    let rooms: PublicRoomsCursor = ROOMS_CURSOR.parse().unwrap();
    assert_eq!(rooms.viewers(), 3);
    assert_eq!(wire(&PublicRoomsQuery::default()), json!({}));
    assert_eq!(
        wire(&PublicRoomsQuery::new(ten, None)),
        json!({"limit": 10})
    );
    assert_eq!(
        wire(&PublicRoomsQuery::new(None, Some(40))),
        json!({"offset": 40})
    );
    assert_eq!(
        wire(&PublicRoomsQuery::new(ten, Some(40))),
        json!({"limit": 10, "offset": 40})
    );
    assert_eq!(
        wire(&PublicRoomsQuery::after(None, rooms)),
        json!({"cursor": ROOMS_CURSOR})
    );
    assert_eq!(
        wire(&PublicRoomsQuery::after(ten, rooms)),
        json!({"limit": 10, "cursor": ROOMS_CURSOR})
    );

    let members = ParticipantsCursor::after(user());
    let members_wire = members.to_string();
    assert_eq!(wire(&ParticipantsQuery::default()), json!({}));
    assert_eq!(wire(&ParticipantsQuery::first(ten)), json!({"limit": 10}));
    assert_eq!(
        wire(&ParticipantsQuery::after(None, members)),
        json!({"cursor": members_wire})
    );
    assert_eq!(
        wire(&ParticipantsQuery::after(ten, members)),
        json!({"limit": 10, "cursor": members_wire})
    );
}

#[test]
fn media_and_progress_bodies() {
    assert_eq!(wire(&EmbedOptions::default()), json!({}));
    let every = EmbedOptions::default()
        .with_color(Color::new("#E50914").unwrap())
        .with_auto_play(true)
        .with_next_episode(false)
        .with_episode_selector(true)
        .with_progress(Seconds::new(90.5).unwrap());
    assert_eq!(
        wire(&every),
        json!({"color": "e50914", "auto_play": true, "next_episode": false,
               "episode_selector": true, "progress_s": 90.5})
    );
    assert_eq!(
        wire(&EmbedRequest::new(movie())),
        json!({"media": {"provider": "vidking", "kind": "movie", "id": "550"}})
    );
    assert_eq!(
        wire(
            &EmbedRequest::new(movie()).with_options(EmbedOptions::default().with_auto_play(true))
        ),
        json!({"media": {"provider": "vidking", "kind": "movie", "id": "550"},
               "options": {"auto_play": true}})
    );

    let at = Seconds::new(61.0).unwrap();
    let length = Seconds::new(3600.0).unwrap();
    assert_eq!(
        wire(&SaveProgressRequest::new(code(), at)),
        json!({"room_code": "ABCD2345", "position_s": 61.0})
    );
    assert_eq!(
        wire(
            &SaveProgressRequest::new(code(), at)
                .with_media(episode())
                .with_duration(length)
        ),
        json!({"room_code": "ABCD2345", "position_s": 61.0, "duration_s": 3600.0,
               "media": {"provider": "vidking", "kind": "tv", "id": "1399", "season": 1, "episode": 2}})
    );
    assert_eq!(
        wire(&SaveProgressRequest::new(code(), at).with_duration(length)),
        json!({"room_code": "ABCD2345", "position_s": 61.0, "duration_s": 3600.0})
    );
    assert_eq!(
        wire(&ProgressQuery::new(code(), &movie())),
        json!({"room_code": "ABCD2345", "provider": "vidking", "kind": "movie", "id": "550"})
    );
    assert_eq!(
        wire(&ProgressQuery::new(code(), &episode())),
        json!({"room_code": "ABCD2345", "provider": "vidking", "kind": "tv", "id": "1399",
               "season": 1, "episode": 2})
    );
}

#[test]
fn client_events() {
    let frame = |event: ClientEvent| -> Value {
        serde_json::from_str(&ClientMessage::new(event).encode()).unwrap()
    };
    assert_eq!(
        frame(ClientEvent::Play(PlayPause::default())),
        json!({"type": "PLAY", "data": {}})
    );
    assert_eq!(
        frame(ClientEvent::Pause(
            PlayPause::new(Some(position(5_000))).with_expected_version(7)
        )),
        json!({"type": "PAUSE", "data": {"position_ms": 5000, "expected_version": 7}})
    );
    assert_eq!(
        frame(ClientEvent::Play(
            PlayPause::new(None).with_expected_version(7)
        )),
        json!({"type": "PLAY", "data": {"expected_version": 7}})
    );
    assert_eq!(
        frame(ClientEvent::Seek(Seek::new(position(90_000)))),
        json!({"type": "SEEK", "data": {"position_ms": 90000}})
    );
    assert_eq!(
        frame(ClientEvent::Seek(
            Seek::new(position(90_000)).with_expected_version(8)
        )),
        json!({"type": "SEEK", "data": {"position_ms": 90000, "expected_version": 8}})
    );
    let double = Rate::new(2.0).unwrap();
    assert_eq!(
        frame(ClientEvent::SetRate(SetRate::new(double))),
        json!({"type": "SET_RATE", "data": {"rate": 2.0}})
    );
    assert_eq!(
        frame(ClientEvent::SetRate(
            SetRate::new(double).with_expected_version(9)
        )),
        json!({"type": "SET_RATE", "data": {"rate": 2.0, "expected_version": 9}})
    );
    assert_eq!(
        frame(ClientEvent::SetMedia(SetMedia::new(movie()))),
        json!({"type": "SET_MEDIA", "data": {"media": {"provider": "vidking", "kind": "movie", "id": "550"}}})
    );
    assert_eq!(
        frame(ClientEvent::Chat(Chat::new(ChatText::new("hi").unwrap()))),
        json!({"type": "CHAT", "data": {"text": "hi"}})
    );
    assert_eq!(
        frame(ClientEvent::SetChatEnabled(SetChatEnabled::new(false))),
        json!({"type": "SET_CHAT_ENABLED", "data": {"enabled": false}})
    );
    assert_eq!(
        frame(ClientEvent::MuteUser(MuteUser::new(user(), None))),
        json!({"type": "MUTE_USER", "data": {"user_id": USER}})
    );
    assert_eq!(
        frame(ClientEvent::MuteUser(MuteUser::new(
            user(),
            Some(MuteDuration::new(60).unwrap())
        ))),
        json!({"type": "MUTE_USER", "data": {"user_id": USER, "duration_s": 60}})
    );
    assert_eq!(
        frame(ClientEvent::KickUser(UserTarget::new(user()))),
        json!({"type": "KICK_USER", "data": {"user_id": USER}})
    );
    assert_eq!(
        frame(ClientEvent::PlayerEvent(PlayerEvent::new(
            PlayerEventKind::Progress,
            position(1_000),
            None
        ))),
        json!({"type": "PLAYER_EVENT", "data": {"kind": "progress", "position_ms": 1000}})
    );
    assert_eq!(
        frame(ClientEvent::PlayerEvent(PlayerEvent::new(
            PlayerEventKind::Ended,
            position(1_000),
            Some(position(1_000))
        ))),
        json!({"type": "PLAYER_EVENT", "data": {"kind": "ended", "position_ms": 1000, "duration_ms": 1000}})
    );
    assert_eq!(
        frame(ClientEvent::Ping(Ping::new(42))),
        json!({"type": "PING", "data": {"client_ts": 42}})
    );
    assert_eq!(
        frame(ClientEvent::SyncCheck(SyncCheck::new(position(1)))),
        json!({"type": "SYNC_CHECK", "data": {"position_ms": 1}})
    );
    assert_eq!(
        frame(ClientEvent::Resync(Resync::snapshot())),
        json!({"type": "RESYNC", "data": {}})
    );
    assert_eq!(
        frame(ClientEvent::Resync(Resync::since(12, "e1"))),
        json!({"type": "RESYNC", "data": {"since_seq": 12, "epoch": "e1"}})
    );

    let with_ref = ClientMessage::with_ref(
        ClientEvent::Resync(Resync::snapshot()),
        ClientRef::new("r-1").unwrap(),
    );
    let decoded = ClientMessage::decode(&with_ref.encode()).unwrap();
    assert_eq!(decoded, with_ref);
}
