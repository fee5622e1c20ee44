//! One `streamit-server` node on a runtime of its own.

use std::net::SocketAddr;

use streamit_client::Client;
use streamit_server::Config;
use tokio::runtime::Runtime;
use tokio_util::sync::CancellationToken;

use super::PATIENCE;

/// Worker threads of a node's runtime.
const WORKERS: usize = 2;

/// A running node; killed outright when dropped.
pub struct Node {
    pub addr: SocketAddr,
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    config: Config,
    runtime: Option<Runtime>,
    shutdown: CancellationToken,
}

impl Node {
    /// Starts a node on a free loopback port and waits until it answers.
    pub async fn start(config: Config) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
        let addr = listener.local_addr().expect("the port");
        let mut node = Self {
            addr,
            url: format!("http://{addr}"),
            config,
            runtime: None,
            shutdown: CancellationToken::new(),
        };
        node.launch(listener).await;
        node
    }

    async fn launch(&mut self, listener: std::net::TcpListener) {
        listener
            .set_nonblocking(true)
            .expect("a non-blocking listener");
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(WORKERS)
            .enable_all()
            .build()
            .expect("a runtime for the node");
        self.shutdown = CancellationToken::new();
        let (config, shutdown) = (self.config.clone(), self.shutdown.clone());
        runtime.spawn(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("the listener");
            if let Err(error) = streamit_server::run(listener, config, shutdown).await {
                panic!("the node failed: {error}");
            }
        });
        self.runtime = Some(runtime);
        let probe = Client::builder(&self.url)
            .no_proxy()
            .build()
            .expect("a probe");
        tokio::time::timeout(PATIENCE, async {
            while probe.health().await.is_err() {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
        })
        .await
        .expect("the node answers /healthz in time");
    }

    /// Kills the node as `kill -9` would: every task dropped where it stands, every socket
    /// closed by the system, nothing flushed, no lease released.
    pub fn kill(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }

    /// Freezes the node for `pause`, as `SIGSTOP` then `SIGCONT` would: every worker of its
    /// runtime is blocked, so none of its tasks runs, no timer fires and no socket is read;
    /// the kernel keeps what clients send meanwhile.
    pub fn freeze(&self, pause: std::time::Duration) {
        let runtime = self.runtime.as_ref().expect("a running node");
        for _ in 0..WORKERS {
            runtime.spawn(async move { std::thread::sleep(pause) });
        }
    }

    /// Starts the node again (a new process, as far as the cluster can tell) on its port.
    pub async fn restart(&mut self) {
        self.kill();
        let listener = std::net::TcpListener::bind(self.addr).expect("the port is free again");
        self.launch(listener).await;
    }

    /// Whether the node answers `/readyz` with 200.
    pub async fn is_ready(&self) -> bool {
        let probe = Client::builder(&self.url)
            .no_proxy()
            .build()
            .expect("a probe");
        probe.ready().await.is_ok()
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.shutdown.cancel();
        self.kill();
    }
}
