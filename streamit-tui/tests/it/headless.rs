//! The headless commands, as a script runs them: JSON on stdout, a message on stderr and a
//! non-zero exit on failure, the login kept per profile between runs.

use serde_json::json;
use streamit_client::Client;
use streamit_client::RoomEvent;
use streamit_client::protocol::v1::{RoomCode, ServerEvent};

use std::time::Duration;

use streamit_testing::eventually;

use crate::support::World;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_creates_a_room_another_joins_and_chats() {
    let world = World::start().await;

    let ada = world.streamit("ada", &["--name", "Ada", "guest"]).await;
    assert!(ada.ok, "{ada:?}");
    assert_eq!(ada.json["user"]["display_name"], "Ada");
    assert_eq!(ada.json["user"]["is_guest"], true);
    let file = world.profile_file("ada");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(
            mode & 0o777,
            0o600,
            "the credentials file is the user's alone"
        );
    }

    // The stored login is used: the room's host is the guest above.
    let created = world
        .streamit("ada", &["create", "--room-name", "Movie night"])
        .await;
    assert!(created.ok, "{created:?}");
    assert_eq!(created.json["room"]["name"], "Movie night");
    assert_eq!(created.json["room"]["host"]["id"], ada.json["user"]["id"]);
    let code = created.json["room"]["code"].as_str().unwrap().to_owned();

    // Without stored credentials, a command signs in as a guest (and stores that login).
    let joined = world
        .streamit("bob", &["--name", "Bob", "join", &code])
        .await;
    assert!(joined.ok, "{joined:?}");
    assert_eq!(joined.json["status"], "APPROVED");
    assert!(world.profile_file("bob").exists());

    // Someone in the room hears the line.
    let listener = Client::builder(&world.base_url).no_proxy().build().unwrap();
    listener.guest(None).await.unwrap();
    let (_session, mut events) = listener
        .join_room(RoomCode::parse(&code).unwrap())
        .await
        .unwrap();
    let said = world
        .streamit("bob", &["chat", &code, "hello from a script"])
        .await;
    assert!(said.ok, "{said:?}");
    assert_eq!(said.json["room"], json!(code));
    assert_eq!(said.json["message"]["text"], "hello from a script");
    assert_eq!(said.json["message"]["user"]["display_name"], "Bob");
    let heard = tokio::time::timeout(std::time::Duration::from_secs(20), async {
        while let Some(event) = events.recv().await {
            if let RoomEvent::Server(message) = &event {
                if let ServerEvent::ChatMessage(line) = &message.event {
                    return line.text.as_str().to_owned();
                }
            }
        }
        panic!("the stream ended before the line came");
    })
    .await
    .expect("the line arrives in time");
    assert_eq!(heard, "hello from a script");

    let progress = world.streamit("bob", &["progress"]).await;
    assert!(progress.ok, "{progress:?}");
    assert_eq!(progress.json["items"], json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_public_list_shows_live_rooms_only() {
    let world = World::start().await;
    let empty = world.streamit("ada", &["rooms"]).await;
    assert!(empty.ok, "{empty:?}");
    assert_eq!(empty.json["rooms"], json!([]));

    let created = world
        .streamit(
            "ada",
            &["--name", "Ada", "create", "--room-name", "Open house"],
        )
        .await;
    let code = created.json["room"]["code"].as_str().unwrap().to_owned();
    // A room is listed once its host is in it.
    let host = Client::builder(&world.base_url).no_proxy().build().unwrap();
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(world.profile_file("ada")).unwrap()).unwrap();
    let host = host.with_tokens(serde_json::from_value(saved["tokens"].clone()).unwrap());
    let (_session, mut events) = host
        .join_room(RoomCode::parse(&code).unwrap())
        .await
        .unwrap();
    while let Some(event) = events.recv().await {
        if event.snapshot().is_some() {
            break;
        }
    }
    // The listing reads the store, which hears of the host's arrival just after the socket.
    let listed = eventually("the room is listed", Duration::from_secs(20), async || {
        let listed = world.streamit("bob", &["rooms"]).await;
        assert!(listed.ok, "{listed:?}");
        (listed.json["rooms"][0]["code"] == json!(code)).then_some(listed)
    })
    .await;
    assert_eq!(listed.json["rooms"][0]["name"], "Open house");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_exit_non_zero_with_the_code_and_words() {
    let world = World::start().await;
    let missing = world.streamit("bob", &["join", "ABCD2345"]).await;
    assert!(!missing.ok);
    assert_eq!(missing.json["error"]["code"], "ROOM_NOT_FOUND");
    assert!(
        missing.stderr.contains("no room has that code"),
        "{missing:?}"
    );

    let created = world
        .streamit("ada", &["create", "--password", "sesame"])
        .await;
    assert!(created.ok, "{created:?}");
    assert_eq!(created.json["room"]["entry_mode"], "PASSWORD");
    let code = created.json["room"]["code"].as_str().unwrap().to_owned();
    let wrong = world
        .streamit("bob", &["join", &code, "--password", "open"])
        .await;
    assert!(!wrong.ok);
    assert_eq!(wrong.json["error"]["code"], "WRONG_PASSWORD");
    assert!(wrong.stderr.contains("wrong room password"), "{wrong:?}");
    let right = world
        .streamit("bob", &["join", &code, "--password", "sesame"])
        .await;
    assert!(right.ok, "{right:?}");

    let typo = world.streamit("bob", &["join", "not-a-code"]).await;
    assert!(!typo.ok);
    assert_eq!(typo.json["error"]["code"], "INVALID_INPUT");
    assert!(typo.stderr.contains("invalid room code"), "{typo:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_login_and_logout_keep_profiles_apart() {
    let world = World::start().await;
    let email = "ada@example.com";
    let registered = world
        .streamit(
            "ada",
            &[
                "register",
                "--email",
                email,
                "--password",
                "correct horse",
                "--display-name",
                "Ada",
            ],
        )
        .await;
    assert!(registered.ok, "{registered:?}");
    assert_eq!(registered.json["user"]["is_guest"], false);

    let wrong = world
        .streamit(
            "laptop",
            &["login", "--email", email, "--password", "wrong horse"],
        )
        .await;
    assert!(!wrong.ok);
    assert_eq!(wrong.json["error"]["code"], "INVALID_CREDENTIALS");
    assert!(!world.profile_file("laptop").exists());

    let login = world
        .streamit(
            "laptop",
            &["login", "--email", email, "--password", "correct horse"],
        )
        .await;
    assert!(login.ok, "{login:?}");
    assert_eq!(login.json["user"]["id"], registered.json["user"]["id"]);

    let out = world.streamit("laptop", &["logout"]).await;
    assert!(out.ok, "{out:?}");
    assert_eq!(out.json["logged_out"], true);
    assert!(!world.profile_file("laptop").exists());
    // The other profile's login is its own and still works.
    let created = world.streamit("ada", &["create"]).await;
    assert!(created.ok, "{created:?}");
    assert_eq!(
        created.json["room"]["host"]["id"],
        registered.json["user"]["id"]
    );
}
