//! Rooms: creation, lookup, the lifecycle compare-and-set, presence and the public listing.

use streamit_protocol::v1::{
    EntryMode, MemberStatus, Playback, PositionMs, PublicRoomsCursor, RoomCode, RoomState, UserRef,
};

use super::{Fixture, code, episode, fixtures, guest, movie, new_room, term, written};
use crate::store::{Error, Store};

#[tokio::test]
async fn a_room_round_trips_with_its_private_parts() {
    for Fixture { store, .. } in &fixtures().await {
        let host = guest(store, "Ada").await;
        let mut new = new_room(code("ABCD2345"), host, 5_000);
        new.is_private = true;
        new.entry_mode = EntryMode::Password;
        new.password_hash = Some("$argon2id$room".to_owned());
        new.chat_enabled = false;
        new.media = Some(episode(2, 3));
        new.embed_url = Some("https://www.vidking.net/embed/tv/1399/2/3".to_owned());
        let room = store.create_room(new).await.unwrap();

        assert_eq!(room.host, UserRef::new(host, "Ada".parse().unwrap()));
        assert_eq!(room.state, RoomState::Created);
        assert!(room.is_private && !room.chat_enabled);
        assert_eq!(room.entry_mode, EntryMode::Password);
        assert_eq!(room.media, Some(episode(2, 3)));
        assert_eq!(
            room.embed_url.as_deref(),
            Some("https://www.vidking.net/embed/tv/1399/2/3")
        );
        assert_eq!(
            (room.viewers, room.created_at_ms, room.grace_deadline_ms),
            (0, 5_000, None)
        );

        let record = store.room(code("abcd2345")).await.unwrap().unwrap();
        assert_eq!(record.room, room, "{:?}", store.backend());
        assert_eq!(record.password_hash.as_deref(), Some("$argon2id$room"));
        assert_eq!(
            record.playback,
            Playback::paused(PositionMs::ZERO, 5_000, 0)
        );
        assert_eq!(record.seq, 0);

        let members = store.participants(room.code).await.unwrap();
        assert_eq!(members.len(), 1);
        assert_eq!(
            (members[0].user.id, members[0].status, members[0].is_host),
            (host, MemberStatus::Approved, true)
        );
        assert!(store.room(code("ZZZZ2345")).await.unwrap().is_none());
    }
}

#[tokio::test]
async fn a_room_without_media_has_none() {
    for Fixture { store, .. } in &fixtures().await {
        let host = guest(store, "Ada").await;
        store
            .create_room(new_room(code("MEDA2345"), host, 1))
            .await
            .unwrap();
        let record = store.room(code("MEDA2345")).await.unwrap().unwrap();
        assert_eq!(
            (
                record.room.media,
                record.room.embed_url,
                record.password_hash
            ),
            (None, None, None)
        );
        assert_eq!(record.room.entry_mode, EntryMode::Open);
    }
}

#[tokio::test]
async fn a_taken_code_is_a_conflict() {
    for Fixture { store, .. } in &fixtures().await {
        let (ada, bob) = (guest(store, "Ada").await, guest(store, "Bob").await);
        store
            .create_room(new_room(code("ABCD2345"), ada, 1))
            .await
            .unwrap();
        let again = store.create_room(new_room(code("ABCD2345"), bob, 2)).await;
        assert!(
            matches!(again, Err(Error::Conflict)),
            "{:?}: {again:?}",
            store.backend()
        );
        assert_eq!(
            store
                .room(code("ABCD2345"))
                .await
                .unwrap()
                .unwrap()
                .room
                .host
                .id,
            ada
        );
        assert!(
            store
                .membership(code("ABCD2345"), bob)
                .await
                .unwrap()
                .is_none(),
            "the failed create left nothing"
        );
    }
}

#[tokio::test]
async fn transitions_are_compare_and_set() {
    use RoomState::{Created, Deleted, Expired, Grace, Live};
    for Fixture { store, .. } in &fixtures().await {
        let host = guest(store, "Ada").await;
        let room = code("CASE2345");
        store.create_room(new_room(room, host, 1)).await.unwrap();
        let now = async || {
            let found = store.room(room).await.unwrap().unwrap().room;
            (found.state, found.grace_deadline_ms)
        };
        let moved = async |from: &[RoomState], to, deadline| {
            store
                .transition_room(room, from, to, deadline, 5_000)
                .await
                .unwrap()
        };

        assert!(moved(&[Created, Grace], Live, None).await);
        assert_eq!(now().await, (Live, None));
        assert!(!moved(&[Created], Live, None).await, "not from LIVE");
        assert!(!moved(&[], Grace, None).await, "no sources, no move");

        assert!(moved(&[Live], Grace, Some(301_000)).await);
        assert_eq!(now().await, (Grace, Some(301_000)), "{:?}", store.backend());

        assert!(moved(&[Grace], Live, None).await);
        assert_eq!(now().await, (Live, None));
        assert!(!moved(&[Grace], Expired, None).await);
        assert_eq!(now().await, (Live, None), "a refused move changes nothing");

        assert!(moved(&[Created, Live, Grace], Deleted, None).await);
        assert_eq!(now().await, (Deleted, None));
        let every = [Created, Live, Grace, Expired];
        assert!(!moved(&every, Live, None).await, "DELETED never comes back");
        assert!(
            !store
                .transition_room(code("ZZZZ2345"), &every, Live, None, 5_000)
                .await
                .unwrap(),
            "no such room"
        );
    }
}

