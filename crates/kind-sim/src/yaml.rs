//! YAML as Argo CD and Kubernetes read it (sigs.k8s.io/yaml over go-yaml v2): a repeated
//! mapping key keeps its last value (an upstream fixture, statefulset-ondelete.yaml, has one).

use serde_json::Value;

fn options() -> serde_saphyr::Options {
    serde_saphyr::options! { duplicate_keys: serde_saphyr::DuplicateKeyPolicy::LastWins }
}

/// One document.
pub fn parse(text: &str) -> Result<Value, String> {
    serde_saphyr::from_str_with_options(text, options()).map_err(|e| format!("invalid YAML: {e}"))
}

/// A multi-document stream; empty documents are dropped.
pub fn parse_stream(text: &str) -> Result<Vec<Value>, String> {
    let docs: Vec<Value> = serde_saphyr::from_multiple_with_options(text, options())
        .map_err(|e| format!("invalid YAML: {e}"))?;
    Ok(docs.into_iter().filter(|d| !d.is_null()).collect())
}
