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
//! - `rooms`: the room services over REST;
//! - `lifecycle`: the room lifecycle as a pure state machine;
//! - `realtime`: WebSocket rooms: the handshake, socket tasks and one task per live room;
//! - `bus`: how messages and leases cross nodes, in-process or over Redis;
//! - `notices`: what REST and the sweepers tell live rooms on every node;
//! - `grace`: the sweeper that expires rooms whose host did not come back in time;
//! - `progress`: watch progress;
//! - `purge`: the retention sweeper that forgets what ended long ago;
//! - `media`: providers and their canonical embed URLs;
//! - `metrics`: the counters `/metrics` exposes;
//! - `rate_limit`: keyed token buckets for the limits on logins, sign-ups and joins;
//! - `store`: every SQL statement, for both databases;
//! - `app`: the shared state handlers reach;
//! - `audit`: host and moderation actions as structured events;
//! - `clock`: server time in Unix epoch ms;
//! - `files`: files only their owner may read (the SQLite database, the signing secret).
//!
//! With the `fuzzing` feature (off by default), the hidden `fuzzing` module exposes the
//! decoders that take untrusted input, and the room's rules, to the fuzz targets in `fuzz/`.

mod app;
mod audit;
mod auth;
mod bus;
mod clock;
mod config;
mod error;
mod files;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
mod grace;
mod http;
mod lifecycle;
mod media;
mod metrics;
mod notices;
mod progress;
mod purge;
mod rate_limit;
mod realtime;
mod rooms;
mod server;
mod store;

pub use config::{Config, ForwardedHeader, LogFormat, Switch, TrustedProxy};
pub use server::{StartError, run};

#[cfg(test)]
mod tests {
    /// `run` must be spawnable; `main` awaits it directly and would not notice if it stopped
    /// being `Send`.
    #[test]
    fn run_is_send() {
        fn assert_send<T: Send>(_: &T) {}
        let _ = |listener: tokio::net::TcpListener, config: crate::Config| {
            assert_send(&crate::run(
                listener,
                config,
                tokio_util::sync::CancellationToken::new(),
            ));
        };
    }
}
