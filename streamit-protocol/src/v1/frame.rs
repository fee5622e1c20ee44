//! The first decoding step, shared by both directions: refuse oversized and deeply nested
//! frames before parsing, then split the envelope from the raw `data`.

use super::codes::ErrorCode;
use super::limits::{MAX_FRAME_BYTES, MAX_JSON_DEPTH};

/// Why a frame could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// Over [`MAX_FRAME_BYTES`]; refused unread.
    #[error("frame of {0} bytes is over the {MAX_FRAME_BYTES}-byte limit")]
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
            Self::TooLarge(_) | Self::TooDeep | Self::Malformed(_) | Self::UnsupportedVersion(_) => {
                ErrorCode::InvalidMessage
            }
        }
    }
}

/// Checks size and nesting without parsing, so a hostile frame costs one linear scan.
pub(crate) fn check_shape(text: &str) -> Result<(), FrameError> {
    if text.len() > MAX_FRAME_BYTES {
        return Err(FrameError::TooLarge(text.len()));
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

/// A missing or `null` `data` means an empty payload.
pub(crate) fn data_or_empty(data: Option<&serde_json::value::RawValue>) -> &str {
    match data.map(serde_json::value::RawValue::get) {
        None | Some("null") => "{}",
        Some(raw) => raw,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_counts_only_structure() {
        let deep = "[".repeat(MAX_JSON_DEPTH + 1);
        assert_eq!(check_shape(&deep), Err(FrameError::TooDeep));
        let ok = format!("{}{}", "[".repeat(MAX_JSON_DEPTH), "]".repeat(MAX_JSON_DEPTH));
        assert_eq!(check_shape(&ok), Ok(()));
        let brackets_in_strings = format!("{{\"text\": \"{}\\\"{}\"}}", "[".repeat(100), "{".repeat(100));
        assert_eq!(check_shape(&brackets_in_strings), Ok(()));
    }

    #[test]
    fn size_is_checked_first() {
        let big = " ".repeat(MAX_FRAME_BYTES + 1);
        assert_eq!(check_shape(&big), Err(FrameError::TooLarge(MAX_FRAME_BYTES + 1)));
    }
}
