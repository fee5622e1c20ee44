//! Names everyone sees (PROTOCOL §5.3): display names and room names that would hide
//! themselves or reorder the text around them are refused at the door, like control characters.

use serde_json::json;
use streamit_testing::backends;

use crate::support::{PASSWORD, Refusals, TestServer};

/// A right-to-left override (shows `evil` as `live`), two zero-width spaces, a Hangul filler
/// (shows as a blank name), a zero-width joiner alone, a private-use character.
const DISGUISED: [&str; 5] = [
    "\u{202E}evil",
    "\u{200B}\u{200B}",
    "\u{3164}",
    "\u{200D}",
    "Ada\u{E000}",
];

#[tokio::test]
async fn invisible_and_direction_changing_names_are_refused() {
    for db in backends().await {
        let s = TestServer::start(&db.url, |_| {}).await;
        let ada = s.guest("Ada").await;
        let before = s.row_counts().await;
        let mut refusals = Refusals::default();
        for name in DISGUISED {
            let body = json!({"display_name": name});
            let guest = s.post("/api/auth/guest/", body.clone()).await;
            refusals.check(&guest, &body.to_string(), "INVALID_INPUT", "display_name");

            let body =
                json!({"email": "bo@example.com", "password": PASSWORD, "display_name": name});
            let registered = s.post("/api/auth/register/", body.clone()).await;
            refusals.check(
                &registered,
                &body.to_string(),
                "INVALID_INPUT",
                "display_name",
            );

            let body = json!({"name": name});
            let room = s
                .post_as(&ada.access, "/api/rooms/create/", body.clone())
                .await;
            refusals.check(&room, &body.to_string(), "INVALID_INPUT", "name");
        }
        refusals.assert_none();
        assert_eq!(
            s.row_counts().await,
            before,
            "{}: refusals write nothing",
            s.backend
        );

        let override_ = s
            .post("/api/auth/guest/", json!({"display_name": "\u{202E}evil"}))
            .await;
        let message = override_.body["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("invisible or direction-changing"),
            "{}: {message}",
            s.backend
        );
        s.stop().await;
    }
}

#[tokio::test]
async fn names_with_joiners_real_scripts_need_are_kept() {
    for db in backends().await {
        let s = TestServer::start(&db.url, |_| {}).await;
        for name in ["👨\u{200D}👩\u{200D}👧", "می\u{200C}خواهم", "❤\u{FE0F} Zoë"] {
            let guest = s.guest(name).await;
            let room = s
                .post_as(&guest.access, "/api/rooms/create/", json!({"name": name}))
                .await;
            room.has("/room/name", name);
            room.has("/room/host/display_name", name);
        }
        s.stop().await;
    }
}
