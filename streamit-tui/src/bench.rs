//! `streamit bench`: load bots against a running server (PERFORMANCE.md), one JSON line per
//! run on stdout.
//!
//! The bots that measure the server (`fanout`, `chat`, `connect`, `hold`, `churn`) speak the
//! protocol on raw tokio-tungstenite sockets with the protocol crate's types: a full SDK
//! session per member (a background task, an event channel, clock pings, a room model) would
//! cost the one bot core more than the server spends on that member, and the bots, not the
//! server, would be measured. `sync` measures the SDK itself, so it runs SDK sessions.
//!
//! Modules: `target` (rooms and tokens: the REST API, or made up for the bare server),
//! `wire` (a bot's socket and the protocol checks every frame goes through), `proc` (CPU and
//! memory from `/proc`), `histogram` (latency in µs, reported in ms), `report` (the JSON
//! line), then one module per scenario.

mod chat;
mod churn;
mod connect;
mod fanout;
mod histogram;
mod hold;
mod proc;
mod report;
mod sync;
mod target;
mod wire;

use std::net::{IpAddr, ToSocketAddrs as _};

use clap::{Args, Subcommand};

use crate::bench::wire::Violations;

/// Longest run any scenario accepts, s: the bots are bounded in time whatever is asked.
const MAX_SECONDS: u64 = 3_600;
/// Most sockets any scenario opens: this machine's open-file limit per process.
const MAX_SOCKETS: usize = 20_000;

/// What `streamit bench` takes.
#[derive(Debug, Args)]
pub(crate) struct BenchArgs {
    #[command(subcommand)]
    pub(crate) scenario: Scenario,
}

/// The scenarios.
#[derive(Debug, Clone, Subcommand)]
pub(crate) enum Scenario {
    /// R rooms × M members; each host seeks at `--rate`; send → read latency per member.
    Fanout(Common),
    /// R rooms × M members chatting `--rate` lines/s per room; every accepted line must reach
    /// every member.
    Chat(Common),
    /// W workers connect to one room of M members, read the snapshot, close, again.
    Connect(Common),
    /// W workers open R × M sockets as fast as they can and hold them: admissions per second
    /// and server memory per held socket.
    Hold(Common),
    /// Members join and leave rooms while each host seeks at `--rate` and chats.
    Churn(Common),
    /// M SDK members per room with skewed clocks (and some skewed media clocks) behind a
    /// jittery proxy follow a host who plays, seeks, changes rate, pauses, seeks paused and
    /// resumes: clock error, drift, convergence and corrections.
    Sync(Common),
}

/// Options every scenario takes (each uses those it needs).
#[derive(Debug, Clone, Args)]
pub(crate) struct Common {
    /// Rooms.
    #[arg(long, default_value_t = 10)]
    pub(crate) rooms: usize,
    /// Members per room (besides the host).
    #[arg(long, default_value_t = 50)]
    pub(crate) members: usize,
    /// Changes (fanout, churn: seeks; chat: lines) per second per room.
    #[arg(long, default_value_t = 4.0)]
    pub(crate) rate: f64,
    /// How long the load runs, s.
    #[arg(long, default_value_t = 20)]
    pub(crate) seconds: u64,
    /// Concurrent connecting workers (connect, hold).
    #[arg(long, default_value_t = 32)]
    pub(crate) workers: usize,
    /// The server's processes, comma-separated: CPU and memory from `/proc`, summed.
    #[arg(long, value_delimiter = ',')]
    pub(crate) server_pid: Vec<u32>,
    /// Where members connect (another node of a cluster); the server URL by default.
    #[arg(long)]
    pub(crate) member_url: Option<String>,
    /// Drive the bare broadcast server (`streamit-server/benches/bare.rs`): no REST setup,
    /// made-up room codes, a dummy token.
    #[arg(long)]
    pub(crate) bare: bool,
    /// Allow a server that is not on a loopback address.
    #[arg(long)]
    pub(crate) allow_remote: bool,
    /// Churn: host chat lines per second per room.
    #[arg(long, default_value_t = 0.5)]
    pub(crate) chat_rate: f64,
    /// Churn: how long a member stays, ms, `MIN-MAX`.
    #[arg(long, default_value = "1000-8000", value_parser = range)]
    pub(crate) stay_ms: (u64, u64),
    /// Churn: how long a member is away between stays, ms, `MIN-MAX`.
    #[arg(long, default_value = "200-2000", value_parser = range)]
    pub(crate) pause_ms: (u64, u64),
    /// Churn: seconds between a member's chat lines while it is in (0: members do not chat).
    #[arg(long, default_value_t = 3.0)]
    pub(crate) member_chat_seconds: f64,
    /// Churn: seconds between two `churn-sample` lines.
    #[arg(long, default_value_t = 10)]
    pub(crate) sample_seconds: u64,
    /// Churn: the server's SQLite file, whose size and WAL's size are sampled too.
    #[arg(long)]
    pub(crate) sqlite: Option<String>,
    /// Sync: largest clock skew of a member, ms (each gets one drawn from ±this).
    #[arg(long, default_value_t = 5_000)]
    pub(crate) skew_ms: u64,
    /// Sync: one-way latency the proxy adds, ms, `MIN-MAX` (drawn per frame).
    #[arg(long, default_value = "5-40", value_parser = range)]
    pub(crate) latency_ms: (u64, u64),
    /// Sync: largest media-clock skew of a member's player, % (0.15: 1.5 ms a second).
    #[arg(long, default_value_t = 0.15)]
    pub(crate) media_skew_pct: f64,
    /// Sync: share of each room's members whose media clock is skewed (spread up to
    /// `--media-skew-pct`, alternately fast and slow); the others' are exact.
    #[arg(long, default_value_t = 0.5)]
    pub(crate) media_skew_share: f64,
    /// Sync: how long members' clocks sync before the host's script starts, ms (the
    /// simulation's first `PLAY` comes at 3 s; 0 plays as the last member joins).
    #[arg(long, default_value_t = 3_000)]
    pub(crate) warmup_ms: u64,
}

