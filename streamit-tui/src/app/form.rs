//! [`Form`]: a few typed fields, one with the focus; the menu's forms and the room's
//! prompts (and, as a one-field form, the chat composer's line editing).

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// The longest a field grows; a chat line is at most 500 characters, passwords 256.
const MAX_FIELD_CHARS: usize = 512;

/// One field.
#[derive(Clone, Debug)]
pub(crate) struct Field {
    /// What to type, e.g. "E-mail".
    pub(crate) label: &'static str,
    /// What was typed.
    pub(crate) value: String,
    /// Shown as stars.
    pub(crate) secret: bool,
}

/// A few fields, one with the focus.
#[derive(Clone, Debug)]
pub(crate) struct Form {
    /// Its title.
    pub(crate) title: &'static str,
    /// The fields, in order.
    pub(crate) fields: Vec<Field>,
    /// The field with the focus.
    pub(crate) focus: usize,
}

impl Form {
    /// A form titled `title` with plain fields named `labels`.
    pub(crate) fn new(title: &'static str, labels: &[&'static str]) -> Self {
        Self {
            title,
            fields: labels
                .iter()
                .map(|&label| Field {
                    label,
                    value: String::new(),
                    secret: false,
                })
                .collect(),
            focus: 0,
        }
    }

    /// Shows the field named `label` as stars.
    pub(crate) fn secret(mut self, label: &str) -> Self {
        for field in &mut self.fields {
            field.secret |= field.label == label;
        }
        self
    }

    /// The value of the field at `index`, trimmed.
    pub(crate) fn value(&self, index: usize) -> &str {
        self.fields
            .get(index)
            .map_or("", |field| field.value.trim())
    }

    /// Whether the last field has the focus.
    pub(crate) fn on_last(&self) -> bool {
        self.focus + 1 >= self.fields.len()
    }

    /// Moves the focus on, round to the first.
    pub(crate) fn next(&mut self) {
        self.focus = (self.focus + 1) % self.fields.len().max(1);
    }

    /// Edits the focused field with a typing key; `false` when the key is not one.
    pub(crate) fn edit(&mut self, key: &KeyEvent) -> bool {
        let Some(field) = self.fields.get_mut(self.focus) else {
            return false;
        };
        edit_line(&mut field.value, key)
    }
}

/// Edits a line with a typing key (a character, Backspace); `false` when the key is not one.
pub(crate) fn edit_line(line: &mut String, key: &KeyEvent) -> bool {
    if key
        .modifiers
        .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT)
    {
        return false;
    }
    match key.code {
        KeyCode::Char(c) => {
            if line.chars().count() < MAX_FIELD_CHARS {
                line.push(c);
            }
            true
        }
        KeyCode::Backspace => {
            line.pop();
            true
        }
        _ => false,
    }
}
