//! The command line: global options, the TUI's entry points and the headless commands.

use clap::{Args, Parser, Subcommand};
use streamit_client::protocol::v1::{
    CreateRoomRequest, EntryMode, RoomCode, RoomName, RoomPassword,
};

use crate::failure::Failure;

/// The server when neither `--server` nor `STREAMIT_SERVER` names one: a local development
/// server (`cargo run -p streamit-server`).
pub(crate) const DEFAULT_SERVER: &str = "http://127.0.0.1:8000";

/// StreamIt in the terminal: watch rooms together, or script the server.
#[derive(Debug, Parser)]
#[command(name = "streamit", version, about)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) global: Global,
    /// Without a command, the menu opens.
    #[command(subcommand)]
    pub(crate) command: Option<Command>,
}

/// Options every command takes.
#[derive(Debug, Args)]
pub(crate) struct Global {
    /// The StreamIt server's base URL.
    #[arg(long, global = true, env = "STREAMIT_SERVER", default_value = DEFAULT_SERVER)]
    pub(crate) server: String,
    /// Display name when signing in as a guest.
    #[arg(long, global = true)]
    pub(crate) name: Option<String>,
    /// Which stored credentials to use, so several users can run on one machine.
    #[arg(long, global = true, default_value = "default")]
    pub(crate) profile: String,
    /// Print the answer of a headless command as JSON.
    #[arg(long, global = true)]
    pub(crate) json: bool,
}

/// What to do.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Create a room and open it as its host.
    Host(RoomOptions),
    /// Open a room by its code.
    Watch(CodeAndPassword),
    /// Load bots against a running server (loopback only unless `--allow-remote`): one
    /// JSON line per run.
    Bench(crate::bench::BenchArgs),
    /// Check a server against protocol v1: a line per rule naming its `docs/protocol.md`
    /// section, a summary, and a non-zero exit on any failure (`--json` for a report).
    Check(crate::check::CheckArgs),
    #[command(flatten)]
    Headless(Headless),
}

/// The commands that print an answer and exit, for scripts.
#[derive(Debug, Subcommand)]
pub(crate) enum Headless {
    /// Sign in as a new guest and store the credentials.
    Guest,
    /// Create an account and store its credentials.
    Register {
        /// E-mail address.
        #[arg(long)]
        email: String,
        /// Password (8 characters or more).
        #[arg(long, env = "STREAMIT_PASSWORD", hide_env_values = true)]
        password: String,
        /// Display name (default: `--name`, else the part of the e-mail before `@`).
        #[arg(long)]
        display_name: Option<String>,
    },
    /// Log in to an account and store its credentials.
    Login {
        /// E-mail address.
        #[arg(long)]
        email: String,
        /// Password.
        #[arg(long, env = "STREAMIT_PASSWORD", hide_env_values = true)]
        password: String,
    },
    /// End the stored login on the server and forget it.
    Logout,
    /// List live public rooms.
    Rooms,
    /// Create a room (without opening it).
    Create(RoomOptions),
    /// Become a member of a room (without opening it).
    Join(CodeAndPassword),
    /// Say one line in a room's chat.
    Chat {
        /// The room's code.
        code: String,
        /// What to say.
        text: String,
        /// The room's password, for password rooms.
        #[arg(long)]
        password: Option<String>,
    },
    /// Show how far you got in everything you watched.
    Progress,
}

/// How to create a room.
#[derive(Debug, Args)]
pub(crate) struct RoomOptions {
    /// The room's name (default: chosen by the server).
    #[arg(long)]
    pub(crate) room_name: Option<String>,
    /// Keep the room out of the public list.
    #[arg(long)]
    pub(crate) private: bool,
    /// Make it a password room with this password.
    #[arg(long)]
    pub(crate) password: Option<String>,
}

/// A room's code and, for password rooms, its password.
#[derive(Debug, Args)]
pub(crate) struct CodeAndPassword {
    /// The room's code.
    pub(crate) code: String,
    /// The room's password, for password rooms.
    #[arg(long)]
    pub(crate) password: Option<String>,
}

impl RoomOptions {
    /// The create request these options ask for: a password makes a password room.
    pub(crate) fn request(&self) -> Result<CreateRoomRequest, Failure> {
        let mut request = CreateRoomRequest::default().with_private(self.private);
        if let Some(name) = &self.room_name {
            let name =
                RoomName::new(name).map_err(|e| Failure::input("room name", e.to_string()))?;
            request = request.with_name(name);
        }
        if let Some(password) = self.password.as_deref() {
            request = request
                .with_entry_mode(EntryMode::Password)
                .with_password(room_password(password)?);
        }
        Ok(request)
    }
}

impl CodeAndPassword {
    /// The code and password, checked.
    pub(crate) fn parse(&self) -> Result<(RoomCode, Option<RoomPassword>), Failure> {
        Ok((
            room_code(&self.code)?,
            self.password.as_deref().map(room_password).transpose()?,
        ))
    }
}

/// A room code as typed (any case, with or without spaces around it).
pub(crate) fn room_code(code: &str) -> Result<RoomCode, Failure> {
    RoomCode::parse(code.trim()).map_err(|e| Failure::input("room code", e.to_string()))
}

/// A room password as typed.
pub(crate) fn room_password(password: &str) -> Result<RoomPassword, Failure> {
    RoomPassword::new(password).map_err(|e| Failure::input("room password", e.to_string()))
}
