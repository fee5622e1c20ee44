//! One identity's login: its tokens and user, the bearer they put on calls, and the refresh
//! that replaces an expired access token.
//!
//! [`Auth`] is all a room session needs of a client (a token to connect with, a refresh after
//! 4001), so sessions hold one of these instead of the whole [`Client`](crate::Client).

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use reqwest::StatusCode;
use streamit_protocol::v1::endpoints::Refresh;
use streamit_protocol::v1::{
    AccessToken, AuthResponse, ErrorCode, RefreshRequest, TokenPair, User,
};

use crate::error::{Error, Result};
use crate::http::{self, Call, Http, Success};

/// The login of one identity, on a connection pool it may share with others. Cheap to
/// clone: clones share the login.
#[derive(Clone, Debug)]
pub(crate) struct Auth {
    http: Http,
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    login: Mutex<Login>,
    /// Serialises refreshes: a refresh token is single use, and spending it twice revokes
    /// the whole login.
    refresh_gate: tokio::sync::Mutex<()>,
}

/// The signed-in user's tokens and, once known, the user.
#[derive(Debug, Default)]
struct Login {
    tokens: Option<TokenPair>,
    user: Option<User>,
}

impl Auth {
    /// A login on `http`, signed in with `tokens` or signed out.
    pub(crate) fn new(http: Http, tokens: Option<TokenPair>) -> Self {
        let inner = Inner {
            login: Mutex::new(Login { tokens, user: None }),
            refresh_gate: tokio::sync::Mutex::default(),
        };
        Self {
            http,
            inner: Arc::new(inner),
        }
    }

    /// The current tokens; `None` when signed out.
    pub(crate) fn tokens(&self) -> Option<TokenPair> {
        self.login().tokens.clone()
    }

    /// The access token to use now.
    pub(crate) fn access_token(&self) -> Option<AccessToken> {
        self.login().tokens.as_ref().map(|t| t.access.clone())
    }

    /// The signed-in user, as last seen.
    pub(crate) fn user(&self) -> Option<User> {
        self.login().user.clone()
    }

    /// Keeps the user a `me` call returned.
    pub(crate) fn set_user(&self, user: User) {
        self.login().user = Some(user);
    }

    /// Keeps the tokens and user of a register, login or guest answer.
    pub(crate) fn signed_in(&self, answer: &AuthResponse) {
        *self.login() = Login {
            tokens: Some(TokenPair::new(
                answer.access.clone(),
                answer.refresh.clone(),
                answer.access_expires_at_ms,
            )),
            user: Some(answer.user.clone()),
        };
    }

    /// Forgets the tokens and the user.
    pub(crate) fn sign_out(&self) {
        *self.login() = Login::default();
    }

    /// Sends `call`, with the access token when it needs one; on `401 UNAUTHORIZED`
    /// refreshes once and sends it once more.
    pub(crate) async fn execute(&self, call: &Call) -> Result<Success> {
        let token = if call.auth {
            Some(self.access_token().ok_or(Error::NotSignedIn)?)
        } else {
            None
        };
        let response = self.http.send(call, token.as_ref()).await?;
        let Some(used) = token.filter(|_| response.status() == StatusCode::UNAUTHORIZED) else {
            return http::finish(response).await;
        };
        let refused = http::api_error(response).await;
        if refused.code != ErrorCode::Unauthorized {
            return Err(refused.into());
        }
        match self.refresh_after(&used).await {
            Ok(pair) => http::finish(self.http.send(call, Some(&pair.access)).await?).await,
            Err(error) => {
                tracing::debug!(%error, "refreshing the access token failed");
                Err(refused.into())
            }
        }
    }

    /// Refreshes the tokens unless someone already replaced `used` (then their pair is
    /// current and is returned), so concurrent callers spend the refresh token once.
    ///
    /// A refusal (`401 INVALID_TOKEN`) means the login is over: the tokens are forgotten.
    pub(crate) async fn refresh_after(&self, used: &AccessToken) -> Result<TokenPair> {
        let _gate = self.inner.refresh_gate.lock().await;
        let refresh = {
            let login = self.login();
            match &login.tokens {
                None => return Err(Error::NotSignedIn),
                Some(tokens) if tokens.access != *used => return Ok(tokens.clone()),
                Some(tokens) => tokens.refresh.clone(),
            }
        };
        let body = RefreshRequest::new(refresh.clone());
        let call = self.http.call::<Refresh>(&(), &(), &body)?;
        // Sent once, without the refresh-and-retry of `execute`: it is the refresh.
        let answer = match self.http.send(&call, None).await {
            Ok(response) => http::finish(response).await,
            Err(error) => Err(error),
        };
        match answer.and_then(|success| http::decode::<TokenPair>(call.what, success)) {
            Ok(pair) => {
                self.login().tokens = Some(pair.clone());
                Ok(pair)
            }
            Err(Error::Api(api)) if api.status == 401 => {
                let mut login = self.login();
                if login.tokens.as_ref().is_some_and(|t| t.refresh == refresh) {
                    *login = Login::default();
                }
                Err(Error::Api(api))
            }
            Err(other) => Err(other),
        }
    }

    fn login(&self) -> MutexGuard<'_, Login> {
        // The sections are plain assignments; a panic cannot leave the login half-written.
        self.inner
            .login
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}
