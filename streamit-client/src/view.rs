//! [`RoomView`]: a room as one member sees it, folded from the session's [`RoomEvent`]s by
//! one pure function, so every app (the TUI, the load bots, third parties) shows and checks
//! the same room without keeping books of its own.

mod chat;
#[cfg(test)]
mod tests;

use std::collections::VecDeque;

use streamit_protocol::v1::{
    ChatMessage, MUTED_FOREVER_MS, MemberStatus, Participant, Playback, Room, RoomCode,
    RoomSnapshot, RoomState, RoomUpdate, ServerEvent, ServerMessage, UserId, UserRef, You,
};

use crate::session::RoomEvent;

/// Chat lines a view keeps unless told otherwise: as many as the room itself keeps, so the
/// view never holds more than the server could show.
pub const DEFAULT_CHAT_LINES: usize = streamit_protocol::v1::CHAT_HISTORY_KEPT;

/// A room as one member sees it: the room, you, the members with their marks, the chat, the
/// playback and (for the host) the pending join requests.
///
/// It starts from the `ROOM_SNAPSHOT` every socket opens with and follows the session's
/// events through [`apply`](Self::apply), the one function that changes it (two more record
/// REST answers no event reports: [`request_approved`](Self::request_approved),
/// [`request_denied`](Self::request_denied)). No I/O and no clock: times are the server's,
/// and "now" is the caller's to pass (see [`Member::is_muted_at`]), so a view replays the
/// same from the same events, in a test as in an app.
///
/// - A later snapshot (after a reconnect, a `RESYNC` or a lag) replaces the view, keeping only
///   the chat lines older than the snapshot's when they join on without a hole.
/// - Broadcasts at or below the view's `seq` are already in it and are skipped; a gap in
///   `seq`, or [`RoomEvent::Lagged`], marks the view [stale](Self::is_stale) until the next
///   snapshot (which the session asks for by itself).
/// - Playback keeps the highest `version` seen, from broadcasts, snapshots, `SYNC_CORRECTION`
///   and `VERSION_CONFLICT` errors alike.
///
/// ```no_run
/// use streamit_client::{Client, RoomView};
/// use streamit_client::protocol::v1::RoomCode;
///
/// # async fn demo(client: Client) -> Result<(), Box<dyn std::error::Error>> {
/// let (_session, mut events) = client.join_room(RoomCode::parse("ABCD2345")?).await?;
/// let mut view = None;
/// while let Some(event) = events.recv().await {
///     RoomView::follow(&mut view, &event);
///     if let Some(view) = &view {
///         let online = view.room().viewers;
///         println!("{}: {online} online, {} chat lines", view.room().name.as_str(), view.chat().len());
///     }
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct RoomView {
    room: Room,
    you: You,
    /// Approved members, online or not: the snapshot's order, then newcomers as they came. In
    /// a big room (or one of many members), only those the snapshot listed and those named
    /// coming since.
    members: Vec<Member>,
    /// Whether the snapshot listed every member (not a big room's few).
    lists_everyone: bool,
    /// Join requests waiting for the host, oldest first; empty unless you host.
    pending: Vec<UserRef>,
    chat: VecDeque<ChatMessage>,
    chat_limit: usize,
    playback: Playback,
    /// The last broadcast the view reflects.
    seq: u64,
    connected: bool,
    stale: bool,
}

/// An approved member of the room and their marks.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Member {
    /// Who.
    pub user: UserRef,
    /// Whether they host the room.
    pub is_host: bool,
    /// Whether they have a live socket in the room.
    pub online: bool,
    /// Muted until then, server clock, Unix epoch ms; `MUTED_FOREVER_MS` for a mute without
    /// end. A timed mute that has run out may still show until the next snapshot: ask
    /// [`is_muted_at`](Self::is_muted_at).
    pub muted_until_ms: Option<u64>,
}

impl Member {
    /// Whether the member is muted at server time `now_ms` (Unix epoch ms; a session's
    /// [`now_server_ms`](crate::RoomSession::now_server_ms)).
    pub fn is_muted_at(&self, now_ms: u64) -> bool {
        self.muted_until_ms.is_some_and(|until| now_ms < until)
    }

