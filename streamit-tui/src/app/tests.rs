//! The app driven input by input (keys, session events written as the server sends them,
//! command answers, ticks), checked by what it asks the driver to do and by the screen it
//! draws on ratatui's `TestBackend`.

use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use serde_json::{Value, json};
use streamit_client::protocol::v1::{CloseCode, PositionMs, RoomCode, ServerMessage, User};
use streamit_client::sync::ServerTime;
use streamit_client::{Close, CloseStatus, RoomEvent};

use super::*;
use crate::keys::BINDINGS;

const HOST: &str = "00000000-0000-4000-8000-000000000001";
const BOB: &str = "00000000-0000-4000-8000-000000000002";
const CY: &str = "00000000-0000-4000-8000-000000000003";
/// The server's clock in these tests, Unix epoch ms.
const NOW: u64 = 1_700_000_000_000;

fn user_ref(id: &str, name: &str) -> Value {
    json!({"id": id, "display_name": name})
}

fn user(id: &str, name: &str) -> User {
    serde_json::from_value(json!({"id": id, "display_name": name, "is_guest": true,
        "created_at_ms": 1}))
    .unwrap()
}

fn code() -> RoomCode {
    RoomCode::parse("ABCD2345").unwrap()
}

fn server(kind: &str, seq: Option<u64>, data: Value) -> Input {
    let mut frame = json!({"v": 1, "type": kind, "ts": NOW, "data": data});
    if let Some(seq) = seq {
        frame["seq"] = json!(seq);
    }
    Input::Room(RoomEvent::Server(
        ServerMessage::decode(&frame.to_string()).unwrap(),
    ))
}

/// The room as `you` sees it: the host (Ada) and Bob online, Cy asking to join (shown to
/// the host only), playing from 1:00 since `NOW`, two chat lines.
fn snapshot(you: &str) -> Input {
    let mut participants = vec![
        json!({"user": user_ref(HOST, "Ada"), "status": "APPROVED", "is_host": true, "online": true}),
        json!({"user": user_ref(BOB, "Bob"), "status": "APPROVED", "is_host": false, "online": true}),
    ];
    if you == HOST {
        participants.push(
            json!({"user": user_ref(CY, "Cy"), "status": "PENDING", "is_host": false, "online": false}),
        );
    }
    let chat = [
        json!({"id": "00000000-0000-4000-8000-0000000000a1", "user": user_ref(HOST, "Ada"),
            "text": "welcome", "sent_at_ms": NOW - 5_000}),
        json!({"id": "00000000-0000-4000-8000-0000000000a2", "user": user_ref(BOB, "Bob"),
            "text": "popcorn ready", "sent_at_ms": NOW - 1_000}),
    ];
    let room = json!({"code": "ABCD2345", "name": "Movie night", "host": user_ref(HOST, "Ada"),
        "state": "LIVE", "is_private": false, "entry_mode": "OPEN", "chat_enabled": true,
        "viewers": 2, "created_at_ms": 1,
        "media": {"provider": "youtube", "kind": "video", "id": "dQw4w9WgXcQ"},
        "embed_url": "https://www.youtube.com/embed/dQw4w9WgXcQ"});
    let name = if you == HOST { "Ada" } else { "Bob" };
    let data = json!({"room": room, "you": {"user": user_ref(you, name), "is_host": you == HOST},
        "participants": participants, "chat": chat, "seq": 10,
        "playback": {"playing": true, "position_ms": 60_000, "rate": 1.0, "updated_at_ms": NOW,
            "version": 3}});
    server("ROOM_SNAPSHOT", None, data)
}

fn key(code: KeyCode) -> Input {
    Input::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

fn typed(app: &mut App, text: &str) {
    for c in text.chars() {
        assert_eq!(app.handle(key(KeyCode::Char(c))), None, "typing {c:?}");
    }
}

fn tick(at: Instant, server_now_ms: u64) -> Input {
    Input::Tick(Tick {
        now: at,
        server: ServerTime::exact(server_now_ms),
        offset_ms: Some(-3),
    })
}

/// The screen, row by row.
fn screen(app: &App, width: u16, height: u16) -> Vec<String> {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|frame| app.render(frame)).unwrap();
    let buffer = terminal.backend().buffer();
    (0..height)
        .map(|y| (0..width).map(|x| buffer[(x, y)].symbol()).collect())
        .collect()
}

#[track_caller]
fn shows(screen: &[String], text: &str) {
    assert!(
        screen.iter().any(|row| row.contains(text)),
        "{text:?} is not on screen:\n{}",
        screen.join("\n")
    );
}

