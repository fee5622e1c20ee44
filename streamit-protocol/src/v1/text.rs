//! Validated strings: names, chat lines, e-mail addresses, and secrets.
//!
//! Each type checks its rule when it is built or deserialized, so a value of the type is always
//! valid. Secrets (`Password`, `RoomPassword`, `AccessToken`, `RefreshToken`) print as
//! `<redacted>` in `Debug`, so logging a request body can never leak one.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use icu_properties::props::{BidiControl, DefaultIgnorableCodePoint, GeneralCategory, JoinControl};
use icu_properties::{
    CodePointMapData, CodePointMapDataBorrowed, CodePointSetData, CodePointSetDataBorrowed,
};
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
    /// Holds a character that shows nothing or reorders the text around it: a bidirectional
    /// control in names and chat; in names also other format characters (but the joiners),
    /// private-use code points, and line or paragraph separators.
    #[error("must not contain invisible or direction-changing characters")]
    InvisibleCharacter,
    /// Has no visible character: only default-ignorable code points (fillers, joiners, variation
    /// selectors) and spaces, so it would show as a blank.
    #[error("must contain a visible character")]
    NothingVisible,
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

/// Unicode's General_Category of every code point, from the data compiled into `icu_properties`.
const GENERAL_CATEGORY: CodePointMapDataBorrowed<'static, GeneralCategory> =
    CodePointMapData::<GeneralCategory>::new();
/// U+061C, U+200E, U+200F, U+202A–202E, U+2066–2069: marks, embeddings, overrides and isolates
/// that change the direction of the text after them.
const BIDI_CONTROL: CodePointSetDataBorrowed<'static> = CodePointSetData::new::<BidiControl>();
/// ZWNJ and ZWJ: format characters that real scripts (Persian, Indic) and emoji sequences need.
const JOIN_CONTROL: CodePointSetDataBorrowed<'static> = CodePointSetData::new::<JoinControl>();
/// Code points a renderer shows as nothing when it has no glyph for them (fillers, joiners,
/// variation selectors, format characters).
const DEFAULT_IGNORABLE: CodePointSetDataBorrowed<'static> =
    CodePointSetData::new::<DefaultIgnorableCodePoint>();

/// Whether a name must not hold `c` anywhere: it shows nothing, breaks the line, or reorders
/// what others see around it (the names are shown to everyone). Unassigned code points are not
/// refused: which ones are unassigned depends on the Unicode data a build carries, and a client
/// built with older data must still decode a name a newer server accepted.
fn hidden_in_name(c: char) -> bool {
    if JOIN_CONTROL.contains(c) {
        return false;
    }
    BIDI_CONTROL.contains(c)
        || matches!(
            GENERAL_CATEGORY.get(c),
            GeneralCategory::Format
                | GeneralCategory::PrivateUse
                | GeneralCategory::Surrogate
                | GeneralCategory::LineSeparator
                | GeneralCategory::ParagraphSeparator
        )
}

/// Whether `c` shows something by itself.
fn visible(c: char) -> bool {
    !c.is_whitespace() && !DEFAULT_IGNORABLE.contains(c)
}

/// Which characters a type refuses, beyond its length.
#[derive(Clone, Copy)]
enum Chars {
    /// Names everyone sees: no control or hidden character (`hidden_in_name`), and at least one
    /// visible character, so a name can neither disguise itself nor the text beside it.
    Name,
    /// Chat lines: newline and tab but no other control character, and no bidirectional control
    /// (it would reorder the line as others read it). Terminal clients print chat verbatim.
    Chat,
    /// No control characters (addresses, tokens).
    NoControls,
    /// Anything (passwords, taken as typed).
    Any,
}

impl Chars {
    /// Why `c` may not appear anywhere in the text, if it may not.
    fn refusal(self, c: char) -> Option<TextError> {
        let control = match self {
            Self::Chat => c.is_control() && c != '\n' && c != '\t',
            Self::Name | Self::NoControls => c.is_control(),
            Self::Any => false,
        };
        let hidden = match self {
            Self::Name => hidden_in_name(c),
            Self::Chat => BIDI_CONTROL.contains(c),
            Self::NoControls | Self::Any => false,
        };
        if control {
            Some(TextError::ControlCharacter)
        } else if hidden {
            Some(TextError::InvisibleCharacter)
        } else {
            None
        }
    }

