//! Operations: the health probes, start-up failures that say why without leaking secrets,
//! graceful stop, and logs that never hold a password or a token.

use serde_json::json;
use streamit_server::{Config, run};
use streamit_testing::backends;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::support::{StatusCode, TEST_SECRET, TestServer, logs};

#[tokio::test]
async fn health_and_readiness_answer_200() {
    for db in backends().await {
        let s = TestServer::start(&db.url, |_| {}).await;
        for path in ["/healthz", "/healthz/", "/readyz", "/readyz/"] {
            let answer = s.get(path).await;
            assert_eq!(
                answer.status,
                StatusCode::OK,
                "{}: {}",
                answer.what,
                answer.text
            );
            assert!(!answer.text.is_empty(), "{}", answer.what);
        }
        // Probes need no token, even with a bad one.
        let request = s
            .request(reqwest::Method::GET, "/readyz")
            .bearer_auth("garbage");
        assert_eq!(
            s.send("GET /readyz with a bad token", request).await.status,
            StatusCode::OK
        );
        s.stop().await;
    }
}

#[tokio::test]
async fn a_database_that_cannot_open_stops_start_up_naming_why_without_leaking_its_password() {
    let dir = std::env::temp_dir().join(format!("streamit-missing-{}", std::process::id()));
    let existing = streamit_testing::sqlite();
    let file = existing.url.strip_prefix("sqlite://").unwrap();
    std::fs::File::create(file).unwrap();
    // Each URL, and what the refusal must name.
    let urls = [
        (
            "mysql://app:s3cret-db-password@127.0.0.1/streamit".to_owned(),
            "scheme",
        ),
        (
            format!("sqlite://{}/no/such/dir/streamit.db?mode=rw", dir.display()),
            "unable to open",
        ),
        (format!("{}?mode=ro", existing.url), "readonly"),
        (
            "postgres://app:s3cret-db-password@127.0.0.1:1/streamit".to_owned(),
            "refused",
        ),
    ];
    for (url, cause) in urls {
        let mut config = Config::defaults();
        config.database_url = url.clone();
        config.jwt_secret = Some(TEST_SECRET.to_owned());
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let started = run(listener, config, CancellationToken::new());
        let ended = tokio::time::timeout(std::time::Duration::from_secs(30), started).await;
        let error = ended.expect("start-up fails promptly").expect_err(&url);
        let shown = format!("{error} {error:?}");
        assert!(shown.contains("database"), "{url}: {shown}");
        assert!(shown.contains(cause), "{url}: names {cause:?}: {shown}");
        assert!(
            !shown.contains("s3cret-db-password"),
            "{url}: the password leaked: {shown}"
        );
    }
}

#[tokio::test]
async fn stop_drains_and_returns() {
    for db in backends().await {
        let s = TestServer::start(&db.url, |c| c.shutdown_grace_seconds = 1).await;
        // A keep-alive connection is open and idle when the token is cancelled.
        s.guest("Ada").await;
        s.stop().await;
    }
}

/// A clean stop closes every database connection, the held ones of live rooms and admissions
/// included, so SQLite folds the WAL back into the file: a copy of `streamit.db` made after
/// the stop has everything (docs/operations.md, backups).
#[tokio::test]
async fn a_clean_stop_leaves_only_the_database_file() {
    use std::path::PathBuf;

    use streamit_protocol::v1::{ClientEvent, PositionMs, Seek};

    use crate::ws_support::{WsClient, hosted_room, member, next_event, room_detail};

    let db = streamit_testing::sqlite();
    let s = TestServer::start(&db.url, |_| {}).await;
    let (host, code) = hosted_room(&s, json!({})).await;
    let (mut socket, _) = WsClient::join(&s, &code, &host, "host").await;
    let seek = ClientEvent::Seek(Seek::new(PositionMs::new(42_000).unwrap()));
    socket.send(seek, None).await;
    next_event!(socket, PlaybackState);
    let file = PathBuf::from(db.url.strip_prefix("sqlite://").unwrap());
    let beside = |suffix: &str| file.with_file_name(format!("streamit.db{suffix}"));
    assert!(beside("-wal").exists(), "the server runs in WAL mode");
    drop(socket);
    s.stop().await;
    assert!(
        !beside("-wal").exists(),
        "a WAL file is left after a clean stop"
    );
    assert!(
        !beside("-shm").exists(),
        "a shm file is left after a clean stop"
    );

    // The backup: the file alone, copied elsewhere, holds the room as it was left.
    let copy = streamit_testing::sqlite();
    let copied = PathBuf::from(copy.url.strip_prefix("sqlite://").unwrap());
    std::fs::copy(&file, &copied).unwrap();
    let restored = TestServer::start(&copy.url, |_| {}).await;
    let someone = member(&restored, &code, "Someone").await;
    let detail = room_detail(&restored, &someone, &code).await;
    assert_eq!(detail["playback"]["position_ms"], 42_000, "{detail}");
    restored.stop().await;
}

