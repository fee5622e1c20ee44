//! REST: [`Client`], one typed async method per endpoint of protocol v1 §1, for one identity
//! whose login ([`auth`](crate::auth)) is kept and refreshed, on a connection pool
//! ([`http`](crate::http)) that other identities may share.

use std::sync::Arc;
use std::time::Duration;

use streamit_protocol::v1::endpoints::{
    Approve, CreateRoom, DeleteRoom, Deny, Embed, Endpoint, GetAuditLog, GetPending, GetProgress,
    GetRoom, Guest, Healthz, JoinRoom, ListParticipants, ListProgress, ListProviders,
    ListPublicRooms, Login, Logout, Me, Metrics, Readyz, Register, Resume, SaveProgress,
};
use streamit_protocol::v1::{
    AuditLogResponse, AuthResponse, CreateRoomRequest, CreateRoomResponse, DisplayName,
    EmbedRequest, EmbedResponse, GuestRequest, JoinRoomRequest, JoinRoomResponse, LoginRequest,
    LogoutRequest, MemberStatus, Participant, ParticipantsPage, ParticipantsQuery, PendingResponse,
    ProgressListResponse, ProgressQuery, ProvidersResponse, PublicRoomsQuery, PublicRoomsResponse,
    RegisterRequest, Room, RoomCode, RoomCodeRequest, RoomDetail, RoomUserRequest,
    SaveProgressRequest, TokenPair, User, UserId, WatchProgress,
};

use crate::auth::Auth;
use crate::error::{Error, Result};
use crate::http::{self, Call, Http};
use crate::session::{self, JoinOptions, RoomEvents, RoomSession, SessionOptions};

/// The HTTP timeout when the builder sets none: long enough for a slow Argon2 login.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// A StreamIt server's HTTP API, and the door to its rooms, for one identity.
///
/// Cheap to clone: clones share the connection pool and the login. Every method is one HTTP
/// call returning the protocol's own types; failures are an [`Error`] whose
/// [`code`](Error::code) is the protocol's [`ErrorCode`](streamit_protocol::v1::ErrorCode).
///
/// Register, log in or sign in as a guest and the client keeps the tokens. When an
/// authenticated call is answered `401 UNAUTHORIZED` (the access token expired), the client
/// spends the refresh token once (`POST /api/auth/refresh/`, shared by concurrent callers so a
/// refresh token is never spent twice) and repeats the call once. [`logout`](Self::logout)
/// forgets the tokens.
///
/// # Many identities, one pool
/// [`with_identity`](Self::with_identity) gives another client on the same connection pool
/// with a login of its own, so a load bot playing thousands of users keeps one pool (and its
/// idle keep-alive connections) instead of one per user:
///
/// ```no_run
/// use streamit_client::Client;
///
/// # async fn demo() -> Result<(), streamit_client::Error> {
/// let pool = Client::builder("https://streamit.example").build()?;
/// let mut bots = Vec::new();
/// for _ in 0..100 {
///     let bot = pool.with_identity();
///     bot.guest(None).await?;
///     bots.push(bot);
/// }
/// # Ok(())
/// # }
/// ```
///
/// # Rooms
/// ```no_run
/// use streamit_client::{Client, RoomEvent};
/// use streamit_client::protocol::v1::{DisplayName, RoomCode, ServerEvent};
///
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let client = Client::builder("https://streamit.example").build()?;
/// client.guest(Some(DisplayName::new("Ada")?)).await?;
/// let (session, mut events) = client.join_room(RoomCode::parse("ABCD2345")?).await?;
/// while let Some(event) = events.recv().await {
///     match event {
///         RoomEvent::Connected => println!("in the room"),
///         RoomEvent::Server(message) => {
///             if let ServerEvent::ChatMessage(line) = &message.event {
///                 println!("{}: {}", line.user.display_name.as_str(), line.text.as_str());
///             }
///         }
///         other => println!("{other:?}"),
///     }
/// }
/// # drop(session);
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct Client {
    /// What every identity on this pool shares.
    shared: Arc<Shared>,
    /// This identity's login; shared by clones, not by [`Client::with_identity`].
    auth: Auth,
}

