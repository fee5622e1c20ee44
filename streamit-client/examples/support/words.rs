//! Room events and failures in sentences, shared by the `guest` and `host` examples: what an
//! app shows people, rather than `Debug` output.

use std::error::Error;

use streamit_client::protocol::v1::{
    LeaveReason, MediaRef, PlaybackCause, RoomUpdate, ServerEvent, UserId,
};
use streamit_client::{Close, RoomEvent, RoomView};

/// One line about `event`, or `None` when there is nothing to tell. `view` is the room with
/// the event already in it (`None` before the first snapshot); `now_ms` is the server's clock.
pub(crate) fn describe(view: Option<&RoomView>, event: &RoomEvent, now_ms: u64) -> Option<String> {
    match event {
        RoomEvent::Connected => Some("connected".to_owned()),
        RoomEvent::Disconnected { close } => {
            Some(format!("disconnected: {}", closed(close.as_ref())))
        }
        RoomEvent::Reconnecting { attempt, delay } => Some(format!(
            "reconnecting in {:.1} s (attempt {attempt})",
            delay.as_secs_f64()
        )),
        RoomEvent::Lagged { missed } => Some(format!(
            "fell behind and missed {missed} events; catching up from a fresh snapshot"
        )),
        RoomEvent::Malformed { error } => Some(format!("skipped a broken frame: {error}")),
        // Someone already shown as present before a reconnect: nothing new to tell.
        RoomEvent::Rejoined(_) => None,
        RoomEvent::Server(message) => server(view?, &message.event, now_ms),
        _ => None,
    }
}

/// A failure and each of its causes, one per line.
pub(crate) fn report(error: &dyn Error) -> String {
    let mut told = error.to_string();
    let mut cause = error.source();
    while let Some(error) = cause {
        told.push_str(&format!("\n  because: {error}"));
        cause = error.source();
    }
    told
}

/// Why the socket closed, with the code as it came (the protocol asks apps to show codes
/// they do not know).
fn closed(close: Option<&Close>) -> String {
    let Some(close) = close else {
        return "the connection was lost".to_owned();
    };
    let why = close.code.meaning();
    let code = close.code.as_u16();
    // StreamIt servers write the code's name as the reason: only other reasons add anything.
    let named = close
        .code
        .known()
        .is_some_and(|known| close.reason == format!("{known:?}"));
    if close.reason.is_empty() || named {
        format!("{why} (close code {code})")
    } else {
        format!("{why} (close code {code}: \"{}\")", close.reason)
    }
}

