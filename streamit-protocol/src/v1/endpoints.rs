//! Every HTTP endpoint of protocol v1, declared once: method, path, authentication, query,
//! body, success status, answer and documented failures.
//!
//! The server routes by these declarations, the SDK builds its calls from them and the OpenAPI
//! document is generated from them, so adding an endpoint is one entry in the list below (and
//! its handler, which the server's exhaustive match then asks for). The model is ruma's
//! endpoint metadata: each endpoint is a type implementing [`Endpoint`], whose associated types
//! say what travels, and [`Operation`] lists them all for code that walks the API.
//!
//! The room's WebSocket (`/ws/room/{code}/`) is not here: it is one upgrade, not a request and
//! an answer, and `docs/protocol.md` §6 describes its frames.

use std::borrow::Cow;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{
    AuditLogResponse, AuthResponse, CreateRoomRequest, CreateRoomResponse, EmbedRequest,
    EmbedResponse, GuestRequest, JoinRoomRequest, JoinRoomResponse, LoginRequest, LogoutRequest,
    Participant, ParticipantsPage, ParticipantsQuery, PendingResponse, ProgressListResponse,
    ProgressQuery, ProvidersResponse, PublicRoomsQuery, PublicRoomsResponse, RefreshRequest,
    RegisterRequest, Room, RoomCode, RoomCodeRequest, RoomDetail, RoomUserRequest,
    SaveProgressRequest, TokenPair, User, WatchProgress,
};

/// The HTTP methods the API uses. `HEAD` is answered wherever `GET` is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Method {
    /// Reads; answered for `HEAD` too.
    Get,
    /// Everything that changes something.
    Post,
}

impl Method {
    /// The method's name on the wire.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
        }
    }
}

/// How an endpoint authenticates its caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Auth {
    /// Anyone may call it.
    Open,
    /// `Authorization: Bearer <access token>` is required.
    Bearer,
}

/// What a success carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Answer {
    /// A JSON body of the named schema.
    Json(&'static str),
    /// No body (`204 No Content`).
    Empty,
    /// Plain text (the operational endpoints).
    Text,
}

/// One endpoint's declaration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Metadata {
    /// A stable name: the OpenAPI `operationId` and the server's metrics label.
    pub name: &'static str,
    /// The HTTP method.
    pub method: Method,
    /// The path as `docs/protocol.md` writes it, with its trailing slash; `{code}` stands for
    /// a room code. The server also accepts it without the slash.
    pub path: &'static str,
    /// The names of the path's parameters.
    pub path_params: &'static [&'static str],
    /// One line for people (the OpenAPI summary).
    pub summary: &'static str,
    /// Who may call it.
    pub auth: Auth,
    /// Schema name of the type whose fields are the query parameters.
    pub query: Option<&'static str>,
    /// Schema name of the JSON request body.
    pub body: Option<&'static str>,
    /// The success status.
    pub status: u16,
    /// What the success carries.
    pub answer: Answer,
    /// Documented failure statuses; each answers the error body, as every failure does.
    pub failures: &'static [u16],
}

/// Parameters in an endpoint's path.
pub trait PathParams {
    /// The parameters' names, as the path writes them between braces.
    const NAMES: &'static [&'static str];

    /// `pattern` with its parameters filled in.
    fn fill(&self, pattern: &'static str) -> Cow<'static, str>;
}

impl PathParams for () {
    const NAMES: &'static [&'static str] = &[];

    fn fill(&self, pattern: &'static str) -> Cow<'static, str> {
        Cow::Borrowed(pattern)
    }
}

impl PathParams for RoomCode {
    const NAMES: &'static [&'static str] = &["code"];

    fn fill(&self, pattern: &'static str) -> Cow<'static, str> {
        Cow::Owned(pattern.replace("{code}", &self.to_string()))
    }
}

/// An endpoint as a type: its declaration and what travels. `()` stands for "none" (no path
/// parameter, no query, no body, no answer body).
pub trait Endpoint {
    /// The declaration.
    const METADATA: Metadata;
    /// What fills the path's parameters.
    type Path: PathParams;
    /// The query string's fields.
    type Query: Serialize + DeserializeOwned;
    /// The JSON request body.
    type Body: Serialize + DeserializeOwned;
    /// The success's body.
    type Response: Serialize + DeserializeOwned;

    /// The path to call, parameters filled in.
    fn path(params: &Self::Path) -> Cow<'static, str> {
        params.fill(Self::METADATA.path)
    }
}

