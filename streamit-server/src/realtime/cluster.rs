//! A room across nodes. One node at a time owns each room: it holds the room's lease, runs its
//! core and numbers its broadcasts; every other node with sockets in the room follows, sending
//! its sockets' commands to the owner and fanning the owner's frames out to them.
//!
//! Per room there are two topics on the bus: the owner's frames (broadcasts, and what is meant
//! for one socket) and the commands for the owner. Every frame carries the owner's fence, so a
//! follower notices at once when the room changed hands. Each node also holds a lease of its
//! own while it lives: an owner drops the sockets of a node whose lease ran out (killed,
//! frozen, cut off) as if they had timed out.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::{BufMut as _, Bytes, BytesMut};
use serde::{Deserialize, Serialize};
use streamit_protocol::v1::{CloseCode, LeaveReason, Participant, RoomCode, UserRef};
use uuid::Uuid;

use super::ConnId;
use super::history::Resume;
use crate::bus::{Bus, LeaseKey, Topic};

/// This process among the cluster's nodes: random at every start, so a restarted node is a
/// new node and nobody mistakes its sockets for the old one's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub(crate) struct NodeTag(u64);

impl NodeTag {
    pub(crate) fn random() -> Self {
        Self(rand::random())
    }

    #[cfg(any(test, feature = "fuzzing"))]
    pub(crate) const fn fixed(tag: u64) -> Self {
        Self(tag)
    }
}

impl fmt::Display for NodeTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04x}", self.0 >> 48)
    }
}

/// How this node takes part in the cluster.
#[derive(Clone)]
pub(crate) struct Cluster {
    pub(crate) bus: Arc<dyn Bus>,
    pub(crate) prefix: String,
    /// This node's tag, and its name for people (`--node-id`).
    pub(crate) node: NodeTag,
    pub(crate) node_id: String,
    /// How long a room's owner holds the room without renewing.
    pub(crate) room_lease: Duration,
    /// How long a node counts as alive without renewing.
    pub(crate) node_lease: Duration,
}

impl Cluster {
    pub(crate) fn room_lease_key(&self, code: RoomCode) -> LeaseKey {
        LeaseKey::new(&self.prefix, &format!("room:{code}"))
    }

    pub(crate) fn node_lease_key(&self, node: NodeTag) -> LeaseKey {
        LeaseKey::new(&self.prefix, &format!("node:{:016x}", node.0))
    }

    /// The owner's frames for the room's other nodes.
    pub(crate) fn frames_topic(&self, code: RoomCode) -> Topic {
        Topic::new(&self.prefix, &format!("room:{code}:frames"))
    }

    /// Commands for the room's owner.
    pub(crate) fn commands_topic(&self, code: RoomCode) -> Topic {
        Topic::new(&self.prefix, &format!("room:{code}:commands"))
    }

    /// How this node names itself as a lease holder.
    pub(crate) fn holder(&self) -> String {
        format!("{}/{:016x}", self.node_id, self.node.0)
    }
}

/// What a follower sends the owner.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
pub(crate) enum ToOwner {
    Join {
        conn: ConnId,
        user: UserRef,
        login_id: Uuid,
        muted_until_ms: Option<u64>,
        /// `None` when the node did not list them (the room was big when it last knew, or had
        /// as many members as make it big).
        participants: Option<Vec<Participant>>,
        /// Where the socket's client says it left off.
        #[serde(default)]
        resume: Option<Resume>,
    },
    Leave {
        conn: ConnId,
        reason: LeaveReason,
    },
    /// A client frame, as the socket sent it (the follower checked that it decodes).
    Client {
        conn: ConnId,
        frame: String,
    },
}

impl ToOwner {
    pub(crate) fn encode(&self) -> Option<Bytes> {
        match serde_json::to_vec(self) {
            Ok(encoded) => Some(Bytes::from(encoded)),
            Err(error) => {
                tracing::error!(%error, "encoding a command for the room's owner failed");
                None
            }
        }
    }

    pub(crate) fn decode(message: &[u8]) -> Option<Self> {
        serde_json::from_slice(message)
            .map_err(|error| tracing::warn!(%error, "skipping a command this node cannot read"))
            .ok()
    }
}

/// What the owner sends the room's other nodes; each comes with the owner's fence and, but
/// for `Refuse` and `Detach`, the frame to write.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
pub(crate) enum FromOwner {
    /// A numbered frame for every socket of the room.
    Broadcast,
    /// A frame for one socket.
    Reply {
        conn: ConnId,
    },
    /// The socket is in; the frames, one per line, are its snapshot, or `ROOM_RESUMED` and
    /// the broadcasts it missed.
    Admit {
        conn: ConnId,
    },
    /// An admitted socket's `RESYNC` answered by a replay: the frames, one per line, are
    /// `ROOM_RESUMED` and the broadcasts it missed.
    Resume {
        conn: ConnId,
    },
    Refuse {
        conn: ConnId,
        close: CloseCode,
    },
    Detach {
        conn: ConnId,
        close: CloseCode,
    },
}

/// What every message from the owner says besides its frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Header {
    /// The owner's fence: a follower tells a new owner from the last one's late words.
    pub(crate) fence: u64,
    /// Whether the room is big as the owner sends this (protocol 6.11): a follower's sockets
    /// then join without reading the member list, as the owner's own do. Absent from an
    /// older node: not big.
    #[serde(default)]
    pub(crate) crowded: bool,
    #[serde(flatten)]
    pub(crate) what: FromOwner,
}

impl Header {
    /// One line of JSON header, then the frame as it goes on the wire (server frames hold no
    /// raw newline), so the frame is neither re-encoded nor escaped on its way.
    pub(crate) fn encode(self, frame: &[u8]) -> Option<Bytes> {
        let header = serde_json::to_vec(&self)
            .map_err(|error| tracing::error!(%error, "encoding a frame header failed"))
            .ok()?;
        let mut message = BytesMut::with_capacity(header.len() + 1 + frame.len());
        message.put_slice(&header);
        message.put_u8(b'\n');
        message.put_slice(frame);
        Some(message.freeze())
    }

    /// The header and the frame.
    pub(crate) fn decode(message: &Bytes) -> Option<(Self, Bytes)> {
        let newline = message.iter().position(|&b| b == b'\n')?;
        let header: Self = serde_json::from_slice(&message[..newline])
            .map_err(|error| tracing::warn!(%error, "skipping a frame this node cannot read"))
            .ok()?;
        Some((header, message.slice(newline + 1..)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_cross_with_their_fence_untouched() {
        let conn = ConnId::new(NodeTag::fixed(7), 3);
        let frame = br#"{"v":1,"type":"PONG","ts":5,"data":{"client_ts":1,"server_ts":5}}"#;
        let reply = Header {
            fence: 42,
            crowded: true,
            what: FromOwner::Reply { conn },
        };
        let (header, decoded) = Header::decode(&reply.encode(frame).unwrap()).unwrap();
        assert_eq!(header, reply);
        assert_eq!(&decoded[..], frame);
        let close = CloseCode::Kicked;
        let detach = Header {
            fence: 1,
            crowded: false,
            what: FromOwner::Detach { conn, close },
        };
        assert_eq!(
            Header::decode(&detach.encode(b"").unwrap()).map(|(header, _)| header),
            Some(detach)
        );
        assert!(Header::decode(&Bytes::from_static(b"no header")).is_none());
        // A node from before `crowded` was said: not big.
        let older = Bytes::from_static(b"{\"fence\":3,\"t\":\"broadcast\"}\n{}");
        let (header, _) = Header::decode(&older).unwrap();
        assert!(!header.crowded);
    }
}
