//! The SDK's integration tests: the real server on 127.0.0.1 driven through the SDK, plus a
//! fake WebSocket server standing in for a newer or broken one.

// Test helpers outside `#[test]` functions panic on purpose: a failed step fails the test.
#![allow(clippy::unwrap_used)]

mod clock;
mod convergence;
mod fake;
mod identities;
mod reconnect;
mod refresh;
mod requests;
mod rest;
mod sessions;
mod support;
mod views;
