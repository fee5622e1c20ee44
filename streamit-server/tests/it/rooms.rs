//! Rooms over REST (PROTOCOL §1 Rooms): create, join in the OPEN and PASSWORD modes, delete and
//! the public listing; approvals and the member-only detail are in `members`.

mod members;

use std::time::Duration;

use serde_json::{Value, json};
use streamit_protocol::v1::{
    CreateRoomResponse, JoinRoomResponse, PublicRoomsResponse, Room, RoomCode,
};
use streamit_testing::backends;

use crate::support::{Account, Answer, Refusals, StatusCode, TestServer};
use crate::ws_support::{WsClient, eventually};

/// The keys of a room without media or grace deadline.
const ROOM_KEYS: [&str; 9] = [
    "chat_enabled",
    "code",
    "created_at_ms",
    "entry_mode",
    "host",
    "is_private",
    "name",
    "state",
    "viewers",
];

fn is_room_code(code: &str) -> bool {
    code.len() == 8 && code.bytes().all(|c| RoomCode::ALPHABET.contains(&c))
}

/// `who` joins `code` giving `password` (`null` for none).
async fn join_with(s: &TestServer, who: &Account, code: &str, password: Value) -> Answer {
    let body = json!({"code": code, "password": password});
    s.post_as(&who.access, "/api/rooms/join/", body).await
}

#[tokio::test]
async fn create_with_defaults_and_with_every_option() {
    for db in backends().await {
        let s = TestServer::start(&db.url, |_| {}).await;
        let ada = s.guest("Ada").await;
        let created = s
            .post_as(&ada.access, "/api/rooms/create/", json!({}))
            .await;
        // No password key unless the server generated one.
        created
            .expect(StatusCode::CREATED)
            .keys_at("", &["room"])
            .keys_at("/room", &ROOM_KEYS);
        let host = json!({"id": ada.user_id, "display_name": "Ada"});
        let expected = json!({"name": "Ada's room", "host": host, "state": "CREATED", "is_private": false,
            "entry_mode": "OPEN", "chat_enabled": true, "viewers": 0});
        created.fields_at("/room", expected);
        let _: CreateRoomResponse = created.parse();

        let mut codes = vec![created.body["room"]["code"].as_str().unwrap().to_owned()];
        for _ in 0..5 {
            codes.push(s.room_code(&ada, json!({})).await);
        }
        assert!(
            codes.iter().all(|c| is_room_code(c)),
            "{}: {codes:?}",
            s.backend
        );
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), 6, "{}: codes are unique", s.backend);

        let media =
            json!({"provider": "vidking", "kind": "tv", "id": "1399", "season": 1, "episode": 2});
        let body = json!({"name": " Movie night 🍿 ", "is_private": true, "entry_mode": "APPROVAL",
            "chat_enabled": false, "media": media});
        let created = s.post_as(&ada.access, "/api/rooms/create/", body).await;
        created.expect(StatusCode::CREATED).fields_at(
            "/room",
            json!({"name": "Movie night 🍿", "is_private": true, "entry_mode": "APPROVAL",
            "chat_enabled": false, "media": media,
            "embed_url": "https://www.vidking.net/embed/tv/1399/1/2"}),
        );
        s.stop().await;
    }
}

