//! A room's audit log: what its host did, kept for the room's life and readable by its host.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::ids::UserId;

/// What a host did; `SCREAMING_SNAKE_CASE` on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[non_exhaustive]
pub enum AuditAction {
    /// Created the room.
    Create,
    /// Deleted the room.
    Delete,
    /// Let a pending user in.
    Approve,
    /// Turned a pending user away.
    Deny,
    /// Removed a member, who may join again.
    Kick,
    /// Removed a member for good.
    Ban,
    /// Muted a member.
    Mute,
    /// Lifted a mute.
    Unmute,
    /// Handed the room to another member.
    TransferHost,
    /// Played other media.
    SetMedia,
    /// Turned chat on.
    ChatOn,
    /// Turned chat off.
    ChatOff,
    /// An action newer than this library.
    #[serde(other)]
    Unknown,
}

impl AuditAction {
    /// Every action this library knows.
    pub const ALL: [Self; 12] = [
        Self::Create,
        Self::Delete,
        Self::Approve,
        Self::Deny,
        Self::Kick,
        Self::Ban,
        Self::Mute,
        Self::Unmute,
        Self::TransferHost,
        Self::SetMedia,
        Self::ChatOn,
        Self::ChatOff,
    ];

    /// The wire spelling, e.g. `"TRANSFER_HOST"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Create => "CREATE",
            Self::Delete => "DELETE",
            Self::Approve => "APPROVE",
            Self::Deny => "DENY",
            Self::Kick => "KICK",
            Self::Ban => "BAN",
            Self::Mute => "MUTE",
            Self::Unmute => "UNMUTE",
            Self::TransferHost => "TRANSFER_HOST",
            Self::SetMedia => "SET_MEDIA",
            Self::ChatOn => "CHAT_ON",
            Self::ChatOff => "CHAT_OFF",
            Self::Unknown => "UNKNOWN",
        }
    }
}

/// One host action.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct AuditEvent {
    /// When, server clock, Unix epoch ms.
    pub at_ms: u64,
    /// What was done.
    pub action: AuditAction,
    /// Who did it (the host at the time).
    pub actor: UserId,
    /// The user it was done to, for approve, deny, kick, ban, mute, unmute and transfer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<UserId>,
}

impl AuditEvent {
    /// One entry.
    pub const fn new(
        at_ms: u64,
        action: AuditAction,
        actor: UserId,
        subject: Option<UserId>,
    ) -> Self {
        Self {
            at_ms,
            action,
            actor,
            subject,
        }
    }
}

/// `GET /api/rooms/{code}/audit/` answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct AuditLogResponse {
    /// The room's host actions, oldest first; at most `AUDIT_KEPT_PER_ROOM`, the newest.
    pub events: Vec<AuditEvent>,
}

impl AuditLogResponse {
    /// Builds the answer.
    pub const fn new(events: Vec<AuditEvent>) -> Self {
        Self { events }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn actions_have_their_wire_spelling_and_newer_ones_read_as_unknown() {
        for action in [
            AuditAction::TransferHost,
            AuditAction::ChatOff,
            AuditAction::Kick,
        ] {
            assert_eq!(
                serde_json::to_value(action).unwrap(),
                json!(action.as_str())
            );
        }
        let newer: AuditAction = serde_json::from_value(json!("PIN_MESSAGE")).unwrap();
        assert_eq!(newer, AuditAction::Unknown);
    }
}