#[derive(Debug)]
struct Shared {
    http: Http,
    session_defaults: SessionOptions,
}

/// Configures a [`Client`]; from [`Client::builder`].
#[derive(Debug)]
#[must_use]
pub struct ClientBuilder {
    base_url: String,
    timeout: Duration,
    connect_timeout: Option<Duration>,
    user_agent: Option<String>,
    no_proxy: bool,
    pool: Option<reqwest::Client>,
    tokens: Option<TokenPair>,
    session: SessionOptions,
}

impl ClientBuilder {
    /// Timeout of each HTTP call, from connecting to the last byte (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Timeout of the TCP (and TLS) connect alone.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// The `User-Agent` header (default `streamit-client/<version>`).
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = Some(user_agent.into());
        self
    }

    /// Ignore `HTTP_PROXY`/`HTTPS_PROXY` and connect directly.
    pub fn no_proxy(mut self) -> Self {
        self.no_proxy = true;
        self
    }

    /// Send REST calls through this `reqwest` client (and its connection pool) instead of one
    /// the builder makes, e.g. to share a pool with the app's other HTTP traffic.
    ///
    /// The client comes as it is configured: [`timeout`](Self::timeout),
    /// [`connect_timeout`](Self::connect_timeout), [`user_agent`](Self::user_agent) and
    /// [`no_proxy`](Self::no_proxy) are then not used. To share a pool between StreamIt
    /// identities, [`Client::with_identity`] is simpler.
    ///
    /// This is the one place the SDK's API names `reqwest` (errors do not: see
    /// [`TransportError`](crate::TransportError)), a deliberate interop point: a `reqwest`
    /// release that breaks compatibility is then a breaking release of this SDK too.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.pool = Some(client);
        self
    }

    /// Start signed in with tokens saved from an earlier run ([`Client::tokens`]).
    pub fn tokens(mut self, tokens: TokenPair) -> Self {
        self.tokens = Some(tokens);
        self
    }

    /// The options of room sessions joined without their own ([`JoinOptions::session`]).
    pub fn session_options(mut self, options: SessionOptions) -> Self {
        self.session = options;
        self
    }

    /// Builds the client.
    ///
    /// # Errors
    /// [`Error::InvalidUrl`] when the base URL is not an absolute `http` or `https` URL
    /// without query or fragment; [`Error::Http`] when the HTTP stack cannot start (TLS).
    pub fn build(self) -> Result<Client> {
        let pool = match self.pool {
            Some(pool) => pool,
            None => pool(
                self.timeout,
                self.connect_timeout,
                self.user_agent,
                self.no_proxy,
            )?,
        };
        let http = Http::new(pool, &self.base_url)?;
        let shared = Arc::new(Shared {
            http: http.clone(),
            session_defaults: self.session,
        });
        Ok(Client {
            shared,
            auth: Auth::new(http, self.tokens),
        })
    }
}

/// A connection pool with the builder's settings.
fn pool(
    timeout: Duration,
    connect_timeout: Option<Duration>,
    user_agent: Option<String>,
    no_proxy: bool,
) -> Result<reqwest::Client> {
    let user_agent = user_agent
        .unwrap_or_else(|| concat!("streamit-client/", env!("CARGO_PKG_VERSION")).to_owned());
    let mut builder = reqwest::Client::builder()
        .timeout(timeout)
        .user_agent(user_agent);
    if let Some(timeout) = connect_timeout {
        builder = builder.connect_timeout(timeout);
    }
    if no_proxy {
        builder = builder.no_proxy();
    }
    builder.build().map_err(Error::transport)
}

