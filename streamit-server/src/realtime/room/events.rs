//! What each client event does in a live room, and every refusal (PROTOCOL §2).

use std::borrow::Cow;

use streamit_protocol::v1::{
    AuditAction, ChatMessage, ClientEvent, ClientMessage, ClientRef, CloseCode, EmbedOptions,
    ErrorCode, ErrorEvent, HostChanged, LeaveReason, MUTED_FOREVER_MS, MediaChanged, MemberStatus,
    MessageId, Moderation, Playback, PlaybackCause, PlaybackState, PlayerEventKind, Pong,
    RoomUpdate, Seconds, ServerEvent, SyncCorrection, UserId, UserRef,
};
use uuid::Uuid;

use super::super::ConnId;
use super::super::chat_rules::Refusal;
use super::super::playback;
use super::LiveRoom;
use crate::clock::now_ms;
use crate::media;
use crate::progress;

/// A refused request, answered with `ERROR` to its sender only.
struct Refused {
    event: ErrorEvent,
}

impl Refused {
    fn new(code: ErrorCode, message: impl Into<Cow<'static, str>>) -> Self {
        Self {
            event: ErrorEvent::new(code, message.into().into_owned()),
        }
    }

    fn not_host() -> Self {
        Self::new(ErrorCode::NotHost, "only the host may do this")
    }

    fn internal() -> Self {
        Self::new(ErrorCode::Internal, "internal error")
    }
}

type Outcome = Result<(), Refused>;

impl LiveRoom {
    pub(super) async fn client_event(&mut self, conn: ConnId, message: ClientMessage) {
        let Some(user_id) = self.sockets.get(&conn).map(|s| s.user_id) else {
            return;
        };
        let reference = message.reference;
        let outcome = match message.event {
            ClientEvent::Play(data) => {
                self.change_playback(
                    user_id,
                    data.expected_version,
                    PlaybackCause::Play,
                    |p, now| playback::play(p, data.position_ms, now),
                )
                .await
            }
            ClientEvent::Pause(data) => {
                self.change_playback(
                    user_id,
                    data.expected_version,
                    PlaybackCause::Pause,
                    |p, now| playback::pause(p, data.position_ms, now),
                )
                .await
            }
            ClientEvent::Seek(data) => {
                self.change_playback(
                    user_id,
                    data.expected_version,
                    PlaybackCause::Seek,
                    |p, now| playback::seek(p, data.position_ms, now),
                )
                .await
            }
            ClientEvent::SetRate(data) => {
                self.change_playback(
                    user_id,
                    data.expected_version,
                    PlaybackCause::Rate,
                    |p, now| playback::set_rate(p, data.rate, now),
                )
                .await
            }
            ClientEvent::SetMedia(data) => self.set_media(user_id, data.media).await,
            ClientEvent::Chat(data) => self.chat(user_id, data.text).await,
            ClientEvent::SetChatEnabled(data) => self.set_chat_enabled(user_id, data.enabled).await,
            ClientEvent::MuteUser(data) => {
                let until = data.duration_s.map_or(MUTED_FOREVER_MS, |d| {
                    now_ms() + u64::from(d.seconds()) * 1000
                });
                self.mute(
                    user_id,
                    data.user_id,
                    Some(until),
                    data.duration_s.is_some(),
                )
                .await
            }
            ClientEvent::UnmuteUser(data) => self.mute(user_id, data.user_id, None, false).await,
            ClientEvent::KickUser(data) => self.remove(user_id, data.user_id, false).await,
            ClientEvent::BanUser(data) => self.remove(user_id, data.user_id, true).await,
            ClientEvent::TransferHost(data) => self.transfer_host(user_id, data.user_id).await,
            ClientEvent::PlayerEvent(data) => {
                self.save_progress(
                    user_id,
                    data.kind,
                    data.position_ms.get(),
                    data.duration_ms.map(|d| d.get()),
                );
                Ok(())
            }
            ClientEvent::Ping(data) => {
                self.reply(
                    conn,
                    reference.clone(),
                    ServerEvent::Pong(Pong::new(data.client_ts, now_ms())),
                );
                Ok(())
            }
            ClientEvent::SyncCheck(data) => {
                let drift = self.playback.drift_ms(data.position_ms, now_ms());
                let corrected = drift.unsigned_abs() > self.shared.sync_threshold_ms;
                self.shared.metrics.sync_check(drift, corrected);
                if corrected {
                    let correction = SyncCorrection::new(self.playback, drift);
                    self.reply(
                        conn,
                        reference.clone(),
                        ServerEvent::SyncCorrection(correction),
                    );
                }
                Ok(())
            }
            ClientEvent::Resync(_) => self.resync(conn, user_id, reference.clone()).await,
            _ => Err(Refused::new(
                ErrorCode::UnknownEvent,
                "this server does not handle that event",
            )),
        };
        if let Err(refused) = outcome {
            self.reply(conn, reference, ServerEvent::Error(refused.event));
        }
    }

