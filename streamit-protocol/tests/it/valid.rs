//! Validation against the checked-in JSON Schemas (`schemas/`), with an independent validator
//! (the `jsonschema` crate), so what clients generate from the schemas accepts what the
//! server and the docs actually say.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, LazyLock, Mutex};

use jsonschema::Validator;
use serde_json::Value;

static VALIDATORS: LazyLock<Mutex<BTreeMap<String, Arc<Validator>>>> =
    LazyLock::new(Mutex::default);

/// The validator of `schemas/<name>.schema.json`, built once per test binary.
pub(crate) fn validator(name: &str) -> Arc<Validator> {
    let mut validators = VALIDATORS.lock().unwrap();
    Arc::clone(validators.entry(name.to_owned()).or_insert_with(|| {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../schemas")
            .join(format!("{name}.schema.json"));
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("no schema {}: {e}", path.display()));
        let schema: Value = serde_json::from_str(&text).unwrap();
        Arc::new(jsonschema::draft202012::new(&schema).unwrap())
    }))
}

/// Every way `value` breaks schema `name`, one line each; empty when it is valid.
pub(crate) fn violations(name: &str, value: &Value) -> Vec<String> {
    validator(name)
        .iter_errors(value)
        .map(|error| format!("{} at {}", error, error.instance_path()))
        .collect()
}
