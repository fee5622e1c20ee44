//! The thin I/O shell around [`App`]: one `select!` over the terminal's keys, the room
//! session's events, a frame tick and SIGTERM; it carries out the app's [`Command`]s by
//! calling the SDK and feeds the answers back as [`Outcome`]s.

use std::collections::VecDeque;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crossterm::event::{Event, EventStream, KeyEventKind};
use futures_util::StreamExt as _;
use streamit_client::protocol::v1::{
    CreateRoomRequest, PlayerEvent, PlayerEventKind, PublicRoomsQuery, RoomCode, RoomPassword,
};
use streamit_client::sync::ServerTime;
use streamit_client::{JoinOptions, RoomEvent, RoomEvents, RoomSession};
use tokio::signal::unix::{SignalKind, signal};
use tokio::time::MissedTickBehavior;

use crate::account::Account;
use crate::app::{App, Command, Input, Outcome, RoomCommand, Tick};
use crate::failure::Failure;
use crate::terminal::TerminalGuard;
use crate::words;

/// Time between two frames (and two drift-control ticks: the SDK wants 100–250 ms).
const FRAME: Duration = Duration::from_millis(100);

/// Ticks between two checks that the stored login is current (tokens refresh on the way).
const STORE_EVERY_TICKS: u32 = 50;

/// What the program opens with.
#[derive(Debug)]
pub(crate) enum Start {
    /// The menu.
    Menu,
    /// A new room, hosted.
    Host(CreateRoomRequest),
    /// A room by code.
    Watch(RoomCode, Option<RoomPassword>),
}

/// The SDK side of the program: the account and the open room's session.
struct Driver {
    account: Account,
    /// Display name for guest sign-ins.
    name: Option<String>,
    session: Option<RoomSession>,
    events: Option<RoomEvents>,
}

/// Runs the terminal client until the person quits, the terminal fails or SIGTERM comes.
pub(crate) async fn run(
    account: Account,
    name: Option<String>,
    server: &str,
    start: Start,
) -> Result<(), Failure> {
    let mut guard = TerminalGuard::enter()?;
    let mut app = App::new(server);
    let mut driver = Driver {
        account,
        name,
        session: None,
        events: None,
    };
    let mut queue: VecDeque<Input> = driver
        .start(start)
        .await
        .into_iter()
        .map(Input::Done)
        .collect();
    let mut keys = EventStream::new();
    let mut frames = tokio::time::interval(FRAME);
    frames.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut sigterm = signal(SignalKind::terminate())?;
    let mut ticks: u32 = 0;
    loop {
        while let Some(input) = queue.pop_front() {
            match app.handle(input) {
                Some(Command::Quit) => {
                    driver.leave().await;
                    driver.store();
                    return Ok(());
                }
                Some(command) => {
                    queue.extend(driver.execute(command).await.into_iter().map(Input::Done))
                }
                None => {}
            }
        }
        guard.screen().draw(|frame| app.render(frame))?;
        let input = tokio::select! {
            key = keys.next() => match key {
                Some(Ok(Event::Key(key))) if key.kind != KeyEventKind::Release => Input::Key(key),
                Some(Ok(_)) => continue,
                Some(Err(error)) => return Err(error.into()),
                None => return Ok(()),
            },
            event = next_event(&mut driver.events), if driver.events.is_some() => match event {
                Some(event) => Input::Room(event),
                None => {
                    driver.session = None;
                    driver.events = None;
                    Input::Done(Outcome::SessionEnded)
                }
            },
            _ = frames.tick() => {
                ticks = ticks.wrapping_add(1);
                if ticks % STORE_EVERY_TICKS == 0 {
                    driver.store();
                }
                Input::Tick(driver.tick())
            },
            _ = sigterm.recv() => {
                driver.leave().await;
                driver.store();
                return Ok(());
            }
        };
        queue.push_back(input);
    }
}

async fn next_event(events: &mut Option<RoomEvents>) -> Option<RoomEvent> {
    match events {
        Some(events) => events.recv().await,
        None => std::future::pending().await,
    }
}

impl Driver {
    /// Signs in as the start needs: the stored login if any; a guest to host or watch.
    async fn start(&mut self, start: Start) -> Vec<Outcome> {
        let mut outcomes = Vec::new();
        if self.account.is_signed_in() || !matches!(start, Start::Menu) {
            match self.account.sign_in(self.name.as_deref()).await {
                Ok(user) => outcomes.push(Outcome::SignedIn(user)),
                Err(error) => return vec![failed("sign in", &error)],
            }
        }
        match start {
            // The public list needs no login; a signed-in start asks for it on `SignedIn`.
            Start::Menu if outcomes.is_empty() => {
                outcomes.extend(self.execute(Command::ListRooms).await);
            }
            Start::Menu => {}
            Start::Host(request) => outcomes.extend(self.create(request).await),
            Start::Watch(code, password) => outcomes.extend(self.join(code, password).await),
        }
        outcomes
    }

