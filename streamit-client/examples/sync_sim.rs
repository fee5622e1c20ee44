//! The sync engine in virtual time at the issue's conditions: prints, for loopback, 5–60 ms
//! and 20–200 ms of jitter each way, one report per seed and a Markdown table of the
//! medians over the seeds.
//!
//! ```text
//! cargo run -p streamit-client --example sync_sim -- [seeds...]
//! ```
//!
//! `streamit bench sync` measures the same columns with the same definitions over real
//! sockets, a live server and the `netem` proxy.

use streamit_client::sync::sim::{Delay, Report, Scenario};

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Median and largest convergence time over every action of every run, s; and how many
/// member-actions never converged.
fn convergence(reports: &[Report], index: usize) -> String {
    let mut times = Vec::new();
    let mut never = 0;
    for report in reports {
        let action = &report.converge[index];
        times.extend(
            action
                .times_ms
                .iter()
                .flatten()
                .map(|&t| t as f64 / 1_000.0),
        );
        never += action.never();
    }
    let never = if never == 0 {
        String::new()
    } else {
        format!(", {never} never")
    };
    format!(
        "{:.2} / {:.2} s{never}",
        median(times.clone()),
        times.iter().copied().fold(0.0, f64::max)
    )
}

fn main() {
    let seeds: Vec<u64> = std::env::args()
        .skip(1)
        .map(|s| s.parse().expect("seeds are integers"))
        .collect();
    let seeds = if seeds.is_empty() {
        vec![1, 2, 3]
    } else {
        seeds
    };
    let passes = [
        ("loopback", Delay::loopback()),
        ("5–60 ms", Delay::uniform(5.0, 60.0)),
        ("20–200 ms", Delay::uniform(20.0, 200.0)),
    ];
    let mut rows = Vec::new();
    for (name, delay) in passes {
        let reports: Vec<Report> = seeds
            .iter()
            .map(|&seed| {
                let report = Scenario::standard(seed, delay).run();
                println!("## {name}, seed {seed}\n{report}\n");
                report
            })
            .collect();
        let med = |f: &dyn Fn(&Report) -> f64| median(reports.iter().map(f).collect());
        let actions = &reports[0].converge;
        let converge: Vec<String> = (0..actions.len())
            .map(|i| format!("{:?}: {}", actions[i].action, convergence(&reports, i)))
            .collect();
        rows.push(format!(
            "| {name} | {:.2} / {:.2} ms | {:.2} / {:.2} ms | {} | {:.2} (worst member {:.2}) | {} |",
            med(&|r| r.offset_error_ms.p50),
            med(&|r| r.offset_error_ms.p99),
            med(&|r| r.drift_ms.p50),
            med(&|r| r.drift_ms.p99),
            converge.join("<br>"),
            med(&|r| r.corrections_per_minute),
            med(&|r| r.worst_corrections_per_minute),
            reports
                .iter()
                .map(|r| r.exact_media_corrections)
                .sum::<usize>(),
        ));
    }
    println!(
        "| pass | clock-offset error p50 / p99 | drift after convergence p50 / p99 | converged after each host action (median / max) | corrections per member per minute at steady state | on exact media clocks (all seeds) |"
    );
    println!("|---|---|---|---|---|---|");
    for row in rows {
        println!("{row}");
    }
}
