//! A validator for the structural OpenAPI v3 schemas of CustomResourceDefinitions, covering
//! the subset the API server itself enforces on a custom resource under server-side apply:
//! `type`, `properties`, `required`, `items`, `additionalProperties`, `enum`, `nullable`,
//! `x-kubernetes-preserve-unknown-fields`, `x-kubernetes-int-or-string`,
//! `x-kubernetes-embedded-resource`, `format: int32`, min/max (length, items, value).
//! Not covered (documented in docs/manifests.md): `pattern`, `anyOf`/`oneOf`/`allOf`/`not`,
//! CEL `x-kubernetes-validations`, list-type/map-type uniqueness.

use serde_json::Value;

/// One problem, at a JSON path written like the API server writes it (`.spec.steps[0].x`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub path: String,
    pub message: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Validates a whole custom resource against its version's `openAPIV3Schema`.
/// `metadata` is left to the ObjectMeta check (the server validates it apart from the schema).
pub fn validate_object(schema: &Value, object: &Value) -> Vec<Violation> {
    let mut out = Vec::new();
    let Some(fields) = object.as_object() else {
        out.push(violation("", "must be an object"));
        return out;
    };
    let props = schema.get("properties").and_then(Value::as_object);
    for (key, value) in fields {
        let path = format!(".{key}");
        match key.as_str() {
            // Always allowed at the root, whatever the schema declares.
            "apiVersion" | "kind" | "metadata" => {}
            _ => match props.and_then(|p| p.get(key)) {
                Some(sub) => validate(sub, value, &path, &mut out),
                None if preserves_unknown(schema) => {}
                None => out.push(violation(&path, "field not declared in schema")),
            },
        }
    }
    check_required(schema, fields, "", &mut out);
    out
}

fn violation(path: &str, message: impl Into<String>) -> Violation {
    Violation {
        path: if path.is_empty() {
            ".".into()
        } else {
            path.into()
        },
        message: message.into(),
    }
}

fn flag(schema: &Value, name: &str) -> bool {
    schema.get(name).and_then(Value::as_bool).unwrap_or(false)
}

fn preserves_unknown(schema: &Value) -> bool {
    flag(schema, "x-kubernetes-preserve-unknown-fields")
}

fn validate(schema: &Value, value: &Value, path: &str, out: &mut Vec<Violation>) {
    // Non-nullable nulls are pruned by the server before validation, nullable ones kept:
    // either way a null is never an error.
    if value.is_null() {
        return;
    }
    if flag(schema, "x-kubernetes-int-or-string") {
        if !(value.is_i64() || value.is_u64() || value.is_string()) {
            out.push(violation(
                path,
                format!("must be an integer or a string, got {}", type_name(value)),
            ));
        }
        return;
    }
    let declared = schema.get("type").and_then(Value::as_str);
    if let Some(expected) = declared
        && !has_type(value, expected)
    {
        out.push(violation(
            path,
            format!("must be of type {expected}, got {}", type_name(value)),
        ));
        return;
    }
    check_enum(schema, value, path, out);
    check_bounds(schema, value, path, out);
    match value {
        Value::Object(fields) => validate_fields(schema, fields, path, out),
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                for (i, item) in items.iter().enumerate() {
                    validate(item_schema, item, &format!("{path}[{i}]"), out);
                }
            }
        }
        _ => {}
    }
}

fn validate_fields(
    schema: &Value,
    fields: &serde_json::Map<String, Value>,
    path: &str,
    out: &mut Vec<Violation>,
) {
    let props = schema.get("properties").and_then(Value::as_object);
    let additional = schema.get("additionalProperties");
    let embedded = flag(schema, "x-kubernetes-embedded-resource");
    for (key, value) in fields {
        let sub_path = format!("{path}.{key}");
        if let Some(sub) = props.and_then(|p| p.get(key)) {
            validate(sub, value, &sub_path, out);
            continue;
        }
        match additional {
            Some(Value::Bool(true)) => continue,
            Some(sub @ Value::Object(_)) => {
                validate(sub, value, &sub_path, out);
                continue;
            }
            _ => {}
        }
        let implicit = embedded && matches!(key.as_str(), "apiVersion" | "kind" | "metadata");
        if !implicit && !preserves_unknown(schema) {
            out.push(violation(&sub_path, "field not declared in schema"));
        }
    }
    check_required(schema, fields, path, out);
}

fn check_required(
    schema: &Value,
    fields: &serde_json::Map<String, Value>,
    path: &str,
    out: &mut Vec<Violation>,
) {
    for name in schema
        .get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(name) = name.as_str()
            && fields.get(name).is_none_or(Value::is_null)
        {
            out.push(violation(&format!("{path}.{name}"), "Required value"));
        }
    }
}

