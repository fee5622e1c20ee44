//! The real server on 127.0.0.1:0 for one test (`TestServer`), an HTTP client with helpers
//! that sign up, create and join rooms, row counts read straight from the database, and raw
//! TCP requests; `answer` holds the assertions on what a user sees on the wire (labelled with
//! the backend and the request), `logs` captures every log line of the process.

use std::net::SocketAddr;
use std::time::Duration;

use reqwest::header::CONTENT_TYPE;
pub(crate) use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::Row as _;
use streamit_protocol::v1::AuthResponse;
use streamit_server::{Config, StartError, Switch, run};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

mod answer;
mod logs;

pub(crate) use answer::{Answer, Refusals, keys};
use logs::init_logs;
pub(crate) use logs::logs;

/// The password every registered test account uses.
pub(crate) const PASSWORD: &str = "correct horse battery";

/// The token-signing secret of servers on PostgreSQL, which has no file beside it to keep a
/// generated one in.
pub(crate) const TEST_SECRET: &str = "streamit-test-secret-32-bytes-long";

/// Longest wait for anything the server must do promptly (start, answer, stop).
const PATIENCE: Duration = Duration::from_secs(30);

/// Tables whose row counts tell whether a refused request wrote anything.
const TABLES: [&str; 7] = [
    "users",
    "logins",
    "refresh_tokens",
    "rooms",
    "participants",
    "bans",
    "watch_progress",
];

/// One running server on its own database.
pub(crate) struct TestServer {
    /// `http://127.0.0.1:<port>`.
    pub(crate) base_url: String,
    pub(crate) addr: SocketAddr,
    /// `sqlite` or `postgres`, for assertion messages.
    pub(crate) backend: &'static str,
    pub(crate) db_url: String,
    pub(crate) client: reqwest::Client,
    shutdown: CancellationToken,
    task: Option<JoinHandle<Result<(), StartError>>>,
}

impl TestServer {
    /// Binds 127.0.0.1:0, spawns `run` on the test's runtime and waits until it answers.
    pub(crate) async fn start(db_url: &str, tweak: impl FnOnce(&mut Config)) -> Self {
        init_logs();
        let mut config = Config::defaults();
        config.database_url = db_url.to_owned();
        config.rate_limits = Switch::Off;
        config.shutdown_grace_seconds = 5;
        if !db_url.starts_with("sqlite") {
            config.jwt_secret = Some(TEST_SECRET.to_owned());
        }
        tweak(&mut config);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let shutdown = CancellationToken::new();
        let mut task = tokio::spawn(run(listener, config, shutdown.clone()));
        let backend = if db_url.starts_with("sqlite") {
            "sqlite"
        } else {
            "postgres"
        };
        let client = reqwest::Client::builder()
            .no_proxy()
            .timeout(PATIENCE)
            .build()
            .unwrap();
        let base_url = format!("http://{addr}");
        let probe = client.get(format!("{base_url}/healthz")).send();
        tokio::select! {
            ended = &mut task => panic!("[{backend}] the server stopped while starting: {ended:?}"),
            answer = probe => assert_eq!(answer.unwrap().status(), StatusCode::OK, "[{backend}] /healthz"),
        }
        Self {
            base_url,
            addr,
            backend,
            db_url: db_url.to_owned(),
            client,
            shutdown,
            task: Some(task),
        }
    }

    /// Cancels the shutdown token and checks `run` returns `Ok` promptly, without panicking.
    pub(crate) async fn stop(mut self) {
        self.shutdown.cancel();
        let task = self.task.take().expect("stop runs once");
        let ended = tokio::time::timeout(PATIENCE, task).await;
        let ended = ended.unwrap_or_else(|_| panic!("[{}] the server did not stop", self.backend));
        ended
            .unwrap_or_else(|e| panic!("[{}] the server task panicked: {e}", self.backend))
            .unwrap_or_else(|e| panic!("[{}] run failed: {e}", self.backend));
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// A request to build on; send it with [`TestServer::send`].
    pub(crate) fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.client.request(method, self.url(path))
    }

