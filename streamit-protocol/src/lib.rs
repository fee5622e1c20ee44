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
//!
//! # Quick start
//!
//! A client sends [`ClientMessage`](v1::ClientMessage)s and reads
//! [`ServerMessage`](v1::ServerMessage)s, each one JSON text frame on the room's WebSocket:
//!
//! ```
//! use streamit_protocol::v1::{
//!     ChatText, ClientEvent, ClientMessage, ClientRef, PlayPause, PositionMs, ServerEvent,
//!     ServerMessage,
//! };
//!
//! // Encoding: the host plays from 90 s, unless someone changed the playback since version 7.
//! let play = PlayPause::new(Some(PositionMs::new(90_000)?)).with_expected_version(7);
//! let frame = ClientMessage::with_ref(ClientEvent::Play(play), ClientRef::new("r-1")?);
//! assert_eq!(
//!     frame.encode(),
//!     r#"{"type":"PLAY","data":{"position_ms":90000,"expected_version":7},"ref":"r-1"}"#
//! );
//!
//! // Decoding: the envelope (`seq`, `ts`, `ref`), then the event its `type` names.
//! let text = r#"{"v": 1, "type": "CHAT_MESSAGE", "seq": 42, "ts": 1700000012345, "data": {
//!     "id": "9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a",
//!     "user": {"id": "0b3e7f1a-5c2d-4e8f-9a1b-2c3d4e5f6a7b", "display_name": "Bo"},
//!     "text": "hello", "sent_at_ms": 1700000012345}}"#;
//! let message = ServerMessage::decode(text)?;
//! assert_eq!(message.seq, Some(42));
//! match &message.event {
//!     ServerEvent::ChatMessage(line) => {
//!         assert_eq!(line.user.display_name.as_str(), "Bo");
//!         assert_eq!(line.text, ChatText::new("hello")?);
//!     }
//!     other => panic!("a chat line, not {}", other.event_type()),
//! }
//!
//! // An event newer than this crate is not an error: it arrives as `Unknown`, data and all.
//! let newer = ServerMessage::decode(r#"{"v": 1, "type": "CONFETTI", "ts": 1, "data": {"n": 3}}"#)?;
//! assert!(matches!(&newer.event, ServerEvent::Unknown(u) if u.event_type == "CONFETTI"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Request bodies are built the same way, required fields in `new` and optional ones with
//! `with_*` (the structs are `#[non_exhaustive]`, so that adding an optional field breaks no
//! one): `CreateRoomRequest::default().with_name(…)`,
//! `SaveProgressRequest::new(code, position).with_duration(…)`. The `streamit-client` crate
//! sends them for you.

#![warn(missing_docs)]

pub mod v1;