    async fn change_playback(
        &mut self,
        user_id: UserId,
        expected_version: Option<u64>,
        cause: PlaybackCause,
        change: impl FnOnce(&Playback, u64) -> Playback,
    ) -> Outcome {
        if !self.is_host(user_id) {
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
            self.raise_ceilings().await;
        }
        self.playback = change(&self.playback, now_ms());
        self.broadcast(ServerEvent::PlaybackState(PlaybackState::new(
            self.playback,
            cause,
            user_id,
        )))
        .await;
        // Only playback changes are written behind: `seq` cannot go back anyway (the ceilings
        // see to it), and writing it on every join or chat line would cost a write each.
        self.persister.playback(self.playback, self.seq);
        Ok(())
    }

    async fn set_media(
        &mut self,
        user_id: UserId,
        media: streamit_protocol::v1::MediaRef,
    ) -> Outcome {
        if !self.is_host(user_id) {
            return Err(Refused::not_host());
        }
        let embed_url = media::embed_url(&media, &EmbedOptions::default());
        if let Err(error) = self
            .shared
            .store
            .set_media(self.code, &media, &embed_url)
            .await
        {
            tracing::error!(room = %self.code, %error, "saving media failed");
            return Err(Refused::internal());
        }
        self.audit(user_id, AuditAction::SetMedia, None);
        self.room.media = Some(media.clone());
        self.room.embed_url = Some(embed_url.clone());
        self.broadcast(ServerEvent::MediaChanged(MediaChanged::new(
            media, embed_url,
        )))
        .await;
        self.change_playback(user_id, None, PlaybackCause::Media, playback::new_media)
            .await
    }