    /// Sends `request` and reads the whole answer; `what` labels assertion messages.
    pub(crate) async fn send(&self, what: &str, request: reqwest::RequestBuilder) -> Answer {
        let what = format!("[{}] {what}", self.backend);
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("{what}: no answer (did the server panic?): {e}"));
        let status = response.status();
        let headers = response.headers().clone();
        let text = response
            .text()
            .await
            .unwrap_or_else(|e| panic!("{what}: body: {e}"));
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Answer {
            what,
            status,
            headers,
            text,
            body,
        }
    }

    /// Any method, optional bearer token, optional JSON body.
    pub(crate) async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Answer {
        let what = format!("{method} {path}");
        let mut request = self.request(method, path);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        self.send(&what, request).await
    }

    pub(crate) async fn get(&self, path: &str) -> Answer {
        self.call(Method::GET, path, None, None).await
    }

    pub(crate) async fn get_as(&self, token: &str, path: &str) -> Answer {
        self.call(Method::GET, path, Some(token), None).await
    }

    pub(crate) async fn post(&self, path: &str, body: Value) -> Answer {
        self.call(Method::POST, path, None, Some(&body)).await
    }

    pub(crate) async fn post_as(&self, token: &str, path: &str, body: Value) -> Answer {
        self.call(Method::POST, path, Some(token), Some(&body))
            .await
    }

    /// A body sent as raw bytes with the given content type (or none).
    pub(crate) async fn post_raw(
        &self,
        token: Option<&str>,
        path: &str,
        content_type: Option<&str>,
        body: impl Into<reqwest::Body>,
    ) -> Answer {
        let mut request = self.request(Method::POST, path).body(body);
        if let Some(content_type) = content_type {
            request = request.header(CONTENT_TYPE, content_type);
        }
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        self.send(&format!("POST {path} ({content_type:?})"), request)
            .await
    }

    /// A guest named `name`.
    pub(crate) async fn guest(&self, name: &str) -> Account {
        let answer = self
            .post("/api/auth/guest/", json!({"display_name": name}))
            .await;
        Account::from(answer.ok(StatusCode::CREATED))
    }

    /// A registered account with [`PASSWORD`], named after the e-mail's local part.
    pub(crate) async fn register(&self, email: &str) -> Account {
        let name = email.split('@').next().unwrap_or("someone");
        let body = json!({"email": email, "password": PASSWORD, "display_name": name});
        Account::from(
            self.post("/api/auth/register/", body)
                .await
                .ok(StatusCode::CREATED),
        )
    }

    /// Creates a room with `body` as `host`; the whole `{room, password?}` answer.
    pub(crate) async fn create_room(&self, host: &Account, body: Value) -> Value {
        let answer = self.post_as(&host.access, "/api/rooms/create/", body).await;
        answer.ok(StatusCode::CREATED).clone()
    }

    /// Creates a room with `body` as `host`; its code.
    pub(crate) async fn room_code(&self, host: &Account, body: Value) -> String {
        let created = self.create_room(host, body).await;
        created["room"]["code"].as_str().unwrap().to_owned()
    }

    /// `who` joins `code` (without password); the answer.
    pub(crate) async fn join(&self, who: &Account, code: &str) -> Answer {
        self.post_as(&who.access, "/api/rooms/join/", json!({"code": code}))
            .await
    }

    /// Rows per table, read straight from the database, to prove a refusal wrote nothing.
    pub(crate) async fn row_counts(&self) -> Vec<(&'static str, i64)> {
        sqlx::any::install_default_drivers();
        let pool = sqlx::AnyPool::connect(&self.db_url).await.unwrap();
        let mut counts = Vec::new();
        for table in TABLES {
            let row = sqlx::query(&format!("SELECT COUNT(*) AS n FROM {table}"))
                .fetch_one(&pool)
                .await
                .unwrap();
            counts.push((table, row.try_get::<i64, _>("n").unwrap()));
        }
        pool.close().await;
        counts
    }

    /// Writes `request` as is on a fresh connection and reads the answer until the server
    /// closes it (send `Connection: close`): status and the whole text.
    pub(crate) async fn raw(&self, request: Vec<u8>) -> (u16, String) {
        let stream = TcpStream::connect(self.addr).await.unwrap();
        let (mut reader, mut writer) = stream.into_split();
        let writing = tokio::spawn(async move {
            // The server may answer and close before reading everything; that is its right.
            let _ = writer.write_all(&request).await;
            let _ = writer.flush().await;
            writer
        });
        let mut answer = Vec::new();
        let read = tokio::time::timeout(PATIENCE, reader.read_to_end(&mut answer)).await;
        read.unwrap_or_else(|_| panic!("[{}] raw request: no end of answer", self.backend))
            .unwrap_or_else(|e| panic!("[{}] raw request: {e}", self.backend));
        drop(writing.await);
        let text = String::from_utf8_lossy(&answer).into_owned();
        let status = text
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                panic!("[{}] raw request: no status line in {text:?}", self.backend)
            });
        (status, text)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// A signed-in user.
