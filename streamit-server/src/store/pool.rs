//! Opening the pool: which backend a URL names, how many connections it gets, and the settings
//! every SQLite connection needs.

use std::io;
use std::path::PathBuf;
use std::time::Duration;

use sqlx::any::AnyPoolOptions;
use sqlx::{AnyConnection, AnyPool, Connection as _, Executor};

use super::{Backend, Error, Result};
use crate::files;

/// SQLite serialises writers, so more connections only add readers; WAL lets a few read while
/// one writes.
const SQLITE_CONNECTIONS: u32 = 4;

/// Per node; several nodes share one PostgreSQL, whose default limit is 100 connections.
const POSTGRES_CONNECTIONS: u32 = 10;

/// A PostgreSQL connection idle this long is pinged before it is used again, so one the server
/// or a proxy dropped meanwhile is replaced rather than failing a request. Busier connections
/// are not: a ping before every query would double its round trips.
pub(super) const PING_AFTER_IDLE: Duration = Duration::from_secs(10);

/// [`SQLITE_BUSY_TIMEOUT`] in ms, as a literal `SQLITE_PRAGMAS` can spell.
macro_rules! busy_timeout_ms {
    () => {
        5000
    };
}

/// How long SQLite waits for a lock another connection holds before failing with `SQLITE_BUSY`.
pub(super) const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_millis(busy_timeout_ms!());

/// Applied to every SQLite connection, since pragmas (but `journal_mode`) are per connection.
/// `busy_timeout` comes first so switching to WAL waits out a racing writer instead of failing
/// (a racing switch still fails at once: `set_up_once`); `synchronous=NORMAL` is durable enough
/// in WAL mode and much faster.
const SQLITE_PRAGMAS: &str = concat!(
    "PRAGMA busy_timeout = ",
    busy_timeout_ms!(),
    "; PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;"
);

/// How long a query waits for a connection before it fails (503 `UNAVAILABLE` over HTTP): a
/// database that went away must not hold every request for sqlx's default 30 s.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(2);

/// How long start-up waits for its first connection before saying the database does not answer.
const FIRST_CONNECTION_TIMEOUT: Duration = Duration::from_secs(5);

/// Connects a pool to `url` and says which backend it is.
pub(super) async fn open(url: &str) -> Result<(AnyPool, Backend)> {
    sqlx::any::install_default_drivers();
    let backend = backend_of(url)?;
    // sqlx pings every connection it hands out by default: one more round trip per query (for
    // SQLite, a trip to the connection's thread and back) to guard against a dropped link.
    let options = AnyPoolOptions::new()
        .test_before_acquire(false)
        .acquire_timeout(ACQUIRE_TIMEOUT);
    let options = match backend {
        Backend::Postgres => options
            .max_connections(POSTGRES_CONNECTIONS)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for >= PING_AFTER_IDLE {
                        conn.ping().await?;
                    }
                    Ok(true)
                })
            }),
        // A file cannot hang up: never pinged.
        Backend::Sqlite if is_memory(url) => memory_pool(options),
        Backend::Sqlite => options.max_connections(SQLITE_CONNECTIONS),
    };
    let options = match backend {
        Backend::Sqlite => options.after_connect(|conn, _| {
            Box::pin(async move { conn.execute(SQLITE_PRAGMAS).await.map(drop) })
        }),
        // PostgreSQL's notices reach the log through sqlx; `main` shows them when debugging.
        Backend::Postgres => options,
    };
    let url = match backend {
        Backend::Sqlite => {
            create_sqlite_file(url)?;
            sqlite_url(url)
        }
        Backend::Postgres => url.to_owned(),
    };
    first_connection(&url, backend).await?;
    Ok((options.connect(&url).await?, backend))
}

/// One connection, set up as the pool's will be, to name why the database cannot be used
/// (refused, unknown host, bad password, unreadable or read-only file) within seconds: the pool
/// would retry until its timeout and then say only that it timed out.
async fn first_connection(url: &str, backend: Backend) -> Result<()> {
    let connecting = async {
        loop {
            match set_up_once(url, backend).await {
                Err(error) if is_busy(&error) => tokio::time::sleep(BUSY_RETRY_AFTER).await,
                done => return done,
            }
        }
    };
    match tokio::time::timeout(FIRST_CONNECTION_TIMEOUT, connecting).await {
        Ok(connected) => connected.map_err(Into::into),
        Err(_) => Err(Error::Unavailable(format!(
            "no answer within {} s",
            FIRST_CONNECTION_TIMEOUT.as_secs()
        ))),
    }
}

/// How long a first connection that found a new SQLite file busy waits before trying again.
const BUSY_RETRY_AFTER: Duration = Duration::from_millis(20);

/// Connects once and applies the SQLite settings. Two nodes starting at once on a new file can
/// both hold a read lock while each wants the exclusive one that switching to WAL needs: SQLite
/// then fails one of them at once with `SQLITE_BUSY`, without waiting out `busy_timeout`
/// (waiting would deadlock), and it must try again.
async fn set_up_once(url: &str, backend: Backend) -> sqlx::Result<()> {
    let conn = match backend {
        Backend::Sqlite => connect_one(url).await?,
        Backend::Postgres => AnyConnection::connect(url).await?,
    };
    conn.close().await
}

