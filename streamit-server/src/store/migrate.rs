//! The schema migrations, embedded in the binary, and the runner that applies each once.
//!
//! Each migration runs in its own transaction together with its `schema_migrations` row, so a
//! crash leaves it either applied and recorded or not at all. Nodes starting at once take turns:
//! PostgreSQL through a transaction-scoped advisory lock, SQLite through `BEGIN IMMEDIATE`
//! (the write lock, waited for under `busy_timeout`); whoever comes second finds the version
//! recorded and skips it.

use sqlx::AnyPool;

use super::{Backend, Result};

/// One schema step; `version` orders them and is never reused.
struct Migration {
    version: i64,
    sql: &'static str,
}

/// `SQLITE` and `POSTGRES`: the same steps, each file in its own dialect under
/// `migrations/<backend>/`, so a step missing for either backend does not compile.
macro_rules! migrations {
    ($($version:literal => $file:literal),+ $(,)?) => {
        const SQLITE: &[Migration] = &[$(Migration {
            version: $version,
            sql: include_str!(concat!("../../migrations/sqlite/", $file)),
        }),+];
        const POSTGRES: &[Migration] = &[$(Migration {
            version: $version,
            sql: include_str!(concat!("../../migrations/postgres/", $file)),
        }),+];
    };
}

migrations! {
    1 => "0001_init.sql",
    2 => "0002_live.sql",
    3 => "0003_members_version.sql",
    4 => "0004_no_secrets_in_the_database.sql",
    5 => "0005_ended_at.sql",
    6 => "0006_audit.sql",
    7 => "0007_owner_term.sql",
}

/// The advisory lock key migrations hold on PostgreSQL: "STREAMIT" in ASCII, so it cannot
/// collide with another application's lock on a shared server by accident.
const MIGRATION_LOCK: i64 = 0x5354_5245_414d_4954;

/// The ledger of applied versions; created under the lock, so two nodes never race to create it.
const CREATE_LEDGER: &str = "CREATE TABLE IF NOT EXISTS schema_migrations \
                             (version BIGINT NOT NULL PRIMARY KEY, applied_at_ms BIGINT NOT NULL)";

/// Applies, in order, every migration of `backend` not applied yet.
pub(super) async fn run(pool: &AnyPool, backend: Backend) -> Result<()> {
    let migrations = match backend {
        Backend::Sqlite => SQLITE,
        Backend::Postgres => POSTGRES,
    };
    for migration in migrations {
        apply(pool, backend, migration).await?;
    }
    Ok(())
}

async fn apply(pool: &AnyPool, backend: Backend, migration: &Migration) -> Result<()> {
    let mut tx = match backend {
        Backend::Sqlite => pool.begin_with("BEGIN IMMEDIATE").await?,
        Backend::Postgres => {
            let mut tx = pool.begin().await?;
            sqlx::query("SELECT 1 FROM pg_advisory_xact_lock($1)")
                .bind(MIGRATION_LOCK)
                .execute(&mut *tx)
                .await?;
            tx
        }
    };
    sqlx::query(CREATE_LEDGER).execute(&mut *tx).await?;
    let applied = sqlx::query("SELECT version FROM schema_migrations WHERE version = $1")
        .bind(migration.version)
        .fetch_optional(&mut *tx)
        .await?
        .is_some();
    if !applied {
        // One statement at a time (whole-line comments dropped): our DDL has no `;` inside literals, and a prepared
        // statement per query keeps the future `Send` (sqlx's `raw_sql` is not, over `Any`).
        let code: Vec<&str> = migration
            .sql
            .lines()
            .filter(|l| !l.trim_start().starts_with("--"))
            .collect();
        for statement in code
            .join("\n")
            .split(';')
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            sqlx::query(statement).execute(&mut *tx).await?;
        }
        sqlx::query("INSERT INTO schema_migrations (version, applied_at_ms) VALUES ($1, $2)")
            .bind(migration.version)
            .bind(super::rows::int(crate::clock::now_ms()))
            .execute(&mut *tx)
            .await?;
        tracing::info!(
            version = migration.version,
            ?backend,
            "applied database migration"
        );
    }
    tx.commit().await?;
    Ok(())
}
