//! The `?` screen: every key of the screen it opens on, straight from the key table, in as
//! many columns as the terminal's height needs.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

use super::bold;
use crate::keys::{BINDINGS, Scope};

/// Draws the keys of `scopes` over whatever is on screen.
pub(crate) fn help(frame: &mut Frame<'_>, scopes: &[Scope]) {
    let area = frame.area();
    frame.render_widget(Clear, area);
    let mut lines = Vec::new();
    for &scope in scopes {
        lines.push(Line::from(bold(scope.title())));
        for binding in BINDINGS.iter().filter(|binding| binding.scope == scope) {
            let keys: Vec<String> = binding.keys.iter().map(|key| key.label()).collect();
            lines.push(Line::from(vec![
                Span::raw(format!("  {:<10}", keys.join(" / "))),
                Span::raw(binding.what),
            ]));
        }
    }
    let block = Block::bordered().title(" Keys (any key closes) ");
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let rows = usize::from(inner.height.max(1));
    let columns: Vec<Vec<Line<'_>>> = lines.chunks(rows).map(<[Line<'_>]>::to_vec).collect();
    let areas = Layout::horizontal(vec![Constraint::Fill(1); columns.len()]).split(inner);
    for (column, area) in columns.into_iter().zip(areas.iter()) {
        frame.render_widget(Paragraph::new(column), *area);
    }
}
