//! A plain TCP load balancer: each new connection goes to the next node in turn that accepts
//! it. Nothing sticky: a client's reconnects land wherever they land. A test can also cut
//! every connection through it and hold new ones back for a while, as a flaky network would.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::{AbortHandle, JoinHandle};

/// Stops accepting when dropped; connections already made run on until either side closes.
pub struct Balancer {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    accepting: JoinHandle<()>,
    connections: Arc<Mutex<Vec<AbortHandle>>>,
    held: watch::Sender<bool>,
}

impl Balancer {
    pub async fn start(nodes: Vec<SocketAddr>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a free port");
        let url = format!("http://{}", listener.local_addr().expect("the port"));
        let nodes = Arc::new(nodes);
        let next = Arc::new(AtomicUsize::new(0));
        let connections = Arc::new(Mutex::new(Vec::new()));
        let (held, hold) = watch::channel(false);
        let accepting = tokio::spawn({
            let connections = Arc::clone(&connections);
            async move {
                while let Ok((client, _)) = listener.accept().await {
                    let (nodes, next, mut hold) =
                        (Arc::clone(&nodes), Arc::clone(&next), hold.clone());
                    let forwarding = tokio::spawn(async move {
                        let _ = hold.wait_for(|held| !held).await;
                        if let Some(mut node) = pick(&nodes, &next).await {
                            let mut client = client;
                            let _ = tokio::io::copy_bidirectional(&mut client, &mut node).await;
                        }
                    });
                    let mut all = connections.lock().unwrap_or_else(PoisonError::into_inner);
                    all.retain(|c: &AbortHandle| !c.is_finished());
                    all.push(forwarding.abort_handle());
                }
            }
        });
        Self {
            url,
            accepting,
            connections,
            held,
        }
    }

    /// Drops every connection through the balancer, and holds new ones until [`Self::release`].
    pub fn cut_and_hold(&self) {
        self.held.send_replace(true);
        let all = self
            .connections
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        for connection in all.iter() {
            connection.abort();
        }
    }

    /// Lets held and new connections through again.
    pub fn release(&self) {
        self.held.send_replace(false);
    }
}

/// The next node in turn that accepts a connection.
async fn pick(nodes: &[SocketAddr], next: &AtomicUsize) -> Option<TcpStream> {
    for _ in 0..nodes.len() {
        let node = nodes[next.fetch_add(1, Ordering::Relaxed) % nodes.len()];
        if let Ok(stream) = TcpStream::connect(node).await {
            return Some(stream);
        }
    }
    None
}

impl Drop for Balancer {
    fn drop(&mut self) {
        self.accepting.abort();
    }
}
