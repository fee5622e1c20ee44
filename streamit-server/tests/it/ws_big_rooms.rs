//! A big room over real sockets: hundreds of members, presence told in batches that name a
//! few and count the rest, snapshots bounded, the viewer count exact after storms of comings
//! and goings (protocol 6.11).

use std::collections::HashSet;
use std::time::Duration;

use futures_util::future::join_all;
use serde_json::json;
use streamit_protocol::v1::{ClientEvent, Resync, ServerEvent, UserId};

use crate::support::{StatusCode, TestServer};
use crate::ws_support::{WsClient, eventually, hosted_room, member, room_detail, uid};

/// Members who join besides the host.
const MEMBERS: usize = 400;
/// People online from which the test's rooms are big.
const BIG_FROM: usize = 40;
/// Others a big room's snapshot lists.
const LISTED: usize = 5;
/// People one `PRESENCE_CHANGED` names at most.
const NAMED: usize = 10;

/// What a socket has been told of presence so far.
#[derive(Default)]
struct Told {
    joined_one_by_one: usize,
    /// Everyone named as coming, one by one or in a batch.
    joined: HashSet<UserId>,
    /// Everyone named as going.
    left: HashSet<UserId>,
    /// Comings told, named or counted.
    came: usize,
    /// Goings told, named or counted.
    went: usize,
    presence_frames: usize,
    viewers: u32,
}