    fn from_participant(participant: &Participant) -> Self {
        Self {
            user: participant.user.clone(),
            is_host: participant.is_host,
            online: participant.online,
            muted_until_ms: participant.muted_until_ms,
        }
    }
}

impl RoomView {
    /// The view a snapshot shows, keeping up to [`DEFAULT_CHAT_LINES`] chat lines.
    pub fn new(snapshot: &RoomSnapshot) -> Self {
        let (members, pending) = roster(snapshot);
        let mut view = Self {
            room: snapshot.room.clone(),
            you: snapshot.you.clone(),
            members,
            lists_everyone: snapshot.participants_total.is_none(),
            pending,
            chat: VecDeque::new(),
            chat_limit: DEFAULT_CHAT_LINES,
            playback: snapshot.playback,
            seq: snapshot.seq,
            connected: true,
            stale: false,
        };
        view.chat = chat::from_snapshot(VecDeque::new(), &snapshot.chat, view.chat_limit);
        view
    }

    /// Keeps at most `lines` chat lines, the newest (0: no chat at all, as a bot that never
    /// reads it may want).
    #[must_use]
    pub fn with_chat_limit(mut self, lines: usize) -> Self {
        self.chat_limit = lines;
        chat::trim(&mut self.chat, lines);
        self
    }

    /// Follows `event` in the view held in `view`: the first snapshot creates it, later events
    /// [`apply`](Self::apply) to it; events before the first snapshot change nothing.
    pub fn follow(view: &mut Option<Self>, event: &RoomEvent) {
        match view {
            Some(view) => view.apply(event),
            None => *view = event.snapshot().map(Self::new),
        }
    }

    /// Folds one session event into the view. Pure: no I/O, no clock.
    pub fn apply(&mut self, event: &RoomEvent) {
        match event {
            RoomEvent::Server(message) | RoomEvent::Rejoined(message) => self.on_message(message),
            RoomEvent::Connected => self.connected = true,
            RoomEvent::Disconnected { .. } => self.connected = false,
            RoomEvent::Lagged { .. } => self.stale = true,
            RoomEvent::Malformed { .. } | RoomEvent::Reconnecting { .. } => {}
        }
    }

    /// Records the host's REST approval of a join request (`Client::approve` answers the
    /// member), which no socket event reports: the request goes, the member joins the list
    /// (offline until they connect).
    pub fn request_approved(&mut self, member: &Participant) {
        self.pending.retain(|user| user.id != member.user.id);
        if self.member(member.user.id).is_none() {
            self.members.push(Member::from_participant(member));
        }
    }

    /// Records the host's REST denial of `user`'s join request, which no socket event
    /// reports.
    pub fn request_denied(&mut self, user: UserId) {
        self.pending.retain(|pending| pending.id != user);
    }

    /// The room: name, host, state (with the grace deadline while in `GRACE`), entry mode,
    /// chat switch, media and viewer count, all kept current.
    pub fn room(&self) -> &Room {
        &self.room
    }

    /// The room's code.
    pub fn code(&self) -> RoomCode {
        self.room.code
    }

    /// Your own place: who you are, whether you host, whether you are muted.
    pub fn you(&self) -> &You {
        &self.you
    }

    /// Whether you host the room now.
    pub fn is_host(&self) -> bool {
        self.you.is_host
    }

    /// Whether [`members`](Self::members) is everyone: `false` in a big room or one of many
    /// members (protocol 6.11), whose snapshot lists the host, you and a few others online
    /// (`room().viewers` counts everyone connected), and whose members show as they are named
    /// coming; `false` too once a presence batch counted people it did not name, whose
    /// `online` marks may then be out of date until the next snapshot.
    pub fn lists_everyone(&self) -> bool {
        self.lists_everyone
    }

    /// The approved members, online or not, you included: the snapshot's order (host
    /// first, then by joining), newcomers after.
    pub fn members(&self) -> &[Member] {
        &self.members
    }

    /// One member, by id.
    pub fn member(&self, user: UserId) -> Option<&Member> {
        self.members.iter().find(|member| member.user.id == user)
    }

