//! [`Player`]: what drift control needs from a local media player.

use streamit_protocol::v1::Capabilities;

/// A local media player a [`DriftController`](super::DriftController) can keep on the room.
///
/// The trait is synchronous on purpose: real players are driven from an app's own loop (a
/// browser's event loop, a UI thread, a game loop), and the controller only ever needs the
/// player's latest state and a way to queue a command. An asynchronous player (one behind a
/// bridge, an IPC channel or a remote process) wraps itself: keep the last state it reported,
/// extrapolate `position_ms` from that report and its rate, and send the commands to its task
/// without waiting for them.
///
/// Positions are media positions in milliseconds, as in the protocol's `position_ms`.
pub trait Player {
    /// Where the media is now, in ms.
    ///
    /// While a seek is in flight a player may report either the target (as an HTML
    /// `<video>`'s `currentTime` does) or the old position; the controller copes with both.
    fn position_ms(&self) -> u64;

    /// Whether the player is meant to be playing: still `true` while it stalls to buffer, like
    /// an HTML `<video>` that is not `paused`.
    fn is_playing(&self) -> bool;

    /// Whether the player is stalled waiting for data. The controller never corrects a
    /// buffering player (a seek would only restart the wait); the default says it never is.
    fn is_buffering(&self) -> bool {
        false
    }

    /// Starts or resumes playback from the current position.
    fn play(&mut self);

    /// Pauses playback, keeping the position.
    fn pause(&mut self);

    /// Jumps to `position_ms`. It may take effect after a delay (the seek latency), which
    /// the controller measures and compensates.
    fn seek(&mut self, position_ms: u64);

    /// The current playback rate, 1.0 being normal speed. The default is for players
    /// without rate control.
    fn rate(&self) -> f64 {
        1.0
    }

    /// Sets the playback rate; `false` when the player cannot play at exactly this rate
    /// (many embeds only offer a few fixed rates), in which case nothing changed. The
    /// default refuses every rate.
    fn set_rate(&mut self, rate: f64) -> bool {
        let _ = rate;
        false
    }

    /// What the player supports: usually the provider's capabilities from the media embed
    /// answer. Without `seek` the controller only mirrors play/pause and rate; without
    /// `rate` it corrects by seeking.
    fn capabilities(&self) -> Capabilities;
}
