//! Counters and gauges for `/metrics`, in the Prometheus text format: what an operator
//! watches to see load, leaks and slow consumers.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

#[derive(Debug, Default)]
pub(crate) struct Metrics {
    pub(crate) http_requests: AtomicU64,
    pub(crate) sockets_open: AtomicI64,
    pub(crate) rooms_live: AtomicI64,
    pub(crate) broadcasts: AtomicU64,
    pub(crate) slow_consumers: AtomicU64,
}

/// Adds one to a gauge for as long as it lives, so every exit path takes it back.
pub(crate) struct Gauge<'a>(&'a AtomicI64);

impl<'a> Gauge<'a> {
    pub(crate) fn hold(gauge: &'a AtomicI64) -> Self {
        gauge.fetch_add(1, Ordering::Relaxed);
        Self(gauge)
    }
}

impl Drop for Gauge<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Metrics {
    pub(crate) fn count(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// The text exposition; `tasks` is the number of tracked tasks (connections, sockets,
    /// rooms) still running.
    pub(crate) fn render(&self, tasks: usize) -> String {
        let mut out = String::new();
        let mut line = |name: &str, kind: &str, help: &str, value: String| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
            );
        };
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed).to_string();
        let gauge = |a: &AtomicI64| a.load(Ordering::Relaxed).to_string();
        line(
            "streamit_http_requests_total",
            "counter",
            "HTTP requests answered.",
            get(&self.http_requests),
        );
        line(
            "streamit_sockets_open",
            "gauge",
            "WebSockets open, admitted or being checked.",
            gauge(&self.sockets_open),
        );
        line(
            "streamit_rooms_live",
            "gauge",
            "Room tasks running on this node.",
            gauge(&self.rooms_live),
        );
        line(
            "streamit_broadcasts_total",
            "counter",
            "Room broadcasts sent.",
            get(&self.broadcasts),
        );
        line(
            "streamit_slow_consumers_total",
            "counter",
            "Sockets closed with 4029.",
            get(&self.slow_consumers),
        );
        line(
            "streamit_tasks",
            "gauge",
            "Connection, socket and room tasks running.",
            tasks.to_string(),
        );
        out
    }
}
