//! Accounts and tokens: the bodies of `/api/auth/*` and the user types everyone shares.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::ids::UserId;
use super::text::{AccessToken, DisplayName, Email, Password, RefreshToken};

/// A user as other people see them: `{id, display_name}`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct UserRef {
    /// The user's id.
    pub id: UserId,
    /// The user's display name.
    pub display_name: DisplayName,
}

impl UserRef {
    /// Builds the reference.
    pub const fn new(id: UserId, display_name: DisplayName) -> Self {
        Self { id, display_name }
    }
}

/// A user as they see themselves (`GET /api/auth/me/`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct User {
    /// The user's id.
    pub id: UserId,
    /// The user's display name.
    pub display_name: DisplayName,
    /// The account's e-mail; absent for guests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<Email>,
    /// Whether this is a guest (no e-mail or password; may still create and host rooms).
    pub is_guest: bool,
    /// Server clock at creation, Unix epoch ms.
    pub created_at_ms: u64,
}

impl User {
    /// A user without an e-mail.
    pub const fn new(
        id: UserId,
        display_name: DisplayName,
        is_guest: bool,
        created_at_ms: u64,
    ) -> Self {
        Self {
            id,
            display_name,
            email: None,
            is_guest,
            created_at_ms,
        }
    }

    /// The public part of the user.
    pub fn to_ref(&self) -> UserRef {
        UserRef::new(self.id, self.display_name.clone())
    }
}

/// `POST /api/auth/register/` body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct RegisterRequest {
    /// E-mail address (trimmed and lower-cased).
    pub email: Email,
    /// Password: at least 8 characters.
    pub password: Password,
    /// Display name: 1 to 32 characters.
    pub display_name: DisplayName,
}

impl RegisterRequest {
    /// Builds the body.
    pub const fn new(email: Email, password: Password, display_name: DisplayName) -> Self {
        Self {
            email,
            password,
            display_name,
        }
    }
}

/// `POST /api/auth/login/` body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct LoginRequest {
    /// E-mail address.
    pub email: Email,
    /// Password.
    pub password: Password,
}

impl LoginRequest {
    /// Builds the body.
    pub const fn new(email: Email, password: Password) -> Self {
        Self { email, password }
    }
}

/// `POST /api/auth/guest/` body.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct GuestRequest {
    /// Display name; the server picks one like `Guest-4821` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<DisplayName>,
}

impl GuestRequest {
    /// A guest with the given name, or a server-picked one.
    pub const fn new(display_name: Option<DisplayName>) -> Self {
        Self { display_name }
    }
}

/// `POST /api/auth/refresh/` body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct RefreshRequest {
    /// The refresh token to spend.
    pub refresh: RefreshToken,
}

impl RefreshRequest {
    /// Builds the body.
    pub const fn new(refresh: RefreshToken) -> Self {
        Self { refresh }
    }
}

/// `POST /api/auth/logout/` body.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct LogoutRequest {
    /// The login's refresh token; the access token alone also ends the login.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh: Option<RefreshToken>,
}

impl LogoutRequest {
    /// Builds the body.
    pub const fn new(refresh: Option<RefreshToken>) -> Self {
        Self { refresh }
    }
}

/// A fresh access token and the refresh token to renew it (`POST /api/auth/refresh/`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct TokenPair {
    /// Access token (JWT), 15 minutes by default.
    pub access: AccessToken,
    /// Refresh token, single use, 30 days.
    pub refresh: RefreshToken,
    /// When the access token expires, server clock, Unix epoch ms.
    pub access_expires_at_ms: u64,
}

impl TokenPair {
    /// Builds the pair.
    pub const fn new(
        access: AccessToken,
        refresh: RefreshToken,
        access_expires_at_ms: u64,
    ) -> Self {
        Self {
            access,
            refresh,
            access_expires_at_ms,
        }
    }
}

/// Register, login and guest answer: the user and their tokens.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[non_exhaustive]
pub struct AuthResponse {
    /// The user.
    pub user: User,
    /// Access token (JWT).
    pub access: AccessToken,
    /// Refresh token.
    pub refresh: RefreshToken,
    /// When the access token expires, server clock, Unix epoch ms.
    pub access_expires_at_ms: u64,
}

impl AuthResponse {
    /// Builds the answer.
    pub fn new(user: User, tokens: TokenPair) -> Self {
        Self {
            user,
            access: tokens.access,
            refresh: tokens.refresh,
            access_expires_at_ms: tokens.access_expires_at_ms,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ID: &str = "67e55044-10b1-426f-9247-bb680e5fe0c8";

    #[test]
    fn auth_response_wire_shape() {
        let wire = json!({
            "user": {"id": ID, "display_name": "Ada", "email": "ada@example.com", "is_guest": false, "created_at_ms": 5},
            "access": "a.b.c", "refresh": "r1", "access_expires_at_ms": 900_005
        });
        let parsed: AuthResponse = serde_json::from_value(wire.clone()).unwrap();
        assert_eq!(
            parsed.user.email.as_ref().unwrap().as_str(),
            "ada@example.com"
        );
        assert_eq!(serde_json::to_value(&parsed).unwrap(), wire);
    }

    #[test]
    fn guest_user_omits_email() {
        let user = User::new(
            ID.parse().unwrap(),
            DisplayName::new("Guest-4821").unwrap(),
            true,
            7,
        );
        assert_eq!(
            serde_json::to_value(&user).unwrap(),
            json!({"id": ID, "display_name": "Guest-4821", "is_guest": true, "created_at_ms": 7})
        );
    }

    #[test]
    fn request_bodies() {
        let register: RegisterRequest = serde_json::from_value(
            json!({"email": "A@B.io", "password": "hunter2hunter2", "display_name": " Ada ", "extra": 1}),
        )
        .unwrap();
        assert_eq!(register.display_name.as_str(), "Ada");
        assert!(
            serde_json::from_value::<RegisterRequest>(
                json!({"email": "a@b.io", "password": "short", "display_name": "A"})
            )
            .is_err()
        );
        let guest: GuestRequest = serde_json::from_value(json!({"display_name": null})).unwrap();
        assert_eq!(guest, GuestRequest::default());
        assert_eq!(
            serde_json::to_value(LogoutRequest::default()).unwrap(),
            json!({})
        );
        let refresh: RefreshRequest = serde_json::from_value(json!({"refresh": "tok"})).unwrap();
        assert_eq!(
            serde_json::to_value(&refresh).unwrap(),
            json!({"refresh": "tok"})
        );
        let login: LoginRequest =
            serde_json::from_value(json!({"email": "a@b.io", "password": "12345678"})).unwrap();
        assert_eq!(
            serde_json::to_value(&login).unwrap(),
            json!({"email": "a@b.io", "password": "12345678"})
        );
        let pair = TokenPair::new(
            AccessToken::new("x").unwrap(),
            RefreshToken::new("y").unwrap(),
            1,
        );
        assert_eq!(
            serde_json::to_value(&pair).unwrap(),
            json!({"access": "x", "refresh": "y", "access_expires_at_ms": 1})
        );
    }
}
