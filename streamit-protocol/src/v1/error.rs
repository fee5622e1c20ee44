//! The body every HTTP failure carries: `{"error": {"code", "message", "details"?}}`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::codes::ErrorCode;

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
            .with_detail("field", "media.season");
        let wire = json!({"error": {"code": "INVALID_MEDIA", "message": "season is required", "details": {"field": "media.season"}}});
        assert_eq!(serde_json::to_value(&body).unwrap(), wire);
        assert_eq!(serde_json::from_value::<ErrorBody>(wire).unwrap(), body);
        let plain = json!({"error": {"code": "ROOM_NOT_FOUND", "message": "no such room"}});
        assert_eq!(
            serde_json::to_value(ErrorBody::new(ErrorCode::RoomNotFound, "no such room")).unwrap(),
            plain
        );
    }
}