/// One SQLite connection outside the pool, set up as the pool's are.
pub(super) async fn connect_one(url: &str) -> sqlx::Result<AnyConnection> {
    let mut conn = AnyConnection::connect(url).await?;
    conn.execute(SQLITE_PRAGMAS).await?;
    Ok(conn)
}

/// Whether SQLite answered `SQLITE_BUSY` (any of its extended codes).
fn is_busy(error: &sqlx::Error) -> bool {
    const SQLITE_BUSY: i32 = 5;
    let sqlx::Error::Database(error) = error else {
        return false;
    };
    error
        .code()
        .and_then(|code| code.parse::<i32>().ok())
        .is_some_and(|code| code & 0xff == SQLITE_BUSY)
}

/// The pool of an in-memory SQLite database: every connection to `sqlite::memory:` opens a
/// database of its own, so the pool keeps exactly one, open for the pool's whole life.
fn memory_pool(options: AnyPoolOptions) -> AnyPoolOptions {
    options
        .min_connections(1)
        .max_connections(1)
        .idle_timeout(None)
        .max_lifetime(None)
}

fn backend_of(url: &str) -> Result<Backend> {
    if is_sqlite(url) {
        Ok(Backend::Sqlite)
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Backend::Postgres)
    } else {
        let scheme = url.split(':').next().unwrap_or_default();
        let message =
            format!("unsupported database URL scheme {scheme:?}; use sqlite:// or postgres://");
        Err(sqlx::Error::Configuration(message.into()).into())
    }
}

/// Whether `url` names a SQLite database (a file or memory).
pub(crate) fn is_sqlite(url: &str) -> bool {
    url.starts_with("sqlite:")
}

/// The file a SQLite URL names: `sqlite://path?options` or `sqlite:path`, percent-decoded as
/// sqlx decodes it (`%20` for a space, `%3F` for a `?`), so the file the server creates and
/// keeps its keys beside is the one sqlx opens; `None` for memory, other backends and a path
/// that does not decode to UTF-8 (sqlx refuses that one itself).
pub(crate) fn sqlite_file(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("sqlite:")?;
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let path = rest.split('?').next().unwrap_or_default();
    if path.is_empty() || is_memory(url) {
        return None;
    }
    let path = percent_encoding::percent_decode_str(path)
        .decode_utf8()
        .ok()?;
    Some(PathBuf::from(&*path))
}

/// Creates a missing database file readable by its owner only: SQLite would make it 0644, and
/// it holds every account's password hash. SQLite gives its WAL and shared-memory files the
/// database file's mode. An existing file is left as the operator made it, with a warning when
/// others may read it.
fn create_sqlite_file(url: &str) -> Result<()> {
    let Some(path) = sqlite_file(url) else {
        return Ok(());
    };
    // `mode=ro` and `mode=rw` ask SQLite not to create the file; neither does the server.
    if url.contains("mode=") && !url.contains("mode=rwc") {
        return Ok(());
    }
    match files::create_private(&path) {
        Ok(_) => Ok(()),
        Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {
            if files::is_shared(&path) == Some(true) {
                tracing::warn!(path = %path.display(), "others may read the database; chmod 600 it");
            }
            Ok(())
        }
        Err(error) => Err(sqlx::Error::Io(error).into()),
    }
}

pub(super) fn is_memory(url: &str) -> bool {
    url.contains(":memory:") || url.contains("mode=memory")
}

/// A SQLite URL that creates its file when missing, unless it already chose a `mode`.
pub(super) fn sqlite_url(url: &str) -> String {
    if is_memory(url) || url.contains("mode=") {
        url.to_owned()
    } else if url.contains('?') {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_create_their_file_unless_told_otherwise() {
        assert_eq!(
            sqlite_url("sqlite://streamit.db"),
            "sqlite://streamit.db?mode=rwc"
        );
        assert_eq!(
            sqlite_url("sqlite://a.db?cache=shared"),
            "sqlite://a.db?cache=shared&mode=rwc"
        );
        assert_eq!(sqlite_url("sqlite://a.db?mode=ro"), "sqlite://a.db?mode=ro");
        assert_eq!(sqlite_url("sqlite::memory:"), "sqlite::memory:");
    }

    #[test]
    fn sqlite_files_by_url() {
        let file = |url| sqlite_file(url).map(|p| p.display().to_string());
        assert_eq!(file("sqlite://streamit.db").as_deref(), Some("streamit.db"));
        assert_eq!(
            file("sqlite:///var/lib/s.db?mode=rwc").as_deref(),
            Some("/var/lib/s.db")
        );
        assert_eq!(file("sqlite:data/s.db").as_deref(), Some("data/s.db"));
        assert_eq!(
            file("sqlite:///srv/my%20data/s%3Fq.db?mode=rwc").as_deref(),
            Some("/srv/my data/s?q.db"),
            "decoded as sqlx decodes it"
        );
        assert_eq!(file("sqlite://bad%FF.db"), None);
        assert_eq!(file("sqlite::memory:"), None);
        assert_eq!(file("sqlite://x.db?mode=memory"), None);
        assert_eq!(file("postgres://db/x"), None);
    }

    #[test]
    fn backends_by_scheme() {
        assert_eq!(backend_of("sqlite::memory:").unwrap(), Backend::Sqlite);
        assert_eq!(backend_of("postgresql://db/x").unwrap(), Backend::Postgres);
        assert!(backend_of("mysql://db/x").is_err());
    }
}
