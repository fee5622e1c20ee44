//! Client frames: `ClientMessage::decode` never panics on any text, and a frame that decodes
//! re-encodes to one that decodes to the same message.

#![no_main]

use libfuzzer_sys::fuzz_target;
use streamit_protocol::v1::{ClientMessage, FrameError, MAX_FRAME_BYTES};

fuzz_target!(|data: &[u8]| {
    let text = utf8_prefix(data);
    let Ok(message) = ClientMessage::decode(text) else {
        return;
    };
    let encoded = message.encode();
    match ClientMessage::decode(&encoded) {
        Ok(again) => assert_eq!(again, message, "re-decoding {encoded}"),
        // Encoding may lengthen a frame near the limit (`"data"` added, `4` written `4.0`).
        Err(e) if encoded.len() > MAX_FRAME_BYTES && matches!(e.error, FrameError::TooLarge(_)) => {
        }
        Err(e) => panic!("the encoding of {message:?} does not decode: {e}; {encoded}"),
    }
});

/// The input's longest valid UTF-8 prefix, so no input is wasted.
fn utf8_prefix(data: &[u8]) -> &str {
    std::str::from_utf8(data).unwrap_or_else(|e| {
        std::str::from_utf8(&data[..e.valid_up_to()]).expect("valid up to there")
    })
}
