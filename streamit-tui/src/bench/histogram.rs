//! Latency in µs on an HDR histogram (1 µs to 60 s, 3 significant digits), reported in ms.

use hdrhistogram::Histogram;
use serde_json::{Value, json};

/// Highest latency recorded, µs; longer ones are clamped to it.
const MAX_MICROS: u64 = 60_000_000;

/// One latency series.
#[derive(Clone, Debug)]
pub(crate) struct Latency(Histogram<u64>);

impl Default for Latency {
    fn default() -> Self {
        Self(Histogram::new_with_bounds(1, MAX_MICROS, 3).expect("constant valid bounds"))
    }
}

impl Latency {
    /// Records one latency, µs (0 counts as 1, over 60 s as 60 s).
    pub(crate) fn record(&mut self, micros: u64) {
        self.0.saturating_record(micros.clamp(1, MAX_MICROS));
    }

    /// Adds another series' records.
    pub(crate) fn merge(&mut self, other: &Self) {
        self.0.add(&other.0).expect("same bounds everywhere");
    }

    /// `{n, p50, p90, p99, max}` in ms.
    pub(crate) fn report(&self) -> Value {
        let ms = |q: f64| self.0.value_at_quantile(q) as f64 / 1000.0;
        json!({
            "n": self.0.len(), "p50": ms(0.5), "p90": ms(0.9), "p99": ms(0.99),
            "max": self.0.max() as f64 / 1000.0,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_milliseconds() {
        let mut latency = Latency::default();
        for micros in [0, 1_000, 2_000, 120_000_000] {
            latency.record(micros);
        }
        let report = latency.report();
        assert_eq!(report["n"], 4);
        assert!((report["p50"].as_f64().unwrap() - 1.0).abs() < 0.01);
        assert!(report["max"].as_f64().unwrap() >= 59_000.0);
    }
}
