//! The secrets that sign and verify access tokens, and where they come from.
//!
//! One secret signs; any number of previous ones still verify, so an operator rotates by adding
//! a new secret in front and removing the old one once its tokens have expired (one access-token
//! lifetime later). The sources, first found wins:
//! - `--jwt-secret` (and `--jwt-previous-secret`): the secrets themselves;
//! - `--jwt-secret-file`: a file holding one secret per line, the first signs;
//! - neither: a file beside the SQLite database, `<database>.jwt-secret`, made on first start
//!   with 32 random bytes (hex) and readable by its owner only. PostgreSQL has no "beside":
//!   every node of a cluster must be given the same secret, so there the server refuses to guess.
//!
//! A secret is the bytes of its text and must have at least [`MIN_SECRET_BYTES`]: HS256 with a
//! short secret is a password anyone can brute-force offline from one token.

use std::fmt;
use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use rand::RngCore as _;

use crate::config::Config;
use crate::{files, store};

/// The shortest secret accepted: HS256's full key strength.
pub(crate) const MIN_SECRET_BYTES: usize = 32;

/// Random bytes in a generated secret, written as hex.
const GENERATED_BYTES: usize = 32;

/// Why the server has no usable signing secret.
#[derive(Debug, thiserror::Error)]
pub(crate) enum KeyError {
    #[error(
        "{origin} is {len} bytes; a token-signing secret needs at least {MIN_SECRET_BYTES} \
         (make one with `openssl rand -hex 32`)"
    )]
    TooShort { origin: String, len: usize },
    #[error("{}: holds no secret", .0.display())]
    EmptyFile(PathBuf),
    #[error("{}: {error}", path.display())]
    File { path: PathBuf, error: io::Error },
    #[error(
        "with no SQLite file to keep one beside, the server needs a token-signing secret that \
         every node shares: give --jwt-secret, STREAMIT_JWT_SECRET or --jwt-secret-file"
    )]
    NoSharedSecret,
}

/// A secret's bytes, never shown.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Secret(Vec<u8>);

impl Secret {
    /// `text` as a secret, if it is long enough; `origin` names it in the refusal.
    fn checked(text: &str, origin: impl fmt::Display) -> Result<Self, KeyError> {
        if text.len() < MIN_SECRET_BYTES {
            return Err(KeyError::TooShort {
                origin: origin.to_string(),
                len: text.len(),
            });
        }
        Ok(Self(text.as_bytes().to_vec()))
    }

    pub(crate) fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// The signing secret and the previous ones that still verify.
#[derive(Clone, Debug)]
pub(crate) struct KeyRing {
    pub(crate) signing: Secret,
    pub(crate) previous: Vec<Secret>,
}

impl KeyRing {
    /// The secrets `config` names, or the generated file beside a SQLite database.
    pub(crate) fn load(config: &Config) -> Result<Self, KeyError> {
        if let Some(secret) = &config.jwt_secret {
            let previous: Vec<&str> = config.jwt_previous_secret.iter().map(|s| &**s).collect();
            return Self::from_texts(secret, &previous);
        }
        if let Some(path) = &config.jwt_secret_file {
            return read_file(path);
        }
        match store::sqlite_file(&config.database_url) {
            Some(database) => generated_beside(&database),
            None if store::is_sqlite(&config.database_url) => Ok(Self::ephemeral()),
            None => Err(KeyError::NoSharedSecret),
        }
    }

    /// The ring of `--jwt-secret` and `--jwt-previous-secret`.
    pub(crate) fn from_texts(signing: &str, previous: &[&str]) -> Result<Self, KeyError> {
        Ok(Self {
            signing: Secret::checked(signing, "--jwt-secret (STREAMIT_JWT_SECRET)")?,
            previous: previous
                .iter()
                .map(|s| Secret::checked(s, "--jwt-previous-secret (STREAMIT_JWT_PREVIOUS_SECRET)"))
                .collect::<Result<_, _>>()?,
        })
    }

    /// A fresh secret for an in-memory database: nothing outlives the process anyway.
    fn ephemeral() -> Self {
        Self {
            signing: Secret(generate().into_bytes()),
            previous: Vec::new(),
        }
    }

