//! What the real-time layer persists: counter ceilings, write-behind playback, chat history,
//! moderation, and recovery after a restart.

use streamit_protocol::v1::{
    CHAT_HISTORY_KEPT, ChatMessage, ChatText, DisplayName, MemberStatus, MessageId, Playback,
    PositionMs, Rate, RoomState, UserId, UserRef,
};
use uuid::Uuid;

use super::{Fixture, code, episode, fixtures, guest, movie, new_room, term, written};
use crate::store::{Fenced, Membership, Store};

/// A playing state at `position_ms`, set at `updated_at_ms`, with `version`.
fn playing(position_ms: u64, updated_at_ms: u64, version: u64) -> Playback {
    Playback::new(
        true,
        PositionMs::new(position_ms).unwrap(),
        Rate::new(1.5).unwrap(),
        updated_at_ms,
        version,
    )
}

/// The stored ceilings, read by reserving an empty block.
async fn ceilings(store: &Store, room: &str) -> (u64, u64) {
    store
        .reserve_counters(code(room), 0)
        .await
        .unwrap()
        .unwrap()
}

fn line(user: UserId, name: &str, text: &str, sent_at_ms: u64) -> ChatMessage {
    ChatMessage::new(
        MessageId::from_uuid(Uuid::new_v4()),
        UserRef::new(user, DisplayName::new(name).unwrap()),
        ChatText::new(text).unwrap(),
        sent_at_ms,
    )
}

