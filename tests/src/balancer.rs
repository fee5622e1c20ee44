//! A plain TCP load balancer: each new connection goes to the next node in turn that accepts
//! it. Nothing sticky: a client's reconnects land wherever they land.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// Stops accepting when dropped; connections already made run on until either side closes.
pub struct Balancer {
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    accepting: JoinHandle<()>,
}

impl Balancer {
    pub async fn start(nodes: Vec<SocketAddr>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a free port");
        let url = format!("http://{}", listener.local_addr().expect("the port"));
        let nodes = Arc::new(nodes);
        let next = Arc::new(AtomicUsize::new(0));
        let accepting = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let (nodes, next) = (Arc::clone(&nodes), Arc::clone(&next));
                tokio::spawn(async move {
                    if let Some(mut node) = pick(&nodes, &next).await {
                        let mut client = client;
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut node).await;
                    }
                });
            }
        });
        Self { url, accepting }
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
