//! Gap-free resume: a member who drops off and comes back gets exactly the broadcasts it
//! missed, replayed in order, instead of a fresh snapshot, as long as the room still holds
//! them; otherwise a snapshot, as before. Members reach the room through a balancer the test
//! can cut.

use streamit_client::RoomEvent;
use streamit_client::protocol::v1::{ChatText, ServerEvent, ServerMessage};
use streamit_e2e::{Balancer, Cluster, broadcast, guest, join, next_event, open_room, skip_to};

fn text(s: &str) -> ChatText {
    ChatText::new(s).expect("a chat line")
}

/// The member drops off; the host says three lines meanwhile; the member comes back. Returns
/// the member's `seq` before the drop and everything it reads after `Connected`, up to and
/// including its own `USER_JOINED` or a snapshot.
async fn drop_off_and_back(cluster: &Cluster, member_node: usize) -> (u64, Vec<RoomEvent>) {
    let host = cluster.guest_on(0, "Host").await;
    let code = open_room(&host).await;
    let (host_session, mut host_events, _) = join(&host, code).await;
    let balancer = Balancer::start(vec![cluster.nodes[member_node].addr]).await;
    let member = guest(&balancer.url, "Ada").await;
    let (_member_session, mut member_events, snapshot) = join(&member, code).await;
    assert!(
        snapshot.epoch.is_some(),
        "the snapshot names the history's epoch"
    );
    // Her own USER_JOINED came before her snapshot: she holds everything up to its seq.
    let joined = snapshot.seq;
    skip_to(&mut host_events, "Ada joining", |e| match broadcast(e) {
        Some((seq, ServerEvent::UserJoined(_))) => (seq == joined).then_some(()),
        _ => None,
    })
    .await;
    balancer.cut_and_hold();
    skip_to(&mut host_events, "Ada leaving", |e| match broadcast(e) {
        Some((_, ServerEvent::UserLeft(_))) => Some(()),
        _ => None,
    })
    .await;
    for line in ["one", "two", "three"] {
        host_session.chat(text(line)).await.expect("sent");
    }
    skip_to(&mut host_events, "the third line", |e| match broadcast(e) {
        Some((_, ServerEvent::ChatMessage(m))) if m.text.as_str() == "three" => Some(()),
        _ => None,
    })
    .await;
    balancer.release();
    skip_to(&mut member_events, "the reconnect", |e| {
        (*e == RoomEvent::Connected).then_some(())
    })
    .await;
    let mut after = Vec::new();
    loop {
        let event = next_event(&mut member_events, "what follows the reconnect").await;
        let done = matches!(
            event.server_event(),
            Some(ServerEvent::UserJoined(_) | ServerEvent::RoomSnapshot(_))
        );
        after.push(event);
        if done {
            return (joined, after);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_back_from_a_short_drop_gets_exactly_what_it_missed() {
    let Some(cluster) = Cluster::start(2).await else {
        return;
    };
    // Ada is on node 1; the host's node owns the room: her resume crosses nodes.
    let (last, after) = drop_off_and_back(&cluster, 1).await;
    let Some(ServerEvent::RoomResumed(resumed)) = after[0].server_event() else {
        panic!("resumed first, not {:?}", after[0]);
    };
    assert_eq!((resumed.since_seq, resumed.replayed), (last, 5));
    let replayed: Vec<(u64, &str)> = after[1..]
        .iter()
        .map(|event| match event.message() {
            Some(ServerMessage {
                seq: Some(seq),
                event,
                ..
            }) => (*seq, event.event_type()),
            other => panic!("only numbered broadcasts follow, not {other:?}"),
        })
        .collect();
    let expected: Vec<(u64, &str)> = [
        "USER_LEFT",
        "CHAT_MESSAGE",
        "CHAT_MESSAGE",
        "CHAT_MESSAGE",
        "USER_JOINED",
    ]
    .into_iter()
    .zip(last + 1..)
    .map(|(kind, seq)| (seq, kind))
    .collect();
    assert_eq!(replayed, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_who_missed_more_than_the_room_keeps_gets_a_snapshot() {
    let Some(cluster) = Cluster::start_with(2, |config| config.replay_frames = 3).await else {
        return;
    };
    // Ada is on the owner's node this time.
    let (_, after) = drop_off_and_back(&cluster, 0).await;
    assert_eq!(after.len(), 1, "{after:?}");
    let Some(ServerEvent::RoomSnapshot(snapshot)) = after[0].server_event() else {
        panic!("a snapshot, not {:?}", after[0]);
    };
    assert!(
        snapshot.chat.iter().any(|m| m.text.as_str() == "three"),
        "the snapshot has what was missed"
    );
}
