//! The server's integration tests: the real server on 127.0.0.1:0 driven over HTTP, every
//! endpoint's success and documented failure, on SQLite and on PostgreSQL (each test runs once
//! per backend, each on a fresh database).

// `clippy.toml` allows `unwrap` in tests, but clippy only sees `#[test]` functions as tests, not
// the helpers beside them; in this binary a panic is how every check reports.
#![allow(clippy::unwrap_used)]

mod auth;
mod cors;
mod errors;
mod limits;
mod media;
mod metrics;
mod names;
mod ops;
mod outage;
mod progress;
mod rooms;
mod support;
mod ws_big_rooms;
mod ws_chat;
mod ws_closing;
mod ws_handshake;
mod ws_lifecycle;
mod ws_moderation;
mod ws_playback;
mod ws_robustness;
mod ws_support;