/// `None` for `()`, else the type's schema name.
macro_rules! schema_name {
    (()) => {
        None
    };
    ($name:ident) => {
        Some(stringify!($name))
    };
}

/// What a success carries, as [`Answer`] and as a Rust type.
macro_rules! answer {
    (json $name:ident) => {
        Answer::Json(stringify!($name))
    };
    (empty) => {
        Answer::Empty
    };
    (text) => {
        Answer::Text
    };
}

macro_rules! answer_type {
    (json $name:ident) => {
        $name
    };
    (empty) => {
        ()
    };
    (text) => {
        String
    };
}

macro_rules! endpoints {
    ($(
        $marker:ident = $name:literal: $method:ident $path:literal, $auth:ident,
            $summary:literal,
            path $params:ty, query $query:tt, body $body:tt,
            ok $status:literal ($($answer:tt)+), fails [$($failure:literal),*];
    )+) => {
        $(
            #[doc = concat!("`", stringify!($method), " ", $path, "`: ", $summary, ".")]
            #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
            pub struct $marker;

            impl Endpoint for $marker {
                const METADATA: Metadata = Metadata {
                    name: $name,
                    method: Method::$method,
                    path: $path,
                    path_params: <$params as PathParams>::NAMES,
                    summary: $summary,
                    auth: Auth::$auth,
                    query: schema_name!($query),
                    body: schema_name!($body),
                    status: $status,
                    answer: answer!($($answer)+),
                    failures: &[$($failure),*],
                };
                type Path = $params;
                type Query = $query;
                type Body = $body;
                type Response = answer_type!($($answer)+);
            }
        )+

        /// Every endpoint, for code that walks the API (the router, the OpenAPI generator).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Operation {
            $(
                #[doc = concat!("[`", stringify!($marker), "`]")]
                $marker
            ),+
        }

        impl Operation {
            /// Every endpoint, in the order `docs/protocol.md` §1 lists them.
            pub const ALL: &'static [Self] = &[$(Self::$marker),+];

            /// The endpoint's declaration.
            pub const fn metadata(self) -> &'static Metadata {
                match self {
                    $(Self::$marker => &<$marker as Endpoint>::METADATA),+
                }
            }
        }
    };
}

