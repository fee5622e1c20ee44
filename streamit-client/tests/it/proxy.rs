//! A TCP proxy in front of the server, so a test can do to a client's connection what a
//! network does: cut it, freeze it (bytes stop, the socket stays open), or refuse new ones.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

/// Forwards `127.0.0.1:<port>` to the server; stops on drop.
pub(crate) struct Proxy {
    pub(crate) base_url: String,
    shared: Arc<Shared>,
    stop: CancellationToken,
}

struct Shared {
    upstream: SocketAddr,
    /// New connections are dropped at once while held.
    held: AtomicBool,
    /// Cancelled to cut (or freeze) the connections open now; replaced after.
    cut: Mutex<CancellationToken>,
    freeze: Mutex<CancellationToken>,
}

impl Proxy {
    pub(crate) async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let shared = Arc::new(Shared {
            upstream,
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
        tokio::spawn(async move {
            let Ok(server) = TcpStream::connect(upstream).await else {
                return;
            };
            forward(client, server, cut, freeze).await;
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