    /// Every secret that verifies, the signing one first.
    pub(crate) fn verifying(&self) -> impl Iterator<Item = &Secret> {
        std::iter::once(&self.signing).chain(&self.previous)
    }
}

/// `<database>.jwt-secret`, created 0600 on first start, read on every later one.
///
/// The secret is written to a file of its own first and linked into place whole, so a racing
/// start or a crash never leaves the real path empty: it is either absent or complete.
fn generated_beside(database: &Path) -> Result<KeyRing, KeyError> {
    let path = with_suffix(database, ".jwt-secret");
    if path.exists() {
        return read_file(&path);
    }
    let draft = with_suffix(
        database,
        &format!(
            ".jwt-secret.{}.{:x}",
            std::process::id(),
            rand::random::<u32>()
        ),
    );
    let file_error = |error| KeyError::File {
        path: path.clone(),
        error,
    };
    let secret = generate();
    let written = write_draft(&draft, &secret);
    let linked = written.and_then(|()| fs::hard_link(&draft, &path));
    let _ = fs::remove_file(&draft);
    match linked {
        Ok(()) => {
            tracing::info!(path = %path.display(), "made a token-signing secret");
            Ok(KeyRing {
                signing: Secret(secret.into_bytes()),
                previous: Vec::new(),
            })
        }
        // A racing start linked its own first: use that one, as every later start will.
        Err(error) if error.kind() == io::ErrorKind::AlreadyExists => read_file(&path),
        Err(error) => Err(file_error(error)),
    }
}

/// `path` with `suffix` added to its file name.
fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Writes `secret` to a fresh 0600 `draft`, replacing one a crash left behind, and syncs it.
fn write_draft(draft: &Path, secret: &str) -> io::Result<()> {
    let _ = fs::remove_file(draft);
    let mut file = files::create_private(draft)?;
    writeln!(file, "{secret}")?;
    file.sync_all()
}

/// One secret per line, the first signs; blank lines and surrounding whitespace are ignored.
fn read_file(path: &Path) -> Result<KeyRing, KeyError> {
    let text = fs::read_to_string(path).map_err(|error| KeyError::File {
        path: path.to_owned(),
        error,
    })?;
    warn_if_shared(path);
    let mut secrets = text
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .enumerate()
        .map(|(i, line)| Secret::checked(line, format_args!("{} line {}", path.display(), i + 1)));
    let signing = secrets
        .next()
        .ok_or_else(|| KeyError::EmptyFile(path.to_owned()))??;
    Ok(KeyRing {
        signing,
        previous: secrets.collect::<Result<_, _>>()?,
    })
}

/// Says so when others than the owner may read a secret file: anyone who can read it can sign
/// tokens as any user.
fn warn_if_shared(path: &Path) {
    if files::is_shared(path) == Some(true) {
        tracing::warn!(
            path = %path.display(),
            "others may read the token-signing secret; chmod 600 it"
        );
    }
}

/// 32 random bytes as 64 hex digits.
fn generate() -> String {
    let mut bytes = [0u8; GENERATED_BYTES];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(args: &[&str]) -> Config {
        use clap::Parser as _;
        Config::parse_from(std::iter::once("streamit-server").chain(args.iter().copied()))
    }

    const LONG: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn short_secrets_are_refused_whatever_their_source() {
        for secret in ["", "x", &LONG[1..]] {
            let error = KeyRing::load(&config(&["--jwt-secret", secret])).unwrap_err();
            assert!(
                matches!(error, KeyError::TooShort { len, .. } if len == secret.len()),
                "{error}"
            );
            assert!(error.to_string().contains("at least 32"), "{error}");
        }
        let error = KeyRing::load(&config(&[
            "--jwt-secret",
            LONG,
            "--jwt-previous-secret",
            "short",
        ]))
        .unwrap_err();
        assert!(
            error.to_string().contains("--jwt-previous-secret"),
            "{error}"
        );
    }

    #[test]
    fn a_secret_file_lists_the_signing_secret_first() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys");
        fs::write(&path, format!("\n  new-{LONG}  \n\nold-{LONG}\n")).unwrap();
        let ring = KeyRing::load(&config(&["--jwt-secret-file", path.to_str().unwrap()])).unwrap();
        assert_eq!(ring.signing.as_bytes(), format!("new-{LONG}").as_bytes());
        assert_eq!(ring.previous.len(), 1);
        assert_eq!(
            ring.previous[0].as_bytes(),
            format!("old-{LONG}").as_bytes()
        );

        fs::write(&path, format!("{LONG}\nshort\n")).unwrap();
        let error = KeyRing::load(&config(&["--jwt-secret-file", path.to_str().unwrap()]));
        assert!(error.unwrap_err().to_string().contains("line 2"));
        fs::write(&path, "\n \n").unwrap();
        let error = KeyRing::load(&config(&["--jwt-secret-file", path.to_str().unwrap()]));
        assert!(matches!(error, Err(KeyError::EmptyFile(_))));
        let missing = dir.path().join("missing");
        let error = KeyRing::load(&config(&["--jwt-secret-file", missing.to_str().unwrap()]));
        assert!(matches!(error, Err(KeyError::File { .. })));
    }

    #[cfg(unix)]
    #[test]
    fn the_generated_secret_is_the_owners_alone_and_kept() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("s.db").display());
        let first = KeyRing::load(&config(&["--database-url", &url])).unwrap();
        let path = dir.path().join("s.db.jwt-secret");
        let mode = fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(first.signing.as_bytes().len(), 2 * GENERATED_BYTES);
        let again = KeyRing::load(&config(&["--database-url", &url])).unwrap();
        assert_eq!(again.signing, first.signing);
    }

    #[test]
    fn starts_racing_to_make_the_secret_all_end_with_the_same_one() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("race.db").display());
        let rings: Vec<KeyRing> = std::thread::scope(|scope| {
            let starts: Vec<_> = (0..8)
                .map(|_| scope.spawn(|| KeyRing::load(&config(&["--database-url", &url]))))
                .collect();
            starts
                .into_iter()
                .map(|s| s.join().unwrap().unwrap())
                .collect()
        });
        assert!(rings.iter().all(|r| r.signing == rings[0].signing));
        let left: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(left.len(), 1, "only the secret itself, no drafts");
    }

    #[test]
    fn postgres_wants_a_shared_secret_and_memory_makes_its_own() {
        let error = KeyRing::load(&config(&["--database-url", "postgres://db/streamit"]));
        assert!(matches!(error, Err(KeyError::NoSharedSecret)));
        assert!(KeyRing::load(&config(&["--database-url", "sqlite::memory:"])).is_ok());
    }

    #[test]
    fn secrets_never_show() {
        let ring = KeyRing::load(&config(&["--jwt-secret", LONG])).unwrap();
        assert!(!format!("{ring:?}").contains(LONG));
    }
}
