//! Refresh tokens: opaque random strings handed to the client once; the database keeps only
//! their SHA-256 digest, so a leaked database cannot be replayed as logins.
//!
//! A fast unsalted hash is enough here, unlike for passwords: the token carries 256 bits of
//! randomness, so there is nothing to guess and no dictionary to precompute.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::TryRngCore;
use rand::rngs::OsRng;
use sha2::{Digest, Sha256};
use streamit_protocol::v1::RefreshToken;

/// Bytes of randomness in a token.
const TOKEN_BYTES: usize = 32;

/// A new token: 32 bytes from the operating system, base64url without padding (43 characters).
pub(crate) fn generate() -> RefreshToken {
    let mut bytes = [0u8; TOKEN_BYTES];
    OsRng
        .try_fill_bytes(&mut bytes)
        .expect("the operating system's random source does not fail once the system is up");
    RefreshToken::new(&URL_SAFE_NO_PAD.encode(bytes))
        .expect("43 base64url characters are within the refresh token rule")
}

/// The form a token is stored and looked up in: SHA-256 of its text, lowercase hex.
pub(crate) fn digest(token: &RefreshToken) -> String {
    format!("{:x}", Sha256::digest(token.as_str().as_bytes()))
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn tokens_are_43_base64url_characters() {
        let token = generate();
        let text = token.as_str();
        assert_eq!(text.len(), 43);
        assert!(
            text.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
            "{text}"
        );
        assert_eq!(URL_SAFE_NO_PAD.decode(text).unwrap().len(), 32);
    }

    #[test]
    fn tokens_do_not_repeat() {
        let tokens: HashSet<String> = (0..1000).map(|_| generate().into_string()).collect();
        assert_eq!(tokens.len(), 1000);
    }

    #[test]
    fn digest_is_sha256_lowercase_hex() {
        let token = RefreshToken::new("abc").unwrap();
        assert_eq!(
            digest(&token),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn digest_is_stable_and_distinct() {
        let a = generate();
        let b = generate();
        assert_eq!(digest(&a), digest(&a.clone()));
        assert_ne!(digest(&a), digest(&b));
        let d = digest(&a);
        assert_eq!(d.len(), 64);
        assert!(d.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f')), "{d}");
        assert!(!d.contains(a.as_str()));
    }
}
