//! Network conditions on loopback: a TCP proxy in front of a server that delays what it
//! carries by a latency with jitter, delays "lost" segments by a retransmission timeout, and
//! can cut, freeze or refuse connections. For apps, bots and tests that want to see how a
//! client copes with a real network without leaving the machine.
//!
//! Behind the `netem` feature (it needs tokio's `io-util`).
//!
//! ```no_run
//! use std::time::Duration;
//! use streamit_client::Client;
//! use streamit_client::netem::{Conditions, NetemProxy};
//!
//! # async fn demo(server: std::net::SocketAddr) -> Result<(), Box<dyn std::error::Error>> {
//! // 5–60 ms each way, 1 % of segments lost.
//! let conditions = Conditions::new()
//!     .latency(Duration::from_millis(5))
//!     .jitter(Duration::from_millis(55))
//!     .loss(0.01);
//! let proxy = NetemProxy::start(server, conditions).await?;
//! let client = Client::builder(proxy.base_url()).build()?;
//! # let _ = client;
//! # Ok(())
//! # }
//! ```
//!
//! The model, per direction of each connection: every chunk read is written `latency` plus a
//! uniform share of `jitter` later, never before the chunk ahead of it (TCP keeps order).
//! TCP never loses bytes: a lost segment arrives late, after a retransmission timeout (here
//! the larger of 200 ms and three times the longest delay), holding up what follows it, as
//! on a real link. Draws come from a seed (one per connection, from [`Conditions::seed`]),
//! so a run repeats its delays; the times they apply at are the real clock's.

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use crate::sync::simulated::splitmix64;

/// The shortest retransmission timeout, as Linux's (RFC 6298 says 1 s; Linux uses 200 ms).
const MIN_RETRANSMIT: Duration = Duration::from_millis(200);
/// Bytes read at a time from each side.
const CHUNK: usize = 16 * 1024;

/// What the network does to each direction of a connection.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
#[must_use]
pub struct Conditions {
    latency: Duration,
    jitter: Duration,
    loss: f64,
    seed: u64,
}

impl Conditions {
    /// A perfect network: no delay, no loss.
    pub fn new() -> Self {
        Self::default()
    }

    /// The shortest one-way delay.
    pub fn latency(mut self, latency: Duration) -> Self {
        self.latency = latency;
        self
    }

    /// Up to this much more, uniformly, for each chunk.
    pub fn jitter(mut self, jitter: Duration) -> Self {
        self.jitter = jitter;
        self
    }

    /// The share of chunks (0–1) that are lost once and retransmitted.
    pub fn loss(mut self, share: f64) -> Self {
        self.loss = share.clamp(0.0, 1.0);
        self
    }

    /// Seeds the draws (default 0).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// How long after `now` a chunk read now is due, drawing from `state`.
    fn due(&self, now: Instant, state: &mut u64) -> Instant {
        let mut due = now + self.latency + self.jitter.mul_f64(unit(state));
        if self.loss > 0.0 && unit(state) < self.loss {
            due += MIN_RETRANSMIT.max((self.latency + self.jitter) * 3);
        }
        due
    }
}

/// A uniform draw in [0, 1).
fn unit(state: &mut u64) -> f64 {
    *state = splitmix64(*state);
    (*state >> 11) as f64 / (1u64 << 53) as f64
}

/// What every connection watches: bumped to cut or freeze the connections open now.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Signals {
    cuts: u64,
    freezes: u64,
    stopped: bool,
}

struct Shared {
    upstream: SocketAddr,
    conditions: Mutex<Conditions>,
    accepted: AtomicU64,
    held: AtomicBool,
    signals: watch::Sender<Signals>,
}

/// A loopback TCP proxy to `upstream` under [`Conditions`]; it stops (and drops every
/// connection) when dropped.
pub struct NetemProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for NetemProxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NetemProxy")
            .field("addr", &self.addr)
            .field("upstream", &self.shared.upstream)
            .finish_non_exhaustive()
    }
}

impl NetemProxy {
    /// Listens on `127.0.0.1:0` and forwards each connection to `upstream`.
    ///
    /// # Errors
    /// When the listening socket cannot be bound.
    pub async fn start(upstream: SocketAddr, conditions: Conditions) -> io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (signals, _) = watch::channel(Signals::default());
        let shared = Arc::new(Shared {
            upstream,
            conditions: Mutex::new(conditions),
            accepted: AtomicU64::new(0),
            held: AtomicBool::new(false),
            signals,
        });
        tokio::spawn(accept(listener, Arc::clone(&shared)));
        Ok(Self { addr, shared })
    }

    /// Where to connect.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://` and the address, for [`Client::builder`](crate::Client::builder).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// New conditions, for connections accepted from now on.
    pub fn set_conditions(&self, conditions: Conditions) {
        *self
            .shared
            .conditions
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = conditions;
    }

    /// Drops every open connection, with no goodbye: a lost network.
    pub fn cut(&self) {
        self.shared.signals.send_modify(|s| s.cuts += 1);
    }

    /// Stops forwarding on every open connection but keeps it open: a silent network.
    pub fn freeze(&self) {
        self.shared.signals.send_modify(|s| s.freezes += 1);
    }

    /// Refuses new connections (accepts and drops them) until [`release`](Self::release).
    pub fn hold(&self) {
        self.shared.held.store(true, Ordering::SeqCst);
    }

    /// Forwards new connections again.
    pub fn release(&self) {
        self.shared.held.store(false, Ordering::SeqCst);
    }

    /// Connections forwarded so far (held ones not counted).
    pub fn connections(&self) -> u64 {
        self.shared.accepted.load(Ordering::Relaxed)
    }
}

