//! Where the bots' rooms and tokens come from: guests of the real server's REST API (through
//! the SDK, one identity per bot on one connection pool), or, against the bare server, made-up
//! room codes and a dummy token it never reads.

use streamit_client::Client;
use streamit_client::protocol::v1::{CreateRoomRequest, JoinRoomRequest, MemberStatus, RoomCode};

use crate::bench::BenchError;

/// What the bots send as a token to the bare server.
const BARE_TOKEN: &str = "bare";

/// The source of rooms and tokens.
pub(crate) enum Target {
    /// The real server's REST API.
    Rest(Client),
    /// The bare server: nothing to set up.
    Bare,
}

impl Target {
    pub(crate) fn new(url: &str, bare: bool) -> Result<Self, BenchError> {
        if bare {
            return Ok(Self::Bare);
        }
        Client::builder(url)
            .no_proxy()
            .build()
            .map(Self::Rest)
            .map_err(|e| BenchError::Setup(e.to_string()))
    }

    pub(crate) fn is_bare(&self) -> bool {
        matches!(self, Self::Bare)
    }

    /// A new guest, signed in: the SDK client for it (real server only).
    pub(crate) async fn guest(&self) -> Result<Client, BenchError> {
        let Self::Rest(pool) = self else {
            return Err(BenchError::NotBare("a guest account"));
        };
        let guest = pool.with_identity();
        guest.guest(None).await.map_err(setup)?;
        Ok(guest)
    }

    /// A host's token and the room it created; on the bare server a fresh random code, so
    /// runs against the same server never share rooms.
    pub(crate) async fn hosted_room(&self) -> Result<(String, RoomCode), BenchError> {
        if self.is_bare() {
            return Ok((BARE_TOKEN.into(), RoomCode::generate(rand::random::<u32>)));
        }
        let (host, code) = self.host().await?;
        Ok((token(&host)?, code))
    }

    /// A new guest hosting a new room: its client and the room (real server only).
    pub(crate) async fn host(&self) -> Result<(Client, RoomCode), BenchError> {
        let host = self.guest().await?;
        let created = host
            .create_room(&CreateRoomRequest::default())
            .await
            .map_err(setup)?;
        Ok((host, created.room.code))
    }

    /// The token of a new guest who joined `code`.
    pub(crate) async fn member(&self, code: RoomCode) -> Result<String, BenchError> {
        if self.is_bare() {
            return Ok(BARE_TOKEN.into());
        }
        let member = self.guest().await?;
        join(&member, code).await?;
        token(&member)
    }
}

/// Joins `code` over REST; it must answer `APPROVED`.
pub(crate) async fn join(member: &Client, code: RoomCode) -> Result<(), BenchError> {
    let answer = member
        .join(&JoinRoomRequest::new(code, None))
        .await
        .map_err(setup)?;
    if answer.status != MemberStatus::Approved {
        return Err(BenchError::Setup(format!(
            "join {code}: {:?}",
            answer.status
        )));
    }
    Ok(())
}

/// The signed-in client's access token.
pub(crate) fn token(client: &Client) -> Result<String, BenchError> {
    client
        .tokens()
        .map(|t| t.access.as_str().to_owned())
        .ok_or_else(|| BenchError::Setup("no token after signing in".into()))
}

fn setup(error: streamit_client::Error) -> BenchError {
    BenchError::Setup(error.to_string())
}
