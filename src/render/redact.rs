//! Secrets in a render: every value of a Secret's `data` and `stringData` is replaced, so a
//! render can be shared and reviewed. The keys stay: they show what the Secret holds.

use serde_json::Value;

/// What a secret value is replaced with.
pub const REDACTED: &str = "<redacted>";

/// Redacts `object` when it is a Secret.
pub fn secrets(object: &mut Value) {
    if object["kind"] != "Secret" {
        return;
    }
    for field in ["data", "stringData"] {
        if let Some(map) = object.get_mut(field).and_then(Value::as_object_mut) {
            for value in map.values_mut() {
                *value = Value::from(REDACTED);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secret_values_go_and_keys_stay_while_other_kinds_are_untouched() {
        let mut secret = json!({
            "kind": "Secret",
            "data": { "tls.key": "c2VjcmV0" },
            "stringData": { "password": "hunter2" }
        });
        secrets(&mut secret);
        assert_eq!(secret["data"]["tls.key"], REDACTED);
        assert_eq!(secret["stringData"]["password"], REDACTED);
        let mut config_map = json!({ "kind": "ConfigMap", "data": { "a": "b" } });
        secrets(&mut config_map);
        assert_eq!(config_map["data"]["a"], "b");
    }
}
