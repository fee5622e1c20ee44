//! `ApiError`: what a service answers when it refuses or fails, as a protocol `ErrorCode` with
//! a message, optional details and, for infrastructure failures, the cause for the log.
//!
//! The HTTP edge turns it into the status and `{"error": {...}}` body; it is the only place
//! that does.

use std::borrow::Cow;
use std::time::Duration;

use serde_json::{Map, Value};
use streamit_protocol::v1::{ErrorCode, detail};

use crate::store;

type Cause = Box<dyn std::error::Error + Send + Sync>;

/// A refusal or failure, ready for the wire.
#[derive(Debug)]
pub(crate) struct ApiError {
    pub(crate) code: ErrorCode,
    pub(crate) message: Cow<'static, str>,
    pub(crate) details: Option<Map<String, Value>>,
    /// For `RATE_LIMITED`: when to try again (the `Retry-After` header and `retry_after_ms`).
    pub(crate) retry_after: Option<Duration>,
    /// For `INTERNAL`: what really happened, logged once at the edge, never sent.
    pub(crate) cause: Option<Cause>,
}

pub(crate) type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub(crate) fn new(code: ErrorCode, message: impl Into<Cow<'static, str>>) -> Self {
        Self {
            code,
            message: message.into(),
            details: None,
            retry_after: None,
            cause: None,
        }
    }

    /// A failure of ours: the client sees a generic message, the log sees `cause`.
    pub(crate) fn internal(cause: impl Into<Cause>) -> Self {
        Self {
            cause: Some(cause.into()),
            ..Self::new(ErrorCode::Internal, "internal error")
        }
    }

    /// Bad input in `field` (a dotted path such as `media.season`).
    pub(crate) fn invalid(
        code: ErrorCode,
        field: &str,
        message: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self::new(code, message).with_detail(detail::FIELD, field)
    }

    pub(crate) fn rate_limited(retry_after: Duration) -> Self {
        let ms = u64::try_from(retry_after.as_millis())
            .unwrap_or(u64::MAX)
            .max(1);
        Self {
            retry_after: Some(retry_after),
            ..Self::new(ErrorCode::RateLimited, "too many requests; slow down")
        }
        .with_detail(detail::RETRY_AFTER_MS, ms)
    }

    /// A standing limit (`limit`, of `max`) is reached.
    pub(crate) fn limit_reached(limit: &str, max: u32, message: &'static str) -> Self {
        Self::new(ErrorCode::LimitReached, message)
            .with_detail(detail::LIMIT, limit)
            .with_detail(detail::MAX, max)
    }

    #[must_use]
    pub(crate) fn with_detail(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.details
            .get_or_insert_with(Map::new)
            .insert(key.to_owned(), value.into());
        self
    }
}

/// A database out of reach answers 503 `UNAVAILABLE` (clients retry); any other store failure
/// is ours, `INTERNAL`.
impl From<store::Error> for ApiError {
    fn from(error: store::Error) -> Self {
        if error.is_unavailable() {
            return Self {
                cause: Some(Box::new(error)),
                ..Self::new(
                    ErrorCode::Unavailable,
                    "the database does not answer; try again shortly",
                )
            };
        }
        Self::internal(error)
    }
}

impl From<tokio::task::JoinError> for ApiError {
    fn from(error: tokio::task::JoinError) -> Self {
        Self::internal(error)
    }
}
