//! The StreamIt SDK: what third-party Rust clients, the terminal client and the load bots
//! build on. It carries the hard parts of a watch-together client once, for everyone.
//!
//! - [`Client`]: typed async calls for every HTTP endpoint of protocol v1, with tokens kept
//!   and refreshed for you;
//! - [`RoomSession`] and [`RoomEvents`]: a room's WebSocket behind a cheap-clone handle and a
//!   stream of [`RoomEvent`]s; a background task reconnects with capped backoff and jitter,
//!   refreshes the token, resyncs on a `seq` gap, and keeps a server-clock offset from
//!   `PING`/`PONG`;
//! - [`sync`]: drift control for a local player behind the [`sync::Player`] trait, and the
//!   [`sync::SimulatedPlayer`] tests, the TUI and the bots use.
//!
//! Modules: `error` (the one [`Error`]), `client` (REST), `session` (the room socket, its
//! task, clock sync and backoff), `sync` (players and drift control).

#![warn(missing_docs)]

mod client;
mod error;
mod session;
pub mod sync;

pub use client::{Client, ClientBuilder};
pub use error::{ApiError, Error, Result};
pub use session::{
    Clock, JoinOptions, RoomEvent, RoomEvents, RoomSession, SessionOptions, SystemClock,
};
/// The wire types, re-exported so an app needs one dependency.
pub use streamit_protocol as protocol;
