//! [`App`]: the terminal client as a state machine with no I/O. Keys, the room session's
//! events, the answers to its own commands and clock ticks go in through
//! [`App::handle`]; what to do comes out as a [`Command`] for the driver to carry out;
//! [`App::render`] draws the state. Tests drive it input by input and read the screen.
//!
//! Modules: `form` (typed fields: the menu's forms, the room's prompts), `menu` (signing
//! in, creating, joining, the public list), `room` (the watch room: playback, people, chat,
//! host keys), `notice` (room events in words).

pub(crate) mod form;
pub(crate) mod menu;
mod notice;
pub(crate) mod room;
#[cfg(test)]
mod tests;

use std::time::Instant;

use crossterm::event::KeyEvent;
use ratatui::Frame;
use streamit_client::RoomEvent;
use streamit_client::protocol::v1::{
    ChatText, CreateRoomRequest, Email, MediaRef, Participant, Password, PositionMs, PublicRoom,
    Rate, RoomCode, RoomPassword, User, UserId,
};
use streamit_client::sync::ServerTime;

use crate::keys::{Action, Scope};
pub(crate) use menu::Menu;
pub(crate) use room::Room;

/// Something that happened, for [`App::handle`].
#[derive(Debug)]
pub(crate) enum Input {
    /// A key was pressed.
    Key(KeyEvent),
    /// The room session said something.
    Room(RoomEvent),
    /// Time passed: the driver's frame tick.
    Tick(Tick),
    /// A command the driver carried out has an answer.
    Done(Outcome),
}

/// What a tick knows of time.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Tick {
    /// The local monotonic clock now.
    pub(crate) now: Instant,
    /// The server's clock now, with the clock sync's corrections (the session's estimate).
    pub(crate) server: ServerTime,
    /// Server clock minus local clock, ms, once measured.
    pub(crate) offset_ms: Option<i64>,
}

/// The answer to a [`Command`].
#[derive(Debug)]
pub(crate) enum Outcome {
    /// Signed in (or found signed in) as this user.
    SignedIn(User),
    /// The live public rooms.
    Rooms(Vec<PublicRoom>),
    /// A room's session is open; `password` is a generated room password to show its host.
    Entered {
        /// The room.
        code: RoomCode,
        /// The password the server generated, shown once.
        password: Option<RoomPassword>,
    },
    /// The join waits for the host's approval.
    Pending(RoomCode),
    /// The host let this user in.
    Approved(Participant),
    /// The host turned this user away.
    Denied(UserId),
    /// The room's session ended; its last event said why.
    SessionEnded,
    /// A command failed.
    Failed {
        /// What was tried, in words.
        what: &'static str,
        /// Why, in words.
        why: String,
    },
}

/// What the driver should do.
#[derive(Debug, PartialEq)]
pub(crate) enum Command {
    /// Leave (closing the room's session) and end the program.
    Quit,
    /// Sign in as a new guest.
    Guest,
    /// Log in.
    Login {
        /// E-mail.
        email: Email,
        /// Password.
        password: Password,
    },
    /// Fetch the public rooms.
    ListRooms,
    /// Create a room and open it.
    Create(CreateRoomRequest),
    /// Join a room and open it.
    Join {
        /// The room.
        code: RoomCode,
        /// Its password, for password rooms.
        password: Option<RoomPassword>,
    },
    /// Close the room's session and go back to the menu.
    Leave,
    /// Act in the open room.
    Room(RoomCommand),
}

/// An action in the open room.
#[derive(Debug, PartialEq)]
pub(crate) enum RoomCommand {
    Play,
    Pause,
    Seek(PositionMs),
    Rate(Rate),
    Media(MediaRef),
    Chat(ChatText),
    ChatEnabled(bool),
    Approve(UserId),
    Deny(UserId),
    Mute(UserId),
    Unmute(UserId),
    Kick(UserId),
    Ban(UserId),
    Transfer(UserId),
    Delete,
    /// Report the local player's position (saves watch progress).
    Progress(PositionMs),
}

/// The terminal client's whole state.
#[derive(Debug)]
pub(crate) struct App {
    server: String,
    user: Option<User>,
    screen: Screen,
    help: bool,
}

#[derive(Debug)]
enum Screen {
    Menu(Menu),
    Room(Box<Room>),
}

