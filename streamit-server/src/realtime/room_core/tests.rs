//! The room's rules, input by input: no socket, no store, no clock. Each effect is written as
//! one short line (`summary`) so a test reads as the sequence a room produces.

use std::sync::Arc;

use streamit_protocol::v1::{
    CHAT_HISTORY_IN_SNAPSHOT, ChatMessage, ChatText, ClientMessage, DisplayName, EntryMode,
    MemberStatus, MessageId, Participant, Playback, PositionMs, Rate, Room, RoomCode, RoomName,
    RoomState, ServerEvent, UserId, UserRef,
};
use uuid::Uuid;

use super::*;
use crate::realtime::cluster::NodeTag;

const NOW: u64 = 1_000_000;

fn user(name: &str) -> UserRef {
    UserRef::new(
        UserId::from_uuid(Uuid::new_v4()),
        DisplayName::new(name).unwrap(),
    )
}

fn conn(n: u64) -> ConnId {
    ConnId::new(NodeTag::fixed(0), n)
}

/// `c1` for socket 1.
fn short(conn: ConnId) -> String {
    format!("c{}", conn.n)
}

/// A room hosted by `host` in `state`, at `seq` 10 and playback version 1, chat on.
fn room(host: &UserRef, state: RoomState) -> RoomCore {
    let room = Room::new(
        RoomCode::parse("ABCD2345").unwrap(),
        RoomName::new("Film night").unwrap(),
        host.clone(),
        state,
        false,
        EntryMode::Open,
        true,
        0,
        0,
    );
    let playback = Playback::new(false, PositionMs::ZERO, Rate::NORMAL, 0, 1);
    let settings = Settings {
        grace_seconds: 300,
        sync_threshold_ms: 500,
        crowd_from: 1_000,
        crowd_listed: 2,
        crowd_named: 100,
    };
    RoomCore::new(
        settings,
        Loaded {
            room,
            playback,
            seq: 10,
            seq_ceiling: 10 + COUNTER_BLOCK,
            version_ceiling: 1 + COUNTER_BLOCK,
            chat: Vec::new(),
        },
    )
}

fn approved(users: &[&UserRef]) -> Arc<[Participant]> {
    users
        .iter()
        .map(|u| Participant::new((*u).clone(), MemberStatus::Approved, false, false))
        .collect()
}

fn joining(n: u64, user: &UserRef) -> Input {
    Input::Join(Joining {
        conn: conn(n),
        user: user.clone(),
        login_id: Uuid::from_u128(u128::from(n)),
        muted_until_ms: None,
        participants: Some(approved(&[user])),
    })
}

fn client(n: u64, frame: &str) -> Input {
    Input::Client {
        conn: conn(n),
        message: ClientMessage::decode(frame).unwrap(),
    }
}

/// One line per effect.
fn summary(core: &mut RoomCore) -> Vec<String> {
    core.drain_effects()
        .map(|effect| match effect {
            Effect::Out(Outbound::Broadcast(message)) => format!(
                "broadcast {} {}",
                message.seq.unwrap_or_default(),
                message.event.event_type()
            ),
            Effect::Out(Outbound::Reply { conn, event, .. }) => match event {
                ServerEvent::Error(error) => {
                    format!("reply {} ERROR {}", short(conn), error.code.as_str())
                }
                other => format!("reply {} {}", short(conn), other.event_type()),
            },
            Effect::Out(Outbound::Admit { conn, snapshot }) => {
                format!("admit {} at {}", short(conn), snapshot.seq)
            }
            Effect::Out(Outbound::Refuse { conn, close }) => {
                format!("refuse {} {}", short(conn), close.as_u16())
            }
            Effect::Out(Outbound::Detach { conn, close }) => {
                format!("detach {} {}", short(conn), close.as_u16())
            }
            Effect::Persist(Persist::Playback { playback, seq }) => {
                format!("persist playback v{} at {seq}", playback.version)
            }
            Effect::Persist(Persist::Presence {
                viewers,
                host_online,
            }) => format!("persist presence {viewers} host={host_online}"),
            Effect::Persist(Persist::Chat(message)) => {
                format!("persist chat {}", message.text.as_str())
            }
            Effect::RaiseCeilings { seq, version } => format!("ceilings {seq} {version}"),
            Effect::Audit { action, .. } => format!("audit {action:?}"),
            Effect::SaveProgress(report) => format!("progress {}", report.position_ms),
            Effect::SyncChecked {
                drift_ms,
                corrected,
            } => format!("sync {drift_ms} corrected={corrected}"),
        })
        .collect()
}

/// Applies `input`, which must not wait on the store.
fn apply(core: &mut RoomCore, input: Input) -> Vec<String> {
    let ask = core.apply(input, NOW);
    assert!(ask.is_none(), "the input waits on the store");
    summary(core)
}

