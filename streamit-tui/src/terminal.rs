//! The terminal, borrowed and always given back: raw mode and the alternate screen while
//! [`TerminalGuard`] lives, restored when it drops (quit, error), from a panic hook (a panic
//! unwinds past the screen otherwise unreadable) and by the driver on SIGTERM.

use std::io::{self, Stdout};
use std::sync::Once;

use crossterm::cursor::Show;
use crossterm::execute;
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

/// The terminal ratatui draws on.
pub(crate) type Screen = Terminal<CrosstermBackend<Stdout>>;

/// Holds the terminal in raw mode on the alternate screen; gives it back on drop.
pub(crate) struct TerminalGuard {
    terminal: Screen,
}

impl TerminalGuard {
    /// Takes the terminal over.
    pub(crate) fn enter() -> io::Result<Self> {
        install_panic_hook();
        enable_raw_mode()?;
        let taken = execute!(io::stdout(), EnterAlternateScreen)
            .and_then(|()| Terminal::new(CrosstermBackend::new(io::stdout())));
        match taken {
            Ok(terminal) => Ok(Self { terminal }),
            Err(error) => {
                restore();
                Err(error)
            }
        }
    }

    /// The terminal, to draw on.
    pub(crate) fn screen(&mut self) -> &mut Screen {
        &mut self.terminal
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore();
    }
}

/// Leaves raw mode and the alternate screen and shows the cursor; harmless when the terminal
/// is already restored, so every exit path may call it.
fn restore() {
    let _ = disable_raw_mode();
    let _ = execute!(io::stdout(), LeaveAlternateScreen, Show);
}

/// Restores the terminal before the default hook prints the panic, so the message is seen.
fn install_panic_hook() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            previous(info);
        }));
    });
}
