//! `RoomView` on a real server: two members fold their own streams through an approval
//! room's life (requests, chat, media, playback, mutes, a visitor, a host hand-over) and end
//! with the same room, the one that happened, and the one a fresh snapshot shows.

use streamit_client::protocol::v1::{
    ChatText, CreateRoomRequest, EntryMode, JoinRoomRequest, MUTED_FOREVER_MS, MediaKind, MediaRef,
    MemberStatus, PositionMs, Provider, RoomCode, RoomState, UserId,
};
use streamit_client::{Client, Member, RoomEvent, RoomEvents, RoomSession, RoomView};

use crate::support::{TestServer, next_event};

/// One member: their session, their stream, and the view they fold from it.
struct Seat {
    session: RoomSession,
    events: RoomEvents,
    view: Option<RoomView>,
}

impl Seat {
    async fn join(client: &Client, code: RoomCode) -> Self {
        let (session, events) = client.join_room(code).await.unwrap();
        let mut seat = Self {
            session,
            events,
            view: None,
        };
        seat.until("the first snapshot", |_| true).await;
        seat
    }

    /// Folds events into the view until `done` holds for it.
    async fn until(&mut self, what: &str, done: impl Fn(&RoomView) -> bool) -> &RoomView {
        loop {
            if self.view.as_ref().is_some_and(&done) {
                return self.view.as_ref().expect("checked just now");
            }
            let event = next_event(&mut self.events, what).await;
            assert!(
                !matches!(event, RoomEvent::Lagged { .. }),
                "nothing may be dropped in this test: {event:?}"
            );
            RoomView::follow(&mut self.view, &event);
        }
    }

    fn view(&self) -> &RoomView {
        self.view.as_ref().expect("joined")
    }
}

fn text(s: &str) -> ChatText {
    ChatText::new(s).unwrap()
}

fn said(view: &RoomView, line: &str) -> bool {
    view.chat().iter().any(|l| l.text.as_str() == line)
}

/// A user's REST join of an approval room, answered `PENDING`.
async fn ask_to_join(client: &Client, code: RoomCode) -> UserId {
    let answer = client
        .join(&JoinRoomRequest::new(code, None))
        .await
        .unwrap();
    assert_eq!(answer.status, MemberStatus::Pending);
    client.user().unwrap().id
}

/// Members by id, for comparing views whose lists are in different orders.
fn by_id(members: &[Member]) -> Vec<Member> {
    let mut members = members.to_vec();
    members.sort_by_key(|m| m.user.id);
    members
}