    /// Users asking to join, oldest first: what the snapshot showed and `JOIN_REQUESTED`
    /// since. Only the host is told of requests, so this is empty for everyone else (and
    /// for a new host until the next snapshot).
    pub fn pending(&self) -> &[UserRef] {
        &self.pending
    }

    /// The chat, oldest first: the snapshot's lines (the last 50), then every line since,
    /// the oldest dropped past the view's limit.
    pub fn chat(&self) -> &VecDeque<ChatMessage> {
        &self.chat
    }

    /// The room's playback, in server time; where the media is now is
    /// `playback().position_at(now_server_ms)`.
    pub fn playback(&self) -> Playback {
        self.playback
    }

    /// The `seq` of the last broadcast the view reflects.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// Whether the session's socket is up (from `Connected` to `Disconnected`). While it is
    /// down the view shows the room as last seen.
    pub fn is_connected(&self) -> bool {
        self.connected
    }

    /// Whether events were missed (a `seq` gap, or the app lagged) since the last snapshot;
    /// the session has asked for a fresh one, which clears this.
    pub fn is_stale(&self) -> bool {
        self.stale
    }

    fn on_message(&mut self, message: &ServerMessage) {
        if let ServerEvent::RoomSnapshot(snapshot) = &message.event {
            self.replace(snapshot);
            return;
        }
        if let Some(seq) = message.seq {
            if seq <= self.seq {
                return;
            }
            self.stale |= seq > self.seq + 1;
            self.seq = seq;
        }
        self.on_event(&message.event);
    }

    /// A later snapshot: everything from it, but the playback never goes back and the chat
    /// keeps older lines that join on without a hole.
    fn replace(&mut self, snapshot: &RoomSnapshot) {
        let same_room = snapshot.room.code == self.room.code;
        let (members, pending) = roster(snapshot);
        self.room = snapshot.room.clone();
        self.you = snapshot.you.clone();
        self.members = members;
        self.pending = pending;
        let earlier = if same_room {
            std::mem::take(&mut self.chat)
        } else {
            VecDeque::new()
        };
        self.chat = chat::from_snapshot(earlier, &snapshot.chat, self.chat_limit);
        if !same_room || snapshot.playback.version >= self.playback.version {
            self.playback = snapshot.playback;
        }
        self.seq = snapshot.seq;
        self.connected = true;
        self.stale = false;
    }

    fn on_event(&mut self, event: &ServerEvent) {
        match event {
            ServerEvent::PlaybackState(state) => self.set_playback(state.playback),
            ServerEvent::SyncCorrection(correction) => self.set_playback(correction.playback),
            ServerEvent::Error(error) => {
                if let Some(current) = error.current {
                    self.set_playback(current);
                }
            }
            ServerEvent::ChatMessage(line) => {
                self.chat.push_back(line.clone());
                chat::trim(&mut self.chat, self.chat_limit);
            }
            ServerEvent::UserJoined(joined) => {
                self.room.viewers = joined.viewers;
                self.joined(&joined.user);
            }
            ServerEvent::UserLeft(left) => {
                self.room.viewers = left.viewers;
                self.set_online(left.user.id, false);
            }
            ServerEvent::PresenceChanged(changed) => {
                self.room.viewers = changed.viewers;
                // People came or went unnamed: the list can no longer say who is here.
                if !changed.names_everyone() {
                    self.lists_everyone = false;
                }
                for user in &changed.joined {
                    self.joined(user);
                }
                for gone in &changed.left {
                    self.set_online(gone.user.id, false);
                }
            }
            ServerEvent::UserKicked(removed) | ServerEvent::UserBanned(removed) => {
                self.members
                    .retain(|member| member.user.id != removed.user.id);
            }
            ServerEvent::UserMuted(muted) => {
                let until = muted.until_ms.unwrap_or(MUTED_FOREVER_MS);
                self.set_muted(muted.user.id, Some(until));
            }
            ServerEvent::UserUnmuted(unmuted) => self.set_muted(unmuted.user.id, None),
            ServerEvent::JoinRequested(request) => {
                if !self.pending.iter().any(|user| user.id == request.user.id) {
                    self.pending.push(request.user.clone());
                }
            }
            ServerEvent::HostChanged(changed) => self.set_host(&changed.host),
            _ => self.on_room_event(event),
        }
    }