    fn check(self, text: &str) -> Result<(), TextError> {
        if let Some(refused) = text.chars().find_map(|c| self.refusal(c)) {
            return Err(refused);
        }
        if matches!(self, Self::Name) && !text.chars().any(visible) {
            return Err(TextError::NothingVisible);
        }
        Ok(())
    }

    /// `text` with each refused character replaced by U+FFFD, and a name with nothing visible
    /// replaced by a lone U+FFFD: the same length or shorter, so the result passes wherever the
    /// characters alone failed.
    fn repair(self, text: &str) -> String {
        let repaired: String = text
            .chars()
            .map(|c| match self.refusal(c) {
                Some(_) => char::REPLACEMENT_CHARACTER,
                None => c,
            })
            .collect();
        if matches!(self, Self::Name) && !repaired.chars().any(visible) {
            return char::REPLACEMENT_CHARACTER.to_string();
        }
        repaired
    }
}

/// The rule of one text type.
struct Rule {
    trim: bool,
    min: usize,
    max: usize,
    chars: Chars,
    lowercase: bool,
    check: fn(&str) -> Result<(), TextError>,
}

impl Rule {
    fn trimmed<'a>(&self, raw: &'a str) -> &'a str {
        if self.trim { raw.trim() } else { raw }
    }

    /// Checks the text as it will be kept: lower-casing comes first, since it can lengthen a
    /// text (`İ` becomes `i` and a combining dot), and a value kept must decode again.
    fn apply(&self, raw: &str) -> Result<String, TextError> {
        let trimmed = self.trimmed(raw);
        let text = if self.lowercase {
            trimmed.to_lowercase()
        } else {
            trimmed.to_owned()
        };
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
        self.chars.check(&text)?;
        (self.check)(&text)?;
        Ok(text)
    }

    fn apply_lossy(&self, raw: &str) -> Result<String, TextError> {
        self.apply(&self.chars.repair(self.trimmed(raw)))
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
    /// A person's display name: trimmed, 1 to 32 characters, at least one of them visible, none
    /// of them a control, invisible or direction-changing character (everyone sees the name, so
    /// it may neither disguise itself nor reorder the text shown beside it).
    DisplayName,
    Rule { trim: true, min: 1, max: MAX_DISPLAY_NAME_CHARS, chars: Chars::Name, lowercase: false, check: no_check },
    debug = plain,
    schema = {
        "description": "A display name: trimmed, 1 to 32 characters, at least one of them visible; no control characters, no bidirectional controls, no other format characters except ZWJ and ZWNJ, no private-use code points, no line or paragraph separators.",
        "type": "string", "minLength": 1, "maxLength": MAX_DISPLAY_NAME_CHARS
    }
}

text_type! {
    /// A room's name: trimmed, 1 to 64 characters, at least one of them visible, none of them a
    /// control, invisible or direction-changing character (as for [`DisplayName`]).
    RoomName,
    Rule { trim: true, min: 1, max: MAX_ROOM_NAME_CHARS, chars: Chars::Name, lowercase: false, check: no_check },
    debug = plain,
    schema = {
        "description": "A room name: trimmed, 1 to 64 characters, at least one of them visible; no control characters, no bidirectional controls, no other format characters except ZWJ and ZWNJ, no private-use code points, no line or paragraph separators.",
        "type": "string", "minLength": 1, "maxLength": MAX_ROOM_NAME_CHARS
    }
}

text_type! {
    /// A chat line: trimmed, 1 to 500 characters; newlines and tabs allowed, other control
    /// characters and bidirectional controls refused (terminal clients print chat verbatim, and
    /// a direction override would reorder the line as others read it).
    ChatText,
    Rule { trim: true, min: 1, max: MAX_CHAT_CHARS, chars: Chars::Chat, lowercase: false, check: no_check },
    debug = plain,
    schema = {
        "description": "A chat line: trimmed, 1 to 500 characters; no control characters but newline and tab, no bidirectional controls.",
        "type": "string", "minLength": 1, "maxLength": MAX_CHAT_CHARS
    }
}