impl Client {
    /// Starts configuring a client for the server at `base_url`, e.g.
    /// `https://streamit.example` (a path prefix is kept: `https://host/streamit`).
    pub fn builder(base_url: impl Into<String>) -> ClientBuilder {
        ClientBuilder {
            base_url: base_url.into(),
            timeout: DEFAULT_TIMEOUT,
            connect_timeout: None,
            user_agent: None,
            no_proxy: false,
            pool: None,
            tokens: None,
            session: SessionOptions::default(),
        }
    }

    /// Another identity on this client's connection pool: the same server, HTTP settings and
    /// session defaults, signed out, with a login of its own. Signing it in, refreshing or
    /// logging out leaves this client's login alone, and the other way round.
    ///
    /// Cheap: no new pool, no TLS setup. Room sessions open their own WebSocket each, as
    /// always.
    pub fn with_identity(&self) -> Self {
        Self {
            shared: Arc::clone(&self.shared),
            auth: Auth::new(self.shared.http.clone(), None),
        }
    }

    /// [`with_identity`](Self::with_identity), signed in with tokens saved from an earlier
    /// run ([`Client::tokens`]).
    pub fn with_tokens(&self, tokens: TokenPair) -> Self {
        Self {
            shared: Arc::clone(&self.shared),
            auth: Auth::new(self.shared.http.clone(), Some(tokens)),
        }
    }

    /// The base URL, without a trailing slash.
    pub fn base_url(&self) -> &str {
        self.shared.http.base_url()
    }

    /// The current tokens, to save and restore with [`ClientBuilder::tokens`]; `None` when
    /// signed out. They change with every refresh.
    pub fn tokens(&self) -> Option<TokenPair> {
        self.auth.tokens()
    }

    /// The signed-in user, as the last register, login, guest or [`me`](Self::me) answer
    /// showed it.
    pub fn user(&self) -> Option<User> {
        self.auth.user()
    }

    /// Whether the client holds tokens.
    pub fn is_signed_in(&self) -> bool {
        self.auth.access_token().is_some()
    }

    // ---- Auth -------------------------------------------------------------------------

    /// `POST /api/auth/register/`: creates an account and signs in as it.
    ///
    /// # Errors
    /// `400 INVALID_INPUT`, `409 EMAIL_TAKEN`, `429 RATE_LIMITED`.
    pub async fn register(&self, request: &RegisterRequest) -> Result<AuthResponse> {
        let call = self.call::<Register>(&(), &(), request)?;
        self.sign_in(call).await
    }

    /// `POST /api/auth/login/`: signs in.
    ///
    /// # Errors
    /// `401 INVALID_CREDENTIALS` (unknown e-mail and wrong password alike), `429 RATE_LIMITED`.
    pub async fn login(&self, request: &LoginRequest) -> Result<AuthResponse> {
        let call = self.call::<Login>(&(), &(), request)?;
        self.sign_in(call).await
    }

    /// `POST /api/auth/guest/`: signs in as a new guest, named `display_name` or by the
    /// server (`Guest-4821`).
    ///
    /// # Errors
    /// `400 INVALID_INPUT`, `429 RATE_LIMITED`.
    pub async fn guest(&self, display_name: Option<DisplayName>) -> Result<AuthResponse> {
        let call = self.call::<Guest>(&(), &(), &GuestRequest::new(display_name))?;
        self.sign_in(call).await
    }

    /// `POST /api/auth/refresh/`: exchanges the refresh token for a new pair now. Calls do
    /// this by themselves when the access token expires; this is for apps that want it early.
    ///
    /// # Errors
    /// [`Error::NotSignedIn`]; `401 INVALID_TOKEN` (expired, revoked or spent: the tokens are
    /// forgotten, sign in again).
    pub async fn refresh(&self) -> Result<TokenPair> {
        let used = self.auth.access_token().ok_or(Error::NotSignedIn)?;
        self.auth.refresh_after(&used).await
    }

