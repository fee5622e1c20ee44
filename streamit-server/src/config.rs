//! Every setting, from a flag or its `STREAMIT_*` environment variable, with defaults that run
//! with no setup: `127.0.0.1:8000`, a SQLite file in the working directory, a JWT secret made on
//! first start and kept in a file beside it.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use ipnet::IpNet;

/// How log lines are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// One line of text per event, for people.
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// Which header trusted proxies name the client in. One only: a proxy that appends to one
/// usually passes a client's copy of the other through untouched.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ForwardedHeader {
    /// `X-Forwarded-For: client, proxy1, …`.
    XForwardedFor,
    /// `Forwarded: for=client, for=proxy1` (RFC 7239).
    Forwarded,
}

/// On or off, for switches operators set from scripts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Switch {
    /// Enabled.
    On,
    /// Disabled.
    Off,
}

/// A network given to `--trusted-proxies`: a CIDR (`10.0.0.0/8`) or a single address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TrustedProxy(IpNet);

impl TrustedProxy {
    pub(crate) fn contains(&self, ip: IpAddr) -> bool {
        self.0.contains(&ip.to_canonical())
    }
}

impl FromStr for TrustedProxy {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        s.parse::<IpNet>()
            .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
            .map(Self)
            .map_err(|_| format!("{s:?} is neither a CIDR (10.0.0.0/8) nor an IP address"))
    }
}

impl std::fmt::Display for TrustedProxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// The server's settings.
#[derive(Clone, Parser)]
#[command(
    name = "streamit-server",
    version,
    about = "The StreamIt watch-together server."
)]
#[non_exhaustive]
pub struct Config {
    /// Address to listen on.
    #[arg(long, env = "STREAMIT_BIND", default_value = "127.0.0.1:8000")]
    pub bind: SocketAddr,

