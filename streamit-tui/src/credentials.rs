//! Stored logins: one file per profile under the user's config directory, readable by the
//! user only, so a later run (or another terminal) goes on as the same user.

use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use streamit_client::protocol::v1::{TokenPair, User};

/// What went wrong with the credentials file.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CredentialsError {
    /// Neither `XDG_CONFIG_HOME` nor `HOME` says where the config directory is.
    #[error("no config directory: set XDG_CONFIG_HOME or HOME")]
    NoConfigDir,
    /// Profile names become file names, so they are kept plain.
    #[error("profile name {0:?} must be 1 to 64 letters, digits, '-' or '_'")]
    BadProfile(String),
    /// Reading or writing the file failed.
    #[error("credentials file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// The file is not what this program writes.
    #[error("credentials file {path} is damaged ({source}); delete it or run `streamit logout`")]
    Damaged {
        /// The file.
        path: PathBuf,
        /// The decoder's complaint.
        #[source]
        source: serde_json::Error,
    },
}

/// One profile's login.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Saved {
    /// The server the tokens belong to; tokens of another server are not used.
    pub(crate) server: String,
    /// The tokens, as last refreshed.
    pub(crate) tokens: TokenPair,
    /// Who they sign in, as last seen.
    pub(crate) user: Option<User>,
}

/// The credentials file of one profile.
#[derive(Clone, Debug)]
pub(crate) struct Profile {
    path: PathBuf,
}

impl Profile {
    /// The file of profile `name`: `$XDG_CONFIG_HOME/streamit/profiles/NAME.json`, or under
    /// `$HOME/.config` when `XDG_CONFIG_HOME` is unset (the XDG base directory rule).
    pub(crate) fn open(name: &str) -> Result<Self, CredentialsError> {
        let plain = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
        if name.is_empty() || name.len() > 64 || !name.chars().all(plain) {
            return Err(CredentialsError::BadProfile(name.to_owned()));
        }
        let config = config_dir().ok_or(CredentialsError::NoConfigDir)?;
        let path = config
            .join("streamit")
            .join("profiles")
            .join(format!("{name}.json"));
        Ok(Self { path })
    }

    /// The stored login for `server`; `None` when there is none, or it is another server's.
    pub(crate) fn load(&self, server: &str) -> Result<Option<Saved>, CredentialsError> {
        let text = match fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(self.io(source)),
        };
        let saved: Saved =
            serde_json::from_str(&text).map_err(|source| CredentialsError::Damaged {
                path: self.path.clone(),
                source,
            })?;
        Ok((saved.server == server).then_some(saved))
    }

    /// Stores a login, replacing the file in one step; the file is created mode 0600 (and its
    /// directory 0700) because the tokens sign in as the user.
    pub(crate) fn save(&self, saved: &Saved) -> Result<(), CredentialsError> {
        let dir = self.path.parent().expect("a profile path has a directory");
        create_private_dir(dir).map_err(|source| self.io(source))?;
        let text = serde_json::to_string_pretty(saved).expect("tokens and users serialise");
        let temporary = self.path.with_extension("json.new");
        // A leftover from a crashed write would keep its own mode; start afresh.
        let _ = fs::remove_file(&temporary);
        let mut file = private_file(&temporary).map_err(|source| self.io(source))?;
        file.write_all(text.as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(|source| self.io(source))?;
        fs::rename(&temporary, &self.path).map_err(|source| self.io(source))
    }

    /// Forgets the login; no file is fine.
    pub(crate) fn remove(&self) -> Result<(), CredentialsError> {
        match fs::remove_file(&self.path) {
            Ok(()) => Ok(()),
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(self.io(source)),
        }
    }

    fn io(&self, source: io::Error) -> CredentialsError {
        CredentialsError::Io {
            path: self.path.clone(),
            source,
        }
    }
}

/// `XDG_CONFIG_HOME` when set to an absolute path, else `$HOME/.config`.
fn config_dir() -> Option<PathBuf> {
    let xdg = std::env::var_os("XDG_CONFIG_HOME").map(PathBuf::from);
    if let Some(dir) = xdg.filter(|dir| dir.is_absolute()) {
        return Some(dir);
    }
    let home = std::env::var_os("HOME").map(PathBuf::from)?;
    Some(home.join(".config"))
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt as _;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> io::Result<()> {
    fs::create_dir_all(dir)
}

#[cfg(unix)]
fn private_file(path: &Path) -> io::Result<fs::File> {
    use std::os::unix::fs::OpenOptionsExt as _;
    fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
}

#[cfg(not(unix))]
fn private_file(path: &Path) -> io::Result<fs::File> {
    fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)
}
