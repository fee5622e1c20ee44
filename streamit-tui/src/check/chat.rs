//! Chat rules (§6.10): accepted lines reach everyone, the sender included; refused ones
//! answer the sender with the rule's code.

use serde_json::{Value, json};

use super::Report;
use super::api::{Api, Socket, ensure};

/// A host and a member in a new room, past their snapshots, and the member's id.
async fn pair(api: &Api) -> Result<(Socket, Socket, String), String> {
    let (host, code) = api.room(json!({})).await?;
    let member = api.member(&code).await?;
    let mut host_socket = api.socket(&code, &host.token).await?;
    host_socket.snapshot().await?;
    let mut member_socket = api.socket(&code, &member.token).await?;
    member_socket.snapshot().await?;
    Ok((host_socket, member_socket, member.id))
}

fn chat(text: &str, reference: &str) -> Value {
    json!({"type": "CHAT", "data": {"text": text}, "ref": reference})
}

/// The member's line is refused with `code` (and the request's ref).
async fn refused(member: &mut Socket, text: &str, code: &str) -> Result<(), String> {
    member.send(&chat(text, "c-x")).await?;
    let frame = member.until("ERROR").await?;
    ensure(
        frame["data"]["code"] == code && frame["ref"] == "c-x",
        || format!("want ERROR {code}, got {frame}"),
    )
}

pub(super) async fn check(api: &Api, report: &mut Report) {
    report.rule(
        "6.10",
        "an accepted line comes back trimmed as CHAT_MESSAGE to everyone, sender included",
        accepted(api).await,
    );
    report.rule(
        "6.10",
        "a line empty after trimming answers ERROR INVALID_MESSAGE",
        rule(api, Rule::Empty).await,
    );
    report.rule(
        "6.10",
        "a line over 500 characters answers ERROR MESSAGE_TOO_LONG",
        rule(api, Rule::Long).await,
    );
    report.rule(
        "6.10",
        "the same line again within 3 s answers ERROR DUPLICATE_MESSAGE",
        rule(api, Rule::Duplicate).await,
    );
    report.rule(
        "6.10",
        "with chat turned off by the host a line answers ERROR CHAT_DISABLED",
        rule(api, Rule::Disabled).await,
    );
}

async fn accepted(api: &Api) -> Result<(), String> {
    let (mut host, mut member, member_id) = pair(api).await?;
    member.send(&chat("  hello from check  ", "c-1")).await?;
    for socket in [&mut member, &mut host] {
        let frame = socket.until("CHAT_MESSAGE").await?;
        let data = &frame["data"];
        ensure(
            data["text"] == "hello from check"
                && data["user"]["id"] == member_id.as_str()
                && data["id"].is_string()
                && data["sent_at_ms"].is_u64()
                && frame["seq"].is_u64()
                && frame.get("ref").is_none(),
            || format!("got {frame}"),
        )?;
    }
    Ok(())
}

enum Rule {
    Empty,
    Long,
    Duplicate,
    Disabled,
}

async fn rule(api: &Api, rule: Rule) -> Result<(), String> {
    let (mut host, mut member, _) = pair(api).await?;
    match rule {
        Rule::Empty => refused(&mut member, "   ", "INVALID_MESSAGE").await,
        Rule::Long => refused(&mut member, &"x".repeat(501), "MESSAGE_TOO_LONG").await,
        Rule::Duplicate => {
            member.send(&chat("once", "c-1")).await?;
            member.until("CHAT_MESSAGE").await?;
            refused(&mut member, "once", "DUPLICATE_MESSAGE").await
        }
        Rule::Disabled => {
            host.send(&json!({"type": "SET_CHAT_ENABLED", "data": {"enabled": false}}))
                .await?;
            let update = member.until("ROOM_UPDATED").await?;
            ensure(update["data"]["chat_enabled"] == false, || {
                format!("got {update}")
            })?;
            refused(&mut member, "anyone there?", "CHAT_DISABLED").await
        }
    }
}