    /// Database: `sqlite://path` (created when missing) or `postgres://user@host/db`.
    #[arg(
        long,
        env = "STREAMIT_DATABASE_URL",
        default_value = "sqlite://streamit.db"
    )]
    pub database_url: String,

    /// Secret that signs access tokens (HS256), at least 32 bytes; every node of a cluster
    /// needs the same. Without it or `--jwt-secret-file`, a SQLite server makes one on first
    /// start and keeps it beside the database in `<database>.jwt-secret` (mode 0600).
    #[arg(long, env = "STREAMIT_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,

    /// The secret `--jwt-secret` replaced: it no longer signs but still verifies, so tokens it
    /// signed keep working until they expire. Drop it one access-token lifetime after rotating.
    #[arg(
        long,
        env = "STREAMIT_JWT_PREVIOUS_SECRET",
        hide_env_values = true,
        requires = "jwt_secret"
    )]
    pub jwt_previous_secret: Option<String>,

    /// A file of token-signing secrets, one per line, each at least 32 bytes: the first signs,
    /// the others (previous ones, during a rotation) still verify.
    #[arg(long, env = "STREAMIT_JWT_SECRET_FILE", conflicts_with = "jwt_secret")]
    pub jwt_secret_file: Option<PathBuf>,

    /// Access token lifetime, in seconds.
    #[arg(long, env = "STREAMIT_ACCESS_TTL_SECONDS", default_value_t = 15 * 60)]
    pub access_ttl_seconds: u64,

    /// Refresh token lifetime, in days.
    #[arg(long, env = "STREAMIT_REFRESH_TTL_DAYS", default_value_t = 30)]
    pub refresh_ttl_days: u64,

    /// How long a room waits for its host to come back before it expires, in seconds.
    #[arg(long, env = "STREAMIT_GRACE_SECONDS", default_value_t = 300)]
    pub grace_seconds: u32,

    /// A member whose reported position is further than this from the room's gets a
    /// `SYNC_CORRECTION`, in ms.
    #[arg(long, env = "STREAMIT_SYNC_THRESHOLD_MS", default_value_t = 500)]
    pub sync_threshold_ms: u64,

    /// People online from which a room is big: comings and goings are told in one
    /// `PRESENCE_CHANGED` per window (100 ms, up to 1 s in rooms of thousands) instead of a
    /// frame each, and snapshots list the host, their receiver and `--big-room-listed` others
    /// online instead of every member, as they do in a room of this many members however few
    /// are online.
    #[arg(long, env = "STREAMIT_BIG_ROOM_FROM", default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..))]
    pub big_room_from: u32,

    // 20, as many as a `PRESENCE_CHANGED` names: with 50 a snapshot was 7 KiB, each socket of
    // a room of 5 000 kept 16.5 KiB instead of 12.7, and the room filled about a sixth slower
    // (bench/results/2026-12-06-whole-snapshots.md).
    /// Others online a big room's snapshot lists, besides the host and its receiver. A big
    /// room's snapshot goes out in one write (up to 16 KiB; a longer one in 1 KiB fragments)
    /// and each socket keeps a write buffer that long: the default keeps it near 3 KiB.
    #[arg(long, env = "STREAMIT_BIG_ROOM_LISTED", default_value_t = 20)]
    pub big_room_listed: u32,

    /// People a big room's `PRESENCE_CHANGED` names at most; more who came or went in its
    /// window are counted, not named, so a room filling at thousands a second costs each
    /// socket a few names per window rather than everyone's (at most 100).
    #[arg(long, env = "STREAMIT_BIG_ROOM_NAMED", default_value_t = 20, value_parser = clap::value_parser!(u32).range(0..=100))]
    pub big_room_named: u32,

    /// `off` lifts every HTTP and WebSocket limit below (not the chat rules), for load tests.
    #[arg(long, env = "STREAMIT_RATE_LIMITS", value_enum, default_value_t = Switch::On)]
    pub rate_limits: Switch,

    /// Login attempts allowed per client IP per minute.
    #[arg(long, env = "STREAMIT_LOGINS_PER_IP_PER_MINUTE", default_value_t = 30)]
    pub logins_per_ip_per_minute: u32,

    /// Login attempts allowed per e-mail address per minute.
    #[arg(
        long,
        env = "STREAMIT_LOGINS_PER_EMAIL_PER_MINUTE",
        default_value_t = 10
    )]
    pub logins_per_email_per_minute: u32,

    /// Registrations and guest sign-ups allowed per client IP per minute.
    #[arg(long, env = "STREAMIT_SIGNUPS_PER_IP_PER_MINUTE", default_value_t = 30)]
    pub signups_per_ip_per_minute: u32,

    /// Room creations and joins allowed per user per minute (bounds password guessing).
    #[arg(
        long,
        env = "STREAMIT_ROOM_ACTIONS_PER_USER_PER_MINUTE",
        default_value_t = 60
    )]
    pub room_actions_per_user_per_minute: u32,

    /// Rooms one user may host at once (created, live or in grace); creating another answers
    /// 403 `LIMIT_REACHED` until one ends.
    #[arg(long, env = "STREAMIT_MAX_ROOMS_PER_USER", default_value_t = 10)]
    pub max_rooms_per_user: u32,

    /// Join requests one `APPROVAL` room may hold waiting for its host; more answer 403
    /// `LIMIT_REACHED` until the host approves or denies some.
    #[arg(long, env = "STREAMIT_MAX_PENDING_PER_ROOM", default_value_t = 100)]
    pub max_pending_per_room: u32,

    /// WebSockets one user may hold open on this node at once; more are closed with 4029.
    #[arg(long, env = "STREAMIT_MAX_SOCKETS_PER_USER", default_value_t = 16)]
    pub max_sockets_per_user: u32,

    /// WebSockets one client address may hold open on this node at once (a school or an
    /// office behind one NAT counts as one address); more are closed with 4029.
    #[arg(long, env = "STREAMIT_MAX_SOCKETS_PER_IP", default_value_t = 512)]
    pub max_sockets_per_ip: u32,

    /// Days the store keeps what ended: rooms that expired or were deleted (with their chat,
    /// members and progress), guests who can no longer sign in, ended logins and expired
    /// refresh tokens. Registered accounts are kept. `0` keeps everything forever.
    #[arg(long, env = "STREAMIT_RETENTION_DAYS", default_value_t = 30)]
    pub retention_days: u32,

    /// How long shutdown waits for open requests before closing them, in seconds.
    #[arg(long, env = "STREAMIT_SHUTDOWN_GRACE_SECONDS", default_value_t = 10)]
    pub shutdown_grace_seconds: u64,

    /// Reverse proxies whose `Forwarded` / `X-Forwarded-For` name the client, as CIDRs or
    /// addresses, comma-separated (`10.0.0.0/8,127.0.0.1`). Per-IP limits and logs then use the
    /// client's address; from any other peer those headers are ignored. Default: none.
    #[arg(long, env = "STREAMIT_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<TrustedProxy>,

    /// The header trusted proxies name the client in: `x-forwarded-for` or `forwarded`. The
    /// other is ignored, so a client cannot slip its own copy past a proxy that appends to this
    /// one.
    #[arg(
        long,
        env = "STREAMIT_FORWARDED_HEADER",
        value_enum,
        default_value_t = ForwardedHeader::XForwardedFor
    )]
    pub forwarded_header: ForwardedHeader,

    /// Browser origins allowed to call the API and open WebSockets from their pages, exact
    /// (`https://watch.example.com`), comma-separated. Default: none, so only same-origin pages
    /// and non-browser clients can. Credentials are never allowed: the API takes bearer
    /// tokens, not cookies.
    #[arg(long, env = "STREAMIT_CORS_ORIGINS", value_delimiter = ',')]
    pub cors_origins: Vec<String>,

    /// Redis, for running several nodes as one cluster: `redis://host:6379` (with
    /// `redis://:password@host` or `rediss://` as needed). Without it this node runs alone, with
    /// no other service.
    #[arg(long, env = "STREAMIT_REDIS_URL", hide_env_values = true)]
    pub redis_url: Option<String>,
    /// Every Redis key and channel starts with this, so several clusters can share one Redis.
    #[arg(long, env = "STREAMIT_REDIS_PREFIX", default_value = "streamit")]
    pub redis_prefix: String,
    /// This node's name in logs and in Redis, unique in the cluster. Default: the host name and
    /// the process id.
    #[arg(long, env = "STREAMIT_NODE_ID")]
    pub node_id: Option<String>,
    /// With Redis: how long a node owns a room it stopped renewing, in ms. When a node dies,
    /// another takes its rooms over after at most this long.
    #[arg(long, env = "STREAMIT_ROOM_LEASE_MS", default_value_t = 5_000, value_parser = clap::value_parser!(u64).range(300..))]
    pub room_lease_ms: u64,
    /// With Redis: how long a node counts as alive after it stopped renewing, in ms. When a
    /// node dies, its sockets leave their rooms after at most about this long.
    #[arg(long, env = "STREAMIT_NODE_LEASE_MS", default_value_t = 5_000, value_parser = clap::value_parser!(u64).range(300..))]
    pub node_lease_ms: u64,
    /// Broadcasts a room keeps for members who reconnect: one who comes back having missed
    /// no more than this many gets them replayed instead of a fresh snapshot. `0` turns
    /// replay off.
    #[arg(long, env = "STREAMIT_REPLAY_FRAMES", default_value_t = 256, value_parser = clap::value_parser!(u64).range(0..=400))]
    pub replay_frames: u64,
    /// How long a room keeps a broadcast for replay, in seconds.
    #[arg(long, env = "STREAMIT_REPLAY_SECONDS", default_value_t = 120)]
    pub replay_seconds: u64,
    /// Log filter: a level (`info`) or directives (`streamit_server=debug,info`). Without it,
    /// `RUST_LOG`, else `info`.
    #[arg(long, env = "STREAMIT_LOG")]
    pub log: Option<String>,

    /// `text` for people, `json` (one object per line) for log collectors. Text is coloured
    /// only on a terminal and without `NO_COLOR`.
    #[arg(long, env = "STREAMIT_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

