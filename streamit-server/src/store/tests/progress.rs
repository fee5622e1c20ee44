//! Watch progress.

use streamit_protocol::v1::{MediaRef, Playback, PositionMs, RoomCode, Seconds, UserId};

use super::{Fixture, code, episode, fixtures, guest, movie, new_room};
use crate::store::{ProgressUpdate, Store};

fn seconds(s: f64) -> Seconds {
    Seconds::new(s).unwrap()
}

/// One save at `now_ms`.
fn save<'a>(
    user_id: UserId,
    room_code: RoomCode,
    media: &'a MediaRef,
    position: f64,
    duration: Option<f64>,
    now_ms: u64,
) -> ProgressUpdate<'a> {
    ProgressUpdate {
        user_id,
        room_code,
        media,
        position_s: seconds(position),
        duration_s: duration.map(seconds),
        completed: false,
        now_ms,
    }
}

/// A user in a fresh room.
async fn watcher(store: &Store, room: &str) -> (UserId, RoomCode) {
    let user = guest(store, "Ada").await;
    store
        .create_room(new_room(code(room), user, 1))
        .await
        .unwrap();
    (user, code(room))
}

#[tokio::test]
async fn saving_twice_keeps_one_row() {
    for Fixture { store, .. } in &fixtures().await {
        let (user, room) = watcher(store, "PRGS2345").await;
        let media = movie("550");
        let first = store
            .save_progress(save(user, room, &media, 30.0, Some(120.0), 10))
            .await
            .unwrap();
        assert_eq!(
            (first.position_s, first.duration_s, first.percent),
            (seconds(30.0), Some(seconds(120.0)), Some(25.0))
        );
        assert!(!first.completed);
        assert_eq!(
            (first.room_code, &first.media, first.updated_at_ms),
            (room, &media, 10)
        );

        let again = store
            .save_progress(save(user, room, &media, 30.0, Some(120.0), 10))
            .await
            .unwrap();
        assert_eq!(again, first, "the same call twice is the same row");
        let later = store
            .save_progress(save(user, room, &media, 60.0, None, 20))
            .await
            .unwrap();
        assert_eq!((later.position_s, later.updated_at_ms), (seconds(60.0), 20));
        assert_eq!(
            (later.duration_s, later.percent),
            (Some(seconds(120.0)), Some(50.0)),
            "a known length stays"
        );

        let list = store.progress_list(user).await.unwrap();
        assert_eq!(list.len(), 1, "{:?}", store.backend());
        assert_eq!(list[0], later);
        assert_eq!(
            store.progress(user, room, &media).await.unwrap(),
            Some(later)
        );
    }
}

/// Saves without a length, then with one: a pooled connection that cached the statement from
/// a save without a length must still take one with it (PostgreSQL once refused it, "incorrect
/// binary data format", when the length was bound as a nullable float). Ten of each, so every
/// connection the pool hands out sees both, in that order.
#[tokio::test]
async fn a_length_first_unknown_then_known() {
    for Fixture { store, .. } in &fixtures().await {
        let (user, room) = watcher(store, "NKWN2345").await;
        let media = movie("550");
        let unknown = (0..10).map(|i| (None, 10 + i));
        let known = (0..10).map(|i| (Some(240.0), 20 + i));
        for (duration, now_ms) in unknown.chain(known) {
            let saved = store
                .save_progress(save(user, room, &media, 60.0, duration, now_ms))
                .await
                .unwrap_or_else(|e| panic!("{:?}: {e}", store.backend()));
            assert_eq!(saved.updated_at_ms, now_ms);
        }
        let last = store.progress(user, room, &media).await.unwrap().unwrap();
        assert_eq!(
            (last.duration_s, last.percent),
            (Some(seconds(240.0)), Some(25.0))
        );
    }
}

/// A save without a length completes the media against the length stored before, in the
/// same statement; one with no length ever known never does.
#[tokio::test]
async fn a_save_without_a_length_completes_against_the_stored_one() {
    for Fixture { store, .. } in &fixtures().await {
        let (user, room) = watcher(store, "STRD2345").await;
        let media = movie("550");
        store
            .save_progress(save(user, room, &media, 10.0, Some(100.0), 10))
            .await
            .unwrap();
        let short = store
            .save_progress(save(user, room, &media, 94.0, None, 20))
            .await
            .unwrap();
        assert!(
            !short.completed,
            "{:?}: 94 % is not the end",
            store.backend()
        );
        let done = store
            .save_progress(save(user, room, &media, 95.0, None, 30))
            .await
            .unwrap();
        assert!(
            done.completed,
            "{:?}: 95 % of the stored 100 s",
            store.backend()
        );
        assert_eq!(done.duration_s, Some(seconds(100.0)));

        let unknown = movie("551");
        store
            .save_progress(save(user, room, &unknown, 10.0, None, 40))
            .await
            .unwrap();
        let far = store
            .save_progress(save(user, room, &unknown, 9_999.0, None, 50))
            .await
            .unwrap();
        assert!(!far.completed, "{:?}: no length, no end", store.backend());
    }
}

