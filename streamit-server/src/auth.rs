//! Accounts and logins: registration, login, guests, refresh-token rotation with reuse
//! detection, logout, and turning an access token into the [`Caller`].
//!
//! A login (the token's `sid`) is the unit of revocation: logout, or a replayed refresh
//! token, revokes it, and every access token of that login stops working at once because each
//! request checks the login in the store.

mod jwt;
mod keys;
pub(crate) mod password;
mod refresh;

use std::time::Duration;

use rand::Rng as _;
use streamit_protocol::v1::{
    AuthResponse, DisplayName, ErrorCode, GuestRequest, LoginRequest, LogoutRequest,
    RefreshRequest, RegisterRequest, TokenPair, User, UserId,
};
use uuid::Uuid;

use crate::clock::now_ms;
use crate::config::Config;
use crate::error::{ApiError, ApiResult};
use crate::store::{self, NewUser, Spend, Store};
use jwt::Jwt;
pub(crate) use keys::KeyRing;

/// Who is calling: the user of a verified access token whose login is still active.
#[derive(Clone, Debug)]
pub(crate) struct Caller {
    pub(crate) user_id: UserId,
    pub(crate) login_id: Uuid,
}

pub(crate) struct Auth {
    store: Store,
    jwt: Jwt,
    refresh_ttl: Duration,
}

fn unauthorized() -> ApiError {
    ApiError::new(ErrorCode::Unauthorized, "a valid access token is required")
}

fn invalid_credentials() -> ApiError {
    ApiError::new(ErrorCode::InvalidCredentials, "wrong e-mail or password")
}

/// What spending a refresh token did.
pub(crate) enum Refreshed {
    /// A new pair for the same login.
    Issued(TokenPair),
    /// The token was spent before: the login is revoked now, and the caller answers with
    /// [`invalid_refresh`] once the login's sockets are told.
    Replayed(Uuid),
}

pub(crate) fn invalid_refresh() -> ApiError {
    ApiError::new(
        ErrorCode::InvalidToken,
        "the refresh token is expired, revoked or spent",
    )
}

impl Auth {
    pub(crate) fn new(store: Store, keys: &KeyRing, config: &Config) -> Self {
        Self {
            store,
            jwt: Jwt::new(keys, config.access_ttl()),
            refresh_ttl: config.refresh_ttl(),
        }
    }

    pub(crate) async fn register(&self, request: RegisterRequest) -> ApiResult<AuthResponse> {
        let hash = password::hash_off_thread(request.password.as_str().to_owned()).await?;
        let new = NewUser {
            id: UserId::from_uuid(Uuid::new_v4()),
            email: Some(request.email),
            password_hash: Some(hash),
            display_name: request.display_name,
            is_guest: false,
            created_at_ms: now_ms(),
        };
        let user = match self.store.create_user(new).await {
            Err(store::Error::Conflict) => {
                return Err(ApiError::new(
                    ErrorCode::EmailTaken,
                    "that e-mail already has an account",
                ));
            }
            other => other?,
        };
        self.start_login(user).await
    }

    /// Unknown e-mail and wrong password answer alike, after the same Argon2 work.
    pub(crate) async fn login(&self, request: LoginRequest) -> ApiResult<AuthResponse> {
        let found = self.store.user_by_email(&request.email).await?;
        let password = request.password.as_str().to_owned();
        let Some(found) = found else {
            password::verify_dummy_off_thread(password).await?;
            return Err(invalid_credentials());
        };
        let Some(hash) = found.password_hash else {
            return Err(invalid_credentials());
        };
        let valid = password::verify_off_thread(password, hash).await?;
        if !valid {
            return Err(invalid_credentials());
        }
        self.start_login(found.user).await
    }

