//! Automatic token refresh: REST calls after the access token expired, concurrent callers
//! sharing one refresh, and a room session that meets 4001 on reconnect.

use streamit_client::protocol::v1::{AccessToken, RefreshToken, TokenPair};
use streamit_client::{Client, RoomEvent};
use streamit_testing::eventually;

use crate::support::{PATIENCE, TestServer, join_connected, open_room, skip_to, wait_for};

/// Waits until the server refuses `access` (checked with a probe client whose refresh token
/// is worthless, so the probe cannot refresh), so the test knows it expired.
async fn until_expired(server: &TestServer, access: &AccessToken) {
    let tokens = TokenPair::new(access.clone(), RefreshToken::new("worthless").unwrap(), 0);
    let probe = Client::builder(&server.base_url)
        .no_proxy()
        .tokens(tokens)
        .build()
        .unwrap();
    eventually("the 1 s access token to expire", PATIENCE, async || {
        let refused = probe.me().await.is_err_and(|e| e.status() == Some(401));
        refused.then_some(())
    })
    .await;
}

#[tokio::test]
async fn calls_after_the_access_token_expired_refresh_it_once_and_succeed() {
    let server = TestServer::start(|config| config.access_ttl_seconds = 1).await;
    let client = server.guest("Ada").await;
    let before = client.tokens().unwrap();
    until_expired(&server, &before.access).await;

    // Concurrent calls: one refresh between them (a refresh token spent twice would revoke
    // the login and fail them all).
    let calls: Vec<_> = (0..4)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.me().await })
        })
        .collect();
    for call in calls {
        let me = call
            .await
            .unwrap()
            .expect("the call succeeds after a refresh");
        assert_eq!(me.display_name.as_str(), "Ada");
    }
    let after = client.tokens().unwrap();
    assert_ne!(after.access, before.access);
    assert_ne!(after.refresh, before.refresh);
    client.progress_list().await.unwrap();
}

#[tokio::test]
async fn a_session_refreshes_on_4001_and_reconnects() {
    let mut server = TestServer::start(|config| config.access_ttl_seconds = 1).await;
    let host = server.guest("Host").await;
    let member = server.guest("Member").await;
    let code = open_room(&host).await;
    let (watching, mut events, _) = join_connected(&member, code).await;
    let before = member.tokens().unwrap();
    until_expired(&server, &before.access).await;

    // The reconnect after the restart carries the expired token: 4001, refresh, reconnect.
    server.stop().await;
    server.start_again().await;
    let mut seen = Vec::new();
    wait_for(&mut events, "Connected", &mut seen, |e| {
        (*e == RoomEvent::Connected).then_some(())
    })
    .await;
    assert!(
        seen.iter()
            .any(|e| matches!(e, RoomEvent::Reconnecting { delay, .. } if delay.is_zero())),
        "the reconnect after the refresh is immediate: {seen:?}"
    );
    assert_ne!(member.tokens().unwrap().access, before.access);
    assert!(watching.is_connected());
    skip_to(&mut events, "the snapshot", |e| {
        e.server_event()
            .is_some_and(|s| s.event_type() == "ROOM_SNAPSHOT")
            .then_some(())
    })
    .await;
}