#[tokio::test]
async fn two_members_views_follow_the_room_and_agree() {
    let server = TestServer::start(|_| {}).await;
    let (ada, bo) = (server.guest("Ada").await, server.guest("Bo").await);
    let (cy, di) = (server.guest("Cy").await, server.guest("Di").await);
    let request = CreateRoomRequest::default().with_entry_mode(EntryMode::Approval);
    let code = ada.create_room(&request).await.unwrap().room.code;
    let ada_id = ada.user().unwrap().id;
    let mut host = Seat::join(&ada, code).await;
    assert!(host.view().is_host());

    // Bo asks, the host sees the request and lets him in; he connects.
    let bo_id = ask_to_join(&bo, code).await;
    host.until("Bo's request", |v| {
        v.pending().iter().any(|u| u.id == bo_id)
    })
    .await;
    let approved = ada.approve(code, bo_id).await.unwrap();
    host.view.as_mut().unwrap().request_approved(&approved);
    let mut guest = Seat::join(&bo, code).await;
    host.until("Bo online", |v| v.member(bo_id).is_some_and(|m| m.online))
        .await;
    assert!(host.view().pending().is_empty());

    // Chat, media and playback.
    host.session.chat(text("hello")).await.unwrap();
    guest.until("hello", |v| said(v, "hello")).await;
    guest.session.chat(text("hi")).await.unwrap();
    let movie =
        MediaRef::from_parts(Provider::Vidking, MediaKind::Movie, "550", None, None).unwrap();
    host.session.set_media(movie.clone()).await.unwrap();
    let at = |ms| Some(PositionMs::new(ms).unwrap());
    host.session.play(at(10_000)).await.unwrap();
    host.session
        .seek(PositionMs::new(60_000).unwrap())
        .await
        .unwrap();
    host.session.pause(at(61_000)).await.unwrap();
    host.session.set_chat_enabled(false).await.unwrap();

    // Cy is let in, comes, is muted and goes; Di is turned away.
    let cy_id = ask_to_join(&cy, code).await;
    let di_id = ask_to_join(&di, code).await;
    host.until("two requests", |v| v.pending().len() == 2).await;
    let approved = ada.approve(code, cy_id).await.unwrap();
    host.view.as_mut().unwrap().request_approved(&approved);
    ada.deny(code, di_id).await.unwrap();
    host.view.as_mut().unwrap().request_denied(di_id);
    assert!(host.view().pending().is_empty());
    let visitor = Seat::join(&cy, code).await;
    host.until("Cy online", |v| v.member(cy_id).is_some_and(|m| m.online))
        .await;
    host.session.mute(cy_id, None).await.unwrap();
    host.until("Cy muted", |v| {
        v.member(cy_id).is_some_and(|m| m.muted_until_ms.is_some())
    })
    .await;
    visitor.session.close().await;

    // The host hands the room to Bo, who turns chat back on and closes the story.
    host.until("Cy gone", |v| v.member(cy_id).is_some_and(|m| !m.online))
        .await;
    host.session.transfer_host(bo_id).await.unwrap();
    guest.until("hosting", RoomView::is_host).await;
    guest.session.set_chat_enabled(true).await.unwrap();
    guest.session.chat(text("done")).await.unwrap();
    let last = host.until("done", |v| said(v, "done")).await.seq();
    guest.until("done", |v| said(v, "done")).await;

    // What happened, as both views show it.
    for (who, view) in [("host", host.view()), ("guest", guest.view())] {
        let room = view.room();
        assert_eq!(room.host.id, bo_id, "{who}");
        assert_eq!(room.state, RoomState::Live, "{who}");
        assert!(room.chat_enabled, "{who}");
        assert_eq!(room.media.as_ref(), Some(&movie), "{who}");
        assert_eq!(room.viewers, 2, "{who}");
        let chat: Vec<_> = view.chat().iter().map(|l| l.text.as_str()).collect();
        assert_eq!(chat, ["hello", "hi", "done"], "{who}");
        let playback = view.playback();
        assert!(!playback.playing, "{who}");
        assert_eq!(playback.position_ms.get(), 61_000, "{who}");
        let marks = |id| view.member(id).map(|m| (m.is_host, m.online));
        assert_eq!(view.members().len(), 3, "{who}");
        assert_eq!(marks(ada_id), Some((false, true)), "{who}: Ada");
        assert_eq!(marks(bo_id), Some((true, true)), "{who}: Bo");
        assert_eq!(marks(cy_id), Some((false, false)), "{who}: Cy");
        let cy_mark = view.member(cy_id).unwrap();
        assert_eq!(cy_mark.muted_until_ms, Some(MUTED_FOREVER_MS), "{who}");
        assert!(view.member(di_id).is_none(), "{who}");
        assert!(view.pending().is_empty(), "{who}");
        assert!(view.is_connected() && !view.is_stale(), "{who}");
        assert_eq!(view.seq(), last, "{who}");
    }
    assert!(!host.view().is_host() && guest.view().is_host());

    // The two agree with each other and with the server's own account.
    assert_eq!(host.view().room(), guest.view().room());
    assert_eq!(host.view().playback(), guest.view().playback());
    assert_eq!(host.view().chat(), guest.view().chat());
    assert_eq!(by_id(host.view().members()), by_id(guest.view().members()));
    let followed = guest.view().clone();
    guest.session.resync().await.unwrap();
    let mut fresh = None;
    while fresh.is_none() {
        let event = next_event(&mut guest.events, "the resync's snapshot").await;
        fresh = event.snapshot().map(RoomView::new);
    }
    let fresh = fresh.expect("the loop ends on a snapshot");
    assert_eq!(followed.room(), fresh.room());
    assert_eq!(followed.you(), fresh.you());
    assert_eq!(followed.playback(), fresh.playback());
    assert_eq!(followed.chat(), fresh.chat());
    assert_eq!(followed.seq(), fresh.seq());
    assert_eq!(by_id(followed.members()), by_id(fresh.members()));
}