    /// `POST /api/auth/logout/`: ends the login on the server (its sockets close with 4001)
    /// and forgets the tokens, whatever the server answers.
    ///
    /// # Errors
    /// [`Error::NotSignedIn`]; `401` when the login had already ended.
    pub async fn logout(&self) -> Result<()> {
        // The access token alone ends the login; a refresh token in the body could be one an
        // automatic refresh spends on the way, which the server would take for reuse.
        let call = self.call::<Logout>(&(), &(), &LogoutRequest::default())?;
        let answer = self.execute(&call).await;
        self.auth.sign_out();
        answer.map(drop)
    }

    /// `GET /api/auth/me/`: the signed-in user.
    ///
    /// # Errors
    /// [`Error::NotSignedIn`]; `401 UNAUTHORIZED` when the login ended.
    pub async fn me(&self) -> Result<User> {
        let user = self.request::<Me>(&(), &(), &()).await?;
        self.auth.set_user(user.clone());
        Ok(user)
    }

    // ---- Rooms ------------------------------------------------------------------------

    /// `POST /api/rooms/create/`: a new room hosted by the caller. `password` in the answer
    /// is the generated password of a `PASSWORD` room created without one, shown only here.
    ///
    /// # Errors
    /// `400 INVALID_INPUT` / `INVALID_MEDIA`, `401`, `429`.
    pub async fn create_room(&self, request: &CreateRoomRequest) -> Result<CreateRoomResponse> {
        self.request::<CreateRoom>(&(), &(), request).await
    }

    /// `POST /api/rooms/join/`: become a member (idempotent). This is membership only; see
    /// [`join_room`](Self::join_room) for a live session, which calls this first.
    ///
    /// # Errors
    /// `404 ROOM_NOT_FOUND`, `410 ROOM_CLOSED`, `403 WRONG_PASSWORD`, `403 BANNED`, `429`.
    pub async fn join(&self, request: &JoinRoomRequest) -> Result<JoinRoomResponse> {
        self.request::<JoinRoom>(&(), &(), request).await
    }

    /// `GET /api/rooms/{code}/`: the room with its participants and playback (members only).
    ///
    /// # Errors
    /// `403 NOT_A_MEMBER`, `404 ROOM_NOT_FOUND`.
    pub async fn room(&self, code: RoomCode) -> Result<RoomDetail> {
        self.request::<GetRoom>(&code, &(), &()).await
    }

    /// `GET /api/rooms/{code}/audit/`: the room's host actions, oldest first (host only).
    ///
    /// # Errors
    /// [`Error::Api`] with `NOT_HOST` for anyone but the host, `ROOM_NOT_FOUND`; transport
    /// errors.
    pub async fn audit_log(&self, code: RoomCode) -> Result<AuditLogResponse> {
        self.request::<GetAuditLog>(&code, &(), &()).await
    }

    /// `GET /api/rooms/{code}/participants/`: one page of the room's approved members, by
    /// user id; pass each page's `next_cursor` to [`ParticipantsQuery::after`] for the next.
    /// Every member who stays in the room is listed exactly once, whoever comes and goes
    /// between pages. A big room's snapshot lists only a few; this lists everyone.
    ///
    /// # Errors
    /// `400 INVALID_INPUT` (a malformed `cursor` or `limit`), `403 NOT_A_MEMBER`,
    /// `404 ROOM_NOT_FOUND`.
    pub async fn participants(
        &self,
        code: RoomCode,
        query: &ParticipantsQuery,
    ) -> Result<ParticipantsPage> {
        self.request::<ListParticipants>(&code, query, &()).await
    }

    /// `GET /api/rooms/{code}/pending/`: users waiting for approval (host only).
    ///
    /// # Errors
    /// `403 NOT_HOST`, `404 ROOM_NOT_FOUND`.
    pub async fn pending(&self, code: RoomCode) -> Result<PendingResponse> {
        self.request::<GetPending>(&code, &(), &()).await
    }

