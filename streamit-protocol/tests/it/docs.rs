//! Every JSON example in `docs/protocol.md` is valid against the schema it illustrates.
//!
//! Each ```` ```json ```` block is preceded by `<!-- schema: TypeName -->`; it holds one JSON
//! document, or one per line (frames). A block without the marker fails, so a new example
//! cannot go unchecked.

use std::path::PathBuf;

use serde_json::Value;

use crate::valid::violations;

/// An example block: the schema it names, its first line number, its text.
struct Example {
    schema: String,
    line: usize,
    text: String,
}

fn examples() -> Vec<Example> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/protocol.md");
    let docs = std::fs::read_to_string(path).unwrap();
    let lines: Vec<&str> = docs.lines().collect();
    let mut examples = Vec::new();
    let mut index = 0;
    while index < lines.len() {
        if lines[index].trim_end() != "```json" {
            index += 1;
            continue;
        }
        let schema = index
            .checked_sub(1)
            .and_then(|before| lines[before].strip_prefix("<!-- schema: "))
            .and_then(|rest| rest.strip_suffix(" -->"))
            .unwrap_or_else(|| {
                panic!(
                    "docs/protocol.md:{}: a JSON example without `<!-- schema: TypeName -->` on the line before",
                    index + 1
                )
            });
        let start = index + 1;
        let end = start
            + lines[start..]
                .iter()
                .position(|l| l.starts_with("```"))
                .unwrap();
        examples.push(Example {
            schema: schema.to_owned(),
            line: start + 1,
            text: lines[start..end].join("\n"),
        });
        index = end + 1;
    }
    examples
}

/// The block as one document, or else one per non-empty line.
fn documents(example: &Example) -> Vec<(usize, Value)> {
    if let Ok(value) = serde_json::from_str(&example.text) {
        return vec![(example.line, value)];
    }
    example
        .text
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(offset, line)| {
            let value = serde_json::from_str(line).unwrap_or_else(|e| {
                panic!("docs/protocol.md:{}: not JSON: {e}", example.line + offset)
            });
            (example.line + offset, value)
        })
        .collect()
}

#[test]
fn every_json_example_in_the_docs_is_valid() {
    let examples = examples();
    assert!(examples.len() >= 10, "the docs lost their examples?");
    let mut failures = Vec::new();
    let mut checked = 0;
    for example in &examples {
        for (line, document) in documents(example) {
            checked += 1;
            for violation in violations(&example.schema, &document) {
                failures.push(format!(
                    "docs/protocol.md:{line} ({}): {violation}",
                    example.schema
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(checked >= 30, "only {checked} documents checked");
}
