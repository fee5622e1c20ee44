//! The database: every SQL statement of the server, written once for SQLite and PostgreSQL
//! (sqlx's `Any` driver, portable SQL), with each backend's migrations run at start-up.
//!
//! The database is the authority for users, logins, rooms and their lifecycle, participants,
//! bans, playback, chat and watch progress; nothing in a node's memory is needed after it dies.
//!
//! Portability rules: `$n` placeholders, `RETURNING`, `ON CONFLICT`, ids as TEXT UUIDs, times
//! as BIGINT epoch ms, booleans as INTEGER 0/1 (the `Any` driver decodes them the same on both),
//! absent season/episode stored as 0 so they can sit in a unique key.
//!
//! Submodules, each adding its part of `impl Store`:
//! - `pool`: URLs, pool sizes and the per-connection SQLite settings;
//! - `migrate`: the embedded migrations and the runner that applies them once;
//! - `accounts`: users, logins and refresh tokens;
//! - `audit`: each room's audit log of host actions;
//! - `rooms`: rooms, their lifecycle compare-and-set and the public listing;
//! - `members`: participants, approvals, bans and the one-read admission check;
//! - `live`: what live rooms write behind, their counter ceilings and restart recovery;
//! - `held`: the connections those writes and sockets' admission reads go through;
//! - `progress`: watch progress;
//! - `retention`: what is purged after the retention period;
//! - `rows`: how values become columns and columns become wire types.

mod accounts;
mod audit;
mod held;
mod live;
mod members;
mod migrate;
mod pool;
mod progress;
mod retention;
mod rooms;
mod rows;
#[cfg(test)]
mod tests;

pub(crate) use live::{Fenced, Term};
pub(crate) use pool::{is_sqlite, sqlite_file};

use streamit_protocol::v1::{
    DisplayName, Email, EntryMode, MediaRef, MemberStatus, Playback, Room, RoomCode, RoomName,
    RoomState, Seconds, User, UserId, UserRef,
};
use uuid::Uuid;

use self::held::Lane;
use crate::metrics::{QueryTimer, StoreTimer};

/// What can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    /// A unique key is taken (an e-mail, a room code).
    #[error("already exists")]
    Conflict,
    /// The database failed or is unreachable.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// A stored value no longer parses as its wire type (corruption or a bad migration).
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// The database did not answer in time.
    #[error("database: {0}")]
    Unavailable(String),
}

impl Error {
    /// A short, fixed reason for a probe's answer: the error's own text may name hosts, roles
    /// or databases, and belongs in the log only.
    pub(crate) fn probe_reason(&self) -> &'static str {
        match self {
            Self::Database(sqlx::Error::PoolTimedOut) | Self::Unavailable(_) => "timeout",
            Self::Database(sqlx::Error::Io(_)) => "connection failed",
            Self::Database(sqlx::Error::PoolClosed) => "pool closed",
            Self::Database(_) | Self::Conflict | Self::Corrupt(_) => "query failed",
        }
    }

    /// Whether the database is out of reach (down, unreachable, every connection busy), as
    /// opposed to refusing or failing one statement: worth a 503 and a retry, not a 500.
    pub(crate) fn is_unavailable(&self) -> bool {
        match self {
            Self::Unavailable(_) => true,
            Self::Database(error) => matches!(
                error,
                sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_)
            ),
            Self::Conflict | Self::Corrupt(_) => false,
        }
    }
}

pub(crate) type Result<T, E = Error> = std::result::Result<T, E>;

/// Which database the store talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Backend {
    Sqlite,
    Postgres,
}

/// A user to create.
pub(crate) struct NewUser {
    pub(crate) id: UserId,
    pub(crate) email: Option<Email>,
    /// Argon2id PHC string; `None` for guests.
    pub(crate) password_hash: Option<String>,
    pub(crate) display_name: DisplayName,
    pub(crate) is_guest: bool,
    pub(crate) created_at_ms: u64,
}

/// A user with the secret the login check needs.
pub(crate) struct UserWithPassword {
    pub(crate) user: User,
    pub(crate) password_hash: Option<String>,
}