    async fn chat(&mut self, user_id: UserId, text: streamit_protocol::v1::ChatText) -> Outcome {
        if !self.room.chat_enabled {
            return Err(Refused::new(
                ErrorCode::ChatDisabled,
                "the host turned chat off",
            ));
        }
        let now = now_ms();
        if self.mutes.get(&user_id).is_some_and(|&until| until > now) {
            return Err(Refused::new(ErrorCode::Muted, "the host muted you"));
        }
        match self.guards.entry(user_id).or_default().admit(&text, now) {
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
        let message = ChatMessage::new(MessageId::from_uuid(Uuid::new_v4()), user, text, now);
        self.chat.push_back(message.clone());
        while self.chat.len() > streamit_protocol::v1::CHAT_HISTORY_IN_SNAPSHOT {
            self.chat.pop_front();
        }
        self.persister.chat(message.clone()).await;
        self.broadcast(ServerEvent::ChatMessage(message)).await;
        Ok(())
    }

    async fn set_chat_enabled(&mut self, user_id: UserId, enabled: bool) -> Outcome {
        if !self.is_host(user_id) {
            return Err(Refused::not_host());
        }
        if let Err(error) = self.shared.store.set_chat_enabled(self.code, enabled).await {
            tracing::error!(room = %self.code, %error, "saving chat setting failed");
            return Err(Refused::internal());
        }
        let action = if enabled {
            AuditAction::ChatOn
        } else {
            AuditAction::ChatOff
        };
        self.audit(user_id, action, None);
        self.room.chat_enabled = enabled;
        let mut update = RoomUpdate::default();
        update.chat_enabled = Some(enabled);
        self.broadcast(ServerEvent::RoomUpdated(update)).await;
        Ok(())
    }

    /// The target of a host action: an approved member other than the host.
    async fn target(&self, host: UserId, target: UserId) -> Result<UserRef, Refused> {
        if !self.is_host(host) {
            return Err(Refused::not_host());
        }
        if target == host {
            return Err(Refused::new(
                ErrorCode::InvalidMessage,
                "the host cannot do that to themselves",
            ));
        }
        let not_found = || {
            Refused::new(
                ErrorCode::UserNotFound,
                "that user is not a member of this room",
            )
        };
        match self.shared.store.membership(self.code, target).await {
            Ok(Some(m)) if m.status == MemberStatus::Approved => {}
            Ok(_) => return Err(not_found()),
            Err(error) => {
                tracing::error!(room = %self.code, %error, "reading membership failed");
                return Err(Refused::internal());
            }
        }
        if let Some(user) = self.users.get(&target) {
            return Ok(user.clone());
        }
        match self.shared.store.user(target).await {
            Ok(Some(user)) => Ok(user.to_ref()),
            Ok(None) => Err(not_found()),
            Err(error) => {
                tracing::error!(room = %self.code, %error, "reading user failed");
                Err(Refused::internal())
            }
        }
    }

    async fn mute(
        &mut self,
        host: UserId,
        target: UserId,
        until: Option<u64>,
        timed: bool,
    ) -> Outcome {
        let user = self.target(host, target).await?;
        if let Err(error) = self
            .shared
            .store
            .set_muted_until(self.code, target, until)
            .await
        {
            tracing::error!(room = %self.code, %error, "saving mute failed");
            return Err(Refused::internal());
        }
        let action = if until.is_some() {
            AuditAction::Mute
        } else {
            AuditAction::Unmute
        };
        self.audit(host, action, Some(target));
        let event = match until {
            Some(until) => {
                self.mutes.insert(target, until);
                ServerEvent::UserMuted(Moderation::new(user, timed.then_some(until)))
            }
            None => {
                self.mutes.remove(&target);
                ServerEvent::UserUnmuted(Moderation::new(user, None))
            }
        };
        self.broadcast(event).await;
        Ok(())
    }

    /// Kicks (they may join again) or bans (they may not) a member, closing their sockets.
    async fn remove(&mut self, host: UserId, target: UserId, ban: bool) -> Outcome {
        let user = self.target(host, target).await?;
        let stored = if ban {
            self.shared.store.ban(self.code, target, now_ms()).await
        } else {
            self.shared.store.remove_member(self.code, target).await
        };
        if let Err(error) = stored {
            tracing::error!(room = %self.code, %error, "saving removal failed");
            return Err(Refused::internal());
        }
        let action = if ban {
            AuditAction::Ban
        } else {
            AuditAction::Kick
        };
        self.audit(host, action, Some(target));
        let (event, close, reason) = if ban {
            (
                ServerEvent::UserBanned(Moderation::new(user, None)),
                CloseCode::Banned,
                LeaveReason::Banned,
            )
        } else {
            (
                ServerEvent::UserKicked(Moderation::new(user, None)),
                CloseCode::Kicked,
                LeaveReason::Kicked,
            )
        };
        self.broadcast(event).await;
        self.drop_sockets(|socket| socket.user_id == target, close, reason)
            .await;
        Ok(())
    }

    async fn transfer_host(&mut self, host: UserId, target: UserId) -> Outcome {
        let user = self.target(host, target).await?;
        if !self.online.contains_key(&target) {
            return Err(Refused::new(
                ErrorCode::UserNotFound,
                "the new host must be online",
            ));
        }
        if let Err(error) = self.shared.store.set_host(self.code, target).await {
            tracing::error!(room = %self.code, %error, "saving host failed");
            return Err(Refused::internal());
        }
        self.audit(host, AuditAction::TransferHost, Some(target));
        self.room.host = user.clone();
        self.publish_presence();
        self.broadcast(ServerEvent::HostChanged(HostChanged::new(user)))
            .await;
        Ok(())
    }

    async fn resync(
        &mut self,
        conn: ConnId,
        user_id: UserId,
        reference: Option<ClientRef>,
    ) -> Outcome {
        let participants = match self.shared.store.participants(self.code).await {
            Ok(participants) => participants,
            Err(error) => {
                tracing::error!(room = %self.code, %error, "reading participants failed");
                return Err(Refused::internal());
            }
        };
        let Some(user) = self.users.get(&user_id).cloned() else {
            return Err(Refused::internal());
        };
        let snapshot = self.snapshot(&user, &participants);
        self.reply(
            conn,
            reference,
            ServerEvent::RoomSnapshot(Box::new(snapshot)),
        );
        Ok(())
    }

    /// Saves the member's progress off the room's path; progress never touches playback.
    fn save_progress(
        &self,
        user_id: UserId,
        kind: PlayerEventKind,
        position_ms: u64,
        duration_ms: Option<u64>,
    ) {
        let Some(media) = self.room.media.clone() else {
            return;
        };
        let (Ok(position), duration) = (
            Seconds::new(position_ms as f64 / 1000.0),
            duration_ms.and_then(|d| Seconds::new(d as f64 / 1000.0).ok()),
        ) else {
            return;
        };
        let store = self.shared.store.clone();
        let code = self.code;
        self.shared.tasks.spawn(async move {
            let report = progress::Report {
                user_id,
                room_code: code,
                media: &media,
                position_s: position,
                duration_s: duration,
                ended: kind == PlayerEventKind::Ended,
            };
            if let Err(error) = progress::record(&store, report).await {
                tracing::error!(room = %code, %error, "saving player progress failed");
            }
        });
    }
}