/// Why a bench could not run or failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum BenchError {
    #[error("{0} is not a loopback address; pass --allow-remote to load a remote server")]
    Remote(String),
    #[error("not a server URL: {0}")]
    Url(String),
    #[error("{what} is over the bots' bound of {max}")]
    TooBig { what: &'static str, max: u64 },
    #[error("setting up: {0}")]
    Setup(String),
    #[error("{0} does not apply to the bare server")]
    NotBare(&'static str),
    #[error("{count} frames broke the protocol; the first: {first}")]
    Protocol { count: u64, first: String },
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// `MIN-MAX` (or one number for both).
fn range(value: &str) -> Result<(u64, u64), String> {
    let (lo, hi) = value.split_once('-').unwrap_or((value, value));
    let parse = |s: &str| s.trim().parse::<u64>().map_err(|e| e.to_string());
    let (lo, hi) = (parse(lo)?, parse(hi)?);
    if lo > hi {
        return Err(format!("{lo} is over {hi}"));
    }
    Ok((lo, hi))
}

/// Runs a scenario against `server` and prints its JSON line.
///
/// # Errors
/// A remote server without `--allow-remote`, sizes over the bounds, a failed setup, or any
/// frame that broke the protocol (after the line is printed).
pub(crate) async fn run(server: &str, args: BenchArgs) -> Result<(), BenchError> {
    let (Scenario::Fanout(common)
    | Scenario::Chat(common)
    | Scenario::Connect(common)
    | Scenario::Hold(common)
    | Scenario::Churn(common)
    | Scenario::Sync(common)) = &args.scenario;
    check_target(server, common.allow_remote)?;
    if let Some(member_url) = &common.member_url {
        check_target(member_url, common.allow_remote)?;
    }
    let sockets = common.rooms.saturating_mul(common.members + 1);
    if sockets > MAX_SOCKETS {
        return Err(BenchError::TooBig {
            what: "rooms × (members + 1)",
            max: MAX_SOCKETS as u64,
        });
    }
    if common.seconds > MAX_SECONDS {
        return Err(BenchError::TooBig {
            what: "--seconds",
            max: MAX_SECONDS,
        });
    }
    // Every socket is an open file; hold needs thousands. Best effort: a lower limit only
    // makes the biggest runs fail to connect, which they report.
    let _ = rlimit::increase_nofile_limit(u64::MAX);
    // The bare server has no REST API, chat rules or clock to measure these against.
    let real_only = match &args.scenario {
        Scenario::Chat(_) => Some("chat"),
        Scenario::Churn(_) => Some("churn"),
        Scenario::Sync(_) => Some("sync"),
        Scenario::Fanout(_) | Scenario::Connect(_) | Scenario::Hold(_) => None,
    };
    if let (true, Some(scenario)) = (common.bare, real_only) {
        return Err(BenchError::NotBare(scenario));
    }
    let url = server.trim_end_matches('/').to_owned();
    let violations = Violations::default();
    let line = match &args.scenario {
        Scenario::Fanout(_) => fanout::run(&url, common, &violations).await?,
        Scenario::Chat(_) => chat::run(&url, common, &violations).await?,
        Scenario::Connect(_) => connect::run(&url, common, &violations).await?,
        Scenario::Hold(_) => hold::run(&url, common, &violations).await?,
        Scenario::Churn(_) => churn::run(&url, common, &violations).await?,
        Scenario::Sync(_) => sync::run(&url, common, &violations).await?,
    };
    report::print(line, &violations);
    violations.into_result()
}

/// Refuses a server that is not on this machine unless `allow_remote`: the bots are a load
/// generator, not something to point at someone else's server by mistake.
fn check_target(url: &str, allow_remote: bool) -> Result<(), BenchError> {
    if allow_remote {
        return Ok(());
    }
    let rest = url
        .split_once("://")
        .map_or(url, |(_, rest)| rest)
        .split('/')
        .next()
        .unwrap_or_default();
    let with_port = if rest.starts_with('[') || rest.matches(':').count() == 1 {
        rest.to_owned()
    } else {
        format!("{rest}:80")
    };
    let addrs: Vec<IpAddr> = with_port
        .to_socket_addrs()
        .map_err(|_| BenchError::Url(url.to_owned()))?
        .map(|a| a.ip())
        .collect();
    if addrs.is_empty() || addrs.iter().any(|ip| !ip.is_loopback()) {
        return Err(BenchError::Remote(url.to_owned()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_servers_without_allow_remote() {
        assert!(check_target("http://127.0.0.1:8000", false).is_ok());
        assert!(check_target("http://localhost:8000/", false).is_ok());
        assert!(check_target("http://[::1]:8000", false).is_ok());
        assert!(matches!(
            check_target("http://192.0.2.7:8000", false),
            Err(BenchError::Remote(_))
        ));
        assert!(check_target("http://192.0.2.7:8000", true).is_ok());
    }

    #[test]
    fn ranges_read_min_max_or_one_number() {
        assert_eq!(range("5-40"), Ok((5, 40)));
        assert_eq!(range("7"), Ok((7, 7)));
        assert!(range("9-3").is_err());
    }
}
