//! A loopback TCP proxy that delays every chunk by a latency drawn per chunk (never
//! reordering): the jittery network the `sync` members sit behind.
//!
//! Private to the bot until the SDK's public network-conditions proxy (being written on the
//! `sync` branch) lands; then the bot should use that one.

use std::net::SocketAddr;
use std::time::Duration;

use rand::Rng as _;
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// Chunks in flight per direction before the reader waits.
const IN_FLIGHT: usize = 1024;

/// A running proxy; it stops when dropped.
pub(crate) struct Proxy {
    /// `http://127.0.0.1:PORT`, to use in place of the server's URL.
    pub(crate) url: String,
    accept: JoinHandle<()>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

/// Starts a proxy to `upstream` adding `latency_ms` (min, max) each way.
pub(crate) async fn start(upstream: SocketAddr, latency_ms: (u64, u64)) -> std::io::Result<Proxy> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let accept = tokio::spawn(async move {
        while let Ok((inbound, _)) = listener.accept().await {
            tokio::spawn(async move {
                let Ok(outbound) = TcpStream::connect(upstream).await else {
                    return;
                };
                let _ = inbound.set_nodelay(true);
                let _ = outbound.set_nodelay(true);
                let (in_read, in_write) = inbound.into_split();
                let (out_read, out_write) = outbound.into_split();
                tokio::spawn(pipe(in_read, out_write, latency_ms));
                tokio::spawn(pipe(out_read, in_write, latency_ms));
            });
        }
    });
    Ok(Proxy { url, accept })
}

/// Copies `from` to `to`, each chunk due a random latency after it was read, and never before
/// the chunk ahead of it.
async fn pipe(
    mut from: impl AsyncRead + Unpin,
    mut to: impl AsyncWrite + Unpin + Send + 'static,
    latency_ms: (u64, u64),
) {
    let (queue, mut due) = mpsc::channel::<(Instant, Vec<u8>)>(IN_FLIGHT);
    let writer = tokio::spawn(async move {
        while let Some((at, bytes)) = due.recv().await {
            tokio::time::sleep_until(at).await;
            if to.write_all(&bytes).await.is_err() {
                return;
            }
        }
        let _ = to.shutdown().await;
    });
    let mut last = Instant::now();
    let mut buffer = vec![0; 16 * 1024];
    while let Ok(n @ 1..) = from.read(&mut buffer).await {
        let delay = rand::rng().random_range(latency_ms.0..=latency_ms.1);
        last = last.max(Instant::now() + Duration::from_millis(delay));
        if queue.send((last, buffer[..n].to_vec())).await.is_err() {
            break;
        }
    }
    drop(queue);
    let _ = writer.await;
}