#[tokio::test]
async fn create_refuses_bad_input_and_strangers() {
    for db in backends().await {
        let s = TestServer::start(&db.url, |_| {}).await;
        let ada = s.guest("Ada").await;
        let stranger = s.post("/api/rooms/create/", json!({})).await;
        stranger.error(StatusCode::UNAUTHORIZED, "UNAUTHORIZED");
        let tv_without_season = json!({"provider": "vidking", "kind": "tv", "id": "1"});
        let netflix = json!({"provider": "netflix", "kind": "movie", "id": "1"});
        let script = json!({"provider": "url", "kind": "video", "id": "javascript:alert(1)"});
        let cases = [
            (json!({"name": "r".repeat(65)}), "INVALID_INPUT", "name"),
            (json!({"name": ""}), "INVALID_INPUT", "name"),
            (json!({"name": "line\nbreak"}), "INVALID_INPUT", "name"),
            (
                json!({"entry_mode": "SECRET"}),
                "INVALID_INPUT",
                "entry_mode",
            ),
            (json!({"entry_mode": "open"}), "INVALID_INPUT", "entry_mode"),
            (json!({"is_private": "yes"}), "INVALID_INPUT", "is_private"),
            (json!({"chat_enabled": 1}), "INVALID_INPUT", "chat_enabled"),
            (json!({"password": "pw"}), "INVALID_INPUT", "password"),
            (
                json!({"entry_mode": "PASSWORD", "password": ""}),
                "INVALID_INPUT",
                "password",
            ),
            (
                json!({"media": tv_without_season}),
                "INVALID_MEDIA",
                "media.season",
            ),
            (json!({"media": netflix}), "INVALID_MEDIA", "media.provider"),
            (json!({"media": script}), "INVALID_MEDIA", "media.id"),
            (json!({"entry_mode": 1}), "INVALID_INPUT", "entry_mode"),
        ];
        let mut refusals = Refusals::default();
        for (body, code, field) in cases {
            let answer = s
                .post_as(&ada.access, "/api/rooms/create/", body.clone())
                .await;
            refusals.check(&answer, &body.to_string(), code, field);
        }
        refusals.assert_none();
        let counts = s.row_counts().await;
        assert_eq!(
            (counts[3], counts[4]),
            (("rooms", 0), ("participants", 0)),
            "{}",
            s.backend
        );
        s.stop().await;
    }
}

#[tokio::test]
async fn open_rooms_join_idempotently_in_any_case() {
    for db in backends().await {
        let s = TestServer::start(&db.url, |_| {}).await;
        let (ada, bo) = (s.guest("Ada").await, s.guest("Bo").await);
        let code = s.room_code(&ada, json!({})).await;

        for attempt in [code.to_lowercase(), code.clone()] {
            let joined = s.join(&bo, &attempt).await;
            joined
                .expect(StatusCode::OK)
                .keys_at("", &["is_host", "room", "status"]);
            // Codes come back upper-case whatever was sent.
            joined.fields(json!({"status": "APPROVED", "is_host": false}));
            joined.has("/room/code", code.as_str());
            let _: JoinRoomResponse = joined.parse();
        }
        let host = s.join(&ada, &code).await;
        host.expect(StatusCode::OK)
            .fields(json!({"status": "APPROVED", "is_host": true}));
        let rows = s.row_counts().await[4];
        assert_eq!(
            rows,
            ("participants", 2),
            "{}: one row per member",
            s.backend
        );

        for unknown in ["ZZZZZZZZ", "zzzzzzzz", "ZzZz2345"] {
            s.join(&bo, unknown)
                .await
                .error(StatusCode::NOT_FOUND, "ROOM_NOT_FOUND");
        }
        for garbage in [
            json!("abc"),
            json!("ABCD234O"),
            json!(""),
            json!(12345678),
            json!(null),
        ] {
            let body = json!({"code": garbage});
            s.post_as(&bo.access, "/api/rooms/join/", body)
                .await
                .invalid("INVALID_INPUT", "code");
        }
        let stranger = s.post("/api/rooms/join/", json!({"code": code})).await;
        stranger.error(StatusCode::UNAUTHORIZED, "UNAUTHORIZED");
        s.stop().await;
    }
}

