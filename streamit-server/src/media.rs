//! Media providers: the canonical embed URL for a [`MediaRef`] and what each provider's player
//! lets a room control.
//!
//! Each provider is one [`EmbedProvider`] impl, so adding a provider is one impl and one match
//! arm. URLs are built deterministically (fixed parameter order, each only when set) because
//! clients compare them: the same media and options always give the same string.

use std::fmt::Display;

use streamit_protocol::v1::{
    Capabilities, EmbedOptions, MediaRef, Provider, ProviderInfo, ProvidersResponse, Seconds,
};

/// One provider's player.
trait EmbedProvider {
    /// The embed URL for `media`, which is of this provider.
    fn embed_url(&self, media: &MediaRef, options: &EmbedOptions) -> String;

    /// What the player supports.
    fn capabilities(&self) -> Capabilities;
}

/// vidking.net, by TMDB id: its player takes every option and posts progress events, but has
/// no playback rate control.
struct Vidking;

/// YouTube's IFrame player: the room drives it through the IFrame API, so `enablejsapi=1`.
struct Youtube;

/// A direct http(s) URL played by an HTML5 `<video>`.
struct DirectUrl;

impl EmbedProvider for Vidking {
    fn embed_url(&self, media: &MediaRef, options: &EmbedOptions) -> String {
        let id = media.id();
        let base = match (media.season(), media.episode()) {
            (Some(season), Some(episode)) => {
                format!("https://www.vidking.net/embed/tv/{id}/{season}/{episode}")
            }
            _ => format!("https://www.vidking.net/embed/movie/{id}"),
        };
        let mut url = Query::new(base);
        url.push("color", options.color.as_ref());
        url.push("autoPlay", options.auto_play);
        url.push("nextEpisode", options.next_episode);
        url.push("episodeSelector", options.episode_selector);
        url.push("progress", options.progress_s.map(whole_seconds));
        url.finish()
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::new(true, false, true)
    }
}

impl EmbedProvider for Youtube {
    fn embed_url(&self, media: &MediaRef, options: &EmbedOptions) -> String {
        let mut url = Query::new(format!("https://www.youtube.com/embed/{}", media.id()));
        url.push("enablejsapi", Some(1));
        url.push("autoplay", options.auto_play.map(u8::from));
        url.push("start", options.progress_s.map(whole_seconds));
        url.finish()
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::new(true, true, true)
    }
}

impl EmbedProvider for DirectUrl {
    fn embed_url(&self, media: &MediaRef, options: &EmbedOptions) -> String {
        let url = media.id();
        match options.progress_s {
            // A media fragment (`#t=`) is the start position browsers honour for `<video>`;
            // an existing fragment is the sender's choice and is kept.
            Some(progress) if !url.contains('#') => format!("{url}#t={}", whole_seconds(progress)),
            _ => url.to_owned(),
        }
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::new(true, true, true)
    }
}

fn player(provider: Provider) -> &'static dyn EmbedProvider {
    match provider {
        Provider::Vidking => &Vidking,
        Provider::Youtube => &Youtube,
        Provider::Url => &DirectUrl,
    }
}

/// The canonical embed URL for `media` with `options`.
pub(crate) fn embed_url(media: &MediaRef, options: &EmbedOptions) -> String {
    player(media.provider()).embed_url(media, options)
}

/// What `provider`'s player lets a room control.
pub(crate) fn capabilities(provider: Provider) -> Capabilities {
    player(provider).capabilities()
}

/// Every provider with its kinds and capabilities, for `GET /api/media/providers/`.
pub(crate) fn providers() -> ProvidersResponse {
    let providers = Provider::ALL
        .into_iter()
        .map(|provider| {
            ProviderInfo::new(provider, provider.kinds().to_vec(), capabilities(provider))
        })
        .collect();
    ProvidersResponse::new(providers)
}

/// Seconds rounded down, as every provider's start parameter wants them.
fn whole_seconds(seconds: Seconds) -> u64 {
    // `Seconds` is 0 to 24 h, so flooring and converting is exact.
    seconds.get().floor() as u64
}