/// What spending a refresh token found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Spend {
    /// Valid and now spent: issue a new pair for this login.
    Spent { login_id: Uuid, user_id: UserId },
    /// Already spent before: a replay. The caller revokes the login.
    Reused { login_id: Uuid },
    /// Past its expiry, or its login was revoked.
    Expired,
    /// No such token.
    Unknown,
}

/// A room to create; the host becomes its first approved participant.
pub(crate) struct NewRoom {
    pub(crate) code: RoomCode,
    pub(crate) name: RoomName,
    pub(crate) host_id: UserId,
    pub(crate) is_private: bool,
    pub(crate) entry_mode: EntryMode,
    /// Argon2id PHC string of the room password, for `PASSWORD` rooms.
    pub(crate) password_hash: Option<String>,
    pub(crate) chat_enabled: bool,
    pub(crate) media: Option<MediaRef>,
    pub(crate) embed_url: Option<String>,
    pub(crate) created_at_ms: u64,
}

/// A room with what only the server sees.
pub(crate) struct RoomRecord {
    pub(crate) room: Room,
    pub(crate) password_hash: Option<String>,
    pub(crate) playback: Playback,
    /// The last broadcast `seq` stamped in this room.
    pub(crate) seq: u64,
}

/// A user's membership of a room.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Membership {
    pub(crate) status: MemberStatus,
    pub(crate) muted_until_ms: Option<u64>,
}

/// What a socket's admission checks read, in one query.
pub(crate) struct Admission {
    /// The token's login exists and was not revoked.
    pub(crate) login_active: bool,
    pub(crate) state: RoomState,
    pub(crate) host_id: UserId,
    pub(crate) banned: bool,
    pub(crate) membership: Option<Membership>,
    /// `None` when the user no longer exists.
    pub(crate) user: Option<UserRef>,
    /// The room's `members_version` as this read saw it: a participant list read after it is at
    /// least this new.
    pub(crate) members_version: u64,
}

/// One save of watch progress.
pub(crate) struct ProgressUpdate<'a> {
    pub(crate) user_id: UserId,
    pub(crate) room_code: RoomCode,
    pub(crate) media: &'a MediaRef,
    pub(crate) position_s: Seconds,
    pub(crate) duration_s: Option<Seconds>,
    /// This save finishes the media (≥ 95 % of its own length, or `ended`); once stored true
    /// it stays true. A save without a length is also judged against the one already stored,
    /// in the same statement.
    pub(crate) completed: bool,
    pub(crate) now_ms: u64,
}

/// The database handle; cheap to clone.
#[derive(Clone)]
pub(crate) struct Store {
    pool: sqlx::AnyPool,
    /// Live rooms' writes.
    live_writes: Lane,
    /// Sockets' admission reads.
    admissions: Lane,
    backend: Backend,
    timer: StoreTimer,
}

impl Store {
    /// Connects, creating a SQLite file when missing (WAL mode), and runs the backend's
    /// migrations. `url` is `sqlite://path`, `sqlite::memory:` or `postgres://…`.
    pub(crate) async fn connect(url: &str) -> Result<Self> {
        let (pool, backend) = pool::open(url).await?;
        migrate::run(&pool, backend).await?;
        Ok(Self {
            pool,
            live_writes: Lane::new(url, backend, "wait_live_writes"),
            admissions: Lane::new(url, backend, "wait_admissions"),
            backend,
            timer: StoreTimer::default(),
        })
    }

    /// The same store, timing every operation with `timer` (for `/metrics`).
    pub(crate) fn timed(self, timer: StoreTimer) -> Self {
        Self { timer, ..self }
    }

    /// Starts timing the operation `query`, until the guard drops.
    fn time(&self, query: &'static str) -> QueryTimer<'_> {
        self.timer.start(query)
    }

    /// Which database this is.
    pub(crate) fn backend(&self) -> Backend {
        self.backend
    }

    /// Connections open, idle, and allowed in this node's pool, for `/metrics`.
    pub(crate) fn pool_stats(&self) -> (u32, u32, u32) {
        let idle = u32::try_from(self.pool.num_idle()).unwrap_or(u32::MAX);
        (
            self.pool.size(),
            idle,
            self.pool.options().get_max_connections(),
        )
    }

    /// A trivial query, for `/readyz`.
    pub(crate) async fn ping(&self) -> Result<()> {
        let _timer = self.time("ping");
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }
}