impl Drop for NetemProxy {
    fn drop(&mut self) {
        self.shared.signals.send_modify(|s| s.stopped = true);
    }
}

async fn accept(listener: TcpListener, shared: Arc<Shared>) {
    let mut signals = shared.signals.subscribe();
    loop {
        let accepted = tokio::select! {
            _ = signals.wait_for(|s| s.stopped) => return,
            accepted = listener.accept() => accepted,
        };
        let Ok((client, _)) = accepted else { continue };
        if shared.held.load(Ordering::SeqCst) {
            continue;
        }
        let conditions = *shared
            .conditions
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let number = shared.accepted.fetch_add(1, Ordering::Relaxed);
        let upstream = shared.upstream;
        let signals = shared.signals.subscribe();
        tokio::spawn(async move {
            let Ok(server) = TcpStream::connect(upstream).await else {
                return;
            };
            let seed = splitmix64(conditions.seed ^ number);
            forward(client, server, conditions, seed, signals).await;
        });
    }
}

/// Forwards both directions until either ends, the connection is cut or the proxy stops;
/// frozen, it holds the connection open without forwarding until one of those.
async fn forward(
    client: TcpStream,
    server: TcpStream,
    conditions: Conditions,
    seed: u64,
    mut signals: watch::Receiver<Signals>,
) {
    let at_start = *signals.borrow_and_update();
    // The halves stay here, so that a frozen connection stays open.
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let up = seed.wrapping_mul(2);
    let both = async {
        tokio::join!(
            delay_copy(&mut client_read, &mut server_write, conditions, up),
            delay_copy(&mut server_read, &mut client_write, conditions, up | 1),
        )
    };
    let cut = |s: &Signals| s.stopped || s.cuts != at_start.cuts;
    let mut frozen = signals.clone();
    let mut after_freeze = signals.clone();
    tokio::select! {
        _ = both => {}
        () = async { drop(signals.wait_for(cut).await) } => {}
        () = async { drop(frozen.wait_for(|s| s.freezes != at_start.freezes).await) } => {
            // Nothing is forwarded any more; the sockets stay open until a cut.
            drop(after_freeze.wait_for(cut).await);
        }
    }
}

/// Copies `from` to `to`, each chunk written when [`Conditions::due`] says (and not before
/// the chunk ahead of it); shuts `to` down after `from` ends.
async fn delay_copy(
    from: &mut OwnedReadHalf,
    to: &mut OwnedWriteHalf,
    conditions: Conditions,
    seed: u64,
) {
    let (sender, mut receiver) = mpsc::unbounded_channel::<(Instant, Vec<u8>)>();
    let read = async move {
        let mut state = seed;
        let mut last_due = Instant::now();
        let mut buffer = vec![0; CHUNK];
        while let Ok(n @ 1..) = from.read(&mut buffer).await {
            let due = conditions.due(Instant::now(), &mut state).max(last_due);
            last_due = due;
            if sender.send((due, buffer[..n].to_vec())).is_err() {
                return;
            }
        }
    };
    let write = async move {
        while let Some((due, chunk)) = receiver.recv().await {
            tokio::time::sleep_until(due).await;
            if to.write_all(&chunk).await.is_err() {
                return;
            }
        }
        let _ = to.shutdown().await;
    };
    tokio::join!(read, write);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_are_within_the_conditions_and_repeat_with_the_seed() {
        let conditions = Conditions::new()
            .latency(Duration::from_millis(5))
            .jitter(Duration::from_millis(55));
        let now = Instant::now();
        let draws = |seed| {
            let mut state = seed;
            (0..1_000)
                .map(|_| conditions.due(now, &mut state) - now)
                .collect::<Vec<_>>()
        };
        let first = draws(1);
        assert_eq!(first, draws(1));
        assert_ne!(first, draws(2));
        let ms = |d: &Duration| d.as_secs_f64() * 1_000.0;
        assert!(first.iter().all(|d| (5.0..=60.0).contains(&ms(d))));
        assert!(first.iter().any(|d| ms(d) < 10.0) && first.iter().any(|d| ms(d) > 55.0));
    }

    #[test]
    fn a_lost_chunk_comes_a_retransmission_later() {
        let lossy = Conditions::new()
            .latency(Duration::from_millis(10))
            .loss(0.5);
        let now = Instant::now();
        let mut state = 7;
        let delays: Vec<_> = (0..1_000)
            .map(|_| lossy.due(now, &mut state) - now)
            .collect();
        let late = delays
            .iter()
            .filter(|d| **d > Duration::from_millis(100))
            .count();
        assert!((400..600).contains(&late), "{late}");
        assert!(
            delays
                .iter()
                .all(|d| { *d == Duration::from_millis(10) || *d == Duration::from_millis(210) })
        );
    }
}
