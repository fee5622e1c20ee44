//! Keyset cursors: where the next page of a listing starts.
//!
//! A cursor holds the sort key of the last item a page showed, and the next page holds the items
//! strictly after that key. Unlike an offset, that is unmoved by items that come and go before
//! it, so paging shows every item that stays listed exactly once.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::ids::{RoomCode, UserId};
use super::limits::MAX_CURSOR_CHARS;
use super::room::PublicRoom;

/// A string that is not a cursor this server gave out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("must be a next_cursor from an earlier page, unchanged")]
pub struct CursorError;

/// Where the next page of `GET /api/rooms/public/` starts: the listing key of the last room of
/// the page before.
///
/// The listing is ordered by `(viewers, created_at_ms, code)`, all three descending, and the next
/// page holds the rooms whose key is strictly smaller. One direction for all three keeps "after"
/// a single row-value comparison, `(viewers, created_at_ms, code) < (…)`, that SQLite and
/// PostgreSQL both read the same way; mixed directions would need the expanded
/// `a < x OR (a = x AND (b < y OR …))` form. `code` only breaks ties between rooms with the same
/// viewers and creation time, so its direction is free to follow the others.
///
/// On the wire an opaque string (today base64url of `viewers.created_at_ms.CODE`); clients pass
/// back the `next_cursor` they were given and never build or read one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PublicRoomsCursor {
    viewers: u32,
    created_at_ms: u64,
    code: RoomCode,
}

impl PublicRoomsCursor {
    /// The cursor of a page whose last room is `room`.
    pub const fn after(room: &PublicRoom) -> Self {
        Self {
            viewers: room.viewers,
            created_at_ms: room.created_at_ms,
            code: room.code,
        }
    }

    /// The last room's viewers when its page was read.
    pub const fn viewers(&self) -> u32 {
        self.viewers
    }

    /// The last room's creation time, server clock, Unix epoch ms (below 2^53).
    pub const fn created_at_ms(&self) -> u64 {
        self.created_at_ms
    }

    /// The last room's code.
    pub const fn code(&self) -> RoomCode {
        self.code
    }

    fn key(&self) -> String {
        format!("{}.{}.{}", self.viewers, self.created_at_ms, self.code)
    }

    /// Reads the wire form, refusing anything but the exact spelling `Display` writes (no
    /// padding, no leading zeros or signs, an upper-case code), so one key has one cursor.
    fn decode(raw: &str) -> Result<Self, CursorError> {
        let key = key_of(raw).ok_or(CursorError)?;
        let mut parts = key.split('.');
        let (Some(viewers), Some(created_at_ms), Some(code), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(CursorError);
        };
        let cursor = Self {
            viewers: viewers.parse().map_err(|_| CursorError)?,
            created_at_ms: created_at_ms.parse().map_err(|_| CursorError)?,
            code: RoomCode::parse(code).map_err(|_| CursorError)?,
        };
        // Creation times are server clock readings, which stay below 2^53 like every integer.
        if cursor.created_at_ms >= 1 << 53 || cursor.key() != key {
            return Err(CursorError);
        }
        Ok(cursor)
    }
}

/// The wire form every cursor shares: base64url of its key (no padding), read back only from
/// the exact spelling it writes, and an opaque string in the schemas.
macro_rules! wire_cursor {
    ($cursor:ident, $description:literal) => {
        impl fmt::Display for $cursor {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&URL_SAFE_NO_PAD.encode(self.key()))
            }
        }

        impl FromStr for $cursor {
            type Err = CursorError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::decode(s)
            }
        }

        impl Serialize for $cursor {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $cursor {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let raw = Cow::<'de, str>::deserialize(deserializer)?;
                Self::decode(&raw).map_err(serde::de::Error::custom)
            }
        }

        impl JsonSchema for $cursor {
            fn schema_name() -> Cow<'static, str> {
                stringify!($cursor).into()
            }

            fn json_schema(_: &mut SchemaGenerator) -> Schema {
                json_schema!({
                    "description": $description,
                    "type": "string", "minLength": 1, "maxLength": MAX_CURSOR_CHARS
                })
            }
        }
    };
}

