//! Real-time rooms over WebSocket (PROTOCOL §2 and §3): the handshake, one task per socket,
//! and one task per live room on this node that every socket of the room talks to.
//!
//! Modules:
//! - `handshake`: the HTTP upgrade and the WebSocket limits (16 KiB frames);
//! - `socket`: a socket's life: admission checks in PROTOCOL order, reading and decoding
//!   frames, writing through its bounded queue, and leaving;
//! - `room_core`: the room's rules as a pure state machine: inputs in, effects out;
//! - `room`: the room task (the actor), the thin shell that feeds the core and carries out its
//!   effects on this node's sockets and the store;
//! - `writer`: the bounded per-socket queue and its 4029 rule;
//! - `closing`: reading on after the close frame until the peer's, so its code arrives;
//! - `persist`: the room's write-behind to the store;
//! - `history`: a room's recent broadcasts, replayed to sockets that resume;
//! - `cluster`, `follower`, `orphans`: a room across nodes: its owner, the nodes that follow
//!   it, and rooms whose owner died alone;
//! - `quota`: the sockets one user, and one address, may hold open;
//! - `playback`, `chat_rules`: the pure rules the room applies.

mod chat_rules;
mod closing;
mod cluster;
mod follower;
mod handshake;
mod history;
mod orphans;
mod persist;
mod playback;
mod quota;
mod room;
mod room_core;
mod roster;
mod socket;
mod writer;

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use streamit_protocol::v1::RoomCode;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::auth::Auth;
use crate::bus::{self, Lease};
use crate::config::{Config, Switch};
use crate::metrics::Metrics;
use crate::notices::{Listener, Notice, Notices};
use crate::store::Store;
use cluster::{Cluster, NodeTag};
pub(crate) use handshake::upgrade;
use room::{Command, Join};
use room_core::Settings;
use roster::Roster;

/// The room's rules and the ids they take, for `crate::fuzzing` only.
#[cfg(feature = "fuzzing")]
pub(crate) mod fuzzing {
    pub(crate) use super::cluster::NodeTag;
    pub(crate) use super::room_core::{
        Answer, Ask, Effect, Input, Joining, Loaded, Outbound, Persist, ProgressReport, Query,
        RoomCore, Settings, Then, Write,
    };
}

/// Room tasks a join is offered to before it is given up (each stops only after taking what
/// was queued for it, so a second one practically always takes it).
const JOIN_ATTEMPTS: usize = 4;

/// Commands a room may have queued before senders wait.
const ROOM_QUEUE: usize = 4096;

/// A socket's id across the cluster: the node that serves it and its number there.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub(crate) struct ConnId {
    node: NodeTag,
    n: u64,
}

impl ConnId {
    pub(crate) const fn new(node: NodeTag, n: u64) -> Self {
        Self { node, n }
    }

    pub(crate) const fn node(self) -> NodeTag {
        self.node
    }
}

impl fmt::Display for ConnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "c{}@{}", self.n, self.node)
    }
}

/// What sockets and rooms share.
pub(crate) struct Shared {
    store: Store,
    auth: Arc<Auth>,
    registry: Registry,
    metrics: Arc<Metrics>,
    shutdown: CancellationToken,
    tasks: TaskTracker,
    room_settings: Settings,
    flood_limits: bool,
    sockets: quota::SocketQuota,
    next_conn: AtomicU64,
    cluster: Cluster,
    /// How much of its broadcasts a room keeps for sockets that resume.
    history: history::Limits,
}

/// The live rooms of this node. A std mutex: the sections are tiny and never await.
#[derive(Default)]
struct Registry {
    rooms: Mutex<HashMap<RoomCode, RoomHandle>>,
    next_id: AtomicU64,
}

#[derive(Clone)]
struct RoomHandle {
    id: u64,
    commands: mpsc::Sender<Command>,
    roster: Arc<Roster>,
}

impl RoomHandle {
    async fn send(&self, command: Command) {
        // A room that stopped hands queued joins on; anything else for it is moot.
        let _ = self.commands.send(command).await;
    }
}

