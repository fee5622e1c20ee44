//! A room's order and authority (§6.3, §6.6, §6.7): `seq` +1 with no gap from the
//! snapshot's, host-only events refused to members, `RESYNC`, frames the server cannot use.

use serde_json::{Value, json};

use super::Report;
use super::api::{Api, QUIET, Read, Socket, ensure};

/// A host and a member in a new room, both past their snapshots; the member's `data.seq`.
async fn pair(api: &Api) -> Result<(Socket, Socket, u64, String), String> {
    let (host, code) = api.room(json!({})).await?;
    let member = api.member(&code).await?;
    let mut host_socket = api.socket(&code, &host.token).await?;
    host_socket.snapshot().await?;
    let mut member_socket = api.socket(&code, &member.token).await?;
    let snapshot = member_socket.snapshot().await?;
    let seq = snapshot["data"]["seq"]
        .as_u64()
        .ok_or("a snapshot without data.seq")?;
    Ok((host_socket, member_socket, seq, host.id))
}

/// `ERROR` with `code` and the request's `ref` (or none).
fn is_error(frame: &Value, code: &str, reference: Option<&str>) -> Result<(), String> {
    ensure(
        frame["data"]["code"] == code
            && frame.get("ref").and_then(Value::as_str) == reference
            && frame.get("seq").is_none(),
        || format!("want ERROR {code} with ref {reference:?}, got {frame}"),
    )
}

pub(super) async fn check(api: &Api, report: &mut Report) {
    report.rule(
        "6.7",
        "broadcasts carry seq rising by exactly one from the snapshot's data.seq",
        seq(api).await,
    );
    report.rule(
        "6.3",
        "a host's SEEK reaches every socket as PLAYBACK_STATE {position_ms, version, cause, by}",
        playback(api).await,
    );
    report.rule(
        "6.3",
        "a member's SEEK answers ERROR NOT_HOST with its ref and changes nothing",
        authority(api).await,
    );
    report.rule(
        "6.7",
        "RESYNC answers a ROOM_SNAPSHOT carrying the request's ref",
        resync(api).await,
    );
    report.rule(
        "6.6",
        "an unknown type answers ERROR UNKNOWN_EVENT with its ref; the socket stays open",
        unknown(api).await,
    );
    report.rule(
        "6.6",
        "a frame that is not JSON answers ERROR INVALID_MESSAGE without a ref",
        not_json(api).await,
    );
}

async fn seq(api: &Api) -> Result<(), String> {
    let (mut host, mut member, mut last, _) = pair(api).await?;
    for k in 0..3 {
        host.send(&json!({"type": "SEEK", "data": {"position_ms": 1000 * (k + 1)}}))
            .await?;
    }
    let mut changes = 0;
    while changes < 3 {
        let frame = member.until("PLAYBACK_STATE").await?;
        let seq = frame["seq"]
            .as_u64()
            .ok_or_else(|| format!("a broadcast without seq: {frame}"))?;
        ensure(seq == last + 1, || format!("seq {seq} after {last}"))?;
        last = seq;
        changes += 1;
    }
    Ok(())
}

async fn playback(api: &Api) -> Result<(), String> {
    let (mut host, mut member, _, host_id) = pair(api).await?;
    host.send(&json!({"type": "SEEK", "data": {"position_ms": 90000}}))
        .await?;
    for socket in [&mut member, &mut host] {
        let frame = socket.until("PLAYBACK_STATE").await?;
        let data = &frame["data"];
        ensure(
            data["position_ms"] == 90000
                && data["version"].is_u64()
                && data["cause"].is_string()
                && data["by"] == host_id.as_str()
                && frame.get("ref").is_none(),
            || format!("got {frame}"),
        )?;
    }
    Ok(())
}

async fn authority(api: &Api) -> Result<(), String> {
    let (mut host, mut member, _, _) = pair(api).await?;
    member
        .send(&json!({"type": "SEEK", "data": {"position_ms": 5000}, "ref": "m-1"}))
        .await?;
    is_error(&member.until("ERROR").await?, "NOT_HOST", Some("m-1"))?;
    match host.read(QUIET).await? {
        Read::Frame(frame) if frame["type"] == "PLAYBACK_STATE" => {
            Err(format!("the member's SEEK was applied: {frame}"))
        }
        _ => Ok(()),
    }
}

async fn resync(api: &Api) -> Result<(), String> {
    let (_, mut member, _, _) = pair(api).await?;
    member
        .send(&json!({"type": "RESYNC", "ref": "r-1"}))
        .await?;
    let frame = member.until("ROOM_SNAPSHOT").await?;
    ensure(
        frame["ref"] == "r-1" && frame["data"]["seq"].is_u64(),
        || format!("got {frame}"),
    )
}

async fn unknown(api: &Api) -> Result<(), String> {
    let (_, mut member, _, _) = pair(api).await?;
    member
        .send(&json!({"type": "NO_SUCH_EVENT", "ref": "u-1"}))
        .await?;
    is_error(&member.until("ERROR").await?, "UNKNOWN_EVENT", Some("u-1"))?;
    member
        .send(&json!({"type": "PING", "data": {"client_ts": 1}, "ref": "u-2"}))
        .await?;
    member.until("PONG").await.map(drop)
}

async fn not_json(api: &Api) -> Result<(), String> {
    let (_, mut member, _, _) = pair(api).await?;
    member.send_text("{not json".into()).await?;
    is_error(&member.until("ERROR").await?, "INVALID_MESSAGE", None)
}
