//! Access tokens: HS256 JWTs carrying who the caller is and which login they belong to.
//!
//! Verification needs no database read; revocation (logout) is the caller's job, by `sid` or
//! `jti`. Expiry is checked against a time the caller passes in, so tests control the clock.

use std::fmt;
use std::time::Duration;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use streamit_protocol::v1::{AccessToken, User, UserId};
use uuid::Uuid;

use super::keys::KeyRing;

/// The claims of an access token, with their wire names.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Claims {
    /// The user.
    pub(crate) sub: UserId,
    /// Display name when the token was issued, for whoever reads the token; the server reads
    /// names from the store, where they are current.
    pub(crate) name: String,
    /// Whether the user is a guest.
    pub(crate) guest: bool,
    /// This token's own id, fresh for every token.
    pub(crate) jti: Uuid,
    /// The login (session) the token belongs to; logout revokes every token with this `sid`.
    pub(crate) sid: Uuid,
    /// Issued at, Unix epoch seconds (RFC 7519 `NumericDate`).
    pub(crate) iat: u64,
    /// Expires at, Unix epoch seconds; the token is refused from this second on.
    pub(crate) exp: u64,
}

/// Why a token was refused; every variant answers `UNAUTHORIZED`, the split is for logs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum InvalidToken {
    /// Not a JWT, or its claims are missing or mistyped.
    #[error("malformed access token")]
    Malformed,
    /// Signed with another key or another algorithm.
    #[error("access token signature does not verify")]
    BadSignature,
    /// Past its `exp`.
    #[error("access token expired")]
    Expired,
}

/// Issues access tokens with the signing secret and verifies them with any secret of the ring.
pub(crate) struct Jwt {
    encoding: EncodingKey,
    /// The signing secret's key first: nearly every token verifies on the first try.
    decoding: Vec<DecodingKey>,
    validation: Validation,
    /// How long a token lives.
    ttl: Duration,
}

impl Jwt {
    /// A signer and verifier for `keys`, issuing tokens that live `ttl`.
    pub(crate) fn new(keys: &KeyRing, ttl: Duration) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        // Expiry is checked in `verify` against the caller's clock; the library would use the
        // system clock and add 60 s of leeway.
        validation.validate_exp = false;
        validation.leeway = 0;
        validation.set_required_spec_claims(&["sub", "exp"]);
        Self {
            encoding: EncodingKey::from_secret(keys.signing.as_bytes()),
            decoding: keys
                .verifying()
                .map(|secret| DecodingKey::from_secret(secret.as_bytes()))
                .collect(),
            validation,
            ttl,
        }
    }

    /// A fresh token for `user` in login `sid`, and when it expires (Unix epoch ms).
    ///
    /// `exp` is whole seconds rounded down, and the returned expiry is exactly `exp` in
    /// milliseconds, so the client never believes a token lives longer than the server does.
    pub(crate) fn issue(&self, user: &User, sid: Uuid, now_ms: u64) -> (AccessToken, u64) {
        let ttl_ms = u64::try_from(self.ttl.as_millis()).unwrap_or(u64::MAX);
        let claims = Claims {
            sub: user.id,
            name: user.display_name.as_str().to_owned(),
            guest: user.is_guest,
            jti: Uuid::new_v4(),
            sid,
            iat: now_ms / 1000,
            exp: now_ms.saturating_add(ttl_ms) / 1000,
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .expect("HS256 with a secret key signs any claims that serialise, and these do");
        let token = AccessToken::new(&token)
            .expect("a JWT of these claims is a few hundred ASCII characters, within the limit");
        (token, claims.exp.saturating_mul(1000))
    }

    /// The claims of `token` when it is signed by a secret of the ring with HS256 and not
    /// expired at `now_ms` (Unix epoch ms).
    ///
    /// # Errors
    /// [`InvalidToken`] saying why the token is refused.
    pub(crate) fn verify(&self, token: &str, now_ms: u64) -> Result<Claims, InvalidToken> {
        for key in &self.decoding {
            let claims = match jsonwebtoken::decode::<Claims>(token, key, &self.validation) {
                Ok(data) => data.claims,
                // Perhaps signed by another secret of the ring.
                Err(e) if matches!(e.kind(), ErrorKind::InvalidSignature) => continue,
                Err(e) if matches!(e.kind(), ErrorKind::InvalidAlgorithm) => {
                    return Err(InvalidToken::BadSignature);
                }
                Err(_) => return Err(InvalidToken::Malformed),
            };
            if now_ms >= claims.exp.saturating_mul(1000) {
                return Err(InvalidToken::Expired);
            }
            return Ok(claims);
        }
        Err(InvalidToken::BadSignature)
    }
}