#[derive(Clone, Debug)]
pub(crate) struct Account {
    pub(crate) user_id: String,
    pub(crate) access: String,
    pub(crate) refresh: String,
}

impl From<&Value> for Account {
    #[track_caller]
    fn from(body: &Value) -> Self {
        let parsed: AuthResponse = serde_json::from_value(body.clone()).unwrap();
        Self {
            user_id: parsed.user.id.to_string(),
            access: parsed.access.as_str().to_owned(),
            refresh: parsed.refresh.as_str().to_owned(),
        }
    }
}

/// A child process that a failing test does not leave running.
#[cfg(target_os = "linux")]
pub(crate) struct KillOnDrop(pub(crate) std::process::Child);

/// The server binary as `command` starts it (the binary, or a shell that `exec`s it, with
/// every argument but `--bind`), on a free loopback port with its standard output in `log`,
/// once it answers `/healthz`; with the port.
#[cfg(target_os = "linux")]
pub(crate) async fn serving_binary(
    mut command: std::process::Command,
    log: &std::path::Path,
) -> (KillOnDrop, u16) {
    let port = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let server = command
        .args(["--bind", &format!("127.0.0.1:{port}")])
        .stdout(std::process::Stdio::from(
            std::fs::File::create(log).unwrap(),
        ))
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut server = KillOnDrop(server);
    let health = format!("http://127.0.0.1:{port}/healthz");
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let serving = async {
        while !client
            .get(&health)
            .send()
            .await
            .is_ok_and(|r| r.status() == StatusCode::OK)
        {
            if let Some(status) = server.0.try_wait().unwrap() {
                let logged = std::fs::read_to_string(log).unwrap_or_default();
                panic!("the binary exited ({status}) before serving:\n{logged}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    tokio::time::timeout(PATIENCE, serving)
        .await
        .expect("the binary serves");
    (server, port)
}

#[cfg(target_os = "linux")]
impl KillOnDrop {
    /// Sends SIGTERM and checks the process exits cleanly within its shutdown grace.
    pub(crate) async fn terminate(&mut self) {
        let pid = self.0.id().to_string();
        let signalled = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap();
        assert!(signalled.success());
        let status = self.exited(PATIENCE, "SIGTERM stops it").await;
        assert!(status.success(), "{status}");
    }

    /// Waits up to `within` for the process to exit; `what` says why it should have.
    pub(crate) async fn exited(
        &mut self,
        within: Duration,
        what: &str,
    ) -> std::process::ExitStatus {
        let exited = async {
            loop {
                if let Some(status) = self.0.try_wait().unwrap() {
                    return status;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        };
        tokio::time::timeout(within, exited)
            .await
            .unwrap_or_else(|_| panic!("{what}: still running after {within:?}"))
    }
}

#[cfg(target_os = "linux")]
impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