impl Config {
    /// The defaults, as a run with no flags and no environment would have them.
    pub fn defaults() -> Self {
        Self::parse_from(["streamit-server"])
    }

    pub(crate) fn access_ttl(&self) -> Duration {
        Duration::from_secs(self.access_ttl_seconds)
    }

    pub(crate) fn refresh_ttl(&self) -> Duration {
        Duration::from_secs(self.refresh_ttl_days * 24 * 60 * 60)
    }

    /// `--node-id`, or the host name and the process id.
    pub(crate) fn node_id(&self) -> String {
        self.node_id.clone().unwrap_or_else(|| {
            let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
                .ok()
                .map(|name| name.trim().to_owned())
                .filter(|name| !name.is_empty())
                .unwrap_or_else(|| "node".to_owned());
            format!("{host}-{}", std::process::id())
        })
    }

    pub(crate) fn shutdown_grace(&self) -> Duration {
        Duration::from_secs(self.shutdown_grace_seconds)
    }
}

/// Hides the JWT secret and any password in the database URL.
impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("bind", &self.bind)
            .field("database_url", &redact_url(&self.database_url))
            .field(
                "jwt_secret",
                &self.jwt_secret.as_ref().map(|_| "<redacted>"),
            )
            .field(
                "jwt_previous_secret",
                &self.jwt_previous_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("jwt_secret_file", &self.jwt_secret_file)
            .field("access_ttl_seconds", &self.access_ttl_seconds)
            .field("refresh_ttl_days", &self.refresh_ttl_days)
            .field("grace_seconds", &self.grace_seconds)
            .field("sync_threshold_ms", &self.sync_threshold_ms)
            .field("big_room_from", &self.big_room_from)
            .field("big_room_listed", &self.big_room_listed)
            .field("big_room_named", &self.big_room_named)
            .field("redis_url", &self.redis_url.as_deref().map(redact_url))
            .field("redis_prefix", &self.redis_prefix)
            .field("node_id", &self.node_id)
            .field("room_lease_ms", &self.room_lease_ms)
            .field("node_lease_ms", &self.node_lease_ms)
            .field("replay_frames", &self.replay_frames)
            .field("replay_seconds", &self.replay_seconds)
            .field("rate_limits", &self.rate_limits)
            .field("logins_per_ip_per_minute", &self.logins_per_ip_per_minute)
            .field(
                "logins_per_email_per_minute",
                &self.logins_per_email_per_minute,
            )
            .field("signups_per_ip_per_minute", &self.signups_per_ip_per_minute)
            .field(
                "room_actions_per_user_per_minute",
                &self.room_actions_per_user_per_minute,
            )
            .field("max_rooms_per_user", &self.max_rooms_per_user)
            .field("max_pending_per_room", &self.max_pending_per_room)
            .field("max_sockets_per_user", &self.max_sockets_per_user)
            .field("max_sockets_per_ip", &self.max_sockets_per_ip)
            .field("retention_days", &self.retention_days)
            .field("shutdown_grace_seconds", &self.shutdown_grace_seconds)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("forwarded_header", &self.forwarded_header)
            .field("cors_origins", &self.cors_origins)
            .field("log", &self.log)
            .field("log_format", &self.log_format)
            .finish()
    }
}

