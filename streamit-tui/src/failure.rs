//! [`Failure`]: everything a command can fail with, said in words a person acts on.

use streamit_client::protocol::v1::ErrorCode;

use crate::credentials::CredentialsError;
use crate::words;

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Failure {
    /// The server or the SDK refused.
    #[error("{}", words::sdk_error(.0))]
    Sdk(#[from] streamit_client::Error),
    /// The room refused a command over its socket.
    #[error("{} ({code})", words::error_code(*.code))]
    Refused {
        /// The refusal's code.
        code: ErrorCode,
    },
    /// The stored login could not be read or written.
    #[error(transparent)]
    Credentials(#[from] CredentialsError),
    /// Something typed on the command line is not valid.
    #[error("invalid {what}: {reason}")]
    Input {
        /// Which input.
        what: &'static str,
        /// Why.
        reason: String,
    },
    /// The room's session ended before the command was done.
    #[error("the room session ended: {0}")]
    SessionEnded(&'static str),
    /// The server did not answer in time.
    #[error("no answer from the server while {0}")]
    Timeout(&'static str),
    /// The terminal could not be driven.
    #[error("terminal: {0}")]
    Terminal(#[from] std::io::Error),
}

impl Failure {
    /// An invalid input.
    pub(crate) fn input(what: &'static str, reason: impl Into<String>) -> Self {
        Self::Input {
            what,
            reason: reason.into(),
        }
    }

    /// A machine-readable code for scripts: the protocol's error code when the server
    /// refused, else a code naming the kind of failure.
    pub(crate) fn code(&self) -> &'static str {
        match self {
            Self::Sdk(error) => match error.code() {
                Some(code) if code != ErrorCode::Unknown => code.as_str(),
                _ => match error {
                    streamit_client::Error::NotSignedIn => "NOT_SIGNED_IN",
                    streamit_client::Error::PendingApproval { .. } => "PENDING_APPROVAL",
                    streamit_client::Error::Http(_) => "UNREACHABLE",
                    _ => "CLIENT_ERROR",
                },
            },
            Self::Refused { code } => code.as_str(),
            Self::Credentials(_) => "CREDENTIALS",
            Self::Input { .. } => "INVALID_INPUT",
            Self::SessionEnded(_) => "SESSION_ENDED",
            Self::Timeout(_) => "TIMEOUT",
            Self::Terminal(_) => "TERMINAL",
        }
    }
}
