//! The routing table: method and path to a [`Route`], or the 404 / 405 the protocol asks for.

use http::Method;
use streamit_protocol::v1::{ErrorCode, RoomCode, detail};

use crate::error::ApiError;

/// Every endpoint; path parameters are already parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Route {
    Register,
    Login,
    Guest,
    Refresh,
    Logout,
    Me,
    CreateRoom,
    JoinRoom,
    RoomDetail(RoomCode),
    Pending(RoomCode),
    AuditLog(RoomCode),
    Approve,
    Deny,
    DeleteRoom,
    PublicRooms,
    Embed,
    Providers,
    SaveProgress,
    GetProgress,
    Resume(RoomCode),
    Participants(RoomCode),
    ProgressList,
    Healthz,
    Readyz,
    Metrics,
}

impl Route {
    /// The route's name for metrics: never its parameters, which would make a series per room.
    pub(crate) const fn name(self) -> &'static str {
        match self {
            Self::Register => "register",
            Self::Login => "login",
            Self::Guest => "guest",
            Self::Refresh => "refresh",
            Self::Logout => "logout",
            Self::Me => "me",
            Self::CreateRoom => "create_room",
            Self::JoinRoom => "join_room",
            Self::RoomDetail(_) => "room_detail",
            Self::Pending(_) => "pending",
            Self::Participants(_) => "participants",
            Self::AuditLog(_) => "audit_log",
            Self::Approve => "approve",
            Self::Deny => "deny",
            Self::DeleteRoom => "delete_room",
            Self::PublicRooms => "public_rooms",
            Self::Embed => "embed",
            Self::Providers => "providers",
            Self::SaveProgress => "save_progress",
            Self::GetProgress => "get_progress",
            Self::Resume(_) => "resume",
            Self::ProgressList => "progress_list",
            Self::Healthz => "healthz",
            Self::Readyz => "readyz",
            Self::Metrics => "metrics",
        }
    }
}

/// Builds a route from the `{code}` segment, if the pattern has one.
type Build = fn(Option<RoomCode>) -> Option<Route>;

/// `(method, path pattern, route)`; `{code}` matches one segment holding a room code.
const TABLE: &[(Method, &str, Build)] = &[
    (Method::POST, "/api/auth/register", |_| {
        Some(Route::Register)
    }),
    (Method::POST, "/api/auth/login", |_| Some(Route::Login)),
    (Method::POST, "/api/auth/guest", |_| Some(Route::Guest)),
    (Method::POST, "/api/auth/refresh", |_| Some(Route::Refresh)),
    (Method::POST, "/api/auth/logout", |_| Some(Route::Logout)),
    (Method::GET, "/api/auth/me", |_| Some(Route::Me)),
    (Method::POST, "/api/rooms/create", |_| {
        Some(Route::CreateRoom)
    }),
    (Method::POST, "/api/rooms/join", |_| Some(Route::JoinRoom)),
    (Method::GET, "/api/rooms/{code}", |code| {
        code.map(Route::RoomDetail)
    }),
    (Method::GET, "/api/rooms/{code}/pending", |code| {
        code.map(Route::Pending)
    }),
    (Method::GET, "/api/rooms/{code}/participants", |code| {
        code.map(Route::Participants)
    }),
    (Method::GET, "/api/rooms/{code}/audit", |code| {
        code.map(Route::AuditLog)
    }),
    (Method::POST, "/api/rooms/approve", |_| Some(Route::Approve)),
    (Method::POST, "/api/rooms/deny", |_| Some(Route::Deny)),
    (Method::POST, "/api/rooms/delete", |_| {
        Some(Route::DeleteRoom)
    }),
    (Method::GET, "/api/rooms/public", |_| {
        Some(Route::PublicRooms)
    }),
    (Method::POST, "/api/media/embed", |_| Some(Route::Embed)),
    (Method::GET, "/api/media/providers", |_| {
        Some(Route::Providers)
    }),
    (Method::POST, "/api/rooms/progress/save", |_| {
        Some(Route::SaveProgress)
    }),
    (Method::GET, "/api/rooms/progress/get", |_| {
        Some(Route::GetProgress)
    }),
    (Method::GET, "/api/rooms/{code}/resume", |code| {
        code.map(Route::Resume)
    }),
    (Method::GET, "/api/progress", |_| Some(Route::ProgressList)),
    (Method::GET, "/healthz", |_| Some(Route::Healthz)),
    (Method::GET, "/readyz", |_| Some(Route::Readyz)),
    (Method::GET, "/metrics", |_| Some(Route::Metrics)),
];

/// How a path matched a pattern.
enum Match {
    No,
    Yes(Option<RoomCode>),
    /// The shape fits but the `{code}` segment is no room code: no such room.
    BadCode,
}

