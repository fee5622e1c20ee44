//! A Redis of its own for one test: `STREAMIT_TEST_REDIS_URL` when set (tests then keep apart
//! by key prefix), otherwise a `redis-server` started on a free loopback port, with nothing
//! saved to disk, stopped when the test ends.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tempfile::TempDir;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use super::unavailable;

/// How long a started `redis-server` may take to answer `PING`.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// A Redis for one test. Every key and channel the code under test uses should start with
/// [`TestRedis::prefix`].
pub struct TestRedis {
    /// `redis://127.0.0.1:PORT`.
    pub url: String,
    /// Unique to this test.
    pub prefix: String,
    server: Option<Server>,
}

/// A `redis-server` this helper started.
struct Server {
    port: u16,
    process: Option<Child>,
    _dir: TempDir,
}

impl std::fmt::Debug for TestRedis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (prefix {})", self.url, self.prefix)
    }
}

/// A Redis for this test, or `None` (with a loud skip) when none can be had; panics instead
/// under `STREAMIT_REQUIRE_SERVICES=1`.
pub async fn redis() -> Option<TestRedis> {
    let prefix = format!("streamit-test-{}", uuid::Uuid::new_v4().simple());
    if let Ok(url) = std::env::var("STREAMIT_TEST_REDIS_URL") {
        return Some(TestRedis {
            url,
            prefix,
            server: None,
        });
    }
    let port = match free_port() {
        Ok(port) => port,
        Err(error) => return unavailable("redis", "127.0.0.1", &error.to_string()),
    };
    let url = format!("redis://127.0.0.1:{port}");
    let server = match Server::start(port).await {
        Ok(server) => server,
        Err(reason) => return unavailable("redis", &url, &reason),
    };
    Some(TestRedis {
        url,
        prefix,
        server: Some(server),
    })
}

impl TestRedis {
    /// Kills the server this helper started (as a crash would: no save, no goodbye).
    ///
    /// # Panics
    /// When the Redis came from `STREAMIT_TEST_REDIS_URL`: a shared server is not the test's
    /// to stop.
    pub fn kill(&mut self) {
        let server = self
            .server
            .as_mut()
            .expect("only a started redis can be killed");
        if let Some(mut process) = server.process.take() {
            let _ = process.kill();
            let _ = process.wait();
        }
    }

    /// Empties it (`FLUSHALL`), as an operator's mistake or a failover to an empty replica
    /// would: every key, lease and fence is gone, the server and its connections stay.
    ///
    /// # Panics
    /// When the Redis does not answer `+OK`.
    pub async fn flush_all(&self) {
        let address = self.url.trim_start_matches("redis://");
        let mut stream = tokio::net::TcpStream::connect(address)
            .await
            .expect("redis answers");
        stream.write_all(b"FLUSHALL\r\n").await.expect("sent");
        let mut answer = [0u8; 5];
        stream.read_exact(&mut answer).await.expect("an answer");
        assert_eq!(&answer, b"+OK\r\n", "FLUSHALL");
    }

    /// Starts the killed server again on the same port, empty.
    ///
    /// # Panics
    /// As [`Self::kill`], or when it does not come back.
    pub async fn restart(&mut self) {
        self.kill();
        let server = self
            .server
            .as_mut()
            .expect("only a started redis can restart");
        let port = server.port;
        *server = Server::start(port).await.expect("redis did not restart");
    }
}

impl Server {
    async fn start(port: u16) -> Result<Self, String> {
        let dir = TempDir::new().map_err(|e| e.to_string())?;
        let process = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start redis-server: {e}"))?;
        let mut server = Self {
            port,
            process: Some(process),
            _dir: dir,
        };
        let deadline = tokio::time::Instant::now() + START_TIMEOUT;
        while tokio::time::Instant::now() < deadline {
            if ping(port).await {
                return Ok(server);
            }
            if let Some(process) = server.process.as_mut()
                && let Ok(Some(status)) = process.try_wait()
            {
                return Err(format!("redis-server exited: {status}"));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Err("redis-server did not answer PING in time".to_owned())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut process) = self.process.take() {
            let _ = process.kill();
            let _ = process.wait();
        }
    }
}

/// Whether a Redis on `port` answers `PING`.
async fn ping(port: u16) -> bool {
    let Ok(mut stream) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await else {
        return false;
    };
    if stream.write_all(b"PING\r\n").await.is_err() {
        return false;
    }
    let mut answer = [0u8; 7];
    stream.read_exact(&mut answer).await.is_ok() && &answer == b"+PONG\r\n"
}

/// A loopback port nothing listens on now.
fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}