/// A live room with its host on socket 1 and `members` on sockets 2, 3, …; effects drained.
fn live_room(host: &UserRef, members: &[&UserRef]) -> RoomCore {
    let mut core = room(host, RoomState::Live);
    apply(&mut core, joining(1, host));
    for (i, member) in members.iter().enumerate() {
        apply(&mut core, joining(i as u64 + 2, member));
    }
    core
}

/// Answers every question the way `answers` says, in order, and returns the effects.
fn answered(core: &mut RoomCore, ask: Option<Ask>, answers: Vec<Answer>) -> Vec<String> {
    let mut ask = ask;
    let mut effects = summary(core);
    for answer in answers {
        let paused = ask.expect("the core asked nothing more");
        ask = core.resume(paused.then, answer, NOW);
        effects.extend(summary(core));
    }
    assert!(ask.is_none(), "the core still waits on the store");
    effects
}

#[test]
fn the_host_opens_a_created_room_once_the_store_moves_it_live() {
    let host = user("Host");
    let mut core = room(&host, RoomState::Created);
    let ask = core.apply(joining(1, &host), NOW).unwrap();
    assert!(matches!(
        ask.query,
        Query::Transition {
            event: Event::HostConnected,
            to: RoomState::Live,
            deadline_ms: None
        }
    ));
    assert!(
        summary(&mut core).is_empty(),
        "nothing before the store says so"
    );
    assert_eq!(
        answered(&mut core, Some(ask), vec![Answer::Transitioned(true)]),
        [
            "persist presence 1 host=true",
            "broadcast 11 USER_JOINED",
            "admit c1 at 11"
        ]
    );
    assert_eq!(core.state(), RoomState::Live);
}

#[test]
fn a_transition_the_store_refuses_refuses_the_host_join() {
    let host = user("Host");
    let mut core = room(&host, RoomState::Created);
    let ask = core.apply(joining(1, &host), NOW);
    assert_eq!(
        answered(&mut core, ask, vec![Answer::Transitioned(false)]),
        ["refuse c1 4010"]
    );
    let ask = core.apply(joining(2, &host), NOW);
    assert_eq!(
        answered(&mut core, ask, vec![Answer::Failed]),
        ["refuse c2 1011"]
    );
    assert!(core.is_empty());
    assert_eq!(core.state(), RoomState::Created);
}

#[test]
fn the_host_back_in_grace_is_announced_before_joining() {
    let host = user("Host");
    let mut core = room(&host, RoomState::Grace);
    let ask = core.apply(joining(1, &host), NOW);
    assert_eq!(
        answered(&mut core, ask, vec![Answer::Transitioned(true)]),
        [
            "broadcast 11 HOST_RECONNECTED",
            "persist presence 1 host=true",
            "broadcast 12 USER_JOINED",
            "admit c1 at 12"
        ]
    );
}

#[test]
fn only_a_users_first_socket_is_announced_and_seq_rises_by_one() {
    let host = user("Host");
    let ada = user("Ada");
    let mut core = live_room(&host, &[]);
    assert_eq!(
        apply(&mut core, joining(2, &ada)),
        [
            "persist presence 2 host=true",
            "broadcast 12 USER_JOINED",
            "admit c2 at 12"
        ]
    );
    assert_eq!(
        apply(&mut core, joining(3, &ada)),
        ["persist presence 2 host=true", "admit c3 at 12"]
    );
    assert_eq!(
        apply(
            &mut core,
            Input::Leave {
                conn: conn(3),
                reason: LeaveReason::Left
            }
        ),
        ["detach c3 1000"],
        "Ada is still there on c2"
    );
    assert_eq!(
        apply(
            &mut core,
            Input::Leave {
                conn: conn(2),
                reason: LeaveReason::Left
            }
        ),
        [
            "detach c2 1000",
            "persist presence 1 host=true",
            "broadcast 13 USER_LEFT"
        ]
    );
}

#[test]
fn the_snapshot_shows_who_is_online_and_who_hosts() {
    let host = user("Host");
    let ada = user("Ada");
    let mut core = live_room(&host, &[]);
    core.apply(
        Input::Join(Joining {
            conn: conn(2),
            user: ada.clone(),
            login_id: Uuid::nil(),
            muted_until_ms: Some(NOW + 5),
            participants: Some(approved(&[&host, &ada])),
        }),
        NOW,
    );
    let snapshot = core
        .drain_effects()
        .find_map(|effect| match effect {
            Effect::Out(Outbound::Admit { snapshot, .. }) => Some(snapshot),
            _ => None,
        })
        .unwrap();
    assert_eq!(snapshot.you.muted_until_ms, Some(NOW + 5));
    assert!(!snapshot.you.is_host);
    let marks: Vec<_> = snapshot
        .participants
        .iter()
        .map(|p| (p.user.id, p.is_host, p.online))
        .collect();
    assert_eq!(marks, [(host.id, true, true), (ada.id, false, true)]);
    assert_eq!(snapshot.room.viewers, 2);
}

