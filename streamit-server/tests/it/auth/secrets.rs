//! The token-signing secret: refused under 32 bytes before anything is touched, generated into
//! a file beside a SQLite database that only its owner may read (never into the database),
//! demanded for PostgreSQL, and rotated with the previous secret still verifying.

use std::path::Path;
use std::time::Duration;

use sqlx::Connection as _;
use streamit_server::{Config, StartError, run};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::support::{StatusCode, TestServer};

/// Exactly 32 bytes each, the shortest accepted.
const OLD: &str = "the old secret, thirty-two bytes";
const NEW: &str = "the new secret, thirty-two bytes";

/// Starts `run` with `config` and expects it to refuse promptly.
async fn refused(config: Config) -> StartError {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let started = run(listener, config, CancellationToken::new());
    tokio::time::timeout(Duration::from_secs(30), started)
        .await
        .expect("start-up fails promptly")
        .expect_err("start-up must fail")
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test]
async fn short_secrets_stop_start_up_before_the_database_is_made() {
    let db = streamit_testing::sqlite();
    let file = db.url.strip_prefix("sqlite://").unwrap().to_owned();
    assert_eq!(OLD.len(), 32);
    for secret in ["", "x", &OLD[1..]] {
        let mut config = Config::defaults();
        config.database_url = db.url.clone();
        config.jwt_secret = Some(secret.to_owned());
        let error = refused(config).await;
        assert!(matches!(error, StartError::Secret { .. }), "{error:?}");
        let shown = error.to_string();
        assert!(shown.contains("at least 32"), "{secret:?}: {shown}");
        assert!(
            !Path::new(&file).exists(),
            "no database made for a bad setting"
        );
    }
}

#[tokio::test]
async fn postgres_without_a_shared_secret_is_refused() {
    let mut config = Config::defaults();
    config.database_url = "postgres://postgres@127.0.0.1:5432/postgres".to_owned();
    let error = refused(config).await;
    assert!(matches!(error, StartError::Secret { .. }), "{error:?}");
    assert!(error.to_string().contains("--jwt-secret"), "{error}");
}

#[cfg(unix)]
#[tokio::test]
async fn the_generated_secret_sits_beside_the_database_for_its_owner_only() {
    let db = streamit_testing::sqlite();
    let file = db.url.strip_prefix("sqlite://").unwrap().to_owned();
    let s = TestServer::start(&db.url, |_| {}).await;
    let ada = s.guest("Ada").await;
    s.stop().await;
    let secret = format!("{file}.jwt-secret");
    assert_eq!(mode(Path::new(&secret)), 0o600, "{secret}");
    assert_eq!(mode(Path::new(&file)), 0o600, "{file}");
    let text = std::fs::read_to_string(&secret).unwrap();
    assert_eq!(text.trim().len(), 64, "32 random bytes in hex");

    let mut sqlite = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
    let tables: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'server_secrets'",
    )
    .fetch_one(&mut sqlite)
    .await
    .unwrap();
    assert_eq!(tables, 0, "no secret is kept in the database");

    let restarted = TestServer::start(&db.url, |_| {}).await;
    restarted
        .get_as(&ada.access, "/api/auth/me/")
        .await
        .ok(StatusCode::OK);
    restarted.stop().await;
}

#[tokio::test]
async fn a_rotated_secret_still_verifies_until_it_is_dropped() {
    let db = streamit_testing::sqlite();
    let with = |secret: &'static str, previous: Option<&'static str>| {
        move |c: &mut Config| {
            c.jwt_secret = Some(secret.to_owned());
            c.jwt_previous_secret = previous.map(str::to_owned);
        }
    };
    let s = TestServer::start(&db.url, with(OLD, None)).await;
    let before = s.guest("Before").await;
    s.stop().await;

    let s = TestServer::start(&db.url, with(NEW, Some(OLD))).await;
    let during = s.guest("During").await;
    for token in [&before.access, &during.access] {
        s.get_as(token, "/api/auth/me/").await.ok(StatusCode::OK);
    }
    s.stop().await;

    let s = TestServer::start(&db.url, with(NEW, None)).await;
    s.get_as(&during.access, "/api/auth/me/")
        .await
        .ok(StatusCode::OK);
    s.get_as(&before.access, "/api/auth/me/")
        .await
        .error(StatusCode::UNAUTHORIZED, "UNAUTHORIZED");
    s.stop().await;
}

/// `STREAMIT_JWT_SECRET=` set but empty is a setting, not an absence: the binary refuses it
/// and says why, once, without a backtrace.
#[cfg(target_os = "linux")]
#[tokio::test]
async fn the_binary_refuses_an_empty_secret_from_its_environment() {
    use std::process::{Command, Stdio};

    use crate::support::KillOnDrop;

    let db = streamit_testing::sqlite();
    let logs = tempfile::tempdir().unwrap();
    let stderr_path = logs.path().join("stderr");
    let child = Command::new(env!("CARGO_BIN_EXE_streamit-server"))
        .args(["--bind", "127.0.0.1:0", "--database-url", &db.url])
        .env("STREAMIT_JWT_SECRET", "")
        .env_remove("RUST_BACKTRACE")
        .stdout(Stdio::null())
        .stderr(Stdio::from(std::fs::File::create(&stderr_path).unwrap()))
        .spawn()
        .unwrap();
    let mut child = KillOnDrop(child);
    let status = child
        .exited(Duration::from_secs(30), "the binary refuses promptly")
        .await;
    let stderr = std::fs::read_to_string(&stderr_path).unwrap();
    assert!(!status.success(), "{stderr}");
    assert!(stderr.contains("at least 32"), "{stderr}");
    assert!(!stderr.contains("backtrace"), "{stderr}");
}
