//! REST: [`Client`], one typed async method per endpoint of protocol v1 §1, with the login's
//! tokens kept inside and refreshed when the server says the access token expired.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{AUTHORIZATION, HeaderValue, RETRY_AFTER};
use serde::Serialize;
use serde::de::DeserializeOwned;
use streamit_protocol::v1::{
    AccessToken, AuditLogResponse, AuthResponse, CreateRoomRequest, CreateRoomResponse,
    DisplayName, EmbedRequest, EmbedResponse, ErrorBody, ErrorCode, GuestRequest, JoinRoomRequest,
    JoinRoomResponse, LoginRequest, LogoutRequest, MemberStatus, Participant, PendingResponse,
    ProgressListResponse, ProgressQuery, ProvidersResponse, PublicRoomsQuery, PublicRoomsResponse,
    RefreshRequest, RegisterRequest, Room, RoomCode, RoomCodeRequest, RoomDetail, RoomUserRequest,
    SaveProgressRequest, TokenPair, User, UserId, WatchProgress,
};

use crate::error::{ApiError, Error, Result};
use crate::session::{self, JoinOptions, RoomEvents, RoomSession, SessionOptions};

/// The HTTP timeout when the builder sets none: long enough for a slow Argon2 login.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// A StreamIt server's HTTP API, and the door to its rooms.
///
/// Cheap to clone: clones share the connection pool and the login. Every method is one HTTP
/// call returning the protocol's own types; failures are an [`Error`] whose
/// [`code`](Error::code) is the protocol's [`ErrorCode`].
///
/// Register, log in or sign in as a guest and the client keeps the tokens. When an
/// authenticated call is answered `401 UNAUTHORIZED` (the access token expired), the client
/// spends the refresh token once (`POST /api/auth/refresh/`, shared by concurrent callers so a
/// refresh token is never spent twice) and repeats the call once. [`logout`](Self::logout)
/// forgets the tokens.
///
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
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    http: reqwest::Client,
    /// `scheme://host[:port][/prefix]`, without a trailing slash.
    base: String,
    /// The same with `ws`/`wss`.
    ws_base: String,
    login: Mutex<Login>,
    /// Serialises refreshes: a refresh token is single use, and spending it twice revokes
    /// the whole login.
    refresh_gate: tokio::sync::Mutex<()>,
    session_defaults: SessionOptions,
}

/// The signed-in user's tokens and, once known, the user.
#[derive(Debug, Default)]
struct Login {
    tokens: Option<TokenPair>,
    user: Option<User>,
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
        let (base, ws_base) = base_urls(&self.base_url)?;
        let user_agent = self
            .user_agent
            .unwrap_or_else(|| concat!("streamit-client/", env!("CARGO_PKG_VERSION")).to_owned());
        let mut http = reqwest::Client::builder()
            .timeout(self.timeout)
            .user_agent(user_agent);
        if let Some(timeout) = self.connect_timeout {
            http = http.connect_timeout(timeout);
        }
        if self.no_proxy {
            http = http.no_proxy();
        }
        Ok(Client {
            inner: Arc::new(Inner {
                http: http.build()?,
                base,
                ws_base,
                login: Mutex::new(Login {
                    tokens: self.tokens,
                    user: None,
                }),
                refresh_gate: tokio::sync::Mutex::new(()),
                session_defaults: self.session,
            }),
        })
    }
}

/// Checks the base URL and derives the WebSocket one from it.
fn base_urls(raw: &str) -> Result<(String, String)> {
    let invalid = |reason: &str| Error::InvalidUrl {
        url: raw.to_owned(),
        reason: reason.to_owned(),
    };
    let url = reqwest::Url::parse(raw).map_err(|e| invalid(&e.to_string()))?;
    let ws_scheme = match url.scheme() {
        "http" => "ws",
        "https" => "wss",
        _ => return Err(invalid("the scheme must be http or https")),
    };
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("a base URL has no query or fragment"));
    }
    let base = url.as_str().trim_end_matches('/').to_owned();
    let ws_base = format!("{ws_scheme}{}", &base[url.scheme().len()..]);
    Ok((base, ws_base))
}

/// One call, built once so it can be sent again after a refresh.
struct Call {
    what: String,
    request: reqwest::Request,
    auth: bool,
}

