//! The headless commands: one call each, a line of text or (with `--json`) the server's answer
//! as JSON on stdout, a message on stderr and a non-zero exit on failure.

use std::time::Duration;

use serde_json::{Value, json};
use streamit_client::protocol::v1::{
    ChatMessage, ChatText, DisplayName, Email, JoinRoomRequest, LoginRequest, MemberStatus,
    Password, ProgressListResponse, PublicRoomsQuery, PublicRoomsResponse, RegisterRequest,
    RoomCode, RoomPassword, ServerEvent, User,
};
use streamit_client::{JoinOptions, RoomEvent};

use crate::account::Account;
use crate::cli::{Global, Headless};
use crate::failure::Failure;
use crate::label;

/// How long `chat` waits for the room to connect and echo the line.
const CHAT_PATIENCE: Duration = Duration::from_secs(15);

/// A command's answer: JSON for scripts, a line for people.
#[derive(Debug)]
pub(crate) struct Answer {
    /// What `--json` prints.
    pub(crate) json: Value,
    /// What is printed otherwise.
    pub(crate) text: String,
}

/// Runs one headless command.
pub(crate) async fn run(global: &Global, command: Headless) -> Result<Answer, Failure> {
    let mut account = Account::open(&global.server, &global.profile)?;
    let answer = dispatch(global, &mut account, command).await;
    // Store the login even after a failure: the call may have refreshed the tokens.
    account.store()?;
    answer
}

async fn dispatch(
    global: &Global,
    account: &mut Account,
    command: Headless,
) -> Result<Answer, Failure> {
    let name = global.name.as_deref();
    match command {
        Headless::Guest => {
            let user = account.guest(name).await?;
            Ok(signed_in(&user, "signed in as guest"))
        }
        Headless::Register {
            email,
            password,
            display_name,
        } => register(account, &email, &password, display_name.as_deref().or(name)).await,
        Headless::Login { email, password } => login(account, &email, &password).await,
        Headless::Logout => logout(account).await,
        Headless::Rooms => rooms(account).await,
        Headless::Create(options) => {
            let request = options.request()?;
            account.sign_in(name).await?;
            let created = account.client().create_room(&request).await?;
            let mut text = format!(
                "created room {} \"{}\"",
                created.room.code,
                created.room.name.as_str()
            );
            if let Some(password) = &created.password {
                text.push_str(&format!(" (password {})", password.as_str()));
            }
            Ok(Answer {
                json: to_json(&created),
                text,
            })
        }
        Headless::Join(target) => {
            let (code, password) = target.parse()?;
            account.sign_in(name).await?;
            join(account, code, password).await
        }
        Headless::Chat {
            code,
            text,
            password,
        } => {
            let code = crate::cli::room_code(&code)?;
            let password = password
                .as_deref()
                .map(crate::cli::room_password)
                .transpose()?;
            let text =
                ChatText::new(&text).map_err(|e| Failure::input("chat text", e.to_string()))?;
            account.sign_in(name).await?;
            chat(account, code, password, text).await
        }
        Headless::Progress => progress(account, name).await,
    }
}

fn signed_in(user: &User, how: &str) -> Answer {
    Answer {
        json: json!({ "user": user }),
        text: format!("{how}: {} ({})", user.display_name.as_str(), user.id),
    }
}

async fn register(
    account: &mut Account,
    email: &str,
    password: &str,
    display_name: Option<&str>,
) -> Result<Answer, Failure> {
    let email = Email::new(email).map_err(|e| Failure::input("e-mail", e.to_string()))?;
    let password =
        Password::new(password).map_err(|e| Failure::input("password", e.to_string()))?;
    let fallback = email
        .as_str()
        .split('@')
        .next()
        .unwrap_or_default()
        .to_owned();
    let display_name = DisplayName::new(display_name.unwrap_or(&fallback))
        .map_err(|e| Failure::input("display name", e.to_string()))?;
    let request = RegisterRequest::new(email, password, display_name);
    let answer = account.client().register(&request).await?;
    account.store()?;
    Ok(signed_in(&answer.user, "registered and signed in"))
}

async fn login(account: &mut Account, email: &str, password: &str) -> Result<Answer, Failure> {
    let email = Email::new(email).map_err(|e| Failure::input("e-mail", e.to_string()))?;
    let password =
        Password::new(password).map_err(|e| Failure::input("password", e.to_string()))?;
    let answer = account
        .client()
        .login(&LoginRequest::new(email, password))
        .await?;
    account.store()?;
    Ok(signed_in(&answer.user, "logged in"))
}

