//! Room events in words, for the room's notice pane: who came and went, what the host did,
//! grace and expiry, refusals, reconnects.

use streamit_client::protocol::v1::{LeaveReason, PlaybackCause, ServerEvent, UserId, UserRef};
use streamit_client::{RoomEvent, RoomView};

use crate::{label, words};

/// What to tell about `event`, if anything. `view` is the room with the event already in it.
pub(crate) fn describe(
    event: &RoomEvent,
    view: Option<&RoomView>,
    me: Option<UserId>,
) -> Option<String> {
    match event {
        RoomEvent::Connected => Some("connected".to_owned()),
        RoomEvent::Disconnected { close } => {
            let code = close.as_ref().map(|close| close.code);
            let mut told = format!("disconnected: {}", words::close_code(code));
            // The words cannot name a code they do not know: show it as it came.
            if let Some(close) = close.as_ref().filter(|close| close.code.known().is_none()) {
                told.push_str(&format!(" ({close})"));
            }
            Some(told)
        }
        RoomEvent::Reconnecting { attempt, delay } => Some(format!(
            "reconnecting in {:.1} s (attempt {attempt})",
            delay.as_secs_f64()
        )),
        RoomEvent::Lagged { missed } => Some(format!("missed {missed} events; catching up")),
        RoomEvent::Malformed { .. } | RoomEvent::Rejoined(_) => None,
        RoomEvent::Server(message) => server(&message.event, view, me),
        _ => None,
    }
}

fn server(event: &ServerEvent, view: Option<&RoomView>, me: Option<UserId>) -> Option<String> {
    let name = |id: UserId| -> String {
        view.and_then(|view| view.member(id)).map_or_else(
            || "someone".to_owned(),
            |m| m.user.display_name.as_str().to_owned(),
        )
    };
    let told = match event {
        ServerEvent::UserJoined(joined) if Some(joined.user.id) != me => {
            format!("{} joined", joined.user.display_name.as_str())
        }
        ServerEvent::UserLeft(left) => match left.reason {
            // USER_KICKED and USER_BANNED tell those.
            LeaveReason::Kicked | LeaveReason::Banned => return None,
            LeaveReason::Timeout => format!("{} timed out", left.user.display_name.as_str()),
            _ => format!("{} left", left.user.display_name.as_str()),
        },
        ServerEvent::HostDisconnected(grace) => format!(
            "the host left: the room closes in {} s unless they come back",
            grace.grace_seconds
        ),
        ServerEvent::HostReconnected(_) => "the host is back".to_owned(),
        ServerEvent::RoomExpired(_) => "the room expired: the host did not come back".to_owned(),
        ServerEvent::RoomDeleted(_) => "the host deleted the room".to_owned(),
        ServerEvent::RoomUpdated(update) => match update.chat_enabled {
            Some(true) => "the host turned chat on".to_owned(),
            Some(false) => "the host turned chat off".to_owned(),
            None => return None,
        },
        ServerEvent::MediaChanged(changed) => {
            format!("now playing {}", label::media(Some(&changed.media)))
        }
        ServerEvent::HostChanged(changed) if Some(changed.host.id) == me => {
            "you are the host now".to_owned()
        }
        ServerEvent::HostChanged(changed) => {
            format!("{} is the host now", changed.host.display_name.as_str())
        }
        ServerEvent::UserMuted(muted) => format!("{} muted", was(&muted.user, me)),
        ServerEvent::UserUnmuted(unmuted) => format!("{} unmuted", was(&unmuted.user, me)),
        ServerEvent::UserKicked(removed) => format!("{} kicked", was(&removed.user, me)),
        ServerEvent::UserBanned(removed) => format!("{} banned", was(&removed.user, me)),
        ServerEvent::JoinRequested(request) => format!(
            "{} asks to join (a approves, d denies)",
            request.user.display_name.as_str()
        ),
        ServerEvent::PlaybackState(state) => {
            let at = label::clock(state.playback.position_ms.get());
            let what = match state.cause {
                PlaybackCause::Play => format!("played from {at}"),
                PlaybackCause::Pause => format!("paused at {at}"),
                PlaybackCause::Seek => format!("jumped to {at}"),
                PlaybackCause::Rate => format!("set the rate to ×{}", state.playback.rate.get()),
                _ => return None,
            };
            format!("{} {what}", name(state.by))
        }
        ServerEvent::Error(error) => {
            format!(
                "refused: {} ({})",
                words::error_code(error.code),
                error.code
            )
        }
        _ => return None,
    };
    Some(told)
}

/// `you were` for this client's user, `Name was` for anyone else.
fn was(user: &UserRef, me: Option<UserId>) -> String {
    if Some(user.id) == me {
        "you were".to_owned()
    } else {
        format!("{} was", user.display_name.as_str())
    }
}
