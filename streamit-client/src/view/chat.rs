//! The view's chat history: bounded, and carried across snapshots when that leaves no hole.

use std::collections::VecDeque;

use streamit_protocol::v1::ChatMessage;

/// The history after a snapshot: the snapshot's lines (the room's last ones), preceded by the
/// `earlier` lines older than them when the two overlap, so a reconnect does not shrink a
/// scrollback to the snapshot's 50 lines. Without an overlap, lines may have been missed
/// between the two: the earlier ones go, rather than showing a history with a hole in it.
pub(super) fn from_snapshot(
    mut earlier: VecDeque<ChatMessage>,
    lines: &[ChatMessage],
    limit: usize,
) -> VecDeque<ChatMessage> {
    let joins_at = lines
        .first()
        .and_then(|first| earlier.iter().position(|line| line.id == first.id));
    match joins_at {
        Some(at) => earlier.truncate(at),
        None => earlier.clear(),
    }
    earlier.extend(lines.iter().cloned());
    trim(&mut earlier, limit);
    earlier
}

/// Drops the oldest lines past `limit`.
pub(super) fn trim(chat: &mut VecDeque<ChatMessage>, limit: usize) {
    let excess = chat.len().saturating_sub(limit);
    chat.drain(..excess);
}
