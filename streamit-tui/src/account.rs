//! Who this run is: a [`Client`] for the chosen server, signed in with the profile's stored
//! login, or as a new guest when there is none, and the login written back as it changes
//! (refresh tokens are single use, so a run that refreshed must store the new pair).

use std::time::Duration;

use streamit_client::protocol::v1::{DisplayName, TokenPair, User};
use streamit_client::{Client, SessionOptions};

use crate::credentials::{CredentialsError, Profile, Saved};
use crate::failure::Failure;

/// How long one HTTP call may take: a slow login (Argon2) fits, a dead server is noticed.
const HTTP_TIMEOUT: Duration = Duration::from_secs(15);

/// The signed-in (or not yet signed-in) user of this run, and where their login is stored.
#[derive(Clone, Debug)]
pub(crate) struct Account {
    client: Client,
    profile: Profile,
    server: String,
    /// The tokens as last stored, to store only changes.
    stored: Option<TokenPair>,
}

impl Account {
    /// A client for `server` holding the login stored in `profile`, if any.
    pub(crate) fn open(server: &str, profile: &str) -> Result<Self, Failure> {
        let profile = Profile::open(profile)?;
        let saved = profile.load(server)?;
        let session = SessionOptions::default()
            .reconnect_delays(Duration::from_millis(300), Duration::from_secs(5));
        let mut builder = Client::builder(server)
            .timeout(HTTP_TIMEOUT)
            .user_agent(concat!("streamit-tui/", env!("CARGO_PKG_VERSION")))
            .session_options(session);
        let stored = saved.map(|saved| saved.tokens);
        if let Some(tokens) = &stored {
            builder = builder.tokens(tokens.clone());
        }
        Ok(Self {
            client: builder.build()?,
            profile,
            server: server.to_owned(),
            stored,
        })
    }

    /// The SDK client.
    pub(crate) fn client(&self) -> &Client {
        &self.client
    }

    /// Whether a login is held (stored or made in this run).
    pub(crate) fn is_signed_in(&self) -> bool {
        self.client.is_signed_in()
    }

    /// The signed-in user: asked of the server when the stored login is all there is, so a
    /// login that ended is found out here rather than halfway through a command.
    pub(crate) async fn user(&mut self) -> Result<User, Failure> {
        let user = match self.client.user() {
            Some(user) => user,
            None => self.client.me().await?,
        };
        self.store()?;
        Ok(user)
    }

    /// The stored login, or else a new guest named `name` (stored for the next run).
    pub(crate) async fn sign_in(&mut self, name: Option<&str>) -> Result<User, Failure> {
        if self.is_signed_in() {
            return self.user().await;
        }
        self.guest(name).await
    }

    /// A new guest, replacing any login.
    pub(crate) async fn guest(&mut self, name: Option<&str>) -> Result<User, Failure> {
        let name = name
            .map(DisplayName::new)
            .transpose()
            .map_err(|error| Failure::input("display name", error.to_string()))?;
        let answer = self.client.guest(name).await?;
        self.store()?;
        Ok(answer.user)
    }

    /// Writes the client's current tokens to the profile when they changed since the last
    /// write; removes the file when the client holds none (logged out, or refused).
    pub(crate) fn store(&mut self) -> Result<(), CredentialsError> {
        let tokens = self.client.tokens();
        if tokens == self.stored {
            return Ok(());
        }
        match &tokens {
            Some(tokens) => self.profile.save(&Saved {
                server: self.server.clone(),
                tokens: tokens.clone(),
                user: self.client.user(),
            })?,
            None => self.profile.remove()?,
        }
        self.stored = tokens;
        Ok(())
    }
}
