//! The codes a client acts on: `ErrorCode` (HTTP bodies and WebSocket `ERROR` events) and
//! `CloseCode` (WebSocket close frames).
//!
//! Each list is written once, in a macro that derives the wire spelling, the HTTP status or
//! reconnect rule, the serde impls and the schema from it.

use std::borrow::Cow;
use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

macro_rules! error_codes {
    ($($(#[doc = $doc:literal])+ $variant:ident = $wire:literal, $status:literal;)+) => {
        /// Every error code of protocol v1, in `SCREAMING_SNAKE_CASE` on the wire.
        ///
        /// New codes may appear within v1; an older client decodes them as
        /// [`ErrorCode::Unknown`] and should act on the HTTP status, or on a WebSocket treat
        /// them as a refusal of its request.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum ErrorCode {
            $($(#[doc = $doc])+ $variant,)+
            /// A code newer than this library.
            Unknown,
        }

        impl ErrorCode {
            /// Every code this library knows, in declaration order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The HTTP status this code answers with.
            pub const fn http_status(self) -> u16 {
                match self {
                    $(Self::$variant => $status,)+
                    Self::Unknown => 500,
                }
            }

            /// The wire spelling, e.g. `"ROOM_NOT_FOUND"`.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $wire,)+
                    Self::Unknown => "UNKNOWN",
                }
            }

            /// Reads a wire spelling; codes this library does not know become `Unknown`.
            pub fn from_wire(s: &str) -> Self {
                match s {
                    $($wire => Self::$variant,)+
                    _ => Self::Unknown,
                }
            }
        }

        impl JsonSchema for ErrorCode {
            fn schema_name() -> Cow<'static, str> {
                "ErrorCode".into()
            }

            fn json_schema(_: &mut SchemaGenerator) -> Schema {
                json_schema!({
                    "description": "An error code. Clients must accept codes they do not know and act on the HTTP status.",
                    "type": "string",
                    "enum": [$($wire),+]
                })
            }
        }
    };
}

error_codes! {
    /// A body, query or field is malformed or out of range; `details.field` names it.
    InvalidInput = "INVALID_INPUT", 400;
    /// The e-mail address already has an account.
    EmailTaken = "EMAIL_TAKEN", 409;
    /// Unknown e-mail or wrong password; the two are never told apart.
    InvalidCredentials = "INVALID_CREDENTIALS", 401;
    /// No valid access token: missing, malformed, expired or revoked.
    Unauthorized = "UNAUTHORIZED", 401;
    /// A refresh token that is expired, revoked or already spent.
    InvalidToken = "INVALID_TOKEN", 401;
    /// Too many requests or chat lines; `retry_after_ms` says when to try again.
    RateLimited = "RATE_LIMITED", 429;
    /// No room has that code.
    RoomNotFound = "ROOM_NOT_FOUND", 404;
    /// The room expired or was deleted; it never comes back.
    RoomClosed = "ROOM_CLOSED", 410;
    /// The room's password does not match.
    WrongPassword = "WRONG_PASSWORD", 403;
    /// The host banned this user from the room.
    Banned = "BANNED", 403;
    /// The caller is not an approved member of the room.
    NotAMember = "NOT_A_MEMBER", 403;
    /// Only the host may do this.
    NotHost = "NOT_HOST", 403;
    /// No pending join request for that user.
    NotPending = "NOT_PENDING", 404;
    /// The user a host action names is not in the room, or not online where it must be.
    UserNotFound = "USER_NOT_FOUND", 404;
    /// Something inside `media` is wrong; `details.field` names it.
    InvalidMedia = "INVALID_MEDIA", 400;
    /// No watch progress is saved for that media.
    NoProgress = "NO_PROGRESS", 404;
    /// A playback change named an `expected_version` that is no longer current.
    VersionConflict = "VERSION_CONFLICT", 409;
    /// A WebSocket frame that is not valid JSON, or whose `data` does not fit its type.
    InvalidMessage = "INVALID_MESSAGE", 400;
    /// A WebSocket frame whose `type` the server does not know.
    UnknownEvent = "UNKNOWN_EVENT", 400;
    /// A chat line over 500 characters.
    MessageTooLong = "MESSAGE_TOO_LONG", 400;
    /// The host turned chat off.
    ChatDisabled = "CHAT_DISABLED", 403;
    /// The host muted this user.
    Muted = "MUTED", 403;
    /// The same chat line from the same user within 3 seconds.
    DuplicateMessage = "DUPLICATE_MESSAGE", 409;
    /// No such path.
    NotFound = "NOT_FOUND", 404;
    /// The path exists, but not with this method.
    MethodNotAllowed = "METHOD_NOT_ALLOWED", 405;
    /// The body is over 64 KiB.
    PayloadTooLarge = "PAYLOAD_TOO_LARGE", 413;
    /// The body is not `application/json`.
    UnsupportedMediaType = "UNSUPPORTED_MEDIA_TYPE", 415;
    /// The request line (method, path and query) is over 64 KiB.
    UriTooLong = "URI_TOO_LONG", 414;
    /// The request's header fields are too many (over 100) or too large together.
    HeadersTooLarge = "HEADERS_TOO_LARGE", 431;
    /// A browser page on an origin the server does not allow tried to open a WebSocket.
    OriginNotAllowed = "ORIGIN_NOT_ALLOWED", 403;
    /// A standing limit is reached (`details.limit` names it, `details.max` gives its value):
    /// open rooms per host, pending join requests per room. It lifts when something closes,
    /// not with time.
    LimitReached = "LIMIT_REACHED", 403;
    /// A service the server needs (database, Redis) does not answer.
    Unavailable = "UNAVAILABLE", 503;
    /// The server failed; the message is generic and the cause is in the server's log.
    Internal = "INTERNAL", 500;
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ErrorCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ErrorCode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Self::from_wire(&Cow::<'de, str>::deserialize(
            deserializer,
        )?))
    }
}

