//! The StreamIt SDK: what third-party Rust clients, the terminal client and the load bots
//! build on. It carries the hard parts of a watch-together client once, for everyone.
//!
//! - [`Client`]: typed async calls for every HTTP endpoint of protocol v1, with tokens kept
//!   and refreshed for you; [`Client::with_identity`] gives another user on the same
//!   connection pool (load bots run thousands);
//! - [`RoomSession`] and [`RoomEvents`]: a room's WebSocket behind a cheap-clone handle and a
//!   stream of [`RoomEvent`]s; a background task reconnects with capped backoff and jitter,
//!   refreshes the token, resyncs on a `seq` gap, and keeps a server-clock offset from
//!   `PING`/`PONG`;
//! - [`sync`]: drift control for a local player behind the [`sync::Player`] trait, and the
//!   [`sync::SimulatedPlayer`] tests, the TUI and the bots use.
//!
//! Modules: `error` (the one [`Error`]), `http` (one call: build, send, read the answer or
//! the error body), `auth` (an identity's tokens, bearer and refresh; all a session needs of
//! a client), `client` (REST endpoints and the builder), `session` (the room socket, its
//! task, clock sync and backoff), `sync` (players and drift control).

#![warn(missing_docs)]

mod auth;
mod client;
mod error;
mod http;
mod session;
pub mod sync;

pub use client::{Client, ClientBuilder};
pub use error::{ApiError, Error, Result};
pub use session::{
    Clock, JoinOptions, RoomEvent, RoomEvents, RoomSession, SessionOptions, SystemClock,
};
/// The wire types, re-exported so an app needs one dependency.
pub use streamit_protocol as protocol;