/// `new_lossy` for the types whose character rule has tightened since text was first stored.
macro_rules! lossy {
    ($($name:ident),+) => {$(
        impl $name {
            /// Like [`new`](Self::new), but each character the rule refuses becomes U+FFFD, and
            /// a name with nothing visible becomes a lone U+FFFD, as
            /// `String::from_utf8_lossy` repairs bytes.
            ///
            /// For reading back text stored under an earlier, looser rule: one such name must
            /// not make every listing that shows it fail.
            ///
            /// # Errors
            /// When the repaired text still breaks the rule (empty, or too long).
            pub fn new_lossy(raw: &str) -> Result<Self, TextError> {
                Self::RULE.apply_lossy(raw).map(Self)
            }
        }
    )+};
}

lossy!(DisplayName, RoomName, ChatText);

text_type! {
    /// An e-mail address: trimmed and lower-cased, so one mailbox is one account.
    Email,
    Rule { trim: true, min: 3, max: MAX_EMAIL_CHARS, chars: Chars::NoControls, lowercase: true, check: check_email },
    debug = plain,
    schema = {
        "description": "An e-mail address; trimmed and lower-cased by the server.",
        "type": "string", "format": "email", "maxLength": MAX_EMAIL_CHARS
    }
}

text_type! {
    /// An account password: 8 to 256 characters, taken as typed (never trimmed).
    Password,
    Rule { trim: false, min: MIN_PASSWORD_CHARS, max: MAX_PASSWORD_CHARS, chars: Chars::Any, lowercase: false, check: no_check },
    debug = redacted,
    schema = {
        "description": "An account password: 8 to 256 characters, taken as typed.",
        "type": "string", "minLength": MIN_PASSWORD_CHARS, "maxLength": MAX_PASSWORD_CHARS
    }
}

text_type! {
    /// A room's password: 1 to 256 characters, taken as typed.
    RoomPassword,
    Rule { trim: false, min: 1, max: MAX_PASSWORD_CHARS, chars: Chars::Any, lowercase: false, check: no_check },
    debug = redacted,
    schema = {
        "description": "A room password: 1 to 256 characters, taken as typed.",
        "type": "string", "minLength": 1, "maxLength": MAX_PASSWORD_CHARS
    }
}

text_type! {
    /// An access token (a JWT), sent as `Authorization: Bearer` or `?token=`.
    AccessToken,
    Rule { trim: false, min: 1, max: MAX_TOKEN_CHARS, chars: Chars::NoControls, lowercase: false, check: no_check },
    debug = redacted,
    schema = {
        "description": "An access token (JWT).",
        "type": "string", "minLength": 1, "maxLength": MAX_TOKEN_CHARS
    }
}

