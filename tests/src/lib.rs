//! Support for end-to-end tests: a cluster of real `streamit-server` nodes on one fresh
//! PostgreSQL database and one Redis, each node on a runtime of its own so a test can kill it
//! outright (its tasks dropped mid-flight, its sockets closed by the OS, its leases left to run
//! out in Redis, as after `kill -9`), and a plain round-robin TCP load balancer in front, as
//! operators run them: nothing sticky.

mod balancer;
mod node;

use std::time::Duration;

use streamit_client::protocol::v1::{
    CreateRoomRequest, DisplayName, RoomCode, RoomSnapshot, ServerEvent, ServerMessage,
};
use streamit_client::{Client, RoomEvent, RoomEvents, RoomSession, SessionOptions};
pub use streamit_testing::eventually;
use streamit_testing::{TestDatabase, TestRedis};

pub use balancer::Balancer;
pub use node::Node;

/// Longest wait for anything that must happen promptly.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// The token-signing secret every node shares.
const SECRET: &str = "streamit-e2e-secret-at-least-32-bytes";

/// Nodes on one database and one Redis, behind one balancer.
pub struct Cluster {
    pub nodes: Vec<Node>,
    pub balancer: Balancer,
    pub redis: TestRedis,
    _db: TestDatabase,
}

impl Cluster {
    /// `count` nodes, or `None` (the test skips, loudly) without PostgreSQL or Redis, unless
    /// `STREAMIT_REQUIRE_SERVICES=1`.
    pub async fn start(count: usize) -> Option<Self> {
        Self::start_with(count, |_| {}).await
    }

    /// As [`Self::start`], with every node's settings changed by `tweak`.
    pub async fn start_with(
        count: usize,
        tweak: impl Fn(&mut streamit_server::Config),
    ) -> Option<Self> {
        let db = streamit_testing::postgres().await?;
        let redis = streamit_testing::redis().await?;
        let mut nodes = Vec::new();
        for i in 0..count {
            let mut config = streamit_server::Config::defaults();
            config.database_url = db.url.clone();
            config.jwt_secret = Some(SECRET.to_owned());
            config.redis_url = Some(redis.url.clone());
            config.redis_prefix = redis.prefix.clone();
            config.node_id = Some(format!("node-{i}"));
            config.room_lease_ms = 1_500;
            config.node_lease_ms = 1_500;
            config.rate_limits = streamit_server::Switch::Off;
            config.shutdown_grace_seconds = 2;
            tweak(&mut config);
            nodes.push(Node::start(config).await);
        }
        let balancer = Balancer::start(nodes.iter().map(|node| node.addr).collect()).await;
        Some(Self {
            nodes,
            balancer,
            redis,
            _db: db,
        })
    }

    /// A client of node `i`, signed in as a new guest called `name`.
    pub async fn guest_on(&self, i: usize, name: &str) -> Client {
        guest(&self.nodes[i].url, name).await
    }

    /// A client of the balancer, signed in as a new guest called `name`.
    pub async fn guest(&self, name: &str) -> Client {
        guest(&self.balancer.url, name).await
    }
}

/// `user`'s login, used through node `i`.
pub fn on_node(cluster: &Cluster, i: usize, user: &Client) -> Client {
    client_of(&cluster.nodes[i].url).with_tokens(user.tokens().expect("a signed-in user"))
}

/// A signed-out client of `url`, with the tests' timeouts and reconnect delays.
fn client_of(url: &str) -> Client {
    Client::builder(url)
        .no_proxy()
        .timeout(PATIENCE)
        .session_options(quick_options())
        .build()
        .expect("a client")
}

/// A client of `url`, signed in as a new guest called `name`.
pub async fn guest(url: &str, name: &str) -> Client {
    let client = client_of(url);
    let name = DisplayName::new(name).expect("a display name");
    client.guest(Some(name)).await.expect("a guest");
    client
}

/// Session options for tests: short backoff so reconnects are quick; the rest as shipped.
pub fn quick_options() -> SessionOptions {
    SessionOptions::default()
        .reconnect_delays(Duration::from_millis(50), Duration::from_millis(500))
}

/// An open room hosted by `host`; its code.
pub async fn open_room(host: &Client) -> RoomCode {
    let created = host.create_room(&CreateRoomRequest::default()).await;
    created.expect("a room").room.code
}

/// The next event, or a panic naming what was awaited.
pub async fn next_event(events: &mut RoomEvents, what: &str) -> RoomEvent {
    match tokio::time::timeout(PATIENCE, events.recv()).await {
        Ok(Some(event)) => event,
        Ok(None) => panic!("the stream ended while waiting for {what}"),
        Err(_) => panic!("no event in {PATIENCE:?} while waiting for {what}"),
    }
}

/// Reads events until `pick` takes one, ignoring the rest.
pub async fn skip_to<T>(
    events: &mut RoomEvents,
    what: &str,
    mut pick: impl FnMut(&RoomEvent) -> Option<T>,
) -> T {
    loop {
        let event = next_event(events, what).await;
        if let Some(picked) = pick(&event) {
            return picked;
        }
    }
}

/// The snapshot that opens (or reopens) a session.
pub fn snapshot_of(event: &RoomEvent) -> Option<Box<RoomSnapshot>> {
    match event {
        RoomEvent::Server(ServerMessage {
            event: ServerEvent::RoomSnapshot(snapshot),
            ..
        })
        | RoomEvent::Rejoined(ServerMessage {
            event: ServerEvent::RoomSnapshot(snapshot),
            ..
        }) => Some(snapshot.clone()),
        _ => None,
    }
}

/// Joins `code` as `client` and waits for the first snapshot.
pub async fn join(client: &Client, code: RoomCode) -> (RoomSession, RoomEvents, Box<RoomSnapshot>) {
    let (session, mut events) = client.join_room(code).await.expect("the REST join");
    let snapshot = skip_to(&mut events, "the first snapshot", snapshot_of).await;
    (session, events, snapshot)
}

/// A numbered broadcast's `seq` and event.
pub fn broadcast(event: &RoomEvent) -> Option<(u64, ServerEvent)> {
    match event {
        RoomEvent::Server(message) => message.seq.map(|seq| (seq, message.event.clone())),
        _ => None,
    }
}
