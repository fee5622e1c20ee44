//! The body every HTTP failure carries: `{"error": {"code", "message", "details"?}}`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::codes::ErrorCode;

/// The keys of [`ErrorDetail::details`] the server sets. Read `field` and `retry_after_ms`
/// through [`ErrorDetail::field`] and [`ErrorDetail::retry_after_ms`].
pub mod detail {
    /// The input at fault, as a dotted path (`media.season`), for `INVALID_INPUT` and
    /// `INVALID_MEDIA`.
    pub const FIELD: &str = "field";
    /// For `RATE_LIMITED`: how long to wait before trying again, in ms.
    pub const RETRY_AFTER_MS: &str = "retry_after_ms";
    /// For a method the path does not take: the methods it does, comma-separated.
    pub const ALLOW: &str = "allow";
    /// For a body that could not be read, or a service that does not answer: why, for
    /// developers.
    pub const REASON: &str = "reason";
    /// For `LIMIT_REACHED`: which limit (`rooms_per_user`, `pending_per_room`).
    pub const LIMIT: &str = "limit";
    /// For `LIMIT_REACHED`: the limit's value on this server.
    pub const MAX: &str = "max";
}

/// Every HTTP failure's body.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct ErrorBody {
    /// What went wrong.
    pub error: ErrorDetail,
}

/// What went wrong, inside [`ErrorBody`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct ErrorDetail {
    /// The code to act on.
    pub code: ErrorCode,
    /// Human text, for logs and developers; not for matching.
    pub message: String,
    /// Machine-readable specifics, e.g. `{"field": "media.season"}` or `{"retry_after_ms": 900}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<Map<String, Value>>,
}

impl ErrorDetail {
    /// `details.field`: the input at fault, for `INVALID_INPUT` and `INVALID_MEDIA`.
    pub fn field(&self) -> Option<&str> {
        self.details.as_ref()?.get(detail::FIELD)?.as_str()
    }

    /// `details.retry_after_ms`: for `RATE_LIMITED`, how long to wait before trying again.
    pub fn retry_after_ms(&self) -> Option<u64> {
        self.details.as_ref()?.get(detail::RETRY_AFTER_MS)?.as_u64()
    }
}

impl ErrorBody {
    /// A body without details.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            error: ErrorDetail {
                code,
                message: message.into(),
                details: None,
            },
        }
    }

    /// Adds a detail.
    #[must_use]
    pub fn with_detail(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.error
            .details
            .get_or_insert_with(Map::new)
            .insert(key.to_owned(), value.into());
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn wire_shape() {
        let body = ErrorBody::new(ErrorCode::InvalidMedia, "season is required")
            .with_detail(detail::FIELD, "media.season");
        let wire = json!({"error": {"code": "INVALID_MEDIA", "message": "season is required", "details": {"field": "media.season"}}});
        assert_eq!(serde_json::to_value(&body).unwrap(), wire);
        assert_eq!(serde_json::from_value::<ErrorBody>(wire).unwrap(), body);
        assert_eq!(body.error.field(), Some("media.season"));
        assert_eq!(body.error.retry_after_ms(), None);
        let plain = json!({"error": {"code": "ROOM_NOT_FOUND", "message": "no such room"}});
        assert_eq!(
            serde_json::to_value(ErrorBody::new(ErrorCode::RoomNotFound, "no such room")).unwrap(),
            plain
        );
    }

    #[test]
    fn retry_after_is_read_from_its_detail() {
        let wire = json!({"error": {"code": "RATE_LIMITED", "message": "slow down", "details": {"retry_after_ms": 900}}});
        let body: ErrorBody = serde_json::from_value(wire).unwrap();
        assert_eq!(body.error.retry_after_ms(), Some(900));
        assert_eq!(body.error.field(), None);
    }
}
