//! CPU and memory of processes from `/proc`: the server's (by `--server-pid`) and the bots'
//! own, so a run says whether the server or the bots were the limit.

use std::time::Instant;

use serde_json::{Value, json};

/// Bots' CPU share above which the run measured the bots, not the server.
const BOTS_LIMIT_SHARE: f64 = 0.9;
/// Clock ticks per second of `/proc/<pid>/stat` (`USER_HZ`, 100 on every Linux we run on).
const TICKS_PER_S: f64 = 100.0;

/// A process's readings: CPU seconds (user + system) and resident memory in KiB; zeros when
/// it cannot be read (no such process, not Linux).
pub(crate) fn stats(pid: &str) -> (f64, u64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    let cpu = (ticks(11) + ticks(12)) / TICKS_PER_S;
    (cpu, status_field(pid, "VmRSS:").unwrap_or(0))
}

/// A numeric field of `/proc/<pid>/status` (`VmRSS:`, `Threads:`).
pub(crate) fn status_field(pid: &str, name: &str) -> Option<u64> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find_map(|l| {
            l.strip_prefix(name)?
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
}

/// The servers named by `--server-pid`, summed.
#[derive(Debug, Clone)]
pub(crate) struct Servers(Vec<u32>);

impl Servers {
    pub(crate) fn new(pids: &[u32]) -> Self {
        Self(pids.to_vec())
    }

    /// CPU seconds and RSS KiB, summed over the servers; zeros without a pid.
    pub(crate) fn stats(&self) -> (f64, u64) {
        self.0
            .iter()
            .map(|pid| stats(&pid.to_string()))
            .fold((0.0, 0), |(cpu, rss), (c, r)| (cpu + c, rss + r))
    }

    pub(crate) fn rss_kib(&self) -> u64 {
        self.stats().1
    }
}

/// CPU of the servers and of the bots over the measured part of a run.
pub(crate) struct Meter {
    servers: Servers,
    started: Instant,
    server_cpu: f64,
    bots_cpu: f64,
}

impl Meter {
    /// Starts measuring now.
    pub(crate) fn start(servers: &Servers) -> Self {
        Self {
            servers: servers.clone(),
            started: Instant::now(),
            server_cpu: servers.stats().0,
            bots_cpu: stats("self").0,
        }
    }

    pub(crate) fn elapsed_s(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    /// The readings since `start`: `elapsed_s`, `server_cpu_s`, `server_cpu_share`,
    /// `server_rss_kib`, `bots_cpu_share`; warns on stderr when the bots were near a full
    /// core.
    pub(crate) fn finish(&self) -> Value {
        let elapsed = self.elapsed_s().max(f64::EPSILON);
        let (server_cpu, server_rss) = self.servers.stats();
        let bots = (stats("self").0 - self.bots_cpu) / elapsed;
        if bots > BOTS_LIMIT_SHARE {
            eprintln!(
                "streamit bench: the bots used {:.0} % of a core: they, not the server, were the limit",
                bots * 100.0
            );
        }
        json!({
            "elapsed_s": elapsed,
            "server_cpu_s": server_cpu - self.server_cpu,
            "server_cpu_share": (server_cpu - self.server_cpu) / elapsed,
            "server_rss_kib": server_rss,
            "bots_cpu_share": bots,
            "bots_limited": bots > BOTS_LIMIT_SHARE,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process() {
        let (_, rss) = stats("self");
        assert!(rss > 0, "a running process has resident memory");
        assert!(status_field("self", "Threads:").unwrap() >= 1);
        assert_eq!(stats("no-such-process"), (0.0, 0));
    }
}
