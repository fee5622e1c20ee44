//! The HTTP side of protocol v1: each request is routed, read, handed to a service, and
//! answered; every failure leaves as `{"error": {...}}` with its status.

mod client_ip;
mod cors;
mod handlers;
mod request;
mod response;
mod router;
mod unparsed;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use http::Request;
use hyper::body::Incoming;
use tracing::Instrument as _;

use streamit_protocol::v1::{ErrorCode, RoomCode, detail};

use crate::app::App;
use crate::error::{ApiError, ApiResult};
use crate::realtime;
pub(crate) use cors::Origins;
#[cfg(feature = "fuzzing")]
pub(crate) use request::json_body;
pub(crate) use response::Reply;
pub(crate) use unparsed::JsonRefusals;

/// A request's body as the handlers read it: hyper's, behind tower-http's timeout between
/// frames (`server::BODY_FRAME_TIMEOUT`), so a client that stops sending half-way does not hold
/// its connection.
pub(crate) type Body = tower_http::timeout::TimeoutBody<Incoming>;

/// Answers one request; never fails, so hyper never sees an error.
pub(crate) async fn serve(app: Arc<App>, peer: SocketAddr, request: Request<Body>) -> Reply {
    let client = client_ip::client_ip(
        peer.ip(),
        request.headers(),
        &app.trusted_proxies,
        app.forwarded_header,
    );
    let span = tracing::info_span!(
        "request",
        method = %request.method(),
        path = %logged_path(request.uri().path()),
        peer = %client,
    );
    async move {
        let started = Instant::now();
        let (route, answered) = dispatch(&app, client, request).await;
        let reply = answered.unwrap_or_else(response::failure);
        app.metrics
            .http(route, reply.status().as_u16(), started.elapsed());
        // The access log: one line per request, its own target so it can be filtered apart
        // (`--log info,streamit_server::access=warn`). The query is never logged: it may hold
        // a token (`/ws/room/CODE?token=…`).
        tracing::info!(
            target: "streamit_server::access",
            status = reply.status().as_u16(),
            micros = started.elapsed().as_micros() as u64,
            "answered"
        );
        reply
    }
    .instrument(span)
    .await
}

/// Paths longer than this are cut in the log: a client may send up to 64 KiB of one.
const LOGGED_PATH_CHARS: usize = 200;

fn logged_path(path: &str) -> &str {
    path.char_indices()
        .nth(LOGGED_PATH_CHARS)
        .map_or(path, |(end, _)| &path[..end])
}

/// The route's name (for metrics: `websocket`, or `unrouted` when no route matched) and the
/// answer.
async fn dispatch(
    app: &App,
    client: IpAddr,
    request: Request<Body>,
) -> (&'static str, ApiResult<Reply>) {
    if let Some(rest) = request.uri().path().strip_prefix("/ws/room/") {
        if request.method() != http::Method::GET {
            let refused = ApiError::new(ErrorCode::MethodNotAllowed, "WebSockets open with GET")
                .with_detail(detail::ALLOW, "GET");
            return ("websocket", Err(refused));
        }
        if !app.cors.allow_socket(request.headers()) {
            let refused = ApiError::new(
                ErrorCode::OriginNotAllowed,
                "this page's origin may not open sockets here",
            );
            return ("websocket", Err(refused));
        }
        let code = RoomCode::parse(rest.strip_suffix('/').unwrap_or(rest)).map_err(|_| ());
        return (
            "websocket",
            realtime::upgrade(&app.realtime, code, client, request),
        );
    }
    let route = match router::route(request.method(), request.uri().path()) {
        Ok(route) => route,
        Err(refused) => return ("unrouted", Err(refused)),
    };
    (route.name(), answer(app, client, route, request).await)
}

async fn answer(
    app: &App,
    client: IpAddr,
    route: router::Route,
    request: Request<Body>,
) -> ApiResult<Reply> {
    let (parts, body) = request.into_parts();
    let body = request::read_body(&parts, body).await?;
    handlers::handle(app, client, route, &parts, &body).await
}
