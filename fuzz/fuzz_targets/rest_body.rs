//! REST request bodies, through the server's own decoder (`http::request::json_body`, reached by
//! the `fuzzing` feature): the first byte picks the request type, the rest is the body.
//!
//! It never panics, refuses only with `INVALID_INPUT` or `INVALID_MEDIA`, and a body it accepts
//! serializes to one it accepts as the same value. An accepted embed request also builds its
//! embed URL, with the options the body gave.

#![no_main]

use std::fmt::Debug;

use libfuzzer_sys::fuzz_target;
use serde::Serialize;
use serde::de::DeserializeOwned;
use streamit_protocol::v1::{
    CreateRoomRequest, EmbedRequest, ErrorCode, GuestRequest, JoinRoomRequest, LoginRequest,
    LogoutRequest, RefreshRequest, RegisterRequest, RoomCodeRequest, RoomUserRequest,
    SaveProgressRequest,
};
use streamit_server::fuzzing::{decode_body, embed_url};

fuzz_target!(|data: &[u8]| {
    let Some((&kind, body)) = data.split_first() else {
        return;
    };
    match kind % 11 {
        0 => accept::<RegisterRequest>(body),
        1 => accept::<LoginRequest>(body),
        2 => accept::<GuestRequest>(body),
        3 => accept::<RefreshRequest>(body),
        4 => accept::<LogoutRequest>(body),
        5 => accept::<CreateRoomRequest>(body),
        6 => accept::<JoinRoomRequest>(body),
        7 => accept::<RoomUserRequest>(body),
        8 => accept::<RoomCodeRequest>(body),
        9 => accept::<SaveProgressRequest>(body),
        _ => {
            if let Some(request) = check::<EmbedRequest>(body) {
                let url = embed_url(&request.media, &request.options.unwrap_or_default());
                // The scheme keeps the sender's case (`HTTPS://` is a valid URL).
                let scheme = url.get(..4).map(str::to_ascii_lowercase);
                assert_eq!(scheme.as_deref(), Some("http"), "{url}");
            }
        }
    }
});

/// Checks the body, discarding the value.
fn accept<T: DeserializeOwned + Serialize + PartialEq + Debug>(body: &[u8]) {
    check::<T>(body);
}

/// Checks the body; the value when it is accepted.
fn check<T: DeserializeOwned + Serialize + PartialEq + Debug>(body: &[u8]) -> Option<T> {
    match decode_body::<T>(body) {
        Ok(value) => {
            let json = serde_json::to_vec(&value).expect("request bodies serialize");
            let again = decode_body::<T>(&json);
            assert_eq!(
                again.as_ref(),
                Ok(&value),
                "re-decoding {}",
                String::from_utf8_lossy(&json)
            );
            Some(value)
        }
        Err(code) => {
            assert!(
                matches!(code, ErrorCode::InvalidInput | ErrorCode::InvalidMedia),
                "refused with {code:?}"
            );
            None
        }
    }
}