    /// `POST /api/rooms/approve/`: lets a pending user in (host only).
    ///
    /// # Errors
    /// `403 NOT_HOST`, `404 NOT_PENDING`.
    pub async fn approve(&self, code: RoomCode, user_id: UserId) -> Result<Participant> {
        let body = RoomUserRequest::new(code, user_id);
        self.request::<Approve>(&(), &(), &body).await
    }

    /// `POST /api/rooms/deny/`: turns a pending user away (host only).
    ///
    /// # Errors
    /// `403 NOT_HOST`, `404 NOT_PENDING`.
    pub async fn deny(&self, code: RoomCode, user_id: UserId) -> Result<()> {
        let body = RoomUserRequest::new(code, user_id);
        self.execute(&self.call::<Deny>(&(), &(), &body)?)
            .await
            .map(drop)
    }

    /// `POST /api/rooms/delete/`: closes the room for good (host only); its sockets close
    /// with 4010.
    ///
    /// # Errors
    /// `403 NOT_HOST`, `404 ROOM_NOT_FOUND`, `410 ROOM_CLOSED` when already closed.
    pub async fn delete_room(&self, code: RoomCode) -> Result<Room> {
        let body = RoomCodeRequest::new(code);
        self.request::<DeleteRoom>(&(), &(), &body).await
    }

    /// `GET /api/rooms/public/`: live public rooms whose host is connected, most viewers
    /// first.
    ///
    /// Page with cursors: start with no cursor, then pass each answer's `next_cursor` back
    /// (`PublicRoomsQuery::after`) until an answer has none. Unlike `offset`, that shows every
    /// room that stays listed exactly once while others come and go between pages.
    ///
    /// # Errors
    /// `400 INVALID_INPUT` (a malformed `cursor`, or a cursor beside an `offset`).
    pub async fn public_rooms(&self, query: &PublicRoomsQuery) -> Result<PublicRoomsResponse> {
        self.request::<ListPublicRooms>(&(), query, &()).await
    }

    // ---- Media and progress -------------------------------------------------------------

    /// `POST /api/media/embed/`: the canonical embed URL of a piece of media and what its
    /// player supports.
    ///
    /// # Errors
    /// `400 INVALID_MEDIA`, with the field at fault in [`ApiError::field`](crate::ApiError::field).
    pub async fn embed(&self, request: &EmbedRequest) -> Result<EmbedResponse> {
        self.request::<Embed>(&(), &(), request).await
    }

    /// `GET /api/media/providers/`: every provider, its kinds and capabilities.
    ///
    /// # Errors
    /// Transport failures only.
    pub async fn providers(&self) -> Result<ProvidersResponse> {
        self.request::<ListProviders>(&(), &(), &()).await
    }

    /// `POST /api/rooms/progress/save/`: records how far the user got (an idempotent upsert).
    ///
    /// # Errors
    /// `400 INVALID_INPUT` / `INVALID_MEDIA`, `403 NOT_A_MEMBER`, `404 ROOM_NOT_FOUND`.
    pub async fn save_progress(&self, request: &SaveProgressRequest) -> Result<WatchProgress> {
        self.request::<SaveProgress>(&(), &(), request).await
    }

    /// `GET /api/rooms/progress/get/`: the user's progress on one piece of media in a room.
    ///
    /// # Errors
    /// `404 NO_PROGRESS`.
    pub async fn progress(&self, query: &ProgressQuery) -> Result<WatchProgress> {
        self.request::<GetProgress>(&(), query, &()).await
    }

    /// `GET /api/rooms/{code}/resume/`: the user's progress on the room's current media.
    ///
    /// # Errors
    /// `404 NO_PROGRESS`.
    pub async fn resume(&self, code: RoomCode) -> Result<WatchProgress> {
        self.request::<Resume>(&code, &(), &()).await
    }

    /// `GET /api/progress/`: all the user's progress, most recent first.
    ///
    /// # Errors
    /// `401 UNAUTHORIZED`.
    pub async fn progress_list(&self) -> Result<ProgressListResponse> {
        self.request::<ListProgress>(&(), &(), &()).await
    }