#[tokio::test]
async fn password_rooms_check_the_password() {
    for db in backends().await {
        let s = TestServer::start(&db.url, |_| {}).await;
        let (ada, bo) = (s.guest("Ada").await, s.guest("Bo").await);
        let created = s
            .post_as(
                &ada.access,
                "/api/rooms/create/",
                json!({"entry_mode": "PASSWORD"}),
            )
            .await;
        // The generated password is shown once, here.
        created
            .expect(StatusCode::CREATED)
            .keys_at("", &["password", "room"]);
        created.has("/room/entry_mode", "PASSWORD");
        let password = created.body["password"].as_str().unwrap().to_owned();
        let code = created.body["room"]["code"].as_str().unwrap().to_owned();
        assert!(!password.is_empty(), "{}", s.backend);

        for wrong in [
            Value::Null,
            json!(format!("{password}x")),
            json!(format!("x{password}")),
        ] {
            let answer = join_with(&s, &bo, &code, wrong).await;
            answer.error(StatusCode::FORBIDDEN, "WRONG_PASSWORD");
        }
        join_with(&s, &bo, &code, json!(""))
            .await
            .invalid("INVALID_INPUT", "password");
        let rows = s.row_counts().await[4];
        assert_eq!(
            rows,
            ("participants", 1),
            "{}: refused joins write nothing",
            s.backend
        );
        let joined = join_with(&s, &bo, &code, json!(password)).await;
        joined.expect(StatusCode::OK).has("/status", "APPROVED");
        // Already a member: joining again needs no password.
        s.join(&bo, &code)
            .await
            .expect(StatusCode::OK)
            .has("/status", "APPROVED");
        let detail = s.get_as(&bo.access, &format!("/api/rooms/{code}/")).await;
        assert!(
            !detail.text.contains(&password),
            "{}: shown only once",
            detail.what
        );

        let body = json!({"entry_mode": "PASSWORD", "password": "open sesame"});
        let given = s.post_as(&ada.access, "/api/rooms/create/", body).await;
        given.expect(StatusCode::CREATED).keys_at("", &["room"]);
        let code = given.body["room"]["code"].as_str().unwrap();
        let cy = s.guest("Cy").await;
        join_with(&s, &cy, code, json!("open sesame"))
            .await
            .ok(StatusCode::OK);
        s.stop().await;
    }
}

#[tokio::test]
async fn delete_is_host_only_and_final() {
    for db in backends().await {
        let s = TestServer::start(&db.url, |_| {}).await;
        let (ada, bo, cy) = (
            s.guest("Ada").await,
            s.guest("Bo").await,
            s.guest("Cy").await,
        );
        let code = s.room_code(&ada, json!({})).await;
        s.join(&bo, &code).await.ok(StatusCode::OK);
        let delete = "/api/rooms/delete/";
        let by_member = s.post_as(&bo.access, delete, json!({"code": code})).await;
        by_member.error(StatusCode::FORBIDDEN, "NOT_HOST");
        let unknown = s
            .post_as(&ada.access, delete, json!({"code": "ZZZZZZZZ"}))
            .await;
        unknown.error(StatusCode::NOT_FOUND, "ROOM_NOT_FOUND");
        let stranger = s.post(delete, json!({"code": code})).await;
        stranger.error(StatusCode::UNAUTHORIZED, "UNAUTHORIZED");

        let deleted = s
            .post_as(&ada.access, delete, json!({"code": code.to_lowercase()}))
            .await;
        deleted
            .expect(StatusCode::OK)
            .fields(json!({"state": "DELETED", "code": code}));
        let _: Room = deleted.parse();

        for who in [&cy, &bo, &ada] {
            s.join(who, &code)
                .await
                .error(StatusCode::GONE, "ROOM_CLOSED");
        }
        let again = s.post_as(&ada.access, delete, json!({"code": code})).await;
        again.error(StatusCode::GONE, "ROOM_CLOSED");
        // PROTOCOL does not say what the detail of a closed room is; it must not claim life.
        let detail = s.get_as(&ada.access, &format!("/api/rooms/{code}/")).await;
        match detail.status {
            StatusCode::OK => drop(detail.has("/state", "DELETED")),
            _ => drop(detail.error(StatusCode::GONE, "ROOM_CLOSED")),
        }
        s.stop().await;
    }
}

