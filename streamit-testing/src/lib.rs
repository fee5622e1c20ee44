//! Test support for the StreamIt workspace: a fresh database per test, on every backend the
//! machine offers, and waiting for what happens in the background.
//!
//! - [`sqlite`]: a new SQLite file in a temporary directory, always available;
//! - [`postgres`]: a new database on the PostgreSQL server named by `STREAMIT_TEST_DATABASE_URL`
//!   (or the local default), dropped again when the test ends;
//! - [`backends`]: both, so a store test runs once per backend;
//! - [`redis`]: a Redis of the test's own (`STREAMIT_TEST_REDIS_URL`, or a `redis-server`
//!   started on a free port);
//! - [`eventually`] (module `eventually`): polls a condition until a deadline.
//!
//! A missing service skips its tests with a loud line on stderr, unless
//! `STREAMIT_REQUIRE_SERVICES=1` (as in CI), where it fails them: a green run must never hide
//! that half the suite did not run.

mod eventually;
mod redis;

use std::io::Write as _;
use std::time::Duration;

use sqlx::{Connection, Executor, PgConnection};
use tempfile::TempDir;

pub use eventually::eventually;
pub use redis::{TestRedis, redis};

/// The server tried when `STREAMIT_TEST_DATABASE_URL` is unset: a local PostgreSQL with trust
/// authentication, as developers and CI run it.
const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// How long to wait for PostgreSQL before calling it unavailable; short, because an absent
/// server otherwise stalls every test that asks for it.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// A database of its own for one test, removed when dropped.
pub struct TestDatabase {
    /// The URL to hand to the code under test (`sqlite://…` or `postgres://…`).
    pub url: String,
    cleanup: Cleanup,
}

/// What dropping a [`TestDatabase`] must remove.
enum Cleanup {
    /// The temporary directory holding the SQLite file (and its WAL files); deleted on drop.
    Sqlite(#[expect(dead_code, reason = "held only so its Drop deletes the directory")] TempDir),
    /// A database created on a PostgreSQL server, dropped through `server_url`.
    Postgres { server_url: String, name: String },
}

impl std::fmt::Debug for TestDatabase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestDatabase")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl TestDatabase {
    /// Runs `statement` on the database behind the back of the code under test (a test that
    /// breaks, or mends, what the server stored); the rows it changed.
    ///
    /// # Panics
    /// When the database cannot be reached or refuses the statement.
    pub async fn execute(&self, statement: &str) -> u64 {
        sqlx::any::install_default_drivers();
        let mut conn = sqlx::AnyConnection::connect(&self.url)
            .await
            .unwrap_or_else(|error| panic!("the test database at {}: {error}", self.url));
        let done = conn
            .execute(statement)
            .await
            .unwrap_or_else(|error| panic!("{statement}: {error}"));
        let _ = conn.close().await;
        done.rows_affected()
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Cleanup::Postgres { server_url, name } = &self.cleanup {
            drop_postgres_database(server_url.clone(), name.clone());
        }
    }
}

/// A fresh SQLite database file, `sqlite://<temporary dir>/streamit.db`, not yet created.
///
/// # Panics
/// When no temporary directory can be created.
pub fn sqlite() -> TestDatabase {
    let dir = tempfile::Builder::new()
        .prefix("streamit-test-")
        .tempdir()
        .expect("a test needs a temporary directory for its SQLite file");
    let url = format!("sqlite://{}", dir.path().join("streamit.db").display());
    TestDatabase {
        url,
        cleanup: Cleanup::Sqlite(dir),
    }
}

