//! Every key binding in one table, read by the handler and by the `?` screen alike, so the
//! help never says what the keys do not do.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// A key as the table names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Key {
    /// A printable character, as typed (case matters).
    Char(char),
    /// A character with Ctrl held.
    Ctrl(char),
    Space,
    Left,
    Right,
    Up,
    Down,
    Enter,
    Esc,
    Tab,
}

impl Key {
    /// Whether `event` is this key.
    pub(crate) fn matches(self, event: &KeyEvent) -> bool {
        let ctrl = event.modifiers.contains(KeyModifiers::CONTROL);
        match (self, event.code) {
            (Self::Ctrl(want), KeyCode::Char(got)) => ctrl && got.eq_ignore_ascii_case(&want),
            (Self::Space, KeyCode::Char(' ')) => !ctrl,
            (Self::Char(want), KeyCode::Char(got)) => !ctrl && got == want,
            (Self::Left, KeyCode::Left)
            | (Self::Right, KeyCode::Right)
            | (Self::Up, KeyCode::Up)
            | (Self::Down, KeyCode::Down)
            | (Self::Enter, KeyCode::Enter)
            | (Self::Esc, KeyCode::Esc)
            | (Self::Tab, KeyCode::Tab) => true,
            _ => false,
        }
    }

    /// How the help screen writes the key.
    pub(crate) fn label(self) -> String {
        match self {
            Self::Char(c) => c.to_string(),
            Self::Ctrl(c) => format!("Ctrl-{}", c.to_ascii_uppercase()),
            Self::Space => "space".into(),
            Self::Left => "←".into(),
            Self::Right => "→".into(),
            Self::Up => "↑".into(),
            Self::Down => "↓".into(),
            Self::Enter => "Enter".into(),
            Self::Esc => "Esc".into(),
            Self::Tab => "Tab".into(),
        }
    }
}

/// Where a binding acts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Scope {
    /// Anywhere, whatever has the focus.
    Always,
    /// The menu, outside its forms.
    Menu,
    /// A form or prompt being filled in.
    Form,
    /// The room's chat composer, which has the focus when a room opens.
    Composer,
    /// The room with the composer left: single keys act, for everyone.
    Room,
    /// The room with the composer left: the host's keys.
    Host,
}

impl Scope {
    /// The heading of the scope on the help screen.
    pub(crate) fn title(self) -> &'static str {
        match self {
            Self::Always => "Anywhere",
            Self::Menu => "Menu",
            Self::Form => "Forms and prompts",
            Self::Composer => "Room: chat composer",
            Self::Room => "Room: keys (after Esc)",
            Self::Host => "Room: host keys (after Esc)",
        }
    }
}

/// What a key does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Action {
    Quit,
    Help,
    Guest,
    Login,
    Create,
    JoinCode,
    Refresh,
    Up,
    Down,
    Open,
    Submit,
    NextField,
    Cancel,
    Send,
    LeaveComposer,
    Compose,
    PlayPause,
    Back,
    Forward,
    GoTo,
    Slower,
    Faster,
    SetMedia,
    ToggleChat,
    Approve,
    Deny,
    Mute,
    Kick,
    Ban,
    Transfer,
    Delete,
    ToMenu,
}

/// One line of the table.
#[derive(Debug)]
pub(crate) struct Binding {
    /// The keys, any of which does it.
    pub(crate) keys: &'static [Key],
    /// Where.
    pub(crate) scope: Scope,
    /// What.
    pub(crate) action: Action,
    /// What, in words, for the help screen.
    pub(crate) what: &'static str,
}

const fn bind(keys: &'static [Key], scope: Scope, action: Action, what: &'static str) -> Binding {
    Binding {
        keys,
        scope,
        action,
        what,
    }
}

/// The seek step of ←/→, ms.
pub(crate) const SEEK_STEP_MS: u64 = 10_000;

