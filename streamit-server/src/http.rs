//! The HTTP side of protocol v1: each request is routed, read, handed to a service, and
//! answered; every failure leaves as `{"error": {...}}` with its status.

mod client_ip;
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
pub(crate) use request::bearer;
pub(crate) use response::Reply;
pub(crate) use unparsed::JsonRefusals;

/// Answers one request; never fails, so hyper never sees an error.
pub(crate) async fn serve(app: Arc<App>, peer: SocketAddr, request: Request<Incoming>) -> Reply {
    let client = client_ip::client_ip(peer.ip(), request.headers(), &app.trusted_proxies);
    let span = tracing::info_span!(
        "request",
        method = %request.method(),
        path = %request.uri().path(),
        peer = %client,
    );
    async move {
        let started = Instant::now();
        crate::metrics::Metrics::count(&app.metrics.http_requests);
        let reply = dispatch(&app, client, request)
            .await
            .unwrap_or_else(response::failure);
        tracing::debug!(
            status = reply.status().as_u16(),
            micros = started.elapsed().as_micros() as u64,
            "answered"
        );
        reply
    }
    .instrument(span)
    .await
}

async fn dispatch(app: &App, client: IpAddr, request: Request<Incoming>) -> ApiResult<Reply> {
    if let Some(rest) = request.uri().path().strip_prefix("/ws/room/") {
        if request.method() != http::Method::GET {
            return Err(
                ApiError::new(ErrorCode::MethodNotAllowed, "WebSockets open with GET")
                    .with_detail(detail::ALLOW, "GET"),
            );
        }
        let code = RoomCode::parse(rest.strip_suffix('/').unwrap_or(rest)).map_err(|_| ());
        return realtime::upgrade(&app.realtime, code, request);
    }
    let route = router::route(request.method(), request.uri().path())?;
    let (parts, body) = request.into_parts();
    let body = request::read_body(&parts, body).await?;
    handlers::handle(app, client, route, &parts, &body).await
}
