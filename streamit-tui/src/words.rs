//! The protocol's codes in words: every refusal and close a person sees is said here, once.

use streamit_client::protocol::v1::ErrorCode;
use streamit_client::{CloseStatus, Error};

/// What an error code means to the person who caused it.
pub(crate) fn error_code(code: ErrorCode) -> &'static str {
    match code {
        ErrorCode::InvalidInput => "that input is not valid",
        ErrorCode::EmailTaken => "that e-mail address already has an account",
        ErrorCode::InvalidCredentials => "wrong e-mail or password",
        ErrorCode::Unauthorized => "you are not signed in (the login ended)",
        ErrorCode::InvalidToken => "the stored login expired; sign in again",
        ErrorCode::RateLimited => "too many requests; wait a moment",
        ErrorCode::RoomNotFound => "no room has that code",
        ErrorCode::RoomClosed => "the room is closed for good",
        ErrorCode::WrongPassword => "wrong room password",
        ErrorCode::Banned => "you are banned from this room",
        ErrorCode::NotAMember => "you are not a member of this room",
        ErrorCode::NotHost => "only the host may do that",
        ErrorCode::NotPending => "that user is not waiting to join",
        ErrorCode::UserNotFound => "that user is not in the room (or not online)",
        ErrorCode::InvalidMedia => "that media is not valid",
        ErrorCode::NoProgress => "no progress saved for that",
        ErrorCode::VersionConflict => "someone changed playback first",
        ErrorCode::InvalidMessage | ErrorCode::UnknownEvent => "the server did not understand",
        ErrorCode::MessageTooLong => "chat lines are at most 500 characters",
        ErrorCode::ChatDisabled => "the host turned chat off",
        ErrorCode::Muted => "you are muted",
        ErrorCode::DuplicateMessage => "you just said that",
        ErrorCode::LimitReached => "a limit is reached (too many rooms or join requests)",
        ErrorCode::Unavailable => "the server is unavailable; try again soon",
        ErrorCode::Internal => "the server failed",
        _ => "the server refused",
    }
}

/// Why a room's socket closed, or `None` for a lost connection.
pub(crate) fn close_code(code: Option<CloseStatus>) -> &'static str {
    code.map_or("the connection was lost", CloseStatus::meaning)
}

/// An SDK failure in words, with the protocol code for the curious.
pub(crate) fn sdk_error(error: &Error) -> String {
    match error.code() {
        Some(code) if code != ErrorCode::Unknown => format!("{} ({code})", error_code(code)),
        _ => match error {
            Error::Http(_) => format!("cannot reach the server: {error}"),
            other => other.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use streamit_client::protocol::v1::CloseCode;

    use super::*;

    #[test]
    fn every_close_code_has_words() {
        for &code in CloseCode::ALL {
            assert!(!close_code(Some(code.into())).is_empty());
        }
        assert_eq!(
            close_code(Some(CloseStatus::from_u16(4011))),
            "you were kicked by the host"
        );
        assert_eq!(close_code(None), "the connection was lost");
    }

    #[test]
    fn refusals_name_their_code() {
        assert_eq!(
            sdk_error(&Error::NotSignedIn),
            "not signed in: register, log in or sign in as a guest first"
        );
        assert_eq!(error_code(ErrorCode::WrongPassword), "wrong room password");
    }
}
