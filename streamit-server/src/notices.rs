//! What REST and the sweepers tell live rooms, on whichever node they run: a room was deleted
//! or expired, a login ended, someone asks to join. Published on the bus (one topic per
//! cluster), heard by every node's real-time side.
//!
//! A notice is a nudge, never the truth: the store already holds the change when it is sent.
//! One lost while the bus is down leaves a room to find out later (a socket of an ended login
//! fails at its next refresh; a deleted room refuses every new socket).

use std::sync::Arc;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use streamit_protocol::v1::{RoomCode, UserRef};
use uuid::Uuid;

use crate::bus::{self, Bus, Subscription, Topic};

/// A change live rooms act on.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(crate) enum Notice {
    /// REST deleted the room: its members get `ROOM_DELETED` and close with 4010.
    RoomDeleted { code: RoomCode },
    /// The grace sweeper expired the room: `ROOM_EXPIRED`, then 4010.
    RoomExpired { code: RoomCode },
    /// A login ended (logout, or a replayed refresh token): its sockets close with 4001.
    LoginEnded { login_id: Uuid },
    /// Someone asked to join an `APPROVAL` room: its host hears of it live.
    JoinRequested { code: RoomCode, user: UserRef },
}

/// Sends and receives notices; cheap to clone.
#[derive(Clone)]
pub(crate) struct Notices {
    bus: Arc<dyn Bus>,
    topic: Topic,
}

impl Notices {
    pub(crate) fn new(bus: Arc<dyn Bus>, prefix: &str) -> Self {
        Self {
            bus,
            topic: Topic::new(prefix, "notices"),
        }
    }

    /// The bus notices travel on, which the rest of the real-time side shares.
    pub(crate) fn bus(&self) -> &Arc<dyn Bus> {
        &self.bus
    }

    /// Tells every node; a failure is logged, not returned: the change is stored already.
    pub(crate) async fn send(&self, notice: Notice) {
        let encoded = match serde_json::to_vec(&notice) {
            Ok(encoded) => Bytes::from(encoded),
            Err(error) => {
                tracing::error!(%error, ?notice, "encoding a notice failed");
                return;
            }
        };
        if let Err(error) = self.bus.publish(&self.topic, encoded).await {
            tracing::error!(%error, ?notice, "a notice could not be sent to the other nodes");
        }
    }

    /// Listens for notices from every node.
    pub(crate) async fn listen(&self) -> bus::Result<Listener> {
        Ok(Listener(self.bus.subscribe(&self.topic).await?))
    }
}

/// Notices as they arrive.
pub(crate) struct Listener(Subscription);

impl Listener {
    /// The next notice; `None` once the bus is gone. Undecodable ones (from a newer node) are
    /// logged and skipped.
    pub(crate) async fn next(&mut self) -> Option<Notice> {
        loop {
            let message = self.0.next().await?;
            match serde_json::from_slice(&message) {
                Ok(notice) => return Some(notice),
                Err(error) => tracing::warn!(%error, "skipping a notice this node cannot read"),
            }
        }
    }
}
