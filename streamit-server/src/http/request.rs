//! Reading requests: the JSON body (size, content type, syntax, then each field, with the
//! field at fault named in `details`), the query string, and the bearer token.

use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE};
use http::request::Parts;
use http_body_util::{BodyExt as _, Limited};
use hyper::body::Incoming;
use serde::de::DeserializeOwned;
use streamit_protocol::v1::{ErrorCode, MAX_BODY_BYTES};

use crate::error::{ApiError, ApiResult};

fn too_large() -> ApiError {
    ApiError::new(ErrorCode::PayloadTooLarge, "the body is over 64 KiB")
}

/// Reads the whole body, refusing more than [`MAX_BODY_BYTES`] without buffering it.
pub(crate) async fn read_body(parts: &Parts, body: Incoming) -> ApiResult<Bytes> {
    let declared = parts
        .headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return Err(too_large());
    }
    match Limited::new(body, MAX_BODY_BYTES).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error) if error.is::<http_body_util::LengthLimitError>() => Err(too_large()),
        Err(error) => Err(
            ApiError::new(ErrorCode::InvalidInput, "the body could not be read")
                .with_detail("reason", error.to_string()),
        ),
    }
}

fn is_json(parts: &Parts) -> bool {
    parts
        .headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| {
            let mime = mime.trim().to_ascii_lowercase();
            mime == "application/json"
                || (mime.starts_with("application/") && mime.ends_with("+json"))
        })
}

/// Decodes a JSON body. An empty body counts as `{}`, so endpoints whose fields are all
/// optional can be called bare.
pub(crate) fn json_body<T: DeserializeOwned>(parts: &Parts, bytes: &[u8]) -> ApiResult<T> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return decode(b"{}");
    }
    if !is_json(parts) {
        return Err(ApiError::new(
            ErrorCode::UnsupportedMediaType,
            "send the body as application/json",
        ));
    }
    decode(bytes)
}

fn decode<T: DeserializeOwned>(bytes: &[u8]) -> ApiResult<T> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            return ApiError::new(ErrorCode::InvalidInput, format!("malformed JSON: {inner}"));
        }
        field_error(&path, &inner.to_string())
    })?;
    deserializer
        .end()
        .map_err(|e| ApiError::new(ErrorCode::InvalidInput, format!("malformed JSON: {e}")))?;
    Ok(value)
}

/// Decodes the query string.
pub(crate) fn query<T: DeserializeOwned>(parts: &Parts) -> ApiResult<T> {
    let raw = parts.uri.query().unwrap_or("");
    let deserializer = serde_urlencoded::Deserializer::new(form_urlencoded::parse(raw.as_bytes()));
    serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let path = error.path().to_string();
        field_error(&path, &error.into_inner().to_string())
    })
}

/// A field-level refusal: `INVALID_MEDIA` inside media (PROTOCOL §1), else `INVALID_INPUT`.
///
/// `MediaRef` checks its fields together, so its errors arrive at the `media` path with the
/// inner field as the message's `media.<field>:` prefix; that prefix completes the path.
fn field_error(path: &str, message: &str) -> ApiError {
    let path = if path == "." { "" } else { path };
    // serde_json appends the position; the field path says more and the body is the client's.
    let message = message
        .rsplit_once(" at line ")
        .map_or(message, |(head, _)| head);
    let inner_media_field = message
        .strip_prefix("media.")
        .and_then(|rest| rest.split_once(':'))
        .map(|(field, _)| field);
    let in_media = path == "media"
        || path.starts_with("media.")
        || path.ends_with(".media")
        || path.contains(".media.");
    if in_media {
        let field = match inner_media_field {
            Some(inner) if !path.ends_with(inner) => format!("{path}.{inner}"),
            _ => path.to_owned(),
        };
        return ApiError::invalid(ErrorCode::InvalidMedia, &field, message.to_owned());
    }
    let field = if path.is_empty() {
        message.split('`').nth(1).unwrap_or("")
    } else {
        path
    };
    ApiError::invalid(
        ErrorCode::InvalidInput,
        field,
        format!("{field}: {message}"),
    )
}

/// The bearer token, if the request carries one.
pub(crate) fn bearer(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use streamit_protocol::v1::{CreateRoomRequest, EmbedRequest, RegisterRequest};

    fn error<T: DeserializeOwned + std::fmt::Debug>(body: &str) -> ApiError {
        decode::<T>(body.as_bytes()).unwrap_err()
    }

    fn field(error: &ApiError) -> &str {
        error
            .details
            .as_ref()
            .and_then(|d| d["field"].as_str())
            .unwrap_or("")
    }

    #[test]
    fn malformed_json_is_invalid_input() {
        assert_eq!(error::<RegisterRequest>("{").code, ErrorCode::InvalidInput);
        assert_eq!(
            error::<RegisterRequest>("{} trailing").code,
            ErrorCode::InvalidInput
        );
    }

    #[test]
    fn bad_fields_are_named() {
        let e = error::<RegisterRequest>(
            r#"{"email": "a@b.io", "password": "short", "display_name": "A"}"#,
        );
        assert_eq!((e.code, field(&e)), (ErrorCode::InvalidInput, "password"));
        let e = error::<RegisterRequest>(r#"{"email": "a@b.io", "password": "longenough"}"#);
        assert_eq!(
            (e.code, field(&e)),
            (ErrorCode::InvalidInput, "display_name")
        );
    }

    #[test]
    fn media_faults_are_invalid_media_with_the_inner_field() {
        let e = error::<EmbedRequest>(
            r#"{"media": {"provider": "vidking", "kind": "tv", "id": "1", "episode": 2}}"#,
        );
        assert_eq!(
            (e.code, field(&e)),
            (ErrorCode::InvalidMedia, "media.season")
        );
        let e = error::<EmbedRequest>(
            r#"{"media": {"provider": "netflix", "kind": "movie", "id": "1"}}"#,
        );
        assert_eq!(
            (e.code, field(&e)),
            (ErrorCode::InvalidMedia, "media.provider")
        );
        let e = error::<CreateRoomRequest>(
            r#"{"media": {"provider": "url", "kind": "video", "id": "ftp://x"}}"#,
        );
        assert_eq!((e.code, field(&e)), (ErrorCode::InvalidMedia, "media.id"));
    }
}
