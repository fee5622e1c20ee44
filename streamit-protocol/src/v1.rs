//! Protocol version 1.
//!
//! Modules, each private and re-exported here:
//! - `limits`: the sizes every party enforces (frame, body, nesting, lengths);
//! - `ids`: `UserId`, `MessageId`, `RoomCode`, `ClientRef`;
//! - `text`: validated strings (`DisplayName`, `RoomName`, `ChatText`, `Email`) and secrets whose
//!   `Debug` never shows them (`Password`, `RoomPassword`, `AccessToken`, `RefreshToken`);
//! - `values`: bounded numbers (`PositionMs`, `Rate`, `Seconds`, `MuteDuration`, `PageLimit`);
//! - `codes`: `ErrorCode` with its HTTP status and `CloseCode` with its reconnect rule;
//! - `playback`: `Playback` and where the media is at a given server time;
//! - `media`: `MediaRef`, providers, kinds, embed options and capabilities;
//! - `auth`, `room`, `progress`: the REST request and response bodies;
//! - `audit`: a room's audit log of host actions;
//! - `endpoints` (public, not re-exported): every HTTP endpoint declared once, read by the
//!   server's router, the SDK and the OpenAPI generator;
//! - `cursor`: `PublicRoomsCursor`, where the next page of the public listing starts;
//! - `error`: the `{"error": {...}}` body every HTTP failure carries;
//! - `client` / `server`: WebSocket events, their envelopes and decoders;
//! - `frame`: the first decoding step shared by both directions (size, depth, envelope).

mod audit;
mod auth;
mod client;
mod codes;
mod cursor;
pub mod endpoints;
mod error;
mod events;
mod frame;
mod ids;
mod limits;
mod media;
mod playback;
mod progress;
mod room;
mod server;
mod text;
mod values;

pub use audit::*;
pub use auth::*;
pub use client::*;
pub use codes::*;
pub use cursor::*;
pub use error::*;
pub use events::{Empty, UnknownEvent};
pub use frame::FrameError;
pub use ids::*;
pub use limits::*;
pub use media::*;
pub use playback::*;
pub use progress::*;
pub use room::*;
pub use server::*;
pub use text::*;
pub use values::*;

/// The protocol version this module implements; every server message carries it as `v`.
pub const PROTOCOL_VERSION: u8 = 1;