#[tokio::test]
async fn completion_is_sticky_and_percent_capped() {
    for Fixture { store, .. } in &fixtures().await {
        let (user, room) = watcher(store, "DNNE2345").await;
        let media = movie("550");
        let mut finished = save(user, room, &media, 118.0, Some(120.0), 10);
        finished.completed = true;
        assert!(store.save_progress(finished).await.unwrap().completed);

        let rewound = store
            .save_progress(save(user, room, &media, 5.0, Some(120.0), 20))
            .await
            .unwrap();
        assert!(
            rewound.completed,
            "{:?}: completed stays true",
            store.backend()
        );
        assert_eq!(rewound.position_s, seconds(5.0));

        let past_the_end = store
            .save_progress(save(user, room, &media, 130.0, Some(120.0), 30))
            .await
            .unwrap();
        assert_eq!(past_the_end.percent, Some(100.0));
        let no_length = store
            .save_progress(save(user, room, &movie("551"), 5.0, None, 40))
            .await
            .unwrap();
        assert_eq!(
            (no_length.duration_s, no_length.percent, no_length.completed),
            (None, None, false)
        );
        let zero_length = store
            .save_progress(save(user, room, &movie("552"), 5.0, Some(0.0), 50))
            .await
            .unwrap();
        assert_eq!(zero_length.percent, None);
    }
}

#[tokio::test]
async fn progress_is_listed_newest_first_and_found_by_media() {
    for Fixture { store, .. } in &fixtures().await {
        let (user, room) = watcher(store, "QSTS2345").await;
        let other_room = code("THRE2345");
        store
            .create_room(new_room(other_room, user, 2))
            .await
            .unwrap();
        let (e1, e2, film) = (episode(1, 1), episode(1, 2), movie("550"));
        store
            .save_progress(save(user, room, &e1, 100.0, None, 300))
            .await
            .unwrap();
        store
            .save_progress(save(user, room, &e2, 200.0, None, 100))
            .await
            .unwrap();
        store
            .save_progress(save(user, other_room, &film, 300.0, None, 200))
            .await
            .unwrap();

        let list = store.progress_list(user).await.unwrap();
        let order: Vec<_> = list
            .iter()
            .map(|p| (p.room_code, p.media.clone()))
            .collect();
        assert_eq!(
            order,
            [
                (room, e1.clone()),
                (other_room, film.clone()),
                (room, e2.clone())
            ],
            "{:?}",
            store.backend()
        );

        let found = store.progress(user, room, &e2).await.unwrap().unwrap();
        assert_eq!(
            (
                found.media.season(),
                found.media.episode(),
                found.position_s
            ),
            (Some(1), Some(2), seconds(200.0))
        );
        assert_eq!(
            store.progress(user, room, &episode(2, 1)).await.unwrap(),
            None
        );
        assert_eq!(
            store.progress(user, other_room, &e1).await.unwrap(),
            None,
            "progress is per room"
        );
        assert_eq!(store.progress(user, room, &film).await.unwrap(), None);

        let stranger = guest(store, "Bob").await;
        assert!(store.progress_list(stranger).await.unwrap().is_empty());
        assert_eq!(store.progress(stranger, room, &e1).await.unwrap(), None);
    }
}

#[tokio::test]
async fn progress_never_touches_playback() {
    for Fixture { store, .. } in &fixtures().await {
        let (user, room) = watcher(store, "PAYS2345").await;
        let before = store.room(room).await.unwrap().unwrap();
        let media = movie("550");
        let mut ended = save(user, room, &media, 7_000.0, Some(7_000.0), 99_000);
        ended.completed = true;
        store.save_progress(ended).await.unwrap();
        let after = store.room(room).await.unwrap().unwrap();
        assert_eq!(after.playback, before.playback);
        assert_eq!(after.playback, Playback::paused(PositionMs::ZERO, 1, 0));
        assert_eq!(after.seq, before.seq);
    }
}

/// A user's progress is bounded: past `PROGRESS_KEPT_PER_USER` entries, each save drops the
/// least recently updated one.
#[tokio::test]
async fn a_users_progress_keeps_the_newest_entries_only() {
    use streamit_protocol::v1::PROGRESS_KEPT_PER_USER;

    for Fixture { store, .. } in &fixtures().await {
        let (user, room) = watcher(store, "MANY2345").await;
        let extra = 3;
        for n in 0..PROGRESS_KEPT_PER_USER + extra {
            let media = movie(&format!("{}", 1000 + n));
            store
                .save_progress(save(user, room, &media, 1.0, None, 100 + n as u64))
                .await
                .unwrap();
        }
        let rows: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM watch_progress WHERE user_id = $1")
                .bind(user.to_string())
                .fetch_one(&store.pool)
                .await
                .unwrap();
        assert_eq!(
            rows as usize,
            PROGRESS_KEPT_PER_USER,
            "{:?}",
            store.backend()
        );
        let oldest_kept: i64 =
            sqlx::query_scalar("SELECT MIN(updated_at_ms) FROM watch_progress WHERE user_id = $1")
                .bind(user.to_string())
                .fetch_one(&store.pool)
                .await
                .unwrap();
        assert_eq!(oldest_kept, 100 + extra as i64, "{:?}", store.backend());
    }
}
