//! The generated files in `schemas/`: one JSON Schema per top-level type, the OpenAPI document
//! and the TypeScript types, rebuilt in memory from the Rust types and compared with the
//! checked-in copies, so a plain `cargo test` fails when they are stale.

mod openapi;
mod typescript;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use schemars::JsonSchema;
use schemars::generate::SchemaSettings;
use serde_json::{Map, Value};
use streamit_protocol::v1::*;

/// Set to `1` to write the files instead of comparing them.
const UPDATE_VAR: &str = "STREAMIT_UPDATE_SCHEMAS";
const REGENERATE: &str =
    "STREAMIT_UPDATE_SCHEMAS=1 cargo test -p streamit-protocol --test it schemas";

/// A top-level type: its name and its standalone schema (with its own `$defs`).
struct Root {
    name: String,
    schema: Value,
}

fn root<T: JsonSchema>() -> Root {
    let generator = SchemaSettings::draft2020_12().into_generator();
    let mut schema = generator.into_root_schema_for::<T>().to_value();
    omitted_not_null(&mut schema);
    Root {
        name: T::schema_name().into_owned(),
        schema,
    }
}

/// An optional field is left out when it has no value, never sent as `null`: every `Option`
/// field of the protocol's types skips `None` when serialized, which the property tests and
/// the documentation's examples check by validating against these schemas. schemars types
/// such a field `T | null`; this drops the `null`, so generated clients do not have to handle
/// a value that never comes.
fn omitted_not_null(schema: &mut Value) {
    let Value::Object(object) = schema else {
        if let Value::Array(items) = schema {
            items.iter_mut().for_each(omitted_not_null);
        }
        return;
    };
    let required: Vec<Value> = object
        .get("required")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if let Some(Value::Object(properties)) = object.get_mut("properties") {
        for (name, property) in properties.iter_mut() {
            if !required.contains(&Value::String(name.clone())) {
                drop_null(property);
            }
        }
    }
    object.values_mut().for_each(omitted_not_null);
}

fn drop_null(property: &mut Value) {
    let Value::Object(object) = property else {
        return;
    };
    if let Some(Value::Array(types)) = object.get_mut("type") {
        types.retain(|t| t != "null");
        if let [only] = types.as_slice() {
            let only = only.clone();
            object.insert("type".into(), only);
        }
    }
    let Some(Value::Array(options)) = object.get_mut("anyOf") else {
        return;
    };
    options.retain(|option| option != &serde_json::json!({"type": "null"}));
    if let [only] = options.as_slice() {
        let Value::Object(only) = only.clone() else {
            return;
        };
        object.remove("anyOf");
        object.extend(only);
    }
}

/// Every type a client may send or receive on its own: the frames, every REST body, and the
/// shared types PROTOCOL.md names.
fn roots() -> Vec<Root> {
    vec![
        root::<ClientMessage>(),
        root::<ServerMessage>(),
        root::<ErrorBody>(),
        root::<ErrorCode>(),
        root::<CloseCode>(),
        root::<RegisterRequest>(),
        root::<LoginRequest>(),
        root::<GuestRequest>(),
        root::<RefreshRequest>(),
        root::<LogoutRequest>(),
        root::<AuthResponse>(),
        root::<TokenPair>(),
        root::<User>(),
        root::<UserRef>(),
        root::<CreateRoomRequest>(),
        root::<CreateRoomResponse>(),
        root::<JoinRoomRequest>(),
        root::<JoinRoomResponse>(),
        root::<Room>(),
        root::<RoomDetail>(),
        root::<Participant>(),
        root::<PublicRoom>(),
        root::<PendingResponse>(),
        root::<AuditLogResponse>(),
        root::<RoomUserRequest>(),
        root::<RoomCodeRequest>(),
        root::<PublicRoomsQuery>(),
        root::<PublicRoomsResponse>(),
        root::<ParticipantsQuery>(),
        root::<ParticipantsPage>(),
        root::<MediaRef>(),
        root::<EmbedOptions>(),
        root::<EmbedRequest>(),
        root::<EmbedResponse>(),
        root::<ProvidersResponse>(),
        root::<SaveProgressRequest>(),
        root::<ProgressQuery>(),
        root::<WatchProgress>(),
        root::<ProgressListResponse>(),
        root::<Playback>(),
        root::<ChatMessage>(),
    ]
}

/// Every named schema, top-level or nested, once, without `$schema`, `title` or `$defs`.
///
/// Two types may not share a name: the bundle would silently keep one of them.
fn definitions(roots: &[Root]) -> BTreeMap<String, Value> {
    let mut definitions = BTreeMap::new();
    let mut add = |name: String, schema: Value| match definitions.get(&name) {
        Some(existing) => assert_eq!(
            existing, &schema,
            "two different types are both named {name}"
        ),
        None => {
            definitions.insert(name, schema);
        }
    };
    for root in roots {
        let mut schema = root.schema.clone();
        let object = schema.as_object_mut().expect("a root schema is an object");
        object.remove("$schema");
        object.remove("title");
        if let Some(Value::Object(defs)) = object.remove("$defs") {
            for (name, def) in defs {
                add(name, def);
            }
        }
        add(root.name.clone(), schema);
    }
    definitions
}

