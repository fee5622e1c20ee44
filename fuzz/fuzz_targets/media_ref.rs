//! Media references: a `MediaRef` read from any JSON never panics; one that is valid
//! round-trips through JSON and `from_parts`, and the server builds its embed URL (without
//! options, and with every option set) as an http(s) URL with no whitespace that leads with
//! the provider's player and the id.

#![no_main]

use libfuzzer_sys::fuzz_target;
use streamit_protocol::v1::{Color, EmbedOptions, MediaRef, Provider, Seconds};
use streamit_server::fuzzing::embed_url;

fuzz_target!(|data: &[u8]| {
    let Ok(media) = serde_json::from_slice::<MediaRef>(data) else {
        return;
    };
    let json = serde_json::to_string(&media).expect("a MediaRef serializes");
    let again: MediaRef = serde_json::from_str(&json).expect("a MediaRef's JSON reads back");
    assert_eq!(again, media, "{json}");
    let parts = MediaRef::from_parts(
        media.provider(),
        media.kind(),
        media.id(),
        media.season(),
        media.episode(),
    );
    assert_eq!(parts.as_ref(), Ok(&media));

    let bare = embed_url(&media, &EmbedOptions::default());
    check_url(&media, &bare);
    if media.provider() == Provider::Url {
        assert_eq!(bare, media.id());
    }
    check_url(&media, &embed_url(&media, &every_option()));
});

fn every_option() -> EmbedOptions {
    let mut options = EmbedOptions::default();
    options.color = Some(Color::new("#A1b2C3").expect("a valid colour"));
    options.auto_play = Some(true);
    options.next_episode = Some(false);
    options.episode_selector = Some(true);
    options.progress_s = Some(Seconds::new(90.5).expect("within a day"));
    options
}

fn check_url(media: &MediaRef, url: &str) {
    assert!(
        !url.chars().any(|c| c.is_whitespace() || c.is_control()),
        "{url:?}"
    );
    let lead = match media.provider() {
        Provider::Vidking => match (media.season(), media.episode()) {
            (Some(s), Some(e)) => {
                format!("https://www.vidking.net/embed/tv/{}/{s}/{e}", media.id())
            }
            _ => format!("https://www.vidking.net/embed/movie/{}", media.id()),
        },
        Provider::Youtube => format!("https://www.youtube.com/embed/{}", media.id()),
        _ => media.id().to_owned(),
    };
    assert!(
        url.starts_with(&lead),
        "{url:?} does not lead with {lead:?}"
    );
    let rest = &url[lead.len()..];
    if media.provider() != Provider::Url {
        assert!(rest.is_empty() || rest.starts_with('?'), "{url:?}");
        assert!(!rest.contains(['#', '/']), "{url:?}");
    }
}