#[test]
fn the_hosts_last_socket_starts_grace_once_stored() {
    let host = user("Host");
    let ada = user("Ada");
    let mut core = live_room(&host, &[&ada]);
    let leave = Input::Leave {
        conn: conn(1),
        reason: LeaveReason::Timeout,
    };
    let ask = core.apply(leave, NOW).unwrap();
    let deadline = NOW + 300_000;
    assert!(matches!(
        ask.query,
        Query::Transition {
            event: Event::HostLeft,
            to: RoomState::Grace,
            deadline_ms: Some(d)
        } if d == deadline
    ));
    assert_eq!(
        answered(&mut core, Some(ask), vec![Answer::Transitioned(true)]),
        [
            "detach c1 1000",
            "persist presence 1 host=false",
            "broadcast 13 USER_LEFT",
            "broadcast 14 HOST_DISCONNECTED"
        ]
    );
    assert_eq!(core.state(), RoomState::Grace);
}

#[test]
fn grace_the_store_refuses_is_not_announced() {
    let host = user("Host");
    let mut core = live_room(&host, &[]);
    let leave = Input::Leave {
        conn: conn(1),
        reason: LeaveReason::Left,
    };
    let ask = core.apply(leave, NOW);
    let effects = answered(&mut core, ask, vec![Answer::Transitioned(false)]);
    assert!(!effects.iter().any(|e| e.contains("HOST_DISCONNECTED")));
    assert_eq!(core.state(), RoomState::Live);
    assert!(core.is_empty());
}

