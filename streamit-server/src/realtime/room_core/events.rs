//! What each client event does in a live room, and every refusal (PROTOCOL §2).

use std::borrow::Cow;

use streamit_protocol::v1::{
    ChatMessage, ChatText, ClientEvent, ClientMessage, ClientRef, EmbedOptions, ErrorCode,
    ErrorEvent, MUTED_FOREVER_MS, MediaChanged, MediaRef, MessageId, Playback, PlaybackCause,
    PlaybackState, PlayerEventKind, Pong, PositionMs, ServerEvent, SyncCorrection, UserId,
};
use uuid::Uuid;

use super::moderation::{MemberAction, Setting};
use super::{Answer, Ask, ConnId, Effect, Persist, ProgressReport, Query, RoomCore, Step, Then};
use crate::media;
use crate::realtime::chat_rules::Refusal;
use crate::realtime::playback;

/// A refused request, answered with `ERROR` to its sender only.
pub(super) struct Refused {
    pub(super) event: ErrorEvent,
}

impl Refused {
    pub(super) fn new(code: ErrorCode, message: impl Into<Cow<'static, str>>) -> Self {
        Self {
            event: ErrorEvent::new(code, message.into().into_owned()),
        }
    }

    pub(super) fn not_host() -> Self {
        Self::new(ErrorCode::NotHost, "only the host may do this")
    }

    pub(super) fn internal() -> Self {
        Self::new(ErrorCode::Internal, "internal error")
    }
}

/// A client event's result: done, refused, or waiting on the store.
pub(super) type Outcome = Result<Option<Ask>, Refused>;

impl RoomCore {
    pub(super) fn client_event(
        &mut self,
        conn: ConnId,
        message: ClientMessage,
        now_ms: u64,
    ) -> Option<Ask> {
        let user_id = self.sockets.get(&conn)?.user_id;
        let reference = message.reference;
        let request = Request {
            conn,
            user_id,
            reference: reference.clone(),
        };
        let outcome = match message.event {
            ClientEvent::Play(data) => {
                let change = |p: &Playback, now| playback::play(p, data.position_ms, now);
                self.change_playback(
                    &request,
                    data.expected_version,
                    PlaybackCause::Play,
                    change,
                    now_ms,
                )
            }
            ClientEvent::Pause(data) => {
                let change = |p: &Playback, now| playback::pause(p, data.position_ms, now);
                self.change_playback(
                    &request,
                    data.expected_version,
                    PlaybackCause::Pause,
                    change,
                    now_ms,
                )
            }
            ClientEvent::Seek(data) => {
                let change = |p: &Playback, now| playback::seek(p, data.position_ms, now);
                self.change_playback(
                    &request,
                    data.expected_version,
                    PlaybackCause::Seek,
                    change,
                    now_ms,
                )
            }
            ClientEvent::SetRate(data) => {
                let change = |p: &Playback, now| playback::set_rate(p, data.rate, now);
                self.change_playback(
                    &request,
                    data.expected_version,
                    PlaybackCause::Rate,
                    change,
                    now_ms,
                )
            }
            ClientEvent::SetMedia(data) => self.set_media(&request, data.media),
            ClientEvent::Chat(data) => self.chat(user_id, data.text, now_ms),
            ClientEvent::SetChatEnabled(data) => {
                self.change_setting(&request, Setting::ChatEnabled(data.enabled))
            }
            ClientEvent::MuteUser(data) => {
                let until = data
                    .duration_s
                    .map_or(MUTED_FOREVER_MS, |d| now_ms + u64::from(d.seconds()) * 1000);
                let timed = data.duration_s.is_some();
                self.moderate(&request, data.user_id, MemberAction::Mute { until, timed })
            }
            ClientEvent::UnmuteUser(data) => {
                self.moderate(&request, data.user_id, MemberAction::Unmute)
            }
            ClientEvent::KickUser(data) => {
                self.moderate(&request, data.user_id, MemberAction::Remove { ban: false })
            }
            ClientEvent::BanUser(data) => {
                self.moderate(&request, data.user_id, MemberAction::Remove { ban: true })
            }
            ClientEvent::TransferHost(data) => {
                self.moderate(&request, data.user_id, MemberAction::TransferHost)
            }
            ClientEvent::PlayerEvent(data) => {
                self.save_progress(
                    user_id,
                    data.kind,
                    data.position_ms.get(),
                    data.duration_ms.map(|d| d.get()),
                );
                Ok(None)
            }
            ClientEvent::Ping(data) => {
                let pong = Pong::new(data.client_ts, now_ms);
                self.reply(conn, reference.clone(), ServerEvent::Pong(pong));
                Ok(None)
            }
            ClientEvent::SyncCheck(data) => {
                self.sync_check(conn, reference.clone(), data.position_ms, now_ms);
                Ok(None)
            }
            ClientEvent::Resync(_) => Ok(Some(Ask {
                query: Query::Participants,
                then: Then(Step::Resync {
                    conn,
                    reference: reference.clone(),
                }),
            })),
            _ => Err(Refused::new(
                ErrorCode::UnknownEvent,
                "this server does not handle that event",
            )),
        };
        outcome.unwrap_or_else(|refused| {
            self.reply(conn, reference, ServerEvent::Error(refused.event));
            None
        })
    }

