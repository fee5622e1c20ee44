//! Host and moderation actions as structured events of their own target
//! (`streamit_server::audit`): room, actor, subject (the user acted on) and action, so
//! operators can keep or ship them apart from the rest of the log. The user acted on is
//! `subject`, not `target`: JSON log lines already use `target` for the event's target.

use streamit_protocol::v1::{RoomCode, UserId};

/// What a host did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Action {
    Create,
    Delete,
    Approve,
    Deny,
    Kick,
    Ban,
    Mute,
    Unmute,
    TransferHost,
    SetMedia,
    ChatOn,
    ChatOff,
}

impl Action {
    fn as_str(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Delete => "delete",
            Self::Approve => "approve",
            Self::Deny => "deny",
            Self::Kick => "kick",
            Self::Ban => "ban",
            Self::Mute => "mute",
            Self::Unmute => "unmute",
            Self::TransferHost => "transfer_host",
            Self::SetMedia => "set_media",
            Self::ChatOn => "chat_on",
            Self::ChatOff => "chat_off",
        }
    }
}

/// Logs that `actor` did `action` in `room`, to `target` when it names a user.
pub(crate) fn record(room: RoomCode, actor: UserId, action: Action, target: Option<UserId>) {
    let action = action.as_str();
    match target {
        Some(target) => {
            tracing::info!(target: "streamit_server::audit", %room, %actor, subject = %target, action, "host action");
        }
        None => {
            tracing::info!(target: "streamit_server::audit", %room, %actor, action, "host action")
        }
    }
}
