//! The first decoding step, shared by both directions: refuse oversized and deeply nested
//! frames before parsing, then split the envelope from the raw `data`.

use super::codes::ErrorCode;
use super::limits::MAX_JSON_DEPTH;
#[cfg(doc)]
use super::limits::{MAX_FRAME_BYTES, MAX_SERVER_FRAME_BYTES};

/// Why a frame could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// Over the frame limit of its direction ([`MAX_FRAME_BYTES`] from clients,
    /// [`MAX_SERVER_FRAME_BYTES`] from the server); refused unread.
    #[error("frame of {0} bytes is over the limit")]
    TooLarge(usize),
    /// JSON nested deeper than [`MAX_JSON_DEPTH`]; refused unparsed.
    #[error("JSON nested deeper than {MAX_JSON_DEPTH} levels")]
    TooDeep,
    /// Not a JSON object with a string `type` (or, from a server, the envelope's fields).
    #[error("malformed frame: {0}")]
    Malformed(String),
    /// A server frame of another protocol version.
    #[error("server speaks protocol v{0}; this library speaks v1")]
    UnsupportedVersion(u64),
    /// A `type` no event has.
    #[error("unknown event type {0:?}")]
    UnknownEvent(String),
    /// A known `type` whose `data` does not fit it.
    #[error("invalid data for {event_type}: {message}")]
    InvalidData {
        /// The event's `type`.
        event_type: String,
        /// What is wrong, from the decoder.
        message: String,
        /// The code to answer with: `INVALID_MESSAGE`, or a more precise one such as
        /// `MESSAGE_TOO_LONG`.
        code: ErrorCode,
    },
}

impl FrameError {
    /// The code a server answers this with in an `ERROR` event.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::UnknownEvent(_) => ErrorCode::UnknownEvent,
            Self::InvalidData { code, .. } => *code,
            Self::TooLarge(_)
            | Self::TooDeep
            | Self::Malformed(_)
            | Self::UnsupportedVersion(_) => ErrorCode::InvalidMessage,
        }
    }
}

/// Checks size, nesting and that the frame is an object, without parsing, so a hostile frame
/// costs one linear scan. (Serde would otherwise read a struct from an array of its fields.)
pub(crate) fn check_shape(text: &str, max_bytes: usize) -> Result<(), FrameError> {
    if text.len() > max_bytes {
        return Err(FrameError::TooLarge(text.len()));
    }
    if !text.trim_start().starts_with('{') {
        return Err(FrameError::Malformed("a frame is a JSON object".into()));
    }
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for byte in text.bytes() {
        if in_string {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'{' | b'[' => {
                depth += 1;
                if depth > MAX_JSON_DEPTH {
                    return Err(FrameError::TooDeep);
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

/// The raw `data` of a frame: a JSON object, where missing or `null` means `{}`.
///
/// Checked here because serde would otherwise read a struct from an array of its fields.
pub(crate) fn data_object<'a>(
    event_type: &str,
    data: Option<&'a serde_json::value::RawValue>,
) -> Result<&'a str, FrameError> {
    match data.map(serde_json::value::RawValue::get) {
        None | Some("null") => Ok("{}"),
        Some(raw) if raw.starts_with('{') => Ok(raw),
        Some(_) => Err(FrameError::InvalidData {
            event_type: event_type.to_owned(),
            message: "`data` must be a JSON object".into(),
            code: ErrorCode::InvalidMessage,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::v1::MAX_SERVER_FRAME_BYTES;

    #[test]
    fn depth_counts_only_structure() {
        let deep = format!("{{\"a\":{}", "[".repeat(MAX_JSON_DEPTH));
        assert_eq!(
            check_shape(&deep, MAX_SERVER_FRAME_BYTES),
            Err(FrameError::TooDeep)
        );
        let inner = MAX_JSON_DEPTH - 1;
        let ok = format!("{{\"a\":{}{}}}", "[".repeat(inner), "]".repeat(inner));
        assert_eq!(check_shape(&ok, MAX_SERVER_FRAME_BYTES), Ok(()));
        let brackets_in_strings = format!(
            "{{\"text\": \"{}\\\"{}\"}}",
            "[".repeat(100),
            "{".repeat(100)
        );
        assert_eq!(
            check_shape(&brackets_in_strings, MAX_SERVER_FRAME_BYTES),
            Ok(())
        );
    }

    #[test]
    fn only_objects_are_frames() {
        for not_object in ["[]", "\"PLAY\"", "5", "null", ""] {
            assert!(
                matches!(
                    check_shape(not_object, MAX_SERVER_FRAME_BYTES),
                    Err(FrameError::Malformed(_))
                ),
                "{not_object}"
            );
        }
        assert_eq!(check_shape(" \n{}", MAX_SERVER_FRAME_BYTES), Ok(()));
    }

    #[test]
    fn size_is_checked_first() {
        let limit = crate::v1::MAX_FRAME_BYTES;
        let big = format!("{{{}}}", " ".repeat(limit));
        assert_eq!(
            check_shape(&big, limit),
            Err(FrameError::TooLarge(limit + 2))
        );
    }
}