#[tokio::test]
async fn public_listing_validates_and_lists_no_room_without_a_live_host() {
    for db in backends().await {
        let s = TestServer::start(&db.url, |_| {}).await;
        let ada = s.guest("Ada").await;
        for body in [
            json!({}),
            json!({"is_private": true}),
            json!({"entry_mode": "APPROVAL"}),
        ] {
            s.create_room(&ada, body).await;
        }
        // No host is connected (there is no socket yet): nothing is LIVE, nothing is listed.
        let pages = [
            "/api/rooms/public/",
            "/api/rooms/public",
            "/api/rooms/public/?limit=1&offset=0",
            "/api/rooms/public/?limit=100&offset=4294967295",
            "/api/rooms/public/?unknown=1",
        ];
        for path in pages {
            let answer = s.get(path).await;
            assert_eq!(
                answer.ok(StatusCode::OK),
                &json!({"rooms": [], "total": 0}),
                "{}",
                answer.what
            );
            let _: PublicRoomsResponse = answer.parse();
        }
        let authed = s.get_as(&ada.access, "/api/rooms/public/?limit=20").await;
        authed.expect(StatusCode::OK).has("/total", 0);
        let refused = [
            ("limit=0", "limit"),
            ("limit=101", "limit"),
            ("limit=256", "limit"),
            ("limit=-1", "limit"),
            ("limit=abc", "limit"),
            ("limit=1.5", "limit"),
            ("limit=99999999999999999999999", "limit"),
            ("limit=", "limit"),
            ("offset=-1", "offset"),
            ("offset=4294967296", "offset"),
            ("offset=ten", "offset"),
            ("cursor=", "cursor"),
            ("cursor=garbage", "cursor"),
            ("cursor=%E2%80%AE", "cursor"),
            // base64url of "1.2.abcd2345": a lower-case code is no cursor the server wrote.
            ("cursor=MS4yLmFiY2QyMzQ1", "cursor"),
            // base64url of "1.2.ABCD2345", which is one, but not beside an offset.
            ("cursor=MS4yLkFCQ0QyMzQ1&offset=0", "offset"),
        ];
        let mut refusals = Refusals::default();
        for (query, field) in refused {
            let answer = s.get(&format!("/api/rooms/public/?{query}")).await;
            refusals.check(&answer, "", "INVALID_INPUT", field);
        }
        refusals.assert_none();
        s.stop().await;
    }
}

/// The listing pages by cursor over HTTP: `next_cursor` on every page but the last, and the
/// pages together show each room once.
#[tokio::test]
async fn public_listing_pages_by_cursor() {
    for db in backends().await {
        let s = TestServer::start(&db.url, |_| {}).await;
        let mut hosts = Vec::new();
        let mut codes = Vec::new();
        for name in ["Ada", "Bo", "Cy"] {
            let host = s.guest(name).await;
            let code = s.room_code(&host, json!({})).await;
            let (socket, _) = WsClient::join(&s, &code, &host, name).await;
            hosts.push(socket);
            codes.push(code);
        }
        // Presence reaches the listing behind the socket: wait until all three are listed.
        let server = &s;
        eventually(
            "three listed rooms",
            Duration::from_secs(10),
            || async move {
                let answer = server.get("/api/rooms/public/").await;
                (answer.ok(StatusCode::OK)["total"] == 3).then_some(())
            },
        )
        .await;

        let first = s.get("/api/rooms/public/?limit=2").await;
        first.expect(StatusCode::OK).has("/total", 3);
        let listing: PublicRoomsResponse = first.parse();
        assert_eq!(listing.rooms.len(), 2, "{}", first.what);
        let cursor = first.body["next_cursor"].as_str().unwrap().to_owned();
        let next = s
            .get(&format!("/api/rooms/public/?limit=2&cursor={cursor}"))
            .await;
        next.expect(StatusCode::OK)
            .keys_at("", &["rooms", "total"])
            .has("/total", 3);
        let rest: PublicRoomsResponse = next.parse();
        let mut seen: Vec<String> = listing
            .rooms
            .iter()
            .chain(&rest.rooms)
            .map(|room| room.code.to_string())
            .collect();
        seen.sort();
        codes.sort();
        assert_eq!(seen, codes, "{}", next.what);

        // The whole listing in one page has no next page either.
        let all = s.get("/api/rooms/public/?limit=3").await;
        all.expect(StatusCode::OK).keys_at("", &["rooms", "total"]);
        for socket in hosts {
            socket.disconnect().await;
        }
        s.stop().await;
    }
}
