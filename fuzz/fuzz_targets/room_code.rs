//! Room codes: `RoomCode::parse` never panics, agrees with its serde form, reports the right
//! fault, and a code that parses displays as its upper-case input and parses back to itself.

#![no_main]

use libfuzzer_sys::fuzz_target;
use streamit_protocol::v1::{RoomCode, RoomCodeError};

fuzz_target!(|data: &[u8]| {
    let text = utf8_prefix(data);
    let parsed = RoomCode::parse(text);
    match &parsed {
        Ok(code) => {
            let shown = code.to_string();
            assert_eq!(shown, text.to_ascii_uppercase());
            assert!(
                shown.bytes().all(|b| RoomCode::ALPHABET.contains(&b)),
                "{shown}"
            );
            assert_eq!(RoomCode::parse(&shown).as_ref(), Ok(code));
            assert_eq!(shown.parse::<RoomCode>().as_ref(), Ok(code));
        }
        Err(RoomCodeError::Length(n)) => {
            assert_eq!(*n, text.chars().count());
            assert_ne!(*n, RoomCode::LEN);
        }
        Err(RoomCodeError::Character(c)) => assert!(text.contains(*c), "{c:?}"),
    }
    let json = serde_json::Value::String(text.to_owned());
    let deserialized = serde_json::from_value::<RoomCode>(json);
    assert_eq!(deserialized.ok(), parsed.ok());
});

/// The input's longest valid UTF-8 prefix, so no input is wasted.
fn utf8_prefix(data: &[u8]) -> &str {
    std::str::from_utf8(data).unwrap_or_else(|e| {
        std::str::from_utf8(&data[..e.valid_up_to()]).expect("valid up to there")
    })
}
