//! Handshake refusals and their close codes, and the snapshot first (§6.1, §7).

use serde_json::json;

use super::Report;
use super::api::{Api, PATIENCE, Read, ensure};

pub(super) async fn check(api: &Api, report: &mut Report) {
    report.rule(
        "6.1",
        "a bad token is closed with 4001",
        refused(api, Case::BadToken, 4001).await,
    );
    report.rule(
        "6.1",
        "an unknown room is closed with 4004",
        refused(api, Case::NoRoom, 4004).await,
    );
    report.rule(
        "6.1",
        "a user who did not join is closed with 4003",
        refused(api, Case::NotJoined, 4003).await,
    );
    report.rule(
        "6.1",
        "a deleted room is closed with 4010",
        refused(api, Case::Deleted, 4010).await,
    );
    report.rule(
        "6.1",
        "the first frame is ROOM_SNAPSHOT {room, you, participants, playback, chat, seq}",
        snapshot_first(api).await,
    );
}

enum Case {
    BadToken,
    NoRoom,
    NotJoined,
    Deleted,
}

async fn refused(api: &Api, case: Case, want: u16) -> Result<(), String> {
    let (host, code) = api.room(json!({})).await?;
    let (code, token) = match case {
        Case::BadToken => (code, "not-a-token".to_owned()),
        Case::NoRoom => ("ZZZZZZZZ".to_owned(), host.token),
        Case::NotJoined => (code, api.guest().await?.token),
        Case::Deleted => {
            let member = api.member(&code).await?;
            let (status, body) = api
                .post(
                    "/api/rooms/delete/",
                    Some(&host.token),
                    &json!({"code": code}),
                )
                .await?;
            ensure(status == 200 && body["state"] == "DELETED", || {
                format!("delete: {status} {body}")
            })?;
            (code, member.token)
        }
    };
    let mut socket = api.socket(&code, &token).await?;
    match socket.read(PATIENCE).await? {
        Read::Closed(Some(got)) if got == want => Ok(()),
        other => Err(format!("want close {want}, got {other:?}")),
    }
}

async fn snapshot_first(api: &Api) -> Result<(), String> {
    let (_, code) = api.room(json!({})).await?;
    let member = api.member(&code).await?;
    let mut socket = api.socket(&code, &member.token).await?;
    let frame = socket.snapshot().await?;
    let data = &frame["data"];
    socket.close().await;
    ensure(
        frame["v"] == 1
            && frame["ts"].is_u64()
            && frame.get("seq").is_none()
            && data["room"]["code"] == code.as_str()
            && data["you"].is_object()
            && data["participants"].is_array()
            && data["playback"]["version"].is_u64()
            && data["chat"].is_array()
            && data["seq"].is_u64(),
        || format!("got {frame}"),
    )
}