#[track_caller]
fn hides(screen: &[String], text: &str) {
    assert!(
        !screen.iter().any(|row| row.contains(text)),
        "{text:?} should not be on screen:\n{}",
        screen.join("\n")
    );
}

/// An app in room ABCD2345 as `you`, connected, the snapshot in, one tick at `NOW`.
fn in_room(you: &str, name: &str) -> (App, Instant) {
    let mut app = App::new("http://127.0.0.1:8000");
    assert_eq!(
        app.handle(Input::Done(Outcome::SignedIn(user(you, name)))),
        Some(Command::ListRooms)
    );
    let entered = Outcome::Entered {
        code: code(),
        password: None,
    };
    assert_eq!(app.handle(Input::Done(entered)), None);
    app.handle(Input::Room(RoomEvent::Connected));
    app.handle(snapshot(you));
    // The drift controller measures on its first tick, lands the player on its next, and
    // starts it when the room gets there: a few ticks put the player on the room.
    // The last of them is at `NOW`, the returned instant.
    let first = Instant::now();
    for ms in [0, 20, 40] {
        app.handle(tick(first + Duration::from_millis(ms), NOW - 40 + ms));
    }
    (app, first + Duration::from_millis(40))
}

#[test]
fn the_menu_shows_who_signed_in_and_the_public_rooms() {
    let mut app = App::new("http://127.0.0.1:8000");
    let before = screen(&app, 100, 20);
    shows(&before, "not signed in");
    shows(&before, "no live public rooms");
    app.handle(Input::Done(Outcome::SignedIn(user(BOB, "Bob"))));
    let rooms = serde_json::from_value(json!([
        {"code": "ABCD2345", "name": "Movie night", "host": user_ref(HOST, "Ada"), "viewers": 3,
            "entry_mode": "OPEN", "created_at_ms": 1},
        {"code": "WXYZ6789", "name": "Quiet", "host": user_ref(CY, "Cy"), "viewers": 1,
            "entry_mode": "PASSWORD", "created_at_ms": 2},
    ]))
    .unwrap();
    assert_eq!(app.handle(Input::Done(Outcome::Rooms(rooms))), None);
    let menu = screen(&app, 100, 20);
    shows(&menu, "signed in as Bob (guest)");
    shows(&menu, "> ABCD2345  Movie night  (Ada, 3 watching)");
    shows(
        &menu,
        "  WXYZ6789  Quiet  (Cy, 1 watching) [password/approval]",
    );
    for binding in BINDINGS
        .iter()
        .filter(|b| b.scope == crate::keys::Scope::Menu)
    {
        shows(&menu, binding.what);
    }
    assert_eq!(
        app.handle(key(KeyCode::Enter)),
        Some(Command::Join {
            code: code(),
            password: None
        })
    );
    // A password room asks for the password before joining.
    app.handle(key(KeyCode::Down));
    assert_eq!(app.handle(key(KeyCode::Enter)), None);
    shows(&screen(&app, 100, 20), "Room password");
    typed(&mut app, "secret");
    assert_eq!(
        app.handle(key(KeyCode::Enter)),
        Some(Command::Join {
            code: RoomCode::parse("WXYZ6789").unwrap(),
            password: Some(RoomPassword::new("secret").unwrap()),
        })
    );
}

#[test]
fn the_menu_logs_in_through_a_form() {
    let mut app = App::new("http://127.0.0.1:8000");
    assert_eq!(app.handle(key(KeyCode::Char('l'))), None);
    typed(&mut app, "ada@example.com");
    app.handle(key(KeyCode::Tab));
    typed(&mut app, "hunter22hunter");
    let form = screen(&app, 100, 20);
    shows(&form, "ada@example.com");
    shows(&form, "**************");
    hides(&form, "hunter22");
    assert_eq!(
        app.handle(key(KeyCode::Enter)),
        Some(Command::Login {
            email: Email::new("ada@example.com").unwrap(),
            password: Password::new("hunter22hunter").unwrap(),
        })
    );
    assert_eq!(app.handle(key(KeyCode::Char('q'))), Some(Command::Quit));
}

