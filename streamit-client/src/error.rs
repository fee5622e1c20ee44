//! The SDK's one error type: every failure of a REST call or a room session.
//!
//! Callers match on [`Error::code`] (the protocol's [`ErrorCode`]) and [`Error::status`]
//! rather than on variants, so a new variant breaks nobody. Transport failures are a
//! [`TransportError`] of the SDK's own, so the HTTP library underneath is not part of the API.

use std::fmt;
use std::time::Duration;

use serde_json::{Map, Value};
use streamit_protocol::v1::{ErrorCode, Room, detail};

/// What the SDK's calls return.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in the SDK.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The server refused the call: an HTTP failure with the protocol's error body.
    #[error(transparent)]
    Api(Box<ApiError>),
    /// The call needs a signed-in client (register, login or guest first).
    #[error("not signed in: register, log in or sign in as a guest first")]
    NotSignedIn,
    /// `join_room` was answered `PENDING`: the host of this `APPROVAL` room has not let the
    /// user in yet. Joining again later (the REST join is idempotent) connects once approved.
    #[error("waiting for the host of room {} to approve the join", room.code)]
    PendingApproval {
        /// The room, as the join answer showed it.
        room: Box<Room>,
    },
    /// The room session is between sockets (connecting, reconnecting) or has ended; a
    /// command is only sent on a live socket. Wait for `RoomEvent::Connected`.
    #[error("the room session is not connected")]
    NotConnected,
    /// The room session ended (closed, or a terminal close code).
    #[error("the room session has ended")]
    SessionClosed,
    /// The base URL is not an absolute `http`/`https` URL.
    #[error("invalid base URL {url:?}: {reason}")]
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// Why it was refused.
        reason: String,
    },
    /// The request could not be sent or its answer not read (connection refused, timeout,
    /// TLS, …).
    #[error(transparent)]
    Http(TransportError),
    /// A success answer whose body is not the protocol type it should be.
    #[error("unexpected answer to {what} (HTTP {status}): {source}")]
    Decode {
        /// `METHOD path` of the call.
        what: String,
        /// The HTTP status.
        status: u16,
        /// The decoder's complaint.
        #[source]
        source: serde_json::Error,
    },
}

impl Error {
    /// The protocol error code, for API failures.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            Self::Api(api) => Some(api.code),
            _ => None,
        }
    }

    /// The HTTP status, for API failures (and transport errors that carry one).
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Api(api) => Some(api.status),
            Self::Decode { status, .. } => Some(*status),
            Self::Http(error) => error.status(),
            _ => None,
        }
    }

    /// How long the server asked to wait before trying again (`RATE_LIMITED`).
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Api(api) => api.retry_after,
            _ => None,
        }
    }

    /// The API failure, when this is one.
    pub fn as_api(&self) -> Option<&ApiError> {
        match self {
            Self::Api(api) => Some(api),
            _ => None,
        }
    }
}

impl From<ApiError> for Error {
    fn from(error: ApiError) -> Self {
        Self::Api(Box::new(error))
    }
}

impl Error {
    /// A failure of the HTTP stack. Crate-private on purpose: a public `From<reqwest::Error>`
    /// would make the HTTP library part of the SDK's API.
    pub(crate) fn transport(error: reqwest::Error) -> Self {
        Self::Http(TransportError(error))
    }
}

/// A REST call that failed on the way: the server could not be reached, the call timed out,
/// TLS failed, or the answer could not be read. No answer from the server is involved (for
/// those, see [`ApiError`]).
///
/// Opaque, so the SDK can change its HTTP stack without breaking apps: ask it what apps act
/// on ([`is_timeout`](Self::is_timeout), [`is_connect`](Self::is_connect),
/// [`status`](Self::status)); its `Display` says what failed and
/// [`source`](std::error::Error::source) leads to the underlying cause (e.g. the OS's
/// "connection refused").
#[derive(Debug)]
pub struct TransportError(reqwest::Error);

impl TransportError {
    /// Whether the call ran out of time (the client's timeout or connect timeout).
    pub fn is_timeout(&self) -> bool {
        self.0.is_timeout()
    }

    /// Whether connecting to the server failed (refused, unreachable, DNS, TLS handshake).
    pub fn is_connect(&self) -> bool {
        self.0.is_connect()
    }

    /// The HTTP status of the answer the failure concerns, if one had arrived.
    pub fn status(&self) -> Option<u16> {
        self.0.status().map(|status| status.as_u16())
    }
}

impl fmt::Display for TransportError {
    /// `HTTP transport: ` and what failed, e.g. `error sending request for url (…)`; the cause
    /// is the [`source`](std::error::Error::source), not repeated here.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HTTP transport: {}", self.0)
    }
}

impl std::error::Error for TransportError {
    /// The HTTP library's own cause, past its top level (whose text `Display` already shows),
    /// so a printed chain says each thing once.
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        std::error::Error::source(&self.0)
    }
}

/// A refusal by the server: the HTTP status and the protocol's
/// `{"error": {"code", "message", "details"?}}` body.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct ApiError {
    /// The HTTP status, e.g. 404.
    pub status: u16,
    /// The code to act on. [`ErrorCode::Unknown`] when the server sent a code newer than this
    /// library or a body that is not the protocol's (a proxy's error page): act on `status`.
    pub code: ErrorCode,
    /// Human text from the server, for logs; not for matching.
    pub message: String,
    /// Machine-readable specifics, e.g. `{"field": "media.season"}`.
    pub details: Option<Map<String, Value>>,
    /// How long to wait before trying again: `details.retry_after_ms` when present (exact),
    /// else the `Retry-After` header (whole seconds).
    pub retry_after: Option<Duration>,
}

impl ApiError {
    /// `details.field`: the input field at fault, for `INVALID_INPUT` and `INVALID_MEDIA`.
    pub fn field(&self) -> Option<&str> {
        self.details.as_ref()?.get(detail::FIELD)?.as_str()
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HTTP {} {}: {}", self.status, self.code, self.message)
    }
}

impl std::error::Error for ApiError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accessors_read_api_failures() {
        let api = ApiError {
            status: 429,
            code: ErrorCode::RateLimited,
            message: "slow down".into(),
            details: None,
            retry_after: Some(Duration::from_millis(900)),
        };
        let error = Error::from(api);
        assert_eq!(error.code(), Some(ErrorCode::RateLimited));
        assert_eq!(error.status(), Some(429));
        assert_eq!(error.retry_after(), Some(Duration::from_millis(900)));
        assert_eq!(error.to_string(), "HTTP 429 RATE_LIMITED: slow down");
        assert_eq!(Error::NotSignedIn.code(), None);
    }
}
