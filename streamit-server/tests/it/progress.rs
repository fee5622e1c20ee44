//! Watch progress (PROTOCOL §1 Media and watch progress): save as an idempotent upsert with
//! sticky completion at 95 %, get by query, resume on the room's media, the caller's list, and
//! who may do it.

use std::time::Duration;

use serde_json::{Value, json};
use streamit_protocol::v1::{ProgressListResponse, WatchProgress};
use streamit_testing::backends;

use crate::support::{Account, Answer, Refusals, StatusCode, TestServer};

const ALL_KEYS: [&str; 7] = [
    "completed",
    "duration_s",
    "media",
    "percent",
    "position_s",
    "room_code",
    "updated_at_ms",
];

fn episode(n: u32) -> Value {
    json!({"provider": "vidking", "kind": "tv", "id": "1399", "season": 1, "episode": n})
}

fn film() -> Value {
    json!({"provider": "vidking", "kind": "movie", "id": "550"})
}

async fn save(s: &TestServer, who: &Account, body: Value) -> Answer {
    s.post_as(&who.access, "/api/rooms/progress/save/", body)
        .await
}

/// Saves until the row's `updated_at_ms` is past `after`, so "most recent" is unambiguous
/// without sleeping: each save is an idempotent upsert, so repeating one changes nothing else.
async fn save_after(s: &TestServer, who: &Account, body: Value, after: u64) -> u64 {
    let later = async {
        loop {
            let answer = save(s, who, body.clone()).await;
            let at = answer.ok(StatusCode::OK)["updated_at_ms"].as_u64().unwrap();
            if at > after {
                return at;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), later)
        .await
        .unwrap()
}

/// The room codes of the caller's list, in order.
async fn listed(s: &TestServer, who: &Account) -> Vec<Value> {
    let answer = s.get_as(&who.access, "/api/progress/").await;
    answer.expect(StatusCode::OK).keys_at("", &["items"]);
    let _: ProgressListResponse = answer.parse();
    let items = answer.body["items"].as_array().unwrap();
    items.iter().map(|item| item["room_code"].clone()).collect()
}

#[tokio::test]
async fn save_is_an_idempotent_upsert_and_completion_sticks() {
    for db in backends().await {
        let s = TestServer::start(&db.url, |_| {}).await;
        let (ada, bo) = (s.guest("Ada").await, s.guest("Bo").await);
        let code = s.room_code(&ada, json!({"media": episode(1)})).await;
        s.join(&bo, &code).await.ok(StatusCode::OK);
        let lower = code.to_lowercase();
        let at =
            |position: f64| json!({"room_code": lower, "position_s": position, "duration_s": 1000});

        for _ in 0..2 {
            let answer = save(&s, &bo, at(60.0)).await;
            answer.expect(StatusCode::OK).keys_at("", &ALL_KEYS);
            // The room's media by default; the code upper-case whatever was sent.
            answer.fields(
                json!({"room_code": code, "media": episode(1), "position_s": 60.0,
                "duration_s": 1000.0, "percent": 6.0, "completed": false}),
            );
            let _: WatchProgress = answer.parse();
        }
        let rows = s.row_counts().await[6];
        assert_eq!(
            rows,
            ("watch_progress", 1),
            "{}: one row per user, room, media",
            s.backend
        );

        let steps = [(949.9, false), (950.0, true), (10.0, true), (0.0, true)];
        for (position, completed) in steps {
            let answer = save(&s, &bo, at(position)).await;
            answer.expect(StatusCode::OK);
            answer.fields(json!({"position_s": position, "completed": completed}));
        }
        assert_eq!(
            s.row_counts().await[6],
            ("watch_progress", 1),
            "{}",
            s.backend
        );

        // No length ever known: no percent, never completed.
        let unknown = json!({"room_code": code, "media": episode(2), "position_s": 86400});
        let answer = save(&s, &bo, unknown).await;
        let keys = [
            "completed",
            "media",
            "position_s",
            "room_code",
            "updated_at_ms",
        ];
        answer
            .expect(StatusCode::OK)
            .keys_at("", &keys)
            .has("/completed", false);

        // Past the end counts as the end.
        let past =
            json!({"room_code": code, "media": episode(3), "position_s": 130, "duration_s": 120});
        save(&s, &bo, past)
            .await
            .fields(json!({"percent": 100.0, "completed": true}));

        // Progress never touches the room's playback.
        let detail = s.get_as(&ada.access, &format!("/api/rooms/{code}/")).await;
        detail
            .expect(StatusCode::OK)
            .has("/playback/position_ms", 0)
            .has("/playback/version", 0);
        detail.has("/playback/playing", false);
        s.stop().await;
    }
}

#[tokio::test]
async fn completion_uses_the_known_length_when_a_save_omits_it() {
    for db in backends().await {
        let s = TestServer::start(&db.url, |_| {}).await;
        let ada = s.guest("Ada").await;
        let code = s.room_code(&ada, json!({})).await;
        let first =
            json!({"room_code": code, "media": film(), "position_s": 10, "duration_s": 100});
        save(&s, &ada, first).await.ok(StatusCode::OK);
        let answer = save(
            &s,
            &ada,
            json!({"room_code": code, "media": film(), "position_s": 99}),
        )
        .await;
        answer
            .expect(StatusCode::OK)
            .fields(json!({"duration_s": 100.0, "percent": 99.0}));
        answer.has("/completed", true);
        s.stop().await;
    }
}

#[tokio::test]
async fn get_and_resume_find_saved_progress() {
    for db in backends().await {
        let s = TestServer::start(&db.url, |_| {}).await;
        let (ada, bo, eve) = (
            s.guest("Ada").await,
            s.guest("Bo").await,
            s.guest("Eve").await,
        );
        let code = s.room_code(&ada, json!({"media": episode(1)})).await;
        let bare = s.room_code(&ada, json!({})).await;
        s.join(&bo, &code).await.ok(StatusCode::OK);
        let resume = format!("/api/rooms/{code}/resume/");
        s.get_as(&bo.access, &resume)
            .await
            .error(StatusCode::NOT_FOUND, "NO_PROGRESS");

        let first = json!({"room_code": code, "position_s": 61.5, "duration_s": 3000});
        let saved = save(&s, &bo, first).await.ok(StatusCode::OK).clone();
        let other = json!({"room_code": code, "media": episode(2), "position_s": 5});
        save(&s, &bo, other).await.ok(StatusCode::OK);

        let get = "/api/rooms/progress/get/?";
        let lower = code.to_lowercase();
        let query =
            format!("{get}room_code={lower}&provider=vidking&kind=tv&id=1399&season=1&episode=1");
        let got = s.get_as(&bo.access, &query).await;
        assert_eq!(got.ok(StatusCode::OK), &saved, "{}", got.what);
        let _: WatchProgress = got.parse();
        let resumed = s.get_as(&bo.access, &resume).await;
        assert_eq!(
            resumed.ok(StatusCode::OK),
            &saved,
            "{}: the room's current media",
            resumed.what
        );

        let none = [
            format!("{get}room_code={code}&provider=vidking&kind=tv&id=1399&season=1&episode=3"),
            format!("{get}room_code={code}&provider=vidking&kind=movie&id=1399"),
            format!("{get}room_code={bare}&provider=vidking&kind=tv&id=1399&season=1&episode=1"),
            format!("{get}room_code=ZZZZZZZZ&provider=youtube&kind=video&id=abc"),
        ];
        for path in &none {
            s.get_as(&bo.access, path)
                .await
                .error(StatusCode::NOT_FOUND, "NO_PROGRESS");
        }
        s.get_as(&ada.access, &query)
            .await
            .error(StatusCode::NOT_FOUND, "NO_PROGRESS");
        s.get_as(&ada.access, &resume)
            .await
            .error(StatusCode::NOT_FOUND, "NO_PROGRESS");
        let bare_resume = format!("/api/rooms/{bare}/resume/");
        s.get_as(&ada.access, &bare_resume)
            .await
            .error(StatusCode::NOT_FOUND, "NO_PROGRESS");
        s.get_as(&eve.access, &resume)
            .await
            .error(StatusCode::FORBIDDEN, "NOT_A_MEMBER");
        let unknown = "/api/rooms/ZZZZZZZZ/resume/";
        s.get_as(&bo.access, unknown)
            .await
            .error(StatusCode::NOT_FOUND, "ROOM_NOT_FOUND");
        s.get(&resume)
            .await
            .error(StatusCode::UNAUTHORIZED, "UNAUTHORIZED");
        s.get(&query)
            .await
            .error(StatusCode::UNAUTHORIZED, "UNAUTHORIZED");

        // The query's own fields, then the media it names (flat, so the fields are bare).
        let input = [
            "provider=vidking&kind=movie&id=550",
            "room_code=nope&provider=vidking&kind=movie&id=550",
        ];
        let mut refusals = Refusals::default();
        for query in input {
            let answer = s.get_as(&bo.access, &format!("{get}{query}")).await;
            refusals.check(&answer, "", "INVALID_INPUT", "room_code");
        }
        let media = [
            ("provider=vidking&kind=tv&id=1399&season=1", "episode"),
            ("provider=vidking&kind=tv&id=1&season=0&episode=1", "season"),
            ("provider=vidking&kind=movie&id=a%2Fb", "id"),
            ("provider=netflix&kind=movie&id=550", "provider"),
            ("provider=vidking&kind=show&id=550", "kind"),
            ("provider=vidking&kind=tv&id=1&season=x&episode=1", "season"),
        ];
        for (query, field) in media {
            let path = format!("{get}room_code=ABCD2345&{query}");
            let answer = s.get_as(&bo.access, &path).await;
            refusals.check(&answer, "", "INVALID_MEDIA", field);
        }
        refusals.assert_none();
        s.stop().await;
    }
}

#[tokio::test]
async fn list_is_most_recent_first() {
    for db in backends().await {
        let s = TestServer::start(&db.url, |_| {}).await;
        let (ada, bo) = (s.guest("Ada").await, s.guest("Bo").await);
        let (first, second) = (
            s.room_code(&ada, json!({"media": film()})).await,
            s.room_code(&ada, json!({})).await,
        );
        assert!(listed(&s, &ada).await.is_empty(), "{}", s.backend);

        let a = json!({"room_code": first, "position_s": 1});
        let b = json!({"room_code": second, "media": episode(4), "position_s": 2});
        let at_a = save_after(&s, &ada, a.clone(), 0).await;
        let at_b = save_after(&s, &ada, b, at_a).await;
        assert_eq!(
            listed(&s, &ada).await,
            [json!(second), json!(first)],
            "{}",
            s.backend
        );
        save_after(&s, &ada, a, at_b).await;
        assert_eq!(
            listed(&s, &ada).await,
            [json!(first), json!(second)],
            "{}",
            s.backend
        );

        assert!(
            listed(&s, &bo).await.is_empty(),
            "{}: only the caller's own",
            s.backend
        );
        s.get("/api/progress/")
            .await
            .error(StatusCode::UNAUTHORIZED, "UNAUTHORIZED");
        s.stop().await;
    }
}

#[tokio::test]
async fn only_members_save_and_bad_saves_write_nothing() {
    for db in backends().await {
        let s = TestServer::start(&db.url, |_| {}).await;
        let (ada, bo, eve) = (
            s.guest("Ada").await,
            s.guest("Bo").await,
            s.guest("Eve").await,
        );
        let code = s.room_code(&ada, json!({"media": film()})).await;
        let approval = s
            .room_code(&ada, json!({"entry_mode": "APPROVAL", "media": film()}))
            .await;
        let bare = s.room_code(&ada, json!({})).await;
        s.join(&bo, &approval).await.ok(StatusCode::OK);

        let body = json!({"room_code": code, "position_s": 5});
        save(&s, &eve, body.clone())
            .await
            .error(StatusCode::FORBIDDEN, "NOT_A_MEMBER");
        let pending = json!({"room_code": approval, "position_s": 5});
        save(&s, &bo, pending)
            .await
            .error(StatusCode::FORBIDDEN, "NOT_A_MEMBER");
        let resume = format!("/api/rooms/{approval}/resume/");
        s.get_as(&bo.access, &resume)
            .await
            .error(StatusCode::FORBIDDEN, "NOT_A_MEMBER");
        let unknown = json!({"room_code": "ZZZZZZZZ", "position_s": 5});
        save(&s, &ada, unknown)
            .await
            .error(StatusCode::NOT_FOUND, "ROOM_NOT_FOUND");
        let stranger = s.post("/api/rooms/progress/save/", body).await;
        stranger.error(StatusCode::UNAUTHORIZED, "UNAUTHORIZED");
        let nothing_playing = json!({"room_code": bare, "position_s": 5});
        save(&s, &ada, nothing_playing)
            .await
            .invalid("INVALID_MEDIA", "media");

        let input = [
            (json!({"position_s": -1}), "position_s"),
            (json!({"position_s": "10"}), "position_s"),
            (json!({"position_s": 1e300}), "position_s"),
            (json!({"position_s": u64::MAX}), "position_s"),
            (json!({}), "position_s"),
            (json!({"position_s": 1, "duration_s": -5}), "duration_s"),
            (json!({"position_s": 1, "duration_s": true}), "duration_s"),
            (json!({"position_s": 1, "room_code": "nope"}), "room_code"),
            (json!({"position_s": 1, "room_code": null}), "room_code"),
            (
                json!({"position_s": 1, "media": episode(0)}),
                "media.episode",
            ),
            (
                json!({"position_s": 1, "media": {"provider": "x"}}),
                "media.provider",
            ),
        ];
        let mut refusals = Refusals::default();
        for (fields, field) in input {
            let mut body = json!({"room_code": code});
            body.as_object_mut()
                .unwrap()
                .extend(fields.as_object().unwrap().clone());
            let code = if field.starts_with("media") {
                "INVALID_MEDIA"
            } else {
                "INVALID_INPUT"
            };
            let answer = save(&s, &ada, body.clone()).await;
            refusals.check(&answer, &body.to_string(), code, field);
        }
        refusals.assert_none();
        let rows = s.row_counts().await[6];
        assert_eq!(
            rows,
            ("watch_progress", 0),
            "{}: refusals write nothing",
            s.backend
        );
        s.stop().await;
    }
}