    pub(crate) async fn guest(&self, request: GuestRequest) -> ApiResult<AuthResponse> {
        let display_name = match request.display_name {
            Some(name) => name,
            None => {
                let number = rand::rng().random_range(1000..10_000);
                DisplayName::new(&format!("Guest-{number}"))
                    .expect("Guest-NNNN is a valid display name")
            }
        };
        let new = NewUser {
            id: UserId::from_uuid(Uuid::new_v4()),
            email: None,
            password_hash: None,
            display_name,
            is_guest: true,
            created_at_ms: now_ms(),
        };
        let user = self.store.create_user(new).await?;
        self.start_login(user).await
    }

    /// Spends the refresh token for a new pair of the same login. A token spent twice means it
    /// leaked: the whole login is revoked, so the thief's copy dies with the owner's, and the
    /// caller must close the login's sockets as logout does.
    pub(crate) async fn refresh(&self, request: RefreshRequest) -> ApiResult<Refreshed> {
        let now = now_ms();
        match self
            .store
            .spend_refresh_token(&refresh::digest(&request.refresh), now)
            .await?
        {
            Spend::Spent { login_id, user_id } => {
                let user = self
                    .store
                    .user(user_id)
                    .await?
                    .ok_or_else(invalid_refresh)?;
                Ok(Refreshed::Issued(self.issue(&user, login_id, now).await?))
            }
            // Only the replay that revokes the login tells its sockets: later replays of a
            // token of a dead login change nothing and must not cost a message to every room.
            Spend::Reused { login_id } => {
                if self.store.revoke_login(login_id, now).await? {
                    tracing::warn!(%login_id, "refresh token reused; login revoked");
                    Ok(Refreshed::Replayed(login_id))
                } else {
                    Err(invalid_refresh())
                }
            }
            Spend::Expired | Spend::Unknown => Err(invalid_refresh()),
        }
    }

    /// Ends the caller's login: its access and refresh tokens stop working.
    pub(crate) async fn logout(&self, caller: &Caller, _request: LogoutRequest) -> ApiResult<()> {
        self.store.revoke_login(caller.login_id, now_ms()).await?;
        Ok(())
    }

    /// The caller behind an access token, if the token is valid and its login active.
    pub(crate) async fn authenticate(&self, token: &str) -> ApiResult<Caller> {
        let caller = self.verify(token)?;
        if !self.store.login_active(caller.login_id).await? {
            return Err(unauthorized());
        }
        Ok(caller)
    }

    /// The caller a token names, checking only its signature and expiry: the caller must still
    /// check the login is active (the WebSocket admission does it in its one read).
    pub(crate) fn verify(&self, token: &str) -> ApiResult<Caller> {
        let claims = self.jwt.verify(token, now_ms()).map_err(|e| {
            tracing::debug!(error = %e, "access token refused");
            unauthorized()
        })?;
        Ok(Caller {
            user_id: claims.sub,
            login_id: claims.sid,
        })
    }

    pub(crate) async fn me(&self, caller: &Caller) -> ApiResult<User> {
        self.store
            .user(caller.user_id)
            .await?
            .ok_or_else(unauthorized)
    }

    async fn start_login(&self, user: User) -> ApiResult<AuthResponse> {
        let now = now_ms();
        let login_id = Uuid::new_v4();
        self.store.create_login(login_id, user.id, now).await?;
        let tokens = self.issue(&user, login_id, now).await?;
        Ok(AuthResponse::new(user, tokens))
    }

    async fn issue(&self, user: &User, login_id: Uuid, now: u64) -> ApiResult<TokenPair> {
        let (access, expires_at_ms) = self.jwt.issue(user, login_id, now);
        let refresh = refresh::generate();
        let refresh_expires =
            now.saturating_add(u64::try_from(self.refresh_ttl.as_millis()).unwrap_or(u64::MAX));
        self.store
            .insert_refresh_token(&refresh::digest(&refresh), login_id, refresh_expires)
            .await?;
        Ok(TokenPair::new(access, refresh, expires_at_ms))
    }
}

/// The bearer token of `Authorization: Bearer …`, if the request carries one.
pub(crate) fn bearer(headers: &http::HeaderMap) -> Option<&str> {
    let value = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}