/// A URL gaining query parameters in the order they are pushed.
struct Query {
    url: String,
    has_params: bool,
}

impl Query {
    fn new(base: String) -> Self {
        Self {
            url: base,
            has_params: false,
        }
    }

    /// Appends `name=value` when `value` is set; values here are numbers, booleans and hex
    /// colours, none of which need escaping.
    fn push(&mut self, name: &str, value: Option<impl Display>) {
        if let Some(value) = value {
            self.url.push(if self.has_params { '&' } else { '?' });
            self.url.push_str(name);
            self.url.push('=');
            self.url.push_str(&value.to_string());
            self.has_params = true;
        }
    }

    fn finish(self) -> String {
        self.url
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use streamit_protocol::v1::{Color, MediaKind};

    use super::*;

    fn movie(id: &str) -> MediaRef {
        MediaRef::from_parts(Provider::Vidking, MediaKind::Movie, id, None, None).unwrap()
    }

    fn tv(id: &str, season: u32, episode: u32) -> MediaRef {
        MediaRef::from_parts(
            Provider::Vidking,
            MediaKind::Tv,
            id,
            Some(season),
            Some(episode),
        )
        .unwrap()
    }

    fn youtube(id: &str) -> MediaRef {
        MediaRef::from_parts(Provider::Youtube, MediaKind::Video, id, None, None).unwrap()
    }

    fn direct(url: &str) -> MediaRef {
        MediaRef::from_parts(Provider::Url, MediaKind::Video, url, None, None).unwrap()
    }

    fn none() -> EmbedOptions {
        EmbedOptions::default()
    }

    fn progress(seconds: f64) -> EmbedOptions {
        let mut options = none();
        options.progress_s = Some(Seconds::new(seconds).unwrap());
        options
    }

    fn all_options() -> EmbedOptions {
        let mut options = progress(120.0);
        options.color = Some(Color::new("e50914").unwrap());
        options.auto_play = Some(true);
        options.next_episode = Some(true);
        options.episode_selector = Some(true);
        options
    }

    #[test]
    fn vidking_paths() {
        assert_eq!(
            embed_url(&movie("550"), &none()),
            "https://www.vidking.net/embed/movie/550"
        );
        assert_eq!(
            embed_url(&tv("1399", 1, 9), &none()),
            "https://www.vidking.net/embed/tv/1399/1/9"
        );
        assert_eq!(
            embed_url(&tv("119051", 12, 101), &none()),
            "https://www.vidking.net/embed/tv/119051/12/101"
        );
    }

    #[test]
    fn vidking_options_in_protocol_order() {
        assert_eq!(
            embed_url(&tv("1399", 2, 3), &all_options()),
            "https://www.vidking.net/embed/tv/1399/2/3\
             ?color=e50914&autoPlay=true&nextEpisode=true&episodeSelector=true&progress=120"
        );
        assert_eq!(
            embed_url(&movie("550"), &all_options()),
            "https://www.vidking.net/embed/movie/550\
             ?color=e50914&autoPlay=true&nextEpisode=true&episodeSelector=true&progress=120"
        );
    }

    #[test]
    fn vidking_leaves_out_unset_options() {
        let mut options = none();
        options.next_episode = Some(true);
        assert_eq!(
            embed_url(&tv("1399", 1, 1), &options),
            "https://www.vidking.net/embed/tv/1399/1/1?nextEpisode=true"
        );
        let mut options = progress(30.0);
        options.color = Some(Color::new("fff").unwrap());
        assert_eq!(
            embed_url(&movie("550"), &options),
            "https://www.vidking.net/embed/movie/550?color=fff&progress=30"
        );
    }

    #[test]
    fn vidking_booleans_false_are_written() {
        let mut options = none();
        options.auto_play = Some(false);
        options.next_episode = Some(false);
        options.episode_selector = Some(false);
        assert_eq!(
            embed_url(&tv("1399", 1, 1), &options),
            "https://www.vidking.net/embed/tv/1399/1/1\
             ?autoPlay=false&nextEpisode=false&episodeSelector=false"
        );
    }

    #[test]
    fn progress_rounds_down_to_whole_seconds() {
        for (seconds, shown) in [
            (0.0, "0"),
            (0.999, "0"),
            (59.99, "59"),
            (60.0, "60"),
            (86_400.0, "86400"),
        ] {
            assert_eq!(
                embed_url(&movie("550"), &progress(seconds)),
                format!("https://www.vidking.net/embed/movie/550?progress={shown}")
            );
        }
    }

    #[test]
    fn colour_is_hex_without_hash() {
        let mut options = none();
        options.color = Some(Color::new("#E50914").unwrap());
        assert_eq!(
            embed_url(&movie("550"), &options),
            "https://www.vidking.net/embed/movie/550?color=e50914"
        );
        let options: EmbedOptions = serde_json::from_value(json!({"color": "#ABC"})).unwrap();
        assert_eq!(
            embed_url(&movie("550"), &options),
            "https://www.vidking.net/embed/movie/550?color=abc"
        );
    }

    #[test]
    fn same_input_same_string() {
        let options: EmbedOptions = serde_json::from_value(
            json!({"progress_s": 90.5, "episode_selector": false, "auto_play": true, "color": "00ff00"}),
        )
        .unwrap();
        let first = embed_url(&tv("1399", 3, 4), &options);
        assert_eq!(first, embed_url(&tv("1399", 3, 4), &options.clone()));
        assert_eq!(
            first,
            "https://www.vidking.net/embed/tv/1399/3/4\
             ?color=00ff00&autoPlay=true&episodeSelector=false&progress=90"
        );
    }

    #[test]
    fn youtube_urls() {
        assert_eq!(
            embed_url(&youtube("dQw4w9WgXcQ"), &none()),
            "https://www.youtube.com/embed/dQw4w9WgXcQ?enablejsapi=1"
        );
        assert_eq!(
            embed_url(&youtube("dQw4w9WgXcQ"), &all_options()),
            "https://www.youtube.com/embed/dQw4w9WgXcQ?enablejsapi=1&autoplay=1&start=120"
        );
        let mut options = progress(59.99);
        options.auto_play = Some(false);
        assert_eq!(
            embed_url(&youtube("dQw4w9WgXcQ"), &options),
            "https://www.youtube.com/embed/dQw4w9WgXcQ?enablejsapi=1&autoplay=0&start=59"
        );
    }

    #[test]
    fn direct_urls() {
        let file = "https://cdn.example.com/films/a.mp4?sig=x&y=1";
        assert_eq!(embed_url(&direct(file), &none()), file);
        assert_eq!(
            embed_url(&direct(file), &all_options()),
            format!("{file}#t=120")
        );
        assert_eq!(
            embed_url(&direct("http://example.com/a.webm"), &progress(59.99)),
            "http://example.com/a.webm#t=59"
        );
        let with_fragment = "https://example.com/a.mp4#t=10";
        assert_eq!(
            embed_url(&direct(with_fragment), &progress(30.0)),
            with_fragment
        );
    }

    #[test]
    fn capabilities_per_provider() {
        assert_eq!(
            capabilities(Provider::Vidking),
            Capabilities::new(true, false, true)
        );
        assert_eq!(
            capabilities(Provider::Youtube),
            Capabilities::new(true, true, true)
        );
        assert_eq!(
            capabilities(Provider::Url),
            Capabilities::new(true, true, true)
        );
    }

    #[test]
    fn providers_list_everyone() {
        assert_eq!(
            serde_json::to_value(providers()).unwrap(),
            json!({"providers": [
                {"name": "vidking", "kinds": ["movie", "tv"],
                 "capabilities": {"seek": true, "rate": false, "events": true}},
                {"name": "youtube", "kinds": ["video"],
                 "capabilities": {"seek": true, "rate": true, "events": true}},
                {"name": "url", "kinds": ["video"],
                 "capabilities": {"seek": true, "rate": true, "events": true}},
            ]})
        );
    }
}