impl App {
    /// The menu, for `server`, nobody signed in yet.
    pub(crate) fn new(server: impl Into<String>) -> Self {
        Self {
            server: server.into(),
            user: None,
            screen: Screen::Menu(Menu::default()),
            help: false,
        }
    }

    /// Folds in one input; returns what the driver should do about it.
    pub(crate) fn handle(&mut self, input: Input) -> Option<Command> {
        match input {
            Input::Key(key) => self.key(&key),
            Input::Done(outcome) => self.outcome(outcome),
            Input::Room(event) => match &mut self.screen {
                Screen::Room(room) => {
                    room.event(&event);
                    None
                }
                Screen::Menu(_) => None,
            },
            Input::Tick(tick) => match &mut self.screen {
                Screen::Room(room) => room.tick(tick),
                Screen::Menu(menu) => menu.tick(tick.now),
            },
        }
    }

    /// Draws the state. No I/O: the frame is the driver's (or a test's `TestBackend`).
    pub(crate) fn render(&self, frame: &mut Frame<'_>) {
        match &self.screen {
            Screen::Menu(menu) => crate::ui::menu(frame, menu, &self.server, self.user.as_ref()),
            Screen::Room(room) => crate::ui::room(frame, room),
        }
        if self.help {
            crate::ui::help(frame, self.help_scopes());
        }
    }

    /// The keys the help screen lists: those of the screen it opens on.
    fn help_scopes(&self) -> &'static [Scope] {
        match &self.screen {
            Screen::Menu(_) => &[Scope::Always, Scope::Menu, Scope::Form],
            Screen::Room(_) => &[
                Scope::Always,
                Scope::Composer,
                Scope::Room,
                Scope::Form,
                Scope::Host,
            ],
        }
    }

    /// The open room, if one is.
    #[cfg(test)]
    pub(crate) fn room(&self) -> Option<&Room> {
        match &self.screen {
            Screen::Room(room) => Some(room),
            Screen::Menu(_) => None,
        }
    }

    fn key(&mut self, key: &KeyEvent) -> Option<Command> {
        if self.help {
            // Any key closes the help; Ctrl-C still quits.
            self.help = false;
            return crate::keys::action(&[], key).map(|_| Command::Quit);
        }
        let scopes = match &self.screen {
            Screen::Menu(menu) => menu.scopes(),
            Screen::Room(room) => room.scopes(),
        };
        let action = crate::keys::action(scopes, key);
        match action {
            Some((_, Action::Quit)) => return Some(Command::Quit),
            Some((_, Action::Help)) => {
                self.help = true;
                return None;
            }
            Some((_, Action::ToMenu)) => {
                self.screen = Screen::Menu(Menu::default());
                return Some(Command::Leave);
            }
            _ => {}
        }
        match &mut self.screen {
            Screen::Menu(menu) => menu.key(key, action.map(|(_, a)| a), self.user.is_some()),
            Screen::Room(room) => room.key(key, action),
        }
    }

    fn outcome(&mut self, outcome: Outcome) -> Option<Command> {
        match outcome {
            Outcome::SignedIn(user) => {
                self.user = Some(user);
                if let Screen::Menu(menu) = &mut self.screen {
                    menu.say("signed in");
                }
                Some(Command::ListRooms)
            }
            Outcome::Entered { code, password } => {
                let me = self.user.as_ref().map(|user| user.id);
                self.screen = Screen::Room(Box::new(Room::new(code, me, password)));
                None
            }
            Outcome::Failed { what, why } => {
                match &mut self.screen {
                    Screen::Menu(menu) => menu.failed(what, &why),
                    Screen::Room(room) => room.failed(what, &why),
                }
                None
            }
            Outcome::SessionEnded => {
                if let Screen::Room(room) = &mut self.screen {
                    room.ended();
                }
                None
            }
            other => match &mut self.screen {
                Screen::Menu(menu) => menu.outcome(other),
                Screen::Room(room) => {
                    room.outcome(other);
                    None
                }
            },
        }
    }
}

/// Which scopes' keys act in the room, by focus.
pub(crate) fn room_scopes(composing: bool, prompting: bool) -> &'static [Scope] {
    match (prompting, composing) {
        (true, _) => &[Scope::Form],
        (false, true) => &[Scope::Composer],
        (false, false) => &[Scope::Room, Scope::Host],
    }
}