/// A 200/201 answer's body, read whole.
struct Success {
    status: u16,
    body: Vec<u8>,
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
            tokens: None,
            session: SessionOptions::default(),
        }
    }

    /// The base URL, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.inner.base
    }

    /// The current tokens, to save and restore with [`ClientBuilder::tokens`]; `None` when
    /// signed out. They change with every refresh.
    pub fn tokens(&self) -> Option<TokenPair> {
        self.signed_in().tokens.clone()
    }

    /// The signed-in user, as the last register, login, guest or [`me`](Self::me) answer
    /// showed it.
    pub fn user(&self) -> Option<User> {
        self.signed_in().user.clone()
    }

    /// Whether the client holds tokens.
    pub fn is_signed_in(&self) -> bool {
        self.signed_in().tokens.is_some()
    }

    // ---- Auth -------------------------------------------------------------------------

    /// `POST /api/auth/register/`: creates an account and signs in as it.
    ///
    /// # Errors
    /// `400 INVALID_INPUT`, `409 EMAIL_TAKEN`, `429 RATE_LIMITED`.
    pub async fn register(&self, request: &RegisterRequest) -> Result<AuthResponse> {
        let call = self.post("/api/auth/register/", request, false)?;
        self.sign_in(call).await
    }

    /// `POST /api/auth/login/`: signs in.
    ///
    /// # Errors
    /// `401 INVALID_CREDENTIALS` (unknown e-mail and wrong password alike), `429 RATE_LIMITED`.
    pub async fn login(&self, request: &LoginRequest) -> Result<AuthResponse> {
        let call = self.post("/api/auth/login/", request, false)?;
        self.sign_in(call).await
    }

    /// `POST /api/auth/guest/`: signs in as a new guest, named `display_name` or by the
    /// server (`Guest-4821`).
    ///
    /// # Errors
    /// `400 INVALID_INPUT`, `429 RATE_LIMITED`.
    pub async fn guest(&self, display_name: Option<DisplayName>) -> Result<AuthResponse> {
        let call = self.post("/api/auth/guest/", &GuestRequest::new(display_name), false)?;
        self.sign_in(call).await
    }

    /// `POST /api/auth/refresh/`: exchanges the refresh token for a new pair now. Calls do
    /// this by themselves when the access token expires; this is for apps that want it early.
    ///
    /// # Errors
    /// [`Error::NotSignedIn`]; `401 INVALID_TOKEN` (expired, revoked or spent: the tokens are
    /// forgotten, sign in again).
    pub async fn refresh(&self) -> Result<TokenPair> {
        let used = self.access_token().ok_or(Error::NotSignedIn)?;
        self.refresh_after(&used).await
    }

    /// `POST /api/auth/logout/`: ends the login on the server (its sockets close with 4001)
    /// and forgets the tokens, whatever the server answers.
    ///
    /// # Errors
    /// [`Error::NotSignedIn`]; `401` when the login had already ended.
    pub async fn logout(&self) -> Result<()> {
        // The access token alone ends the login; a refresh token in the body could be one an
        // automatic refresh spends on the way, which the server would take for reuse.
        let call = self.post("/api/auth/logout/", &LogoutRequest::default(), true)?;
        let answer = self.execute(&call).await;
        *self.signed_in() = Login::default();
        answer.map(drop)
    }

    /// `GET /api/auth/me/`: the signed-in user.
    ///
    /// # Errors
    /// [`Error::NotSignedIn`]; `401 UNAUTHORIZED` when the login ended.
    pub async fn me(&self) -> Result<User> {
        let user: User = self.json(self.get("/api/auth/me/", true)?).await?;
        self.signed_in().user = Some(user.clone());
        Ok(user)
    }

    // ---- Rooms ------------------------------------------------------------------------

    /// `POST /api/rooms/create/`: a new room hosted by the caller. `password` in the answer
    /// is the generated password of a `PASSWORD` room created without one, shown only here.
    ///
    /// # Errors
    /// `400 INVALID_INPUT` / `INVALID_MEDIA`, `401`, `429`.
    pub async fn create_room(&self, request: &CreateRoomRequest) -> Result<CreateRoomResponse> {
        self.json(self.post("/api/rooms/create/", request, true)?)
            .await
    }

    /// `POST /api/rooms/join/`: become a member (idempotent). This is membership only; see
    /// [`join_room`](Self::join_room) for a live session, which calls this first.
    ///
    /// # Errors
    /// `404 ROOM_NOT_FOUND`, `410 ROOM_CLOSED`, `403 WRONG_PASSWORD`, `403 BANNED`, `429`.
    pub async fn join(&self, request: &JoinRoomRequest) -> Result<JoinRoomResponse> {
        self.json(self.post("/api/rooms/join/", request, true)?)
            .await
    }

    /// `GET /api/rooms/{code}/`: the room with its participants and playback (members only).
    ///
    /// # Errors
    /// `403 NOT_A_MEMBER`, `404 ROOM_NOT_FOUND`.
    pub async fn room(&self, code: RoomCode) -> Result<RoomDetail> {
        self.json(self.get(&format!("/api/rooms/{code}/"), true)?)
            .await
    }

    /// `GET /api/rooms/{code}/audit/`: the room's host actions, oldest first (host only).
    ///
    /// # Errors
    /// [`Error::Api`] with `NOT_HOST` for anyone but the host, `ROOM_NOT_FOUND`; transport
    /// errors.
    pub async fn audit_log(&self, code: RoomCode) -> Result<AuditLogResponse> {
        self.json(self.get(&format!("/api/rooms/{code}/audit/"), true)?)
            .await
    }

    /// `GET /api/rooms/{code}/pending/`: users waiting for approval (host only).
    ///
    /// # Errors
    /// `403 NOT_HOST`, `404 ROOM_NOT_FOUND`.
    pub async fn pending(&self, code: RoomCode) -> Result<PendingResponse> {
        self.json(self.get(&format!("/api/rooms/{code}/pending/"), true)?)
            .await
    }

    /// `POST /api/rooms/approve/`: lets a pending user in (host only).
    ///
    /// # Errors
    /// `403 NOT_HOST`, `404 NOT_PENDING`.
    pub async fn approve(&self, code: RoomCode, user_id: UserId) -> Result<Participant> {
        let body = RoomUserRequest::new(code, user_id);
        self.json(self.post("/api/rooms/approve/", &body, true)?)
            .await
    }

    /// `POST /api/rooms/deny/`: turns a pending user away (host only).
    ///
    /// # Errors
    /// `403 NOT_HOST`, `404 NOT_PENDING`.
    pub async fn deny(&self, code: RoomCode, user_id: UserId) -> Result<()> {
        let body = RoomUserRequest::new(code, user_id);
        self.execute(&self.post("/api/rooms/deny/", &body, true)?)
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
        self.json(self.post("/api/rooms/delete/", &body, true)?)
            .await
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
        self.json(self.get_with("/api/rooms/public/", query, false)?)
            .await
    }

    // ---- Media and progress -------------------------------------------------------------

    /// `POST /api/media/embed/`: the canonical embed URL of a piece of media and what its
    /// player supports.
    ///
    /// # Errors
    /// `400 INVALID_MEDIA`, with the field at fault in [`ApiError::field`].
    pub async fn embed(&self, request: &EmbedRequest) -> Result<EmbedResponse> {
        self.json(self.post("/api/media/embed/", request, false)?)
            .await
    }

    /// `GET /api/media/providers/`: every provider, its kinds and capabilities.
    ///
    /// # Errors
    /// Transport failures only.
    pub async fn providers(&self) -> Result<ProvidersResponse> {
        self.json(self.get("/api/media/providers/", false)?).await
    }

    /// `POST /api/rooms/progress/save/`: records how far the user got (an idempotent upsert).
    ///
    /// # Errors
    /// `400 INVALID_INPUT` / `INVALID_MEDIA`, `403 NOT_A_MEMBER`, `404 ROOM_NOT_FOUND`.
    pub async fn save_progress(&self, request: &SaveProgressRequest) -> Result<WatchProgress> {
        self.json(self.post("/api/rooms/progress/save/", request, true)?)
            .await
    }

    /// `GET /api/rooms/progress/get/`: the user's progress on one piece of media in a room.
    ///
    /// # Errors
    /// `404 NO_PROGRESS`.
    pub async fn progress(&self, query: &ProgressQuery) -> Result<WatchProgress> {
        self.json(self.get_with("/api/rooms/progress/get/", query, true)?)
            .await
    }

    /// `GET /api/rooms/{code}/resume/`: the user's progress on the room's current media.
    ///
    /// # Errors
    /// `404 NO_PROGRESS`.
    pub async fn resume(&self, code: RoomCode) -> Result<WatchProgress> {
        self.json(self.get(&format!("/api/rooms/{code}/resume/"), true)?)
            .await
    }

    /// `GET /api/progress/`: all the user's progress, most recent first.
    ///
    /// # Errors
    /// `401 UNAUTHORIZED`.
    pub async fn progress_list(&self) -> Result<ProgressListResponse> {
        self.json(self.get("/api/progress/", true)?).await
    }

    // ---- Operations ---------------------------------------------------------------------

    /// `GET /healthz`: `Ok` when the server process answers.
    ///
    /// # Errors
    /// Transport failures, or any failure status.
    pub async fn health(&self) -> Result<()> {
        self.execute(&self.get("/healthz", false)?).await.map(drop)
    }

    /// `GET /readyz`: `Ok` when the server's database (and Redis, when configured) answer.
    ///
    /// # Errors
    /// `503 UNAVAILABLE` when a dependency does not answer.
    pub async fn ready(&self) -> Result<()> {
        self.execute(&self.get("/readyz", false)?).await.map(drop)
    }

    /// `GET /metrics`: the server's Prometheus text.
    ///
    /// # Errors
    /// Transport failures, or any failure status.
    pub async fn metrics(&self) -> Result<String> {
        let success = self.execute(&self.get("/metrics", false)?).await?;
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
        let options = session.unwrap_or_else(|| self.inner.session_defaults.clone());
        Ok(session::start(self.clone(), answer.room.code, options))
    }

    // ---- For the session task -----------------------------------------------------------

    /// The WebSocket URL of room `code`.
    pub(crate) fn ws_url(&self, code: RoomCode) -> String {
        format!("{}/ws/room/{code}/", self.inner.ws_base)
    }

    /// The access token to use now.
    pub(crate) fn access_token(&self) -> Option<AccessToken> {
        self.signed_in().tokens.as_ref().map(|t| t.access.clone())
    }

    /// Refreshes the tokens unless someone already replaced `used` (then their pair is
    /// current and is returned), so concurrent callers spend the refresh token once.
    ///
    /// A refusal (`401 INVALID_TOKEN`) means the login is over: the tokens are forgotten.
    pub(crate) async fn refresh_after(&self, used: &AccessToken) -> Result<TokenPair> {
        let _gate = self.inner.refresh_gate.lock().await;
        let refresh = {
            let login = self.signed_in();
            match &login.tokens {
                None => return Err(Error::NotSignedIn),
                Some(tokens) if tokens.access != *used => return Ok(tokens.clone()),
                Some(tokens) => tokens.refresh.clone(),
            }
        };
        let call = self.post(
            "/api/auth/refresh/",
            &RefreshRequest::new(refresh.clone()),
            false,
        )?;
        // Sent once, without the refresh-and-retry of `execute`: it is the refresh.
        let answer = match self.send(&call, None).await {
            Ok(response) => finish(response).await,
            Err(error) => Err(error),
        };
        match answer.and_then(|success| decode::<TokenPair>(call.what, success)) {
            Ok(pair) => {
                self.signed_in().tokens = Some(pair.clone());
                Ok(pair)
            }
            Err(Error::Api(api)) if api.status == 401 => {
                let mut login = self.signed_in();
                if login.tokens.as_ref().is_some_and(|t| t.refresh == refresh) {
                    *login = Login::default();
                }
                Err(Error::Api(api))
            }
            Err(other) => Err(other),
        }
    }

    // ---- Plumbing -----------------------------------------------------------------------

    fn signed_in(&self) -> MutexGuard<'_, Login> {
        // The sections are plain assignments; a panic cannot leave the login half-written.
        self.inner
            .login
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.inner.base)
    }

    /// A call to `path`; `shape` adds its query or its body.
    fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        auth: bool,
        shape: impl FnOnce(reqwest::RequestBuilder) -> reqwest::RequestBuilder,
    ) -> Result<Call> {
        let what = format!("{method} {path}");
        let request = shape(self.inner.http.request(method, self.url(path))).build()?;
        Ok(Call {
            what,
            request,
            auth,
        })
    }

    fn get(&self, path: &str, auth: bool) -> Result<Call> {
        self.call(reqwest::Method::GET, path, auth, |request| request)
    }

    fn get_with<Q: Serialize>(&self, path: &str, query: &Q, auth: bool) -> Result<Call> {
        self.call(reqwest::Method::GET, path, auth, |request| {
            request.query(query)
        })
    }

    fn post<B: Serialize>(&self, path: &str, body: &B, auth: bool) -> Result<Call> {
        self.call(reqwest::Method::POST, path, auth, |request| {
            request.json(body)
        })
    }

    async fn sign_in(&self, call: Call) -> Result<AuthResponse> {
        let answer: AuthResponse = self.json(call).await?;
        *self.signed_in() = Login {
            tokens: Some(TokenPair::new(
                answer.access.clone(),
                answer.refresh.clone(),
                answer.access_expires_at_ms,
            )),
            user: Some(answer.user.clone()),
        };
        Ok(answer)
    }

    async fn json<T: DeserializeOwned>(&self, call: Call) -> Result<T> {
        let success = self.execute(&call).await?;
        decode(call.what, success)
    }

    /// Sends the call; on `401 UNAUTHORIZED` refreshes once and sends it once more.
    async fn execute(&self, call: &Call) -> Result<Success> {
        let token = if call.auth {
            Some(self.access_token().ok_or(Error::NotSignedIn)?)
        } else {
            None
        };
        let response = self.send(call, token.as_ref()).await?;
        let Some(used) = token.filter(|_| response.status() == StatusCode::UNAUTHORIZED) else {
            return finish(response).await;
        };
        let refused = api_error(response).await;
        if refused.code != ErrorCode::Unauthorized {
            return Err(refused.into());
        }
        match self.refresh_after(&used).await {
            Ok(pair) => finish(self.send(call, Some(&pair.access)).await?).await,
            Err(error) => {
                tracing::debug!(%error, "refreshing the access token failed");
                Err(refused.into())
            }
        }
    }

    async fn send(&self, call: &Call, token: Option<&AccessToken>) -> Result<reqwest::Response> {
        let mut request = call
            .request
            .try_clone()
            .expect("request bodies are JSON bytes, never streams");
        if let Some(token) = token {
            let value = bearer(token).map_err(|_| Error::NotSignedIn)?;
            request.headers_mut().insert(AUTHORIZATION, value);
        }
        Ok(self.inner.http.execute(request).await?)
    }
}