/// Sorts every object's keys, so the files do not depend on serde_json's `preserve_order`
/// feature being on somewhere in the build.
fn canonical(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<_> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k, canonical(v)))
                    .collect::<Map<_, _>>(),
            )
        }
        Value::Array(items) => Value::Array(items.into_iter().map(canonical).collect()),
        other => other,
    }
}

fn pretty(value: Value) -> String {
    let mut text = serde_json::to_string_pretty(&canonical(value)).expect("schemas serialize");
    text.push('\n');
    text
}

/// File name → content, for everything `schemas/` must hold.
fn generate() -> BTreeMap<String, String> {
    let roots = roots();
    let definitions = definitions(&roots);
    let mut files: BTreeMap<String, String> = roots
        .into_iter()
        .map(|root| (format!("{}.schema.json", root.name), pretty(root.schema)))
        .collect();
    files.insert(
        "openapi.json".into(),
        pretty(openapi::document(&definitions)),
    );
    files.insert(
        "streamit.ts".into(),
        typescript::render(&definitions, REGENERATE),
    );
    files
}

fn schemas_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("schemas")
}

fn read_dir() -> BTreeMap<String, String> {
    let Ok(entries) = std::fs::read_dir(schemas_dir()) else {
        return BTreeMap::new();
    };
    entries
        .map(|entry| entry.expect("schemas/ is readable").path())
        .filter(|path| path.is_file())
        .map(|path| {
            let name = path
                .file_name()
                .expect("a file has a name")
                .to_string_lossy()
                .into_owned();
            let text =
                std::fs::read_to_string(&path).unwrap_or_else(|e| format!("<unreadable: {e}>"));
            (name, text)
        })
        .collect()
}

fn write_all(expected: &BTreeMap<String, String>) {
    let dir = schemas_dir();
    std::fs::create_dir_all(&dir).expect("schemas/ can be created");
    for name in read_dir()
        .keys()
        .filter(|name| !expected.contains_key(*name))
    {
        std::fs::remove_file(dir.join(name)).expect("a stale file can be removed");
    }
    for (name, text) in expected {
        std::fs::write(dir.join(name), text).expect("schemas/ is writable");
    }
}

/// What differs between the files on disk and the generated ones, as a readable report.
fn differences(expected: &BTreeMap<String, String>, actual: &BTreeMap<String, String>) -> String {
    let mut report = String::new();
    for name in actual.keys().filter(|name| !expected.contains_key(*name)) {
        let _ = writeln!(report, "stale file (no type generates it): schemas/{name}");
    }
    for (name, text) in expected {
        match actual.get(name) {
            None => {
                let _ = writeln!(report, "missing: schemas/{name}");
            }
            Some(old) if old != text => {
                let diff = similar::TextDiff::from_lines(old.as_str(), text.as_str());
                let unified = diff
                    .unified_diff()
                    .context_radius(2)
                    .header(name, name)
                    .to_string();
                let shown: Vec<&str> = unified.lines().take(60).collect();
                let _ = writeln!(report, "out of date: schemas/{name}\n{}", shown.join("\n"));
            }
            Some(_) => {}
        }
    }
    report
}

#[test]
fn schemas_are_current() {
    let expected = generate();
    if std::env::var(UPDATE_VAR).is_ok_and(|v| v == "1") {
        write_all(&expected);
        return;
    }
    let report = differences(&expected, &read_dir());
    assert!(
        report.is_empty(),
        "schemas/ does not match the Rust types:\n{report}\nRegenerate with:\n  {REGENERATE}\n"
    );
}

#[test]
fn every_definition_is_referenced_by_name() {
    let definitions = definitions(&roots());
    let text = serde_json::to_string(&definitions).unwrap();
    let mut dangling = Vec::new();
    for piece in text.split("\"$ref\":\"#/$defs/").skip(1) {
        let name = piece.split('"').next().unwrap();
        if !definitions.contains_key(name) {
            dangling.push(name.to_owned());
        }
    }
    assert!(
        dangling.is_empty(),
        "references without a definition: {dangling:?}"
    );
}

/// Every `$ref` of the OpenAPI document is a JSON pointer into the document that resolves: a
/// generator bug once wrote `#/components/schemas/#/components/schemas/X` and every client
/// generated from it got the wrong types.
#[test]
fn every_openapi_reference_resolves() {
    let document: Value = serde_json::from_str(&generate()["openapi.json"]).unwrap();
    let mut references = Vec::new();
    collect_refs(&document, &mut references);
    assert!(references.len() > 50, "the document refers to its schemas");
    let dangling: Vec<&String> = references
        .iter()
        .filter(|reference| {
            reference
                .strip_prefix('#')
                .is_none_or(|pointer| document.pointer(pointer).is_none())
        })
        .collect();
    assert!(
        dangling.is_empty(),
        "references that resolve to nothing: {dangling:?}"
    );
}

fn collect_refs(value: &Value, into: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                match (key.as_str(), inner) {
                    ("$ref", Value::String(reference)) => into.push(reference.clone()),
                    _ => collect_refs(inner, into),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| collect_refs(item, into)),
        _ => {}
    }
}