endpoints! {
    Register = "register": Post "/api/auth/register/", Open,
        "Create an account and sign in as it",
        path (), query (), body RegisterRequest, ok 201 (json AuthResponse), fails [400, 409, 429];
    Login = "login": Post "/api/auth/login/", Open,
        "Sign in; the same 401 for an unknown e-mail and a wrong password",
        path (), query (), body LoginRequest, ok 200 (json AuthResponse), fails [400, 401, 429];
    Guest = "guest": Post "/api/auth/guest/", Open,
        "Sign in as a new guest (named like Guest-4821 when no name is given)",
        path (), query (), body GuestRequest, ok 201 (json AuthResponse), fails [400, 429];
    Refresh = "refresh": Post "/api/auth/refresh/", Open,
        "Spend a refresh token for a new pair; reusing a spent one revokes the whole login",
        path (), query (), body RefreshRequest, ok 200 (json TokenPair), fails [400, 401];
    Logout = "logout": Post "/api/auth/logout/", Bearer,
        "End the login: its tokens stop working and its sockets close with 4001",
        path (), query (), body LogoutRequest, ok 204 (empty), fails [400, 401];
    Me = "me": Get "/api/auth/me/", Bearer,
        "The caller",
        path (), query (), body (), ok 200 (json User), fails [401];
    CreateRoom = "create_room": Post "/api/rooms/create/", Bearer,
        "Create a room hosted by the caller; a generated password is shown once",
        path (), query (), body CreateRoomRequest, ok 201 (json CreateRoomResponse),
        fails [400, 401, 429];
    JoinRoom = "join_room": Post "/api/rooms/join/", Bearer,
        "Join a room (idempotent; the host is always APPROVED)",
        path (), query (), body JoinRoomRequest, ok 200 (json JoinRoomResponse),
        fails [400, 401, 403, 404, 410, 429];
    GetRoom = "room_detail": Get "/api/rooms/{code}/", Bearer,
        "A room with its participants and playback (members only)",
        path RoomCode, query (), body (), ok 200 (json RoomDetail), fails [401, 403, 404];
    GetAuditLog = "audit_log": Get "/api/rooms/{code}/audit/", Bearer,
        "The room's audit log of host actions, oldest first (host only)",
        path RoomCode, query (), body (), ok 200 (json AuditLogResponse), fails [401, 403, 404];
    GetPending = "pending": Get "/api/rooms/{code}/pending/", Bearer,
        "Users waiting for the host's approval (host only)",
        path RoomCode, query (), body (), ok 200 (json PendingResponse), fails [401, 403, 404];
    ListParticipants = "participants": Get "/api/rooms/{code}/participants/", Bearer,
        "One page of the room's approved members, by user id (members only)",
        path RoomCode, query ParticipantsQuery, body (), ok 200 (json ParticipantsPage),
        fails [400, 401, 403, 404];
    Approve = "approve": Post "/api/rooms/approve/", Bearer,
        "Let a pending user in (host only)",
        path (), query (), body RoomUserRequest, ok 200 (json Participant),
        fails [400, 401, 403, 404];
    Deny = "deny": Post "/api/rooms/deny/", Bearer,
        "Turn a pending user away (host only)",
        path (), query (), body RoomUserRequest, ok 204 (empty), fails [400, 401, 403, 404];
    DeleteRoom = "delete_room": Post "/api/rooms/delete/", Bearer,
        "Delete a room for good (host only); members get ROOM_DELETED and close 4010",
        path (), query (), body RoomCodeRequest, ok 200 (json Room),
        fails [400, 401, 403, 404, 410];
    ListPublicRooms = "public_rooms": Get "/api/rooms/public/", Open,
        "LIVE public rooms whose host is connected, most viewers first",
        path (), query PublicRoomsQuery, body (), ok 200 (json PublicRoomsResponse), fails [400];
    Embed = "embed": Post "/api/media/embed/", Open,
        "The canonical embed URL of a piece of media and what its player supports",
        path (), query (), body EmbedRequest, ok 200 (json EmbedResponse), fails [400];
    ListProviders = "providers": Get "/api/media/providers/", Open,
        "Providers, the kinds they serve and their capabilities",
        path (), query (), body (), ok 200 (json ProvidersResponse), fails [];
    SaveProgress = "save_progress": Post "/api/rooms/progress/save/", Bearer,
        "Save the caller's watch progress (idempotent upsert)",
        path (), query (), body SaveProgressRequest, ok 200 (json WatchProgress),
        fails [400, 401, 403, 404];
    GetProgress = "get_progress": Get "/api/rooms/progress/get/", Bearer,
        "The caller's progress on one piece of media in a room",
        path (), query ProgressQuery, body (), ok 200 (json WatchProgress),
        fails [400, 401, 404];
    Resume = "resume": Get "/api/rooms/{code}/resume/", Bearer,
        "The caller's progress on the room's current media",
        path RoomCode, query (), body (), ok 200 (json WatchProgress), fails [401, 403, 404];
    ListProgress = "progress_list": Get "/api/progress/", Bearer,
        "All the caller's progress, most recent first",
        path (), query (), body (), ok 200 (json ProgressListResponse), fails [401];
    Healthz = "healthz": Get "/healthz", Open,
        "The process is up",
        path (), query (), body (), ok 200 (text), fails [];
    Readyz = "readyz": Get "/readyz", Open,
        "The database (and Redis, when configured) answer",
        path (), query (), body (), ok 200 (text), fails [503];
    Metrics = "metrics": Get "/metrics", Open,
        "Prometheus metrics in the text format",
        path (), query (), body (), ok 200 (text), fails [];
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_declaration_agrees_with_itself() {
        for operation in Operation::ALL {
            let m = operation.metadata();
            assert_eq!(
                m.method == Method::Get,
                m.body.is_none(),
                "{}: GET without a body, POST with one",
                m.name
            );
            assert_eq!(
                m.status == 204,
                m.answer == Answer::Empty,
                "{}: 204 exactly when no body",
                m.name
            );
            assert!(m.method == Method::Get || m.query.is_none(), "{}", m.name);
            for name in m.path_params {
                assert!(m.path.contains(&format!("{{{name}}}")), "{}", m.name);
            }
            assert_eq!(
                m.path.matches('{').count(),
                m.path_params.len(),
                "{}: every parameter in the path is declared",
                m.name
            );
        }
        let mut names: Vec<_> = Operation::ALL.iter().map(|o| o.metadata().name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Operation::ALL.len(), "names are unique");
    }

    #[test]
    fn paths_fill_their_code() {
        let code = RoomCode::parse("ABCD2345").unwrap();
        assert_eq!(GetRoom::path(&code), "/api/rooms/ABCD2345/");
        assert_eq!(Me::path(&()), "/api/auth/me/");
    }
}