/// Creates a room, makes it `state` and records its presence.
async fn listed_room(
    store: &Store,
    room: &str,
    created_at_ms: u64,
    state: RoomState,
    viewers: u32,
    host_connected: bool,
) {
    let host = guest(store, "Host").await;
    let mut new = new_room(code(room), host, created_at_ms);
    new.media = Some(movie("550"));
    store.create_room(new).await.unwrap();
    if state != RoomState::Created {
        assert!(
            store
                .transition_room(code(room), &[RoomState::Created], state, None, 5_000)
                .await
                .unwrap()
        );
    }
    written(
        store
            .set_presence(
                code(room),
                term(store, code(room)).await,
                viewers,
                host_connected,
            )
            .await
            .unwrap(),
    );
}

#[tokio::test]
async fn the_public_listing_shows_live_public_rooms_with_their_host() {
    for Fixture { store, .. } in &fixtures().await {
        listed_room(store, "AAAA2345", 10, RoomState::Live, 5, true).await;
        listed_room(store, "BBBB2345", 20, RoomState::Live, 9, true).await;
        listed_room(store, "CCCC2345", 30, RoomState::Live, 5, true).await;
        listed_room(store, "DDDD2345", 40, RoomState::Live, 50, false).await;
        listed_room(store, "EEEE2345", 50, RoomState::Created, 50, true).await;
        listed_room(store, "FFFF2345", 60, RoomState::Grace, 50, true).await;
        let host = guest(store, "Secret").await;
        let mut private = new_room(code("GGGG2345"), host, 70);
        private.is_private = true;
        store.create_room(private).await.unwrap();
        assert!(
            store
                .transition_room(
                    code("GGGG2345"),
                    &[RoomState::Created],
                    RoomState::Live,
                    None,
                    5_000
                )
                .await
                .unwrap()
        );
        written(
            store
                .set_presence(
                    code("GGGG2345"),
                    term(store, code("GGGG2345")).await,
                    99,
                    true,
                )
                .await
                .unwrap(),
        );

        let listing = store.public_rooms(20, 0, None).await.unwrap();
        let (page, total) = (listing.rooms, listing.total);
        let codes: Vec<_> = page.iter().map(|r| r.code.as_str()).collect();
        // Most viewers first, newest first among equals.
        assert_eq!(
            codes,
            ["BBBB2345", "CCCC2345", "AAAA2345"],
            "{:?}",
            store.backend()
        );
        assert_eq!(total, 3);
        assert_eq!(
            (page[0].viewers, page[0].media.clone()),
            (9, Some(movie("550")))
        );
        assert_eq!(page[0].host.display_name.as_str(), "Host");

        let first = store.public_rooms(2, 0, None).await.unwrap();
        assert_eq!((first.rooms.len(), first.total), (2, 3));
        let rest = store.public_rooms(2, 2, None).await.unwrap();
        assert_eq!(
            rest.rooms
                .iter()
                .map(|r| r.code.as_str())
                .collect::<Vec<_>>(),
            ["AAAA2345"]
        );
        assert_eq!(rest.next_cursor, None, "the last page has no cursor");
        // A cursor (from an offset page too) goes on where the page ended.
        let next = first.next_cursor.expect("a full page with more after it");
        assert_eq!(next, PublicRoomsCursor::after(&first.rooms[1]));
        let after = store.public_rooms(2, 0, Some(next)).await.unwrap();
        assert_eq!((after.rooms, after.next_cursor), (rest.rooms, None));
        let beyond = store.public_rooms(2, 10, None).await.unwrap();
        assert_eq!((beyond.rooms.len(), beyond.total), (0, 3));

        written(
            store
                .set_presence(
                    code("AAAA2345"),
                    term(store, code("AAAA2345")).await,
                    10,
                    true,
                )
                .await
                .unwrap(),
        );
        written(
            store
                .set_presence(
                    code("BBBB2345"),
                    term(store, code("BBBB2345")).await,
                    9,
                    false,
                )
                .await
                .unwrap(),
        );
        let listing = store.public_rooms(20, 0, None).await.unwrap();
        let (page, total) = (listing.rooms, listing.total);
        assert_eq!(
            page.iter()
                .map(|r| (r.code.as_str(), r.viewers))
                .collect::<Vec<_>>(),
            [("AAAA2345", 10), ("CCCC2345", 5)]
        );
        assert_eq!(total, 2);
        assert_eq!(
            store
                .room(code("AAAA2345"))
                .await
                .unwrap()
                .unwrap()
                .room
                .viewers,
            10
        );
    }
}