    pub(super) fn change_playback(
        &mut self,
        request: &Request,
        expected_version: Option<u64>,
        cause: PlaybackCause,
        change: impl FnOnce(&Playback, u64) -> Playback,
        now_ms: u64,
    ) -> Outcome {
        if !self.is_host(request.user_id) {
            return Err(Refused::not_host());
        }
        if expected_version.is_some_and(|v| v != self.playback.version) {
            let mut refused = Refused::new(
                ErrorCode::VersionConflict,
                "playback changed since that version",
            );
            refused.event.current = Some(self.playback);
            return Err(refused);
        }
        if self.playback.version >= self.version_ceiling {
            self.raise_ceilings();
        }
        self.playback = change(&self.playback, now_ms);
        // Stored with the `seq` of its broadcast, which waits for it. Only playback changes
        // carry `seq` to the store: it cannot go back anyway (the ceilings see to it), and
        // writing it on every join or chat line would cost a write each.
        let seq = self.next_seq();
        self.effects.push(Effect::Persist(Persist::Playback {
            playback: self.playback,
            seq,
        }));
        let state = PlaybackState::new(self.playback, cause, request.user_id);
        self.broadcast(ServerEvent::PlaybackState(state), now_ms);
        Ok(None)
    }

    fn set_media(&mut self, request: &Request, media: MediaRef) -> Outcome {
        let embed_url = media::embed_url(&media, &EmbedOptions::default());
        self.change_setting(request, Setting::Media { media, embed_url })
    }

    /// The media is stored: everyone hears of it, and playback starts over, paused.
    pub(super) fn media_set(
        &mut self,
        request: &Request,
        media: MediaRef,
        embed_url: String,
        now_ms: u64,
    ) -> Outcome {
        self.room.media = Some(media.clone());
        self.room.embed_url = Some(embed_url.clone());
        let changed = MediaChanged::new(media, embed_url);
        self.broadcast(ServerEvent::MediaChanged(changed), now_ms);
        self.change_playback(
            request,
            None,
            PlaybackCause::Media,
            playback::new_media,
            now_ms,
        )
    }

    fn chat(&mut self, user_id: UserId, text: ChatText, now_ms: u64) -> Outcome {
        if !self.room.chat_enabled {
            return Err(Refused::new(
                ErrorCode::ChatDisabled,
                "the host turned chat off",
            ));
        }
        if self
            .mutes
            .get(&user_id)
            .is_some_and(|&until| until > now_ms)
        {
            return Err(Refused::new(ErrorCode::Muted, "the host muted you"));
        }
        match self.guards.entry(user_id).or_default().admit(&text, now_ms) {
            Ok(()) => {}
            Err(Refusal::Duplicate) => {
                return Err(Refused::new(
                    ErrorCode::DuplicateMessage,
                    "you just said that",
                ));
            }
            Err(Refusal::RateLimited { retry_after_ms }) => {
                let mut refused = Refused::new(ErrorCode::RateLimited, "slow down");
                refused.event.retry_after_ms = Some(retry_after_ms);
                return Err(refused);
            }
        }
        let Some(user) = self.users.get(&user_id).cloned() else {
            return Err(Refused::internal());
        };
        let message = ChatMessage::new(MessageId::from_uuid(Uuid::new_v4()), user, text, now_ms);
        self.remember_chat(message.clone());
        self.effects
            .push(Effect::Persist(Persist::Chat(message.clone())));
        self.broadcast(ServerEvent::ChatMessage(message), now_ms);
        Ok(None)
    }

    fn sync_check(
        &mut self,
        conn: ConnId,
        reference: Option<ClientRef>,
        position_ms: PositionMs,
        now_ms: u64,
    ) {
        let drift_ms = self.playback.drift_ms(position_ms, now_ms);
        let corrected = drift_ms.unsigned_abs() > self.settings.sync_threshold_ms;
        self.effects.push(Effect::SyncChecked {
            drift_ms,
            corrected,
        });
        if corrected {
            let correction = SyncCorrection::new(self.playback, drift_ms);
            self.reply(conn, reference, ServerEvent::SyncCorrection(correction));
        }
    }

    /// Saves the member's progress off the room's path; progress never touches playback.
    fn save_progress(
        &mut self,
        user_id: UserId,
        kind: PlayerEventKind,
        position_ms: u64,
        duration_ms: Option<u64>,
    ) {
        let Some(media) = self.room.media.clone() else {
            return;
        };
        self.effects.push(Effect::SaveProgress(ProgressReport {
            user_id,
            media,
            position_ms,
            duration_ms,
            ended: kind == PlayerEventKind::Ended,
        }));
    }

    /// Answers `RESYNC` with a fresh snapshot, from the participants the store gave.
    pub(super) fn resynced(&mut self, conn: ConnId, reference: Option<ClientRef>, answer: Answer) {
        let snapshot = match (answer, self.sockets.get(&conn).map(|s| s.user_id)) {
            (Answer::Participants(participants), Some(user_id)) => self
                .users
                .get(&user_id)
                .map(|user| self.snapshot(user, participants.as_deref())),
            _ => None,
        };
        let event = match snapshot {
            Some(snapshot) => ServerEvent::RoomSnapshot(Box::new(snapshot)),
            None => ServerEvent::Error(Refused::internal().event),
        };
        self.reply(conn, reference, event);
    }
}

/// Who sent a client event, and how to answer them.
#[derive(Clone)]
pub(super) struct Request {
    pub(super) conn: ConnId,
    pub(super) user_id: UserId,
    pub(super) reference: Option<ClientRef>,
}
