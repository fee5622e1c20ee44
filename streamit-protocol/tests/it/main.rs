//! Integration tests of the public protocol API, one module per capability, linked once.

// clippy's `allow-unwrap-in-tests` covers `#[test]` functions only, not the strategies and
// helpers beside them; a failed unwrap in a test is a failed test, which is what we want.
#![allow(clippy::unwrap_used)]

mod docs;
mod props;
mod schemas;
mod valid;
mod wire;
