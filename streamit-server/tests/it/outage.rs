//! The database going away and coming back (PostgreSQL behind a TCP proxy the test cuts and
//! restores): requests fail promptly with 503 `UNAVAILABLE` instead of hanging, `/readyz` says
//! why, the grace sweeper logs the outage once instead of on every sweep, and everything
//! recovers by itself.

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::json;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use crate::support::{StatusCode, TestServer, logs};
use crate::ws_support::{WsClient, eventually, grace, hosted_room, room_detail};

/// A TCP proxy to PostgreSQL that can be cut (listener and every connection) and restored on
/// the same address.
struct Proxy {
    addr: SocketAddr,
    upstream: SocketAddr,
    task: Option<JoinHandle<()>>,
}

impl Proxy {
    async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut proxy = Self {
            addr,
            upstream,
            task: None,
        };
        proxy.serve(listener);
        proxy
    }

    fn serve(&mut self, listener: TcpListener) {
        let upstream = self.upstream;
        self.task = Some(tokio::spawn(async move {
            let mut links = tokio::task::JoinSet::new();
            while let Ok((mut client, _)) = listener.accept().await {
                links.spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
            }
        }));
    }

    /// Drops the listener and every connection through it.
    async fn cut(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
    }

    async fn restore(&mut self) {
        let listener = TcpListener::bind(self.addr).await.unwrap();
        self.serve(listener);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

/// `url` with its `host:port` replaced by `addr`, and the `host:port` it named.
fn through(url: &str, addr: SocketAddr) -> (String, SocketAddr) {
    let (scheme, rest) = url.split_once("://").unwrap();
    let (credentials, rest) = rest.rsplit_once('@').map_or(("", rest), |(c, r)| (c, r));
    let (host_port, path) = rest.split_once('/').unwrap();
    let upstream = host_port.parse().unwrap();
    let at = if credentials.is_empty() { "" } else { "@" };
    (
        format!("{scheme}://{credentials}{at}{addr}/{path}"),
        upstream,
    )
}

#[tokio::test]
async fn a_database_outage_answers_503_and_recovers_by_itself() {
    let Some(db) = streamit_testing::postgres().await else {
        return;
    };
    let (_, upstream) = through(&db.url, "127.0.0.1:1".parse().unwrap());
    let mut proxy = Proxy::start(upstream).await;
    let (url, _) = through(&db.url, proxy.addr);
    let s = TestServer::start(&url, grace(1)).await;
    s.guest("Before").await;

    proxy.cut().await;
    let answer = s
        .post("/api/auth/guest/", json!({"display_name": "During"}))
        .await;
    answer
        .expect(StatusCode::SERVICE_UNAVAILABLE)
        .has("/error/code", "UNAVAILABLE");
    let ready = s.get("/readyz").await;
    ready
        .expect(StatusCode::SERVICE_UNAVAILABLE)
        .has("/error/code", "UNAVAILABLE");
    let reason = ready.body["error"]["details"]["reason"]
        .as_str()
        .unwrap_or("");
    assert!(!reason.is_empty(), "readyz says why: {}", ready.text);
    assert_eq!(
        s.get("/healthz").await.status,
        StatusCode::OK,
        "alive all along"
    );
    // Several sweeps' worth of outage.
    tokio::time::sleep(Duration::from_secs(2)).await;

    proxy.restore().await;
    eventually("sign-ups work again", Duration::from_secs(20), || async {
        let answer = s
            .post("/api/auth/guest/", json!({"display_name": "After"}))
            .await;
        (answer.status == StatusCode::CREATED).then_some(())
    })
    .await;
    eventually("ready again", Duration::from_secs(20), || async {
        (s.get("/readyz").await.status == StatusCode::OK).then_some(())
    })
    .await;
    // The sweeper works again: a room whose host left expires when its grace runs out. It may
    // be backed off for up to 10 s per attempt, and may meet a connection the cut broke
    // before a fresh one: give it a minute.
    let (host, code) = hosted_room(&s, json!({})).await;
    let (ws, _) = WsClient::join(&s, &code, &host, "host").await;
    ws.disconnect().await;
    eventually(
        "the grace sweeper expires a room again",
        Duration::from_secs(60),
        async || {
            let detail = room_detail(&s, &host, &code).await;
            (detail["state"] == "EXPIRED").then_some(())
        },
    )
    .await;
    // A sweep that waited out the whole outage for a connection saw no failure; one that
    // failed says so once and says once that it resumed, never on every sweep.
    let failing = count_lines(proxy.addr, "grace sweeps failing");
    assert!(
        failing <= 1,
        "the outage is logged once, not on every sweep"
    );
    assert_eq!(count_lines(proxy.addr, "grace sweeps resumed"), failing);
    s.stop().await;
}

/// Lines of this server's sweeper (its span names the database, whose port is the proxy's)
/// saying `what`.
fn count_lines(proxy: SocketAddr, what: &str) -> usize {
    let port = format!(":{}/", proxy.port());
    logs()
        .lines()
        .filter(|line| line.contains(what) && line.contains(&port))
        .count()
}
