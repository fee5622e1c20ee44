//! What a room plays: `MediaRef` (provider, kind, id and episode), embed options and provider
//! capabilities.

use std::borrow::Cow;
use std::fmt;
use std::num::NonZeroU32;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::limits::{MAX_MEDIA_ID_CHARS, MAX_MEDIA_URL_CHARS};
use super::values::Seconds;

/// Where media comes from; `lowercase` on the wire.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    /// vidking.net, by TMDB id: movies and TV episodes.
    Vidking,
    /// YouTube, by video id.
    Youtube,
    /// A direct http(s) URL to a media file or page.
    Url,
}

impl Provider {
    /// Every provider.
    pub const ALL: [Self; 3] = [Self::Vidking, Self::Youtube, Self::Url];

    /// The kinds of media this provider serves.
    pub const fn kinds(self) -> &'static [MediaKind] {
        match self {
            Self::Vidking => &[MediaKind::Movie, MediaKind::Tv],
            Self::Youtube | Self::Url => &[MediaKind::Video],
        }
    }

    /// The wire spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Vidking => "vidking",
            Self::Youtube => "youtube",
            Self::Url => "url",
        }
    }
}

/// What kind of media; `lowercase` on the wire.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum MediaKind {
    /// A film.
    Movie,
    /// A TV episode: needs `season` and `episode`.
    Tv,
    /// A single video.
    Video,
}

impl MediaKind {
    /// The wire spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Movie => "movie",
            Self::Tv => "tv",
            Self::Video => "video",
        }
    }
}

/// The field of a `MediaRef` at fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MediaField {
    /// `provider`.
    Provider,
    /// `kind`.
    Kind,
    /// `id`.
    Id,
    /// `season`.
    Season,
    /// `episode`.
    Episode,
}

impl MediaField {
    /// The field's wire name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Provider => "provider",
            Self::Kind => "kind",
            Self::Id => "id",
            Self::Season => "season",
            Self::Episode => "episode",
        }
    }
}

/// Why a media reference was refused; answers `INVALID_MEDIA` with `field` in `details`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("media.{}: {reason}", field.as_str())]
pub struct InvalidMedia {
    /// The field at fault.
    pub field: MediaField,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl InvalidMedia {
    const fn new(field: MediaField, reason: &'static str) -> Self {
        Self { field, reason }
    }
}

/// A piece of media a room can play; on the wire
/// `{provider, kind, id, season?, episode?}`.
///
/// Only valid combinations exist as values: Vidking movies and TV episodes (season and episode
/// ≥ 1), YouTube videos, and direct http(s) URLs.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MediaRef {
    /// A Vidking film, by TMDB id.
    VidkingMovie {
        /// TMDB id.
        id: CatalogId,
    },
    /// A Vidking TV episode.
    VidkingTv {
        /// TMDB id of the show.
        id: CatalogId,
        /// Season, from 1.
        season: NonZeroU32,
        /// Episode within the season, from 1.
        episode: NonZeroU32,
    },
    /// A YouTube video.
    Youtube {
        /// Video id.
        id: CatalogId,
    },
    /// A direct http(s) URL.
    Url {
        /// The URL.
        url: MediaUrl,
    },
}

impl MediaRef {
    /// Checks a media reference given field by field, as the wire carries it.
    ///
    /// # Errors
    /// When the combination is not one of the valid ones; the error names the field at fault.
    pub fn from_parts(
        provider: Provider,
        kind: MediaKind,
        id: &str,
        season: Option<u32>,
        episode: Option<u32>,
    ) -> Result<Self, InvalidMedia> {
        if !provider.kinds().contains(&kind) {
            return Err(InvalidMedia::new(
                MediaField::Kind,
                "not served by this provider",
            ));
        }
        if kind != MediaKind::Tv {
            if season.is_some() {
                return Err(InvalidMedia::new(
                    MediaField::Season,
                    "only tv media has a season",
                ));
            }
            if episode.is_some() {
                return Err(InvalidMedia::new(
                    MediaField::Episode,
                    "only tv media has an episode",
                ));
            }
        }
        Ok(match (provider, kind) {
            (Provider::Vidking, MediaKind::Tv) => Self::VidkingTv {
                id: CatalogId::new(id)?,
                season: episode_number(season, MediaField::Season)?,
                episode: episode_number(episode, MediaField::Episode)?,
            },
            (Provider::Vidking, _) => Self::VidkingMovie {
                id: CatalogId::new(id)?,
            },
            (Provider::Youtube, _) => Self::Youtube {
                id: CatalogId::new(id)?,
            },
            (Provider::Url, _) => Self::Url {
                url: MediaUrl::new(id)?,
            },
        })
    }

