//! [`ServerTime`]: one reading of the session's estimate of the server's clock.

/// Server time now as a session estimates it, with what drift control needs to tell a clock
/// correction from a player that runs fast or slow.
///
/// From [`RoomSession::server_time`](crate::RoomSession::server_time); an app with a clock
/// of its own that is never corrected uses [`ServerTime::exact`].
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub struct ServerTime {
    /// Server clock now, Unix epoch ms, with the fraction.
    pub ms: f64,
    /// The sum of every correction the clock sync has made to its offset so far, ms: `ms −
    /// corrected_ms` runs smoothly at the local clock's measured rate, so a correction (a
    /// better estimate slewed in, a step) re-anchors the room's timeline instead of looking
    /// like the media gaining or losing time.
    pub corrected_ms: f64,
}

impl ServerTime {
    /// A reading of `ms` (server time, Unix epoch ms) after `corrected_ms` of corrections.
    pub fn new(ms: f64, corrected_ms: f64) -> Self {
        Self { ms, corrected_ms }
    }

    /// A reading from a clock that is never corrected.
    pub fn exact(ms: u64) -> Self {
        Self::new(ms as f64, 0.0)
    }

    /// Server time, whole ms (rounded down), as the protocol's maths takes it.
    pub fn whole_ms(&self) -> u64 {
        self.ms.max(0.0) as u64
    }

    /// The reading on the smooth timeline: server time without the corrections, ms.
    pub(crate) fn smooth_ms(&self) -> f64 {
        self.ms - self.corrected_ms
    }
}
