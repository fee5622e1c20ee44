//! How times and media are written on screen, and read back when a person types them.

use streamit_client::protocol::v1::{MediaKind, MediaRef, Provider};

/// A media position as `m:ss`, or `h:mm:ss` from an hour on.
pub(crate) fn clock(ms: u64) -> String {
    let seconds = ms / 1000;
    let (h, m, s) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}

/// A signed duration in ms as `+12 ms` / `-1.5 s`.
pub(crate) fn drift(ms: i64) -> String {
    if ms.unsigned_abs() < 1000 {
        format!("{ms:+} ms")
    } else {
        format!("{:+.1} s", ms as f64 / 1000.0)
    }
}

/// A typed time: `90` (seconds), `1:30` or `1:02:03`; `None` when it is not one.
pub(crate) fn parse_clock(typed: &str) -> Option<u64> {
    let mut seconds: u64 = 0;
    let parts: Vec<&str> = typed.trim().split(':').collect();
    if parts.len() > 3 {
        return None;
    }
    for (index, part) in parts.iter().enumerate() {
        let value: u64 = part.parse().ok()?;
        if index > 0 && value >= 60 {
            return None;
        }
        seconds = seconds.checked_mul(60)?.checked_add(value)?;
    }
    seconds.checked_mul(1000)
}

/// What is playing, in a few words: `YouTube dQw4w9WgXcQ`, `TV 1399 S1E2`.
pub(crate) fn media(media: Option<&MediaRef>) -> String {
    let Some(media) = media else {
        return "nothing chosen yet".to_owned();
    };
    match (media.provider(), media.kind()) {
        (Provider::Vidking, MediaKind::Tv) => format!(
            "TV {} S{}E{}",
            media.id(),
            media.season().unwrap_or_default(),
            media.episode().unwrap_or_default()
        ),
        (Provider::Vidking, _) => format!("Movie {}", media.id()),
        (Provider::Youtube, _) => format!("YouTube {}", media.id()),
        _ => media.id().to_owned(),
    }
}

/// Media as typed at the set-media prompt: `youtube ID`, `movie ID`, `tv ID SEASON EPISODE`,
/// or an http(s) URL.
pub(crate) fn parse_media(typed: &str) -> Result<MediaRef, String> {
    let words: Vec<&str> = typed.split_whitespace().collect();
    let number = |word: &str| {
        word.parse::<u32>()
            .map_err(|_| format!("{word:?} is not a number"))
    };
    let parsed = match words.as_slice() {
        [url] if url.starts_with("http://") || url.starts_with("https://") => {
            MediaRef::from_parts(Provider::Url, MediaKind::Video, url, None, None)
        }
        ["youtube", id] => {
            MediaRef::from_parts(Provider::Youtube, MediaKind::Video, id, None, None)
        }
        ["movie", id] => MediaRef::from_parts(Provider::Vidking, MediaKind::Movie, id, None, None),
        ["tv", id, season, episode] => MediaRef::from_parts(
            Provider::Vidking,
            MediaKind::Tv,
            id,
            Some(number(season)?),
            Some(number(episode)?),
        ),
        _ => return Err("type `youtube ID`, `movie ID`, `tv ID SEASON EPISODE` or a URL".into()),
    };
    parsed.map_err(|error| error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clocks_read_back_what_they_write() {
        assert_eq!(clock(0), "0:00");
        assert_eq!(clock(754_000), "12:34");
        assert_eq!(clock(3_723_000), "1:02:03");
        assert_eq!(parse_clock("1:02:03"), Some(3_723_000));
        assert_eq!(parse_clock("12:34"), Some(754_000));
        assert_eq!(parse_clock("90"), Some(90_000));
        assert_eq!(parse_clock("1:75"), None);
        assert_eq!(parse_clock("abc"), None);
        assert_eq!(parse_clock("1:2:3:4"), None);
    }

    #[test]
    fn drift_is_signed() {
        assert_eq!(drift(12), "+12 ms");
        assert_eq!(drift(-1500), "-1.5 s");
    }

    #[test]
    fn media_is_typed_and_named() {
        let tv = parse_media("tv 1399 1 2").unwrap();
        assert_eq!(media(Some(&tv)), "TV 1399 S1E2");
        let video = parse_media("youtube dQw4w9WgXcQ").unwrap();
        assert_eq!(media(Some(&video)), "YouTube dQw4w9WgXcQ");
        let url = parse_media("https://example.com/a.mp4").unwrap();
        assert_eq!(media(Some(&url)), "https://example.com/a.mp4");
        assert!(parse_media("tv 1399 one 2").is_err());
        assert!(parse_media("vimeo 1").is_err());
        assert_eq!(media(None), "nothing chosen yet");
    }
}
