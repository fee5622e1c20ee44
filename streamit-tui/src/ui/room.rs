//! The room screen: title and room state, the playback bar, clock and drift, the people, the
//! chat, the notices and the composer (or the keys' hint when it is left).

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};
use streamit_client::RoomView;
use streamit_client::protocol::v1::RoomState;

use super::{bold, dim};
use crate::app::Room;
use crate::app::room::{Link, Person};
use crate::keys::{Action, Scope, keys_of};
use crate::label;

/// Draws the room.
pub(crate) fn room(frame: &mut Frame<'_>, room: &Room) {
    let [title, playback, sync, main, notices, composer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(4),
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(5),
        Constraint::Length(3),
    ])
    .areas(frame.area());
    frame.render_widget(Paragraph::new(title_line(room)), title);
    frame.render_widget(playback_bar(room), playback);
    frame.render_widget(Paragraph::new(sync_line(room)), sync);
    let [people, chat] =
        Layout::horizontal([Constraint::Length(34), Constraint::Min(0)]).areas(main);
    draw_people(frame, room, people);
    draw_chat(frame, room, chat);
    draw_notices(frame, room, notices);
    draw_composer(frame, room, composer);
    if let Some((_, form)) = &room.prompt {
        super::form(frame, form);
    }
}

fn title_line(room: &Room) -> Line<'static> {
    let Some(view) = &room.view else {
        return Line::from(vec![
            bold(format!("Room {}", room.code)),
            Span::raw("  connecting…"),
        ]);
    };
    let mut spans = vec![
        bold(format!("Room {}", room.code)),
        Span::raw(format!(" \"{}\"  ", view.room().name.as_str())),
        bold(state(view, room.server_now_ms)),
    ];
    if view.is_host() {
        spans.push(Span::raw("  you host"));
    }
    if let Some(password) = &room.password {
        spans.push(Span::raw(format!("  password {}", password.as_str())));
    }
    Line::from(spans)
}

/// The room's state, with the grace countdown.
fn state(view: &RoomView, server_now_ms: u64) -> String {
    match view.room().state {
        RoomState::Created => "CREATED (the host is not here yet)".to_owned(),
        RoomState::Live => "LIVE".to_owned(),
        RoomState::Grace => {
            let deadline = view.room().grace_deadline_ms.unwrap_or(server_now_ms);
            format!(
                "GRACE closes in {}",
                label::clock(deadline.saturating_sub(server_now_ms))
            )
        }
        RoomState::Expired => "EXPIRED".to_owned(),
        RoomState::Deleted => "DELETED".to_owned(),
    }
}

fn playback_bar(room: &Room) -> Paragraph<'static> {
    let block = Block::bordered().title(" Playback ");
    let Some(view) = &room.view else {
        return Paragraph::new(dim("waiting for the room")).block(block);
    };
    let playback = view.playback();
    let (position, playing) = room
        .player()
        .unwrap_or((playback.position_ms.get(), playback.playing));
    let rate = playback.rate.get();
    let glyph = if playing { "▶ playing" } else { "⏸ paused" };
    let room_at = label::clock(playback.position_at(room.server_now_ms).get());
    let first = Line::from(vec![
        bold(format!("{glyph}  {}", label::clock(position))),
        Span::raw(format!("  ×{rate:.2}  ")),
        dim(format!("(room at {room_at}, version {})", playback.version)),
    ]);
    let media = label::media(view.room().media.as_ref());
    let embed = view.room().embed_url.clone().unwrap_or_default();
    let second = Line::from(vec![Span::raw(media), Span::raw("  "), dim(embed)]);
    Paragraph::new(vec![first, second]).block(block)
}

fn sync_line(room: &Room) -> Line<'static> {
    let offset = room
        .offset_ms
        .map_or_else(|| "measuring".to_owned(), label::drift);
    let drift = room
        .drift_ms()
        .map_or_else(|| "unknown".to_owned(), label::drift);
    let link = match room.link {
        Link::Connecting => "connecting…".to_owned(),
        Link::Connected => "connected".to_owned(),
        Link::Reconnecting { attempt } => format!("reconnecting (attempt {attempt})"),
        Link::Ended(why) => format!("ended: {why}"),
    };
    Line::from(vec![
        Span::raw(format!(
            "clock offset {offset}  ·  your drift to the room {drift}  ·  "
        )),
        bold(link),
    ])
}