impl Registry {
    fn lock(&self) -> MutexGuard<'_, HashMap<RoomCode, RoomHandle>> {
        self.rooms
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The room's task, started when it has none.
    fn handle(&self, shared: &Arc<Shared>, code: RoomCode) -> RoomHandle {
        let mut rooms = self.lock();
        if let Some(handle) = rooms.get(&code).filter(|h| !h.commands.is_closed()) {
            return handle.clone();
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (commands, receiver) = mpsc::channel(ROOM_QUEUE);
        let handle = RoomHandle {
            id,
            commands,
            roster: Arc::default(),
        };
        rooms.insert(code, handle.clone());
        shared.tasks.spawn(room::run(
            Arc::clone(shared),
            code,
            handle.clone(),
            receiver,
        ));
        handle
    }

    /// Hands a join to the room's task, `room` first. A task that stopped between the handle
    /// being taken and the join being sent has closed its queue (it handed on what it held
    /// already): the join then goes to the task that follows it, instead of being dropped (the
    /// socket would close with 1011 for a room that was merely turning over).
    async fn join(
        &self,
        shared: &Arc<Shared>,
        code: RoomCode,
        mut room: RoomHandle,
        join: Box<Join>,
    ) {
        let mut command = Command::Join(join);
        for _ in 0..JOIN_ATTEMPTS {
            match room.commands.send(command).await {
                Ok(()) => return,
                Err(mpsc::error::SendError(returned)) => command = returned,
            }
            room = self.handle(shared, code);
        }
        tracing::error!(room = %code, "no room task took the join; the socket closes");
    }

    /// The running task of a room, if any.
    fn get(&self, code: RoomCode) -> Option<RoomHandle> {
        self.lock().get(&code).cloned()
    }

    fn all(&self) -> Vec<RoomHandle> {
        self.lock().values().cloned().collect()
    }

    /// Forgets a room's task, unless a newer one already took its place.
    fn remove(&self, code: RoomCode, id: u64) {
        let mut rooms = self.lock();
        if rooms.get(&code).is_some_and(|h| h.id == id) {
            rooms.remove(&code);
        }
    }
}

/// The real-time side of the server; cheap to clone.
#[derive(Clone)]
pub(crate) struct Realtime {
    shared: Arc<Shared>,
}

impl Realtime {
    /// Starts the real-time side, listening to `notices` from every node before it returns
    /// (so none sent once the server serves is missed); when the bus cannot be listened to
    /// yet, a task keeps trying.
    pub(crate) async fn start(
        config: &Config,
        store: Store,
        auth: Arc<Auth>,
        notices: Notices,
        metrics: Arc<Metrics>,
        shutdown: CancellationToken,
        tasks: TaskTracker,
    ) -> Self {
        let cluster = Cluster {
            bus: Arc::clone(notices.bus()),
            prefix: config.redis_prefix.clone(),
            node: NodeTag::random(),
            node_id: config.node_id(),
            room_lease: Duration::from_millis(config.room_lease_ms),
            node_lease: Duration::from_millis(config.node_lease_ms),
        };
        let node_lease = hold_node_lease(&cluster, &shutdown).await;
        let shared = Arc::new(Shared {
            store,
            auth,
            registry: Registry::default(),
            metrics,
            shutdown,
            tasks,
            room_settings: Settings {
                grace_seconds: config.grace_seconds,
                sync_threshold_ms: config.sync_threshold_ms,
                crowd_from: config.big_room_from as usize,
                crowd_listed: config.big_room_listed as usize,
                crowd_named: config.big_room_named as usize,
            },
            flood_limits: config.rate_limits == Switch::On,
            sockets: match config.rate_limits {
                Switch::On => quota::SocketQuota::new(
                    Some(config.max_sockets_per_user),
                    Some(config.max_sockets_per_ip),
                ),
                Switch::Off => quota::SocketQuota::new(None, None),
            },
            next_conn: AtomicU64::new(1),
            cluster,
            history: history::Limits {
                frames: usize::try_from(config.replay_frames).unwrap_or(usize::MAX),
                age: Duration::from_secs(config.replay_seconds),
            },
        });
        shared
            .tasks
            .spawn(keep_node_lease(Arc::clone(&shared), node_lease));
        if config.redis_url.is_some() {
            shared.tasks.spawn(orphans::sweep(Arc::clone(&shared)));
        }
        let listener = notices.listen().await;
        shared
            .tasks
            .spawn(hear(Arc::clone(&shared), notices, listener));
        Self { shared }
    }
}

/// This node's lease, once granted: without one, owners elsewhere would drop this node's
/// sockets as those of a dead node. Waits (retrying) while the bus cannot grant it.
async fn hold_node_lease(cluster: &Cluster, shutdown: &CancellationToken) -> Option<Lease> {
    let key = cluster.node_lease_key(cluster.node);
    loop {
        match cluster
            .bus
            .acquire(&key, &cluster.holder(), cluster.node_lease)
            .await
        {
            Ok(Some(lease)) => return Some(lease),
            Ok(None) => tracing::error!(node = %cluster.node, "this node's lease is taken"),
            Err(error) => tracing::warn!(%error, "cannot take this node's lease yet; retrying"),
        }
        tokio::select! {
            () = shutdown.cancelled() => return None,
            () = tokio::time::sleep(RETRY) => {}
        }
    }
}

/// Renews this node's lease for as long as the node runs. Once it is lost (the node froze or
/// was cut off past it), owners elsewhere may already have dropped this node's sockets, so
/// every room here lets go of them, and the node takes a new lease.
async fn keep_node_lease(shared: Arc<Shared>, mut lease: Option<Lease>) {
    let cluster = &shared.cluster;
    let mut renew = tokio::time::interval(cluster.node_lease / 3);
    renew.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_renewed = tokio::time::Instant::now();
    loop {
        tokio::select! {
            () = shared.shutdown.cancelled() => break,
            _ = renew.tick() => {}
        }
        let Some(held) = &lease else { break };
        match cluster.bus.renew(held, cluster.node_lease).await {
            Ok(true) => {
                last_renewed = tokio::time::Instant::now();
                continue;
            }
            Ok(false) => {}
            Err(error) if last_renewed.elapsed() < cluster.node_lease => {
                tracing::warn!(%error, "renewing this node's lease failed; retrying");
                continue;
            }
            Err(error) => tracing::error!(%error, "renewing this node's lease failed"),
        }
        tracing::error!(node = %cluster.node, "this node's lease was lost; its rooms let go");
        for room in shared.registry.all() {
            room.send(Command::LetGo).await;
        }
        lease = hold_node_lease(cluster, &shared.shutdown).await;
        last_renewed = tokio::time::Instant::now();
    }
    if let Some(held) = lease {
        let _ = cluster.bus.release(&held).await;
    }
}

/// How long to wait before trying the bus again (a lease, a subscription) after it failed.
const RETRY: Duration = Duration::from_secs(1);

/// Hands every notice to the live room it is about, on this node, until shutdown.
async fn hear(shared: Arc<Shared>, notices: Notices, first: bus::Result<Listener>) {
    let mut listening = first;
    loop {
        match listening {
            Ok(mut listener) => loop {
                let notice = tokio::select! {
                    () = shared.shutdown.cancelled() => return,
                    notice = listener.next() => notice,
                };
                let Some(notice) = notice else { break };
                act_on(&shared, notice).await;
            },
            Err(error) => tracing::error!(%error, "cannot hear other nodes' notices; retrying"),
        }
        tokio::select! {
            () = shared.shutdown.cancelled() => return,
            () = tokio::time::sleep(RETRY) => {}
        }
        listening = notices.listen().await;
    }
}

async fn act_on(shared: &Arc<Shared>, notice: Notice) {
    let (code, command) = match notice {
        Notice::RoomDeleted { code } => (code, Command::Deleted),
        Notice::RoomExpired { code } => (code, Command::Expired),
        Notice::JoinRequested { code, user } => (code, Command::JoinRequested(user)),
        Notice::LoginEnded { login_id } => {
            for room in shared.registry.all() {
                room.send(Command::CloseLogin(login_id)).await;
            }
            return;
        }
    };
    if let Some(room) = shared.registry.get(code) {
        room.send(command).await;
    }
}
