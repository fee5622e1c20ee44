//! The StreamIt wire contract, protocol version 1, as plain Rust data.
//!
//! Everything the server, the SDK and third-party clients put on the wire is a type here; the
//! JSON Schemas, the OpenAPI document and the TypeScript types in the repository's `schemas/`
//! folder are generated from these types, so they cannot disagree with them. The crate does no
//! I/O.
//!
//! All types live under [`v1`]. A future incompatible protocol would sit beside it as `v2`, so a
//! server can speak both during a migration. Within v1 changes are additive only: a new optional
//! field, a new event, a new error code.
//!
//! The map of [`v1`]:
//! - identifiers and constrained values (`RoomCode`, `UserId`, `PositionMs`, `Rate`, `ChatText`,
//!   `DisplayName`, …), each validated when it is deserialized;
//! - `ErrorCode` and `CloseCode`, the codes a client acts on;
//! - the REST bodies of the auth, room, media and progress endpoints, and the error body;
//! - `Playback` and its position maths;
//! - `ClientEvent` / `ClientMessage` and `ServerEvent` / `ServerMessage`, the WebSocket frames,
//!   with the two-step decoders that tell an unknown event from malformed data.

#![warn(missing_docs)]

pub mod v1;
