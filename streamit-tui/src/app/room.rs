//! The watch room: the SDK's [`RoomView`] of the room, a simulated player kept on the room's
//! playback by the SDK's drift controller, the people, the chat composer, and the host's keys.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crossterm::event::KeyEvent;
use streamit_client::protocol::v1::{
    ChatText, Participant, PositionMs, Rate, RoomCode, RoomPassword, ServerEvent, UserId, UserRef,
};
use streamit_client::sync::{DriftConfig, DriftController, Player, SimulatedPlayer};
use streamit_client::{CloseStatus, Member, RoomEvent, RoomView};

use super::form::{Form, edit_line};
use super::{Command, Outcome, RoomCommand, Tick, notice};
use crate::keys::{Action, SEEK_STEP_MS, Scope};
use crate::{label, words};

/// Notices kept for the notice pane.
const NOTICES_KEPT: usize = 50;

/// How often a playing player reports its position, which saves the watch progress that
/// `streamit progress` lists.
const PROGRESS_EVERY: Duration = Duration::from_secs(10);

/// The rates `[` and `]` step through.
const RATES: [f64; 7] = [0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0];

/// How the room's socket is doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Link {
    /// Opening the first socket.
    Connecting,
    /// Open and admitted.
    Connected,
    /// Lost; the session connects again.
    Reconnecting {
        /// Attempts so far.
        attempt: u32,
    },
    /// Over for good, and why.
    Ended(&'static str),
}

/// Which prompt is open.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PromptKind {
    GoTo,
    Media,
    ConfirmDelete,
}

