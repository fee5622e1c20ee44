//! Entry points for the fuzz targets in `fuzz/` (feature `fuzzing`): the server's own decoders
//! of untrusted input, otherwise private, behind thin functions that hide its error type.

use http::header::CONTENT_TYPE;
use serde::de::DeserializeOwned;
use streamit_protocol::v1::{EmbedOptions, ErrorCode, MediaRef};

/// Decodes a request body exactly as the HTTP layer does for an `application/json` request:
/// the decoded value, or the wire code of the refusal.
///
/// # Errors
/// The code the server would answer with (`INVALID_INPUT`, `INVALID_MEDIA`, ...).
pub fn decode_body<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ErrorCode> {
    let (parts, ()) = http::Request::builder()
        .header(CONTENT_TYPE, "application/json")
        .body(())
        .expect("a fixed, valid header")
        .into_parts();
    crate::http::json_body(&parts, bytes).map_err(|error| error.code)
}

/// The canonical embed URL, as `POST /api/media/embed/` and `MEDIA_CHANGED` carry it.
pub fn embed_url(media: &MediaRef, options: &EmbedOptions) -> String {
    crate::media::embed_url(media, options)
}
