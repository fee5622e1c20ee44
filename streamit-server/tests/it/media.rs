//! Media (PROTOCOL §1 Media): canonical embed URLs, `INVALID_MEDIA` naming the field at fault,
//! and the provider list.

use serde_json::{Value, json};
use streamit_protocol::v1::{EmbedResponse, ProvidersResponse};
use streamit_testing::backends;

use crate::support::{Refusals, StatusCode, TestServer, keys};

const VIDKING: &str = "https://www.vidking.net/embed";

fn movie(id: &str) -> Value {
    json!({"provider": "vidking", "kind": "movie", "id": id})
}

fn tv(id: &str, season: Value, episode: Value) -> Value {
    json!({"provider": "vidking", "kind": "tv", "id": id, "season": season, "episode": episode})
}

#[tokio::test]
async fn embed_urls_are_canonical() {
    for db in backends().await {
        let s = TestServer::start(&db.url, |_| {}).await;
        let every_option = json!({"color": "#E50914", "auto_play": true, "next_episode": true, "episode_selector": true, "progress_s": 120.9});
        let shuffled = json!({"progress_s": 120.2, "episode_selector": true, "next_episode": true, "auto_play": true, "color": "e50914"});
        let all = "?color=e50914&autoPlay=true&nextEpisode=true&episodeSelector=true&progress=120";
        let cases = [
            (
                json!({"media": movie("550")}),
                format!("{VIDKING}/movie/550"),
            ),
            (
                json!({"media": movie("550"), "options": null}),
                format!("{VIDKING}/movie/550"),
            ),
            (
                json!({"media": movie("550"), "options": {}}),
                format!("{VIDKING}/movie/550"),
            ),
            (
                json!({"media": tv("1399", json!(1), json!(9))}),
                format!("{VIDKING}/tv/1399/1/9"),
            ),
            (
                json!({"media": tv("119051", json!(12), json!(101))}),
                format!("{VIDKING}/tv/119051/12/101"),
            ),
            (
                json!({"media": tv("1399", json!(2), json!(3)), "options": every_option}),
                format!("{VIDKING}/tv/1399/2/3{all}"),
            ),
            (
                json!({"media": tv("1399", json!(2), json!(3)), "options": shuffled}),
                format!("{VIDKING}/tv/1399/2/3{all}"),
            ),
            (
                json!({"media": movie("550"), "options": every_option}),
                format!("{VIDKING}/movie/550{all}"),
            ),
            (
                json!({"media": movie("550"), "options": {"auto_play": false, "next_episode": false, "episode_selector": false}}),
                format!(
                    "{VIDKING}/movie/550?autoPlay=false&nextEpisode=false&episodeSelector=false"
                ),
            ),
            (
                json!({"media": movie("550"), "options": {"progress_s": 0.999}}),
                format!("{VIDKING}/movie/550?progress=0"),
            ),
            (
                json!({"media": movie("550"), "options": {"progress_s": 86400}}),
                format!("{VIDKING}/movie/550?progress=86400"),
            ),
            (
                json!({"media": movie("550"), "options": {"color": "#ABC", "progress_s": 59.99}}),
                format!("{VIDKING}/movie/550?color=abc&progress=59"),
            ),
            (
                json!({"media": tv("1399", json!(1), json!(1)), "options": {"next_episode": true, "color": null}}),
                format!("{VIDKING}/tv/1399/1/1?nextEpisode=true"),
            ),
            // Nulls for absent optionals, and unknown fields, are accepted and ignored.
            (
                json!({"media": {"provider": "vidking", "kind": "movie", "id": "550", "season": null, "extra": 1}, "why": "x"}),
                format!("{VIDKING}/movie/550"),
            ),
            (
                json!({"media": {"provider": "url", "kind": "video", "id": "https://cdn.example.com/a.mp4?sig=x&y=1"}}),
                "https://cdn.example.com/a.mp4?sig=x&y=1".to_owned(),
            ),
        ];
        for (body, expected) in cases {
            for _ in 0..2 {
                let answer = s.post("/api/media/embed/", body.clone()).await;
                let embed = answer.ok(StatusCode::OK);
                assert_eq!(
                    keys(embed),
                    ["capabilities", "embed_url"],
                    "{}",
                    answer.what
                );
                assert_eq!(
                    embed["embed_url"],
                    expected.as_str(),
                    "{}: {body}",
                    answer.what
                );
                let _: EmbedResponse = answer.parse();
            }
        }
        let answer = s
            .post("/api/media/embed/", json!({"media": movie("550")}))
            .await;
        assert_eq!(
            answer.body["capabilities"],
            json!({"seek": true, "rate": false, "events": true}),
            "{}",
            answer.what
        );
        let youtube =
            json!({"media": {"provider": "youtube", "kind": "video", "id": "dQw4w9WgXcQ"}});
        let answer = s.post("/api/media/embed/", youtube).await;
        let url = answer.ok(StatusCode::OK)["embed_url"].as_str().unwrap();
        assert!(
            url.starts_with("https://www.youtube.com/embed/dQw4w9WgXcQ"),
            "{}: {url}",
            answer.what
        );
        s.stop().await;
    }
}

