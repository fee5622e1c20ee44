//! One HTTP call to the server: built once (so it can be sent again after a refresh), sent
//! with or without a bearer token, and read as a success's body or the protocol's error body.
//!
//! Knows nothing of logins: [`auth`](crate::auth) decides which token goes on a call.

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{AUTHORIZATION, HeaderValue, InvalidHeaderValue, RETRY_AFTER};
use serde::de::DeserializeOwned;
use streamit_protocol::v1::endpoints::{self, Endpoint, Method};
use streamit_protocol::v1::{AccessToken, ErrorBody, ErrorCode, RoomCode};

use crate::error::{ApiError, Error, Result};

/// The server's address and the connection pool that reaches it. Cheap to clone: clones
/// share the pool (a `reqwest::Client` is a handle on one).
#[derive(Clone, Debug)]
pub(crate) struct Http {
    pool: reqwest::Client,
    /// `scheme://host[:port][/prefix]`, without a trailing slash.
    base: Arc<str>,
    /// The same with `ws`/`wss`.
    ws_base: Arc<str>,
}

/// One call, built once so it can be sent again after a refresh.
#[derive(Debug)]
pub(crate) struct Call {
    /// `METHOD path`, for errors.
    pub(crate) what: String,
    request: reqwest::Request,
    /// Whether the call needs the signed-in user's access token.
    pub(crate) auth: bool,
}

/// A 2xx answer's body, read whole.
#[derive(Debug)]
pub(crate) struct Success {
    status: u16,
    pub(crate) body: Vec<u8>,
}

impl Http {
    /// The server at `base_url` through `pool`.
    ///
    /// # Errors
    /// [`Error::InvalidUrl`] when the base URL is not an absolute `http` or `https` URL
    /// without query or fragment.
    pub(crate) fn new(pool: reqwest::Client, base_url: &str) -> Result<Self> {
        let (base, ws_base) = base_urls(base_url)?;
        Ok(Self {
            pool,
            base: base.into(),
            ws_base: ws_base.into(),
        })
    }

    /// The base URL, without a trailing slash.
    pub(crate) fn base_url(&self) -> &str {
        &self.base
    }

    /// The WebSocket URL of room `code`.
    pub(crate) fn ws_url(&self, code: RoomCode) -> String {
        format!("{}/ws/room/{code}/", self.ws_base)
    }

    /// A call of endpoint `E`, as the protocol declares it: method, path with `params`
    /// filled in, `query` as the query string and `body` as JSON when it has them, and
    /// whether it takes the signed-in user's token.
    pub(crate) fn call<E: Endpoint>(
        &self,
        params: &E::Path,
        query: &E::Query,
        body: &E::Body,
    ) -> Result<Call> {
        let metadata = E::METADATA;
        let method = match metadata.method {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
        };
        let path = E::path(params);
        let what = format!("{method} {path}");
        let mut request = self.pool.request(method, format!("{}{path}", self.base));
        if metadata.query.is_some() {
            request = request.query(query);
        }
        if metadata.body.is_some() {
            request = request.json(body);
        }
        Ok(Call {
            what,
            request: request.build().map_err(Error::transport)?,
            auth: metadata.auth == endpoints::Auth::Bearer,
        })
    }

    /// Sends `call` once, with `token` as its bearer when given; the raw response.
    pub(crate) async fn send(
        &self,
        call: &Call,
        token: Option<&AccessToken>,
    ) -> Result<reqwest::Response> {
        let mut request = call
            .request
            .try_clone()
            .expect("request bodies are JSON bytes, never streams");
        if let Some(token) = token {
            let value = bearer(token).map_err(|_| Error::NotSignedIn)?;
            request.headers_mut().insert(AUTHORIZATION, value);
        }
        self.pool.execute(request).await.map_err(Error::transport)
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

/// A success's body as `T`.
pub(crate) fn decode<T: DeserializeOwned>(what: String, success: Success) -> Result<T> {
    serde_json::from_slice(&success.body).map_err(|source| Error::Decode {
        what,
        status: success.status,
        source,
    })
}

/// A success's body, or the failure as an [`ApiError`].
pub(crate) async fn finish(response: reqwest::Response) -> Result<Success> {
    let status = response.status();
    if !status.is_success() {
        return Err(api_error(response).await.into());
    }
    let body = response.bytes().await.map_err(Error::transport)?.to_vec();
    Ok(Success {
        status: status.as_u16(),
        body,
    })
}

/// Reads a failure: the protocol's error body, or (from something that is not a StreamIt
/// server, such as a proxy) `Unknown` with the status's reason.
pub(crate) async fn api_error(response: reqwest::Response) -> ApiError {
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
pub(crate) fn bearer(token: &AccessToken) -> std::result::Result<HeaderValue, InvalidHeaderValue> {
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
