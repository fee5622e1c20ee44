//! Host and moderation actions: kept in the room's audit log in the store (readable by its
//! host over REST) and logged as structured events of their own target
//! (`streamit_server::audit`): room, actor, subject (the user acted on) and action, so
//! operators can keep or ship them apart. The user acted on is `subject`, not `target`: JSON
//! log lines already use `target` for the event's target.

use streamit_protocol::v1::{AuditAction, AuditEvent, RoomCode, UserId};

use crate::clock::now_ms;
use crate::store::Store;

/// Records that `actor` did `action` in `room`, to `subject` when it names a user. The action
/// has happened already: a failed write is logged, not undone. The time is taken now, so a
/// room may spawn the write off its task and the log still reads in order.
pub(crate) fn record(
    store: Store,
    room: RoomCode,
    actor: UserId,
    action: AuditAction,
    subject: Option<UserId>,
) -> impl Future<Output = ()> + Send + 'static {
    let name = action.as_str();
    match subject {
        Some(subject) => tracing::info!(
            target: "streamit_server::audit", %room, %actor, %subject, action = name, "host action"
        ),
        None => tracing::info!(
            target: "streamit_server::audit", %room, %actor, action = name, "host action"
        ),
    }
    let event = AuditEvent::new(now_ms(), action, actor, subject);
    async move {
        if let Err(error) = store.record_audit(room, &event).await {
            tracing::error!(%room, %error, "keeping a host action in the audit log failed");
        }
    }
}