async fn logout(account: &mut Account) -> Result<Answer, Failure> {
    if !account.is_signed_in() {
        return Ok(Answer {
            json: json!({ "logged_out": false }),
            text: "not signed in".to_owned(),
        });
    }
    // The tokens are forgotten whatever the server says; a login that had already ended is
    // as good as ended now.
    let ended = account.client().logout().await;
    account.store()?;
    if let Err(error) = ended {
        if error.status() != Some(401) {
            return Err(error.into());
        }
    }
    Ok(Answer {
        json: json!({ "logged_out": true }),
        text: "logged out".to_owned(),
    })
}

async fn rooms(account: &Account) -> Result<Answer, Failure> {
    let list: PublicRoomsResponse = account
        .client()
        .public_rooms(&PublicRoomsQuery::default())
        .await?;
    let text = if list.rooms.is_empty() {
        "no live public rooms".to_owned()
    } else {
        list.rooms
            .iter()
            .map(|room| {
                format!(
                    "{}  {}  host {}  {} watching  {}",
                    room.code,
                    room.name.as_str(),
                    room.host.display_name.as_str(),
                    room.viewers,
                    label::media(room.media.as_ref()),
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    Ok(Answer {
        json: to_json(&list),
        text,
    })
}

async fn join(
    account: &Account,
    code: RoomCode,
    password: Option<RoomPassword>,
) -> Result<Answer, Failure> {
    let answer = account
        .client()
        .join(&JoinRoomRequest::new(code, password))
        .await?;
    let text = match answer.status {
        MemberStatus::Approved => format!(
            "member of room {} \"{}\"",
            answer.room.code,
            answer.room.name.as_str()
        ),
        MemberStatus::Pending => format!(
            "waiting for the host of room {} to approve the join",
            answer.room.code
        ),
    };
    Ok(Answer {
        json: to_json(&answer),
        text,
    })
}

async fn chat(
    account: &Account,
    code: RoomCode,
    password: Option<RoomPassword>,
    text: ChatText,
) -> Result<Answer, Failure> {
    let me = account.client().user().map(|user| user.id);
    let mut options = JoinOptions::new();
    if let Some(password) = password {
        options = options.password(password);
    }
    let (session, mut events) = account.client().join_room_with(code, options).await?;
    let said = tokio::time::timeout(CHAT_PATIENCE, async {
        let mut sent = None;
        let mut closed = None;
        while let Some(event) = events.recv().await {
            if event == RoomEvent::Connected && sent.is_none() {
                sent = Some(session.chat(text.clone()).await?);
                continue;
            }
            match (event.server_event(), &sent) {
                (Some(ServerEvent::ChatMessage(line)), Some(_))
                    if Some(line.user.id) == me && line.text == text =>
                {
                    return Ok(line.clone());
                }
                (Some(ServerEvent::Error(error)), Some(reference))
                    if event.reference() == Some(reference) =>
                {
                    return Err(Failure::Refused { code: error.code });
                }
                _ => {}
            }
            if let RoomEvent::Disconnected { close } = event {
                closed = close.map(|close| close.code);
            }
        }
        Err(Failure::SessionEnded(crate::words::close_code(closed)))
    })
    .await
    .map_err(|_| Failure::Timeout("sending the chat line"));
    session.close().await;
    let line: ChatMessage = said??;
    Ok(Answer {
        json: json!({ "room": code, "message": line }),
        text: format!("said in {code}: {}", line.text.as_str()),
    })
}

async fn progress(account: &mut Account, name: Option<&str>) -> Result<Answer, Failure> {
    account.sign_in(name).await?;
    let list: ProgressListResponse = account.client().progress_list().await?;
    let text = if list.items.is_empty() {
        "nothing watched yet".to_owned()
    } else {
        list.items
            .iter()
            .map(|item| {
                format!(
                    "{}  {}  at {}{}",
                    item.room_code,
                    label::media(Some(&item.media)),
                    label::clock((item.position_s.get() * 1000.0) as u64),
                    if item.completed { "  (finished)" } else { "" },
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    Ok(Answer {
        json: to_json(&list),
        text,
    })
}

fn to_json<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).expect("protocol types serialise")
}
