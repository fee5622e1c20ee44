//! A TCP proxy in front of the server, so a test can do to a client's connection what a
//! network does: cut it, freeze it (bytes stop, the socket stays open), refuse new ones, or
//! delay what it carries by a jittered latency.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// A one-way delay: each chunk read is held for `base` plus a pseudo-random share of
/// `jitter`, never overtaking the chunk before it (TCP keeps order).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Latency {
    pub(crate) base: Duration,
    pub(crate) jitter: Duration,
}

/// Forwards `127.0.0.1:<port>` to the server; stops on drop.
pub(crate) struct Proxy {
    pub(crate) base_url: String,
    shared: Arc<Shared>,
    stop: CancellationToken,
}

struct Shared {
    upstream: SocketAddr,
    /// Added to each direction of every connection; `None` forwards at once.
    latency: Option<Latency>,
    /// Connections accepted so far: each one's jitter seed.
    accepted: AtomicU64,
    /// New connections are dropped at once while held.
    held: AtomicBool,
    /// Cancelled to cut (or freeze) the connections open now; replaced after.
    cut: Mutex<CancellationToken>,
    freeze: Mutex<CancellationToken>,
}

impl Proxy {
    pub(crate) async fn start(upstream: SocketAddr) -> Self {
        Self::launch(upstream, None).await
    }

    /// A proxy that also delays each direction by `latency`, chunk by chunk.
    pub(crate) async fn with_latency(upstream: SocketAddr, latency: Latency) -> Self {
        Self::launch(upstream, Some(latency)).await
    }

    async fn launch(upstream: SocketAddr, latency: Option<Latency>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let shared = Arc::new(Shared {
            upstream,
            latency,
            accepted: AtomicU64::new(0),
            held: AtomicBool::new(false),
            cut: Mutex::new(CancellationToken::new()),
            freeze: Mutex::new(CancellationToken::new()),
        });
        let stop = CancellationToken::new();
        tokio::spawn(accept(listener, Arc::clone(&shared), stop.clone()));
        Self {
            base_url,
            shared,
            stop,
        }
    }

    /// Drops every open connection, without any close frame: a lost network.
    pub(crate) fn cut(&self) {
        replace(&self.shared.cut).cancel();
    }

    /// Stops forwarding on every open connection but keeps it open: a silent network.
    pub(crate) fn freeze(&self) {
        replace(&self.shared.freeze).cancel();
    }

    /// Refuses new connections (accepts and drops them) until [`release`](Self::release).
    pub(crate) fn hold(&self) {
        self.shared.held.store(true, Ordering::SeqCst);
    }

    pub(crate) fn release(&self) {
        self.shared.held.store(false, Ordering::SeqCst);
    }

    /// Connections forwarded so far (held ones not counted).
    pub(crate) fn connections(&self) -> u64 {
        self.shared.accepted.load(Ordering::Relaxed)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.cancel();
        self.cut();
    }
}

fn replace(slot: &Mutex<CancellationToken>) -> CancellationToken {
    std::mem::take(&mut *slot.lock().unwrap())
}

async fn accept(listener: TcpListener, shared: Arc<Shared>, stop: CancellationToken) {
    loop {
        let accepted = tokio::select! {
            () = stop.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        let Ok((client, _)) = accepted else { continue };
        if shared.held.load(Ordering::SeqCst) {
            continue;
        }
        let cut = shared.cut.lock().unwrap().clone();
        let freeze = shared.freeze.lock().unwrap().clone();
        let upstream = shared.upstream;
        let latency = shared.latency;
        let seed = shared.accepted.fetch_add(1, Ordering::Relaxed);
        tokio::spawn(async move {
            let Ok(server) = TcpStream::connect(upstream).await else {
                return;
            };
            match latency {
                None => forward(client, server, cut, freeze).await,
                Some(latency) => forward_late(client, server, latency, seed, cut, freeze).await,
            }
        });
    }
}

async fn forward(
    mut client: TcpStream,
    mut server: TcpStream,
    cut: CancellationToken,
    freeze: CancellationToken,
) {
    tokio::select! {
        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
        () = cut.cancelled() => {}
        () = freeze.cancelled() => cut.cancelled().await,
    }
}

/// [`forward`], each direction delayed by `latency`.
async fn forward_late(
    client: TcpStream,
    server: TcpStream,
    latency: Latency,
    seed: u64,
    cut: CancellationToken,
    freeze: CancellationToken,
) {
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    let both = async {
        tokio::join!(
            delay_copy(client_read, server_write, latency, 2 * seed),
            delay_copy(server_read, client_write, latency, 2 * seed + 1),
        )
    };
    tokio::select! {
        _ = both => {}
        () = cut.cancelled() => {}
        () = freeze.cancelled() => cut.cancelled().await,
    }
}

/// Copies `from` to `to`, each chunk written `latency` after it was read (and not before the
/// chunk ahead of it); shuts `to` down after `from` ends.
async fn delay_copy(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, latency: Latency, seed: u64) {
    let (sender, mut receiver) = mpsc::unbounded_channel::<(Instant, Vec<u8>)>();
    let read = async move {
        let mut state = seed;
        let mut last_due = Instant::now();
        let mut buffer = vec![0; 16 * 1024];
        while let Ok(n @ 1..) = from.read(&mut buffer).await {
            state = splitmix64(state);
            let share = (state >> 11) as f64 / (1u64 << 53) as f64;
            let due = (Instant::now() + latency.base + latency.jitter.mul_f64(share)).max(last_due);
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

/// SplitMix64: a well-mixed step of a 64-bit state, for jitter that repeats run to run.
fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}
