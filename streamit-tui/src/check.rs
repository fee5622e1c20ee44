//! `streamit check URL`: a conformance suite for any server that claims protocol v1. Each
//! rule names the `docs/protocol.md` section it checks and passes or fails on its own; a
//! line per rule, a summary, and a non-zero exit on any failure (`--json` for a report).
//!
//! It talks raw HTTP (reqwest) and raw WebSocket (tokio-tungstenite) and reads JSON as
//! plain values, so it sees exactly what a third-party client would, not what the SDK makes
//! of it. Modules: `api` (the HTTP and WebSocket helpers the rules share), then one module
//! per area of rules: `rest`, `handshake`, `room` (snapshot, `seq`, host authority,
//! `RESYNC`, decoding), `chat`, `clock`.

mod api;
mod chat;
mod clock;
mod handshake;
mod rest;
mod room;

use clap::Args;
use serde_json::{Value, json};

use self::api::Api;

/// What `streamit check` takes.
#[derive(Debug, Args)]
pub(crate) struct CheckArgs {
    /// The server's base URL (`http://127.0.0.1:8000`).
    pub(crate) url: String,
}

/// One rule's outcome.
#[derive(Debug)]
pub(crate) struct Verdict {
    /// The `docs/protocol.md` section the rule checks.
    pub(crate) section: &'static str,
    pub(crate) rule: &'static str,
    /// Why it failed, if it did.
    pub(crate) failure: Option<String>,
}

/// Every rule's verdict, in order.
#[derive(Debug, Default)]
pub(crate) struct Report(Vec<Verdict>);

impl Report {
    /// Records `rule`'s outcome.
    pub(crate) fn rule(
        &mut self,
        section: &'static str,
        rule: &'static str,
        outcome: Result<(), String>,
    ) {
        self.0.push(Verdict {
            section,
            rule,
            failure: outcome.err(),
        });
    }

    pub(crate) fn failed(&self) -> usize {
        self.0.iter().filter(|v| v.failure.is_some()).count()
    }

    /// One line per rule and a summary.
    pub(crate) fn text(&self) -> String {
        let mut out = String::new();
        for v in &self.0 {
            let mark = if v.failure.is_some() { "FAIL" } else { "pass" };
            out.push_str(&format!("{mark}  §{:<5} {}", v.section, v.rule));
            if let Some(why) = &v.failure {
                out.push_str(&format!(": {why}"));
            }
            out.push('\n');
        }
        out.push_str(&format!(
            "{} rules: {} passed, {} failed",
            self.0.len(),
            self.0.len() - self.failed(),
            self.failed()
        ));
        out
    }

    pub(crate) fn json(&self) -> Value {
        let rules: Vec<Value> = self
            .0
            .iter()
            .map(|v| json!({"section": v.section, "rule": v.rule, "passed": v.failure.is_none(), "failure": v.failure}))
            .collect();
        json!({"rules": rules, "passed": self.0.len() - self.failed(), "failed": self.failed()})
    }
}

/// Runs every rule against the server at `args.url`.
pub(crate) async fn run(args: &CheckArgs) -> Report {
    let api = Api::new(&args.url);
    let mut report = Report::default();
    rest::check(&api, &mut report).await;
    handshake::check(&api, &mut report).await;
    room::check(&api, &mut report).await;
    chat::check(&api, &mut report).await;
    clock::check(&api, &mut report).await;
    report
}