    /// The provider.
    pub const fn provider(&self) -> Provider {
        match self {
            Self::VidkingMovie { .. } | Self::VidkingTv { .. } => Provider::Vidking,
            Self::Youtube { .. } => Provider::Youtube,
            Self::Url { .. } => Provider::Url,
        }
    }

    /// The kind.
    pub const fn kind(&self) -> MediaKind {
        match self {
            Self::VidkingMovie { .. } => MediaKind::Movie,
            Self::VidkingTv { .. } => MediaKind::Tv,
            Self::Youtube { .. } | Self::Url { .. } => MediaKind::Video,
        }
    }

    /// The id: a catalogue id, or the URL for `url` media.
    pub fn id(&self) -> &str {
        match self {
            Self::VidkingMovie { id } | Self::VidkingTv { id, .. } | Self::Youtube { id } => {
                id.as_str()
            }
            Self::Url { url } => url.as_str(),
        }
    }

    /// Season, for TV episodes.
    pub const fn season(&self) -> Option<u32> {
        match self {
            Self::VidkingTv { season, .. } => Some(season.get()),
            _ => None,
        }
    }

    /// Episode, for TV episodes.
    pub const fn episode(&self) -> Option<u32> {
        match self {
            Self::VidkingTv { episode, .. } => Some(episode.get()),
            _ => None,
        }
    }

    fn to_wire(&self) -> MediaRefWire<'_> {
        MediaRefWire {
            provider: self.provider(),
            kind: self.kind(),
            id: Cow::Borrowed(self.id()),
            season: self.season(),
            episode: self.episode(),
        }
    }
}

fn episode_number(n: Option<u32>, field: MediaField) -> Result<NonZeroU32, InvalidMedia> {
    let n = n.ok_or(InvalidMedia::new(field, "required for tv media"))?;
    NonZeroU32::new(n).ok_or(InvalidMedia::new(field, "must be 1 or more"))
}

/// `MediaRef` as the wire spells it: flat and unchecked.
#[derive(Serialize, Deserialize, JsonSchema)]
#[schemars(rename = "MediaRef")]
#[schemars(
    description = "A piece of media. vidking serves movie and tv (tv needs season and episode, both >= 1); youtube and url serve video; a url id is an http(s) URL."
)]
struct MediaRefWire<'a> {
    provider: Provider,
    kind: MediaKind,
    /// Catalogue id (letters, digits, `-`, `_`; at most 64), or the http(s) URL for `url`.
    id: Cow<'a, str>,
    /// Season, from 1; tv only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    season: Option<u32>,
    /// Episode, from 1; tv only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    episode: Option<u32>,
}

