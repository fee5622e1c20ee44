//! Password hashing: Argon2id with the `argon2` crate's default parameters (the OWASP
//! recommendation: 19 MiB, 2 passes, 1 lane), stored as PHC strings so the parameters travel
//! with each hash and can be raised later without breaking old accounts.
//!
//! Every check here is deliberately slow (tens of milliseconds of CPU and 19 MiB of memory), so
//! the server calls the `*_off_thread` forms, which run on `tokio::task::spawn_blocking`, never
//! on a runtime worker.

use std::hint::black_box;
use std::sync::LazyLock;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{self, SaltString};
use argon2::{Argon2, PasswordHash, PasswordHasher, PasswordVerifier};

use crate::error::{ApiError, ApiResult};

/// Hashing failed; with the default parameters and a fresh salt this means a broken
/// environment, so callers answer `INTERNAL`.
#[derive(Debug, thiserror::Error)]
#[error("hashing the password failed")]
pub(crate) struct PasswordError(#[from] password_hash::Error);

/// Hashes `password` with a fresh random salt.
///
/// # Errors
/// When Argon2 refuses the input, which the default parameters only do for passwords over
/// 4 GiB.
pub(crate) fn hash(password: &str) -> Result<String, PasswordError> {
    let salt = SaltString::generate(&mut OsRng);
    let phc = Argon2::default().hash_password(password.as_bytes(), &salt)?;
    Ok(phc.to_string())
}

/// Whether `password` matches `phc`, using the parameters recorded in `phc`.
///
/// A malformed or non-Argon2 `phc` counts as a mismatch: a corrupt row must refuse the login,
/// not take the server down.
pub(crate) fn verify(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

/// Spends as long as [`verify`] against a real hash, for logins with an unknown e-mail.
///
/// Without it an unknown e-mail answers in microseconds and a wrong password in tens of
/// milliseconds, which tells an attacker which addresses have accounts.
pub(crate) fn verify_dummy(password: &str) {
    black_box(verify(password, &DUMMY_HASH));
}

/// [`hash`], off the runtime's workers.
pub(crate) async fn hash_off_thread(password: String) -> ApiResult<String> {
    tokio::task::spawn_blocking(move || hash(&password))
        .await?
        .map_err(ApiError::internal)
}

/// [`verify`], off the runtime's workers.
pub(crate) async fn verify_off_thread(password: String, phc: String) -> ApiResult<bool> {
    Ok(tokio::task::spawn_blocking(move || verify(&password, &phc)).await?)
}

/// [`verify_dummy`], off the runtime's workers.
pub(crate) async fn verify_dummy_off_thread(password: String) -> ApiResult<()> {
    Ok(tokio::task::spawn_blocking(move || verify_dummy(&password)).await?)
}

/// A hash with the same parameters as every fresh hash, so checking against it costs the same.
///
/// Built on first use rather than hard-coded, so it follows the default parameters if a newer
/// `argon2` raises them.
static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    hash("streamit dummy password, never a real account's")
        .expect("hashing a short fixed password with default parameters cannot fail")
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_then_verify() {
        let phc = hash("correct horse battery staple").unwrap();
        assert!(verify("correct horse battery staple", &phc));
        assert!(!verify("correct horse battery stapler", &phc));
        assert!(!verify("", &phc));
    }

    #[test]
    fn hashes_are_argon2id_with_default_parameters() {
        let phc = hash("hunter2hunter2").unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
    }

    #[test]
    fn salts_are_random() {
        let a = hash("same password").unwrap();
        let b = hash("same password").unwrap();
        assert_ne!(a, b);
        assert!(verify("same password", &a));
        assert!(verify("same password", &b));
    }

    #[test]
    fn passwords_are_taken_as_typed() {
        let phc = hash(" spaced \u{e9} ").unwrap();
        assert!(verify(" spaced \u{e9} ", &phc));
        assert!(!verify("spaced \u{e9}", &phc));
        assert!(
            !verify(" spaced e\u{301} ", &phc),
            "no Unicode normalisation"
        );
    }

    #[test]
    fn malformed_hashes_never_match() {
        let real = hash("password1").unwrap();
        let truncated = &real[..real.len() - 10];
        let bad_params = real.replace("m=19456", "m=1");
        for phc in [
            "",
            "password1",
            "$argon2id$",
            "$argon2id$v=19$m=19456,t=2,p=1$",
            truncated,
            &bad_params,
            "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW",
            "$pbkdf2-sha256$i=600000,l=32$c2FsdHNhbHQ$YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXoxMjM0NTY",
        ] {
            assert!(!verify("password1", phc), "{phc:?}");
        }
    }

    #[test]
    fn dummy_costs_what_a_real_verify_costs() {
        verify_dummy("anything");
        let dummy = PasswordHash::new(&DUMMY_HASH).unwrap();
        let real_phc = hash("a real password").unwrap();
        let real = PasswordHash::new(&real_phc).unwrap();
        assert_eq!(dummy.algorithm, real.algorithm);
        assert_eq!(dummy.version, real.version);
        assert_eq!(dummy.params, real.params);
        assert!(!verify("anything", &DUMMY_HASH));
    }
}