#[test]
fn only_the_host_moves_playback_and_versions_must_match() {
    let host = user("Host");
    let ada = user("Ada");
    let mut core = live_room(&host, &[&ada]);
    assert_eq!(
        apply(&mut core, client(2, r#"{"type":"PLAY","ref":"a"}"#)),
        ["reply c2 ERROR NOT_HOST"]
    );
    assert_eq!(
        apply(
            &mut core,
            client(1, r#"{"type":"PLAY","data":{"expected_version":7}}"#)
        ),
        ["reply c1 ERROR VERSION_CONFLICT"]
    );
    assert_eq!(
        apply(
            &mut core,
            client(
                1,
                r#"{"type":"SEEK","data":{"position_ms":5000,"expected_version":1}}"#
            )
        ),
        ["persist playback v2 at 13", "broadcast 13 PLAYBACK_STATE"]
    );
    assert_eq!(
        apply(&mut core, client(1, r#"{"type":"PLAY"}"#)),
        ["persist playback v3 at 14", "broadcast 14 PLAYBACK_STATE"]
    );
    let (playback, seq, _) = core.settlement();
    assert!(playback.playing);
    assert_eq!(
        (playback.position_ms.get(), playback.version, seq),
        (5000, 3, 14)
    );
}

#[test]
fn chat_is_stored_then_broadcast_and_history_stays_bounded() {
    let host = user("Host");
    let mut core = live_room(&host, &[]);
    assert_eq!(
        apply(
            &mut core,
            client(1, r#"{"type":"CHAT","data":{"text":"hi"}}"#)
        ),
        ["persist chat hi", "broadcast 12 CHAT_MESSAGE"]
    );
    assert_eq!(
        apply(
            &mut core,
            client(1, r#"{"type":"CHAT","data":{"text":"hi"}}"#)
        ),
        ["reply c1 ERROR DUPLICATE_MESSAGE"]
    );
    for i in 0..CHAT_HISTORY_IN_SNAPSHOT + 5 {
        let text = ChatText::new(&format!("line {i}")).unwrap();
        let line = ChatMessage::new(MessageId::from_uuid(Uuid::new_v4()), host.clone(), text, 0);
        core.remember_chat(line);
    }
    assert_eq!(core.chat.len(), CHAT_HISTORY_IN_SNAPSHOT);
}

#[test]
fn chat_off_mutes_and_bursts_are_refused() {
    let host = user("Host");
    let ada = user("Ada");
    let mut core = live_room(&host, &[&ada]);
    core.mutes.insert(ada.id, NOW + 1);
    assert_eq!(
        apply(
            &mut core,
            client(2, r#"{"type":"CHAT","data":{"text":"x"}}"#)
        ),
        ["reply c2 ERROR MUTED"]
    );
    for i in 0..5 {
        let frame = format!(r#"{{"type":"CHAT","data":{{"text":"l{i}"}}}}"#);
        assert_eq!(apply(&mut core, client(1, &frame)).len(), 2);
    }
    assert_eq!(
        apply(
            &mut core,
            client(1, r#"{"type":"CHAT","data":{"text":"six"}}"#)
        ),
        ["reply c1 ERROR RATE_LIMITED"]
    );
    core.room.chat_enabled = false;
    assert_eq!(
        apply(
            &mut core,
            client(1, r#"{"type":"CHAT","data":{"text":"x"}}"#)
        ),
        ["reply c1 ERROR CHAT_DISABLED"]
    );
}

#[test]
fn a_mute_follows_the_store_membership_then_write() {
    let host = user("Host");
    let ada = user("Ada");
    let mut core = live_room(&host, &[&ada]);
    let frame = format!(
        r#"{{"type":"MUTE_USER","data":{{"user_id":"{}","duration_s":60}}}}"#,
        ada.id
    );
    let ask = core.apply(client(1, &frame), NOW).unwrap();
    assert!(matches!(ask.query, Query::Membership(id) if id == ada.id));
    let membership = Answer::Membership(Some(MemberStatus::Approved));
    let ask = core.resume(ask.then, membership, NOW).unwrap();
    assert!(matches!(
        ask.query,
        Query::Write(Write::MutedUntil { user, until: Some(until) })
            if user == ada.id && until == NOW + 60_000
    ));
    assert_eq!(
        answered(&mut core, Some(ask), vec![Answer::Written]),
        ["audit Mute", "broadcast 13 USER_MUTED"]
    );
    assert_eq!(core.mutes.get(&ada.id), Some(&(NOW + 60_000)));
}

#[test]
fn a_host_action_on_a_stranger_or_oneself_or_a_failed_write_changes_nothing() {
    let host = user("Host");
    let ada = user("Ada");
    let mut core = live_room(&host, &[&ada]);
    let kick = |id: UserId| format!(r#"{{"type":"KICK_USER","data":{{"user_id":"{id}"}}}}"#);
    let ask = core.apply(client(1, &kick(ada.id)), NOW);
    assert_eq!(
        answered(&mut core, ask, vec![Answer::Membership(None)]),
        ["reply c1 ERROR USER_NOT_FOUND"]
    );
    assert_eq!(
        apply(&mut core, client(1, &kick(host.id))),
        ["reply c1 ERROR INVALID_MESSAGE"]
    );
    assert_eq!(
        apply(&mut core, client(2, &kick(host.id))),
        ["reply c2 ERROR NOT_HOST"]
    );
    let ask = core.apply(client(1, &kick(ada.id)), NOW);
    let answers = vec![
        Answer::Membership(Some(MemberStatus::Approved)),
        Answer::Failed,
    ];
    assert_eq!(
        answered(&mut core, ask, answers),
        ["reply c1 ERROR INTERNAL"]
    );
    assert!(!core.is_empty() && core.sockets.contains_key(&conn(2)));
}

#[test]
fn a_member_not_in_the_room_is_looked_up_before_a_ban() {
    let host = user("Host");
    let bo = user("Bo");
    let mut core = live_room(&host, &[]);
    let frame = format!(r#"{{"type":"BAN_USER","data":{{"user_id":"{}"}}}}"#, bo.id);
    let ask = core.apply(client(1, &frame), NOW);
    let answers = vec![
        Answer::Membership(Some(MemberStatus::Approved)),
        Answer::User(Some(bo.clone())),
        Answer::Written,
    ];
    assert_eq!(
        answered(&mut core, ask, answers),
        ["audit Ban", "broadcast 12 USER_BANNED"]
    );
}

#[test]
fn a_kick_closes_every_socket_of_the_member_with_4011() {
    let host = user("Host");
    let ada = user("Ada");
    let mut core = live_room(&host, &[&ada]);
    apply(&mut core, joining(3, &ada));
    let frame = format!(
        r#"{{"type":"KICK_USER","data":{{"user_id":"{}"}}}}"#,
        ada.id
    );
    let ask = core.apply(client(1, &frame), NOW);
    let answers = vec![
        Answer::Membership(Some(MemberStatus::Approved)),
        Answer::Written,
    ];
    assert_eq!(
        answered(&mut core, ask, answers),
        [
            "audit Kick",
            "broadcast 13 USER_KICKED",
            "detach c2 4011",
            "detach c3 4011",
            "persist presence 1 host=true",
            "broadcast 14 USER_LEFT"
        ]
    );
}

#[test]
fn the_host_role_goes_only_to_an_online_member() {
    let host = user("Host");
    let ada = user("Ada");
    let bo = user("Bo");
    let mut core = live_room(&host, &[&ada]);
    let transfer =
        |id: UserId| format!(r#"{{"type":"TRANSFER_HOST","data":{{"user_id":"{id}"}}}}"#);
    let ask = core.apply(client(1, &transfer(bo.id)), NOW);
    let answers = vec![
        Answer::Membership(Some(MemberStatus::Approved)),
        Answer::User(Some(bo.clone())),
    ];
    assert_eq!(
        answered(&mut core, ask, answers),
        ["reply c1 ERROR USER_NOT_FOUND"]
    );
    let ask = core.apply(client(1, &transfer(ada.id)), NOW);
    let answers = vec![
        Answer::Membership(Some(MemberStatus::Approved)),
        Answer::Written,
    ];
    assert_eq!(
        answered(&mut core, ask, answers),
        [
            "audit TransferHost",
            "persist presence 2 host=true",
            "broadcast 13 HOST_CHANGED"
        ]
    );
    assert_eq!(
        apply(&mut core, client(1, r#"{"type":"PAUSE"}"#)),
        ["reply c1 ERROR NOT_HOST"],
        "the old host is a member now"
    );
}

#[test]
fn new_media_is_stored_announced_and_starts_paused_at_zero() {
    let host = user("Host");
    let mut core = live_room(&host, &[]);
    let frame =
        r#"{"type":"SET_MEDIA","data":{"media":{"provider":"vidking","kind":"movie","id":"550"}}}"#;
    let ask = core.apply(client(1, frame), NOW).unwrap();
    assert!(matches!(ask.query, Query::Write(Write::Media { .. })));
    assert_eq!(
        answered(&mut core, Some(ask), vec![Answer::Written]),
        [
            "audit SetMedia",
            "broadcast 12 MEDIA_CHANGED",
            "persist playback v2 at 13",
            "broadcast 13 PLAYBACK_STATE"
        ]
    );
    assert!(core.room.media.is_some());
}

#[test]
fn chat_off_is_stored_then_announced() {
    let host = user("Host");
    let mut core = live_room(&host, &[]);
    let ask = core.apply(
        client(1, r#"{"type":"SET_CHAT_ENABLED","data":{"enabled":false}}"#),
        NOW,
    );
    assert_eq!(
        answered(&mut core, ask, vec![Answer::Written]),
        ["audit ChatOff", "broadcast 12 ROOM_UPDATED"]
    );
    assert!(!core.room.chat_enabled);
}

#[test]
fn a_logout_closes_that_logins_sockets_and_the_host_going_starts_grace() {
    let host = user("Host");
    let ada = user("Ada");
    let mut core = live_room(&host, &[&ada]);
    assert_eq!(
        apply(&mut core, Input::CloseLogin(Uuid::from_u128(2))),
        [
            "detach c2 4001",
            "persist presence 1 host=true",
            "broadcast 13 USER_LEFT"
        ]
    );
    let ask = core.apply(Input::CloseLogin(Uuid::from_u128(1)), NOW);
    assert_eq!(
        answered(&mut core, ask, vec![Answer::Transitioned(true)]),
        [
            "detach c1 4001",
            "persist presence 0 host=false",
            "broadcast 14 USER_LEFT",
            "broadcast 15 HOST_DISCONNECTED"
        ]
    );
}

#[test]
fn a_deleted_room_says_so_and_closes_every_socket_with_4010() {
    let host = user("Host");
    let ada = user("Ada");
    let mut core = live_room(&host, &[&ada]);
    assert_eq!(
        apply(&mut core, Input::Deleted),
        [
            "broadcast 13 ROOM_DELETED",
            "detach c1 4010",
            "detach c2 4010",
            "persist presence 0 host=false"
        ]
    );
    assert!(core.state().is_closed() && core.is_empty());
}

#[test]
fn a_server_stopping_closes_sockets_with_1012_and_no_one_leaves() {
    let host = user("Host");
    let mut core = live_room(&host, &[]);
    core.shut_down();
    assert_eq!(
        summary(&mut core),
        ["detach c1 1012", "persist presence 0 host=false"]
    );
    assert_eq!(
        core.state(),
        RoomState::Live,
        "grace starts at the next start"
    );
}

#[test]
fn join_requests_reach_the_hosts_sockets_only() {
    let host = user("Host");
    let ada = user("Ada");
    let mut core = live_room(&host, &[&ada]);
    apply(&mut core, joining(3, &host));
    assert_eq!(
        apply(&mut core, Input::JoinRequested(user("Cy"))),
        ["reply c1 JOIN_REQUESTED", "reply c3 JOIN_REQUESTED"]
    );
}

#[test]
fn counters_reserve_a_new_block_before_they_run_out() {
    let host = user("Host");
    let mut core = live_room(&host, &[]);
    core.seq_ceiling = core.seq;
    assert_eq!(
        apply(&mut core, client(1, r#"{"type":"PAUSE"}"#)),
        [
            "ceilings 1011 2001",
            "persist playback v2 at 12",
            "broadcast 12 PLAYBACK_STATE"
        ]
    );
    core.ceilings_not_raised();
    assert_eq!(
        apply(&mut core, client(1, r#"{"type":"PLAY"}"#)),
        [
            "ceilings 1012 1002",
            "persist playback v3 at 13",
            "broadcast 13 PLAYBACK_STATE"
        ],
        "a failed raise is tried again"
    );
}

#[test]
fn sync_checks_correct_only_past_the_threshold() {
    let host = user("Host");
    let mut core = live_room(&host, &[]);
    assert_eq!(
        apply(
            &mut core,
            client(1, r#"{"type":"SYNC_CHECK","data":{"position_ms":400}}"#)
        ),
        ["sync 400 corrected=false"]
    );
    assert_eq!(
        apply(
            &mut core,
            client(
                1,
                r#"{"type":"SYNC_CHECK","ref":"s","data":{"position_ms":900}}"#
            )
        ),
        ["sync 900 corrected=true", "reply c1 SYNC_CORRECTION"]
    );
}

#[test]
fn resync_answers_a_fresh_snapshot_from_the_stored_participants() {
    let host = user("Host");
    let mut core = live_room(&host, &[]);
    let ask = core.apply(client(1, r#"{"type":"RESYNC","ref":"r-1"}"#), NOW);
    let participants = Answer::Participants(Some(approved(&[&host]).to_vec()));
    assert_eq!(
        answered(&mut core, ask, vec![participants]),
        ["reply c1 ROOM_SNAPSHOT"]
    );
    let ask = core.apply(client(1, r#"{"type":"RESYNC"}"#), NOW);
    assert_eq!(
        answered(&mut core, ask, vec![Answer::Failed]),
        ["reply c1 ERROR INTERNAL"]
    );
}

#[test]
fn resync_in_a_room_of_many_members_answers_the_bounded_snapshot() {
    let host = user("Host");
    let mut core = live_room(&host, &[]);
    let ask = core.apply(client(1, r#"{"type":"RESYNC"}"#), NOW);
    core.drain_effects().for_each(drop);
    let paused = ask.expect("a RESYNC asks for the participants");
    assert!(matches!(paused.query, Query::Participants));
    assert!(
        core.resume(paused.then, Answer::Participants(None), NOW)
            .is_none()
    );
    let snapshot = core
        .drain_effects()
        .find_map(|effect| match effect {
            Effect::Out(Outbound::Reply {
                event: ServerEvent::RoomSnapshot(snapshot),
                ..
            }) => Some(snapshot),
            _ => None,
        })
        .expect("a snapshot");
    let listed: Vec<_> = snapshot.participants.iter().map(|p| p.user.id).collect();
    assert_eq!(listed, [host.id], "who is online");
    assert_eq!(snapshot.participants_total, Some(1));
}

#[test]
fn pings_answer_with_the_server_time_and_frames_from_strangers_are_ignored() {
    let host = user("Host");
    let mut core = live_room(&host, &[]);
    assert_eq!(
        apply(
            &mut core,
            client(1, r#"{"type":"PING","data":{"client_ts":5}}"#)
        ),
        ["reply c1 PONG"]
    );
    assert!(
        apply(
            &mut core,
            client(9, r#"{"type":"PING","data":{"client_ts":5}}"#)
        )
        .is_empty()
    );
}

#[test]
fn progress_is_saved_only_once_there_is_media() {
    let host = user("Host");
    let mut core = live_room(&host, &[]);
    let report = r#"{"type":"PLAYER_EVENT","data":{"kind":"progress","position_ms":1500}}"#;
    assert!(apply(&mut core, client(1, report)).is_empty());
    core.room.media =
        Some(serde_json::from_str(r#"{"provider":"vidking","kind":"movie","id":"550"}"#).unwrap());
    assert_eq!(apply(&mut core, client(1, report)), ["progress 1500"]);
}

#[test]
fn a_room_loaded_live_without_its_host_goes_into_grace() {
    let host = user("Host");
    let mut core = room(&host, RoomState::Live);
    let ask = core.apply(Input::Start, NOW);
    assert_eq!(
        answered(&mut core, ask, vec![Answer::Transitioned(true)]),
        ["broadcast 11 HOST_DISCONNECTED"]
    );
    assert_eq!(core.state(), RoomState::Grace);
    let mut created = room(&host, RoomState::Created);
    assert_eq!(apply(&mut created, Input::Start), Vec::<String>::new());
}

#[test]
fn the_sockets_of_a_node_that_died_leave_as_timed_out() {
    let host = user("Host");
    let ada = user("Ada");
    let mut core = live_room(&host, &[]);
    let elsewhere = ConnId::new(NodeTag::fixed(9), 1);
    core.apply(
        Input::Join(Joining {
            conn: elsewhere,
            user: ada.clone(),
            login_id: Uuid::nil(),
            muted_until_ms: None,
            participants: Some(approved(&[&ada])),
        }),
        NOW,
    );
    summary(&mut core);
    assert_eq!(
        apply(&mut core, Input::NodeGone(NodeTag::fixed(9))),
        [
            "detach c1 1001",
            "persist presence 1 host=true",
            "broadcast 13 USER_LEFT"
        ]
    );
    assert!(
        core.sockets.contains_key(&conn(1)),
        "this node's sockets stay"
    );
}

#[test]
fn a_socket_that_leaves_after_it_was_kicked_changes_nothing() {
    let host = user("Host");
    let ada = user("Ada");
    let mut core = live_room(&host, &[&ada]);
    let frame = format!(
        r#"{{"type":"KICK_USER","data":{{"user_id":"{}"}}}}"#,
        ada.id
    );
    let ask = core.apply(client(1, &frame), NOW);
    let answers = vec![
        Answer::Membership(Some(MemberStatus::Approved)),
        Answer::Written,
    ];
    answered(&mut core, ask, answers);
    // Her socket task, seeing its close, still says it left: the room detached it already,
    // and a second detach would count another node's sockets down twice.
    let leave = Input::Leave {
        conn: conn(2),
        reason: LeaveReason::Left,
    };
    assert!(apply(&mut core, leave).is_empty());
}

/// A live room that is big from three people online, listing one other in snapshots.
fn big_room(host: &UserRef, members: &[&UserRef]) -> RoomCore {
    let mut core = live_room(host, &[]);
    core.settings.crowd_from = 3;
    core.settings.crowd_listed = 1;
    for (i, member) in members.iter().enumerate() {
        apply(&mut core, joining(i as u64 + 2, member));
    }
    core
}

/// The snapshot of the admission among `effects`, which must be there.
fn admitted(effects: Vec<Effect>) -> Box<RoomSnapshot> {
    effects
        .into_iter()
        .find_map(|effect| match effect {
            Effect::Out(Outbound::Admit { snapshot, .. }) => Some(snapshot),
            _ => None,
        })
        .expect("an admission")
}

/// The window closing at `now_ms`: its one broadcast, which must be a `PRESENCE_CHANGED`
/// however many came and went in it.
fn presence_told(core: &mut RoomCore, now_ms: u64) -> PresenceChanged {
    core.apply(Input::PresenceDue, now_ms);
    let told: Vec<_> = core
        .drain_effects()
        .filter_map(|effect| match effect {
            Effect::Out(Outbound::Broadcast(message)) => Some(message),
            _ => None,
        })
        .collect();
    let [message] = told.as_slice() else {
        panic!("one broadcast for the window: {told:?}");
    };
    let ServerEvent::PresenceChanged(changed) = &message.event else {
        panic!("{message:?}");
    };
    changed.clone()
}

#[test]
fn a_big_room_tells_comings_and_goings_once_per_window_net() {
    let (host, ada, bo, cy, di) = (
        user("Host"),
        user("Ada"),
        user("Bo"),
        user("Cy"),
        user("Di"),
    );
    let mut core = big_room(&host, &[&ada]);
    assert_eq!(core.presence_due_at(), None, "two online: a small room");
    // Bo makes three: from now on presence waits for the window.
    let effects = apply(&mut core, joining(3, &bo));
    assert!(
        !effects.iter().any(|e| e.contains("USER_JOINED")),
        "{effects:?}"
    );
    assert_eq!(core.presence_due_at(), Some(NOW + 100));
    apply(&mut core, joining(4, &cy));
    apply(
        &mut core,
        Input::Leave {
            conn: conn(2),
            reason: LeaveReason::Left,
        },
    );
    // Di comes and goes within the window: nobody needs to hear of it.
    apply(&mut core, joining(5, &di));
    apply(
        &mut core,
        Input::Leave {
            conn: conn(5),
            reason: LeaveReason::Left,
        },
    );
    assert_eq!(
        core.presence_due_at(),
        Some(NOW + 100),
        "the window is not moved"
    );

    let changed = presence_told(&mut core, NOW + 100);
    let joined: Vec<_> = changed.joined.iter().map(|u| u.id).collect();
    assert_eq!(joined, [bo.id, cy.id]);
    let left: Vec<_> = changed.left.iter().map(|d| (d.user.id, d.reason)).collect();
    assert_eq!(left, [(ada.id, LeaveReason::Left)]);
    assert_eq!(changed.viewers, 3);
    assert_eq!(core.presence_due_at(), None);
    let effects = apply(&mut core, Input::PresenceDue);
    assert!(effects.is_empty(), "nothing more to tell: {effects:?}");
}

#[test]
fn a_big_room_closed_with_presence_gathered_tells_nothing_more() {
    let (host, ada, bo) = (user("Host"), user("Ada"), user("Bo"));
    let mut core = big_room(&host, &[&ada, &bo]);
    // Ada's going waits in the window: told later, it would still name her.
    apply(
        &mut core,
        Input::Leave {
            conn: conn(2),
            reason: LeaveReason::Left,
        },
    );
    assert_eq!(core.presence_due_at(), Some(NOW + 100));
    apply(&mut core, Input::Deleted);
    assert_eq!(
        core.presence_due_at(),
        None,
        "the window goes with the room"
    );
    let effects = apply(&mut core, Input::PresenceDue);
    assert!(
        effects.is_empty(),
        "a closed room says nothing: {effects:?}"
    );
}

#[test]
fn a_big_rooms_crowded_window_names_a_few_and_counts_everyone() {
    let (host, ada, bo) = (user("Host"), user("Ada"), user("Bo"));
    let mut core = big_room(&host, &[&ada, &bo]);
    apply(&mut core, Input::PresenceDue);
    core.settings.crowd_named = 2;
    let newcomers: Vec<_> = (0..5).map(|i| user(&format!("N{i}"))).collect();
    for (i, newcomer) in newcomers.iter().enumerate() {
        apply(&mut core, joining(10 + i as u64, newcomer));
    }
    for gone in [2, 3] {
        let leave = Input::Leave {
            conn: conn(gone),
            reason: LeaveReason::Timeout,
        };
        apply(&mut core, leave);
    }

    let changed = presence_told(&mut core, NOW + 100);
    let left: Vec<_> = changed.left.iter().map(|d| (d.user.id, d.reason)).collect();
    assert_eq!(
        left,
        [
            (ada.id, LeaveReason::Timeout),
            (bo.id, LeaveReason::Timeout)
        ],
        "goings are named first"
    );
    assert!(changed.joined.is_empty(), "no names left for the comings");
    assert_eq!((changed.joined_total, changed.left_total), (Some(5), None));
    assert_eq!((changed.joined_count(), changed.left_count()), (5, 2));
    assert_eq!(changed.viewers, 6);

    // Three more go and one comes: the goings take both names.
    for gone in 10..13 {
        let leave = Input::Leave {
            conn: conn(gone),
            reason: LeaveReason::Left,
        };
        apply(&mut core, leave);
    }
    apply(&mut core, joining(20, &user("Late")));
    let changed = presence_told(&mut core, NOW + 300);
    let left: Vec<_> = changed.left.iter().map(|d| d.user.id).collect();
    assert_eq!(left, [newcomers[0].id, newcomers[1].id]);
    assert!(changed.joined.is_empty());
    assert_eq!(
        (changed.joined_total, changed.left_total),
        (Some(1), Some(3))
    );
}

#[test]
fn a_big_rooms_presence_window_grows_with_the_room() {
    let host = user("Host");
    let mut core = live_room(&host, &[]);
    core.settings.crowd_from = 3;
    let people: Vec<_> = (0..1_000).map(|i| user(&format!("P{i}"))).collect();
    for (i, person) in people.iter().enumerate() {
        apply(&mut core, joining(10 + i as u64, person));
        apply(&mut core, Input::PresenceDue);
    }
    apply(&mut core, joining(5_000, &user("Last")));
    assert_eq!(
        core.presence_due_at(),
        Some(NOW + 200),
        "a window of a room of 1 000 lasts 200 ms"
    );
}

#[test]
fn a_big_rooms_snapshot_lists_the_host_you_and_a_few_others_with_the_total() {
    let (host, ada, bo, cy) = (user("Host"), user("Ada"), user("Bo"), user("Cy"));
    let mut core = big_room(&host, &[&ada, &bo]);
    core.apply(joining(9, &cy), NOW);
    let snapshot = admitted(core.drain_effects().collect());
    let listed: Vec<_> = snapshot.participants.iter().map(|p| p.user.id).collect();
    assert_eq!(listed.len(), 3, "host, you and one other: {listed:?}");
    assert_eq!(listed[..2], [host.id, cy.id]);
    assert!([ada.id, bo.id].contains(&listed[2]));
    assert!(snapshot.participants.iter().all(|p| p.online));
    assert!(snapshot.participants[0].is_host);
    assert_eq!(snapshot.participants_total, Some(4));
}

#[test]
fn a_join_whose_members_were_not_read_gets_the_bounded_snapshot_even_in_a_small_room() {
    let (host, ada) = (user("Host"), user("Ada"));
    let mut core = live_room(&host, &[]);
    core.apply(
        Input::Join(Joining {
            conn: conn(2),
            user: ada.clone(),
            login_id: Uuid::nil(),
            muted_until_ms: None,
            participants: None,
        }),
        NOW,
    );
    let snapshot = admitted(core.drain_effects().collect());
    assert_eq!(
        snapshot.participants_total,
        Some(2),
        "the list says it is partial"
    );
    assert_eq!(snapshot.participants.len(), 2);
}

#[test]
fn a_room_of_many_members_with_few_online_gets_the_bounded_snapshot() {
    let (host, ada) = (user("Host"), user("Ada"));
    let mut core = live_room(&host, &[]);
    core.settings.crowd_from = 3;
    let (bo, cy, di) = (user("Bo"), user("Cy"), user("Di"));
    let members = approved(&[&host, &ada, &bo, &cy, &di]);
    let join = |user: &UserRef, members: Arc<[Participant]>| {
        Input::Join(Joining {
            conn: conn(2),
            user: user.clone(),
            login_id: Uuid::nil(),
            muted_until_ms: None,
            participants: Some(members),
        })
    };
    core.apply(join(&ada, members), NOW);
    let snapshot = admitted(core.drain_effects().collect());
    let listed: Vec<_> = snapshot.participants.iter().map(|p| p.user.id).collect();
    assert_eq!(
        listed,
        [host.id, ada.id],
        "who is online, not the 5 members"
    );
    assert_eq!(snapshot.participants_total, Some(2));
    assert!(!core.is_crowded(), "presence stays immediate");

    let mut small = live_room(&host, &[]);
    small.settings.crowd_from = 3;
    small.apply(join(&ada, approved(&[&host, &ada])), NOW);
    let snapshot = admitted(small.drain_effects().collect());
    assert_eq!(snapshot.participants.len(), 2);
    assert_eq!(
        snapshot.participants_total, None,
        "fewer members: the whole list"
    );
}
