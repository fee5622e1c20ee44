//! The real server in this process on a loopback port, and the built `streamit` binary run
//! against it with a config directory of its own.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use streamit_client::Client;
use streamit_server::{Config, Switch, run};
use tempfile::TempDir;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// Longest wait for the server to answer.
const PATIENCE: Duration = Duration::from_secs(20);

/// A server on a fresh SQLite database, and a config directory for the binary's profiles.
pub(crate) struct World {
    pub(crate) base_url: String,
    pub(crate) config_home: TempDir,
    shutdown: CancellationToken,
    _db: streamit_testing::TestDatabase,
}

/// What one run of the binary did.
#[derive(Debug)]
pub(crate) struct Run {
    /// Whether it exited 0.
    pub(crate) ok: bool,
    /// Its stdout's last line, read as JSON.
    pub(crate) json: Value,
    /// Every line of its stdout, read as JSON (`Null` where one is not).
    pub(crate) lines: Vec<Value>,
    /// Its stderr.
    pub(crate) stderr: String,
}

impl World {
    pub(crate) async fn start() -> Self {
        let db = streamit_testing::sqlite();
        let mut config = Config::defaults();
        config.database_url = db.url.clone();
        config.rate_limits = Switch::Off;
        config.shutdown_grace_seconds = 1;
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a loopback port");
        let addr = listener.local_addr().expect("the port's address");
        let shutdown = CancellationToken::new();
        tokio::spawn(run(listener, config, shutdown.clone()));
        let base_url = format!("http://{addr}");
        let probe = Client::builder(&base_url)
            .no_proxy()
            .build()
            .expect("a client");
        tokio::time::timeout(PATIENCE, probe.health())
            .await
            .expect("the server answers in time")
            .expect("/healthz");
        Self {
            base_url,
            config_home: tempfile::tempdir().expect("a temporary config directory"),
            shutdown,
            _db: db,
        }
    }

    /// Runs `streamit --json --profile PROFILE ARGS…` and reads what it printed.
    pub(crate) async fn streamit(&self, profile: &str, args: &[&str]) -> Run {
        let mut command = Command::new(env!("CARGO_BIN_EXE_streamit"));
        command
            .args(["--server", &self.base_url, "--profile", profile, "--json"])
            .args(args)
            .env("XDG_CONFIG_HOME", self.config_home.path())
            .env_remove("STREAMIT_SERVER")
            .env_remove("STREAMIT_PASSWORD")
            .env("NO_PROXY", "127.0.0.1");
        let output = tokio::task::spawn_blocking(move || command.output())
            .await
            .expect("the run's thread")
            .expect("the binary runs");
        let stdout = String::from_utf8_lossy(&output.stdout);
        Run {
            ok: output.status.success(),
            json: serde_json::from_str(stdout.trim().lines().last().unwrap_or_default())
                .unwrap_or(Value::Null),
            lines: stdout
                .lines()
                .map(|line| serde_json::from_str(line).unwrap_or(Value::Null))
                .collect(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// The credentials file of `profile`.
    pub(crate) fn profile_file(&self, profile: &str) -> std::path::PathBuf {
        profile_path(self.config_home.path(), profile)
    }
}

fn profile_path(config_home: &Path, profile: &str) -> std::path::PathBuf {
    config_home
        .join("streamit")
        .join("profiles")
        .join(format!("{profile}.json"))
}

impl Drop for World {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}
