//! `/metrics` as an operator scrapes it: HTTP by route and status with latency, admissions,
//! broadcasts and deliveries with fan-out latency, closes by code, rooms by state, the pool,
//! the process, and members' drift with the corrections sent.

use serde_json::json;
use streamit_protocol::v1::{ClientEvent, PositionMs, Seek, SyncCheck, UserTarget};
use streamit_testing::sqlite;

use crate::support::{StatusCode, TestServer};
use crate::ws_support::{WsClient, hosted_room, member, metric, next_event, uid};

/// The whole exposition.
async fn scrape(s: &TestServer) -> String {
    let answer = s.get("/metrics").await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    answer.text
}

/// The value of the first series of `name` whose labels include every one of `labels`.
fn series(text: &str, name: &str, labels: &[&str]) -> f64 {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .find(|line| {
            line.split(['{', ' ']).next() == Some(name)
                && labels.iter().all(|label| line.contains(label))
        })
        .and_then(|line| line.rsplit(' ').next()?.parse().ok())
        .unwrap_or_else(|| panic!("no {name} {labels:?} in:\n{text}"))
}

#[tokio::test]
async fn metrics_tell_load_latency_trouble_and_sync_quality() {
    let db = sqlite();
    let s = TestServer::start(&db.url, |c| c.sync_threshold_ms = 100).await;
    let (host, code) = hosted_room(&s, json!({})).await;
    let ada = member(&s, &code, "Ada").await;
    let (mut host_socket, _) = WsClient::join(&s, &code, &host, "host").await;
    let (mut ada_socket, _) = WsClient::join(&s, &code, &ada, "ada").await;
    let _ = next_event!(host_socket, UserJoined);
    let seek = ClientEvent::Seek(Seek::new(PositionMs::new(60_000).unwrap()));
    host_socket.send(seek, None).await;
    let _ = next_event!(ada_socket, PlaybackState);
    // Ada reports a position far from the room's: one drift observed, one correction sent.
    let check = ClientEvent::SyncCheck(SyncCheck::new(PositionMs::new(1_000).unwrap()));
    ada_socket.send(check, None).await;
    let _ = next_event!(ada_socket, SyncCorrection);
    let kick = ClientEvent::KickUser(UserTarget::new(uid(&ada)));
    host_socket.send(kick, None).await;
    let _ = next_event!(ada_socket, UserKicked);
    assert_eq!(ada_socket.expect_close().await, 4011);
    s.get("/api/rooms/public/").await.ok(StatusCode::OK);

    // The kicked socket's close is counted once its writer sent it.
    crate::ws_support::eventually(
        "the 4011 is counted",
        std::time::Duration::from_secs(10),
        || async {
            (metric(&s, "streamit_socket_closes_total{code=\"4011\"}").await == 1).then_some(())
        },
    )
    .await;
    // Every store operation is timed by name: the seek's playback write, the sign-ups; and on
    // a SQLite file, the waits for the connections held for live writes and admissions.
    let text = scrape(&s).await;
    let timed = [
        "save_playback",
        "create_user",
        "admission",
        "wait_live_writes",
        "wait_admissions",
    ];
    for query in timed {
        let label = format!("query=\"{query}\"");
        assert!(
            series(
                &text,
                "streamit_store_query_seconds_count",
                &[label.as_str()]
            ) >= 1.0,
            "{query} is timed"
        );
    }
    assert!(
        series(
            &text,
            "streamit_http_requests_total",
            &["route=\"guest\"", "status=\"201\""]
        ) >= 2.0
    );
    assert!(
        series(
            &text,
            "streamit_http_requests_total",
            &["route=\"public_rooms\"", "status=\"200\""]
        ) >= 1.0
    );
    assert!(
        series(
            &text,
            "streamit_http_request_duration_seconds_count",
            &["route=\"guest\""]
        ) >= 2.0
    );
    assert!(
        series(
            &text,
            "streamit_http_requests_total",
            &["route=\"websocket\"", "status=\"101\""]
        ) >= 2.0
    );
    assert!(series(&text, "streamit_admissions_total", &[]) >= 2.0);
    assert!(
        series(&text, "streamit_broadcasts_total", &[]) >= 3.0,
        "joined, seek, kicked"
    );
    assert!(series(&text, "streamit_deliveries_total", &[]) >= 5.0);
    assert!(series(&text, "streamit_fanout_seconds_count", &[]) >= 1.0);
    assert_eq!(series(&text, "streamit_sync_drift_ms_count", &[]), 1.0);
    assert_eq!(series(&text, "streamit_sync_corrections_total", &[]), 1.0);
    assert_eq!(series(&text, "streamit_rooms", &["state=\"LIVE\""]), 1.0);
    assert_eq!(series(&text, "streamit_rooms", &["state=\"EXPIRED\""]), 0.0);
    assert!(series(&text, "streamit_sockets_open", &[]) >= 1.0);
    assert!(series(&text, "streamit_db_pool_max", &[]) >= 1.0);
    if cfg!(target_os = "linux") {
        assert!(series(&text, "process_resident_memory_bytes", &[]) > 0.0);
        assert!(series(&text, "process_open_fds", &[]) > 0.0);
        assert!(series(&text, "process_cpu_seconds_total", &[]) >= 0.0);
    }
    s.stop().await;
}