fn server(view: &RoomView, event: &ServerEvent, now_ms: u64) -> Option<String> {
    let name = |id: UserId| {
        view.member(id).map_or_else(
            || "someone".to_owned(),
            |member| member.user.display_name.as_str().to_owned(),
        )
    };
    let online = view.members().iter().filter(|m| m.online).count();
    let told = match event {
        ServerEvent::RoomSnapshot(_) => snapshot(view, now_ms),
        ServerEvent::RoomResumed(resumed) => {
            format!("caught up: {} missed events follow", resumed.replayed)
        }
        ServerEvent::PlaybackState(state) => {
            let playback = &state.playback;
            let what = match state.cause {
                PlaybackCause::Play => format!("played from {}", clock(playback.position_ms.get())),
                PlaybackCause::Pause => format!("paused at {}", clock(playback.position_ms.get())),
                PlaybackCause::Seek => format!("jumped to {}", clock(playback.position_ms.get())),
                PlaybackCause::Rate => format!("set the speed to {}×", playback.rate.get()),
                PlaybackCause::Media => "loaded the new media, paused at the start".to_owned(),
            };
            format!("{} {what}", name(state.by))
        }
        ServerEvent::ChatMessage(line) => {
            format!(
                "<{}> {}",
                line.user.display_name.as_str(),
                line.text.as_str()
            )
        }
        ServerEvent::UserJoined(joined) => format!(
            "{} joined ({} online)",
            joined.user.display_name.as_str(),
            joined.viewers
        ),
        ServerEvent::UserLeft(left) => format!(
            "{} {} ({} online)",
            left.user.display_name.as_str(),
            left_words(left.reason),
            left.viewers
        ),
        ServerEvent::PresenceChanged(changed) => format!(
            "{} came, {} went ({} online)",
            changed.joined_count(),
            changed.left_count(),
            changed.viewers
        ),
        ServerEvent::HostDisconnected(grace) => format!(
            "the host left: the room closes in {} s unless they come back",
            grace.grace_seconds
        ),
        ServerEvent::HostReconnected(_) => "the host is back".to_owned(),
        ServerEvent::RoomExpired(_) => "the room expired: the host did not come back".to_owned(),
        ServerEvent::RoomDeleted(_) => "the host closed the room".to_owned(),
        ServerEvent::RoomUpdated(update) => return updated(update),
        ServerEvent::MediaChanged(changed) => format!("now showing {}", media(&changed.media)),
        ServerEvent::HostChanged(changed) => format!(
            "{} hosts the room now{}",
            changed.host.display_name.as_str(),
            if view.is_host() { " (you)" } else { "" }
        ),
        ServerEvent::UserMuted(muted) => match muted.until_ms {
            Some(until) => format!(
                "{} is muted for {} s",
                muted.user.display_name.as_str(),
                until.saturating_sub(now_ms).div_ceil(1000)
            ),
            None => format!("{} is muted", muted.user.display_name.as_str()),
        },
        ServerEvent::UserUnmuted(unmuted) => {
            format!("{} can chat again", unmuted.user.display_name.as_str())
        }
        ServerEvent::UserKicked(kicked) => {
            format!(
                "{} was kicked by the host",
                kicked.user.display_name.as_str()
            )
        }
        ServerEvent::UserBanned(banned) => {
            format!(
                "{} was banned by the host",
                banned.user.display_name.as_str()
            )
        }
        ServerEvent::JoinRequested(asked) => {
            format!("{} asks to join", asked.user.display_name.as_str())
        }
        ServerEvent::SyncCorrection(correction) => format!(
            "out of step by {} ms: the room is at {}",
            correction.drift_ms,
            clock(correction.playback.position_at(now_ms).get())
        ),
        ServerEvent::Error(error) => {
            format!("the server refused: {} ({})", error.message, error.code)
        }
        // Replies to the app's own pings; the session keeps the clock from them.
        ServerEvent::Pong(_) => return None,
        other => format!(
            "the server sent {}, an event this client does not know ({online} online)",
            other.event_type()
        ),
    };
    Some(told)
}

/// The room as a snapshot shows it, in one line.
fn snapshot(view: &RoomView, now_ms: u64) -> String {
    let room = view.room();
    let online = view.members().iter().filter(|m| m.online).count();
    let host = if view.is_host() {
        "you".to_owned()
    } else {
        room.host.display_name.as_str().to_owned()
    };
    let showing = match &room.media {
        None => "nothing picked yet".to_owned(),
        Some(showing) => {
            let playback = view.playback();
            let state = if playback.playing {
                "playing"
            } else {
                "paused"
            };
            let at = clock(playback.position_at(now_ms).get());
            format!("{} ({state} at {at})", media(showing))
        }
    };
    format!(
        "in room \"{}\" ({}), hosted by {host}: {online} of {} members online; {showing}",
        room.name.as_str(),
        room.code,
        view.members().len()
    )
}

fn updated(update: &RoomUpdate) -> Option<String> {
    let mut changes = Vec::new();
    if let Some(name) = &update.name {
        changes.push(format!("the room is called \"{}\"", name.as_str()));
    }
    if let Some(enabled) = update.chat_enabled {
        changes.push(format!("chat is {}", if enabled { "on" } else { "off" }));
    }
    if let Some(private) = update.is_private {
        changes.push(format!(
            "the room is {}",
            if private { "private" } else { "listed" }
        ));
    }
    (!changes.is_empty()).then(|| changes.join(", "))
}

fn left_words(reason: LeaveReason) -> &'static str {
    match reason {
        LeaveReason::Left => "left",
        LeaveReason::Timeout => "timed out",
        LeaveReason::Kicked => "was kicked",
        LeaveReason::Banned => "was banned",
    }
}

fn media(media: &MediaRef) -> String {
    match media {
        MediaRef::VidkingMovie { id } => format!("movie {} (Vidking)", id.as_str()),
        MediaRef::VidkingTv {
            id,
            season,
            episode,
        } => format!("show {} S{season}E{episode} (Vidking)", id.as_str()),
        MediaRef::Youtube { id } => format!("YouTube video {}", id.as_str()),
        MediaRef::Url { url } => url.as_str().to_owned(),
        other => format!("{} {}", other.kind().as_str(), other.id()),
    }
}

/// A position as `m:ss`, or `h:mm:ss` past the hour.
fn clock(ms: u64) -> String {
    let s = ms / 1000;
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{}:{:02}", s / 60, s % 60)
    }
}