/// Names stored before the rules refused invisible and direction-changing characters read back
/// repaired: one such row must not turn the whole public listing into an error.
#[tokio::test]
async fn names_stored_under_an_older_rule_read_back_repaired() {
    for Fixture { store, .. } in &fixtures().await {
        listed_room(store, "AAAA2345", 10, RoomState::Live, 1, true).await;
        sqlx::query("UPDATE rooms SET name = $1 WHERE code = $2")
            .bind("\u{202E}evil")
            .bind("AAAA2345")
            .execute(&store.pool)
            .await
            .unwrap();
        sqlx::query("UPDATE users SET display_name = $1")
            .bind("\u{3164}")
            .execute(&store.pool)
            .await
            .unwrap();

        let page = store.public_rooms(20, 0, None).await.unwrap().rooms;
        let room = &page[0];
        assert_eq!(
            (room.name.as_str(), room.host.display_name.as_str()),
            ("\u{FFFD}evil", "\u{FFFD}"),
            "{:?}",
            store.backend()
        );
    }
}

/// The `n`th code starting with `prefix`, for tests that need many rooms.
fn nth_code(prefix: &str, n: usize) -> String {
    let letter = |i: usize| char::from(RoomCode::ALPHABET[i % RoomCode::ALPHABET.len()]);
    format!(
        "{prefix}{}{}",
        letter(n / RoomCode::ALPHABET.len()),
        letter(n)
    )
}

/// Pages through the listing by cursor while, between pages, rooms appear above and below the
/// cursor and rooms already shown or still to come end: each room that stays listed throughout
/// is shown exactly once, and none twice. (With offsets, each room added above the cursor
/// would show one room again, and each one ended above it would hide one.)
#[tokio::test]
async fn cursor_pages_show_every_staying_room_once_while_others_come_and_go() {
    for Fixture { store, .. } in &fixtures().await {
        // (viewers, created_at_ms): ties on viewers, and on both (told apart by code).
        let staying = [
            (9, 100),
            (9, 100),
            (9, 200),
            (7, 300),
            (7, 300),
            (5, 100),
            (5, 400),
            (5, 500),
            (3, 100),
            (1, 100),
        ];
        let mut stayers = Vec::new();
        for (n, (viewers, created)) in staying.into_iter().enumerate() {
            let room = nth_code("STAYER", n);
            listed_room(store, &room, created, RoomState::Live, viewers, true).await;
            stayers.push(room);
        }
        let mut leavers = Vec::new();
        for (n, (viewers, created)) in [(9, 150), (8, 1), (6, 1), (5, 100), (2, 1), (0, 1)]
            .into_iter()
            .enumerate()
        {
            let room = nth_code("DEPART", n);
            listed_room(store, &room, created, RoomState::Live, viewers, true).await;
            leavers.push(room);
        }

        let mut seen: Vec<String> = Vec::new();
        let mut cursor = None;
        for round in 0.. {
            assert!(round < 20, "{:?}: the pages never end", store.backend());
            let page = store.public_rooms(3, 0, cursor).await.unwrap();
            seen.extend(page.rooms.iter().map(|r| r.code.as_str().to_owned()));
            // Between pages: one room above every cursor, one below every cursor, and two
            // leavers gone, one already shown and one not yet.
            let above = nth_code("ABVNEW", round);
            listed_room(store, &above, 1_000, RoomState::Live, 100, true).await;
            let below = nth_code("BNEATH", round);
            listed_room(store, &below, 1, RoomState::Live, 0, true).await;
            let shown = leavers.iter().position(|l| seen.contains(l));
            let unseen = leavers.iter().position(|l| !seen.contains(l));
            // Highest index first, so removing one leaves the other's index as it was.
            let mut gone: Vec<usize> = [shown, unseen].into_iter().flatten().collect();
            gone.sort_unstable_by(|a, b| b.cmp(a));
            for gone in gone {
                let room = leavers.remove(gone);
                let live = [RoomState::Live];
                let deleted = store
                    .transition_room(code(&room), &live, RoomState::Deleted, None, 5_000)
                    .await
                    .unwrap();
                assert!(deleted, "{room}");
            }
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }

        let mut sorted = seen.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), seen.len(), "{:?}: {seen:?}", store.backend());
        for room in &stayers {
            assert!(
                seen.contains(room),
                "{:?}: {room} in {seen:?}",
                store.backend()
            );
        }
        assert!(
            !seen.iter().any(|room| room.starts_with("ABVNEW")),
            "{:?}: rooms above the cursor wait for the next listing: {seen:?}",
            store.backend()
        );
    }
}