    /// Events about the room itself: its fields, media and lifecycle.
    fn on_room_event(&mut self, event: &ServerEvent) {
        match event {
            ServerEvent::RoomUpdated(update) => self.update_room(update),
            ServerEvent::MediaChanged(changed) => {
                self.room.media = Some(changed.media.clone());
                self.room.embed_url = Some(changed.embed_url.clone());
            }
            ServerEvent::HostDisconnected(grace) => {
                self.room.state = RoomState::Grace;
                self.room.grace_deadline_ms = Some(grace.grace_deadline_ms);
                self.set_online(self.room.host.id, false);
            }
            ServerEvent::HostReconnected(_) => {
                self.room.state = RoomState::Live;
                self.room.grace_deadline_ms = None;
                self.set_online(self.room.host.id, true);
            }
            ServerEvent::RoomExpired(_) => self.close_room(RoomState::Expired),
            ServerEvent::RoomDeleted(_) => self.close_room(RoomState::Deleted),
            _ => {}
        }
    }

    /// `ROOM_UPDATED` only adds or changes fields; a state other than `GRACE` has no
    /// deadline.
    fn update_room(&mut self, update: &RoomUpdate) {
        let room = &mut self.room;
        if let Some(name) = &update.name {
            room.name = name.clone();
        }
        room.state = update.state.unwrap_or(room.state);
        room.is_private = update.is_private.unwrap_or(room.is_private);
        room.entry_mode = update.entry_mode.unwrap_or(room.entry_mode);
        room.chat_enabled = update.chat_enabled.unwrap_or(room.chat_enabled);
        room.viewers = update.viewers.unwrap_or(room.viewers);
        room.grace_deadline_ms = update.grace_deadline_ms.or(room.grace_deadline_ms);
        if room.state != RoomState::Grace {
            room.grace_deadline_ms = None;
        }
    }

    fn close_room(&mut self, state: RoomState) {
        self.room.state = state;
        self.room.grace_deadline_ms = None;
    }

    /// Playback versions never go back, so an older state (a late reply) never wins.
    fn set_playback(&mut self, playback: Playback) {
        if playback.version >= self.playback.version {
            self.playback = playback;
        }
    }

    /// A user's first socket: a member comes online, or a new one (perhaps a request the
    /// host approved) joins the list.
    fn joined(&mut self, user: &UserRef) {
        self.pending.retain(|pending| pending.id != user.id);
        let is_host = user.id == self.room.host.id;
        match self.members.iter_mut().find(|m| m.user.id == user.id) {
            Some(member) => member.online = true,
            None => self.members.push(Member {
                user: user.clone(),
                is_host,
                online: true,
                muted_until_ms: None,
            }),
        }
    }

    fn set_online(&mut self, user: UserId, online: bool) {
        if let Some(member) = self.members.iter_mut().find(|m| m.user.id == user) {
            member.online = online;
        }
    }

    fn set_muted(&mut self, user: UserId, until_ms: Option<u64>) {
        if let Some(member) = self.members.iter_mut().find(|m| m.user.id == user) {
            member.muted_until_ms = until_ms;
        }
        if self.you.user.id == user {
            self.you.muted_until_ms = until_ms;
        }
    }

    /// A new host. Requests are told to the host alone, so one who hands the room over stops
    /// showing them.
    fn set_host(&mut self, host: &UserRef) {
        self.room.host = host.clone();
        for member in &mut self.members {
            member.is_host = member.user.id == host.id;
        }
        self.you.is_host = self.you.user.id == host.id;
        if !self.you.is_host {
            self.pending.clear();
        }
    }
}

/// The snapshot's approved members and pending requests (the latter shown to the host only).
fn roster(snapshot: &RoomSnapshot) -> (Vec<Member>, Vec<UserRef>) {
    let (approved, pending): (Vec<&Participant>, Vec<&Participant>) = snapshot
        .participants
        .iter()
        .partition(|p| p.status == MemberStatus::Approved);
    let members = approved.into_iter().map(Member::from_participant).collect();
    let pending = pending.into_iter().map(|p| p.user.clone()).collect();
    (members, pending)
}