#[test]
fn a_join_waiting_for_approval_is_tried_again() {
    let mut app = App::new("http://127.0.0.1:8000");
    app.handle(key(KeyCode::Char('j')));
    typed(&mut app, "abcd2345");
    app.handle(key(KeyCode::Enter));
    let join = Command::Join {
        code: code(),
        password: None,
    };
    assert_eq!(app.handle(key(KeyCode::Enter)), Some(join));
    app.handle(Input::Done(Outcome::Pending(code())));
    shows(&screen(&app, 100, 20), "waiting for the host of ABCD2345");
    let start = Instant::now();
    assert_eq!(app.handle(tick(start, NOW)), None);
    assert_eq!(app.handle(tick(start + Duration::from_secs(1), NOW)), None);
    let again = app.handle(tick(start + Duration::from_secs(3), NOW));
    assert_eq!(
        again,
        Some(Command::Join {
            code: code(),
            password: None
        })
    );
    app.handle(Input::Done(Outcome::Failed {
        what: "join the room",
        why: "you are banned from this room (BANNED)".into(),
    }));
    assert_eq!(app.handle(tick(start + Duration::from_secs(9), NOW)), None);
    shows(
        &screen(&app, 100, 20),
        "could not join the room: you are banned",
    );
}

#[test]
fn the_host_sees_the_room_and_drives_it() {
    let (mut app, start) = in_room(HOST, "Ada");
    let room = screen(&app, 100, 30);
    shows(&room, "Room ABCD2345 \"Movie night\"  LIVE  you host");
    shows(&room, "▶ playing  1:00");
    shows(&room, "room at 1:00");
    shows(
        &room,
        "YouTube dQw4w9WgXcQ  https://www.youtube.com/embed/dQw4w9WgXcQ",
    );
    shows(&room, "clock offset -3 ms");
    shows(&room, "connected");
    shows(&room, "● Ada [host] (you");
    shows(&room, "● Bob");
    shows(&room, "? Cy asks to join");
    shows(&room, "Ada: welcome");
    shows(&room, "Bob: popcorn ready");
    shows(&room, "Say something");

    // The composer has the focus: keys are text until Esc.
    typed(&mut app, "hi all");
    let sent = app.handle(key(KeyCode::Enter));
    assert_eq!(
        sent,
        Some(Command::Room(RoomCommand::Chat(
            ChatText::new("hi all").unwrap()
        )))
    );
    assert_eq!(app.handle(key(KeyCode::Esc)), None);
    shows(&screen(&app, 100, 30), "space play/pause");

    let later = NOW + 30_000;
    app.handle(tick(start + Duration::from_secs(30), later));
    assert_eq!(
        app.handle(key(KeyCode::Char(' '))),
        Some(Command::Room(RoomCommand::Pause))
    );
    assert_eq!(
        app.handle(key(KeyCode::Right)),
        Some(Command::Room(RoomCommand::Seek(
            PositionMs::new(100_000).unwrap()
        )))
    );
    assert_eq!(
        app.handle(key(KeyCode::Left)),
        Some(Command::Room(RoomCommand::Seek(
            PositionMs::new(80_000).unwrap()
        )))
    );
    assert_eq!(
        app.handle(key(KeyCode::Char(']'))),
        Some(Command::Room(RoomCommand::Rate(Rate::new(1.25).unwrap())))
    );
    assert_eq!(
        app.handle(key(KeyCode::Char('c'))),
        Some(Command::Room(RoomCommand::ChatEnabled(false)))
    );
    app.handle(key(KeyCode::Char('t')));
    typed(&mut app, "1:02:03");
    assert_eq!(
        app.handle(key(KeyCode::Enter)),
        Some(Command::Room(RoomCommand::Seek(
            PositionMs::new(3_723_000).unwrap()
        )))
    );
    app.handle(key(KeyCode::Char('s')));
    typed(&mut app, "tv 1399 1 2");
    let media = crate::label::parse_media("tv 1399 1 2").unwrap();
    assert_eq!(
        app.handle(key(KeyCode::Enter)),
        Some(Command::Room(RoomCommand::Media(media)))
    );

    // People: Ada (you), Bob, then Cy's request. Nobody acts on themselves.
    let bob = BOB.parse().unwrap();
    let cy = CY.parse().unwrap();
    assert_eq!(app.handle(key(KeyCode::Char('k'))), None);
    shows(&screen(&app, 100, 30), "choose someone else");
    app.handle(key(KeyCode::Down));
    assert_eq!(
        app.handle(key(KeyCode::Char('m'))),
        Some(Command::Room(RoomCommand::Mute(bob)))
    );
    assert_eq!(
        app.handle(key(KeyCode::Char('k'))),
        Some(Command::Room(RoomCommand::Kick(bob)))
    );
    assert_eq!(
        app.handle(key(KeyCode::Char('b'))),
        Some(Command::Room(RoomCommand::Ban(bob)))
    );
    assert_eq!(
        app.handle(key(KeyCode::Char('h'))),
        Some(Command::Room(RoomCommand::Transfer(bob)))
    );
    assert_eq!(
        app.handle(key(KeyCode::Char('a'))),
        Some(Command::Room(RoomCommand::Approve(cy)))
    );
    assert_eq!(
        app.handle(key(KeyCode::Char('d'))),
        Some(Command::Room(RoomCommand::Deny(cy)))
    );
    let approved = serde_json::from_value(json!({"user": user_ref(CY, "Cy"),
        "status": "APPROVED", "is_host": false, "online": false}))
    .unwrap();
    app.handle(Input::Done(Outcome::Approved(approved)));
    let after = screen(&app, 100, 30);
    shows(&after, "○ Cy");
    shows(&after, "Cy may join");
    hides(&after, "Cy asks to join");

    // Deleting asks first.
    app.handle(key(KeyCode::Char('D')));
    typed(&mut app, "no");
    assert_eq!(app.handle(key(KeyCode::Enter)), None);
    app.handle(key(KeyCode::Char('D')));
    typed(&mut app, "yes");
    assert_eq!(
        app.handle(key(KeyCode::Enter)),
        Some(Command::Room(RoomCommand::Delete))
    );
}

