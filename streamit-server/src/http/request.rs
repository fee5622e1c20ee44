//! Reading requests: the JSON body (size, content type, syntax, then each field, with the
//! field at fault named in `details`), and the query string.

use bytes::Bytes;
use http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use http::request::Parts;
use http_body_util::{BodyExt as _, Limited};
use serde::de::DeserializeOwned;
use serde_json::Value;
use streamit_protocol::v1::{ErrorCode, MAX_BODY_BYTES, detail};

use crate::error::{ApiError, ApiResult};

fn too_large() -> ApiError {
    ApiError::new(ErrorCode::PayloadTooLarge, "the body is over 64 KiB")
}

/// Reads the whole body, refusing more than [`MAX_BODY_BYTES`] without buffering it.
pub(crate) async fn read_body(parts: &Parts, body: super::Body) -> ApiResult<Bytes> {
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
                .with_detail(detail::REASON, error.to_string()),
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

/// Syntax first, then shape, then fields. The body must be an object. No request body of
/// protocol v1 has an array, so an array where a known field is refuses (serde would otherwise
/// read a struct from an array of its fields), while one in a field this version does not know
/// is ignored like any unknown field (forward compatibility). Decoding from the parsed value
/// also makes every type mismatch a field error (serde reports some, such as a number where an
/// enum belongs, as syntax errors when reading text).
fn decode<T: DeserializeOwned>(bytes: &[u8]) -> ApiResult<T> {
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|e| ApiError::new(ErrorCode::InvalidInput, format!("malformed JSON: {e}")))?;
    if !value.is_object() {
        return Err(ApiError::new(
            ErrorCode::InvalidInput,
            "the body must be a JSON object",
        ));
    }
    let mut arrays = Vec::new();
    arrays_in(&value, &mut Vec::new(), &mut arrays);
    let mut ignored: Vec<Vec<String>> = Vec::new();
    let mut note_ignored = |path: serde_ignored::Path<'_>| {
        let mut keys = Vec::new();
        keys_of(&path, &mut keys);
        ignored.push(keys);
    };
    let decoded = serde_path_to_error::deserialize(serde_ignored::Deserializer::new(
        value,
        &mut note_ignored,
    ))
    .map_err(|error| {
        let path = error.path().to_string();
        field_error(&path, &error.into_inner().to_string())
    })?;
    let known_array = arrays
        .iter()
        .find(|array| !ignored.iter().any(|unknown| array.starts_with(unknown)));
    if let Some(path) = known_array {
        return Err(field_error(
            &path.join("."),
            "expected an object or a value, not an array",
        ));
    }
    Ok(decoded)
}

/// The key paths of the outermost arrays in `value`.
fn arrays_in(value: &Value, path: &mut Vec<String>, found: &mut Vec<Vec<String>>) {
    match value {
        Value::Array(_) => found.push(path.clone()),
        Value::Object(fields) => {
            for (key, inner) in fields {
                path.push(key.clone());
                arrays_in(inner, path, found);
                path.pop();
            }
        }
        _ => {}
    }
}

/// The object keys along an ignored value's path, comparable with [`arrays_in`]'s.
fn keys_of(path: &serde_ignored::Path<'_>, keys: &mut Vec<String>) {
    match path {
        serde_ignored::Path::Root => {}
        serde_ignored::Path::Map { parent, key } => {
            keys_of(parent, keys);
            keys.push(key.clone());
        }
        serde_ignored::Path::Seq { parent, index } => {
            keys_of(parent, keys);
            keys.push(index.to_string());
        }
        serde_ignored::Path::Some { parent }
        | serde_ignored::Path::NewtypeStruct { parent }
        | serde_ignored::Path::NewtypeVariant { parent } => keys_of(parent, keys),
    }
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

/// The fields of a `MediaRef`: inside `media`, or flat at the top of a query.
const MEDIA_FIELDS: [&str; 5] = ["provider", "kind", "id", "season", "episode"];

/// A field-level refusal: `INVALID_MEDIA` inside media (PROTOCOL §1), else `INVALID_INPUT`,
/// naming the field as a dotted path.
///
/// Serde reports a missing field, and `MediaRef` its cross-field rules, at the enclosing
/// path, with the field in the message (`` missing field `provider` ``, `media.season: …`);
/// the message completes the path.
fn field_error(path: &str, message: &str) -> ApiError {
    let path = if path == "." { "" } else { path };
    // serde_json appends the position; the field path says more and the body is the client's.
    let message = message
        .rsplit_once(" at line ")
        .map_or(message, |(head, _)| head);
    let inner = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split_once('`'))
        .map(|(field, _)| field)
        .or_else(|| {
            message
                .strip_prefix("media.")
                .and_then(|rest| rest.split_once(':'))
                .map(|(field, _)| field)
        });
    let field = match inner {
        Some(inner) if path.is_empty() => inner.to_owned(),
        Some(inner) if !path.ends_with(inner) => format!("{path}.{inner}"),
        _ => path.to_owned(),
    };
    let in_media = field == "media"
        || field.starts_with("media.")
        || field.contains(".media")
        || MEDIA_FIELDS.contains(&field.as_str());
    if in_media {
        return ApiError::invalid(ErrorCode::InvalidMedia, &field, message.to_owned());
    }
    ApiError::invalid(
        ErrorCode::InvalidInput,
        &field,
        format!("{field}: {message}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use streamit_protocol::v1::{CreateRoomRequest, EmbedRequest, GuestRequest, RegisterRequest};

    fn error<T: DeserializeOwned + std::fmt::Debug>(body: &str) -> ApiError {
        decode::<T>(body.as_bytes()).unwrap_err()
    }

    fn field(error: &ApiError) -> &str {
        error
            .details
            .as_ref()
            .and_then(|d| d[detail::FIELD].as_str())
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
    fn unknown_fields_are_ignored_whatever_their_shape() {
        let body = r#"{"display_name": "Ada", "tags": [1, [2]], "later": {"list": ["x"]},
                       "n": 1, "o": {"deep": {"x": null}}}"#;
        let parsed = decode::<GuestRequest>(body.as_bytes()).unwrap();
        assert_eq!(parsed.display_name.unwrap().as_str(), "Ada");
        let body = r#"{"media": {"provider": "vidking", "kind": "movie", "id": "1",
                                 "extra": [1, 2]}, "also": []}"#;
        assert!(decode::<EmbedRequest>(body.as_bytes()).is_ok());
    }

    #[test]
    fn an_array_where_a_known_field_is_refuses() {
        let e = error::<EmbedRequest>(r#"{"media": ["vidking", "movie", "1"]}"#);
        assert_eq!((e.code, field(&e)), (ErrorCode::InvalidMedia, "media"));
        let e = error::<RegisterRequest>(
            r#"{"email": ["a@b.io"], "password": "longenough", "display_name": "A"}"#,
        );
        assert_eq!((e.code, field(&e)), (ErrorCode::InvalidInput, "email"));
        let e = error::<GuestRequest>("[]");
        assert_eq!(e.code, ErrorCode::InvalidInput);
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