impl Serialize for MediaRef {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_wire().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for MediaRef {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let wire = MediaRefWire::deserialize(deserializer)?;
        Self::from_parts(
            wire.provider,
            wire.kind,
            &wire.id,
            wire.season,
            wire.episode,
        )
        .map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for MediaRef {
    fn schema_name() -> Cow<'static, str> {
        "MediaRef".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        MediaRefWire::json_schema(generator)
    }
}

/// A catalogue id (TMDB, YouTube): 1 to 64 letters, digits, `-` or `_`, so it goes into an
/// embed URL path without escaping.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CatalogId(String);

impl CatalogId {
    /// Checks the id.
    ///
    /// # Errors
    /// When it is empty, too long, or holds other characters.
    pub fn new(id: &str) -> Result<Self, InvalidMedia> {
        let allowed = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
        if id.is_empty() || id.len() > MAX_MEDIA_ID_CHARS || !id.chars().all(allowed) {
            return Err(InvalidMedia::new(
                MediaField::Id,
                "must be 1 to 64 letters, digits, '-' or '_'",
            ));
        }
        Ok(Self(id.to_owned()))
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A direct media URL: `http://` or `https://`, a host, no whitespace, at most 2048
/// characters.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MediaUrl(String);

impl MediaUrl {
    /// Checks the URL.
    ///
    /// # Errors
    /// When it is not an http(s) URL with a host.
    pub fn new(url: &str) -> Result<Self, InvalidMedia> {
        const BAD: InvalidMedia = InvalidMedia::new(
            MediaField::Id,
            "must be an http(s) URL of at most 2048 characters",
        );
        let lower = url.get(..8).unwrap_or(url).to_ascii_lowercase();
        let rest = if lower.starts_with("https://") {
            &url[8..]
        } else if lower.starts_with("http://") {
            &url[7..]
        } else {
            return Err(BAD);
        };
        let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
        let has_space = url.chars().any(|c| c.is_whitespace() || c.is_control());
        let too_long = url.chars().count() > MAX_MEDIA_URL_CHARS;
        if host.is_empty() || host.starts_with(':') || has_space || too_long {
            return Err(BAD);
        }
        Ok(Self(url.to_owned()))
    }

    /// The URL.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A player colour: 3 or 6 hex digits, kept lower-case without `#`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Color(String);

impl Color {
    /// Checks the colour; a leading `#` is stripped.
    ///
    /// # Errors
    /// When it is not 3 or 6 hex digits.
    pub fn new(raw: &str) -> Result<Self, InvalidColor> {
        let hex = raw.strip_prefix('#').unwrap_or(raw);
        if !matches!(hex.len(), 3 | 6) || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(InvalidColor);
        }
        Ok(Self(hex.to_ascii_lowercase()))
    }

    /// The hex digits, without `#`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A colour that is not 3 or 6 hex digits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("colour must be 3 or 6 hex digits, with or without a leading '#'")]
pub struct InvalidColor;

impl Serialize for Color {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Color {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Self::new(&Cow::<'de, str>::deserialize(deserializer)?).map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for Color {
    fn schema_name() -> Cow<'static, str> {
        "Color".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A colour: 3 or 6 hex digits; a leading '#' is accepted and stripped.",
            "type": "string",
            "pattern": "^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$"
        })
    }
}

impl fmt::Display for Color {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Player options for an embed URL; each is left out of the URL when not set.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct EmbedOptions {
    /// Accent colour.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color: Option<Color>,
    /// Start playing on load.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_play: Option<bool>,
    /// Offer the next episode at the end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_episode: Option<bool>,
    /// Show the episode selector.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub episode_selector: Option<bool>,
    /// Start position, in seconds (rounded down in the URL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress_s: Option<Seconds>,
}

/// Built from [`Default`] with the `with_*` methods (struct literals are closed to other
/// crates, since more options may come):
///
/// ```
/// use streamit_protocol::v1::{Color, EmbedOptions, Seconds};
///
/// let options = EmbedOptions::default()
///     .with_color(Color::new("e50914").unwrap())
///     .with_auto_play(true)
///     .with_progress(Seconds::new(90.0).unwrap());
/// assert_eq!(options.auto_play, Some(true));
/// assert_eq!(options.next_episode, None);
/// ```
impl EmbedOptions {
    /// The player's accent colour.
    #[must_use]
    pub fn with_color(mut self, color: Color) -> Self {
        self.color = Some(color);
        self
    }

    /// Start playing on load, or not.
    #[must_use]
    pub const fn with_auto_play(mut self, auto_play: bool) -> Self {
        self.auto_play = Some(auto_play);
        self
    }

    /// Offer the next episode at the end, or not.
    #[must_use]
    pub const fn with_next_episode(mut self, next_episode: bool) -> Self {
        self.next_episode = Some(next_episode);
        self
    }

    /// Show the episode selector, or not.
    #[must_use]
    pub const fn with_episode_selector(mut self, episode_selector: bool) -> Self {
        self.episode_selector = Some(episode_selector);
        self
    }

    /// Start at this position (`progress_s`).
    #[must_use]
    pub const fn with_progress(mut self, progress: Seconds) -> Self {
        self.progress_s = Some(progress);
        self
    }
}

/// What a provider's player lets a room control.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct Capabilities {
    /// The player can seek.
    pub seek: bool,
    /// The player can change its rate.
    pub rate: bool,
    /// The player reports events (progress, ended, buffering).
    pub events: bool,
}

impl Capabilities {
    /// Builds the set.
    pub const fn new(seek: bool, rate: bool, events: bool) -> Self {
        Self { seek, rate, events }
    }
}

/// `POST /api/media/embed/` body.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct EmbedRequest {
    /// The media.
    pub media: MediaRef,
    /// Player options.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<EmbedOptions>,
}

impl EmbedRequest {
    /// A request without options.
    pub const fn new(media: MediaRef) -> Self {
        Self {
            media,
            options: None,
        }
    }

    /// With player options.
    #[must_use]
    pub fn with_options(mut self, options: EmbedOptions) -> Self {
        self.options = Some(options);
        self
    }
}

/// `POST /api/media/embed/` answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct EmbedResponse {
    /// The canonical embed URL: the same input always gives the same string.
    pub embed_url: String,
    /// What the provider's player supports.
    pub capabilities: Capabilities,
}

impl EmbedResponse {
    /// Builds the answer.
    pub const fn new(embed_url: String, capabilities: Capabilities) -> Self {
        Self {
            embed_url,
            capabilities,
        }
    }
}

/// One provider in `GET /api/media/providers/`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct ProviderInfo {
    /// The provider.
    pub name: Provider,
    /// Kinds it serves.
    pub kinds: Vec<MediaKind>,
    /// What its player supports.
    pub capabilities: Capabilities,
}