fn texts(messages: &[ChatMessage]) -> Vec<&str> {
    messages.iter().map(|m| m.text.as_str()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_superseded_owner_writes_nothing() {
    for Fixture { store, .. } in &fixtures().await {
        let host = guest(store, "Ada").await;
        let room = code("TERM2345");
        store.create_room(new_room(room, host, 1)).await.unwrap();
        let old = term(store, room).await;
        written(
            store
                .save_playback(room, old, &playing(1_000, 1_000, 1), 1, None)
                .await
                .unwrap(),
        );
        // A new owner takes the room: everything the old one still sends is refused.
        let new = term(store, room).await;
        let superseded = Fenced::Superseded;
        let late = playing(9_000, 2_000, 2);
        assert_eq!(
            store
                .save_playback(room, old, &late, 2, None)
                .await
                .unwrap(),
            superseded
        );
        assert_eq!(
            store.set_presence(room, old, 9, true).await.unwrap(),
            superseded
        );
        let said = [line(host, "Ada", "too late", 3)];
        assert_eq!(
            store.insert_chat(room, old, &said).await.unwrap(),
            superseded
        );
        let record = store.room(room).await.unwrap().unwrap();
        assert_eq!(record.playback.position_ms.get(), 1_000);
        assert_eq!(record.room.viewers, 0);
        assert!(store.recent_chat(room, 10).await.unwrap().is_empty());
        // The new owner's own writes take.
        written(
            store
                .save_playback(room, new, &late, 2, None)
                .await
                .unwrap(),
        );
        written(store.set_presence(room, new, 1, true).await.unwrap());
        written(store.insert_chat(room, new, &said).await.unwrap());
        assert_eq!(store.recent_chat(room, 10).await.unwrap().len(), 1);
        assert_eq!(
            store
                .save_playback(code("GXNE2345"), new, &late, 2, None)
                .await
                .unwrap(),
            superseded,
            "a room that is gone takes nothing either"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reservations_move_the_ceilings_and_never_overlap() {
    for Fixture { store, .. } in &fixtures().await {
        let host = guest(store, "Ada").await;
        store
            .create_room(new_room(code("RSRV2345"), host, 1))
            .await
            .unwrap();
        let room = code("RSRV2345");

        assert_eq!(ceilings(store, "RSRV2345").await, (0, 0));
        assert_eq!(
            store.reserve_counters(room, 100).await.unwrap(),
            Some((0, 0)),
            "{:?}",
            store.backend()
        );
        assert_eq!(ceilings(store, "RSRV2345").await, (100, 100));
        assert_eq!(
            store.reserve_counters(room, 50).await.unwrap(),
            Some((100, 100))
        );
        assert_eq!(ceilings(store, "RSRV2345").await, (150, 150));
        assert_eq!(
            store.reserve_counters(code("ZZZZ2345"), 10).await.unwrap(),
            None
        );

        // Reservations racing on several connections still get disjoint blocks.
        let mut racing = tokio::task::JoinSet::new();
        for _ in 0..8 {
            let store = store.clone();
            racing.spawn(async move { store.reserve_counters(room, 10).await.unwrap().unwrap() });
        }
        let mut starts = racing.join_all().await;
        starts.sort_unstable();
        let expected: Vec<_> = (0..8).map(|i| (150 + i * 10, 150 + i * 10)).collect();
        assert_eq!(starts, expected, "{:?}", store.backend());
        assert_eq!(ceilings(store, "RSRV2345").await, (230, 230));
    }
}

#[tokio::test]
async fn a_crash_never_sends_the_counters_back() {
    for Fixture { store, .. } in &fixtures().await {
        let host = guest(store, "Ada").await;
        let room = code("CRSH2345");
        store.create_room(new_room(room, host, 1)).await.unwrap();

        // The first actor reserves 100, broadcasts up to seq 57 / version 12, but its last
        // write-behind only got seq 40 / version 10 stored before the process died.
        let (seq, version) = store.reserve_counters(room, 100).await.unwrap().unwrap();
        let (used_seq, used_version) = (seq + 57, version + 12);
        written(
            store
                .save_playback(
                    room,
                    term(store, room).await,
                    &playing(9_000, 2_000, 10),
                    40,
                    None,
                )
                .await
                .unwrap(),
        );
        let record = store.room(room).await.unwrap().unwrap();
        assert_eq!(record.playback, playing(9_000, 2_000, 10));

        let (seq, version) = store.reserve_counters(room, 100).await.unwrap().unwrap();
        assert!(
            seq > used_seq && version > used_version,
            "{:?}: restarted at {seq}/{version} after using {used_seq}/{used_version}",
            store.backend()
        );
        assert_eq!((seq, version), (100, 100));
        assert_eq!(ceilings(store, "CRSH2345").await, (200, 200));
    }
}

#[tokio::test]
async fn settling_lowers_the_ceilings_to_the_saved_values_only() {
    for Fixture { store, .. } in &fixtures().await {
        let host = guest(store, "Ada").await;
        let room = code("SETT2345");
        store.create_room(new_room(room, host, 1)).await.unwrap();

        store.reserve_counters(room, 100).await.unwrap().unwrap();
        written(
            store
                .save_playback(
                    room,
                    term(store, room).await,
                    &playing(5_000, 3_000, 7),
                    42,
                    Some((100, 100)),
                )
                .await
                .unwrap(),
        );
        assert_eq!(
            ceilings(store, "SETT2345").await,
            (42, 7),
            "{:?}: a clean stop leaves no gap",
            store.backend()
        );
        let record = store.room(room).await.unwrap().unwrap();
        assert_eq!(
            (record.seq, record.playback),
            (42, playing(5_000, 3_000, 7))
        );
        assert_eq!(
            store.reserve_counters(room, 10).await.unwrap(),
            Some((42, 7))
        );

        // Values past the ceilings (an actor that counted beyond its block) raise them, settled
        // or not: the ceilings never sit below what is stored.
        written(
            store
                .save_playback(
                    room,
                    term(store, room).await,
                    &playing(6_000, 4_000, 30),
                    80,
                    None,
                )
                .await
                .unwrap(),
        );
        assert_eq!(ceilings(store, "SETT2345").await, (80, 30));
        written(
            store
                .save_playback(
                    room,
                    term(store, room).await,
                    &playing(6_000, 5_000, 31),
                    81,
                    Some((80, 30)),
                )
                .await
                .unwrap(),
        );
        assert_eq!(ceilings(store, "SETT2345").await, (81, 31));
        // A write-behind below the ceilings leaves them where they are.
        store.raise_ceilings(room, 200, 200).await.unwrap();
        written(
            store
                .save_playback(
                    room,
                    term(store, room).await,
                    &playing(7_000, 6_000, 32),
                    82,
                    None,
                )
                .await
                .unwrap(),
        );
        assert_eq!(ceilings(store, "SETT2345").await, (200, 200));
        // A settle from an actor whose block another actor has since reserved past leaves
        // the newer block alone.
        written(
            store
                .save_playback(
                    room,
                    term(store, room).await,
                    &playing(7_000, 6_000, 33),
                    83,
                    Some((81, 31)),
                )
                .await
                .unwrap(),
        );
        assert_eq!(ceilings(store, "SETT2345").await, (200, 200));
    }
}

#[tokio::test]
async fn an_older_playback_never_replaces_a_newer_one() {
    for Fixture { store, .. } in &fixtures().await {
        let host = guest(store, "Ada").await;
        let room = code("PAST2345");
        store.create_room(new_room(room, host, 1)).await.unwrap();
        // The new owner wrote version 1 000 (it counts from above the old one's ceiling); the
        // old one, frozen meanwhile, wakes and writes its last change, version 12.
        let old = term(store, room).await;
        let new = term(store, room).await;
        written(
            store
                .save_playback(room, new, &playing(1_000, 9_000, 1_000), 1_500, None)
                .await
                .unwrap(),
        );
        assert_eq!(
            store
                .save_playback(room, old, &playing(5_000, 2_000, 12), 57, None)
                .await
                .unwrap(),
            Fenced::Superseded
        );
        let record = store.room(room).await.unwrap().unwrap();
        assert_eq!(
            (record.seq, record.playback),
            (1_500, playing(1_000, 9_000, 1_000)),
            "{:?}",
            store.backend()
        );
        // The same version again (a final write with a later seq) still lands.
        written(
            store
                .save_playback(room, new, &playing(1_000, 9_000, 1_000), 1_520, None)
                .await
                .unwrap(),
        );
        assert_eq!(store.room(room).await.unwrap().unwrap().seq, 1_520);
    }
}

#[tokio::test]
async fn raising_the_ceilings_never_lowers_them() {
    for Fixture { store, .. } in &fixtures().await {
        let host = guest(store, "Ada").await;
        let room = code("RAZE2345");
        store.create_room(new_room(room, host, 1)).await.unwrap();

        store.raise_ceilings(room, 50, 5).await.unwrap();
        assert_eq!(ceilings(store, "RAZE2345").await, (50, 5));
        store.raise_ceilings(room, 30, 9).await.unwrap();
        assert_eq!(
            ceilings(store, "RAZE2345").await,
            (50, 9),
            "{:?}",
            store.backend()
        );
        store.raise_ceilings(room, 0, 0).await.unwrap();
        assert_eq!(ceilings(store, "RAZE2345").await, (50, 9));
        store.raise_ceilings(code("ZZZZ2345"), 1, 1).await.unwrap();
    }
}

#[tokio::test]
async fn chat_is_kept_newest_last_and_trimmed() {
    for Fixture { store, .. } in &fixtures().await {
        let (host, bob) = (guest(store, "Ada").await, guest(store, "Bob").await);
        let (room, other) = (code("CHAT2345"), code("THER2345"));
        store.create_room(new_room(room, host, 1)).await.unwrap();
        store.create_room(new_room(other, bob, 1)).await.unwrap();
        written(
            store
                .insert_chat(
                    other,
                    term(store, other).await,
                    &[line(bob, "Bob", "elsewhere", 1)],
                )
                .await
                .unwrap(),
        );
        written(
            store
                .insert_chat(room, term(store, room).await, &[])
                .await
                .unwrap(),
        );
        written(
            store
                .insert_chat(code("ZZZZ2345"), term(store, room).await, &[])
                .await
                .unwrap(),
        );

        let all: Vec<_> = (0..510_u64)
            .map(|i| {
                let (who, name) = if i % 2 == 0 {
                    (host, "Ada")
                } else {
                    (bob, "Bob")
                };
                line(who, name, &format!("line {i}"), 10_000 + i)
            })
            .collect();
        for batch in [&all[..200], &all[200..400], &all[400..]] {
            written(
                store
                    .insert_chat(room, term(store, room).await, batch)
                    .await
                    .unwrap(),
            );
        }
        // A retried batch adds nothing.
        written(
            store
                .insert_chat(room, term(store, room).await, &all[500..])
                .await
                .unwrap(),
        );

        let kept = store.recent_chat(room, 1_000).await.unwrap();
        assert_eq!(kept.len(), CHAT_HISTORY_KEPT, "{:?}", store.backend());
        assert_eq!(kept, all[10..], "the newest 500, oldest first");

        let last = store.recent_chat(room, 3).await.unwrap();
        assert_eq!(texts(&last), ["line 507", "line 508", "line 509"]);
        assert!(store.recent_chat(room, 0).await.unwrap().is_empty());
        assert_eq!(
            texts(&store.recent_chat(other, 10).await.unwrap()),
            ["elsewhere"],
            "trimming one room leaves the others"
        );
        assert!(
            store
                .recent_chat(code("ZZZZ2345"), 10)
                .await
                .unwrap()
                .is_empty()
        );
    }
}

#[tokio::test]
async fn chat_ties_are_ordered_by_id_and_carry_the_current_name() {
    for Fixture { store, .. } in &fixtures().await {
        let host = guest(store, "Ada").await;
        let room = code("TYES2345");
        store.create_room(new_room(room, host, 1)).await.unwrap();

        let mut same_time: Vec<_> = (0..CHAT_HISTORY_KEPT + 5)
            .map(|i| line(host, "Ada", &format!("tie {i}"), 7_000))
            .collect();
        written(
            store
                .insert_chat(room, term(store, room).await, &same_time)
                .await
                .unwrap(),
        );
        same_time.sort_by_key(|m| m.id.to_string());
        let kept = store.recent_chat(room, CHAT_HISTORY_KEPT).await.unwrap();
        assert_eq!(
            kept,
            same_time[5..],
            "{:?}: trimming and reading agree on ties",
            store.backend()
        );

        sqlx::query("UPDATE users SET display_name = $1 WHERE id = $2")
            .bind("Ada L.")
            .bind(host.to_string())
            .execute(&store.pool)
            .await
            .unwrap();
        let renamed = store.recent_chat(room, 1).await.unwrap();
        assert_eq!(renamed[0].user.display_name.as_str(), "Ada L.");
    }
}

#[tokio::test]
async fn media_chat_switch_and_host_show_in_the_room() {
    for Fixture { store, .. } in &fixtures().await {
        let (host, bob) = (guest(store, "Ada").await, guest(store, "Bob").await);
        let room = code("HSTS2345");
        store.create_room(new_room(room, host, 1)).await.unwrap();
        store
            .ensure_membership(room, bob, MemberStatus::Approved, 2)
            .await
            .unwrap();

        let url = "https://www.vidking.net/embed/tv/1399/2/3";
        store.set_media(room, &episode(2, 3), url).await.unwrap();
        store.set_chat_enabled(room, false).await.unwrap();
        store.set_host(room, bob).await.unwrap();

        let shown = store.room(room).await.unwrap().unwrap().room;
        assert_eq!(shown.media, Some(episode(2, 3)), "{:?}", store.backend());
        assert_eq!(shown.embed_url.as_deref(), Some(url));
        assert!(!shown.chat_enabled);
        assert_eq!(shown.host, UserRef::new(bob, "Bob".parse().unwrap()));

        let members = store.participants(room).await.unwrap();
        let hosts: Vec<_> = members.iter().map(|p| (p.user.id, p.is_host)).collect();
        assert_eq!(hosts, [(bob, true), (host, false)]);
        assert!(
            members.iter().all(|p| p.status == MemberStatus::Approved),
            "memberships stay as they were"
        );

        store.set_chat_enabled(room, true).await.unwrap();
        store
            .set_media(
                room,
                &movie("550"),
                "https://www.vidking.net/embed/movie/550",
            )
            .await
            .unwrap();
        let shown = store.room(room).await.unwrap().unwrap().room;
        assert!(shown.chat_enabled);
        assert_eq!(shown.media, Some(movie("550")), "season/episode cleared");
    }
}

#[tokio::test]
async fn mutes_kicks_and_bans_change_the_membership() {
    for Fixture { store, .. } in &fixtures().await {
        let (host, bob, eve) = (
            guest(store, "Ada").await,
            guest(store, "Bob").await,
            guest(store, "Eve").await,
        );
        let room = code("MDRT2345");
        store.create_room(new_room(room, host, 1)).await.unwrap();
        for user in [bob, eve] {
            store
                .ensure_membership(room, user, MemberStatus::Approved, 2)
                .await
                .unwrap();
        }

        store
            .set_muted_until(room, bob, Some(90_000))
            .await
            .unwrap();
        let muted = Membership {
            status: MemberStatus::Approved,
            muted_until_ms: Some(90_000),
        };
        assert_eq!(
            store.membership(room, bob).await.unwrap(),
            Some(muted),
            "{:?}",
            store.backend()
        );
        let listed = store.participants(room).await.unwrap();
        let bob_listed = listed.iter().find(|p| p.user.id == bob).unwrap();
        assert_eq!(bob_listed.muted_until_ms, Some(90_000));
        store.set_muted_until(room, bob, None).await.unwrap();
        assert_eq!(
            store
                .membership(room, bob)
                .await
                .unwrap()
                .unwrap()
                .muted_until_ms,
            None
        );

        store.remove_member(room, bob).await.unwrap();
        assert_eq!(store.membership(room, bob).await.unwrap(), None);
        assert!(
            !store.is_banned(room, bob).await.unwrap(),
            "a kick is no ban"
        );
        let left: Vec<_> = store
            .participants(room)
            .await
            .unwrap()
            .iter()
            .map(|p| p.user.id)
            .collect();
        assert_eq!(left, [host, eve]);

        store.ban(room, eve, 5_000).await.unwrap();
        assert!(store.is_banned(room, eve).await.unwrap());
        assert_eq!(store.membership(room, eve).await.unwrap(), None);
        store.ban(room, eve, 6_000).await.unwrap();
        assert!(
            store.is_banned(room, eve).await.unwrap(),
            "banning twice is fine"
        );
        // Banning someone who is not a member keeps them out too.
        store.ban(room, bob, 7_000).await.unwrap();
        assert!(store.is_banned(room, bob).await.unwrap());
        assert_eq!(
            store.membership(room, host).await.unwrap().unwrap().status,
            MemberStatus::Approved
        );
        assert_eq!(store.participants(room).await.unwrap().len(), 1);
    }
}

#[tokio::test]
async fn a_restart_puts_live_rooms_in_grace_and_clears_presence() {
    use RoomState::{Created, Grace, Live};
    for Fixture { store, .. } in &fixtures().await {
        let host = guest(store, "Ada").await;
        let (live, grace, created) = (code("WAKE2345"), code("GRCE2345"), code("CRTD2345"));
        for room in [live, grace, created] {
            store.create_room(new_room(room, host, 1)).await.unwrap();
        }
        assert!(
            store
                .transition_room(live, &[Created], Live, None, 5_000)
                .await
                .unwrap()
        );
        assert!(
            store
                .transition_room(grace, &[Created], Grace, Some(50_000), 5_000)
                .await
                .unwrap()
        );
        for room in [live, grace, created] {
            written(
                store
                    .set_presence(room, term(store, room).await, 7, true)
                    .await
                    .unwrap(),
            );
        }

        assert_eq!(
            store.recover_after_restart(300_000).await.unwrap(),
            [live],
            "{:?}",
            store.backend()
        );
        let shown = |room| async move { store.room(room).await.unwrap().unwrap().room };
        let moved = shown(live).await;
        assert_eq!(
            (moved.state, moved.grace_deadline_ms, moved.viewers),
            (Grace, Some(300_000), 0)
        );
        let kept = shown(grace).await;
        assert_eq!(
            (kept.state, kept.grace_deadline_ms, kept.viewers),
            (Grace, Some(50_000), 0)
        );
        let untouched = shown(created).await;
        assert_eq!(
            (
                untouched.state,
                untouched.grace_deadline_ms,
                untouched.viewers
            ),
            (Created, None, 0)
        );

        // The host is no longer counted as connected: live again, the room stays unlisted.
        assert!(
            store
                .transition_room(live, &[Grace], Live, None, 5_000)
                .await
                .unwrap()
        );
        assert_eq!(store.public_rooms(20, 0, None).await.unwrap().total, 0);
        assert_eq!(store.recover_after_restart(400_000).await.unwrap(), [live]);
        assert!(
            store
                .recover_after_restart(500_000)
                .await
                .unwrap()
                .is_empty(),
            "nothing live is left"
        );
    }
}

#[tokio::test]
async fn rooms_past_their_deadline_include_the_deadline_itself() {
    use RoomState::{Created, Expired, Grace, Live};
    for Fixture { store, .. } in &fixtures().await {
        let host = guest(store, "Ada").await;
        let rooms = [
            (code("KATE2345"), Grace, Some(300)),
            (code("SNAP2345"), Grace, Some(100)),
            (code("DATE2345"), Grace, Some(200)),
            (code("GNNE2345"), Expired, Some(50)),
            (code("WAKE2345"), Live, None),
        ];
        for (room, state, deadline) in rooms {
            store.create_room(new_room(room, host, 1)).await.unwrap();
            assert!(
                store
                    .transition_room(room, &[Created], state, deadline, 5_000)
                    .await
                    .unwrap()
            );
        }

        assert!(store.rooms_past_deadline(99).await.unwrap().is_empty());
        assert_eq!(
            store.rooms_past_deadline(200).await.unwrap(),
            [code("SNAP2345"), code("DATE2345")],
            "{:?}: earliest first, == now counts",
            store.backend()
        );
        assert_eq!(
            store.rooms_past_deadline(10_000).await.unwrap(),
            [code("SNAP2345"), code("DATE2345"), code("KATE2345")]
        );
    }
}