fn check_enum(schema: &Value, value: &Value, path: &str, out: &mut Vec<Violation>) {
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
        && !allowed.contains(value)
    {
        let list: Vec<String> = allowed.iter().map(Value::to_string).collect();
        out.push(violation(
            path,
            format!(
                "Unsupported value: {value}: supported values: {}",
                list.join(", ")
            ),
        ));
    }
}

fn check_bounds(schema: &Value, value: &Value, path: &str, out: &mut Vec<Violation>) {
    let num = |k: &str| schema.get(k).and_then(Value::as_f64);
    let mut fail = |m: String| out.push(violation(path, m));
    match value {
        Value::Number(n) => {
            let x = n.as_f64().unwrap_or(0.0);
            if schema.get("format").and_then(Value::as_str) == Some("int32")
                && n.as_i64().is_some_and(|i| i32::try_from(i).is_err())
            {
                fail(format!("{n} does not fit in int32"));
            }
            if let Some(min) = num("minimum")
                && x < min
            {
                fail(format!("should be greater than or equal to {min}"));
            }
            if let Some(max) = num("maximum")
                && x > max
            {
                fail(format!("should be less than or equal to {max}"));
            }
        }
        Value::String(s) => {
            let len = s.chars().count() as f64;
            if num("minLength").is_some_and(|m| len < m) {
                fail(format!(
                    "should be at least {} chars long",
                    num("minLength").unwrap_or(0.0)
                ));
            }
            if num("maxLength").is_some_and(|m| len > m) {
                fail(format!(
                    "may not be more than {} bytes",
                    num("maxLength").unwrap_or(0.0)
                ));
            }
        }
        Value::Array(items) => {
            let len = items.len() as f64;
            if num("minItems").is_some_and(|m| len < m) {
                fail(format!(
                    "should have at least {} items",
                    num("minItems").unwrap_or(0.0)
                ));
            }
            if num("maxItems").is_some_and(|m| len > m) {
                fail(format!(
                    "must have at most {} items",
                    num("maxItems").unwrap_or(0.0)
                ));
            }
        }
        _ => {}
    }
}

fn has_type(value: &Value, expected: &str) -> bool {
    match expected {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "boolean" => value.is_boolean(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        _ => true,
    }
}

/// The JSON type of a value, in OpenAPI's words.
pub fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_f64() => "number",
        Value::Number(_) => "integer",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Value {
        json!({"type": "object", "properties": {
            "spec": {"type": "object", "required": ["name"], "properties": {
                "name": {"type": "string", "maxLength": 5},
                "replicas": {"type": "integer", "format": "int32", "minimum": 0},
                "mode": {"type": "string", "enum": ["a", "b"]},
                "port": {"x-kubernetes-int-or-string": true},
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                "steps": {"type": "array", "items": {"type": "object", "properties": {
                    "w": {"type": "integer"}}}}
            }}
        }})
    }

    fn paths(object: Value) -> Vec<String> {
        validate_object(&schema(), &object)
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn accepts_a_valid_object() {
        let ok = json!({"apiVersion": "x/v1", "kind": "X", "metadata": {"name": "n"},
            "spec": {"name": "ab", "replicas": 3, "mode": "a", "port": "http",
                     "labels": {"k": "v"}, "free": {"any": {"thing": 1}}, "steps": [{"w": 1}],
                     "nothing": null}});
        // `nothing` is not declared: reported even though it is null (the server does too).
        assert_eq!(
            paths(ok),
            vec![".spec.nothing: field not declared in schema"]
        );
    }

    #[test]
    fn reports_each_kind_of_violation_with_its_path() {
        let bad = json!({"spec": {"replicas": "3", "mode": "c", "port": 1.5,
            "labels": {"k": 1}, "steps": [{"w": 1}, {"x": 2}], "name": "toolong"}, "extra": 1});
        let got = paths(bad);
        for want in [
            ".extra: field not declared in schema",
            ".spec.replicas: must be of type integer, got string",
            ".spec.mode: Unsupported value: \"c\": supported values: \"a\", \"b\"",
            ".spec.port: must be an integer or a string, got number",
            ".spec.labels.k: must be of type string, got integer",
            ".spec.steps[1].x: field not declared in schema",
            ".spec.name: may not be more than 5 bytes",
        ] {
            assert!(
                got.contains(&want.to_string()),
                "missing {want:?} in {got:#?}"
            );
        }
        assert_eq!(
            paths(json!({"spec": {}})),
            vec![".spec.name: Required value"]
        );
        assert_eq!(
            paths(json!({"spec": {"name": "a", "replicas": 4294967296u64}})),
            vec![".spec.replicas: 4294967296 does not fit in int32"]
        );
    }
}
