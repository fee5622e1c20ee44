//! Clock sync against the real server with the client's clock skewed by ±5 s: the offset
//! comes out within 5 ms on loopback, the estimate and its watch say so, and positions come
//! out in server time.

use streamit_client::protocol::v1::{PositionMs, ServerEvent};
use streamit_client::{Clock, JoinOptions, SystemClock};

use crate::support::{PATIENCE, TestServer, connected, open_room, quick_options, skip_to};

/// The system clock moved by a fixed amount.
struct Skewed(i64);

impl Clock for Skewed {
    fn now_ms(&self) -> u64 {
        SystemClock.now_ms().saturating_add_signed(self.0)
    }
}

#[tokio::test]
async fn the_offset_cancels_a_skewed_clock() {
    let server = TestServer::start(|_| {}).await;
    let host = server.guest("Host").await;
    let code = open_room(&host).await;
    let (hosting, mut host_events) = host.join_room(code).await.unwrap();
    connected(&mut host_events).await;
    hosting
        .play(Some(PositionMs::new(60_000).unwrap()))
        .await
        .unwrap();

    for skew in [5_000, -5_000] {
        let member = server.guest("Member").await;
        let options = quick_options().clock(Skewed(skew));
        let (session, mut events) = member
            .join_room_with(code, JoinOptions::new().session(options))
            .await
            .unwrap();
        connected(&mut events).await;
        let mut updates = session.clock_updates();
        tokio::time::timeout(PATIENCE, updates.wait_for(Option::is_some))
            .await
            .unwrap()
            .unwrap();
        // A few more exchanges of our own; each one tightens the estimate.
        for _ in 0..3 {
            let reference = session.ping().await.unwrap();
            skip_to(&mut events, "PONG", |e| {
                (e.reference() == Some(&reference)
                    && matches!(e.server_event(), Some(ServerEvent::Pong(_))))
                .then_some(())
            })
            .await;
        }
        let offset = session.clock_offset_ms().unwrap();
        let clock = session.clock().unwrap();
        assert!(clock.samples >= 4, "{clock:?}");
        assert!(
            clock.uncertainty_ms < 5.0 && clock.rate_ppm.abs() <= 500.0,
            "{clock:?}"
        );
        assert!(updates.borrow().is_some_and(|c| c.samples >= 4));
        assert!(
            (offset + skew).abs() <= 5,
            "offset {offset} ms for a clock {skew} ms off"
        );
        assert!(session.round_trip_ms().is_some());

        // Where the media is, computed on the skewed clock, matches the server's own time.
        let playback = session.playback().unwrap();
        assert!(playback.playing);
        let expected = session.expected_position_ms().unwrap();
        let truth = playback.position_at(SystemClock.now_ms()).get();
        assert!(
            expected.abs_diff(truth) <= 10,
            "expected {expected} ms, truth {truth} ms"
        );
        let server_now = session.now_server_ms();
        assert!(server_now.abs_diff(SystemClock.now_ms()) <= 10);
        session.close().await;
    }
}
