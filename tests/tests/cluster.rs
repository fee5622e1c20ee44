//! Several nodes on one PostgreSQL and one Redis: members on different nodes cannot tell.
//! Each test starts its own cluster (a fresh database, its own Redis key prefix or server).

use std::time::Duration;

use futures_util::future::join_all;
use streamit_client::RoomEvent;
use streamit_client::protocol::v1::{
    ChatText, ClientEvent, ErrorCode, LeaveReason, PositionMs, PublicRoomsQuery,
    PublicRoomsResponse, RoomState, Seek, ServerEvent,
};
use streamit_e2e::{
    Cluster, PATIENCE, broadcast, eventually, join, next_event, on_node, open_room, skip_to,
    snapshot_of,
};

fn text(s: &str) -> ChatText {
    ChatText::new(s).expect("a chat line")
}

/// Every broadcast a member reads until `until` picks one: `seq` and event type.
async fn broadcasts_until(
    events: &mut streamit_client::RoomEvents,
    mut until: impl FnMut(&ServerEvent) -> bool,
) -> Vec<(u64, ServerEvent)> {
    let mut seen = Vec::new();
    loop {
        let event = next_event(events, "broadcasts").await;
        if let Some((seq, server_event)) = broadcast(&event) {
            let done = until(&server_event);
            seen.push((seq, server_event));
            if done {
                return seen;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_on_both_nodes_see_one_seq_order_of_concurrent_chat() {
    let Some(cluster) = Cluster::start(2).await else {
        return;
    };
    let host = cluster.guest_on(0, "Host").await;
    let code = open_room(&host).await;
    let mut members = vec![join(&host, code).await];
    for (i, name) in ["Ada", "Bo", "Cy"].iter().enumerate() {
        let client = cluster.guest_on((i + 1) % 2, name).await;
        members.push(join(&client, code).await);
    }
    // Everyone is in: wait until the host saw the last join, so every chat line below comes
    // after every member's snapshot.
    skip_to(&mut members[0].1, "the last join", |e| match broadcast(e) {
        Some((_, ServerEvent::UserJoined(joined))) => (joined.viewers == 4).then_some(()),
        _ => None,
    })
    .await;
    let sending = members
        .iter()
        .enumerate()
        .map(|(i, (session, _, _))| async move {
            for line in 0..5 {
                session.chat(text(&format!("{i}:{line}"))).await.unwrap();
            }
        });
    join_all(sending).await;
    let mut orders = Vec::new();
    for (session, events, _) in &mut members {
        let mut chat = 0;
        let seen = broadcasts_until(events, |event| {
            chat += usize::from(matches!(event, ServerEvent::ChatMessage(_)));
            chat == 20
        })
        .await;
        let lines: Vec<(u64, String)> = seen
            .iter()
            .filter_map(|(seq, event)| match event {
                ServerEvent::ChatMessage(m) => Some((*seq, m.text.as_str().to_owned())),
                _ => None,
            })
            .collect();
        orders.push(lines);
        session.close().await;
    }
    assert!(
        orders.iter().all(|order| *order == orders[0]),
        "{orders:#?}"
    );
    let seqs: Vec<u64> = orders[0].iter().map(|(seq, _)| *seq).collect();
    assert!(
        seqs.windows(2).all(|w| w[1] == w[0] + 1),
        "seq rises by one: {seqs:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_host_on_one_node_drives_members_on_the_other() {
    let Some(cluster) = Cluster::start(2).await else {
        return;
    };
    // The member arrives first, so the room is owned where the host is not.
    let host = cluster.guest_on(1, "Host").await;
    let code = open_room(&host).await;
    let member = cluster.guest_on(0, "Ada").await;
    let (member_session, mut member_events, _) = join(&member, code).await;
    let (host_session, mut host_events, snapshot) = join(&host, code).await;
    assert!(snapshot.you.is_host);
    let version = snapshot.playback.version;
    let mut seek = Seek::new(PositionMs::new(42_000).unwrap());
    seek.expected_version = Some(version);
    host_session.send(ClientEvent::Seek(seek)).await.unwrap();
    let seen = skip_to(&mut member_events, "the seek", |e| match broadcast(e) {
        Some((_, ServerEvent::PlaybackState(state))) => Some(state.playback),
        _ => None,
    })
    .await;
    assert_eq!(
        (seen.position_ms.get(), seen.version),
        (42_000, version + 1)
    );
    // The same expected version again: the owner refuses it, and the refusal crosses back.
    host_session.send(ClientEvent::Seek(seek)).await.unwrap();
    let refused = skip_to(&mut host_events, "the conflict", |e| match e {
        RoomEvent::Server(m) => match &m.event {
            ServerEvent::Error(error) => Some(error.code),
            _ => None,
        },
        _ => None,
    })
    .await;
    assert_eq!(refused, ErrorCode::VersionConflict);
    member_session.pause(None).await.unwrap();
    let refused = skip_to(&mut member_events, "NOT_HOST", |e| match e {
        RoomEvent::Server(m) => match &m.event {
            ServerEvent::Error(error) => Some(error.code),
            _ => None,
        },
        _ => None,
    })
    .await;
    assert_eq!(refused, ErrorCode::NotHost);
    // Round trips to Redis show in each node's metrics: the owner's fenced publishes, the
    // follower's relayed requests.
    let count = |text: &str, op: &str| -> f64 {
        let series = format!("streamit_bus_seconds_count{{op=\"{op}\"}} ");
        text.lines()
            .find_map(|line| line.strip_prefix(&series)?.trim().parse().ok())
            .unwrap_or(0.0)
    };
    let owner = member.metrics().await.expect("node 0's metrics");
    let follower = host.metrics().await.expect("node 1's metrics");
    assert!(count(&owner, "publish_fenced") > 0.0, "{owner}");
    assert!(count(&follower, "publish") > 0.0, "{follower}");
    // Presence is one figure, whichever node is asked (the member asks node 0, the host 1):
    // the room is listed (its host is online) with two viewers.
    for asker in [&member, &host] {
        eventually("listed with two viewers", PATIENCE, async || {
            let listing = asker.public_rooms(&PublicRoomsQuery::default()).await;
            let listed = |page: PublicRoomsResponse| {
                page.rooms.iter().any(|r| r.code == code && r.viewers == 2)
            };
            listing.is_ok_and(listed).then_some(())
        })
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_nodes_sockets_leave_and_its_room_moves_to_a_survivor() {
    let Some(mut cluster) = Cluster::start(2).await else {
        return;
    };
    // The host (through the balancer) and Ada are on node 0, which owns the room; Bo on node 1.
    let host = cluster.guest_on(0, "Host").await;
    let code = open_room(&host).await;
    let (host_session, _host_events, _) = join(&host, code).await;
    let ada = cluster.guest_on(0, "Ada").await;
    let (_ada_session, _ada_events, _) = join(&ada, code).await;
    let bo = cluster.guest_on(1, "Bo").await;
    let (bo_session, mut bo_events, _) = join(&bo, code).await;
    host_session.chat(text("before the crash")).await.unwrap();
    skip_to(&mut bo_events, "the line", |e| match broadcast(e) {
        Some((_, ServerEvent::ChatMessage(_))) => Some(()),
        _ => None,
    })
    .await;
    cluster.nodes[0].kill();
    // Bo's node notices the owner is gone; Bo reconnects there, and that node takes the room
    // over: without its host, it goes into grace.
    let grace = skip_to(&mut bo_events, "grace", |e| match e {
        RoomEvent::Server(m) | RoomEvent::Rejoined(m) => match &m.event {
            ServerEvent::HostDisconnected(grace) => Some(grace.grace_deadline_ms),
            ServerEvent::RoomSnapshot(s) if s.room.state == RoomState::Grace => {
                s.room.grace_deadline_ms
            }
            _ => None,
        },
        _ => None,
    })
    .await;
    assert!(grace > 0);
    eventually("only Bo left, in grace", PATIENCE, async || {
        bo.room(code)
            .await
            .is_ok_and(|d| d.room.state == RoomState::Grace && d.room.viewers == 1)
            .then_some(())
    })
    .await;
    // The host comes back on the survivor: the room is live again, and nothing said is lost.
    let host_again = on_node(&cluster, 1, &host);
    let (_host_session, _events, snapshot) = join(&host_again, code).await;
    assert_eq!(snapshot.room.state, RoomState::Live);
    assert!(
        snapshot
            .chat
            .iter()
            .any(|m| m.text.as_str() == "before the crash"),
        "{:?}",
        snapshot.chat
    );
    bo_session.close().await;
}

/// What a member saw before the owner died: every chat line's id, and the newest playback.
#[derive(Default)]
struct Seen {
    lines: Vec<streamit_client::protocol::v1::MessageId>,
    playback: Option<streamit_client::protocol::v1::Playback>,
    changes: usize,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_a_member_saw_is_lost_when_the_owner_is_killed_mid_stream() {
    let Some(mut cluster) = Cluster::start(2).await else {
        return;
    };
    // Node 0 owns the room and is kept busy until it dies: its host seeks without pause and
    // three members chat; Bo watches from node 1.
    let host = cluster.guest_on(0, "Host").await;
    let code = open_room(&host).await;
    let (host_session, _host_events, _) = join(&host, code).await;
    let mut busy = Vec::new();
    busy.push(tokio::spawn(async move {
        for i in 0..20_000 {
            let position = PositionMs::new(i * 10).expect("a position");
            if host_session.seek(position).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }));
    for name in ["Ada", "Cy", "Di"] {
        let talker = cluster.guest_on(0, name).await;
        let (session, _events, _) = join(&talker, code).await;
        busy.push(tokio::spawn(async move {
            // Within the chat rules' burst allowance: five lines in three seconds.
            for i in 0..5 {
                let line = text(&format!("{name} {i}"));
                if session.chat(line).await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(150)).await;
            }
        }));
    }
    let bo = cluster.guest_on(1, "Bo").await;
    let (_bo_session, mut bo_events, _) = join(&bo, code).await;
    // The owner dies the moment Bo has a chat line in hand, with much said before it.
    let mut seen = Seen::default();
    while seen.lines.len() < 8 || seen.changes < 20 {
        let event = next_event(&mut bo_events, "the room's stream").await;
        match broadcast(&event) {
            Some((_, ServerEvent::ChatMessage(line))) => seen.lines.push(line.id),
            Some((_, ServerEvent::PlaybackState(state))) => {
                seen.playback = Some(state.playback);
                seen.changes += 1;
            }
            _ => {}
        }
    }
    cluster.nodes[0].kill();
    for task in busy {
        task.abort();
    }
    // Node 1 takes the room over from the store: everything Bo saw is there.
    let (_session, _events, snapshot) = join(&bo, code).await;
    let stored: Vec<_> = snapshot.chat.iter().map(|m| m.id).collect();
    for id in &seen.lines {
        assert!(
            stored.contains(id),
            "a line Bo saw is lost: {id:?}; stored {stored:?}"
        );
    }
    let saw = seen.playback.expect("Bo saw playback change");
    assert!(
        snapshot.playback.version >= saw.version,
        "Bo saw playback version {}, the store holds {}",
        saw.version,
        snapshot.playback.version
    );
    if snapshot.playback.version == saw.version {
        assert_eq!(snapshot.playback.position_ms, saw.position_ms);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_room_alone_on_a_killed_node_goes_into_grace() {
    let Some(mut cluster) = Cluster::start(2).await else {
        return;
    };
    let host = cluster.guest_on(0, "Host").await;
    let code = open_room(&host).await;
    let (_session, _events, _) = join(&host, code).await;
    cluster.nodes[0].kill();
    let observer = on_node(&cluster, 1, &host);
    eventually("the orphaned room in grace", PATIENCE, async || {
        observer
            .room(code)
            .await
            .is_ok_and(|d| d.room.state == RoomState::Grace && d.room.viewers == 0)
            .then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_of_a_killed_follower_node_leave_as_timed_out() {
    let Some(mut cluster) = Cluster::start(2).await else {
        return;
    };
    let host = cluster.guest_on(0, "Host").await;
    let code = open_room(&host).await;
    let (_host_session, mut host_events, _) = join(&host, code).await;
    let ada = cluster.guest_on(1, "Ada").await;
    let (_ada_session, _ada_events, _) = join(&ada, code).await;
    skip_to(&mut host_events, "Ada", |e| match broadcast(e) {
        Some((_, ServerEvent::UserJoined(_))) => Some(()),
        _ => None,
    })
    .await;
    cluster.nodes[1].kill();
    let left = skip_to(&mut host_events, "Ada leaving", |e| match broadcast(e) {
        Some((_, ServerEvent::UserLeft(left))) => Some(left),
        _ => None,
    })
    .await;
    assert_eq!(left.reason, LeaveReason::Timeout);
    assert_eq!(left.viewers, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rooms_come_back_after_redis_restarts_empty() {
    if std::env::var("STREAMIT_TEST_REDIS_URL").is_ok() {
        return; // a shared Redis is not the test's to restart
    }
    let Some(cluster) = Cluster::start(2).await else {
        return;
    };
    rooms_come_back_after(cluster, Loss::Restart).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rooms_come_back_after_redis_is_flushed() {
    if std::env::var("STREAMIT_TEST_REDIS_URL").is_ok() {
        return; // a shared Redis is not the test's to flush
    }
    let Some(cluster) = Cluster::start(2).await else {
        return;
    };
    rooms_come_back_after(cluster, Loss::Flush).await;
}

/// How Redis loses what it held.
enum Loss {
    /// Killed, then started again empty: the nodes see it go and come back.
    Restart,
    /// `FLUSHALL`: the nodes stay connected and find their leases gone.
    Flush,
}

async fn rooms_come_back_after(mut cluster: Cluster, loss: Loss) {
    let host = cluster.guest_on(0, "Host").await;
    let code = open_room(&host).await;
    let (host_session, mut host_events, _) = join(&host, code).await;
    let ada = cluster.guest_on(1, "Ada").await;
    let (ada_session, mut ada_events, _) = join(&ada, code).await;
    host_session.chat(text("before")).await.expect("sent");
    let before = skip_to(&mut ada_events, "the first line", |e| match broadcast(e) {
        Some((seq, ServerEvent::ChatMessage(_))) => Some(seq),
        _ => None,
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    match loss {
        Loss::Restart => {
            cluster.redis.kill();
            eventually("readyz naming Redis", PATIENCE, async || {
                (!cluster.nodes[0].is_ready().await).then_some(())
            })
            .await;
            cluster.redis.restart().await;
        }
        Loss::Flush => cluster.redis.flush_all().await,
    }
    eventually("ready again", PATIENCE, async || {
        (cluster.nodes[0].is_ready().await && cluster.nodes[1].is_ready().await).then_some(())
    })
    .await;
    // Both sessions reconnect on their own; the room is rebuilt from the store.
    for events in [&mut host_events, &mut ada_events] {
        skip_to(events, "the reconnect", |e| {
            (*e == RoomEvent::Connected).then_some(())
        })
        .await;
        let snapshot = skip_to(events, "the fresh snapshot", snapshot_of).await;
        assert!(snapshot.chat.iter().any(|m| m.text.as_str() == "before"));
        assert!(snapshot.seq >= before);
    }
    // A second wave of reconnects may follow (each node also lost its own lease): a line
    // sent while a session is between sockets is lost with the socket, so it is sent again
    // until the host sees one.
    let mut attempt = 0;
    let after = loop {
        attempt += 1;
        assert!(attempt <= 20, "no line got through after the restart");
        let line = format!("after {attempt}");
        if ada_session.chat(text(&line)).await.is_err() {
            tokio::time::sleep(Duration::from_millis(250)).await;
            continue;
        }
        let seen = skip_to(&mut host_events, "the line after", |e| match broadcast(e) {
            Some((seq, ServerEvent::ChatMessage(m))) if m.text.as_str() == line => Some(seq),
            _ => None,
        });
        if let Ok(seq) = tokio::time::timeout(Duration::from_secs(2), seen).await {
            break seq;
        }
    };
    assert!(
        after > before,
        "seq resumes above what was used: {before} then {after}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_frozen_past_its_lease_acts_on_nothing_when_it_wakes() {
    let Some(cluster) = Cluster::start(2).await else {
        return;
    };
    // Node 0 owns the room: the host is there; Bo watches from node 1.
    let host = cluster.guest_on(0, "Host").await;
    let code = open_room(&host).await;
    let (host_session, _host_events, _) = join(&host, code).await;
    let bo = cluster.guest_on(1, "Bo").await;
    let (_bo_session, mut bo_events, _) = join(&bo, code).await;
    cluster.nodes[0].freeze(Duration::from_secs(5));
    // Sent while node 0 is frozen: its socket holds it until the node wakes.
    let mut stale = Seek::new(PositionMs::new(777_000).expect("a position"));
    stale.expected_version = None;
    host_session
        .send(ClientEvent::Seek(stale))
        .await
        .expect("queued");
    // Node 1 sees the owner gone, Bo reconnects there, and node 1 owns the room now: the host
    // is not with it, so the room is in grace.
    skip_to(&mut bo_events, "grace under the new owner", |e| {
        match e.server_event() {
            Some(ServerEvent::HostDisconnected(_)) => Some(()),
            Some(ServerEvent::RoomSnapshot(s)) if s.room.state == RoomState::Grace => Some(()),
            _ => None,
        }
    })
    .await;
    // Node 0 wakes, finds its lease gone before acting on the seek, and lets the room go: the
    // host reconnects (to node 0, which now follows node 1) and the room is live again.
    skip_to(&mut bo_events, "the host back", |e| {
        match e.server_event() {
            Some(ServerEvent::HostReconnected(_)) => Some(()),
            Some(ServerEvent::PlaybackState(state)) => {
                panic!("a frozen owner's seek got through: {state:?}")
            }
            _ => None,
        }
    })
    .await;
    let detail = bo.room(code).await.expect("the room");
    assert_eq!(detail.room.state, RoomState::Live);
    assert_ne!(
        detail.playback.position_ms.get(),
        777_000,
        "the stale seek was never applied"
    );
}

/// Sockets that join a big room through a follower node read no member list, as the owner's
/// own do: every message the owner relays says whether the room is big. Before, each of them
/// read the whole list from the store and sent it to the owner over Redis.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sockets_joining_a_big_room_through_a_follower_read_no_member_list() {
    let Some(cluster) = Cluster::start_with(2, |config| {
        config.big_room_from = 3;
        config.big_room_listed = 2;
    })
    .await
    else {
        return;
    };
    let participant_reads = async |node: &streamit_client::Client| -> f64 {
        let text = node.metrics().await.expect("the node's metrics");
        let series = "streamit_store_query_seconds_count{query=\"participants\"} ";
        text.lines()
            .find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
            .unwrap_or(0.0)
    };
    // The host and two members on node 0, which owns the room: three online, a big room.
    let host = cluster.guest_on(0, "Host").await;
    let code = open_room(&host).await;
    let mut sessions = vec![join(&host, code).await];
    for name in ["Ada", "Bo"] {
        let member = cluster.guest_on(0, name).await;
        sessions.push(join(&member, code).await);
    }
    // The first through node 1 may read the list: that node has heard nothing of the room yet.
    let first = cluster.guest_on(1, "Cy").await;
    sessions.push(join(&first, code).await);
    let before = participant_reads(&first).await;
    for name in ["Di", "Ed", "Flo", "Gus"] {
        let member = cluster.guest_on(1, name).await;
        let (session, events, snapshot) = join(&member, code).await;
        assert!(
            snapshot.participants_total.is_some(),
            "a big room's snapshot lists a few and says how many there are"
        );
        sessions.push((session, events, snapshot));
    }
    assert_eq!(
        participant_reads(&first).await,
        before,
        "joins through the follower read no member list once it knows the room is big"
    );
}