/// Someone the people pane lists: a member, or a user asking to join.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Person<'a> {
    Member(&'a Member),
    Pending(&'a UserRef),
}

/// The room screen's state.
#[derive(Debug)]
pub(crate) struct Room {
    /// The room's code.
    pub(crate) code: RoomCode,
    /// This client's user.
    pub(crate) me: Option<UserId>,
    /// The room, from the session's events; `None` before the first snapshot.
    pub(crate) view: Option<RoomView>,
    /// The local player, created at the first tick (it runs on the driver's clock).
    player: Option<SimulatedPlayer>,
    drift: DriftController,
    /// Whether the chat composer has the focus (it has when the room opens).
    pub(crate) composing: bool,
    /// The chat line being typed.
    pub(crate) composer: String,
    /// The open prompt.
    pub(crate) prompt: Option<(PromptKind, Form)>,
    /// The chosen person, an index into [`people`](Self::people).
    pub(crate) selected: usize,
    /// Room events and refusals in words, oldest first.
    pub(crate) notices: VecDeque<String>,
    /// The socket's state.
    pub(crate) link: Link,
    /// Server clock minus local clock, ms.
    pub(crate) offset_ms: Option<i64>,
    /// The server's clock at the last tick, Unix epoch ms.
    pub(crate) server_now_ms: u64,
    /// The room password the server generated, to show the host.
    pub(crate) password: Option<RoomPassword>,
    /// The close code of the last disconnect.
    last_close: Option<CloseStatus>,
    /// When the player next reports its position.
    next_report: Option<Instant>,
}

impl Room {
    /// A room whose session was just opened.
    pub(crate) fn new(code: RoomCode, me: Option<UserId>, password: Option<RoomPassword>) -> Self {
        Self {
            code,
            me,
            view: None,
            player: None,
            drift: controller(),
            composing: true,
            composer: String::new(),
            prompt: None,
            selected: 0,
            notices: VecDeque::new(),
            link: Link::Connecting,
            offset_ms: None,
            server_now_ms: 0,
            password,
            last_close: None,
            next_report: None,
        }
    }

    /// The keys that act now.
    pub(crate) fn scopes(&self) -> &'static [Scope] {
        super::room_scopes(self.composing, self.prompt.is_some())
    }

    /// Whether this client hosts the room.
    pub(crate) fn is_host(&self) -> bool {
        self.view.as_ref().is_some_and(RoomView::is_host)
    }

    /// The people pane: members (host first), then join requests.
    pub(crate) fn people(&self) -> Vec<Person<'_>> {
        let Some(view) = &self.view else {
            return Vec::new();
        };
        let members = view.members().iter().map(Person::Member);
        members
            .chain(view.pending().iter().map(Person::Pending))
            .collect()
    }

    /// The local player's position (ms) and whether it plays.
    pub(crate) fn player(&self) -> Option<(u64, bool)> {
        self.player
            .as_ref()
            .map(|player| (player.position_ms(), player.is_playing()))
    }

    /// How far the local player is from the room, ms (positive: ahead).
    pub(crate) fn drift_ms(&self) -> Option<i64> {
        self.drift.last_drift_ms()
    }

    /// Adds a line to the notice pane.
    pub(crate) fn notify(&mut self, line: impl Into<String>) {
        self.notices.push_back(line.into());
        while self.notices.len() > NOTICES_KEPT {
            self.notices.pop_front();
        }
    }

    /// A session event: into the view, and in words into the notices.
    pub(crate) fn event(&mut self, event: &RoomEvent) {
        RoomView::follow(&mut self.view, event);
        match event {
            RoomEvent::Connected => self.link = Link::Connected,
            RoomEvent::Disconnected { close } => {
                self.last_close = close.as_ref().map(|close| close.code);
            }
            RoomEvent::Reconnecting { attempt, .. } => {
                self.link = Link::Reconnecting { attempt: *attempt };
            }
            _ => {}
        }
        if let Some(ServerEvent::MediaChanged(_)) = event.server_event() {
            // Seek latency and skew are the old media's; the controller learns them anew.
            self.drift = controller();
        }
        if let Some(line) = notice::describe(event, self.view.as_ref(), self.me) {
            self.notify(line);
        }
    }

    /// Time passed: the player moves on, the drift controller keeps it on the room, and a
    /// playing player reports its position now and then.
    pub(crate) fn tick(&mut self, tick: Tick) -> Option<Command> {
        self.offset_ms = tick.offset_ms.or(self.offset_ms);
        self.server_now_ms = tick.server.whole_ms();
        let player = self
            .player
            .get_or_insert_with(|| SimulatedPlayer::new(tick.now));
        player.advance_to(tick.now);
        let view = self.view.as_ref()?;
        self.drift
            .tick(player, &view.playback(), tick.server, tick.now);
        let due = *self.next_report.get_or_insert(tick.now + PROGRESS_EVERY);
        let report =
            player.is_playing() && view.room().media.is_some() && self.link == Link::Connected;
        if tick.now < due || !report {
            return None;
        }
        self.next_report = Some(tick.now + PROGRESS_EVERY);
        let position = PositionMs::saturating(player.position_ms());
        Some(Command::Room(RoomCommand::Progress(position)))
    }

    /// The session ended for good.
    pub(crate) fn ended(&mut self) {
        let why = words::close_code(self.last_close);
        self.link = Link::Ended(why);
        self.composing = false;
        self.prompt = None;
        self.notify(format!("the room session ended: {why} (M: menu, q: quit)"));
    }

    /// A command failed.
    pub(crate) fn failed(&mut self, what: &str, why: &str) {
        self.notify(format!("could not {what}: {why}"));
    }

    /// A command's answer.
    pub(crate) fn outcome(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Approved(member) => self.approved(&member),
            Outcome::Denied(user) => {
                if let Some(view) = &mut self.view {
                    view.request_denied(user);
                }
                self.notify("join request denied");
            }
            _ => {}
        }
    }

    fn approved(&mut self, member: &Participant) {
        if let Some(view) = &mut self.view {
            view.request_approved(member);
        }
        self.notify(format!("{} may join", member.user.display_name.as_str()));
    }

    /// A key, and its action in the room's scopes.
    pub(crate) fn key(
        &mut self,
        key: &KeyEvent,
        action: Option<(Scope, Action)>,
    ) -> Option<Command> {
        if self.prompt.is_some() {
            return self.prompt_key(key, action.map(|(_, a)| a));
        }
        if self.composing {
            return self.composer_key(key, action.map(|(_, a)| a));
        }
        let (scope, action) = action?;
        if scope == Scope::Host && !self.is_host() {
            self.notify("only the host may do that (? lists the keys)");
            return None;
        }
        match action {
            Action::Compose if !matches!(self.link, Link::Ended(_)) => self.composing = true,
            Action::Up => self.selected = self.selected.saturating_sub(1),
            Action::Down => {
                let last = self.people().len().saturating_sub(1);
                self.selected = (self.selected + 1).min(last);
            }
            Action::GoTo => {
                self.prompt = Some((PromptKind::GoTo, Form::new("Seek to", &["Time (m:ss)"])))
            }
            Action::SetMedia => {
                let field = ["youtube ID | movie ID | tv ID SEASON EPISODE | URL"];
                self.prompt = Some((PromptKind::Media, Form::new("Set the media", &field)));
            }
            Action::Delete => {
                let field = ["Type yes to delete the room for everyone"];
                self.prompt = Some((
                    PromptKind::ConfirmDelete,
                    Form::new("Delete the room", &field),
                ));
            }
            other => return self.host_action(other).map(Command::Room),
        }
        None
    }

    fn composer_key(&mut self, key: &KeyEvent, action: Option<Action>) -> Option<Command> {
        match action {
            Some(Action::LeaveComposer) => self.composing = false,
            Some(Action::Send) => {
                let line = std::mem::take(&mut self.composer);
                if line.trim().is_empty() {
                    return None;
                }
                match ChatText::new(&line) {
                    Ok(text) => return Some(Command::Room(RoomCommand::Chat(text))),
                    Err(error) => {
                        self.composer = line;
                        self.notify(format!("cannot send that: {error}"));
                    }
                }
            }
            _ => {
                edit_line(&mut self.composer, key);
            }
        }
        None
    }

    fn prompt_key(&mut self, key: &KeyEvent, action: Option<Action>) -> Option<Command> {
        let (kind, form) = self.prompt.as_mut()?;
        match action {
            Some(Action::Cancel) => self.prompt = None,
            Some(Action::Submit) => {
                let (kind, typed) = (*kind, form.value(0).to_owned());
                self.prompt = None;
                return self.submit(kind, &typed).map(Command::Room);
            }
            _ => {
                form.edit(key);
            }
        }
        None
    }

    fn submit(&mut self, kind: PromptKind, typed: &str) -> Option<RoomCommand> {
        match kind {
            PromptKind::GoTo => {
                match label::parse_clock(typed).and_then(|ms| PositionMs::new(ms).ok()) {
                    Some(position) => Some(RoomCommand::Seek(position)),
                    None => {
                        self.notify(format!(
                            "{typed:?} is not a time: type m:ss, h:mm:ss or seconds"
                        ));
                        None
                    }
                }
            }
            PromptKind::Media => match label::parse_media(typed) {
                Ok(media) => Some(RoomCommand::Media(media)),
                Err(why) => {
                    self.notify(why);
                    None
                }
            },
            PromptKind::ConfirmDelete => {
                if typed.eq_ignore_ascii_case("yes") {
                    Some(RoomCommand::Delete)
                } else {
                    self.notify("the room stays");
                    None
                }
            }
        }
    }

    /// The host's single-key actions.
    fn host_action(&mut self, action: Action) -> Option<RoomCommand> {
        let view = self.view.as_ref()?;
        let playback = view.playback();
        let here = playback.position_at(self.server_now_ms).get();
        match action {
            Action::PlayPause if playback.playing => Some(RoomCommand::Pause),
            Action::PlayPause => Some(RoomCommand::Play),
            Action::Back => Some(RoomCommand::Seek(PositionMs::saturating(
                here.saturating_sub(SEEK_STEP_MS),
            ))),
            Action::Forward => Some(RoomCommand::Seek(PositionMs::saturating(
                here + SEEK_STEP_MS,
            ))),
            Action::Slower | Action::Faster => {
                let now = playback.rate.get();
                let next = if action == Action::Faster {
                    RATES.iter().copied().find(|&rate| rate > now + 1e-9)
                } else {
                    RATES.iter().rev().copied().find(|&rate| rate < now - 1e-9)
                };
                next.and_then(|rate| Rate::new(rate).ok())
                    .map(RoomCommand::Rate)
            }
            Action::ToggleChat => Some(RoomCommand::ChatEnabled(!view.room().chat_enabled)),
            Action::Approve | Action::Deny => {
                let Some(user) = self.chosen_request() else {
                    self.notify("nobody is asking to join");
                    return None;
                };
                Some(if action == Action::Approve {
                    RoomCommand::Approve(user)
                } else {
                    RoomCommand::Deny(user)
                })
            }
            Action::Mute | Action::Kick | Action::Ban | Action::Transfer => self.on_member(action),
            _ => None,
        }
    }

    /// The chosen join request, or the oldest when a member is chosen.
    fn chosen_request(&self) -> Option<UserId> {
        let people = self.people();
        match people.get(self.selected) {
            Some(Person::Pending(user)) => Some(user.id),
            _ => people.iter().find_map(|person| match person {
                Person::Pending(user) => Some(user.id),
                Person::Member(_) => None,
            }),
        }
    }

    /// Mute, kick, ban or hand the room to the chosen member (never yourself).
    fn on_member(&mut self, action: Action) -> Option<RoomCommand> {
        let chosen = match self.people().get(self.selected) {
            Some(Person::Member(member)) if Some(member.user.id) != self.me => {
                Some((*member).clone())
            }
            _ => None,
        };
        let Some(member) = chosen else {
            self.notify("choose someone else with ↑/↓ first");
            return None;
        };
        let id = member.user.id;
        Some(match action {
            Action::Mute if member.is_muted_at(self.server_now_ms) => RoomCommand::Unmute(id),
            Action::Mute => RoomCommand::Mute(id),
            Action::Kick => RoomCommand::Kick(id),
            Action::Ban => RoomCommand::Ban(id),
            _ => RoomCommand::Transfer(id),
        })
    }
}

/// A drift controller for the simulated player, whose seeks land at once: told so from the
/// start, it aims its first seek at where the room is rather than a guessed latency ahead.
fn controller() -> DriftController {
    let mut config = DriftConfig::default();
    config.initial_seek_latency_ms = 0;
    DriftController::new(config)
}
