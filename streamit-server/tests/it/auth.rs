//! Accounts (PROTOCOL §1 Auth): register, login, guests and `me`; tokens (refresh rotation with
//! reuse detection, logout, what an access token must be) are in `tokens`.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use streamit_protocol::v1::{AuthResponse, User};
use streamit_testing::backends;

use crate::support::{PASSWORD, Refusals, StatusCode, TestServer, keys};

mod secrets;
mod tokens;

/// The claims of an access token, read without checking the signature.
pub(super) fn claims(access: &str) -> Value {
    let payload = access.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

#[tokio::test]
async fn register_then_login_then_me() {
    for db in backends().await {
        let s = TestServer::start(&db.url, |_| {}).await;
        let body =
            json!({"email": "  Ada@Example.COM ", "password": PASSWORD, "display_name": " Ada "});
        let answer = s.post("/api/auth/register/", body).await;
        let registered = answer.ok(StatusCode::CREATED);
        assert_eq!(
            keys(registered),
            ["access", "access_expires_at_ms", "refresh", "user"],
            "{}",
            answer.what
        );
        let user = &registered["user"];
        assert_eq!(
            keys(user),
            ["created_at_ms", "display_name", "email", "id", "is_guest"]
        );
        assert_eq!(
            user["email"], "ada@example.com",
            "{}: e-mail trimmed and lower-cased",
            s.backend
        );
        assert_eq!(user["display_name"], "Ada");
        assert_eq!(user["is_guest"], false);
        let parsed: AuthResponse = answer.parse();
        let user_id = parsed.user.id.to_string();

        let access = parsed.access.as_str();
        let token = claims(access);
        assert_eq!(
            keys(&token),
            ["exp", "guest", "iat", "jti", "name", "sid", "sub"],
            "{}",
            s.backend
        );
        assert_eq!(token["sub"], user_id.as_str());
        assert_eq!(
            (&token["name"], &token["guest"]),
            (&json!("Ada"), &json!(false))
        );
        let (iat, exp) = (
            token["iat"].as_u64().unwrap(),
            token["exp"].as_u64().unwrap(),
        );
        assert_eq!(exp - iat, 15 * 60, "{}: 15 minutes by default", s.backend);
        assert_eq!(parsed.access_expires_at_ms, exp * 1000);

        let me = s.get_as(access, "/api/auth/me/").await;
        assert_eq!(me.ok(StatusCode::OK), user, "{}", me.what);
        let _: User = me.parse();

        let login = s
            .post(
                "/api/auth/login/",
                json!({"email": "ADA@example.com", "password": PASSWORD}),
            )
            .await;
        let logged_in: AuthResponse = login.parse();
        assert_eq!(login.ok(StatusCode::OK)["user"], *user, "{}", login.what);
        let second = claims(logged_in.access.as_str());
        assert_ne!(
            second["sid"], token["sid"],
            "{}: each login is its own session",
            s.backend
        );
        assert_ne!(logged_in.refresh, parsed.refresh);
        s.get_as(logged_in.access.as_str(), "/api/auth/me/")
            .await
            .ok(StatusCode::OK);
        s.stop().await;
    }
}

#[tokio::test]
async fn register_refuses_bad_input_and_taken_emails() {
    for db in backends().await {
        let s = TestServer::start(&db.url, |_| {}).await;
        let long_name = "x".repeat(33);
        let cases = [
            (
                json!({"email": "not-an-email", "password": PASSWORD, "display_name": "A"}),
                "email",
            ),
            (
                json!({"email": "a@b", "password": PASSWORD, "display_name": "A"}),
                "email",
            ),
            (
                json!({"email": "a@b.io", "password": "short", "display_name": "A"}),
                "password",
            ),
            (
                json!({"email": "a@b.io", "password": "1234567", "display_name": "A"}),
                "password",
            ),
            (
                json!({"email": "a@b.io", "password": PASSWORD, "display_name": ""}),
                "display_name",
            ),
            (
                json!({"email": "a@b.io", "password": PASSWORD, "display_name": "   "}),
                "display_name",
            ),
            (
                json!({"email": "a@b.io", "password": PASSWORD, "display_name": long_name}),
                "display_name",
            ),
            (
                json!({"email": "a@b.io", "password": PASSWORD}),
                "display_name",
            ),
            (json!({"password": PASSWORD, "display_name": "A"}), "email"),
            (json!({"email": "a@b.io", "display_name": "A"}), "password"),
        ];
        let mut refusals = Refusals::default();
        for (body, field) in cases {
            let answer = s.post("/api/auth/register/", body.clone()).await;
            refusals.check(&answer, &body.to_string(), "INVALID_INPUT", field);
        }
        refusals.assert_none();
        assert_eq!(
            s.row_counts().await[0],
            ("users", 0),
            "{}: refusals write nothing",
            s.backend
        );

        s.register("bo@example.com").await;
        let body = json!({"email": " BO@example.com", "password": "another password", "display_name": "Imposter"});
        s.post("/api/auth/register/", body)
            .await
            .error(StatusCode::CONFLICT, "EMAIL_TAKEN");
        assert_eq!(s.row_counts().await[0], ("users", 1), "{}", s.backend);
        // 32 characters is the limit, counted in characters, not bytes.
        let body = json!({"email": "cy@example.com", "password": PASSWORD, "display_name": "é".repeat(32)});
        s.post("/api/auth/register/", body)
            .await
            .ok(StatusCode::CREATED);
        s.stop().await;
    }
}

#[tokio::test]
async fn login_answers_alike_for_unknown_email_and_wrong_password() {
    for db in backends().await {
        let s = TestServer::start(&db.url, |_| {}).await;
        s.register("ada@example.com").await;
        let wrong_password = s
            .post(
                "/api/auth/login/",
                json!({"email": "ada@example.com", "password": "not the password"}),
            )
            .await;
        wrong_password.error(StatusCode::UNAUTHORIZED, "INVALID_CREDENTIALS");
        let unknown = s
            .post(
                "/api/auth/login/",
                json!({"email": "nobody@example.com", "password": "not the password"}),
            )
            .await;
        unknown.error(StatusCode::UNAUTHORIZED, "INVALID_CREDENTIALS");
        assert_eq!(
            wrong_password.body, unknown.body,
            "{}: the two must not be told apart",
            s.backend
        );
        assert_eq!(
            wrong_password.headers.len(),
            unknown.headers.len(),
            "{}",
            s.backend
        );

        let no_password = s
            .post("/api/auth/login/", json!({"email": "ada@example.com"}))
            .await;
        no_password.invalid("INVALID_INPUT", "password");
        let counts = s.row_counts().await;
        assert_eq!(
            counts[1],
            ("logins", 1),
            "{}: failed logins start no session",
            s.backend
        );
        s.stop().await;
    }
}

#[tokio::test]
async fn guests_get_a_name_and_no_email() {
    for db in backends().await {
        let s = TestServer::start(&db.url, |_| {}).await;
        for bare in [
            s.post_raw(None, "/api/auth/guest/", None, "").await,
            s.post("/api/auth/guest/", json!({})).await,
        ] {
            let user = &bare.ok(StatusCode::CREATED)["user"];
            assert_eq!(
                keys(user),
                ["created_at_ms", "display_name", "id", "is_guest"],
                "{}",
                bare.what
            );
            assert_eq!(user["is_guest"], true);
            let name = user["display_name"].as_str().unwrap();
            let digits = name
                .strip_prefix("Guest-")
                .unwrap_or_else(|| panic!("{}: {name}", bare.what));
            assert!(
                digits.len() == 4 && digits.chars().all(|c| c.is_ascii_digit()),
                "{}: {name}",
                bare.what
            );
        }
        let named = s
            .post("/api/auth/guest/", json!({"display_name": " Zoë 🎬 "}))
            .await;
        let guest: AuthResponse = named.parse();
        assert_eq!(
            named.ok(StatusCode::CREATED)["user"]["display_name"],
            "Zoë 🎬"
        );
        assert_eq!(claims(guest.access.as_str())["guest"], true);
        let me = s.get_as(guest.access.as_str(), "/api/auth/me/").await;
        assert_eq!(
            me.ok(StatusCode::OK)["display_name"],
            "Zoë 🎬",
            "{}",
            me.what
        );
        let null_name = s
            .post("/api/auth/guest/", json!({"display_name": null}))
            .await;
        null_name.ok(StatusCode::CREATED);

        let users_before = s.row_counts().await[0];
        for name in [
            json!("x".repeat(33)),
            json!(""),
            json!(" "),
            json!("bell\u{7}"),
            json!(42),
        ] {
            let answer = s
                .post("/api/auth/guest/", json!({"display_name": name}))
                .await;
            answer.invalid("INVALID_INPUT", "display_name");
        }
        assert_eq!(s.row_counts().await[0], users_before, "{}", s.backend);
        s.stop().await;
    }
}