text_type! {
    /// A refresh token: opaque, single use, exchanged for a new pair.
    RefreshToken,
    Rule { trim: false, min: 1, max: MAX_TOKEN_CHARS, chars: Chars::NoControls, lowercase: false, check: no_check },
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
    fn names_refuse_direction_changes() {
        for bidi in [
            '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}', '\u{2066}', '\u{2067}',
            '\u{2068}', '\u{2069}', '\u{200E}', '\u{200F}', '\u{061C}',
        ] {
            let name = format!("{bidi}evil");
            assert_eq!(
                DisplayName::new(&name),
                Err(TextError::InvisibleCharacter),
                "{bidi:?}"
            );
            assert_eq!(
                RoomName::new(&format!("room {bidi}x")),
                Err(TextError::InvisibleCharacter),
                "{bidi:?}"
            );
        }
    }

    #[test]
    fn names_refuse_other_format_characters() {
        // Zero-width space, word joiner, byte-order mark, soft hyphen, a tag character.
        for format in ['\u{200B}', '\u{2060}', '\u{FEFF}', '\u{00AD}', '\u{E0041}'] {
            let name = format!("Ad{format}a");
            assert_eq!(
                DisplayName::new(&name),
                Err(TextError::InvisibleCharacter),
                "{format:?}"
            );
        }
        assert_eq!(
            DisplayName::new("\u{200B}\u{200B}"),
            Err(TextError::InvisibleCharacter)
        );
    }

    #[test]
    fn names_refuse_private_use_code_points() {
        for code_point in ['\u{E000}', '\u{F8FF}', '\u{F0000}', '\u{10FFFD}'] {
            assert_eq!(
                DisplayName::new(&format!("a{code_point}")),
                Err(TextError::InvisibleCharacter),
                "private use {code_point:?}"
            );
        }
    }

    #[test]
    fn names_refuse_line_and_paragraph_separators() {
        for separator in ['\u{2028}', '\u{2029}'] {
            assert_eq!(
                DisplayName::new(&format!("one{separator}two")),
                Err(TextError::InvisibleCharacter),
                "{separator:?}"
            );
        }
    }

    #[test]
    fn names_need_something_visible() {
        // Hangul fillers, variation selectors, a lone joiner, a combining grapheme joiner.
        for blank in [
            "\u{3164}",
            "\u{115F}\u{1160}",
            "\u{FFA0}",
            "\u{FE0F}",
            "\u{200D}",
            "\u{200C}\u{200D}",
            "\u{034F}",
            "\u{3164} \u{3164}",
            " \u{200D} ",
        ] {
            assert_eq!(
                DisplayName::new(blank),
                Err(TextError::NothingVisible),
                "{blank:?}"
            );
            assert_eq!(
                RoomName::new(blank),
                Err(TextError::NothingVisible),
                "{blank:?}"
            );
        }
        assert_eq!(DisplayName::new(" \u{3000} "), Err(TextError::Empty));
    }

    #[test]
    fn names_keep_joiners_that_scripts_and_emoji_need() {
        for name in [
            "👨\u{200D}👩\u{200D}👧",
            "❤\u{FE0F}",
            "1\u{FE0F}\u{20E3}",
            "🏳\u{FE0F}\u{200D}🌈",
            "Sara\u{FE0E}",
            // Persian "mi-khaham" and Hindi with ZWNJ; Malayalam chillu with ZWJ.
            "می\u{200C}خواهم",
            "क\u{094D}\u{200C}ष",
            "ന\u{0D4D}\u{200D}",
            "Zoë 🎬",
            "שלום",
            "مریم",
        ] {
            assert_eq!(
                DisplayName::new(name).map(DisplayName::into_string),
                Ok(name.to_owned()),
                "{name:?}"
            );
            assert!(RoomName::new(name).is_ok(), "{name:?}");
        }
    }

    #[test]
    fn chat_refuses_direction_changes_only() {
        for bidi in ['\u{202E}', '\u{2067}', '\u{200F}', '\u{061C}'] {
            let refused = ChatText::new(&format!("see {bidi}txt.exe")).unwrap_err();
            assert_eq!(refused, TextError::InvisibleCharacter, "{bidi:?}");
            assert_eq!(refused.chat_code(), ErrorCode::InvalidMessage);
        }
        for line in ["a\u{200B}b", "👨\u{200D}👩\u{200D}👧", "x\ty\nz"] {
            assert!(ChatText::new(line).is_ok(), "{line:?}");
        }
    }

    #[test]
    fn lossy_repairs_what_an_older_rule_stored() {
        let name = DisplayName::new_lossy("\u{202E}evil").unwrap();
        assert_eq!(name.as_str(), "\u{FFFD}evil");
        assert_eq!(
            DisplayName::new_lossy("\u{3164}").unwrap().as_str(),
            "\u{FFFD}"
        );
        assert_eq!(
            RoomName::new_lossy("a\u{200B}\u{200B}").unwrap().as_str(),
            "a\u{FFFD}\u{FFFD}"
        );
        assert_eq!(
            ChatText::new_lossy(" hi \u{202E}there ").unwrap().as_str(),
            "hi \u{FFFD}there"
        );
        assert_eq!(DisplayName::new_lossy("Ada").unwrap().as_str(), "Ada");
        assert_eq!(
            DisplayName::new_lossy(&"x".repeat(33)),
            Err(TextError::TooLong(32))
        );
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

    #[test]
    fn an_email_is_measured_as_kept_so_it_decodes_again() {
        // U+0130 lower-cases to two characters: 240 of them make 480 once kept.
        let long = format!("{}@example.com", "\u{130}".repeat(240));
        assert_eq!(Email::new(&long), Err(TextError::TooLong(MAX_EMAIL_CHARS)));
        let short = format!("{}@example.com", "\u{130}".repeat(10));
        let kept = Email::new(&short).unwrap();
        assert_eq!(Email::new(kept.as_str()), Ok(kept.clone()));
        let json = serde_json::to_string(&kept).unwrap();
        assert_eq!(serde_json::from_str::<Email>(&json).unwrap(), kept);
    }
}