impl Told {
    /// Reads `ws` until `done` holds of what it was told.
    async fn read_until(&mut self, ws: &mut WsClient, done: impl Fn(&Self) -> bool) {
        while !done(self) {
            let message = ws.next_event_within(Duration::from_secs(30)).await;
            match message.event {
                ServerEvent::UserJoined(joined) => {
                    self.joined_one_by_one += 1;
                    self.came += 1;
                    self.joined.insert(joined.user.id);
                    self.viewers = joined.viewers;
                }
                ServerEvent::UserLeft(left) => {
                    self.went += 1;
                    self.left.insert(left.user.id);
                    self.viewers = left.viewers;
                }
                ServerEvent::PresenceChanged(changed) => {
                    self.presence_frames += 1;
                    let named = changed.joined.len() + changed.left.len();
                    assert!(named <= NAMED, "{named} named in one frame");
                    for user in &changed.joined {
                        assert!(self.joined.insert(user.id), "{user:?} told twice");
                    }
                    for gone in &changed.left {
                        assert!(self.left.insert(gone.user.id), "{gone:?} told twice");
                    }
                    self.came += changed.joined_count() as usize;
                    self.went += changed.left_count() as usize;
                    self.viewers = changed.viewers;
                }
                _ => {}
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_big_room_fills_and_empties_with_batched_presence_and_bounded_snapshots() {
    for db in streamit_testing::backends().await {
        fill_and_empty(&db.url).await;
    }
}

async fn fill_and_empty(db_url: &str) {
    let s = TestServer::start(db_url, |c| {
        c.big_room_from = BIG_FROM as u32;
        c.big_room_listed = LISTED as u32;
        c.big_room_named = NAMED as u32;
    })
    .await;
    let (host, code) = hosted_room(&s, json!({})).await;
    let (mut host_ws, _) = WsClient::join(&s, &code, &host, "host").await;
    let names: Vec<String> = (0..MEMBERS).map(|i| format!("m{i}")).collect();
    let accounts = join_all(names.iter().map(|name| member(&s, &code, name))).await;

    // One by one, so the room's size at each join is known.
    let mut sockets = Vec::new();
    for (i, who) in accounts.iter().enumerate() {
        let (ws, snapshot) = WsClient::join(&s, &code, who, &format!("m{i}")).await;
        let online = i + 2;
        // More members than make a room big: every snapshot is bounded, before the room is
        // big too.
        assert_eq!(snapshot.participants_total, Some(online as u32), "m{i}");
        assert_eq!(
            snapshot.participants.len(),
            (online - 2).min(LISTED) + 2,
            "m{i}: host, you, a few"
        );
        assert!(snapshot.participants.iter().all(|p| p.online));
        sockets.push(ws);
    }
    let mut told = Told::default();
    told.read_until(&mut host_ws, |t| t.came == MEMBERS).await;
    assert_eq!(
        told.joined_one_by_one,
        BIG_FROM - 2,
        "USER_JOINED until the room is big, then batches"
    );
    assert!(told.presence_frames >= 1);
    assert_eq!(told.viewers as usize, MEMBERS + 1);
    let members: HashSet<UserId> = accounts.iter().map(uid).collect();
    assert!(told.joined.is_subset(&members), "only members are named");

    // A storm: half of them go at once; the last member hears of it in batches too.
    let mut last = sockets.pop().expect("members");
    let going: Vec<UserId> = accounts[..MEMBERS / 2].iter().map(uid).collect();
    let leaving: Vec<_> = sockets.drain(..MEMBERS / 2).collect();
    join_all(leaving.into_iter().map(WsClient::disconnect)).await;
    told.read_until(&mut host_ws, |t| t.went == MEMBERS / 2)
        .await;
    assert!(told.left.is_subset(&going.iter().copied().collect()));
    let online_now = MEMBERS - MEMBERS / 2 + 1;
    assert_eq!(told.viewers as usize, online_now);
    let mut heard = Told::default();
    heard.read_until(&mut last, |t| t.went == MEMBERS / 2).await;
    assert!(heard.left.is_subset(&going.iter().copied().collect()));
    assert_eq!(heard.viewers as usize, online_now);
    // A RESYNC in a big room answers the bounded snapshot too.
    let resynced = last.request(ClientEvent::Resync(Resync::snapshot())).await;
    let ServerEvent::RoomSnapshot(snapshot) = resynced.event else {
        panic!("wanted ROOM_SNAPSHOT, got {resynced:?}");
    };
    assert_eq!(snapshot.participants_total, Some(online_now as u32));
    assert_eq!(snapshot.participants.len(), LISTED + 2, "host, you, a few");
    // The store's count catches up behind the room.
    eventually("the stored viewers", Duration::from_secs(10), async || {
        let detail = room_detail(&s, &host, &code).await;
        (detail["viewers"] == json!(online_now)).then_some(())
    })
    .await;
    drop(sockets);

    // Paged over REST, every member is listed exactly once, even with others joining between
    // pages.
    let mut listed = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    let mut newcomers = Vec::new();
    loop {
        let path = match &cursor {
            Some(cursor) => format!("/api/rooms/{code}/participants/?limit=100&cursor={cursor}"),
            None => format!("/api/rooms/{code}/participants/?limit=100"),
        };
        let page = s.get_as(&host.access, &path).await;
        let page = page.ok(StatusCode::OK).clone();
        let members = page["participants"].as_array().expect("a list").clone();
        assert!(members.len() <= 100);
        listed.extend(
            members
                .iter()
                .map(|p| p["user"]["id"].as_str().expect("an id").to_owned()),
        );
        pages += 1;
        if pages == 2 {
            for i in 0..10 {
                newcomers.push(member(&s, &code, &format!("late{i}")).await);
            }
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    let unique: HashSet<&String> = listed.iter().collect();
    assert_eq!(unique.len(), listed.len(), "nobody listed twice");
    for who in accounts.iter().chain([&host]) {
        assert!(unique.contains(&who.user_id), "{} is listed", who.user_id);
    }
    assert!(listed.len() <= MEMBERS + 1 + newcomers.len());
    let stranger = s.guest("Stranger").await;
    let refused = s
        .get_as(
            &stranger.access,
            &format!("/api/rooms/{code}/participants/"),
        )
        .await;
    refused
        .expect(StatusCode::FORBIDDEN)
        .has("/error/code", "NOT_A_MEMBER");
    let bad = s
        .get_as(
            &host.access,
            &format!("/api/rooms/{code}/participants/?cursor=nope"),
        )
        .await;
    bad.expect(StatusCode::BAD_REQUEST)
        .has("/error/code", "INVALID_INPUT");
    s.stop().await;
}
