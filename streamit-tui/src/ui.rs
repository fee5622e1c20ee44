//! Drawing: pure functions from the app's state to a ratatui frame, one module per screen
//! (`menu`, `room`, `help`), and the little they share.

mod help;
mod menu;
mod room;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

use crate::app::form::Form;

pub(crate) use help::help;
pub(crate) use menu::menu;
pub(crate) use room::room;

/// Bold text.
fn bold(text: impl Into<String>) -> Span<'static> {
    Span::styled(text.into(), Style::default().add_modifier(Modifier::BOLD))
}

/// Dimmed text.
fn dim(text: impl Into<String>) -> Span<'static> {
    Span::styled(text.into(), Style::default().add_modifier(Modifier::DIM))
}

/// A rectangle of `width` × `height` cells in the middle of `area`, clipped to it.
fn centred(area: Rect, width: u16, height: u16) -> Rect {
    let width = width.min(area.width);
    let height = height.min(area.height);
    Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    }
}

/// A form in a box over the middle of the screen; the focused field is marked with `>`.
fn form(frame: &mut Frame<'_>, form: &Form) {
    let height = form.fields.len() as u16 * 2 + 3;
    let area = centred(frame.area(), 64, height);
    frame.render_widget(Clear, area);
    let mut lines = Vec::new();
    for (index, field) in form.fields.iter().enumerate() {
        let marker = if index == form.focus { "> " } else { "  " };
        lines.push(Line::from(vec![Span::raw(marker), dim(field.label)]));
        let value = if field.secret {
            "*".repeat(field.value.chars().count())
        } else {
            field.value.clone()
        };
        let cursor = if index == form.focus { "_" } else { "" };
        lines.push(Line::from(format!("  {value}{cursor}")));
    }
    lines.push(Line::from(dim(
        "Enter: next / submit   Tab: next field   Esc: cancel",
    )));
    let block = Block::bordered().title(format!(" {} ", form.title));
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

/// Splits `area` into a top part of `height` rows and the rest.
fn split_top(area: Rect, height: u16) -> (Rect, Rect) {
    let [top, rest] =
        Layout::vertical([Constraint::Length(height), Constraint::Min(0)]).areas(area);
    (top, rest)
}
