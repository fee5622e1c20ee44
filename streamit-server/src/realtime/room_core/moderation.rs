//! Host actions the store must hold before the room follows: the media, chat on or off, and
//! muting, kicking, banning or handing the host role to a member. Each checks authority here,
//! asks the store (for a member: who they are, then the write), and only then changes the room.

use streamit_protocol::v1::{
    AuditAction, CloseCode, ErrorCode, HostChanged, LeaveReason, MediaRef, MemberStatus,
    Moderation, RoomUpdate, ServerEvent, UserId, UserRef,
};

use super::events::{Outcome, Refused, Request};
use super::{Answer, Ask, Query, RoomCore, Step, Then, Write};

/// A change to the room's settings.
pub(super) enum Setting {
    Media { media: MediaRef, embed_url: String },
    ChatEnabled(bool),
}

/// Something the host does to a member.
#[derive(Clone, Copy)]
pub(super) enum MemberAction {
    Mute {
        until: u64,
        timed: bool,
    },
    Unmute,
    /// Kick (they may join again) or ban (they may not).
    Remove {
        ban: bool,
    },
    TransferHost,
}

/// A host action waiting on the store.
pub(super) enum Pending {
    /// The setting's write.
    Setting { request: Request, setting: Setting },
    Member {
        request: Request,
        target: UserId,
        action: MemberAction,
        stage: Stage,
    },
}

/// What the store was asked about a member action.
pub(super) enum Stage {
    /// Is the target an approved member?
    Membership,
    /// Who is the target (not in the room now)?
    User,
    /// The write, for this member.
    Write(UserRef),
}

fn not_a_member() -> Refused {
    Refused::new(
        ErrorCode::UserNotFound,
        "that user is not a member of this room",
    )
}

fn ask(query: Query, pending: Pending) -> Ask {
    Ask {
        query,
        then: Then(Step::Moderation(pending)),
    }
}

impl Setting {
    fn write(&self) -> Write {
        match self {
            Self::Media { media, embed_url } => Write::Media {
                media: media.clone(),
                embed_url: embed_url.clone(),
            },
            Self::ChatEnabled(enabled) => Write::ChatEnabled(*enabled),
        }
    }
}

impl MemberAction {
    fn write(self, user: UserId) -> Write {
        match self {
            Self::Mute { until, .. } => Write::MutedUntil {
                user,
                until: Some(until),
            },
            Self::Unmute => Write::MutedUntil { user, until: None },
            Self::Remove { ban: false } => Write::RemoveMember(user),
            Self::Remove { ban: true } => Write::Ban(user),
            Self::TransferHost => Write::Host(user),
        }
    }
}

impl RoomCore {
    /// Changes a setting once the store holds it.
    pub(super) fn change_setting(&mut self, request: &Request, setting: Setting) -> Outcome {
        if !self.is_host(request.user_id) {
            return Err(Refused::not_host());
        }
        let query = Query::Write(setting.write());
        let request = request.clone();
        Ok(Some(ask(query, Pending::Setting { request, setting })))
    }

    /// Acts on a member: authority first, then the store.
    pub(super) fn moderate(
        &mut self,
        request: &Request,
        target: UserId,
        action: MemberAction,
    ) -> Outcome {
        if !self.is_host(request.user_id) {
            return Err(Refused::not_host());
        }
        if target == request.user_id {
            return Err(Refused::new(
                ErrorCode::InvalidMessage,
                "the host cannot do that to themselves",
            ));
        }
        let pending = Pending::Member {
            request: request.clone(),
            target,
            action,
            stage: Stage::Membership,
        };
        Ok(Some(ask(Query::Membership(target), pending)))
    }

    /// Carries a host action on with the store's answer.
    pub(super) fn resume_moderation(
        &mut self,
        pending: Pending,
        answer: Answer,
        now_ms: u64,
    ) -> Option<Ask> {
        let (outcome, request) = match pending {
            Pending::Setting { request, setting } => {
                let outcome = match answer {
                    Answer::Written => self.setting_changed(&request, setting, now_ms),
                    _ => Err(Refused::internal()),
                };
                (outcome, request)
            }
            Pending::Member {
                request,
                target,
                action,
                stage,
            } => {
                let outcome = self.member_step(&request, target, action, stage, answer, now_ms);
                (outcome, request)
            }
        };
        outcome.unwrap_or_else(|refused| {
            self.reply(
                request.conn,
                request.reference,
                ServerEvent::Error(refused.event),
            );
            None
        })
    }

