//! Writing responses: JSON bodies, and every failure as the one error shape
//! `{"error": {"code", "message", "details"?}}` with its status.

use bytes::Bytes;
use http::header::{ALLOW, CONTENT_TYPE, RETRY_AFTER};
use http::{HeaderValue, Response, StatusCode};
use http_body_util::Full;
use serde::Serialize;
use streamit_protocol::v1::{ErrorBody, ErrorCode};

use crate::error::ApiError;

pub(crate) type Reply = Response<Full<Bytes>>;

fn with_json(status: StatusCode, body: Vec<u8>) -> Reply {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// `value` as JSON with `status`.
pub(crate) fn json<T: Serialize>(status: StatusCode, value: &T) -> Reply {
    match serde_json::to_vec(value) {
        Ok(body) => with_json(status, body),
        Err(error) => failure(ApiError::internal(error)),
    }
}

/// 204, no body.
pub(crate) fn no_content() -> Reply {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = StatusCode::NO_CONTENT;
    response
}

/// A plain-text body, for the probes and `/metrics`.
pub(crate) fn text(body: impl Into<Bytes>) -> Reply {
    let mut response = Response::new(Full::new(body.into()));
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

/// The error body and status of `error`. `INTERNAL` is logged here, once, with its cause and
/// the request's span; client mistakes only at debug.
pub(crate) fn failure(error: ApiError) -> Reply {
    let status =
        StatusCode::from_u16(error.code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    match (&error.cause, error.code) {
        // An outage fails every request alike: each one is worth a line, not an alarm each.
        (Some(cause), ErrorCode::Unavailable) => {
            tracing::warn!(error = %cause, "request failed: database unavailable")
        }
        (Some(cause), _) => tracing::error!(error = %cause, "request failed"),
        (None, ErrorCode::Internal | ErrorCode::Unavailable) => {
            tracing::error!(message = %error.message, "request failed")
        }
        (None, code) => tracing::debug!(%code, message = %error.message, "request refused"),
    }
    let mut body = ErrorBody::new(error.code, error.message.into_owned());
    body.error.details = error.details;
    let allow = (error.code == ErrorCode::MethodNotAllowed)
        .then(|| {
            body.error
                .details
                .as_ref()?
                .get("allow")?
                .as_str()
                .map(str::to_owned)
        })
        .flatten();
    let encoded = serde_json::to_vec(&body).unwrap_or_else(|_| {
        br#"{"error":{"code":"INTERNAL","message":"internal error"}}"#.to_vec()
    });
    let mut response = with_json(status, encoded);
    if let Some(retry_after) = error.retry_after {
        let seconds = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
        response
            .headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from(seconds.max(1)));
    }
    if let Some(allow) = allow.and_then(|a| HeaderValue::from_str(&a).ok()) {
        response.headers_mut().insert(ALLOW, allow);
    }
    response
}