macro_rules! close_codes {
    ($($(#[doc = $doc:literal])+ $variant:ident = $code:literal, reconnect: $reconnect:literal;)+) => {
        /// WebSocket close codes the server sends.
        ///
        /// [`CloseCode::can_reconnect`] tells a client whether connecting again can succeed
        /// without the user doing something first.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[repr(u16)]
        #[non_exhaustive]
        pub enum CloseCode {
            $($(#[doc = $doc])+ $variant = $code,)+
        }

        impl CloseCode {
            /// Every close code, in declaration order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// Reads a close frame's code; `None` for codes this library does not know.
            pub const fn from_u16(code: u16) -> Option<Self> {
                match code {
                    $($code => Some(Self::$variant),)+
                    _ => None,
                }
            }

            /// The numeric code.
            pub const fn as_u16(self) -> u16 {
                self as u16
            }

            /// Whether reconnecting as-is can succeed: true after a restart, a slow-consumer
            /// close or a server fault; false when the room, the membership or the input is
            /// the problem. After 4001 a client may refresh its token once and try again.
            pub const fn can_reconnect(self) -> bool {
                match self {
                    $(Self::$variant => $reconnect,)+
                }
            }
        }

        impl JsonSchema for CloseCode {
            fn schema_name() -> Cow<'static, str> {
                "CloseCode".into()
            }

            fn json_schema(_: &mut SchemaGenerator) -> Schema {
                json_schema!({
                    "description": "A WebSocket close code the server sends (not part of any JSON body; listed for clients).",
                    "type": "integer",
                    "enum": [$($code),+]
                })
            }
        }
    };
}

close_codes! {
    /// Normal closure.
    Normal = 1000, reconnect: false;
    /// The server is going away without a restart planned.
    GoingAway = 1001, reconnect: true;
    /// The client broke the WebSocket protocol (RFC 6455), such as an unmasked frame or a
    /// continuation with nothing to continue.
    ProtocolError = 1002, reconnect: false;
    /// A text frame that is not valid UTF-8.
    InvalidPayload = 1007, reconnect: false;
    /// Repeated malformed input.
    PolicyViolation = 1008, reconnect: false;
    /// A frame over 16 KiB.
    MessageTooBig = 1009, reconnect: false;
    /// The server hit an unexpected condition.
    InternalError = 1011, reconnect: true;
    /// The server is restarting; reconnect.
    ServiceRestart = 1012, reconnect: true;
    /// The token is missing, invalid or expired, or its login was logged out.
    Unauthorized = 4001, reconnect: false;
    /// Not an approved member of the room.
    NotApproved = 4003, reconnect: false;
    /// No such room.
    RoomNotFound = 4004, reconnect: false;
    /// Banned from the room.
    Banned = 4009, reconnect: false;
    /// The room expired or was deleted.
    RoomClosed = 4010, reconnect: false;
    /// Kicked by the host; join again over REST before reconnecting.
    Kicked = 4011, reconnect: false;
    /// Too slow to keep up with the room, or flooding it.
    TooSlow = 4029, reconnect: true;
}

impl Serialize for CloseCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u16(self.as_u16())
    }
}

impl<'de> Deserialize<'de> for CloseCode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = u16::deserialize(deserializer)?;
        Self::from_u16(code)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown close code {code}")))
    }
}

impl fmt::Display for CloseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({self:?})", self.as_u16())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn error_codes_round_trip_and_unknown_ones_survive() {
        for &code in ErrorCode::ALL {
            let wire = serde_json::to_value(code).unwrap();
            assert_eq!(wire, json!(code.as_str()));
            assert_eq!(serde_json::from_value::<ErrorCode>(wire).unwrap(), code);
        }
        let newer: ErrorCode = serde_json::from_value(json!("SOMETHING_NEW")).unwrap();
        assert_eq!(newer, ErrorCode::Unknown);
    }

    #[test]
    fn error_statuses_match_the_protocol() {
        assert_eq!(ErrorCode::RoomNotFound.http_status(), 404);
        assert_eq!(ErrorCode::RoomClosed.http_status(), 410);
        assert_eq!(ErrorCode::EmailTaken.http_status(), 409);
        assert_eq!(ErrorCode::RateLimited.http_status(), 429);
        assert_eq!(ErrorCode::WrongPassword.http_status(), 403);
        assert_eq!(ErrorCode::InvalidCredentials.http_status(), 401);
        assert_eq!(ErrorCode::PayloadTooLarge.http_status(), 413);
        assert_eq!(ErrorCode::UnsupportedMediaType.http_status(), 415);
    }

    #[test]
    fn close_codes_know_when_to_reconnect() {
        for &code in CloseCode::ALL {
            assert_eq!(CloseCode::from_u16(code.as_u16()), Some(code));
        }
        assert!(CloseCode::ServiceRestart.can_reconnect());
        assert!(CloseCode::TooSlow.can_reconnect());
        for terminal in [4001, 4003, 4004, 4009, 4010, 4011, 1002, 1007, 1008, 1009] {
            let code = CloseCode::from_u16(terminal).unwrap();
            assert!(!code.can_reconnect(), "{code}");
        }
        assert_eq!(CloseCode::from_u16(4999), None);
    }
}