impl ProviderInfo {
    /// Builds the entry.
    pub const fn new(name: Provider, kinds: Vec<MediaKind>, capabilities: Capabilities) -> Self {
        Self {
            name,
            kinds,
            capabilities,
        }
    }
}

/// `GET /api/media/providers/` answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct ProvidersResponse {
    /// Every provider.
    pub providers: Vec<ProviderInfo>,
}

impl ProvidersResponse {
    /// Builds the answer.
    pub const fn new(providers: Vec<ProviderInfo>) -> Self {
        Self { providers }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: serde_json::Value) -> Result<MediaRef, String> {
        serde_json::from_value(v).map_err(|e| e.to_string())
    }

    #[test]
    fn valid_media_round_trips() {
        for wire in [
            json!({"provider": "vidking", "kind": "movie", "id": "550"}),
            json!({"provider": "vidking", "kind": "tv", "id": "1399", "season": 1, "episode": 9}),
            json!({"provider": "youtube", "kind": "video", "id": "dQw4w9WgXcQ"}),
            json!({"provider": "url", "kind": "video", "id": "https://example.com/a.mp4?x=1"}),
        ] {
            let media = parse(wire.clone()).unwrap();
            assert_eq!(serde_json::to_value(&media).unwrap(), wire);
        }
    }

    #[test]
    fn null_options_are_accepted() {
        let media =
            parse(json!({"provider": "vidking", "kind": "movie", "id": "550", "season": null}))
                .unwrap();
        assert_eq!(media.season(), None);
    }

    #[test]
    fn faults_name_their_field() {
        let fault = |provider, kind, id: &str, season, episode| {
            MediaRef::from_parts(provider, kind, id, season, episode)
                .unwrap_err()
                .field
        };
        use MediaKind::*;
        use Provider::*;
        assert_eq!(fault(Vidking, Tv, "1", None, Some(1)), MediaField::Season);
        assert_eq!(
            fault(Vidking, Tv, "1", Some(1), Some(0)),
            MediaField::Episode
        );
        assert_eq!(
            fault(Vidking, Tv, "1", Some(0), Some(1)),
            MediaField::Season
        );
        assert_eq!(
            fault(Vidking, Movie, "1", Some(1), None),
            MediaField::Season
        );
        assert_eq!(fault(Youtube, Movie, "x", None, None), MediaField::Kind);
        assert_eq!(fault(Url, Video, "ftp://x/y", None, None), MediaField::Id);
        assert_eq!(
            fault(Url, Video, "javascript:alert(1)", None, None),
            MediaField::Id
        );
        assert_eq!(
            fault(Url, Video, "https:///path", None, None),
            MediaField::Id
        );
        assert_eq!(fault(Vidking, Movie, "../x", None, None), MediaField::Id);
        assert!(parse(json!({"provider": "netflix", "kind": "movie", "id": "1"})).is_err());
        let message = parse(json!({"provider": "vidking", "kind": "tv", "id": "1"})).unwrap_err();
        assert!(message.contains("media.season"), "{message}");
    }

    #[test]
    fn colour_strips_hash_and_checks_digits() {
        assert_eq!(Color::new("#FF00aa").unwrap().as_str(), "ff00aa");
        assert_eq!(Color::new("abc").unwrap().as_str(), "abc");
        for bad in ["", "#", "abcd", "ggg", "##abc", "1234567"] {
            assert!(Color::new(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn embed_and_provider_bodies() {
        let request = json!({"media": {"provider": "youtube", "kind": "video", "id": "abc"}, "options": {"progress_s": 61.5}});
        let parsed: EmbedRequest = serde_json::from_value(request.clone()).unwrap();
        assert_eq!(serde_json::to_value(&parsed).unwrap(), request);
        let answer = json!({"embed_url": "https://www.youtube.com/embed/abc?enablejsapi=1&start=61", "capabilities": {"seek": true, "rate": true, "events": true}});
        let parsed: EmbedResponse = serde_json::from_value(answer.clone()).unwrap();
        assert_eq!(serde_json::to_value(&parsed).unwrap(), answer);
        let providers = json!({"providers": [{"name": "vidking", "kinds": ["movie", "tv"], "capabilities": {"seek": true, "rate": false, "events": true}}]});
        let parsed: ProvidersResponse = serde_json::from_value(providers.clone()).unwrap();
        assert_eq!(serde_json::to_value(&parsed).unwrap(), providers);
    }

    #[test]
    fn embed_options_omit_unset_fields() {
        let options: EmbedOptions = serde_json::from_value(
            json!({"color": "#e50914", "auto_play": true, "progress_s": null}),
        )
        .unwrap();
        assert_eq!(
            serde_json::to_value(&options).unwrap(),
            json!({"color": "e50914", "auto_play": true})
        );
    }
}
