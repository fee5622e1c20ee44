//! The room lifecycle as a pure state machine:
//! `CREATED → LIVE` (host connects) `→ GRACE` (host's last socket goes) `→ LIVE` (host back in
//! time) or `→ EXPIRED` (deadline passed); `DELETED` from any state but `EXPIRED`.
//! `EXPIRED` and `DELETED` are final.
//!
//! Everything that moves a room asks [`next`]; the store's compare-and-set uses [`sources`], so
//! the database can never take a transition this table refuses.

use streamit_protocol::v1::RoomState;

/// What can happen to a room.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Event {
    /// The host's first live socket connected.
    HostConnected,
    /// The host's last live socket went.
    HostLeft,
    /// The grace deadline passed.
    GraceExpired,
    /// The host deleted the room.
    Deleted,
}

/// A transition the lifecycle does not allow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("a {state:?} room cannot take {event:?}")]
pub(crate) struct Refused {
    pub(crate) state: RoomState,
    pub(crate) event: Event,
}

/// Every state a room can be in.
pub(crate) const STATES: [RoomState; 5] = [
    RoomState::Created,
    RoomState::Live,
    RoomState::Grace,
    RoomState::Expired,
    RoomState::Deleted,
];

/// The state after `event`, or why it cannot happen.
pub(crate) fn next(state: RoomState, event: Event) -> Result<RoomState, Refused> {
    use RoomState::{Created, Deleted, Expired, Grace, Live};
    match (state, event) {
        (Created | Grace, Event::HostConnected) => Ok(Live),
        (Live, Event::HostLeft) => Ok(Grace),
        (Grace, Event::GraceExpired) => Ok(Expired),
        (Created | Live | Grace, Event::Deleted) => Ok(Deleted),
        _ => Err(Refused { state, event }),
    }
}

/// When a room that goes into grace at `now_ms` expires.
pub(crate) fn grace_deadline(now_ms: u64, grace_seconds: u32) -> u64 {
    now_ms + u64::from(grace_seconds) * 1000
}

/// Every state `event` may start from.
pub(crate) fn sources(event: Event) -> Vec<RoomState> {
    STATES
        .into_iter()
        .filter(|&state| next(state, event).is_ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use RoomState::{Created, Deleted, Expired, Grace, Live};

    #[test]
    fn every_transition_allowed_and_refused() {
        use Event::*;
        let table: [(RoomState, Event, Option<RoomState>); 20] = [
            (Created, HostConnected, Some(Live)),
            (Created, HostLeft, None),
            (Created, GraceExpired, None),
            (Created, Deleted, Some(RoomState::Deleted)),
            (Live, HostConnected, None),
            (Live, HostLeft, Some(Grace)),
            (Live, GraceExpired, None),
            (Live, Deleted, Some(RoomState::Deleted)),
            (Grace, HostConnected, Some(Live)),
            (Grace, HostLeft, None),
            (Grace, GraceExpired, Some(Expired)),
            (Grace, Deleted, Some(RoomState::Deleted)),
            (Expired, HostConnected, None),
            (Expired, HostLeft, None),
            (Expired, GraceExpired, None),
            (Expired, Deleted, None),
            (RoomState::Deleted, HostConnected, None),
            (RoomState::Deleted, HostLeft, None),
            (RoomState::Deleted, GraceExpired, None),
            (RoomState::Deleted, Deleted, None),
        ];
        for (state, event, expected) in table {
            match expected {
                Some(after) => assert_eq!(next(state, event), Ok(after), "{state:?} + {event:?}"),
                None => assert_eq!(next(state, event), Err(Refused { state, event })),
            }
        }
    }

    #[test]
    fn final_states_never_move() {
        for event in [
            Event::HostConnected,
            Event::HostLeft,
            Event::GraceExpired,
            Event::Deleted,
        ] {
            assert!(!sources(event).contains(&Expired));
            assert!(!sources(event).contains(&Deleted));
        }
        assert_eq!(sources(Event::Deleted), vec![Created, Live, Grace]);
        assert_eq!(sources(Event::HostConnected), vec![Created, Grace]);
    }
}