/// `scheme://user:secret@host/db` → `scheme://user:<redacted>@host/db`.
pub(crate) fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let Some((credentials, host)) = rest.rsplit_once('@') else {
        return url.to_owned();
    };
    match credentials.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:<redacted>@{host}"),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_run_with_no_setup() {
        let config = Config::defaults();
        assert_eq!(config.bind.to_string(), "127.0.0.1:8000");
        assert_eq!(config.database_url, "sqlite://streamit.db");
        assert_eq!(config.rate_limits, Switch::On);
        assert!(config.jwt_secret.is_none());
    }

    #[test]
    fn debug_hides_secrets() {
        let config = Config::parse_from([
            "streamit-server",
            "--jwt-secret",
            "hunter2",
            "--jwt-previous-secret",
            "hunter1",
            "--database-url",
            "postgres://app:s3cret@db:5432/streamit",
        ]);
        let shown = format!("{config:?}");
        assert!(
            !shown.contains("hunter") && !shown.contains("s3cret"),
            "{shown}"
        );
        assert!(shown.contains("postgres://app:<redacted>@db:5432/streamit"));
    }

    #[test]
    fn rate_limits_switch_off() {
        let config = Config::parse_from(["streamit-server", "--rate-limits", "off"]);
        assert_eq!(config.rate_limits, Switch::Off);
    }
}
