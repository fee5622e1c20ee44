//! What `/metrics` exposes, in the Prometheus text format, from a `prometheus-client`
//! registry: load (requests, sockets, rooms, broadcasts and deliveries), latency (HTTP, fan-out
//! from queue to socket, every store operation), trouble (closes by code, slow consumers, pool
//! saturation), the process (memory, files, CPU) and sync quality (members' drift, corrections).
//! `docs/operations.md` says what each means and what to alert on.

mod process;

use std::fmt::Write as _;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge as PromGauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// An HTTP answer: the route's name (never its parameters) and the status.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct HttpLabels {
    pub(crate) route: &'static str,
    pub(crate) status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabel {
    route: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CodeLabel {
    code: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabel {
    state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OpLabel {
    op: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct QueryLabel {
    query: &'static str,
}

/// A family of histograms made with the same buckets.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabel {
    outcome: &'static str,
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

/// Seconds from 100 µs to about 6.5 s: HTTP answers and store operations.
fn seconds_buckets() -> Histogram {
    Histogram::new(exponential_buckets(0.0001, 2.0, 17))
}

/// Every metric of the process, registered once.
pub(crate) struct Metrics {
    registry: Registry,
    http_requests: Family<HttpLabels, Counter>,
    http_seconds: Histograms<RouteLabel>,
    sockets_open: PromGauge,
    admissions: Counter,
    rooms_live: PromGauge,
    rooms_by_state: Family<StateLabel, PromGauge>,
    broadcasts: Counter,
    deliveries: Counter,
    fanout_seconds: Histogram,
    slow_consumers: Counter,
    resumes: Family<OutcomeLabel, Counter>,
    closes: Family<CodeLabel, Counter>,
    store_seconds: Histograms<QueryLabel>,
    bus_seconds: Histograms<OpLabel>,
    bus_failures: Family<OpLabel, Counter>,
    pool_connections: PromGauge,
    pool_idle: PromGauge,
    pool_max: PromGauge,
    tasks: PromGauge,
    sync_drift_ms: Histogram,
    sync_corrections: Counter,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// What the scrape reads from elsewhere: the store and the task tracker.
pub(crate) struct Scrape {
    pub(crate) tasks: usize,
    /// Rooms per lifecycle state, from the store (all nodes).
    pub(crate) rooms_by_state: Vec<(&'static str, u64)>,
    pub(crate) pool_connections: u32,
    pub(crate) pool_idle: u32,
    pub(crate) pool_max: u32,
}

impl Metrics {
    fn new() -> Self {
        let mut metrics = Self {
            registry: Registry::default(),
            http_requests: Family::default(),
            http_seconds: Family::new_with_constructor(seconds_buckets),
            sockets_open: PromGauge::default(),
            admissions: Counter::default(),
            rooms_live: PromGauge::default(),
            rooms_by_state: Family::default(),
            broadcasts: Counter::default(),
            deliveries: Counter::default(),
            // 50 µs to about 1.6 s.
            fanout_seconds: Histogram::new(exponential_buckets(0.00005, 2.0, 16)),
            slow_consumers: Counter::default(),
            resumes: Family::default(),
            closes: Family::default(),
            store_seconds: Family::new_with_constructor(seconds_buckets),
            bus_seconds: Family::new_with_constructor(seconds_buckets),
            bus_failures: Family::default(),
            pool_connections: PromGauge::default(),
            pool_idle: PromGauge::default(),
            pool_max: PromGauge::default(),
            tasks: PromGauge::default(),
            // 1 ms to about 16 s.
            sync_drift_ms: Histogram::new(exponential_buckets(1.0, 2.0, 15)),
            sync_corrections: Counter::default(),
        };
        metrics.register();
        metrics
    }

    fn register(&mut self) {
        let r = &mut self.registry;
        r.register(
            "streamit_http_requests",
            "HTTP requests answered, by route and status",
            self.http_requests.clone(),
        );
        r.register(
            "streamit_http_request_duration_seconds",
            "Time to answer an HTTP request, by route",
            self.http_seconds.clone(),
        );
        r.register(
            "streamit_sockets_open",
            "WebSockets open on this node, admitted or being checked",
            self.sockets_open.clone(),
        );
        r.register(
            "streamit_socket_resumes",
            "Sockets that asked to resume: replayed what they missed, or given a snapshot",
            self.resumes.clone(),
        );
        r.register(
            "streamit_admissions",
            "WebSockets admitted to a room",
            self.admissions.clone(),
        );
        r.register(
            "streamit_rooms_live",
            "Room tasks running on this node",
            self.rooms_live.clone(),
        );
        r.register(
            "streamit_rooms",
            "Rooms in the store, by lifecycle state (every node's)",
            self.rooms_by_state.clone(),
        );
        r.register(
            "streamit_broadcasts",
            "Room broadcasts stamped and encoded",
            self.broadcasts.clone(),
        );
        r.register(
            "streamit_deliveries",
            "Broadcast frames queued for a socket",
            self.deliveries.clone(),
        );
        r.register(
            "streamit_fanout_seconds",
            "From a frame queued for a socket to its write: the oldest frame of each write",
            self.fanout_seconds.clone(),
        );
        r.register(
            "streamit_slow_consumers",
            "Sockets closed with 4029 because their outgoing queue filled",
            self.slow_consumers.clone(),
        );
        r.register(
            "streamit_socket_closes",
            "Close frames the server sent, by close code",
            self.closes.clone(),
        );
        r.register(
            "streamit_store_query_seconds",
            "Time of each store operation (a query or a transaction), by its name",
            self.store_seconds.clone(),
        );
        r.register(
            "streamit_bus_seconds",
            "Round trips to Redis, by operation (publish, fenced publish, lease operations, subscribe)",
            self.bus_seconds.clone(),
        );
        r.register(
            "streamit_bus_failures",
            "Redis operations that failed, by operation",
            self.bus_failures.clone(),
        );
        r.register(
            "streamit_db_pool_connections",
            "Database connections open in this node's pool",
            self.pool_connections.clone(),
        );
        r.register(
            "streamit_db_pool_idle",
            "Database connections idle in this node's pool",
            self.pool_idle.clone(),
        );
        r.register(
            "streamit_db_pool_max",
            "Database connections this node's pool may open",
            self.pool_max.clone(),
        );
        r.register(
            "streamit_tasks",
            "Connection, socket and room tasks running",
            self.tasks.clone(),
        );
        r.register(
            "streamit_sync_drift_ms",
            "Members' reported drift from the room's playback, in ms (absolute), per SYNC_CHECK",
            self.sync_drift_ms.clone(),
        );
        r.register(
            "streamit_sync_corrections",
            "SYNC_CORRECTIONs sent to members drifting past the threshold",
            self.sync_corrections.clone(),
        );
        r.register_collector(Box::new(process::Process));
    }

    pub(crate) fn http(&self, route: &'static str, status: u16, took: Duration) {
        self.http_requests
            .get_or_create(&HttpLabels { route, status })
            .inc();
        self.http_seconds
            .get_or_create(&RouteLabel { route })
            .observe(took.as_secs_f64());
    }

    pub(crate) fn admitted(&self) {
        self.admissions.inc();
    }

    /// One broadcast, queued for `delivered` sockets.
    pub(crate) fn broadcast(&self, delivered: u64) {
        self.broadcasts.inc();
        self.deliveries.inc_by(delivered);
    }

    pub(crate) fn slow_consumer(&self) {
        self.slow_consumers.inc();
    }

    /// A socket asked to resume; `replayed` when the room still held what it missed.
    pub(crate) fn resumed(&self, replayed: bool) {
        let outcome = if replayed { "replayed" } else { "snapshot" };
        self.resumes.get_or_create(&OutcomeLabel { outcome }).inc();
    }

    pub(crate) fn fanout(&self, took: Duration) {
        self.fanout_seconds.observe(took.as_secs_f64());
    }

    pub(crate) fn closed(&self, code: u16) {
        self.closes.get_or_create(&CodeLabel { code }).inc();
    }

    /// What the store times its operations with.
    pub(crate) fn store_timer(&self) -> StoreTimer {
        StoreTimer(Some(self.store_seconds.clone()))
    }

    /// One round trip to the bus; `failed` when it answered with an error.
    pub(crate) fn bus(&self, op: &'static str, took: Duration, failed: bool) {
        let label = OpLabel { op };
        self.bus_seconds
            .get_or_create(&label)
            .observe(took.as_secs_f64());
        if failed {
            self.bus_failures.get_or_create(&label).inc();
        }
    }

    pub(crate) fn sync_check(&self, drift_ms: i64, corrected: bool) {
        #[expect(clippy::cast_precision_loss, reason = "drifts are far below 2^52 ms")]
        self.sync_drift_ms.observe(drift_ms.unsigned_abs() as f64);
        if corrected {
            self.sync_corrections.inc();
        }
    }

    /// The text exposition, with what only the scrape knows.
    pub(crate) fn render(&self, scrape: &Scrape) -> String {
        self.tasks
            .set(i64::try_from(scrape.tasks).unwrap_or(i64::MAX));
        // Cleared first: when the store does not answer, the states are left out rather than
        // repeating the last scrape's counts.
        self.rooms_by_state.clear();
        for (state, count) in &scrape.rooms_by_state {
            self.rooms_by_state
                .get_or_create(&StateLabel { state })
                .set(i64::try_from(*count).unwrap_or(i64::MAX));
        }
        self.pool_connections
            .set(i64::from(scrape.pool_connections));
        self.pool_idle.set(i64::from(scrape.pool_idle));
        self.pool_max.set(i64::from(scrape.pool_max));
        let mut out = String::new();
        if encode(&mut out, &self.registry).is_err() {
            let _ = writeln!(out, "# encoding the metrics failed");
        }
        out
    }
}

/// Adds one to a gauge for as long as it lives, so every exit path takes it back.
pub(crate) struct Held<'a>(&'a PromGauge);

impl Metrics {
    /// A socket open until the guard drops.
    pub(crate) fn socket_open(&self) -> Held<'_> {
        self.sockets_open.inc();
        Held(&self.sockets_open)
    }

    /// A room task running until the guard drops.
    pub(crate) fn room_live(&self) -> Held<'_> {
        self.rooms_live.inc();
        Held(&self.rooms_live)
    }
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// Times the store's operations into `streamit_store_query_seconds`; the default times nothing
/// (a store opened by a tool or a test, with no registry to show it).
#[derive(Clone, Default)]
pub(crate) struct StoreTimer(Option<Histograms<QueryLabel>>);

impl StoreTimer {
    /// Starts timing `query`; the time is recorded when the guard drops, however the operation
    /// ends (answered, failed, or abandoned by a caller that stopped waiting).
    pub(crate) fn start(&self, query: &'static str) -> QueryTimer<'_> {
        QueryTimer {
            timer: self,
            query,
            started: std::time::Instant::now(),
        }
    }
}

/// One operation being timed; see [`StoreTimer::start`].
pub(crate) struct QueryTimer<'a> {
    timer: &'a StoreTimer,
    query: &'static str,
    started: std::time::Instant,
}

impl Drop for QueryTimer<'_> {
    fn drop(&mut self) {
        if let Some(family) = &self.timer.0 {
            let label = QueryLabel { query: self.query };
            family
                .get_or_create(&label)
                .observe(self.started.elapsed().as_secs_f64());
        }
    }
}
