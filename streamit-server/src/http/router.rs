//! Method and path to an [`Operation`] of the protocol's endpoint declarations
//! (`v1::endpoints`), or the 404 / 405 the protocol asks for.

use http::Method;
use streamit_protocol::v1::endpoints::{self, Operation};
use streamit_protocol::v1::{ErrorCode, RoomCode, detail};

use crate::error::ApiError;

/// A request's endpoint and the room code its path names, if its path has one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Route {
    pub(crate) operation: Operation,
    pub(crate) code: Option<RoomCode>,
}

impl Route {
    /// The endpoint's name for metrics: never its parameters, which would make a series per
    /// room.
    pub(crate) const fn name(self) -> &'static str {
        self.operation.metadata().name
    }
}

/// A declared path without its trailing slash, as requests are matched.
fn pattern_of(operation: Operation) -> &'static str {
    let path = operation.metadata().path;
    path.strip_suffix('/').unwrap_or(path)
}

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
                    if Operation::ALL
                        .iter()
                        .any(|&o| pattern_of(o).split('/').any(|s| s == segment)) =>
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
    for &operation in Operation::ALL {
        let declared = operation.metadata().method;
        match matches(pattern_of(operation), path) {
            Match::Yes(code) if declared.as_str() == method.as_str() => {
                return Ok(Route { operation, code });
            }
            Match::Yes(_) if declared == endpoints::Method::Get => allowed.extend(["GET", "HEAD"]),
            Match::Yes(_) => allowed.push(declared.as_str()),
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

    fn code() -> Option<RoomCode> {
        Some(RoomCode::parse("ABCD2345").unwrap())
    }

    fn to(operation: Operation, code: Option<RoomCode>) -> Route {
        Route { operation, code }
    }

    #[test]
    fn head_takes_every_get_route() {
        assert_eq!(
            route(&Method::HEAD, "/healthz").unwrap(),
            to(Operation::Healthz, None)
        );
        assert_eq!(
            route(&Method::HEAD, "/api/rooms/abcd2345/").unwrap(),
            to(Operation::GetRoom, code())
        );
        let refused = route(&Method::HEAD, "/api/auth/login").unwrap_err();
        assert_eq!(refused.code, ErrorCode::MethodNotAllowed);
    }

    #[test]
    fn routes_with_and_without_trailing_slash() {
        assert_eq!(
            route(&Method::POST, "/api/auth/login/").unwrap(),
            to(Operation::Login, None)
        );
        assert_eq!(
            route(&Method::POST, "/api/auth/login").unwrap(),
            to(Operation::Login, None)
        );
        assert_eq!(
            route(&Method::GET, "/api/rooms/abcd2345/").unwrap(),
            to(Operation::GetRoom, code())
        );
        assert_eq!(
            route(&Method::GET, "/api/rooms/ABCD2345/resume/").unwrap(),
            to(Operation::Resume, code())
        );
        assert_eq!(
            route(&Method::GET, "/api/rooms/public/").unwrap(),
            to(Operation::ListPublicRooms, None)
        );
        assert_eq!(
            route(&Method::GET, "/healthz").unwrap(),
            to(Operation::Healthz, None)
        );
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
