//! Why a room's socket closed: [`Close`], the server's close frame as it came, with its code as
//! a [`CloseStatus`] that keeps codes newer than this library instead of dropping them.

use std::fmt;

use streamit_protocol::v1::CloseCode;

/// A close frame's status code: one of the protocol's [`CloseCode`]s, or a number this library
/// does not know (a newer server's code, or a proxy's).
///
/// Unknown codes are kept because the protocol asks clients to show them to the user rather
/// than guess (protocol §3, "Compatibility policy"); the session does not reconnect after one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CloseStatus {
    /// A code of the protocol.
    Known(CloseCode),
    /// A code this library does not know, as sent.
    Unknown(u16),
}

impl CloseStatus {
    /// What the close means to the person in the room, in a few words ("you were kicked by
    /// the host"), for apps that show it; the code itself is for the curious.
    pub const fn meaning(self) -> &'static str {
        let Self::Known(code) = self else {
            return "the server closed the connection with a code this client does not know";
        };
        match code {
            CloseCode::Normal => "you left the room",
            CloseCode::GoingAway | CloseCode::ServiceRestart => "the server is restarting",
            CloseCode::InternalError => "the server failed",
            CloseCode::Unauthorized => "your login ended",
            CloseCode::NotApproved => "you are not an approved member",
            CloseCode::RoomNotFound => "the room does not exist",
            CloseCode::Banned => "you were banned from the room",
            CloseCode::RoomClosed => "the room was closed",
            CloseCode::Kicked => "you were kicked by the host",
            CloseCode::TooSlow => "this client fell behind the room",
            _ => "the server closed the connection",
        }
    }

    /// Reads a close frame's code.
    pub const fn from_u16(code: u16) -> Self {
        match CloseCode::from_u16(code) {
            Some(known) => Self::Known(known),
            None => Self::Unknown(code),
        }
    }

    /// The number on the wire.
    pub const fn as_u16(self) -> u16 {
        match self {
            Self::Known(code) => code.as_u16(),
            Self::Unknown(code) => code,
        }
    }

    /// The protocol's code, when this library knows it.
    pub const fn known(self) -> Option<CloseCode> {
        match self {
            Self::Known(code) => Some(code),
            Self::Unknown(_) => None,
        }
    }

    /// Whether connecting again as-is can succeed: [`CloseCode::can_reconnect`] for known
    /// codes; false for unknown ones, which the protocol says not to retry on their own.
    pub const fn can_reconnect(self) -> bool {
        match self {
            Self::Known(code) => code.can_reconnect(),
            Self::Unknown(_) => false,
        }
    }
}

impl From<CloseCode> for CloseStatus {
    fn from(code: CloseCode) -> Self {
        Self::Known(code)
    }
}

impl PartialEq<CloseCode> for CloseStatus {
    fn eq(&self, other: &CloseCode) -> bool {
        *self == Self::Known(*other)
    }
}

impl fmt::Display for CloseStatus {
    /// `4011 (Kicked)`, or `4999 (unknown)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Known(code) => code.fmt(f),
            Self::Unknown(code) => write!(f, "{code} (unknown)"),
        }
    }
}

/// How a room's socket was closed: the close frame's code and reason.
///
/// The session also reports its own ends this way: `1000` with no reason after
/// [`RoomSession::close`](crate::RoomSession::close), `4001` when there is no login left to
/// connect with.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Close {
    /// The close code.
    pub code: CloseStatus,
    /// The frame's reason text, as the server wrote it; often empty. For people and logs
    /// (beside an unknown code it may be all there is to show), not for matching.
    pub reason: String,
}

impl Close {
    /// A close with `code` and `reason`.
    pub fn new(code: impl Into<CloseStatus>, reason: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            reason: reason.into(),
        }
    }
}

impl From<CloseCode> for Close {
    /// A close with a known code and no reason.
    fn from(code: CloseCode) -> Self {
        Self::new(code, String::new())
    }
}

impl fmt::Display for Close {
    /// The code, then the reason in quotes when there is one: `4999 (unknown) "maintenance"`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.code)?;
        if !self.reason.is_empty() {
            write!(f, " {:?}", self.reason)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_codes_are_kept_and_not_retried() {
        assert_eq!(
            CloseStatus::from_u16(4011),
            CloseStatus::Known(CloseCode::Kicked)
        );
        assert_eq!(CloseStatus::from_u16(4011), CloseCode::Kicked);
        let newer = CloseStatus::from_u16(4999);
        assert_eq!(newer, CloseStatus::Unknown(4999));
        assert_eq!((newer.as_u16(), newer.known()), (4999, None));
        assert!(!newer.can_reconnect());
        assert!(CloseStatus::from_u16(1012).can_reconnect());
        assert_eq!(newer.to_string(), "4999 (unknown)");
        assert_eq!(
            Close::new(newer, "maintenance").to_string(),
            "4999 (unknown) \"maintenance\""
        );
        assert_eq!(Close::from(CloseCode::Kicked).to_string(), "4011 (Kicked)");
    }
}
