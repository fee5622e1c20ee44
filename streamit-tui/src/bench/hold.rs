//! `hold`: W workers open R × M sockets as fast as they can (each waits for its snapshot) and
//! hold them: admissions per second while rooms fill, and server memory per held socket.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::{Value, json};

use crate::bench::proc::{Meter, Servers};
use crate::bench::target::Target;
use crate::bench::wire::{self, Violations};
use crate::bench::{BenchError, Common, report};

/// Time for write-behind and the allocator to settle before memory is read.
const SETTLE: Duration = Duration::from_secs(2);

pub(crate) async fn run(
    url: &str,
    args: &Common,
    violations: &Violations,
) -> Result<Value, BenchError> {
    let target = Target::new(url, args.bare)?;
    let servers = Servers::new(&args.server_pid);
    let rss_fresh = servers.rss_kib();
    let mut seats = Vec::new();
    for _ in 0..args.rooms {
        let (_host, code) = target.hosted_room().await?;
        for _ in 0..args.members {
            seats.push((code, target.member(code).await?));
        }
    }
    let rss_accounts = servers.rss_kib();
    let seats = Arc::new(seats);
    let next = Arc::new(AtomicUsize::new(0));
    let meter = Meter::start(&servers);
    let workers: Vec<_> = (0..args.workers.max(1))
        .map(|_| {
            let (seats, next, url) = (Arc::clone(&seats), Arc::clone(&next), url.to_owned());
            let (violations, bare) = (violations.clone(), args.bare);
            tokio::spawn(async move {
                let (mut held, mut failed) = (Vec::new(), 0u64);
                while let Some((code, token)) = seats.get(next.fetch_add(1, Ordering::Relaxed)) {
                    match wire::open(&url, *code, token, bare, &violations).await {
                        Ok((ws, _)) => held.push(ws),
                        Err(_) => failed += 1,
                    }
                }
                (held, failed)
            })
        })
        .collect();
    let (mut sockets, mut failed) = (Vec::new(), 0);
    for worker in workers {
        let (held, f) = worker.await.expect("a worker does not panic");
        sockets.extend(held);
        failed += f;
    }
    let fill_seconds = meter.elapsed_s();
    let measured = meter.finish();
    tokio::time::sleep(SETTLE).await;
    let rss_held = servers.rss_kib();
    let held = sockets.len();
    let mut line = json!({
        "bench": "hold", "bare": args.bare, "rooms": args.rooms, "members": args.members,
        "workers": args.workers, "sockets_held": held, "failed": failed,
        "fill_seconds": fill_seconds, "admissions_per_s": held as f64 / fill_seconds,
        "server_rss_kib_stages": {"fresh": rss_fresh, "with_accounts": rss_accounts, "with_sockets": rss_held},
        "server_rss_per_socket_kib": (rss_held as f64 - rss_accounts as f64) / held.max(1) as f64,
    });
    report::merge(&mut line, measured);
    drop(sockets);
    Ok(line)
}
