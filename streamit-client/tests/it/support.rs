//! The real server on 127.0.0.1 for one test (restartable on the same port and database),
//! SDK clients for it, and waiting for room events under a timeout.

use std::net::SocketAddr;
use std::time::Duration;

use streamit_client::protocol::v1::{
    CreateRoomRequest, DisplayName, RoomCode, RoomSnapshot, ServerEvent, ServerMessage,
};
use streamit_client::{Client, CloseStatus, RoomEvent, RoomEvents, RoomSession, SessionOptions};
use streamit_server::{Config, StartError, Switch, run};
use streamit_testing::TestDatabase;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Longest wait for anything that must happen promptly.
pub(crate) const PATIENCE: Duration = Duration::from_secs(20);

/// One server process-in-a-task on its own SQLite database.
pub(crate) struct TestServer {
    pub(crate) addr: SocketAddr,
    pub(crate) base_url: String,
    config: Config,
    shutdown: CancellationToken,
    task: Option<JoinHandle<Result<(), StartError>>>,
    /// Kept for restarts; dropped (and deleted) with the server.
    db: TestDatabase,
}

impl TestServer {
    /// Starts a server on a fresh database, with rate limits off unless `tweak` turns them on.
    pub(crate) async fn start(tweak: impl FnOnce(&mut Config)) -> Self {
        let db = streamit_testing::sqlite();
        let mut config = Config::defaults();
        config.database_url = db.url.clone();
        config.rate_limits = Switch::Off;
        config.shutdown_grace_seconds = 2;
        tweak(&mut config);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut server = Self {
            addr,
            base_url: format!("http://{addr}"),
            config,
            shutdown: CancellationToken::new(),
            task: None,
            db,
        };
        server.launch(listener).await;
        server
    }

    async fn launch(&mut self, listener: TcpListener) {
        self.shutdown = CancellationToken::new();
        let task = tokio::spawn(run(listener, self.config.clone(), self.shutdown.clone()));
        self.task = Some(task);
        let probe = Client::builder(&self.base_url).no_proxy().build().unwrap();
        tokio::time::timeout(PATIENCE, probe.health())
            .await
            .expect("the server answers /healthz in time")
            .expect("/healthz");
    }

    /// Stops the server (sockets close with 1012) and waits for `run` to return.
    pub(crate) async fn stop(&mut self) {
        self.shutdown.cancel();
        let task = self.task.take().expect("the server is running");
        tokio::time::timeout(PATIENCE, task)
            .await
            .expect("the server stops in time")
            .expect("the server task does not panic")
            .expect("run returns Ok");
    }

    /// Runs `statement` on the server's database behind its back; the rows it changed.
    pub(crate) async fn execute(&self, statement: &str) -> u64 {
        self.db.execute(statement).await
    }

    /// Starts it again on the same port and database.
    pub(crate) async fn start_again(&mut self) {
        let listener = TcpListener::bind(self.addr)
            .await
            .expect("the port is free again");
        self.launch(listener).await;
    }

    /// A client of this server, signed out.
    pub(crate) fn client(&self) -> Client {
        client_for(&self.base_url)
    }

    /// A client signed in as a new guest called `name`.
    pub(crate) async fn guest(&self, name: &str) -> Client {
        let client = self.client();
        client.guest(Some(name_of(name))).await.unwrap();
        client
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

pub(crate) fn client_for(base_url: &str) -> Client {
    Client::builder(base_url)
        .no_proxy()
        .timeout(PATIENCE)
        .session_options(quick_options())
        .build()
        .unwrap()
}

/// Session options for tests: short backoff so restarts are quick; the rest as shipped.
pub(crate) fn quick_options() -> SessionOptions {
    SessionOptions::default()
        .reconnect_delays(Duration::from_millis(20), Duration::from_millis(200))
}

pub(crate) fn name_of(name: &str) -> DisplayName {
    DisplayName::new(name).unwrap()
}

/// An open room hosted by `host`; its code.
pub(crate) async fn open_room(host: &Client) -> RoomCode {
    let created = host
        .create_room(&CreateRoomRequest::default())
        .await
        .unwrap();
    created.room.code
}

/// The next event, or a panic naming `what` was awaited.
pub(crate) async fn next_event(events: &mut RoomEvents, what: &str) -> RoomEvent {
    match tokio::time::timeout(PATIENCE, events.recv()).await {
        Ok(Some(event)) => event,
        Ok(None) => panic!("the stream ended while waiting for {what}"),
        Err(_) => panic!("no event in {PATIENCE:?} while waiting for {what}"),
    }
}

/// Reads events until `pick` takes one; `seen` gets every event read, picked or not.
pub(crate) async fn wait_for<T>(
    events: &mut RoomEvents,
    what: &str,
    seen: &mut Vec<RoomEvent>,
    mut pick: impl FnMut(&RoomEvent) -> Option<T>,
) -> T {
    loop {
        let event = next_event(events, what).await;
        let picked = pick(&event);
        seen.push(event);
        if let Some(picked) = picked {
            return picked;
        }
    }
}

/// Reads events until `pick` takes one, ignoring the rest.
pub(crate) async fn skip_to<T>(
    events: &mut RoomEvents,
    what: &str,
    pick: impl FnMut(&RoomEvent) -> Option<T>,
) -> T {
    wait_for(events, what, &mut Vec::new(), pick).await
}

/// A server message whose event `pick` takes.
pub(crate) fn from_server<T>(
    event: &RoomEvent,
    pick: impl FnOnce(&ServerMessage) -> Option<T>,
) -> Option<T> {
    match event {
        RoomEvent::Server(message) => pick(message),
        _ => None,
    }
}

/// Waits for `Connected`, then returns the snapshot that must follow it at once.
pub(crate) async fn connected(events: &mut RoomEvents) -> Box<RoomSnapshot> {
    skip_to(events, "Connected", |e| {
        (*e == RoomEvent::Connected).then_some(())
    })
    .await;
    match next_event(events, "the snapshot after Connected").await {
        RoomEvent::Server(ServerMessage {
            event: ServerEvent::RoomSnapshot(snapshot),
            ..
        }) => snapshot,
        other => panic!("Connected must be followed by ROOM_SNAPSHOT, not {other:?}"),
    }
}

/// Joins `code` as `client` and waits until connected.
pub(crate) async fn join_connected(
    client: &Client,
    code: RoomCode,
) -> (RoomSession, RoomEvents, Box<RoomSnapshot>) {
    let (session, mut events) = client.join_room(code).await.unwrap();
    let snapshot = connected(&mut events).await;
    (session, events, snapshot)
}

/// Reads the stream to its end; every event read, the last being the final `Disconnected`.
pub(crate) async fn read_to_end(events: &mut RoomEvents) -> Vec<RoomEvent> {
    let mut all = Vec::new();
    loop {
        match tokio::time::timeout(PATIENCE, events.recv()).await {
            Ok(Some(event)) => all.push(event),
            Ok(None) => return all,
            Err(_) => panic!("the stream did not end in {PATIENCE:?}; read so far: {all:?}"),
        }
    }
}

/// The stream's final close code (its last event must be `Disconnected`).
#[track_caller]
pub(crate) fn final_code(all: &[RoomEvent]) -> Option<CloseStatus> {
    match all.last() {
        Some(RoomEvent::Disconnected { close }) => close.as_ref().map(|close| close.code),
        other => panic!("the stream must end with Disconnected, not {other:?} (all: {all:?})"),
    }
}
