//! The StreamIt SDK: what third-party Rust clients, the terminal client and the load bots
//! build on. It carries the hard parts of a watch-together client once, for everyone.
//!
//! - [`Client`]: typed async calls for every HTTP endpoint of protocol v1, with tokens kept
//!   and refreshed for you; [`Client::with_identity`] gives another user on the same
//!   connection pool (load bots run thousands);
//! - [`RoomSession`] and [`RoomEvents`]: a room's WebSocket behind a cheap-clone handle and a
//!   stream of [`RoomEvent`]s; a background task reconnects with capped backoff and jitter,
//!   refreshes the token, resyncs on a `seq` gap, and keeps an estimate of the server's
//!   clock from `PING`/`PONG` ([`ClockEstimate`], [`RoomSession::server_time`]);
//! - [`RoomView`]: the room as a member sees it (members with their marks, chat, playback,
//!   join requests), folded from those events by one pure function, for apps to show or
//!   check;
//! - [`sync`]: drift control for a local player behind the [`sync::Player`] trait, the
//!   [`sync::SimulatedPlayer`] tests, the TUI and the bots use, and [`sync::sim`], a whole
//!   room behind a simulated network in virtual time, measured against the truth;
//! - `netem` (feature `netem`): a loopback TCP proxy with latency, jitter and loss, to run
//!   a real client and server under network conditions;
//!
//! Modules: `error` (the one [`Error`]), `http` (one call: build, send, read the answer or
//! the error body), `auth` (an identity's tokens, bearer and refresh; all a session needs of
//! a client), `client` (REST endpoints and the builder), `session` (the room socket, its
//! task, clock sync and backoff), `view` (the room model and its chat history), `sync`
//! (players, drift control and the simulation), `netem` (network conditions on loopback).
//!
//! # Quick start
//!
//! Sign in as a guest, create a room, join it live and read what happens in it:
//!
//! ```no_run
//! use streamit_client::protocol::v1::{
//!     ChatText, CreateRoomRequest, DisplayName, EntryMode, RoomName, ServerEvent,
//! };
//! use streamit_client::{Client, RoomEvent};
//!
//! # async fn quick_start() -> Result<(), Box<dyn std::error::Error>> {
//! let client = Client::builder("http://127.0.0.1:8000").build()?;
//! client.guest(Some(DisplayName::new("Ada")?)).await?;
//!
//! let request = CreateRoomRequest::default()
//!     .with_name(RoomName::new("Movie night")?)
//!     .with_entry_mode(EntryMode::Open);
//! let room = client.create_room(&request).await?.room;
//! println!("room {} is open: share its code", room.code);
//!
//! // The session reconnects by itself; the stream ends after a close it cannot recover from.
//! let (session, mut events) = client.join_room(room.code).await?;
//! while let Some(event) = events.recv().await {
//!     match &event {
//!         RoomEvent::Connected => {
//!             session.chat(ChatText::new("hello, room")?).await?;
//!         }
//!         RoomEvent::Disconnected { close: Some(close) } => {
//!             // Unknown codes arrive too, with their number: show them as they came.
//!             println!("the server closed the room's socket: {close}");
//!         }
//!         RoomEvent::Disconnected { close: None } => println!("the connection was lost"),
//!         RoomEvent::Reconnecting { attempt, delay } => {
//!             println!("reconnecting in {delay:?} (attempt {attempt})");
//!         }
//!         _ => match event.server_event() {
//!             Some(ServerEvent::UserJoined(joined)) => {
//!                 println!("{} joined", joined.user.display_name.as_str());
//!             }
//!             Some(ServerEvent::ChatMessage(line)) => {
//!                 println!("<{}> {}", line.user.display_name.as_str(), line.text.as_str());
//!             }
//!             _ => {}
//!         },
//!     }
//! }
//! # Ok(())
//! # }
//! ```
//!
//! Failures are one [`Error`]: match on [`Error::code`] for the server's refusals
//! (`ROOM_NOT_FOUND`, `WRONG_PASSWORD`, …); [`Error::Http`] holds a [`TransportError`] when
//! the server could not be reached. [`RoomView`] folds the events into the room as a member
//! sees it, and the `guest` and `host` examples show both at work.

#![warn(missing_docs)]

mod auth;
mod client;
mod error;
mod http;
#[cfg(feature = "netem")]
pub mod netem;
mod session;
pub mod sync;
mod view;

pub use client::{Client, ClientBuilder};
pub use error::{ApiError, Error, Result, TransportError};
pub use session::{
    Clock, ClockEstimate, Close, CloseStatus, JoinOptions, RoomEvent, RoomEvents, RoomSession,
    SessionOptions, SystemClock,
};
/// The wire types, re-exported so an app needs one dependency.
pub use streamit_protocol as protocol;
pub use view::{DEFAULT_CHAT_LINES, Member, RoomView};