/// A success's body as `T`.
fn decode<T: DeserializeOwned>(what: String, success: Success) -> Result<T> {
    serde_json::from_slice(&success.body).map_err(|source| Error::Decode {
        what,
        status: success.status,
        source,
    })
}

/// A success's body, or the failure as an [`ApiError`].
async fn finish(response: reqwest::Response) -> Result<Success> {
    let status = response.status();
    if !status.is_success() {
        return Err(api_error(response).await.into());
    }
    let body = response.bytes().await?.to_vec();
    Ok(Success {
        status: status.as_u16(),
        body,
    })
}

/// Reads a failure: the protocol's error body, or (from something that is not a StreamIt
/// server, such as a proxy) `Unknown` with the status's reason.
async fn api_error(response: reqwest::Response) -> ApiError {
    let status = response.status();
    let header_retry = response
        .headers()
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let body = response.bytes().await.unwrap_or_default();
    let parsed = serde_json::from_slice::<ErrorBody>(&body).ok();
    let detail_retry = parsed
        .as_ref()
        .and_then(|body| body.error.retry_after_ms())
        .map(Duration::from_millis);
    let (code, message, details) = match parsed {
        Some(body) => (body.error.code, body.error.message, body.error.details),
        None => (
            ErrorCode::Unknown,
            status.canonical_reason().unwrap_or("error").to_owned(),
            None,
        ),
    };
    ApiError {
        status: status.as_u16(),
        code,
        message,
        details,
        retry_after: detail_retry.or(header_retry),
    }
}

/// `Authorization: Bearer <token>` for REST and the room socket alike, kept out of debug output.
pub(crate) fn bearer(
    token: &AccessToken,
) -> std::result::Result<HeaderValue, reqwest::header::InvalidHeaderValue> {
    let mut value = HeaderValue::from_str(&format!("Bearer {}", token.as_str()))?;
    value.set_sensitive(true);
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_derive_the_websocket_one() {
        assert_eq!(
            base_urls("http://127.0.0.1:8000/").unwrap(),
            ("http://127.0.0.1:8000".into(), "ws://127.0.0.1:8000".into())
        );
        assert_eq!(
            base_urls("https://example.com/streamit").unwrap(),
            (
                "https://example.com/streamit".into(),
                "wss://example.com/streamit".into()
            )
        );
        for bad in ["ftp://x", "127.0.0.1:8000", "http://h/?q=1", ""] {
            assert!(
                matches!(base_urls(bad), Err(Error::InvalidUrl { .. })),
                "{bad}"
            );
        }
    }
}
