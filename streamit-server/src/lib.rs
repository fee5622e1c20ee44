//! The StreamIt reference server: the HTTP API of protocol v1 over hyper, on a store that is
//! SQLite by default and PostgreSQL in production.
//!
//! `main` and every test call [`run`] with a bound listener, a [`Config`] and a shutdown token.
//!
//! Modules, each with one job, layered `http` → services → `store`:
//! - `config`: every setting, from flags and `STREAMIT_*` variables;
//! - `server`: the accept loop, connection tasks and graceful shutdown;
//! - `http`: routing, JSON in and out, and the one error shape on the wire;
//! - `error`: `ApiError`, a protocol error code with its message, built by the services;
//! - `auth`: accounts, logins, tokens and their rotation and revocation;
//! - `rooms`: the room lifecycle state machine and the room services;
//! - `progress`: watch progress;
//! - `media`: providers and their canonical embed URLs;
//! - `rate_limit`: keyed token buckets for the limits on logins, sign-ups and joins;
//! - `store`: every SQL statement, for both databases;
//! - `app`: the shared state handlers reach;
//! - `clock`: server time in Unix epoch ms.

mod app;
mod auth;
mod clock;
mod config;
mod error;
mod http;
mod media;
mod progress;
mod rate_limit;
mod rooms;
mod server;
mod store;

pub use config::{Config, Switch};
pub use server::{StartError, run};