/// Every binding.
pub(crate) const BINDINGS: &[Binding] = &[
    bind(&[Key::Ctrl('c')], Scope::Always, Action::Quit, "quit"),
    bind(&[Key::Char('q')], Scope::Menu, Action::Quit, "quit"),
    bind(
        &[Key::Char('?')],
        Scope::Menu,
        Action::Help,
        "show / hide this help",
    ),
    bind(
        &[Key::Char('g')],
        Scope::Menu,
        Action::Guest,
        "sign in as a new guest",
    ),
    bind(
        &[Key::Char('l')],
        Scope::Menu,
        Action::Login,
        "log in (e-mail, password)",
    ),
    bind(
        &[Key::Char('c')],
        Scope::Menu,
        Action::Create,
        "create a room and host it",
    ),
    bind(
        &[Key::Char('j')],
        Scope::Menu,
        Action::JoinCode,
        "join a room by its code",
    ),
    bind(
        &[Key::Char('r')],
        Scope::Menu,
        Action::Refresh,
        "refresh public rooms",
    ),
    bind(&[Key::Up], Scope::Menu, Action::Up, "previous public room"),
    bind(&[Key::Down], Scope::Menu, Action::Down, "next public room"),
    bind(
        &[Key::Enter],
        Scope::Menu,
        Action::Open,
        "join chosen public room",
    ),
    bind(
        &[Key::Enter],
        Scope::Form,
        Action::Submit,
        "next field / submit",
    ),
    bind(&[Key::Tab], Scope::Form, Action::NextField, "next field"),
    bind(&[Key::Esc], Scope::Form, Action::Cancel, "cancel"),
    bind(
        &[Key::Enter],
        Scope::Composer,
        Action::Send,
        "send the chat line",
    ),
    bind(
        &[Key::Esc],
        Scope::Composer,
        Action::LeaveComposer,
        "leave composer: keys act",
    ),
    bind(&[Key::Char('q')], Scope::Room, Action::Quit, "quit"),
    bind(
        &[Key::Char('?')],
        Scope::Room,
        Action::Help,
        "show / hide this help",
    ),
    bind(
        &[Key::Enter, Key::Char('i')],
        Scope::Room,
        Action::Compose,
        "back to the chat composer",
    ),
    bind(&[Key::Up], Scope::Room, Action::Up, "previous person"),
    bind(&[Key::Down], Scope::Room, Action::Down, "next person"),
    bind(
        &[Key::Char('M')],
        Scope::Room,
        Action::ToMenu,
        "leave for the menu",
    ),
    bind(
        &[Key::Space],
        Scope::Host,
        Action::PlayPause,
        "play / pause",
    ),
    bind(&[Key::Left], Scope::Host, Action::Back, "seek back 10 s"),
    bind(
        &[Key::Right],
        Scope::Host,
        Action::Forward,
        "seek ahead 10 s",
    ),
    bind(
        &[Key::Char('t')],
        Scope::Host,
        Action::GoTo,
        "seek to a time (m:ss)",
    ),
    bind(&[Key::Char('[')], Scope::Host, Action::Slower, "slower"),
    bind(&[Key::Char(']')], Scope::Host, Action::Faster, "faster"),
    bind(
        &[Key::Char('s')],
        Scope::Host,
        Action::SetMedia,
        "set the media",
    ),
    bind(
        &[Key::Char('c')],
        Scope::Host,
        Action::ToggleChat,
        "turn chat on / off",
    ),
    bind(
        &[Key::Char('a')],
        Scope::Host,
        Action::Approve,
        "approve a join request",
    ),
    bind(
        &[Key::Char('d')],
        Scope::Host,
        Action::Deny,
        "deny a join request",
    ),
    bind(
        &[Key::Char('m')],
        Scope::Host,
        Action::Mute,
        "mute / unmute chosen",
    ),
    bind(&[Key::Char('k')], Scope::Host, Action::Kick, "kick chosen"),
    bind(&[Key::Char('b')], Scope::Host, Action::Ban, "ban chosen"),
    bind(
        &[Key::Char('h')],
        Scope::Host,
        Action::Transfer,
        "make chosen the host",
    ),
    bind(
        &[Key::Char('D')],
        Scope::Host,
        Action::Delete,
        "delete the room (asks)",
    ),
];

/// The keys of `action` in `scope`, as the help writes them (`Enter/i`), for hints.
pub(crate) fn keys_of(scope: Scope, action: Action) -> String {
    BINDINGS
        .iter()
        .find(|binding| binding.scope == scope && binding.action == action)
        .map(|binding| {
            let labels: Vec<String> = binding.keys.iter().map(|key| key.label()).collect();
            labels.join("/")
        })
        .unwrap_or_default()
}

/// The action of `event` among the bindings of `scopes` (and those that act anywhere), the
/// first match in table order.
pub(crate) fn action(scopes: &[Scope], event: &KeyEvent) -> Option<(Scope, Action)> {
    BINDINGS
        .iter()
        .filter(|binding| binding.scope == Scope::Always || scopes.contains(&binding.scope))
        .find(|binding| binding.keys.iter().any(|key| key.matches(event)))
        .map(|binding| (binding.scope, binding.action))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    #[test]
    fn no_key_does_two_things_in_one_place() {
        let together = [
            vec![Scope::Menu],
            vec![Scope::Form],
            vec![Scope::Composer],
            vec![Scope::Room, Scope::Host],
        ];
        for scopes in together {
            let bound: Vec<&Binding> = BINDINGS
                .iter()
                .filter(|b| b.scope == Scope::Always || scopes.contains(&b.scope))
                .collect();
            for (i, a) in bound.iter().enumerate() {
                for b in &bound[i + 1..] {
                    let clash = a.keys.iter().find(|k| b.keys.contains(k));
                    assert!(clash.is_none(), "{clash:?} is bound twice in {scopes:?}");
                }
            }
        }
    }

    #[test]
    fn keys_find_their_actions() {
        let room = [Scope::Room, Scope::Host];
        assert_eq!(
            action(&room, &key(KeyCode::Char(' '))),
            Some((Scope::Host, Action::PlayPause))
        );
        assert_eq!(
            action(&room, &key(KeyCode::Char('q'))),
            Some((Scope::Room, Action::Quit))
        );
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(
            action(&[Scope::Composer], &ctrl_c),
            Some((Scope::Always, Action::Quit))
        );
        assert_eq!(action(&[Scope::Composer], &key(KeyCode::Char('q'))), None);
    }
}