#[test]
fn a_member_sees_the_room_but_not_the_host_keys() {
    let (mut app, _) = in_room(BOB, "Bob");
    let room = screen(&app, 100, 30);
    shows(&room, "Room ABCD2345 \"Movie night\"  LIVE");
    hides(&room, "you host");
    shows(&room, "● Ada [host]");
    shows(&room, "● Bob (you");
    hides(&room, "Cy");
    app.handle(key(KeyCode::Esc));
    assert_eq!(app.handle(key(KeyCode::Char(' '))), None);
    let refused = screen(&app, 100, 30);
    shows(&refused, "only the host may do that");
    hides(&refused, "space play/pause");
    // A refusal from the server is said in words, with its code.
    app.handle(server(
        "ERROR",
        None,
        json!({"code": "CHAT_DISABLED", "message": "chat is off"}),
    ));
    shows(
        &screen(&app, 100, 30),
        "refused: the host turned chat off (CHAT_DISABLED)",
    );
    assert_eq!(app.handle(key(KeyCode::Char('i'))), None);
    typed(&mut app, "q");
    shows(&screen(&app, 100, 30), "> q_");
}

#[test]
fn grace_counts_down_and_expiry_ends_the_room() {
    let (mut app, start) = in_room(BOB, "Bob");
    let deadline = NOW + 42_000;
    app.handle(server(
        "HOST_DISCONNECTED",
        Some(11),
        json!({"grace_seconds": 42, "grace_deadline_ms": deadline}),
    ));
    app.handle(server(
        "USER_LEFT",
        Some(12),
        json!({"user": user_ref(HOST, "Ada"), "reason": "left", "viewers": 1}),
    ));
    let grace = screen(&app, 100, 30);
    shows(&grace, "GRACE closes in 0:42");
    shows(
        &grace,
        "the host left: the room closes in 42 s unless they come back",
    );
    shows(&grace, "○ Ada [host]");
    app.handle(tick(start + Duration::from_secs(12), NOW + 12_000));
    shows(&screen(&app, 100, 30), "GRACE closes in 0:30");

    app.handle(server("ROOM_EXPIRED", Some(13), json!({})));
    let close = Some(CloseCode::RoomClosed.into());
    app.handle(Input::Room(RoomEvent::Disconnected { close }));
    app.handle(Input::Done(Outcome::SessionEnded));
    let over = screen(&app, 100, 30);
    shows(&over, "EXPIRED");
    shows(&over, "the room expired: the host did not come back");
    shows(&over, "ended: the room was closed");
    assert_eq!(app.handle(key(KeyCode::Char('M'))), Some(Command::Leave));
    shows(&screen(&app, 100, 20), "Live public rooms");
}

#[test]
fn an_unknown_close_code_is_shown_as_it_came() {
    let (mut app, _) = in_room(BOB, "Bob");
    let close = Close::new(CloseStatus::Unknown(4321), "maintenance");
    app.handle(Input::Room(RoomEvent::Disconnected { close: Some(close) }));
    app.handle(Input::Done(Outcome::SessionEnded));
    let over = screen(&app, 140, 30);
    shows(
        &over,
        "code this client does not know (4321 (unknown) \"maintenance\")",
    );
    shows(
        &over,
        "ended: the server closed the connection with a code this client does not know",
    );
}