    // ---- Operations ---------------------------------------------------------------------

    /// `GET /healthz`: `Ok` when the server process answers.
    ///
    /// # Errors
    /// Transport failures, or any failure status.
    pub async fn health(&self) -> Result<()> {
        self.execute(&self.call::<Healthz>(&(), &(), &())?)
            .await
            .map(drop)
    }

    /// `GET /readyz`: `Ok` when the server's database (and Redis, when configured) answer.
    ///
    /// # Errors
    /// `503 UNAVAILABLE` when a dependency does not answer.
    pub async fn ready(&self) -> Result<()> {
        self.execute(&self.call::<Readyz>(&(), &(), &())?)
            .await
            .map(drop)
    }

    /// `GET /metrics`: the server's Prometheus text.
    ///
    /// # Errors
    /// Transport failures, or any failure status.
    pub async fn metrics(&self) -> Result<String> {
        let success = self.execute(&self.call::<Metrics>(&(), &(), &())?).await?;
        Ok(String::from_utf8_lossy(&success.body).into_owned())
    }

    // ---- Rooms, live --------------------------------------------------------------------

    /// Joins room `code` and opens its live session: the REST join first (idempotent), then
    /// a background task that owns the room's WebSocket. See [`RoomSession`].
    ///
    /// Returns at once; the socket connects in the background and the stream starts with
    /// `RoomEvent::Connected` and the room's `ROOM_SNAPSHOT`.
    ///
    /// # Errors
    /// The REST join's refusal (`404 ROOM_NOT_FOUND`, `410 ROOM_CLOSED`, `403 WRONG_PASSWORD`,
    /// `403 BANNED`, …); [`Error::PendingApproval`] in an `APPROVAL` room until the host
    /// approves; [`Error::NotSignedIn`].
    pub async fn join_room(&self, code: RoomCode) -> Result<(RoomSession, RoomEvents)> {
        self.join_room_with(code, JoinOptions::new()).await
    }

    /// [`join_room`](Self::join_room) with a room password or session options.
    ///
    /// # Errors
    /// As [`join_room`](Self::join_room).
    pub async fn join_room_with(
        &self,
        code: RoomCode,
        options: JoinOptions,
    ) -> Result<(RoomSession, RoomEvents)> {
        let JoinOptions { password, session } = options;
        let answer = self.join(&JoinRoomRequest::new(code, password)).await?;
        if answer.status == MemberStatus::Pending {
            return Err(Error::PendingApproval {
                room: Box::new(answer.room),
            });
        }
        let code = answer.room.code;
        let options = session.unwrap_or_else(|| self.shared.session_defaults.clone());
        let url = self.shared.http.ws_url(code);
        Ok(session::start(self.auth.clone(), url, code, options))
    }

    // ---- Plumbing -----------------------------------------------------------------------

    fn call<E: Endpoint>(
        &self,
        params: &E::Path,
        query: &E::Query,
        body: &E::Body,
    ) -> Result<Call> {
        self.shared.http.call::<E>(params, query, body)
    }

    /// One call of endpoint `E`, its answer decoded as the endpoint declares.
    async fn request<E: Endpoint>(
        &self,
        params: &E::Path,
        query: &E::Query,
        body: &E::Body,
    ) -> Result<E::Response> {
        self.json(self.call::<E>(params, query, body)?).await
    }

    async fn sign_in(&self, call: Call) -> Result<AuthResponse> {
        let answer: AuthResponse = self.json(call).await?;
        self.auth.signed_in(&answer);
        Ok(answer)
    }

    async fn json<T: serde::de::DeserializeOwned>(&self, call: Call) -> Result<T> {
        let success = self.execute(&call).await?;
        http::decode(call.what, success)
    }

    async fn execute(&self, call: &Call) -> Result<http::Success> {
        self.auth.execute(call).await
    }
}
