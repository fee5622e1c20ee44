//! Users, logins and refresh tokens.

use sqlx::Row;
use streamit_protocol::v1::{Email, User, UserId};
use uuid::Uuid;

use super::rows::{self, flag, int};
use super::{Error, NewUser, Result, Spend, Store, UserWithPassword};

/// The start of every user lookup: the columns `rows::user` reads, and the password hash.
macro_rules! user_select {
    () => {
        "SELECT id, display_name, email, is_guest, created_at_ms, password_hash FROM users"
    };
}

impl Store {
    /// Creates a user; `Conflict` when the e-mail has an account.
    pub(crate) async fn create_user(&self, user: NewUser) -> Result<User> {
        let _timer = self.time("create_user");
        sqlx::query(
            "INSERT INTO users (id, email, password_hash, display_name, is_guest, created_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(user.id.to_string())
        .bind(user.email.as_ref().map(|e| e.as_str().to_owned()))
        .bind(user.password_hash)
        .bind(user.display_name.as_str().to_owned())
        .bind(flag(user.is_guest))
        .bind(int(user.created_at_ms))
        .execute(&self.pool)
        .await
        .map_err(conflict_if_taken)?;
        let mut created = User::new(
            user.id,
            user.display_name,
            user.is_guest,
            user.created_at_ms,
        );
        created.email = user.email;
        Ok(created)
    }

    /// The account with that (normalised) e-mail.
    pub(crate) async fn user_by_email(&self, email: &Email) -> Result<Option<UserWithPassword>> {
        let _timer = self.time("user_by_email");
        let row = sqlx::query(concat!(user_select!(), " WHERE email = $1"))
            .bind(email.as_str().to_owned())
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| {
            Ok(UserWithPassword {
                user: rows::user(&row)?,
                password_hash: row.try_get("password_hash")?,
            })
        })
        .transpose()
    }

    /// A user by id.
    pub(crate) async fn user(&self, id: UserId) -> Result<Option<User>> {
        let _timer = self.time("user");
        let row = sqlx::query(concat!(user_select!(), " WHERE id = $1"))
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(rows::user).transpose()
    }

    /// Records a login (the `sid` of its tokens).
    pub(crate) async fn create_login(
        &self,
        login_id: Uuid,
        user_id: UserId,
        now_ms: u64,
    ) -> Result<()> {
        let _timer = self.time("create_login");
        sqlx::query("INSERT INTO logins (id, user_id, created_at_ms) VALUES ($1, $2, $3)")
            .bind(login_id.to_string())
            .bind(user_id.to_string())
            .bind(int(now_ms))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Whether a login exists and was not revoked.
    pub(crate) async fn login_active(&self, login_id: Uuid) -> Result<bool> {
        let _timer = self.time("login_active");
        let row = sqlx::query("SELECT id FROM logins WHERE id = $1 AND revoked_at_ms IS NULL")
            .bind(login_id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.is_some())
    }

    /// Revokes a login: its access tokens and refresh tokens stop working.
    /// Revokes a login; whether this call did (false when it was revoked already).
    pub(crate) async fn revoke_login(&self, login_id: Uuid, now_ms: u64) -> Result<bool> {
        let _timer = self.time("revoke_login");
        // The first revocation's time stays: later ones (a replay after logout) change nothing.
        let updated = sqlx::query(
            "UPDATE logins SET revoked_at_ms = $2 WHERE id = $1 AND revoked_at_ms IS NULL",
        )
        .bind(login_id.to_string())
        .bind(int(now_ms))
        .execute(&self.pool)
        .await?;
        Ok(updated.rows_affected() == 1)
    }

    /// Stores a refresh token by its hash.
    pub(crate) async fn insert_refresh_token(
        &self,
        token_hash: &str,
        login_id: Uuid,
        expires_at_ms: u64,
    ) -> Result<()> {
        let _timer = self.time("insert_refresh_token");
        sqlx::query(
            "INSERT INTO refresh_tokens (token_hash, login_id, expires_at_ms) VALUES ($1, $2, $3)",
        )
        .bind(token_hash.to_owned())
        .bind(login_id.to_string())
        .bind(int(expires_at_ms))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Spends a refresh token atomically: two concurrent spends of one token see one `Spent`
    /// and one `Reused`.
    ///
    /// The conditional update is the whole decision: only the spend that finds the token
    /// unspent, unexpired and its login active marks it. Whoever finds nothing to mark reads
    /// why afterwards; a replayed token is `Reused` even once expired or revoked, so the caller
    /// always learns of a replay.
    pub(crate) async fn spend_refresh_token(&self, token_hash: &str, now_ms: u64) -> Result<Spend> {
        let _timer = self.time("spend_refresh_token");
        let spent = sqlx::query(
            "UPDATE refresh_tokens SET spent_at_ms = $2 \
             WHERE token_hash = $1 AND spent_at_ms IS NULL AND expires_at_ms > $2 \
             AND login_id IN (SELECT id FROM logins WHERE revoked_at_ms IS NULL) \
             RETURNING login_id",
        )
        .bind(token_hash.to_owned())
        .bind(int(now_ms))
        .fetch_optional(&self.pool)
        .await?;
        if let Some(row) = spent {
            let login_id = get_uuid(&row, "login_id")?;
            let user = sqlx::query("SELECT user_id FROM logins WHERE id = $1")
                .bind(login_id.to_string())
                .fetch_one(&self.pool)
                .await?;
            return Ok(Spend::Spent {
                login_id,
                user_id: rows::get_user_id(&user, "user_id")?,
            });
        }
        let found =
            sqlx::query("SELECT login_id, spent_at_ms FROM refresh_tokens WHERE token_hash = $1")
                .bind(token_hash.to_owned())
                .fetch_optional(&self.pool)
                .await?;
        let Some(row) = found else {
            return Ok(Spend::Unknown);
        };
        match rows::get_opt_u64(&row, "spent_at_ms")? {
            Some(_) => Ok(Spend::Reused {
                login_id: get_uuid(&row, "login_id")?,
            }),
            None => Ok(Spend::Expired),
        }
    }
}

/// A unique violation as `Conflict`; other failures as they are.
pub(super) fn conflict_if_taken(error: sqlx::Error) -> Error {
    match &error {
        sqlx::Error::Database(e) if e.is_unique_violation() => Error::Conflict,
        _ => Error::Database(error),
    }
}

fn get_uuid(row: &sqlx::any::AnyRow, column: &str) -> Result<Uuid> {
    rows::get_parsed(row, column, Uuid::parse_str)
}
