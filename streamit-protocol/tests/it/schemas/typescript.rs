//! TypeScript types from the bundled JSON Schemas: one `export type` per named schema.
//!
//! Our schemas use a small vocabulary (objects, arrays, scalars, `const`, `enum`, `oneOf`,
//! `anyOf`, `allOf`, `$ref`), so a direct translation is exact and needs no Node at test time.
//! Validation keywords (`minimum`, `maxLength`, `pattern`, `format`) have no TypeScript form;
//! they stay in the JSON Schemas and in the descriptions.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::{Map, Value};

const INDENT: &str = "  ";

pub(super) fn render(definitions: &BTreeMap<String, Value>, regenerate: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "// StreamIt protocol v1: TypeScript types generated from the JSON Schemas beside this file."
    );
    let _ = writeln!(out, "// Do not edit. Regenerate with: {regenerate}");
    for (name, schema) in definitions {
        out.push('\n');
        out.push_str(&doc_comment(schema, ""));
        let _ = writeln!(out, "export type {name} = {};", expression(schema, 0));
    }
    out
}

/// The TypeScript type of `schema`, laid out for nesting depth `depth`.
fn expression(schema: &Value, depth: usize) -> String {
    let Value::Object(object) = schema else {
        return "unknown".into();
    };
    if let Some(Value::String(reference)) = object.get("$ref") {
        return reference.trim_start_matches("#/$defs/").to_owned();
    }
    if let Some(constant) = object.get("const") {
        return literal(constant);
    }
    if let Some(Value::Array(values)) = object.get("enum") {
        return values.iter().map(literal).collect::<Vec<_>>().join(" | ");
    }
    let mut parts = Vec::new();
    if let Some(base) = typed(object, depth) {
        parts.push(base);
    }
    for (keyword, joiner) in [("oneOf", " | "), ("anyOf", " | "), ("allOf", " & ")] {
        if let Some(Value::Array(options)) = object.get(keyword) {
            let items: Vec<String> = options
                .iter()
                .map(|option| grouped(expression(option, depth)))
                .collect();
            parts.push(items.join(joiner));
        }
    }
    match parts.len() {
        0 => "unknown".into(),
        1 => parts.remove(0),
        _ => parts
            .into_iter()
            .map(grouped)
            .collect::<Vec<_>>()
            .join(" & "),
    }
}

/// The type given by the `type` keyword (one name or a list), if any.
fn typed(object: &Map<String, Value>, depth: usize) -> Option<String> {
    match object.get("type")? {
        Value::String(name) => Some(scalar_or_structure(name, object, depth)),
        Value::Array(names) => Some(
            names
                .iter()
                .filter_map(Value::as_str)
                .map(|name| grouped(scalar_or_structure(name, object, depth)))
                .collect::<Vec<_>>()
                .join(" | "),
        ),
        _ => None,
    }
}

fn scalar_or_structure(name: &str, object: &Map<String, Value>, depth: usize) -> String {
    match name {
        "string" => "string".into(),
        "integer" | "number" => "number".into(),
        "boolean" => "boolean".into(),
        "null" => "null".into(),
        "array" => {
            let items = object
                .get("items")
                .map_or_else(|| "unknown".into(), |i| expression(i, depth));
            format!("Array<{items}>")
        }
        "object" => object_literal(object, depth),
        _ => "unknown".into(),
    }
}

fn object_literal(object: &Map<String, Value>, depth: usize) -> String {
    let properties = object.get("properties").and_then(Value::as_object);
    let additional = object.get("additionalProperties");
    let Some(properties) = properties.filter(|p| !p.is_empty()) else {
        return match additional {
            Some(Value::Object(schema)) if !schema.is_empty() => {
                format!(
                    "{{ [key: string]: {} }}",
                    expression(&Value::Object(schema.clone()), depth)
                )
            }
            Some(Value::Bool(false)) | None if object.get("oneOf").is_none() => {
                "Record<string, never>".into()
            }
            _ => "{ [key: string]: unknown }".into(),
        };
    };
    let required: Vec<&str> = object
        .get("required")
        .and_then(Value::as_array)
        .map(|names| names.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let inner = INDENT.repeat(depth + 1);
    let mut out = String::from("{\n");
    for (name, schema) in properties {
        out.push_str(&doc_comment(schema, &inner));
        let optional = if required.contains(&name.as_str()) {
            ""
        } else {
            "?"
        };
        let _ = writeln!(
            out,
            "{inner}{}{optional}: {};",
            property_name(name),
            expression(schema, depth + 1)
        );
    }
    out.push_str(&INDENT.repeat(depth));
    out.push('}');
    out
}

fn property_name(name: &str) -> String {
    let plain = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if plain {
        name.to_owned()
    } else {
        literal(&Value::String(name.to_owned()))
    }
}

fn literal(value: &Value) -> String {
    serde_json::to_string(value).expect("a JSON value serializes")
}

/// Parenthesises `ty` when a union or intersection sits at its top level.
fn grouped(ty: String) -> String {
    let mut nesting = 0i32;
    let mut top_level_operator = false;
    let mut in_string = false;
    for c in ty.chars() {
        match c {
            '"' => in_string = !in_string,
            _ if in_string => {}
            '{' | '(' | '<' | '[' => nesting += 1,
            '}' | ')' | '>' | ']' => nesting -= 1,
            '|' | '&' if nesting == 0 => top_level_operator = true,
            _ => {}
        }
    }
    if top_level_operator {
        format!("({ty})")
    } else {
        ty
    }
}

/// The schema's `description` as a JSDoc comment at `indent`, or nothing.
fn doc_comment(schema: &Value, indent: &str) -> String {
    let Some(text) = schema.get("description").and_then(Value::as_str) else {
        return String::new();
    };
    let text = text.replace("*/", "*\\/");
    let lines: Vec<&str> = text.lines().collect();
    if lines.len() == 1 {
        return format!("{indent}/** {} */\n", lines[0]);
    }
    let mut out = format!("{indent}/**\n");
    for line in lines {
        let _ = writeln!(
            out,
            "{indent} *{}{line}",
            if line.is_empty() { "" } else { " " }
        );
    }
    let _ = writeln!(out, "{indent} */");
    out
}
