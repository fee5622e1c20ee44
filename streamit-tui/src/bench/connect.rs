//! `connect`: W workers connect to one room of M members as fast as they can, each waiting
//! for its snapshot before closing: admissions per second under churn (every socket also
//! costs the room a `USER_JOINED` and a `USER_LEFT`).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::bench::histogram::Latency;
use crate::bench::proc::{Meter, Servers};
use crate::bench::target::Target;
use crate::bench::wire::{self, Violations};
use crate::bench::{BenchError, Common, report};

pub(crate) async fn run(
    url: &str,
    args: &Common,
    violations: &Violations,
) -> Result<Value, BenchError> {
    let target = Target::new(url, args.bare)?;
    let (_host, code) = target.hosted_room().await?;
    let mut members = Vec::new();
    for _ in 0..args.members.max(1) {
        members.push(target.member(code).await?);
    }
    let members = Arc::new(members);
    let latency = Arc::new(Mutex::new(Latency::default()));
    let meter = Meter::start(&Servers::new(&args.server_pid));
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let workers: Vec<_> = (0..args.workers.max(1))
        .map(|worker| {
            let (members, latency, url) =
                (Arc::clone(&members), Arc::clone(&latency), url.to_owned());
            let (violations, bare, stride) = (violations.clone(), args.bare, args.workers.max(1));
            tokio::spawn(async move {
                let (mut admitted, mut failed) = (0u64, 0u64);
                let mut why = BTreeMap::new();
                let mut i = worker;
                while Instant::now() < deadline {
                    let began = Instant::now();
                    let token = &members[i % members.len()];
                    match wire::open(&url, code, token, bare, &violations).await {
                        Ok((mut ws, _)) => {
                            latency
                                .lock()
                                .expect("no panics while recording")
                                .record(began.elapsed().as_micros() as u64);
                            let _ = ws.close(None).await;
                            admitted += 1;
                        }
                        Err(refusal) => {
                            failed += 1;
                            *why.entry(refusal.to_string()).or_insert(0u64) += 1;
                        }
                    }
                    i += stride;
                }
                (admitted, failed, why)
            })
        })
        .collect();
    let (mut admitted, mut failed, mut failures) = (0, 0, BTreeMap::new());
    for worker in workers {
        let (a, f, why) = worker.await.expect("a worker does not panic");
        admitted += a;
        failed += f;
        for (reason, n) in why {
            *failures.entry(reason).or_insert(0) += n;
        }
    }
    let elapsed = meter.elapsed_s();
    let mut line = json!({
        "bench": "connect", "bare": args.bare, "workers": args.workers, "members": args.members,
        "seconds": args.seconds, "admitted": admitted, "failed": failed,
        "failed_by_reason": failures,
        "admissions_per_s": admitted as f64 / elapsed,
        "admission_ms": latency.lock().expect("workers are done").report(),
    });
    report::merge(&mut line, meter.finish());
    Ok(line)
}
