//! `streamit check` against our own server: every rule passes.

use crate::support::World;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_server_passes_every_rule() {
    let world = World::start().await;
    let run = world.streamit("checker", &["check", &world.base_url]).await;
    let failures: Vec<_> = run.json["rules"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|rule| rule["passed"] != true)
        .collect();
    assert!(failures.is_empty(), "{failures:#?}");
    assert!(run.ok, "{run:?}");
    assert!(run.json["passed"].as_u64().unwrap() >= 20, "{}", run.json);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_is_not_there_fails() {
    let world = World::start().await;
    // A loopback port nobody listens on: bind one, then let it go.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let run = world
        .streamit("checker", &["check", &format!("http://127.0.0.1:{port}")])
        .await;
    assert!(!run.ok);
    assert_eq!(run.json["passed"], 0, "{}", run.json);
}
