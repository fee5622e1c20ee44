//! Validated strings: names, chat lines, e-mail addresses, and secrets.
//!
//! Each type checks its rule when it is built or deserialized, so a value of the type is always
//! valid. Secrets (`Password`, `RoomPassword`, `AccessToken`, `RefreshToken`) print as
//! `<redacted>` in `Debug`, so logging a request body can never leak one.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::codes::ErrorCode;
use super::limits::{
    MAX_CHAT_CHARS, MAX_DISPLAY_NAME_CHARS, MAX_EMAIL_CHARS, MAX_PASSWORD_CHARS,
    MAX_ROOM_NAME_CHARS, MAX_TOKEN_CHARS, MIN_PASSWORD_CHARS,
};

/// Why a string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    /// Empty (after trimming, for trimmed types).
    #[error("must not be empty")]
    Empty,
    /// Fewer characters than allowed.
    #[error("must have at least {0} characters")]
    TooShort(usize),
    /// More characters than allowed.
    #[error("must have at most {0} characters")]
    TooLong(usize),
    /// Holds a control character (names refuse all; chat allows newline and tab).
    #[error("must not contain control characters")]
    ControlCharacter,
    /// Breaks the type's own rule.
    #[error("{0}")]
    Invalid(&'static str),
}

impl TextError {
    /// The error code a refused chat line answers with (`MESSAGE_TOO_LONG` or `INVALID_MESSAGE`).
    pub const fn chat_code(&self) -> ErrorCode {
        match self {
            Self::TooLong(_) => ErrorCode::MessageTooLong,
            _ => ErrorCode::InvalidMessage,
        }
    }
}

/// Which control characters a type tolerates.
#[derive(Clone, Copy)]
enum Controls {
    None,
    LineBreaksAndTabs,
    Any,
}

/// The rule of one text type.
struct Rule {
    trim: bool,
    min: usize,
    max: usize,
    controls: Controls,
    lowercase: bool,
    check: fn(&str) -> Result<(), TextError>,
}

impl Rule {
    fn apply(&self, raw: &str) -> Result<String, TextError> {
        let text = if self.trim { raw.trim() } else { raw };
        if text.is_empty() {
            return Err(TextError::Empty);
        }
        let count = text.chars().count();
        if count < self.min {
            return Err(TextError::TooShort(self.min));
        }
        if count > self.max {
            return Err(TextError::TooLong(self.max));
        }
        let refused = |c: char| match self.controls {
            Controls::None => c.is_control(),
            Controls::LineBreaksAndTabs => c.is_control() && c != '\n' && c != '\t',
            Controls::Any => false,
        };
        if text.chars().any(refused) {
            return Err(TextError::ControlCharacter);
        }
        (self.check)(text)?;
        Ok(if self.lowercase {
            text.to_lowercase()
        } else {
            text.to_owned()
        })
    }
}

fn no_check(_: &str) -> Result<(), TextError> {
    Ok(())
}

fn check_email(s: &str) -> Result<(), TextError> {
    const BAD: TextError = TextError::Invalid("must be an e-mail address like name@example.com");
    let (local, domain) = s.rsplit_once('@').ok_or(BAD)?;
    let domain_ok = domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..");
    if local.is_empty() || !domain_ok || s.chars().any(char::is_whitespace) {
        return Err(BAD);
    }
    Ok(())
}

macro_rules! text_type {
    (
        $(#[$doc:meta])*
        $name:ident, $rule:expr, debug = $debug:ident, schema = $schema:tt
    ) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash)]
        pub struct $name(String);

        impl $name {
            const RULE: Rule = $rule;

            /// Checks `raw` against the type's rule (trimming first where the type trims).
            ///
            /// # Errors
            /// When the rule refuses it.
            pub fn new(raw: &str) -> Result<Self, TextError> {
                Self::RULE.apply(raw).map(Self)
            }

            /// The checked value.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The checked value, owned.
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl FromStr for $name {
            type Err = TextError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::new(s)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                text_type!(@debug $debug, self, f, $name)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let raw = Cow::<'de, str>::deserialize(deserializer)?;
                Self::new(&raw).map_err(serde::de::Error::custom)
            }
        }

        impl JsonSchema for $name {
            fn schema_name() -> Cow<'static, str> {
                stringify!($name).into()
            }

            fn json_schema(_: &mut SchemaGenerator) -> Schema {
                json_schema!($schema)
            }
        }
    };
    (@debug plain, $self:ident, $f:ident, $name:ident) => {
        write!($f, concat!(stringify!($name), "({:?})"), $self.0)
    };
    (@debug redacted, $self:ident, $f:ident, $name:ident) => {
        $f.write_str(concat!(stringify!($name), "(<redacted>)"))
    };
}

text_type! {
    /// A person's display name: trimmed, 1 to 32 characters, no control characters.
    DisplayName,
    Rule { trim: true, min: 1, max: MAX_DISPLAY_NAME_CHARS, controls: Controls::None, lowercase: false, check: no_check },
    debug = plain,
    schema = {
        "description": "A display name: trimmed, 1 to 32 characters, no control characters.",
        "type": "string", "minLength": 1, "maxLength": MAX_DISPLAY_NAME_CHARS
    }
}

text_type! {
    /// A room's name: trimmed, 1 to 64 characters, no control characters.
    RoomName,
    Rule { trim: true, min: 1, max: MAX_ROOM_NAME_CHARS, controls: Controls::None, lowercase: false, check: no_check },
    debug = plain,
    schema = {
        "description": "A room name: trimmed, 1 to 64 characters, no control characters.",
        "type": "string", "minLength": 1, "maxLength": MAX_ROOM_NAME_CHARS
    }
}