fn draw_people(frame: &mut Frame<'_>, room: &Room, area: Rect) {
    let lines: Vec<Line<'_>> = room
        .people()
        .iter()
        .enumerate()
        .map(|(index, person)| {
            let marker = if index == room.selected && !room.composing {
                ">"
            } else {
                " "
            };
            match person {
                Person::Member(member) => {
                    let mut text = format!(
                        "{marker}{} {}",
                        if member.online { "●" } else { "○" },
                        member.user.display_name.as_str()
                    );
                    if member.is_host {
                        text.push_str(" [host]");
                    }
                    if member.is_muted_at(room.server_now_ms) {
                        text.push_str(" [muted]");
                    }
                    if Some(member.user.id) == room.me {
                        text.push_str(" (you");
                        if let Some(drift) = room.drift_ms() {
                            text.push_str(&format!(" {}", label::drift(drift)));
                        }
                        text.push(')');
                    }
                    Line::from(text)
                }
                Person::Pending(user) => Line::from(format!(
                    "{marker}? {} asks to join",
                    user.display_name.as_str()
                )),
            }
        })
        .collect();
    // The room's count is exact; a big room's list names only some, and may still show
    // people who went unnamed as online.
    let title = match room.view.as_ref() {
        Some(view) if !view.lists_everyone() => {
            format!(" People ({} online, partial) ", view.room().viewers)
        }
        Some(view) => format!(" People ({} online) ", view.room().viewers),
        None => " People ".to_owned(),
    };
    let block = Block::bordered().title(title);
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

fn draw_chat(frame: &mut Frame<'_>, room: &Room, area: Rect) {
    let enabled = room
        .view
        .as_ref()
        .is_none_or(|view| view.room().chat_enabled);
    let title = if enabled { " Chat " } else { " Chat (off) " };
    let block = Block::bordered().title(title);
    let rows = usize::from(block.inner(area).height);
    let lines: Vec<Line<'_>> = room
        .view
        .as_ref()
        .map(|view| {
            let chat = view.chat();
            chat.iter()
                .skip(chat.len().saturating_sub(rows))
                .map(|line| {
                    Line::from(vec![
                        bold(format!("{}: ", line.user.display_name.as_str())),
                        Span::raw(line.text.as_str().to_owned()),
                    ])
                })
                .collect()
        })
        .unwrap_or_default();
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

fn draw_notices(frame: &mut Frame<'_>, room: &Room, area: Rect) {
    let block = Block::bordered().title(" Room events ");
    let rows = usize::from(block.inner(area).height);
    let lines: Vec<Line<'_>> = room
        .notices
        .iter()
        .skip(room.notices.len().saturating_sub(rows))
        .map(|notice| Line::from(notice.as_str()))
        .collect();
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

fn draw_composer(frame: &mut Frame<'_>, room: &Room, area: Rect) {
    let (title, text) = if room.composing {
        let title = format!(
            " Say something ({} sends, {}: keys) ",
            keys_of(Scope::Composer, Action::Send),
            keys_of(Scope::Composer, Action::LeaveComposer)
        );
        (title, format!("> {}_", room.composer))
    } else {
        let mut hint = String::new();
        if room.is_host() && !matches!(room.link, Link::Ended(_)) {
            hint = format!(
                "{} play/pause  {}/{} seek  {} time  {} media  ",
                keys_of(Scope::Host, Action::PlayPause),
                keys_of(Scope::Host, Action::Back),
                keys_of(Scope::Host, Action::Forward),
                keys_of(Scope::Host, Action::GoTo),
                keys_of(Scope::Host, Action::SetMedia),
            );
        }
        let (next, what) = match room.link {
            Link::Ended(_) => (Action::ToMenu, "menu"),
            _ => (Action::Compose, "chat"),
        };
        hint.push_str(&format!(
            "{} {what}  {} all keys  {} quit",
            keys_of(Scope::Room, next),
            keys_of(Scope::Room, Action::Help),
            keys_of(Scope::Room, Action::Quit),
        ));
        (" Keys ".to_owned(), hint)
    };
    frame.render_widget(
        Paragraph::new(text).block(Block::bordered().title(title)),
        area,
    );
}