#[test]
fn a_kick_and_a_reconnect_are_told() {
    let (mut app, _) = in_room(BOB, "Bob");
    app.handle(Input::Room(RoomEvent::Disconnected { close: None }));
    app.handle(Input::Room(RoomEvent::Reconnecting {
        attempt: 1,
        delay: Duration::from_millis(500),
    }));
    let lost = screen(&app, 100, 30);
    shows(&lost, "disconnected: the connection was lost");
    shows(&lost, "reconnecting (attempt 1)");
    app.handle(Input::Room(RoomEvent::Connected));
    app.handle(snapshot(BOB));
    shows(&screen(&app, 100, 30), "·  connected");

    app.handle(server(
        "USER_KICKED",
        Some(11),
        json!({"user": user_ref(BOB, "Bob")}),
    ));
    app.handle(server(
        "USER_LEFT",
        Some(12),
        json!({"user": user_ref(BOB, "Bob"), "reason": "kicked", "viewers": 1}),
    ));
    let kicked = Some(CloseCode::Kicked.into());
    app.handle(Input::Room(RoomEvent::Disconnected { close: kicked }));
    app.handle(Input::Done(Outcome::SessionEnded));
    let over = screen(&app, 100, 30);
    shows(&over, "ended: you were kicked by the host");
    // USER_KICKED tells it, as about this user; USER_LEFT does not tell it again.
    let told = over
        .iter()
        .filter(|row| row.starts_with("│you were kicked "))
        .count();
    assert_eq!(told, 1, "{}", over.join("\n"));
    hides(&over, "Bob was kicked");
    shows(&over, "M menu  ? all keys  q quit");
    assert!(app.room().is_some_and(|room| !room.composing));
}

#[test]
fn help_lists_every_key_of_the_screen() {
    let (mut app, _) = in_room(HOST, "Ada");
    app.handle(key(KeyCode::Esc));
    assert_eq!(app.handle(key(KeyCode::Char('?'))), None);
    let help = screen(&app, 120, 40);
    shows(&help, "Keys (any key closes)");
    for binding in BINDINGS
        .iter()
        .filter(|b| b.scope != crate::keys::Scope::Menu)
    {
        shows(&help, binding.what);
    }
    // Any key closes it without acting.
    assert_eq!(app.handle(key(KeyCode::Char(' '))), None);
    hides(&screen(&app, 120, 40), "Keys (any key closes)");

    let mut menu = App::new("http://127.0.0.1:8000");
    menu.handle(key(KeyCode::Char('?')));
    let help = screen(&menu, 120, 40);
    shows(&help, "sign in as a new guest");
    hides(&help, "play / pause");
}

#[test]
fn a_playing_player_reports_its_position() {
    let (mut app, start) = in_room(BOB, "Bob");
    let five = Duration::from_secs(5);
    assert_eq!(app.handle(tick(start + five, NOW + 5_000)), None);
    let report = app.handle(tick(start + 2 * five, NOW + 10_000));
    let Some(Command::Room(RoomCommand::Progress(position))) = report else {
        panic!("a report after 10 s of play, not {report:?}");
    };
    assert!(
        (69_000..=71_000).contains(&position.get()),
        "the player follows the room: {position:?}"
    );
    // Paused, it has nothing new to say.
    app.handle(server(
        "PLAYBACK_STATE",
        Some(11),
        json!({"playing": false, "position_ms": 70_000, "rate": 1.0, "updated_at_ms": NOW + 10_000,
            "version": 4, "cause": "PAUSE", "by": HOST}),
    ));
    shows(&screen(&app, 100, 30), "Ada paused at 1:10");
    app.handle(tick(start + 3 * five, NOW + 15_000));
    assert_eq!(app.handle(tick(start + 4 * five, NOW + 20_000)), None);
    shows(&screen(&app, 100, 30), "⏸ paused  1:10");
}

#[test]
fn a_watch_waiting_for_approval_is_tried_again_too() {
    // `streamit watch CODE` joins before the menu has asked for anything.
    let mut app = App::new("http://127.0.0.1:8000");
    app.handle(Input::Done(Outcome::Pending(code())));
    let start = Instant::now();
    assert_eq!(app.handle(tick(start, NOW)), None);
    assert_eq!(
        app.handle(tick(start + Duration::from_secs(3), NOW)),
        Some(Command::Join {
            code: code(),
            password: None
        })
    );
    app.handle(Input::Done(Outcome::Entered {
        code: code(),
        password: None,
    }));
    assert!(app.room().is_some());
}
