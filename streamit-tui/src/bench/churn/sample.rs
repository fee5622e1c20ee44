//! What `churn` samples as it runs: the server's memory, open files and threads (`/proc`),
//! its `/metrics`, the SQLite file's and its WAL's sizes, the bots' memory; and the summary
//! of each series over the run (first, last, min, max, least-squares slope).

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Value, json};

use crate::bench::proc;

/// The series a summary follows, as named in the sample lines.
pub(super) const SERIES: [&str; 10] = [
    "rss_kib",
    "open_files",
    "threads",
    "tasks",
    "sockets_open",
    "rooms_live",
    "db_kib",
    "wal_kib",
    "bots_rss_kib",
    "members_in",
];

/// Prometheus series summed into a reading (over their labels).
const METRICS: [(&str, &str); 10] = [
    ("tasks", "streamit_tasks"),
    ("sockets_open", "streamit_sockets_open"),
    ("rooms_live", "streamit_rooms_live"),
    ("broadcasts_total", "streamit_broadcasts_total"),
    ("deliveries_total", "streamit_deliveries_total"),
    ("admissions_total", "streamit_admissions_total"),
    ("socket_closes_total", "streamit_socket_closes_total"),
    ("http_requests_total", "streamit_http_requests_total"),
    ("slow_consumers_total", "streamit_slow_consumers_total"),
    ("socket_resumes_total", "streamit_socket_resumes_total"),
];

/// One reading of the server: its CPU seconds and the named values (-1 where unknown).
pub(super) struct Reading {
    pub(super) cpu_s: f64,
    pub(super) values: BTreeMap<&'static str, f64>,
}

/// Reads the server `pid` (if given), its `/metrics` at `url`, the SQLite file at `sqlite`
/// (if given), and the bots' own memory; `members_in` is the bots' count of members in.
pub(super) async fn read(
    http: &reqwest::Client,
    url: &str,
    pid: Option<u32>,
    sqlite: Option<&str>,
    members_in: u64,
) -> Reading {
    let (cpu_s, rss) = pid.map_or((0.0, 0), |pid| proc::stats(&pid.to_string()));
    let open_files = pid.map_or(-1.0, |pid| {
        std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(-1.0, |d| d.count() as f64)
    });
    let threads = pid
        .and_then(|pid| proc::status_field(&pid.to_string(), "Threads:"))
        .map_or(-1.0, |t| t as f64);
    let metrics = scrape(http, url).await;
    let file_kib = |suffix: &str| {
        sqlite.map_or(-1.0, |path| {
            std::fs::metadata(format!("{path}{suffix}")).map_or(-1.0, |m| (m.len() / 1024) as f64)
        })
    };
    let mut values = BTreeMap::from([
        ("rss_kib", rss as f64),
        ("open_files", open_files),
        ("threads", threads),
        ("db_kib", file_kib("")),
        ("wal_kib", file_kib("-wal")),
        ("bots_rss_kib", proc::stats("self").1 as f64),
        ("members_in", members_in as f64),
    ]);
    for (name, metric) in METRICS {
        values.insert(name, metrics.get(metric).copied().unwrap_or(-1.0));
    }
    Reading { cpu_s, values }
}

/// `/metrics`, each series summed over its labels; empty when it cannot be read (a server
/// without metrics is still a server to load).
async fn scrape(http: &reqwest::Client, url: &str) -> BTreeMap<String, f64> {
    let mut sums = BTreeMap::new();
    let answer = http
        .get(format!("{url}/metrics"))
        .timeout(Duration::from_secs(5))
        .send()
        .await;
    let Ok(text) = (match answer {
        Ok(answer) => answer.text().await,
        Err(error) => Err(error),
    }) else {
        return sums;
    };
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let Some((series, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let (Some(name), Ok(value)) = (series.split('{').next(), value.parse::<f64>()) else {
            continue;
        };
        *sums.entry(name.to_owned()).or_default() += value;
    }
    sums
}

/// Least-squares slope of `points` (seconds, value), per 10 minutes.
pub(super) fn slope_per_10_min(points: &[(f64, f64)]) -> f64 {
    if points.len() < 2 {
        return 0.0;
    }
    let n = points.len() as f64;
    let (mt, mv) = points
        .iter()
        .fold((0.0, 0.0), |(t, v), (pt, pv)| (t + pt / n, v + pv / n));
    let (num, den) = points.iter().fold((0.0, 0.0), |(num, den), (t, v)| {
        (num + (t - mt) * (v - mv), den + (t - mt) * (t - mt))
    });
    if den == 0.0 { 0.0 } else { num / den * 600.0 }
}

/// Each series' first, last, min, max and slopes (over the run and its second half).
pub(super) fn summary(series: &BTreeMap<&'static str, Vec<(f64, f64)>>, elapsed: f64) -> Value {
    let summary: BTreeMap<&str, Value> = series
        .iter()
        .map(|(name, points)| {
            let values = points.iter().map(|p| p.1);
            let second_half: Vec<(f64, f64)> = points
                .iter()
                .copied()
                .filter(|p| p.0 >= elapsed / 2.0)
                .collect();
            let line = json!({
                "first": points.first().map(|p| p.1), "last": points.last().map(|p| p.1),
                "max": values.clone().fold(f64::MIN, f64::max),
                "min": values.fold(f64::MAX, f64::min),
                "slope_per_10_min": slope_per_10_min(points),
                "second_half_slope_per_10_min": slope_per_10_min(&second_half),
            });
            (*name, line)
        })
        .collect();
    json!(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slope_of_a_line_per_ten_minutes() {
        let points: Vec<(f64, f64)> = (0..10).map(|t| (t as f64, 2.0 * t as f64 + 1.0)).collect();
        assert!((slope_per_10_min(&points) - 1200.0).abs() < 1e-9);
        assert_eq!(slope_per_10_min(&points[..1]), 0.0);
    }
}
