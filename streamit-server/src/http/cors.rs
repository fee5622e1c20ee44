//! Browsers on other origins: tower-http's CORS layer over the API for the origins of
//! `--cors-origins` (preflights answered, no credentials), and the same list checked against a
//! WebSocket handshake's `Origin`, which browsers send but CORS does not cover.

use std::time::Duration;

use http::header::{AUTHORIZATION, CONTENT_TYPE, ORIGIN};
use http::{HeaderMap, HeaderValue, Method};
use tower_http::cors::{AllowOrigin, CorsLayer};

/// How long a browser may cache a preflight's answer.
const PREFLIGHT_MAX_AGE: Duration = Duration::from_secs(600);

/// The allowed origins, parsed once.
#[derive(Clone, Debug, Default)]
pub(crate) struct Origins(Vec<HeaderValue>);

impl Origins {
    /// The origins of `--cors-origins`; one that is no valid header value is an error naming it.
    pub(crate) fn parse(origins: &[String]) -> Result<Self, String> {
        origins
            .iter()
            .map(|o| o.trim().trim_end_matches('/'))
            .filter(|o| !o.is_empty())
            .map(|o| HeaderValue::from_str(o).map_err(|_| format!("bad CORS origin {o:?}")))
            .collect::<Result<_, _>>()
            .map(Self)
    }

    /// The CORS layer, or none when no origin is allowed (then cross-origin requests get no
    /// CORS headers, and `OPTIONS` answers 405 like any method a path does not take).
    pub(crate) fn layer(&self) -> Option<CorsLayer> {
        (!self.0.is_empty()).then(|| {
            CorsLayer::new()
                .allow_origin(AllowOrigin::list(self.0.clone()))
                .allow_methods([Method::GET, Method::HEAD, Method::POST])
                .allow_headers([AUTHORIZATION, CONTENT_TYPE])
                .max_age(PREFLIGHT_MAX_AGE)
        })
    }

    /// Whether a WebSocket handshake may proceed: no list, no `Origin` (not a browser), or an
    /// `Origin` on the list.
    pub(crate) fn allow_socket(&self, headers: &HeaderMap) -> bool {
        match headers.get(ORIGIN) {
            Some(origin) if !self.0.is_empty() => self.0.contains(origin),
            _ => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_origin(origin: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(ORIGIN, origin.parse().unwrap());
        headers
    }

    #[test]
    fn sockets_from_other_origins_are_refused_only_when_a_list_is_set() {
        let none = Origins::parse(&[]).unwrap();
        assert!(none.layer().is_none());
        assert!(none.allow_socket(&with_origin("https://evil.test")));
        let list = Origins::parse(&["https://app.test/".to_owned()]).unwrap();
        assert!(list.layer().is_some());
        assert!(list.allow_socket(&with_origin("https://app.test")));
        assert!(!list.allow_socket(&with_origin("https://evil.test")));
        assert!(list.allow_socket(&HeaderMap::new()), "not a browser");
        assert!(Origins::parse(&["bad\norigin".to_owned()]).is_err());
    }
}
