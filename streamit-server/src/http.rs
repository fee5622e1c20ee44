//! The HTTP side of protocol v1: each request is routed, read, handed to a service, and
//! answered; every failure leaves as `{"error": {...}}` with its status.

mod handlers;
mod request;
mod response;
mod router;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use http::Request;
use hyper::body::Incoming;
use tracing::Instrument as _;

use crate::app::App;
use crate::error::ApiResult;
pub(crate) use response::Reply;

/// Answers one request; never fails, so hyper never sees an error.
pub(crate) async fn serve(app: Arc<App>, peer: SocketAddr, request: Request<Incoming>) -> Reply {
    let span = tracing::info_span!(
        "request",
        method = %request.method(),
        path = %request.uri().path(),
        peer = %peer.ip(),
    );
    async move {
        let started = Instant::now();
        let reply = dispatch(&app, peer, request)
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

async fn dispatch(app: &App, peer: SocketAddr, request: Request<Incoming>) -> ApiResult<Reply> {
    let route = router::route(request.method(), request.uri().path())?;
    let (parts, body) = request.into_parts();
    let body = request::read_body(&parts, body).await?;
    handlers::handle(app, peer.ip(), route, &parts, &body).await
}
