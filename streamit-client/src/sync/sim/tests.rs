//! The sync targets of issue 16, asserted on the simulation (virtual time only).

use super::*;

fn run(delay: Delay) -> Report {
    let report = Scenario::standard(16, delay).run();
    println!("{report}");
    report
}

/// Every host action converged within `limit_ms`, none never.
fn converged_within(report: &Report, limit_ms: u64) {
    for c in &report.converge {
        assert_eq!(c.never(), 0, "{c:?}");
        let (_, max) = c.median_max_ms();
        assert!(max.is_some_and(|max| max <= limit_ms), "{c:?}");
    }
}

#[test]
fn on_loopback() {
    let report = run(Delay::loopback());
    assert!(report.offset_error_ms.p99 <= 2.0);
    assert!(report.drift_ms.p99 <= 10.0);
    converged_within(&report, 1_000);
    assert_eq!(report.exact_media_corrections, 0);
    assert!(report.corrections_per_minute <= 1.0);
}

#[test]
fn behind_5_to_60_ms_of_jitter() {
    let report = run(Delay::uniform(5.0, 60.0));
    assert!(report.offset_error_ms.p99 <= 5.0);
    assert!(report.drift_ms.p50 <= 5.0);
    assert!(report.drift_ms.p99 <= 20.0);
    converged_within(&report, 1_000);
    assert_eq!(report.exact_media_corrections, 0);
    assert!(report.corrections_per_minute <= 1.0);
}

#[test]
fn behind_20_to_200_ms_of_jitter() {
    let report = run(Delay::uniform(20.0, 200.0));
    assert!(report.drift_ms.p99 <= 40.0);
}

#[test]
fn the_same_seed_gives_the_same_run_and_it_reads_as_json() {
    let scenario = Scenario::standard(3, Delay::uniform(5.0, 60.0));
    let report = scenario.run();
    assert_eq!(report, scenario.run());
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["converge"].as_array().map(Vec::len), Some(7));
    assert_eq!(
        json["converge"][2]["action"],
        serde_json::json!({"SetRate": 1.5})
    );
    assert!(json["drift_ms"]["p99"].is_f64());
}

/// An app whose timer is late by up to 20 ms: starts land a little off and are nudged in,
/// which may take a bit over a second; steady state is unchanged.
#[test]
fn ticks_that_come_up_to_20_ms_late() {
    let mut scenario = Scenario::standard(16, Delay::uniform(5.0, 60.0));
    scenario.tick_jitter_ms = 20;
    let report = scenario.run();
    println!("{report}");
    assert!(report.drift_ms.p99 <= 20.0);
    converged_within(&report, 2_000);
    assert_eq!(report.exact_media_corrections, 0);
    assert!(report.corrections_per_minute <= 1.0);
}