#[tokio::test]
async fn passwords_and_tokens_never_reach_the_logs() {
    const SECRETS: [&str; 7] = [
        "log-secret-account-password",
        "log-secret-wrong-password",
        "log-secret-second-password",
        "log-secret-room-password",
        "log-secret-wrong-room-password",
        "log-secret-bogus-bearer",
        "log-secret-bogus-refresh",
    ];
    for db in backends().await {
        let s = TestServer::start(&db.url, |_| {}).await;
        let mut secrets: Vec<String> = SECRETS.iter().map(|&x| x.to_owned()).collect();
        let register =
            json!({"email": "ada@example.com", "password": SECRETS[0], "display_name": "Ada"});
        let ada = s.post("/api/auth/register/", register).await;
        let taken =
            json!({"email": "ada@example.com", "password": SECRETS[2], "display_name": "Ada"});
        s.post("/api/auth/register/", taken)
            .await
            .error(StatusCode::CONFLICT, "EMAIL_TAKEN");
        let wrong = json!({"email": "ada@example.com", "password": SECRETS[1]});
        s.post("/api/auth/login/", wrong)
            .await
            .error(StatusCode::UNAUTHORIZED, "INVALID_CREDENTIALS");
        let malformed = format!(
            r#"{{"email": "ada@example.com", "password": "{}""#,
            SECRETS[1]
        );
        s.post_raw(
            None,
            "/api/auth/login/",
            Some("application/json"),
            malformed,
        )
        .await
        .assert_error_shape();
        let login = s
            .post(
                "/api/auth/login/",
                json!({"email": "ada@example.com", "password": SECRETS[0]}),
            )
            .await;
        let token = login.ok(StatusCode::OK)["access"]
            .as_str()
            .unwrap()
            .to_owned();
        for answer in [&ada, &login] {
            secrets.push(answer.body["access"].as_str().unwrap().to_owned());
            secrets.push(answer.body["refresh"].as_str().unwrap().to_owned());
        }
        let first_refresh = login.body["refresh"].as_str().unwrap();
        let rotated = s
            .post("/api/auth/refresh/", json!({"refresh": first_refresh}))
            .await;
        secrets.push(
            rotated.ok(StatusCode::OK)["access"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
        secrets.push(rotated.body["refresh"].as_str().unwrap().to_owned());
        s.post("/api/auth/refresh/", json!({"refresh": first_refresh}))
            .await
            .error(StatusCode::UNAUTHORIZED, "INVALID_TOKEN");
        s.post("/api/auth/refresh/", json!({"refresh": SECRETS[6]}))
            .await
            .error(StatusCode::UNAUTHORIZED, "INVALID_TOKEN");
        s.get_as(SECRETS[5], "/api/auth/me/")
            .await
            .error(StatusCode::UNAUTHORIZED, "UNAUTHORIZED");

        let other = s
            .post(
                "/api/auth/login/",
                json!({"email": "ada@example.com", "password": SECRETS[0]}),
            )
            .await;
        let token_b = other.ok(StatusCode::OK)["access"]
            .as_str()
            .unwrap()
            .to_owned();
        secrets.push(token_b.clone());
        secrets.push(other.body["refresh"].as_str().unwrap().to_owned());
        let chosen = json!({"entry_mode": "PASSWORD", "password": SECRETS[3]});
        let code = s
            .post_as(&token_b, "/api/rooms/create/", chosen)
            .await
            .ok(StatusCode::CREATED)["room"]["code"]
            .clone();
        let generated = s
            .post_as(
                &token_b,
                "/api/rooms/create/",
                json!({"entry_mode": "PASSWORD"}),
            )
            .await;
        secrets.push(
            generated.ok(StatusCode::CREATED)["password"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
        let bo = s.guest("Bo").await;
        secrets.extend([bo.access.clone(), bo.refresh.clone()]);
        let join = |password: &str| json!({"code": code, "password": password});
        s.post_as(&bo.access, "/api/rooms/join/", join(SECRETS[4]))
            .await
            .error(StatusCode::FORBIDDEN, "WRONG_PASSWORD");
        s.post_as(&bo.access, "/api/rooms/join/", join(SECRETS[3]))
            .await
            .ok(StatusCode::OK);
        let out = s
            .post_as(
                &token_b,
                "/api/auth/logout/",
                json!({"refresh": other.body["refresh"]}),
            )
            .await;
        assert_eq!(out.status, StatusCode::NO_CONTENT, "{}", out.what);
        s.get_as(&token, "/api/auth/me/")
            .await
            .error(StatusCode::UNAUTHORIZED, "UNAUTHORIZED");
        s.stop().await;

        let logs = logs();
        let code = code.as_str().unwrap();
        assert!(
            logs.contains(code),
            "[{}] the capture works: the room's creation is logged",
            s_backend(&db.url)
        );
        for secret in &secrets {
            assert!(
                !logs.contains(secret.as_str()),
                "[{}] a secret reached the logs: {secret}",
                s_backend(&db.url)
            );
        }
    }
}

fn s_backend(url: &str) -> &'static str {
    if url.starts_with("sqlite") {
        "sqlite"
    } else {
        "postgres"
    }
}

/// The soft and hard open-file limits of process `pid`, from `/proc`.
#[cfg(target_os = "linux")]
fn open_files_limits(pid: &str) -> (String, String) {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let line = limits
        .lines()
        .find(|line| line.starts_with("Max open files"))
        .unwrap();
    let mut numbers = line.split_whitespace().skip(3);
    let soft = numbers.next().unwrap().to_owned();
    (soft, numbers.next().unwrap().to_owned())
}

/// The binary as an operator starts it, from a shell whose soft open-file limit is 512: it
/// raises that limit to the hard one (every socket is an open file) and says so in its log,
/// where `--log` wins over `RUST_LOG`, serves, and exits cleanly on SIGTERM.
#[cfg(target_os = "linux")]
#[tokio::test]
async fn the_binary_takes_every_open_file_it_may_and_stops_on_sigterm() {
    use std::process::Command;

    use crate::support::serving_binary;

    let (_, hard) = open_files_limits("self");
    let db = streamit_testing::sqlite();
    let log_dir = tempfile::tempdir().unwrap();
    let log = log_dir.path().join("server.log");
    let mut command = Command::new("bash");
    command
        .args(["-c", r#"ulimit -Sn 512 && exec "$0" "$@""#])
        .arg(env!("CARGO_BIN_EXE_streamit-server"))
        .args(["--database-url", &db.url, "--log", "info"])
        .env("RUST_LOG", "error");
    let (mut server, _) = serving_binary(command, &log).await;
    let pid = server.0.id().to_string();
    assert_eq!(open_files_limits(&pid), (hard.clone(), hard.clone()));
    let logged = std::fs::read_to_string(&log).unwrap();
    let said = logged
        .lines()
        .find(|line| line.contains("open files allowed"))
        .unwrap_or_else(|| panic!("no open-file line at --log info:\n{logged}"));
    assert!(said.contains(&hard), "{said}");
    server.terminate().await;
}

/// `--log-format json`: every line is one JSON object, with an access line per request that
/// never carries the query (where a token may sit).
#[cfg(target_os = "linux")]
#[tokio::test]
async fn json_logs_have_an_access_line_per_request_without_the_query() {
    use std::process::Command;

    use crate::support::serving_binary;

    let db = streamit_testing::sqlite();
    let log_dir = tempfile::tempdir().unwrap();
    let log = log_dir.path().join("server.log");
    let mut command = Command::new(env!("CARGO_BIN_EXE_streamit-server"));
    command
        .args(["--database-url", &db.url, "--log", "info"])
        .args(["--log-format", "json"]);
    let (mut server, port) = serving_binary(command, &log).await;
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let probe = format!("http://127.0.0.1:{port}/healthz?token=log-secret-in-query");
    let answer = client.get(&probe).send().await.unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    server.terminate().await;

    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(!logged.contains("log-secret-in-query"), "{logged}");
    let lines: Vec<serde_json::Value> = logged
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    let access = lines
        .iter()
        .rev()
        .find(|l| l["target"] == "streamit_server::access" && l["status"] == 200)
        .unwrap_or_else(|| panic!("no access line for /healthz:\n{logged}"));
    assert_eq!(access["spans"][0]["path"], "/healthz", "{access}");
    assert!(access["micros"].is_u64(), "{access}");
}

/// PostgreSQL's notices (a second start's "relation already exists, skipping") stay out of an
/// operator's log at `info`, and show with `debug`.
#[cfg(target_os = "linux")]
#[tokio::test]
async fn database_notices_show_only_when_debugging() {
    use std::process::Command;

    use crate::support::serving_binary;

    let Some(db) = streamit_testing::postgres().await else {
        return;
    };
    let log_dir = tempfile::tempdir().unwrap();
    let mut notices = Vec::new();
    for (run, level) in ["info", "info", "debug"].into_iter().enumerate() {
        let log = log_dir.path().join(format!("server-{run}.log"));
        let mut command = Command::new(env!("CARGO_BIN_EXE_streamit-server"));
        command
            .args(["--database-url", &db.url, "--jwt-secret", TEST_SECRET])
            .args(["--log", level])
            .env_remove("RUST_LOG");
        let (mut server, _) = serving_binary(command, &log).await;
        server.terminate().await;
        let logged = std::fs::read_to_string(&log).unwrap();
        notices.push(
            logged
                .lines()
                .filter(|line| line.contains("sqlx::postgres::notice"))
                .count(),
        );
    }
    assert_eq!(notices[..2], [0, 0], "no notice at info");
    assert!(notices[2] > 0, "the second start's notices at debug");
}