fn matches(pattern: &str, path: &str) -> Match {
    let mut code = None;
    let mut pattern_parts = pattern.split('/');
    let mut path_parts = path.split('/');
    loop {
        match (pattern_parts.next(), path_parts.next()) {
            (None, None) => return Match::Yes(code),
            (Some("{code}"), Some(segment)) => match RoomCode::parse(segment) {
                Ok(parsed) => code = Some(parsed),
                // Literal segments such as `public` share the shape; let them match first.
                Err(_)
                    if TABLE
                        .iter()
                        .any(|(_, p, _)| p.split('/').any(|s| s == segment)) =>
                {
                    return Match::No;
                }
                Err(_) => return Match::BadCode,
            },
            (Some(expected), Some(segment)) if expected == segment => {}
            _ => return Match::No,
        }
    }
}

/// Finds the route. Paths match with or without the trailing slash PROTOCOL.md writes. HEAD
/// takes the GET route: hyper sends its answer's head without the body.
pub(crate) fn route(method: &Method, path: &str) -> Result<Route, ApiError> {
    let method = if method == Method::HEAD {
        &Method::GET
    } else {
        method
    };
    let path = path
        .strip_suffix('/')
        .filter(|p| !p.is_empty())
        .unwrap_or(path);
    let mut allowed = Vec::new();
    let mut bad_code = false;
    for (route_method, pattern, build) in TABLE {
        match matches(pattern, path) {
            Match::Yes(code) if route_method == method => {
                return build(code)
                    .ok_or_else(|| ApiError::new(ErrorCode::NotFound, "no such path"));
            }
            Match::Yes(_) if route_method == Method::GET => allowed.extend(["GET", "HEAD"]),
            Match::Yes(_) => allowed.push(route_method.as_str()),
            Match::BadCode => bad_code = true,
            Match::No => {}
        }
    }
    if !allowed.is_empty() {
        return Err(
            ApiError::new(ErrorCode::MethodNotAllowed, "method not allowed here")
                .with_detail(detail::ALLOW, allowed.join(", ")),
        );
    }
    if bad_code {
        return Err(ApiError::new(
            ErrorCode::RoomNotFound,
            "no room has that code",
        ));
    }
    Err(ApiError::new(ErrorCode::NotFound, "no such path"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code() -> RoomCode {
        RoomCode::parse("ABCD2345").unwrap()
    }

    #[test]
    fn head_takes_every_get_route() {
        assert_eq!(route(&Method::HEAD, "/healthz").unwrap(), Route::Healthz);
        assert_eq!(
            route(&Method::HEAD, "/api/rooms/abcd2345/").unwrap(),
            Route::RoomDetail(code())
        );
        let refused = route(&Method::HEAD, "/api/auth/login").unwrap_err();
        assert_eq!(refused.code, ErrorCode::MethodNotAllowed);
    }

    #[test]
    fn routes_with_and_without_trailing_slash() {
        assert_eq!(
            route(&Method::POST, "/api/auth/login/").unwrap(),
            Route::Login
        );
        assert_eq!(
            route(&Method::POST, "/api/auth/login").unwrap(),
            Route::Login
        );
        assert_eq!(
            route(&Method::GET, "/api/rooms/abcd2345/").unwrap(),
            Route::RoomDetail(code())
        );
        assert_eq!(
            route(&Method::GET, "/api/rooms/ABCD2345/resume/").unwrap(),
            Route::Resume(code())
        );
        assert_eq!(
            route(&Method::GET, "/api/rooms/public/").unwrap(),
            Route::PublicRooms
        );
        assert_eq!(route(&Method::GET, "/healthz").unwrap(), Route::Healthz);
    }

    #[test]
    fn refusals() {
        assert_eq!(
            route(&Method::GET, "/api/nope/").unwrap_err().code,
            ErrorCode::NotFound
        );
        assert_eq!(
            route(&Method::GET, "/").unwrap_err().code,
            ErrorCode::NotFound
        );
        assert_eq!(
            route(&Method::GET, "/api/auth/login/").unwrap_err().code,
            ErrorCode::MethodNotAllowed
        );
        assert_eq!(
            route(&Method::DELETE, "/api/rooms/ABCD2345/")
                .unwrap_err()
                .code,
            ErrorCode::MethodNotAllowed
        );
        assert_eq!(
            route(&Method::GET, "/api/rooms/NOTACODE1/")
                .unwrap_err()
                .code,
            ErrorCode::RoomNotFound
        );
        assert_eq!(
            route(&Method::GET, "/api/rooms/ABCD234O/pending/")
                .unwrap_err()
                .code,
            ErrorCode::RoomNotFound
        );
    }
}
