//! Every bench at a tiny size against the real server: the counts add up and no frame broke
//! the protocol (no timing is asserted).

use serde_json::Value;

use crate::support::World;

async fn bench(world: &World, args: &[&str]) -> Value {
    let mut all = vec!["bench"];
    all.extend_from_slice(args);
    let run = world.streamit("bots", &all).await;
    assert!(run.ok, "{run:?}");
    assert_eq!(run.json["violations"], 0, "{run:?}");
    run.json
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fanout_delivers_every_change_to_every_member() {
    let world = World::start().await;
    let line = bench(
        &world,
        &[
            "fanout",
            "--rooms",
            "2",
            "--members",
            "3",
            "--rate",
            "10",
            "--seconds",
            "1",
        ],
    )
    .await;
    assert_eq!(line["bench"], "fanout");
    assert_eq!(line["sent"], 20);
    assert_eq!(line["expected"], 60);
    assert_eq!(line["received"], 60);
    assert_eq!(line["lost"], 0);
    assert_eq!(line["latency_ms"]["n"], 60);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_delivers_every_line_to_every_socket() {
    let world = World::start().await;
    let line = bench(
        &world,
        &[
            "chat",
            "--rooms",
            "2",
            "--members",
            "2",
            "--rate",
            "2",
            "--seconds",
            "2",
        ],
    )
    .await;
    assert_eq!(line["sent"], 8);
    assert_eq!(line["refused"], 0);
    assert_eq!(line["expected"], 24);
    assert_eq!(line["received"], 24);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_and_hold_admit_sockets() {
    let world = World::start().await;
    let connect = bench(
        &world,
        &[
            "connect",
            "--members",
            "3",
            "--workers",
            "2",
            "--seconds",
            "1",
        ],
    )
    .await;
    assert!(connect["admitted"].as_u64().unwrap() > 0, "{connect}");
    assert_eq!(connect["failed"], 0, "{connect}");
    let hold = bench(
        &world,
        &["hold", "--rooms", "2", "--members", "3", "--workers", "2"],
    )
    .await;
    assert_eq!(hold["sockets_held"], 6);
    assert_eq!(hold["failed"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn churn_members_come_and_go_while_the_host_seeks_and_everyone_chats() {
    let world = World::start().await;
    let run = world
        .streamit(
            "bots",
            &[
                "bench",
                "churn",
                "--rooms",
                "1",
                "--members",
                "3",
                "--rate",
                "5",
                "--chat-rate",
                "1",
                "--member-chat-seconds",
                "1",
                "--stay-ms",
                "1200-1500",
                "--pause-ms",
                "50-100",
                "--seconds",
                "4",
                "--sample-seconds",
                "1",
            ],
        )
        .await;
    assert!(run.ok, "{run:?}");
    let line = &run.json;
    assert_eq!(line["bench"], "churn");
    assert_eq!(line["violations"], 0, "{line}");
    let totals = &line["totals"];
    assert!(totals["joins"].as_u64().unwrap() > 3, "{line}");
    assert!(totals["leaves"].as_u64().unwrap() > 0, "{line}");
    assert!(totals["seeks"].as_u64().unwrap() > 0, "{line}");
    assert!(totals["playback"].as_u64().unwrap() > 0, "{line}");
    assert!(totals["chat_echoed"].as_u64().unwrap() > 0, "{line}");
    assert_eq!(line["lost"], 0, "{line}");
    assert_eq!(totals.get("errors"), None, "{line}");
    // The idle sample, one a second while it ran, then the summary.
    let samples = run
        .lines
        .iter()
        .filter(|l| l["bench"] == "churn-sample")
        .count();
    assert!(samples >= 3, "{run:?}");
    assert!(line["samples"].as_u64().unwrap() >= 2, "{line}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_members_follow_the_host() {
    let world = World::start().await;
    let line = bench(
        &world,
        &[
            "sync",
            "--rooms",
            "1",
            "--members",
            "2",
            "--seconds",
            "8",
            "--skew-ms",
            "5000",
            "--latency-ms",
            "1-5",
            "--warmup-ms",
            "1000",
            "--media-skew-pct",
            "0.15",
            "--media-skew-share",
            "0.5",
        ],
    )
    .await;
    let members = line["per_member"].as_array().unwrap();
    assert_eq!(members.len(), 2);
    // One member's media clock is 0.15 % off, the other's exact.
    assert!((members[0]["media_rate"].as_f64().unwrap() - 1.0015).abs() < 1e-9);
    assert_eq!(members[1]["media_rate"], 1.0);
    assert_eq!(line["host_errors"], 0);
    // Each member heard its snapshot and the script's seven changes.
    assert_eq!(line["received"], 16, "{line}");
    assert!(
        line["clock_offset_error_ms"]["n"].as_u64().unwrap() > 0,
        "{line}"
    );
    let by_action = line["time_to_converge_ms_by_action"].as_object().unwrap();
    let actions: Vec<&str> = by_action.keys().map(String::as_str).collect();
    assert_eq!(
        actions,
        ["PAUSE", "PLAY", "RATE", "RESUME", "SEEK", "SEEK_PAUSED"],
        "{line}"
    );
    for side in ["exact_media", "skewed_media"] {
        assert!(
            line["steady_corrections"][side]["per_member_per_min"].is_f64(),
            "{line}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remote_server_is_refused_without_allow_remote() {
    let world = World::start().await;
    let run = world
        .streamit(
            "bots",
            &[
                "bench",
                "fanout",
                "--member-url",
                "http://192.0.2.1:8000",
                "--seconds",
                "1",
            ],
        )
        .await;
    assert!(!run.ok);
    assert!(run.stderr.contains("--allow-remote"), "{run:?}");
}
