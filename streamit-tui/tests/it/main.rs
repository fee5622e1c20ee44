//! The `streamit` binary against the real server on 127.0.0.1, with its credentials in a
//! temporary config directory.

mod bench;
mod check;
mod headless;
mod support;