text_type! {
    /// A chat line: trimmed, 1 to 500 characters; newlines and tabs allowed, other control
    /// characters refused (terminal clients print chat verbatim).
    ChatText,
    Rule { trim: true, min: 1, max: MAX_CHAT_CHARS, controls: Controls::LineBreaksAndTabs, lowercase: false, check: no_check },
    debug = plain,
    schema = {
        "description": "A chat line: trimmed, 1 to 500 characters; no control characters but newline and tab.",
        "type": "string", "minLength": 1, "maxLength": MAX_CHAT_CHARS
    }
}

text_type! {
    /// An e-mail address: trimmed and lower-cased, so one mailbox is one account.
    Email,
    Rule { trim: true, min: 3, max: MAX_EMAIL_CHARS, controls: Controls::None, lowercase: true, check: check_email },
    debug = plain,
    schema = {
        "description": "An e-mail address; trimmed and lower-cased by the server.",
        "type": "string", "format": "email", "maxLength": MAX_EMAIL_CHARS
    }
}

text_type! {
    /// An account password: 8 to 256 characters, taken as typed (never trimmed).
    Password,
    Rule { trim: false, min: MIN_PASSWORD_CHARS, max: MAX_PASSWORD_CHARS, controls: Controls::Any, lowercase: false, check: no_check },
    debug = redacted,
    schema = {
        "description": "An account password: 8 to 256 characters, taken as typed.",
        "type": "string", "minLength": MIN_PASSWORD_CHARS, "maxLength": MAX_PASSWORD_CHARS
    }
}

text_type! {
    /// A room's password: 1 to 256 characters, taken as typed.
    RoomPassword,
    Rule { trim: false, min: 1, max: MAX_PASSWORD_CHARS, controls: Controls::Any, lowercase: false, check: no_check },
    debug = redacted,
    schema = {
        "description": "A room password: 1 to 256 characters, taken as typed.",
        "type": "string", "minLength": 1, "maxLength": MAX_PASSWORD_CHARS
    }
}

text_type! {
    /// An access token (a JWT), sent as `Authorization: Bearer` or `?token=`.
    AccessToken,
    Rule { trim: false, min: 1, max: MAX_TOKEN_CHARS, controls: Controls::None, lowercase: false, check: no_check },
    debug = redacted,
    schema = {
        "description": "An access token (JWT).",
        "type": "string", "minLength": 1, "maxLength": MAX_TOKEN_CHARS
    }
}

text_type! {
    /// A refresh token: opaque, single use, exchanged for a new pair.
    RefreshToken,
    Rule { trim: false, min: 1, max: MAX_TOKEN_CHARS, controls: Controls::None, lowercase: false, check: no_check },
    debug = redacted,
    schema = {
        "description": "A refresh token: opaque and single use.",
        "type": "string", "minLength": 1, "maxLength": MAX_TOKEN_CHARS
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(DisplayName::new("  Ada ").unwrap().as_str(), "Ada");
        assert_eq!(DisplayName::new("   "), Err(TextError::Empty));
        assert_eq!(
            DisplayName::new(&"x".repeat(33)),
            Err(TextError::TooLong(32))
        );
        assert!(
            DisplayName::new(&"é".repeat(32)).is_ok(),
            "limits count characters, not bytes"
        );
        assert_eq!(
            DisplayName::new("a\u{1b}[2J"),
            Err(TextError::ControlCharacter)
        );
        assert!(RoomName::new(&"r".repeat(64)).is_ok());
    }

    #[test]
    fn chat_text_maps_to_chat_codes() {
        assert_eq!(ChatText::new(" hi \n").unwrap().as_str(), "hi");
        assert!(ChatText::new("two\nlines").is_ok());
        let long = ChatText::new(&"x".repeat(501)).unwrap_err();
        assert_eq!(long.chat_code(), ErrorCode::MessageTooLong);
        assert_eq!(
            ChatText::new(" ").unwrap_err().chat_code(),
            ErrorCode::InvalidMessage
        );
        assert!(ChatText::new(&"x".repeat(500)).is_ok());
    }

    #[test]
    fn email_is_normalised() {
        assert_eq!(
            Email::new(" Ada@Example.COM ").unwrap().as_str(),
            "ada@example.com"
        );
        for bad in [
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "ada@.com",
            "a da@x.io",
            "a@x..io",
        ] {
            assert!(Email::new(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn secrets_never_show_in_debug() {
        let password = Password::new("correct horse").unwrap();
        assert_eq!(format!("{password:?}"), "Password(<redacted>)");
        assert_eq!(
            serde_json::to_value(&password).unwrap(),
            json!("correct horse")
        );
        assert_eq!(Password::new("short"), Err(TextError::TooShort(8)));
        assert_eq!(Password::new(" spaced  ").unwrap().as_str(), " spaced  ");
        let token: AccessToken = serde_json::from_value(json!("a.b.c")).unwrap();
        assert_eq!(format!("{token:?}"), "AccessToken(<redacted>)");
    }

    #[test]
    fn deserialize_applies_the_rule() {
        assert!(serde_json::from_value::<DisplayName>(json!("")).is_err());
        assert!(serde_json::from_value::<DisplayName>(json!(5)).is_err());
        let name: DisplayName = serde_json::from_value(json!(" Bo ")).unwrap();
        assert_eq!(name.as_str(), "Bo");
    }
}
