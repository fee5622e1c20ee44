//! The chat rules of PROTOCOL §2 that depend on time, per user and room: the same text within
//! 3 s is a duplicate; more than 5 lines in 3 s earns a 10 s cooldown. Only accepted lines
//! count. (Emptiness and length are the protocol's `ChatText`; chat off and mutes are the
//! room's.)

use std::collections::VecDeque;

use streamit_protocol::v1::ChatText;

/// The window duplicates and bursts are judged over, in ms.
const WINDOW_MS: u64 = 3_000;
/// Lines accepted per window.
const LINES_PER_WINDOW: usize = 5;
/// How long a user who passed the limit waits, in ms.
const COOLDOWN_MS: u64 = 10_000;

/// Why a line was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// The same text within the window.
    Duplicate,
    /// Too many lines; retry after this many ms.
    RateLimited { retry_after_ms: u64 },
}

/// One user's recent lines in one room.
#[derive(Debug, Default)]
pub(crate) struct ChatGuard {
    recent: VecDeque<(u64, ChatText)>,
    cooldown_until_ms: u64,
}

impl ChatGuard {
    /// Judges a line at `now_ms`; an accepted line is remembered.
    pub(crate) fn admit(&mut self, text: &ChatText, now_ms: u64) -> Result<(), Refusal> {
        if now_ms < self.cooldown_until_ms {
            return Err(Refusal::RateLimited {
                retry_after_ms: self.cooldown_until_ms - now_ms,
            });
        }
        while self
            .recent
            .front()
            .is_some_and(|(at, _)| now_ms.saturating_sub(*at) >= WINDOW_MS)
        {
            self.recent.pop_front();
        }
        if self.recent.iter().any(|(_, earlier)| earlier == text) {
            return Err(Refusal::Duplicate);
        }
        if self.recent.len() >= LINES_PER_WINDOW {
            self.cooldown_until_ms = now_ms + COOLDOWN_MS;
            return Err(Refusal::RateLimited {
                retry_after_ms: COOLDOWN_MS,
            });
        }
        self.recent.push_back((now_ms, text.clone()));
        Ok(())
    }

    /// Whether the guard remembers nothing that could refuse a line at `now_ms`.
    pub(crate) fn is_idle(&self, now_ms: u64) -> bool {
        now_ms >= self.cooldown_until_ms
            && self
                .recent
                .back()
                .is_none_or(|(at, _)| now_ms.saturating_sub(*at) >= WINDOW_MS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> ChatText {
        ChatText::new(s).unwrap()
    }

    #[test]
    fn duplicates_within_three_seconds_are_refused() {
        let mut guard = ChatGuard::default();
        assert_eq!(guard.admit(&text("hi"), 0), Ok(()));
        assert_eq!(guard.admit(&text("hi"), 2_999), Err(Refusal::Duplicate));
        assert_eq!(guard.admit(&text("hi"), 3_000), Ok(()));
    }

    #[test]
    fn a_sixth_line_in_three_seconds_starts_a_cooldown() {
        let mut guard = ChatGuard::default();
        for i in 0..5 {
            assert_eq!(guard.admit(&text(&format!("line {i}")), i * 100), Ok(()));
        }
        assert_eq!(
            guard.admit(&text("six"), 500),
            Err(Refusal::RateLimited {
                retry_after_ms: 10_000
            })
        );
        assert_eq!(
            guard.admit(&text("seven"), 4_000),
            Err(Refusal::RateLimited {
                retry_after_ms: 6_500
            })
        );
        assert_eq!(guard.admit(&text("back"), 10_500), Ok(()));
    }

    #[test]
    fn refused_lines_do_not_count() {
        let mut guard = ChatGuard::default();
        assert_eq!(guard.admit(&text("a"), 0), Ok(()));
        for _ in 0..10 {
            assert_eq!(guard.admit(&text("a"), 10), Err(Refusal::Duplicate));
        }
        for (i, line) in ["b", "c", "d", "e"].iter().enumerate() {
            assert_eq!(guard.admit(&text(line), 20 + i as u64), Ok(()));
        }
    }

    #[test]
    fn idle_after_the_window_and_cooldown() {
        let mut guard = ChatGuard::default();
        assert!(guard.is_idle(0));
        guard.admit(&text("a"), 0).unwrap();
        assert!(!guard.is_idle(2_000));
        assert!(guard.is_idle(3_000));
    }
}
