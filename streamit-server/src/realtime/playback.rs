//! How each host command moves the room's `Playback`, as pure functions of the state and the
//! server time. Every change bumps `version` by one and re-anchors the position at `now`.

use streamit_protocol::v1::{Playback, PositionMs, Rate};

fn anchored(
    current: &Playback,
    playing: bool,
    position_ms: PositionMs,
    rate: Rate,
    now_ms: u64,
) -> Playback {
    Playback::new(playing, position_ms, rate, now_ms, current.version + 1)
}

/// `PLAY`: from `position` or from where the media is.
pub(crate) fn play(current: &Playback, position: Option<PositionMs>, now_ms: u64) -> Playback {
    let from = position.unwrap_or_else(|| current.position_at(now_ms));
    anchored(current, true, from, current.rate, now_ms)
}

/// `PAUSE`: at `position` or where the media is.
pub(crate) fn pause(current: &Playback, position: Option<PositionMs>, now_ms: u64) -> Playback {
    let at = position.unwrap_or_else(|| current.position_at(now_ms));
    anchored(current, false, at, current.rate, now_ms)
}

/// `SEEK`: jump, keeping play or pause.
pub(crate) fn seek(current: &Playback, position: PositionMs, now_ms: u64) -> Playback {
    anchored(current, current.playing, position, current.rate, now_ms)
}

/// `SET_RATE`: the position so far was at the old rate.
pub(crate) fn set_rate(current: &Playback, rate: Rate, now_ms: u64) -> Playback {
    anchored(
        current,
        current.playing,
        current.position_at(now_ms),
        rate,
        now_ms,
    )
}

/// `SET_MEDIA`: new media starts at 0, paused, at normal speed.
pub(crate) fn new_media(current: &Playback, now_ms: u64) -> Playback {
    anchored(current, false, PositionMs::ZERO, Rate::NORMAL, now_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pos(ms: u64) -> PositionMs {
        PositionMs::new(ms).unwrap()
    }

    fn playing() -> Playback {
        Playback::new(true, pos(10_000), Rate::new(2.0).unwrap(), 1_000, 4)
    }

    #[test]
    fn play_and_pause_anchor_where_the_media_is() {
        let paused = pause(&playing(), None, 2_000);
        assert_eq!(
            (
                paused.playing,
                paused.position_ms,
                paused.updated_at_ms,
                paused.version
            ),
            (false, pos(12_000), 2_000, 5)
        );
        let resumed = play(&paused, None, 9_000);
        assert_eq!(
            (resumed.playing, resumed.position_ms, resumed.version),
            (true, pos(12_000), 6)
        );
        assert_eq!(play(&paused, Some(pos(1)), 9_000).position_ms, pos(1));
    }

    #[test]
    fn seek_keeps_play_state_and_rate_changes_keep_position() {
        let sought = seek(&playing(), pos(500), 3_000);
        assert!(sought.playing);
        assert_eq!(sought.position_ms, pos(500));
        let slower = set_rate(&playing(), Rate::new(0.5).unwrap(), 2_000);
        assert_eq!(
            (slower.position_ms, slower.rate.get(), slower.version),
            (pos(12_000), 0.5, 5)
        );
    }

    #[test]
    fn new_media_resets() {
        let reset = new_media(&playing(), 5_000);
        assert_eq!(
            (reset.playing, reset.position_ms, reset.rate, reset.version),
            (false, PositionMs::ZERO, Rate::NORMAL, 5)
        );
    }
}