/// A fresh, empty PostgreSQL database, or `None` (said on stderr) when the server is
/// unreachable.
///
/// # Panics
/// When the server is unreachable and `STREAMIT_REQUIRE_SERVICES=1`, or when it answers but
/// refuses to create a database.
pub async fn postgres() -> Option<TestDatabase> {
    let server_url = std::env::var("STREAMIT_TEST_DATABASE_URL")
        .ok()
        .filter(|url| !url.is_empty())
        .unwrap_or_else(|| DEFAULT_POSTGRES_URL.to_owned());
    let mut conn =
        match tokio::time::timeout(CONNECT_TIMEOUT, PgConnection::connect(&server_url)).await {
            Ok(Ok(conn)) => conn,
            Ok(Err(error)) => return unavailable("PostgreSQL", &server_url, &error.to_string()),
            Err(_) => return unavailable("PostgreSQL", &server_url, "connection timed out"),
        };
    let name = format!("streamit_test_{}", uuid::Uuid::new_v4().simple());
    if let Err(error) = conn
        .execute(format!("CREATE DATABASE {name}").as_str())
        .await
    {
        panic!("PostgreSQL at {server_url} refused to create a test database: {error}");
    }
    // Closing politely only saves the server a log line; the database exists either way.
    let _ = conn.close().await;
    let url = with_database(&server_url, &name);
    Some(TestDatabase {
        url,
        cleanup: Cleanup::Postgres { server_url, name },
    })
}

/// One fresh database per backend: SQLite always, PostgreSQL when reachable (see [`postgres`]).
pub async fn backends() -> Vec<TestDatabase> {
    let mut databases = vec![sqlite()];
    databases.extend(postgres().await);
    databases
}

/// Reports a missing service: a skip on stderr, or a panic when services are required.
fn unavailable<T>(service: &str, url: &str, reason: &str) -> Option<T> {
    let required = std::env::var("STREAMIT_REQUIRE_SERVICES").is_ok_and(|v| v == "1");
    if required {
        panic!(
            "{service} is required (STREAMIT_REQUIRE_SERVICES=1) but unavailable at {url}: {reason}"
        );
    }
    // Straight to the process's stderr: libtest captures `eprintln!` of passing tests, and a
    // skip must show in a green run.
    let _ = writeln!(
        std::io::stderr(),
        "SKIPPED: {service} unavailable at {url} ({reason}); name one with STREAMIT_TEST_*_URL \
         or start it, and STREAMIT_REQUIRE_SERVICES=1 to fail instead"
    );
    None
}

/// `server_url` with its database path replaced by `name`, keeping user, host and query.
fn with_database(server_url: &str, name: &str) -> String {
    let after_scheme = server_url.find("://").map_or(0, |i| i + 3);
    let rest = &server_url[after_scheme..];
    let authority_end = rest
        .find(['/', '?'])
        .map_or(server_url.len(), |i| after_scheme + i);
    let query = server_url[authority_end..]
        .find('?')
        .map_or("", |i| &server_url[authority_end + i..]);
    format!("{}/{name}{query}", &server_url[..authority_end])
}

/// Drops a test database, whatever is still connected to it.
///
/// Runs on a thread of its own with a current-thread runtime, because `Drop` may run inside a
/// runtime (where blocking on a future panics) or outside one (where there is none). Failures
/// are ignored: a leftover `streamit_test_*` database costs disk space, never a wrong result.
fn drop_postgres_database(server_url: String, name: String) {
    let dropper = std::thread::spawn(move || {
        let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return;
        };
        runtime.block_on(async move {
            let connect = tokio::time::timeout(CONNECT_TIMEOUT, PgConnection::connect(&server_url));
            if let Ok(Ok(mut conn)) = connect.await {
                let _ = conn
                    .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
                    .await;
                let _ = conn.close().await;
            }
        });
    });
    let _ = dropper.join();
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn database_name_replaces_the_path() {
        let name = "streamit_test_x";
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/postgres", name),
            "postgres://postgres@127.0.0.1:5432/streamit_test_x"
        );
        assert_eq!(
            with_database("postgres://u:p@db:5432/main?sslmode=disable", name),
            "postgres://u:p@db:5432/streamit_test_x?sslmode=disable"
        );
        assert_eq!(
            with_database("postgres://db", name),
            "postgres://db/streamit_test_x"
        );
        assert_eq!(
            with_database("postgres://db?sslmode=require", name),
            "postgres://db/streamit_test_x?sslmode=require"
        );
    }
}
