//! The menu screen: who you are, the menu's keys, the live public rooms, the last word.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};
use streamit_client::protocol::v1::{EntryMode, User};

use super::{bold, dim, split_top};
use crate::app::Menu;
use crate::keys::{BINDINGS, Scope};
use crate::label;

/// Draws the menu.
pub(crate) fn menu(frame: &mut Frame<'_>, menu: &Menu, server: &str, user: Option<&User>) {
    let (top, rest) = split_top(frame.area(), 1);
    let who = match user {
        Some(user) if user.is_guest => {
            format!("signed in as {} (guest)", user.display_name.as_str())
        }
        Some(user) => format!("signed in as {}", user.display_name.as_str()),
        None => "not signed in".to_owned(),
    };
    let title = Line::from(vec![
        bold("StreamIt"),
        Span::raw(format!("  {server}  ")),
        Span::raw(who),
    ]);
    frame.render_widget(Paragraph::new(title), top);

    let [main, status] = Layout::vertical([Constraint::Min(0), Constraint::Length(1)]).areas(rest);
    let [keys, rooms] =
        Layout::horizontal([Constraint::Length(40), Constraint::Min(0)]).areas(main);
    let lines: Vec<Line<'_>> = BINDINGS
        .iter()
        .filter(|binding| binding.scope == Scope::Menu)
        .map(|binding| {
            let keys: Vec<String> = binding.keys.iter().map(|key| key.label()).collect();
            Line::from(vec![
                bold(format!("{:>6} ", keys.join("/"))),
                Span::raw(binding.what),
            ])
        })
        .collect();
    frame.render_widget(
        Paragraph::new(lines).block(Block::bordered().title(" Menu ")),
        keys,
    );

    let lines: Vec<Line<'_>> = if menu.rooms.is_empty() {
        vec![Line::from(dim("no live public rooms (r refreshes)"))]
    } else {
        menu.rooms
            .iter()
            .enumerate()
            .map(|(index, room)| {
                let marker = if index == menu.selected { "> " } else { "  " };
                let lock = if room.entry_mode == EntryMode::Open {
                    ""
                } else {
                    " [password/approval]"
                };
                Line::from(format!(
                    "{marker}{}  {}  ({}, {} watching){lock}  {}",
                    room.code,
                    room.name.as_str(),
                    room.host.display_name.as_str(),
                    room.viewers,
                    label::media(room.media.as_ref()),
                ))
            })
            .collect()
    };
    let block = Block::bordered().title(" Live public rooms (↑/↓, Enter joins) ");
    frame.render_widget(Paragraph::new(lines).block(block), rooms);

    let said = menu
        .status
        .clone()
        .unwrap_or_else(|| "? shows every key".to_owned());
    frame.render_widget(Paragraph::new(Line::from(dim(said))), status);
    if let Some((_, form)) = &menu.form {
        super::form(frame, form);
    }
}
