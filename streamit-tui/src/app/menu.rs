//! The menu: sign in as a guest or with e-mail and password, create a room, join one by
//! code, or pick one from the live public list; and wait for a host's approval.

use std::time::{Duration, Instant};

use crossterm::event::KeyEvent;
use streamit_client::protocol::v1::{
    CreateRoomRequest, Email, EntryMode, Password, PublicRoom, RoomCode, RoomName, RoomPassword,
};

use super::form::Form;
use super::{Command, Outcome};
use crate::keys::{Action, Scope};

/// How often a join waiting for approval is tried again.
const APPROVAL_RETRY: Duration = Duration::from_secs(3);

/// Which form is open.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FormKind {
    Login,
    Join,
    Create,
}

/// The menu's state.
#[derive(Debug, Default)]
pub(crate) struct Menu {
    /// The live public rooms, most viewers first.
    pub(crate) rooms: Vec<PublicRoom>,
    /// The chosen public room.
    pub(crate) selected: usize,
    /// The open form.
    pub(crate) form: Option<(FormKind, Form)>,
    /// The last thing to tell: done, refused, waiting.
    pub(crate) status: Option<String>,
    /// The last join asked for, tried again while it waits for approval.
    last_join: Option<(RoomCode, Option<RoomPassword>)>,
    /// When to try a join waiting for approval again; `None` while not waiting.
    retry_at: Option<Option<Instant>>,
}

impl Menu {
    /// The keys that act now.
    pub(crate) fn scopes(&self) -> &'static [Scope] {
        if self.form.is_some() {
            &[Scope::Form]
        } else {
            &[Scope::Menu]
        }
    }

    /// Tells the person something.
    pub(crate) fn say(&mut self, what: impl Into<String>) {
        self.status = Some(what.into());
    }

    /// A key, and its action in the menu's scopes.
    pub(crate) fn key(
        &mut self,
        key: &KeyEvent,
        action: Option<Action>,
        signed_in: bool,
    ) -> Option<Command> {
        if let Some((kind, form)) = &mut self.form {
            let kind = *kind;
            match action {
                Some(Action::Cancel) => self.form = None,
                Some(Action::NextField) => form.next(),
                Some(Action::Submit) if !form.on_last() => form.next(),
                Some(Action::Submit) => return self.submit(kind),
                _ => {
                    form.edit(key);
                }
            }
            return None;
        }
        match action? {
            Action::Guest => Some(Command::Guest),
            Action::Login => {
                let form = Form::new("Log in", &["E-mail", "Password"]).secret("Password");
                self.form = Some((FormKind::Login, form));
                None
            }
            Action::Create => {
                let labels = ["Room name (optional)", "Room password (optional)"];
                self.form = Some((FormKind::Create, Form::new("Create a room", &labels)));
                None
            }
            Action::JoinCode => {
                let labels = ["Room code", "Room password (if it has one)"];
                self.form = Some((FormKind::Join, Form::new("Join a room", &labels)));
                None
            }
            Action::Refresh => Some(Command::ListRooms),
            Action::Up => {
                self.selected = self.selected.saturating_sub(1);
                None
            }
            Action::Down => {
                self.selected = (self.selected + 1).min(self.rooms.len().saturating_sub(1));
                None
            }
            Action::Open => self.open_selected(signed_in),
            _ => None,
        }
    }

    /// Joins the chosen public room; a password room asks for its password first.
    fn open_selected(&mut self, signed_in: bool) -> Option<Command> {
        let room = self.rooms.get(self.selected)?;
        let code = room.code;
        if room.entry_mode == EntryMode::Password {
            let labels = ["Room code", "Room password (if it has one)"];
            let mut form = Form::new("Join a room", &labels);
            form.fields[0].value = code.to_string();
            form.focus = 1;
            self.form = Some((FormKind::Join, form));
            return None;
        }
        if !signed_in {
            self.say("signing in as a guest first");
        }
        Some(self.join(code, None))
    }

    fn join(&mut self, code: RoomCode, password: Option<RoomPassword>) -> Command {
        self.last_join = Some((code, password.clone()));
        self.retry_at = None;
        Command::Join { code, password }
    }

    fn submit(&mut self, kind: FormKind) -> Option<Command> {
        let (_, form) = self.form.as_ref()?;
        let command = match kind {
            FormKind::Login => login(form),
            FormKind::Join => join(form).map(|(code, password)| self.join(code, password)),
            FormKind::Create => create(form),
        };
        match command {
            Ok(command) => {
                self.form = None;
                Some(command)
            }
            Err(why) => {
                self.say(why);
                None
            }
        }
    }

    /// Time passed: a join waiting for approval is tried again every few seconds.
    pub(crate) fn tick(&mut self, now: Instant) -> Option<Command> {
        let retry_at = self.retry_at.as_mut()?;
        match retry_at {
            Some(at) if now < *at => None,
            Some(_) => {
                *retry_at = Some(now + APPROVAL_RETRY);
                let (code, password) = self.last_join.clone()?;
                Some(Command::Join { code, password })
            }
            None => {
                *retry_at = Some(now + APPROVAL_RETRY);
                None
            }
        }
    }

    /// A command's answer.
    pub(crate) fn outcome(&mut self, outcome: Outcome) -> Option<Command> {
        match outcome {
            Outcome::Rooms(rooms) => {
                self.selected = self.selected.min(rooms.len().saturating_sub(1));
                self.rooms = rooms;
            }
            Outcome::Pending(code) => {
                // `streamit watch` joins before the menu has asked for anything.
                if self
                    .last_join
                    .as_ref()
                    .is_none_or(|(asked, _)| *asked != code)
                {
                    self.last_join = Some((code, None));
                }
                if self.retry_at.is_none() {
                    self.retry_at = Some(None);
                }
                self.say(format!(
                    "waiting for the host of {code} to approve you (tried every few seconds)"
                ));
            }
            _ => {}
        }
        None
    }

    /// A command failed: say so, and stop waiting for an approval that will not come.
    pub(crate) fn failed(&mut self, what: &str, why: &str) {
        self.retry_at = None;
        self.say(format!("could not {what}: {why}"));
    }
}

fn login(form: &Form) -> Result<Command, String> {
    let email = Email::new(form.value(0)).map_err(|e| format!("e-mail: {e}"))?;
    let password = Password::new(&form.fields[1].value).map_err(|e| format!("password: {e}"))?;
    Ok(Command::Login { email, password })
}

fn join(form: &Form) -> Result<(RoomCode, Option<RoomPassword>), String> {
    let code = RoomCode::parse(form.value(0)).map_err(|e| format!("room code: {e}"))?;
    let password = match form.fields[1].value.as_str() {
        "" => None,
        typed => Some(RoomPassword::new(typed).map_err(|e| format!("room password: {e}"))?),
    };
    Ok((code, password))
}

fn create(form: &Form) -> Result<Command, String> {
    let mut request = CreateRoomRequest::default();
    if !form.value(0).is_empty() {
        let name = RoomName::new(form.value(0)).map_err(|e| format!("room name: {e}"))?;
        request = request.with_name(name);
    }
    if !form.fields[1].value.is_empty() {
        let password =
            RoomPassword::new(&form.fields[1].value).map_err(|e| format!("room password: {e}"))?;
        request = request
            .with_entry_mode(EntryMode::Password)
            .with_password(password);
    }
    Ok(Command::Create(request))
}
