//! The process's own figures, read from `/proc/self` at each scrape (Linux; elsewhere none):
//! resident memory, open files (every socket is one) and CPU time.

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric as _};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;

#[derive(Debug)]
pub(super) struct Process;

/// What `/proc/self` says now.
#[derive(Debug, Default, PartialEq)]
struct Reading {
    resident_bytes: Option<u64>,
    open_files: Option<u64>,
    cpu_seconds: Option<f64>,
    max_open_files: Option<u64>,
}

impl Collector for Process {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        let now = read();
        let gauges = [
            (
                "process_resident_memory_bytes",
                "Resident memory of the server process",
                now.resident_bytes,
            ),
            (
                "process_open_fds",
                "Open file descriptors; every socket is one",
                now.open_files,
            ),
            (
                "process_max_fds",
                "The open-file limit the process runs with",
                now.max_open_files,
            ),
        ];
        for (name, help, value) in gauges {
            if let Some(value) = value.and_then(|v| i64::try_from(v).ok()) {
                let gauge = ConstGauge::new(value);
                gauge.encode(encoder.encode_descriptor(
                    name,
                    help,
                    None,
                    gauge.metric_type(),
                )?)?;
            }
        }
        if let Some(seconds) = now.cpu_seconds {
            let counter = ConstCounter::new(seconds);
            let help = "CPU time the process used, user and system";
            counter.encode(encoder.encode_descriptor(
                "process_cpu_seconds",
                help,
                None,
                counter.metric_type(),
            )?)?;
        }
        Ok(())
    }
}

#[cfg(target_os = "linux")]
fn read() -> Reading {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
    Reading {
        resident_bytes: resident_bytes(&status),
        open_files: std::fs::read_dir("/proc/self/fd")
            .ok()
            .map(|entries| entries.count() as u64),
        cpu_seconds: cpu_seconds(&stat, clock_ticks()),
        max_open_files: max_open_files(&limits),
    }
}

#[cfg(not(target_os = "linux"))]
fn read() -> Reading {
    Reading::default()
}

/// `VmRSS:   12345 kB` in `/proc/self/status`.
fn resident_bytes(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// utime + stime (fields 14 and 15) of `/proc/self/stat`, after the command's closing paren.
fn cpu_seconds(stat: &str, ticks_per_second: f64) -> Option<f64> {
    let (_, after) = stat.rsplit_once(')')?;
    let mut fields = after.split_whitespace().skip(11);
    let user: f64 = fields.next()?.parse().ok()?;
    let system: f64 = fields.next()?.parse().ok()?;
    Some((user + system) / ticks_per_second)
}

/// The soft limit of `Max open files` in `/proc/self/limits`.
fn max_open_files(limits: &str) -> Option<u64> {
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// Linux reports CPU time in clock ticks, 100 a second on every architecture it runs on today.
fn clock_ticks() -> f64 {
    100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_files_are_read_field_by_field() {
        assert_eq!(
            resident_bytes("Name:\tx\nVmRSS:\t   2048 kB\n"),
            Some(2 * 1024 * 1024)
        );
        let stat = "42 (a (weird) name) S 1 2 3 4 5 6 7 8 9 10 250 150 0 0";
        assert_eq!(cpu_seconds(stat, 100.0), Some(4.0));
        let limits = "Limit Soft Limit Hard Limit Units\nMax open files            20000                20000                files\n";
        assert_eq!(max_open_files(limits), Some(20_000));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn this_process_reads() {
        let now = read();
        assert!(now.resident_bytes.is_some_and(|b| b > 0));
        assert!(now.open_files.is_some_and(|n| n > 0));
        assert!(now.cpu_seconds.is_some());
    }
}
