//! Identifiers: user and message ids (UUIDs), room codes and client request refs.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use uuid::Uuid;

use super::limits::MAX_REF_CHARS;

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(
            Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
            JsonSchema,
        )]
        #[serde(transparent)]
        #[schemars(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// Wraps a UUID.
            pub const fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }

            /// The UUID inside.
            pub const fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    };
}

uuid_id! {
    /// A user's id; on the wire a lowercase hyphenated UUID string.
    UserId
}

uuid_id! {
    /// A chat message's id; on the wire a lowercase hyphenated UUID string.
    MessageId
}

/// A room's public code: 8 characters of [`RoomCode::ALPHABET`], shown and sent in upper case.
///
/// The alphabet has no look-alikes (no `I`, `L`, `O`, `U`, `0`, `1`), so a code read aloud or
/// copied by hand survives; parsing is case-insensitive.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RoomCode([u8; RoomCode::LEN]);

/// Why a string is not a [`RoomCode`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoomCodeError {
    /// Not exactly [`RoomCode::LEN`] characters.
    #[error("a room code has {expected} characters, not {0}", expected = RoomCode::LEN)]
    Length(usize),
    /// A character outside [`RoomCode::ALPHABET`] (after upper-casing).
    #[error("{0:?} is not a room code character")]
    Character(char),
}

impl RoomCode {
    /// Characters in a code.
    pub const LEN: usize = 8;

    /// The characters codes are made of.
    pub const ALPHABET: &'static [u8; 30] = b"ABCDEFGHJKMNPQRSTVWXYZ23456789";

    /// Parses a code, ignoring case.
    ///
    /// # Errors
    /// When `s` is not 8 characters of the alphabet.
    pub fn parse(s: &str) -> Result<Self, RoomCodeError> {
        let count = s.chars().count();
        if count != Self::LEN {
            return Err(RoomCodeError::Length(count));
        }
        let mut code = [0u8; Self::LEN];
        for (slot, c) in code.iter_mut().zip(s.chars()) {
            let upper = c.to_ascii_uppercase();
            if !upper.is_ascii() || !Self::ALPHABET.contains(&(upper as u8)) {
                return Err(RoomCodeError::Character(c));
            }
            *slot = upper as u8;
        }
        Ok(Self(code))
    }

    /// Builds a code from a source of random numbers, one per character.
    ///
    /// Pure so the caller picks the randomness; a uniform `u32` gives each character a bias
    /// below 10⁻⁸.
    pub fn generate(mut random: impl FnMut() -> u32) -> Self {
        let mut code = [0u8; Self::LEN];
        for slot in &mut code {
            // The alphabet has 30 entries, so the index always fits.
            *slot = Self::ALPHABET[(random() % 30) as usize];
        }
        Self(code)
    }

    /// The code as an upper-case string slice.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("a room code holds only ASCII alphabet bytes")
    }
}

impl fmt::Display for RoomCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for RoomCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RoomCode({})", self.as_str())
    }
}

impl FromStr for RoomCode {
    type Err = RoomCodeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for RoomCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for RoomCode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = Cow::<'de, str>::deserialize(deserializer)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for RoomCode {
    fn schema_name() -> Cow<'static, str> {
        "RoomCode".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A room's code: 8 characters of ABCDEFGHJKMNPQRSTVWXYZ23456789, matched case-insensitively, sent in upper case.",
            "type": "string",
            "pattern": "^[ABCDEFGHJKMNPQRSTVWXYZ23456789abcdefghjkmnpqrstvwxyz]{8}$"
        })
    }
}

/// A client's request id (`ref`), echoed on the replies to that request; at most 64 characters.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct ClientRef(String);

/// A `ref` longer than [`MAX_REF_CHARS`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("ref has {0} characters; at most {MAX_REF_CHARS} are allowed")]
pub struct ClientRefTooLong(pub usize);

impl ClientRef {
    /// Checks the length.
    ///
    /// # Errors
    /// When `s` has more than [`MAX_REF_CHARS`] characters.
    pub fn new(s: impl Into<String>) -> Result<Self, ClientRefTooLong> {
        let s = s.into();
        match s.chars().count() {
            n if n > MAX_REF_CHARS => Err(ClientRefTooLong(n)),
            _ => Ok(Self(s)),
        }
    }

    /// The ref as sent.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for ClientRef {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Self::new(String::deserialize(deserializer)?).map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for ClientRef {
    fn schema_name() -> Cow<'static, str> {
        "ClientRef".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A client's request id, echoed on the replies to that request.",
            "type": "string",
            "maxLength": MAX_REF_CHARS
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn room_code_parses_any_case_and_prints_upper() {
        let code = RoomCode::parse("abcd2345").unwrap();
        assert_eq!(code.as_str(), "ABCD2345");
        assert_eq!(serde_json::to_value(code).unwrap(), json!("ABCD2345"));
        let back: RoomCode = serde_json::from_value(json!("AbCd2345")).unwrap();
        assert_eq!(back, code);
    }

    #[test]
    fn room_code_refuses_look_alikes_and_bad_lengths() {
        for bad in [
            "ABCD234O",
            "ABCD2341",
            "ILOU2345",
            "ABC",
            "ABCDEFGHJ",
            "",
            "ABCD234é",
        ] {
            assert!(RoomCode::parse(bad).is_err(), "{bad} should be refused");
        }
        assert_eq!(
            RoomCode::parse("ABCD234O"),
            Err(RoomCodeError::Character('O'))
        );
        assert_eq!(RoomCode::parse("ABC"), Err(RoomCodeError::Length(3)));
    }

    #[test]
    fn generated_codes_parse() {
        let mut n = 0u32;
        let code = RoomCode::generate(|| {
            n = n.wrapping_mul(2_654_435_761).wrapping_add(12_345);
            n
        });
        assert_eq!(RoomCode::parse(code.as_str()), Ok(code));
    }

    #[test]
    fn ids_are_uuid_strings() {
        let id: UserId =
            serde_json::from_value(json!("67e55044-10b1-426f-9247-bb680e5fe0c8")).unwrap();
        assert_eq!(
            serde_json::to_value(id).unwrap(),
            json!("67e55044-10b1-426f-9247-bb680e5fe0c8")
        );
        assert!(serde_json::from_value::<UserId>(json!("not-a-uuid")).is_err());
    }

    #[test]
    fn client_ref_is_bounded() {
        assert!(ClientRef::new("a".repeat(64)).is_ok());
        assert_eq!(ClientRef::new("a".repeat(65)), Err(ClientRefTooLong(65)));
    }
}