/// The key a cursor's wire form encodes, read back from its wire form: `None` unless `raw` is
/// base64url of UTF-8 within the cursors' length.
fn key_of(raw: &str) -> Option<String> {
    if raw.len() > MAX_CURSOR_CHARS {
        return None;
    }
    let bytes = URL_SAFE_NO_PAD.decode(raw).ok()?;
    String::from_utf8(bytes).ok()
}

wire_cursor!(
    PublicRoomsCursor,
    "Where the next page of the public listing starts: an opaque string, passed back exactly as a page's `next_cursor` gave it."
);

/// Where the next page of `GET /api/rooms/{code}/participants/` starts: the last member of the
/// page before. Members are listed by user id, so members who join or leave meanwhile move no
/// one else: every member who stays is listed exactly once. On the wire an opaque string.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ParticipantsCursor {
    user: UserId,
}

impl ParticipantsCursor {
    /// The cursor of a page whose last member is `user`.
    pub const fn after(user: UserId) -> Self {
        Self { user }
    }

    /// The last member of the page before.
    pub const fn user(&self) -> UserId {
        self.user
    }

    fn key(&self) -> String {
        self.user.to_string()
    }

    /// Reads the wire form, refusing anything but the exact spelling `Display` writes.
    fn decode(raw: &str) -> Result<Self, CursorError> {
        let key = key_of(raw).ok_or(CursorError)?;
        let user: UserId = key.parse().map_err(|_| CursorError)?;
        let cursor = Self { user };
        if cursor.key() != key {
            return Err(CursorError);
        }
        Ok(cursor)
    }
}

wire_cursor!(
    ParticipantsCursor,
    "Where the next page of a room's participants starts: an opaque string, passed back exactly as a page's `next_cursor` gave it."
);

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cursor(viewers: u32, created_at_ms: u64, code: &str) -> PublicRoomsCursor {
        PublicRoomsCursor {
            viewers,
            created_at_ms,
            code: RoomCode::parse(code).unwrap(),
        }
    }

    fn encoded(key: &str) -> String {
        URL_SAFE_NO_PAD.encode(key)
    }

    #[test]
    fn round_trips_as_an_opaque_url_safe_string() {
        let at = cursor(12, 1_700_000_000_000, "ABCD2345");
        let wire = serde_json::to_value(at).unwrap();
        assert_eq!(wire, json!(encoded("12.1700000000000.ABCD2345")));
        let text = wire.as_str().unwrap().to_owned();
        assert!(
            text.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
            "{text}"
        );
        assert_eq!(
            serde_json::from_value::<PublicRoomsCursor>(wire).unwrap(),
            at
        );
        assert_eq!(text.parse::<PublicRoomsCursor>(), Ok(at));
        let largest = cursor(u32::MAX, (1 << 53) - 1, "ZZZZ9999");
        let text = largest.to_string();
        assert!(text.len() <= MAX_CURSOR_CHARS, "{text}");
        assert_eq!(text.parse(), Ok(largest));
    }

    #[test]
    fn refuses_anything_it_did_not_write() {
        let refused = [
            String::new(),
            "not a cursor".to_owned(),
            "!!!!".to_owned(),
            format!("{}=", encoded("1.2.ABCD2345")),
            encoded("1.2"),
            encoded("1.2.ABCD2345.4"),
            encoded("-1.2.ABCD2345"),
            encoded("+1.2.ABCD2345"),
            encoded("01.2.ABCD2345"),
            encoded("1.02.ABCD2345"),
            encoded("4294967296.2.ABCD2345"),
            encoded("1.9007199254740992.ABCD2345"),
            encoded("1.2.abcd2345"),
            encoded("1.2.ABCD234I"),
            encoded("1..ABCD2345"),
            encoded(&format!("1.2.ABCD2345{}", " ".repeat(40))),
            URL_SAFE_NO_PAD.encode([0xff, 0xfe, b'.', b'1']),
        ];
        for raw in refused {
            assert_eq!(
                raw.parse::<PublicRoomsCursor>(),
                Err(CursorError),
                "{raw:?}"
            );
            assert!(serde_json::from_value::<PublicRoomsCursor>(json!(raw)).is_err());
        }
        assert!(serde_json::from_value::<PublicRoomsCursor>(json!(5)).is_err());
    }
}