    /// What the clock says now.
    fn tick(&self) -> Tick {
        let server = match &self.session {
            Some(session) => session.server_time(),
            None => ServerTime::exact(
                SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |since| since.as_millis() as u64),
            ),
        };
        Tick {
            now: Instant::now(),
            server,
            offset_ms: self.session.as_ref().and_then(RoomSession::clock_offset_ms),
        }
    }

    /// Writes refreshed tokens to the profile. A failure here must not stop watching; the
    /// next sign-in would ask again.
    fn store(&mut self) {
        let _ = self.account.store();
    }

    async fn leave(&mut self) {
        if let Some(session) = self.session.take() {
            session.close().await;
        }
        self.events = None;
    }

    async fn execute(&mut self, command: Command) -> Vec<Outcome> {
        let outcomes = match command {
            Command::Quit => Vec::new(),
            Command::Guest => vec![match self.account.guest(self.name.as_deref()).await {
                Ok(user) => Outcome::SignedIn(user),
                Err(error) => failed("sign in as a guest", &error),
            }],
            Command::Login { email, password } => {
                let request = streamit_client::protocol::v1::LoginRequest::new(email, password);
                vec![match self.account.client().login(&request).await {
                    Ok(answer) => Outcome::SignedIn(answer.user),
                    Err(error) => failed("log in", &error.into()),
                }]
            }
            Command::ListRooms => {
                let query = PublicRoomsQuery::default();
                vec![match self.account.client().public_rooms(&query).await {
                    Ok(list) => Outcome::Rooms(list.rooms),
                    Err(error) => failed("list the public rooms", &error.into()),
                }]
            }
            Command::Create(request) => match self.ensure_signed_in().await {
                Ok(signed) => signed
                    .into_iter()
                    .chain(self.create(request).await)
                    .collect(),
                Err(failure) => vec![failure],
            },
            Command::Join { code, password } => match self.ensure_signed_in().await {
                Ok(signed) => signed
                    .into_iter()
                    .chain(self.join(code, password).await)
                    .collect(),
                Err(failure) => vec![failure],
            },
            Command::Leave => {
                self.leave().await;
                Vec::new()
            }
            Command::Room(command) => self.room(command).await.into_iter().collect(),
        };
        self.store();
        outcomes
    }

    /// Signs in as a guest when nobody is signed in: the outcome to tell, if any, or the
    /// failure that stops the command.
    async fn ensure_signed_in(&mut self) -> Result<Option<Outcome>, Outcome> {
        if self.account.is_signed_in() {
            return Ok(None);
        }
        match self.account.guest(self.name.as_deref()).await {
            Ok(user) => Ok(Some(Outcome::SignedIn(user))),
            Err(error) => Err(failed("sign in as a guest", &error)),
        }
    }

    async fn create(&mut self, request: CreateRoomRequest) -> Vec<Outcome> {
        let created = match self.account.client().create_room(&request).await {
            Ok(created) => created,
            Err(error) => return vec![failed("create the room", &error.into())],
        };
        let mut outcomes = self.join(created.room.code, request.password).await;
        if let Some(Outcome::Entered { password, .. }) = outcomes.first_mut() {
            *password = created.password.clone().or(password.take());
        }
        outcomes
    }

    async fn join(&mut self, code: RoomCode, password: Option<RoomPassword>) -> Vec<Outcome> {
        self.leave().await;
        let mut options = JoinOptions::new();
        if let Some(password) = &password {
            options = options.password(password.clone());
        }
        match self.account.client().join_room_with(code, options).await {
            Ok((session, events)) => {
                self.session = Some(session);
                self.events = Some(events);
                vec![Outcome::Entered {
                    code,
                    password: None,
                }]
            }
            Err(streamit_client::Error::PendingApproval { .. }) => vec![Outcome::Pending(code)],
            Err(error) => vec![failed("join the room", &error.into())],
        }
    }

    /// Carries out a room action: socket commands through the session, the host's REST
    /// calls (approve, deny, delete) through the client.
    async fn room(&mut self, command: RoomCommand) -> Option<Outcome> {
        let session = self.session.clone()?;
        let client = self.account.client().clone();
        let code = session.code();
        let sent = match command {
            RoomCommand::Approve(user) => {
                return Some(match client.approve(code, user).await {
                    Ok(member) => Outcome::Approved(member),
                    Err(error) => failed("approve", &error.into()),
                });
            }
            RoomCommand::Deny(user) => {
                return Some(match client.deny(code, user).await {
                    Ok(()) => Outcome::Denied(user),
                    Err(error) => failed("deny", &error.into()),
                });
            }
            RoomCommand::Delete => client.delete_room(code).await.map(drop),
            RoomCommand::Progress(position) => {
                let report = PlayerEvent::new(PlayerEventKind::Progress, position, None);
                // A report lost between sockets is replaced by the next one: nothing to tell.
                let _ = session.player_event(report).await;
                return None;
            }
            RoomCommand::Play => session.play(None).await.map(drop),
            RoomCommand::Pause => session.pause(None).await.map(drop),
            RoomCommand::Seek(position) => session.seek(position).await.map(drop),
            RoomCommand::Rate(rate) => session.set_rate(rate).await.map(drop),
            RoomCommand::Media(media) => session.set_media(media).await.map(drop),
            RoomCommand::Chat(text) => session.chat(text).await.map(drop),
            RoomCommand::ChatEnabled(on) => session.set_chat_enabled(on).await.map(drop),
            RoomCommand::Mute(user) => session.mute(user, None).await.map(drop),
            RoomCommand::Unmute(user) => session.unmute(user).await.map(drop),
            RoomCommand::Kick(user) => session.kick(user).await.map(drop),
            RoomCommand::Ban(user) => session.ban(user).await.map(drop),
            RoomCommand::Transfer(user) => session.transfer_host(user).await.map(drop),
        };
        sent.err().map(|error| failed("do that", &error.into()))
    }
}

fn failed(what: &'static str, error: &Failure) -> Outcome {
    Outcome::Failed {
        what,
        why: match error {
            Failure::Sdk(error) => words::sdk_error(error),
            other => other.to_string(),
        },
    }
}