#[tokio::test]
async fn faulty_media_names_the_field() {
    for db in backends().await {
        let s = TestServer::start(&db.url, |_| {}).await;
        let huge = json!(1_u64 << 40);
        let cases = [
            (
                json!({"provider": "netflix", "kind": "movie", "id": "1"}),
                "media.provider",
            ),
            (
                json!({"provider": "VIDKING", "kind": "movie", "id": "1"}),
                "media.provider",
            ),
            (
                json!({"provider": 1, "kind": "movie", "id": "1"}),
                "media.provider",
            ),
            (json!({"kind": "movie", "id": "1"}), "media.provider"),
            (
                json!({"provider": "vidking", "kind": "podcast", "id": "1"}),
                "media.kind",
            ),
            (
                json!({"provider": "vidking", "kind": "video", "id": "1"}),
                "media.kind",
            ),
            (
                json!({"provider": "youtube", "kind": "movie", "id": "1"}),
                "media.kind",
            ),
            (json!({"provider": "vidking", "id": "1"}), "media.kind"),
            (
                json!({"provider": "vidking", "kind": "tv", "id": "1399", "episode": 2}),
                "media.season",
            ),
            (tv("1399", json!(0), json!(1)), "media.season"),
            (tv("1399", json!(-1), json!(1)), "media.season"),
            (tv("1399", huge.clone(), json!(1)), "media.season"),
            (tv("1399", json!("1"), json!(1)), "media.season"),
            (tv("1399", json!(1.5), json!(1)), "media.season"),
            (tv("1399", json!(1), Value::Null), "media.episode"),
            (tv("1399", json!(1), json!(0)), "media.episode"),
            (tv("1399", json!(1), huge), "media.episode"),
            (
                json!({"provider": "vidking", "kind": "movie", "id": "550", "season": 1}),
                "media.season",
            ),
            (movie(""), "media.id"),
            (movie("../../etc/passwd"), "media.id"),
            (movie("550?autoPlay=true"), "media.id"),
            (movie("ünïcödé"), "media.id"),
            (movie(&"9".repeat(65)), "media.id"),
            (
                json!({"provider": "vidking", "kind": "movie", "id": 550}),
                "media.id",
            ),
            (json!({"provider": "vidking", "kind": "movie"}), "media.id"),
            (
                json!({"provider": "url", "kind": "video", "id": "ftp://example.com/a.mp4"}),
                "media.id",
            ),
            (
                json!({"provider": "url", "kind": "video", "id": "https://"}),
                "media.id",
            ),
            (
                json!({"provider": "url", "kind": "video", "id": "http://exa mple.com/a.mp4"}),
                "media.id",
            ),
            (
                json!({"provider": "url", "kind": "video", "id": format!("https://e.com/{}", "a".repeat(2100))}),
                "media.id",
            ),
            (json!("vidking:550"), "media"),
            (Value::Null, "media"),
        ];
        let mut refusals = Refusals::default();
        for (media, field) in cases {
            let answer = s.post("/api/media/embed/", json!({"media": media})).await;
            refusals.check(&answer, &media.to_string(), "INVALID_MEDIA", field);
        }
        // No media at all: a 400 naming the field.
        let answer = s.post("/api/media/embed/", json!({"options": {}})).await;
        assert_eq!(
            answer.status,
            StatusCode::BAD_REQUEST,
            "{}: {}",
            answer.what,
            answer.text
        );
        answer.assert_error_shape();
        assert_eq!(
            answer.body["error"]["details"]["field"], "media",
            "{}: {}",
            answer.what, answer.text
        );

        let options = [
            (json!({"color": "red"}), "options.color"),
            (json!({"color": "#12345"}), "options.color"),
            (json!({"auto_play": "yes"}), "options.auto_play"),
            (json!({"progress_s": -1}), "options.progress_s"),
            (json!({"progress_s": 86400.5}), "options.progress_s"),
            (json!({"progress_s": "60"}), "options.progress_s"),
            (json!([]), "options"),
        ];
        for (options, field) in options {
            let answer = s
                .post(
                    "/api/media/embed/",
                    json!({"media": movie("550"), "options": options}),
                )
                .await;
            refusals.check(&answer, &options.to_string(), "INVALID_INPUT", field);
        }
        refusals.assert_none();
        s.stop().await;
    }
}

#[tokio::test]
async fn providers_are_listed_with_their_kinds_and_capabilities() {
    for db in backends().await {
        let s = TestServer::start(&db.url, |_| {}).await;
        let answer = s.get("/api/media/providers/").await;
        let expected = json!({"providers": [
            {"name": "vidking", "kinds": ["movie", "tv"], "capabilities": {"seek": true, "rate": false, "events": true}},
            {"name": "youtube", "kinds": ["video"], "capabilities": {"seek": true, "rate": true, "events": true}},
            {"name": "url", "kinds": ["video"], "capabilities": {"seek": true, "rate": true, "events": true}},
        ]});
        assert_eq!(answer.ok(StatusCode::OK), &expected, "{}", answer.what);
        let parsed: ProvidersResponse = answer.parse();
        assert_eq!(parsed.providers.len(), 3);
        let guest = s.guest("Ada").await;
        let authed = s.get_as(&guest.access, "/api/media/providers").await;
        assert_eq!(authed.ok(StatusCode::OK), &expected, "{}", authed.what);
        s.stop().await;
    }
}
