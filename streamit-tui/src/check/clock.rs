//! Clock synchronisation (§6.8): `PING {client_ts}` answers `PONG {client_ts, server_ts}`
//! with the request's ref, `client_ts` unchanged and `server_ts` on the server's clock.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::json;

use super::Report;
use super::api::{Api, ensure};

/// How far `server_ts` may be from this machine's clock, ms: the suite is meant for servers
/// on this machine or one kept in time by NTP.
const CLOCK_TOLERANCE_MS: u64 = 60_000;

pub(super) async fn check(api: &Api, report: &mut Report) {
    report.rule(
        "6.8",
        "PING answers PONG with client_ts echoed, server_ts now and the request's ref",
        ping(api).await,
    );
}

async fn ping(api: &Api) -> Result<(), String> {
    let (_, code) = api.room(json!({})).await?;
    let member = api.member(&code).await?;
    let mut socket = api.socket(&code, &member.token).await?;
    socket.snapshot().await?;
    // Any number works as client_ts (it is echoed): one far from now shows it is not replaced.
    socket
        .send(&json!({"type": "PING", "data": {"client_ts": 12345}, "ref": "p-1"}))
        .await?;
    let frame = socket.until("PONG").await?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let server_ts = frame["data"]["server_ts"].as_u64().unwrap_or(0);
    ensure(
        frame["data"]["client_ts"] == 12345
            && server_ts.abs_diff(now) < CLOCK_TOLERANCE_MS
            && frame["ref"] == "p-1"
            && frame.get("seq").is_none(),
        || format!("got {frame}"),
    )
}