impl fmt::Debug for Jwt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Jwt")
            .field("algorithm", &Algorithm::HS256)
            .field("secret", &"<redacted>")
            .field("ttl", &self.ttl)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use serde_json::json;
    use streamit_protocol::v1::DisplayName;

    use super::*;

    const SECRET: &str = "0123456789abcdef0123456789abcdef";
    const NOW_MS: u64 = 1_700_000_000_123;
    const TTL: Duration = Duration::from_secs(15 * 60);

    fn ring(signing: &str, previous: &[&str]) -> KeyRing {
        KeyRing::from_texts(signing, previous).unwrap()
    }

    fn user(guest: bool) -> User {
        let id = UserId::from_uuid(Uuid::new_v4());
        User::new(id, DisplayName::new("Ada").unwrap(), guest, 0)
    }

    fn payload(token: &str) -> serde_json::Value {
        let middle = token.split('.').nth(1).unwrap();
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(middle).unwrap()).unwrap()
    }

    fn sign(claims: &serde_json::Value, algorithm: Algorithm, secret: &[u8]) -> String {
        let key = EncodingKey::from_secret(secret);
        jsonwebtoken::encode(&Header::new(algorithm), claims, &key).unwrap()
    }

    #[test]
    fn issued_tokens_verify_with_their_claims() {
        let jwt = Jwt::new(&ring(SECRET, &[]), TTL);
        let ada = user(true);
        let sid = Uuid::new_v4();
        let (token, expires_at_ms) = jwt.issue(&ada, sid, NOW_MS);
        let claims = jwt.verify(token.as_str(), NOW_MS).unwrap();
        assert_eq!(claims.sub, ada.id);
        assert_eq!(claims.name, "Ada");
        assert!(claims.guest);
        assert_eq!(claims.sid, sid);
        assert_eq!(claims.iat, 1_700_000_000);
        assert_eq!(claims.exp, 1_700_000_900);
        assert_eq!(expires_at_ms, 1_700_000_900_000);
    }

    #[test]
    fn claims_have_their_wire_names_and_seconds() {
        let jwt = Jwt::new(&ring(SECRET, &[]), TTL);
        let ada = user(false);
        let sid = Uuid::new_v4();
        let (token, _) = jwt.issue(&ada, sid, NOW_MS);
        let claims = jwt.verify(token.as_str(), NOW_MS).unwrap();
        assert_eq!(
            payload(token.as_str()),
            json!({
                "sub": ada.id.to_string(),
                "name": "Ada",
                "guest": false,
                "jti": claims.jti.to_string(),
                "sid": sid.to_string(),
                "iat": 1_700_000_000_u64,
                "exp": 1_700_000_900_u64,
            })
        );
        let header: serde_json::Value = serde_json::from_slice(
            &URL_SAFE_NO_PAD
                .decode(token.as_str().split('.').next().unwrap())
                .unwrap(),
        )
        .unwrap();
        assert_eq!(header["alg"], "HS256");
    }

    #[test]
    fn every_token_has_a_fresh_jti() {
        let jwt = Jwt::new(&ring(SECRET, &[]), TTL);
        let ada = user(false);
        let sid = Uuid::new_v4();
        let (a, _) = jwt.issue(&ada, sid, NOW_MS);
        let (b, _) = jwt.issue(&ada, sid, NOW_MS);
        assert_ne!(a, b);
        let (a, b) = (
            jwt.verify(a.as_str(), NOW_MS).unwrap(),
            jwt.verify(b.as_str(), NOW_MS).unwrap(),
        );
        assert_ne!(a.jti, b.jti);
        assert_eq!(a.sid, b.sid);
    }

    #[test]
    fn expiry_follows_the_given_clock() {
        let jwt = Jwt::new(&ring(SECRET, &[]), TTL);
        let (token, expires_at_ms) = jwt.issue(&user(false), Uuid::new_v4(), NOW_MS);
        assert!(expires_at_ms <= NOW_MS + 15 * 60 * 1000);
        assert!(expires_at_ms > NOW_MS + 15 * 60 * 1000 - 1000);
        assert!(jwt.verify(token.as_str(), expires_at_ms - 1).is_ok());
        assert_eq!(
            jwt.verify(token.as_str(), expires_at_ms),
            Err(InvalidToken::Expired)
        );
        assert_eq!(
            jwt.verify(token.as_str(), u64::MAX),
            Err(InvalidToken::Expired)
        );
    }

    #[test]
    fn the_system_clock_plays_no_part() {
        // Issued and checked in 1970: long expired by the real clock, and still valid here.
        let jwt = Jwt::new(&ring(SECRET, &[]), Duration::from_secs(60));
        let (token, _) = jwt.issue(&user(false), Uuid::new_v4(), 5_000);
        assert!(jwt.verify(token.as_str(), 64_999).is_ok());
        assert_eq!(
            jwt.verify(token.as_str(), 65_000),
            Err(InvalidToken::Expired)
        );
    }

    #[test]
    fn other_keys_and_algorithms_are_refused() {
        let jwt = Jwt::new(&ring(SECRET, &[]), TTL);
        let (token, _) = jwt.issue(&user(false), Uuid::new_v4(), NOW_MS);
        let other = Jwt::new(&ring("another secret, just as long....", &[]), TTL);
        assert_eq!(
            other.verify(token.as_str(), NOW_MS),
            Err(InvalidToken::BadSignature)
        );

        let claims = payload(token.as_str());
        let hs512 = sign(&claims, Algorithm::HS512, SECRET.as_bytes());
        assert_eq!(jwt.verify(&hs512, NOW_MS), Err(InvalidToken::BadSignature));
        assert!(
            jwt.verify(&sign(&claims, Algorithm::HS256, SECRET.as_bytes()), NOW_MS)
                .is_ok()
        );

        // `alg: none` with the signature dropped.
        let none = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        let body = token.as_str().split('.').nth(1).unwrap();
        assert!(jwt.verify(&format!("{none}.{body}."), NOW_MS).is_err());
    }

    #[test]
    fn tampered_claims_are_refused() {
        let jwt = Jwt::new(&ring(SECRET, &[]), TTL);
        let (token, _) = jwt.issue(&user(false), Uuid::new_v4(), NOW_MS);
        let mut claims = payload(token.as_str());
        claims["guest"] = json!(true);
        let forged_body = URL_SAFE_NO_PAD.encode(claims.to_string());
        let parts: Vec<&str> = token.as_str().split('.').collect();
        let forged = format!("{}.{forged_body}.{}", parts[0], parts[2]);
        assert_eq!(jwt.verify(&forged, NOW_MS), Err(InvalidToken::BadSignature));
    }

    #[test]
    fn malformed_tokens_are_refused() {
        let jwt = Jwt::new(&ring(SECRET, &[]), TTL);
        for token in ["", "abc", "a.b", "a.b.c", "...."] {
            assert_eq!(
                jwt.verify(token, NOW_MS),
                Err(InvalidToken::Malformed),
                "{token:?}"
            );
        }
        let (token, _) = jwt.issue(&user(false), Uuid::new_v4(), NOW_MS);
        let claims = payload(token.as_str());
        for missing in ["sub", "exp", "sid", "jti", "name"] {
            let mut partial = claims.clone();
            partial.as_object_mut().unwrap().remove(missing);
            let token = sign(&partial, Algorithm::HS256, SECRET.as_bytes());
            assert_eq!(
                jwt.verify(&token, NOW_MS),
                Err(InvalidToken::Malformed),
                "{missing}"
            );
        }
        let mut wrong_type = claims;
        wrong_type["exp"] = json!("soon");
        let token = sign(&wrong_type, Algorithm::HS256, SECRET.as_bytes());
        assert_eq!(jwt.verify(&token, NOW_MS), Err(InvalidToken::Malformed));
    }

    #[test]
    fn a_rotated_ring_signs_with_the_new_secret_and_still_verifies_the_old() {
        const NEW: &str = "a brand new secret, 32 bytes long";
        let old = Jwt::new(&ring(SECRET, &[]), TTL);
        let rotated = Jwt::new(&ring(NEW, &[SECRET]), TTL);
        let after = Jwt::new(&ring(NEW, &[]), TTL);
        let (before_rotation, _) = old.issue(&user(false), Uuid::new_v4(), NOW_MS);
        let (since_rotation, _) = rotated.issue(&user(false), Uuid::new_v4(), NOW_MS);
        assert!(rotated.verify(before_rotation.as_str(), NOW_MS).is_ok());
        assert!(rotated.verify(since_rotation.as_str(), NOW_MS).is_ok());
        assert!(
            after.verify(since_rotation.as_str(), NOW_MS).is_ok(),
            "the new secret signs"
        );
        assert_eq!(
            after.verify(before_rotation.as_str(), NOW_MS),
            Err(InvalidToken::BadSignature),
            "once the old secret is dropped, its tokens die"
        );
        let expired = NOW_MS + TTL.as_millis() as u64;
        assert_eq!(
            rotated.verify(before_rotation.as_str(), expired),
            Err(InvalidToken::Expired)
        );
    }

    #[test]
    fn debug_hides_the_secret() {
        let jwt = Jwt::new(&ring("super-secret-signing-key-32-bytes", &[]), TTL);
        let shown = format!("{jwt:?}");
        assert!(!shown.contains("super-secret"), "{shown}");
        assert!(shown.contains("<redacted>"), "{shown}");
    }
}
