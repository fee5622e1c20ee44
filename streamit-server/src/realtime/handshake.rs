//! The HTTP side of a WebSocket: checks the upgrade request, answers 101, and hands the
//! upgraded connection to a socket task with the protocol's limits (16 KiB frames and
//! messages; larger ones close with 1009).

use std::net::IpAddr;

use http::header::{
    CONNECTION, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY, SEC_WEBSOCKET_VERSION, UPGRADE,
};
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::Full;
use hyper_util::rt::TokioIo;
use streamit_protocol::v1::{ErrorCode, MAX_FRAME_BYTES, RoomCode};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};

use super::{Realtime, socket};
use crate::error::{ApiError, ApiResult};

fn header_has<B>(request: &Request<B>, name: http::HeaderName, token: &str) -> bool {
    request.headers().get_all(name).iter().any(|value| {
        value.to_str().is_ok_and(|v| {
            v.split(',')
                .any(|part| part.trim().eq_ignore_ascii_case(token))
        })
    })
}

/// The limits every socket runs with. Buffers start small (the default read buffer is
/// 128 KiB, eagerly allocated: eight times the memory budget of an idle socket); frames queued
/// together are written together up to `WRITE_BATCH_BYTES` (the writer flushes after each
/// burst).
pub(super) fn websocket_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .max_message_size(Some(MAX_FRAME_BYTES))
        .max_frame_size(Some(MAX_FRAME_BYTES))
        .read_buffer_size(1024)
        .write_buffer_size(WRITE_BATCH_BYTES)
}

/// Bytes of frames the writer gathers before writing them out. tungstenite's write buffer never
/// gives capacity back: it keeps this plus one fragment (`writer::FRAGMENT_BYTES`) for the
/// socket's life once a burst filled it. At 1 KiB (and 1 KiB fragments) an idle socket holds
/// about 11 KiB in all, against 16 KiB at 4 KiB, for about 3 % more CPU per delivery at
/// saturation (bench/results/2026-12-06-memory-per-socket.md). A big room's broadcasts and
/// snapshots go out whole (`writer::Cut`), so its sockets keep up to their largest frame
/// instead: 12.7–14.0 KiB each in a room of 5 000 (bench/results/2026-12-06-whole-snapshots.md).
const WRITE_BATCH_BYTES: usize = 1024;

/// Answers a WebSocket upgrade for room `code`. The token and the room are checked after the
/// upgrade, so every refusal is a close frame with its code, as PROTOCOL.md asks.
pub(crate) fn upgrade<B>(
    realtime: &Realtime,
    code: Result<RoomCode, ()>,
    client: IpAddr,
    mut request: Request<B>,
) -> ApiResult<Response<Full<bytes::Bytes>>> {
    let is_upgrade =
        header_has(&request, CONNECTION, "upgrade") && header_has(&request, UPGRADE, "websocket");
    let key = request.headers().get(SEC_WEBSOCKET_KEY).cloned();
    let version_ok = request
        .headers()
        .get(SEC_WEBSOCKET_VERSION)
        .is_some_and(|v| v == "13");
    let (true, Some(key), true) = (is_upgrade, key, version_ok) else {
        return Err(ApiError::new(
            ErrorCode::InvalidInput,
            "a WebSocket upgrade (version 13) is required here",
        ));
    };
    let token = socket::token_of(&request);
    let resume = socket::resume_of(&request);
    let on_upgrade = hyper::upgrade::on(&mut request);
    let realtime = realtime.clone();
    let tasks = realtime.shared.tasks.clone();
    tasks.spawn(async move {
        match on_upgrade.await {
            Ok(upgraded) => {
                let stream = WebSocketStream::from_raw_socket(
                    TokioIo::new(upgraded),
                    Role::Server,
                    Some(websocket_config()),
                )
                .await;
                socket::run(realtime.shared, code, token, resume, client, stream).await;
            }
            Err(error) => tracing::debug!(%error, "WebSocket upgrade failed"),
        }
    });
    let mut response = Response::new(Full::default());
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = response.headers_mut();
    headers.insert(CONNECTION, HeaderValue::from_static("Upgrade"));
    headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
    let accept = HeaderValue::from_str(&derive_accept_key(key.as_bytes()))
        .expect("base64 is a valid header value");
    headers.insert(SEC_WEBSOCKET_ACCEPT, accept);
    Ok(response)
}