    fn member_step(
        &mut self,
        request: &Request,
        target: UserId,
        action: MemberAction,
        stage: Stage,
        answer: Answer,
        now_ms: u64,
    ) -> Outcome {
        let next = |stage| Pending::Member {
            request: request.clone(),
            target,
            action,
            stage,
        };
        match (stage, answer) {
            (Stage::Membership, Answer::Membership(Some(MemberStatus::Approved))) => {
                match self.users.get(&target).cloned() {
                    Some(user) => self.checked_member(user, action, next),
                    None => Ok(Some(ask(Query::User(target), next(Stage::User)))),
                }
            }
            (Stage::Membership, Answer::Membership(_)) | (Stage::User, Answer::User(None)) => {
                Err(not_a_member())
            }
            (Stage::User, Answer::User(Some(user))) => self.checked_member(user, action, next),
            (Stage::Write(user), Answer::Written) => {
                self.member_changed(request.user_id, user, action, now_ms)
            }
            _ => Err(Refused::internal()),
        }
    }

    /// The target is an approved member: the last check, then the write.
    fn checked_member(
        &self,
        user: UserRef,
        action: MemberAction,
        next: impl FnOnce(Stage) -> Pending,
    ) -> Outcome {
        if matches!(action, MemberAction::TransferHost) && !self.online.contains_key(&user.id) {
            return Err(Refused::new(
                ErrorCode::UserNotFound,
                "the new host must be online",
            ));
        }
        let query = Query::Write(action.write(user.id));
        Ok(Some(ask(query, next(Stage::Write(user)))))
    }

    /// The store holds the setting: the room follows and everyone hears of it.
    fn setting_changed(&mut self, request: &Request, setting: Setting, now_ms: u64) -> Outcome {
        match setting {
            Setting::Media { media, embed_url } => {
                self.audit(request.user_id, AuditAction::SetMedia, None);
                self.media_set(request, media, embed_url, now_ms)
            }
            Setting::ChatEnabled(enabled) => {
                let audited = if enabled {
                    AuditAction::ChatOn
                } else {
                    AuditAction::ChatOff
                };
                self.audit(request.user_id, audited, None);
                self.room.chat_enabled = enabled;
                let mut update = RoomUpdate::default();
                update.chat_enabled = Some(enabled);
                self.broadcast(ServerEvent::RoomUpdated(update), now_ms);
                Ok(None)
            }
        }
    }

    /// The store holds the member action: the room follows and everyone hears of it.
    fn member_changed(
        &mut self,
        host: UserId,
        user: UserRef,
        action: MemberAction,
        now_ms: u64,
    ) -> Outcome {
        let target = user.id;
        match action {
            MemberAction::Mute { until, timed } => {
                self.audit(host, AuditAction::Mute, Some(target));
                self.mutes.insert(target, until);
                let muted = Moderation::new(user, timed.then_some(until));
                self.broadcast(ServerEvent::UserMuted(muted), now_ms);
                Ok(None)
            }
            MemberAction::Unmute => {
                self.audit(host, AuditAction::Unmute, Some(target));
                self.mutes.remove(&target);
                let unmuted = Moderation::new(user, None);
                self.broadcast(ServerEvent::UserUnmuted(unmuted), now_ms);
                Ok(None)
            }
            MemberAction::Remove { ban } => {
                let moderation = Moderation::new(user, None);
                let (audited, event, close, reason) = if ban {
                    let event = ServerEvent::UserBanned(moderation);
                    (
                        AuditAction::Ban,
                        event,
                        CloseCode::Banned,
                        LeaveReason::Banned,
                    )
                } else {
                    let event = ServerEvent::UserKicked(moderation);
                    (
                        AuditAction::Kick,
                        event,
                        CloseCode::Kicked,
                        LeaveReason::Kicked,
                    )
                };
                self.audit(host, audited, Some(target));
                self.broadcast(event, now_ms);
                let of_target = |_, socket: &super::Socket| socket.user_id == target;
                Ok(self.drop_sockets(of_target, close, reason, now_ms))
            }
            MemberAction::TransferHost => {
                self.audit(host, AuditAction::TransferHost, Some(target));
                self.room.host = user.clone();
                self.publish_presence();
                self.broadcast(ServerEvent::HostChanged(HostChanged::new(user)), now_ms);
                Ok(None)
            }
        }
    }
}
