//! The one JSON line a run prints, with the protocol violations the bots saw.

use serde_json::Value;

use crate::bench::wire::Violations;

/// Prints the scenario's line on stdout, with `violations` (the count) added, and the first
/// violations on stderr.
pub(crate) fn print(mut line: Value, violations: &Violations) {
    line["violations"] = violations.count().into();
    println!("{line}");
    for seen in violations.first() {
        eprintln!("streamit bench: protocol violation: {seen}");
    }
}

/// Adds `extra`'s fields to the object `line`.
pub(crate) fn merge(line: &mut Value, extra: Value) {
    if let (Some(line), Value::Object(extra)) = (line.as_object_mut(), extra) {
        line.extend(extra);
    }
}
