//! Loading manifests: multi-document YAML (or JSON, which is YAML) into dynamic objects
//! that remember where they came from, so every later error can name file and document.

use super::error::K8sError;
use crate::yaml::Document;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{DynamicObject, GroupVersionKind, TypeMeta};
use serde_json::Value;
use std::fmt;
use std::path::Path;

/// Where an object came from: file (or a name for in-memory text) and 1-based document index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectSource {
    pub file: String,
    pub document: usize,
}

impl fmt::Display for ObjectSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}, document {}", self.file, self.document)
    }
}

/// One object to apply, with its origin.
#[derive(Debug, Clone)]
pub struct Manifest {
    pub object: DynamicObject,
    pub source: ObjectSource,
}

impl Manifest {
    pub fn api_version(&self) -> &str {
        self.object
            .types
            .as_ref()
            .map(|t| t.api_version.as_str())
            .unwrap_or("")
    }

    pub fn kind(&self) -> &str {
        self.object
            .types
            .as_ref()
            .map(|t| t.kind.as_str())
            .unwrap_or("")
    }

    pub fn name(&self) -> &str {
        self.object.metadata.name.as_deref().unwrap_or("")
    }

    pub fn namespace(&self) -> Option<&str> {
        self.object.metadata.namespace.as_deref()
    }

    pub fn gvk(&self) -> GroupVersionKind {
        gvk_of(self.api_version(), self.kind())
    }

    /// "Deployment argocd/argocd-server" (or "ClusterRole admin").
    pub fn describe(&self) -> String {
        describe(self.kind(), self.namespace(), self.name())
    }

    pub fn is_namespace(&self) -> bool {
        self.api_version() == "v1" && self.kind() == "Namespace"
    }

    pub fn is_crd(&self) -> bool {
        self.kind() == "CustomResourceDefinition"
            && self.api_version().starts_with("apiextensions.k8s.io/")
    }
}

/// "Kind ns/name" or "Kind name".
pub fn describe(kind: &str, namespace: Option<&str>, name: &str) -> String {
    match namespace {
        Some(ns) if !ns.is_empty() => format!("{kind} {ns}/{name}"),
        _ => format!("{kind} {name}"),
    }
}

pub fn gvk_of(api_version: &str, kind: &str) -> GroupVersionKind {
    let (group, version) = match api_version.split_once('/') {
        Some((g, v)) => (g, v),
        None => ("", api_version),
    };
    GroupVersionKind::gvk(group, version, kind)
}

/// Reads and parses a manifest file.
pub fn load_file(path: &Path) -> Result<Vec<Manifest>, K8sError> {
    let text = std::fs::read_to_string(path).map_err(|e| K8sError::Read {
        path: path.display().to_string(),
        why: e.to_string(),
    })?;
    parse_str(&text, &path.display().to_string())
}

/// Parses manifest text; `file` names it in errors. Empty documents are skipped;
/// `kind: List` documents are expanded into their items.
pub fn parse_str(text: &str, file: &str) -> Result<Vec<Manifest>, K8sError> {
    let docs = crate::yaml::documents(text);
    // Large files (install.yaml is 1.9 MB) parse on all cores. Document sizes are very uneven
    // (one Argo CD CRD is 1.4 MB of 1.9), so threads take the largest remaining document
    // next rather than fixed runs of documents: the big ones start first, the small ones fill in.
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8)
        .min(docs.len());
    let parsed: Vec<Result<Vec<Manifest>, K8sError>> = if text.len() < 256 * 1024 || threads <= 1 {
        docs.iter()
            .enumerate()
            .map(|(i, doc)| parse_document(doc, i, file))
            .collect()
    } else {
        let mut order: Vec<usize> = (0..docs.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(docs[i].text.len()));
        let next = std::sync::atomic::AtomicUsize::new(0);
        let mut slots: Vec<Option<Result<Vec<Manifest>, K8sError>>> =
            (0..docs.len()).map(|_| None).collect();
        std::thread::scope(|scope| {
            let handles: Vec<_> = (0..threads)
                .map(|_| {
                    scope.spawn(|| {
                        let mut done = Vec::new();
                        loop {
                            let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            let Some(&i) = order.get(n) else { break };
                            done.push((i, parse_document(&docs[i], i, file)));
                        }
                        done
                    })
                })
                .collect();
            for handle in handles {
                for (i, result) in handle.join().expect("parser thread") {
                    slots[i] = Some(result);
                }
            }
        });
        slots.into_iter().flatten().collect()
    };
    // In document order, so the first bad document is the one reported.
    let mut manifests = Vec::new();
    for part in parsed {
        manifests.extend(part?);
    }
    Ok(manifests)
}

/// Parses one document (`index` is 0-based): nothing for an empty one, the items of a List.
fn parse_document(doc: &Document<'_>, index: usize, file: &str) -> Result<Vec<Manifest>, K8sError> {
    let source = ObjectSource {
        file: file.to_string(),
        document: index + 1,
    };
    if doc.is_empty() {
        return Ok(Vec::new());
    }
    let value: Value = serde_saphyr::from_str(doc.text).map_err(|e| K8sError::Yaml {
        file: file.to_string(),
        document: index + 1,
        line: e.location().map(|l| l.line()).unwrap_or(1) + doc.first_line - 1,
        message: first_line_of(&e.to_string()),
    })?;
    match value {
        Value::Null => Ok(Vec::new()),
        Value::Object(_) if is_list(&value) => {
            let Value::Object(mut list) = value else {
                unreachable!("matched an object")
            };
            let Some(Value::Array(items)) = list.remove("items") else {
                unreachable!("is_list checked items")
            };
            items
                .into_iter()
                .map(|item| to_manifest(item, &source))
                .collect()
        }
        Value::Object(_) => Ok(vec![to_manifest(value, &source)?]),
        other => Err(K8sError::InvalidObject {
            at: source,
            message: format!("expected a mapping, found {}", json_type(&other)),
        }),
    }
}

fn is_list(value: &Value) -> bool {
    value["kind"].as_str().is_some_and(|k| k.ends_with("List")) && value["items"].is_array()
}

/// Checks the fields every object needs, then converts. The conversion moves the parsed
/// value apart (apiVersion and kind, metadata, everything else) instead of going through
/// serde: `DynamicObject`'s flattened fields would buffer and copy the whole tree twice,
/// which for Argo CD's CRDs cost as much as parsing the YAML.
fn to_manifest(value: Value, source: &ObjectSource) -> Result<Manifest, K8sError> {
    let invalid = |message: &str| K8sError::InvalidObject {
        at: source.clone(),
        message: message.to_string(),
    };
    let Value::Object(mut map) = value else {
        return Err(invalid(&format!(
            "expected a mapping, found {}",
            json_type(&value)
        )));
    };
    let mut take_str = |key: &str| match map.remove(key) {
        Some(Value::String(s)) if !s.is_empty() => Some(s),
        _ => None,
    };
    let api_version = take_str("apiVersion").ok_or_else(|| invalid("apiVersion is missing"))?;
    let kind = take_str("kind").ok_or_else(|| invalid("kind is missing"))?;
    let metadata = map.remove("metadata").unwrap_or(Value::Null);
    if metadata["name"].as_str().is_none_or(str::is_empty) {
        return Err(invalid(&format!(
            "metadata.name is missing (a {kind} needs a name)"
        )));
    }
    let metadata: ObjectMeta =
        serde_json::from_value(metadata).map_err(|e| invalid(&format!("metadata: {e}")))?;
    Ok(Manifest {
        object: DynamicObject {
            types: Some(TypeMeta { api_version, kind }),
            metadata,
            data: Value::Object(map),
        },
        source: source.clone(),
    })
}

fn first_line_of(s: &str) -> String {
    s.lines().next().unwrap_or(s).to_string()
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

/// Objects kindling builds in code (JSON values), as manifests named after `file`.
pub fn from_values(values: Vec<serde_json::Value>, file: &str) -> Result<Vec<Manifest>, K8sError> {
    values
        .into_iter()
        .enumerate()
        .map(|(i, value)| {
            let source = ObjectSource {
                file: file.to_string(),
                document: i + 1,
            };
            match serde_json::from_value::<DynamicObject>(value) {
                Ok(object) => Ok(Manifest { object, source }),
                Err(e) => Err(K8sError::InvalidObject {
                    at: source,
                    message: e.to_string(),
                }),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skips_empty_documents_and_numbers_the_rest() {
        let text = "---\n# only a comment\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: b, namespace: x}\n";
        let m = parse_str(text, "t.yaml").unwrap();
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].describe(), "ConfigMap a");
        assert_eq!(m[0].source.document, 2);
        assert_eq!(m[1].describe(), "Secret x/b");
        assert_eq!(m[1].source.document, 4);
    }

    #[test]
    fn invalid_yaml_names_file_document_and_line() {
        let text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [unclosed\n";
        let err = parse_str(text, "bad.yaml").unwrap_err().to_string();
        assert!(err.contains("bad.yaml, document 2, line"), "{err}");
        let K8sError::Yaml { line, .. } = parse_str(text, "bad.yaml").unwrap_err() else {
            panic!()
        };
        assert!((8..=9).contains(&line), "line {line}");
    }

    #[test]
    fn missing_fields_are_named_with_the_source() {
        for (doc, field) in [
            ("kind: ConfigMap\nmetadata: {name: a}", "apiVersion"),
            ("apiVersion: v1\nmetadata: {name: a}", "kind"),
            (
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {}",
                "metadata.name",
            ),
        ] {
            let err = parse_str(doc, "x.yaml").unwrap_err().to_string();
            assert!(
                err.contains(field) && err.contains("x.yaml, document 1"),
                "{err}"
            );
        }
    }

    #[test]
    fn large_files_parse_in_parallel_with_the_right_document_numbers() {
        let pad = "x".repeat(2000);
        let docs: Vec<String> = (1..=300)
            .map(|i| format!("apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c{i}}}\ndata: {{pad: {pad}}}\n"))
            .collect();
        let text = docs.join("---\n");
        assert!(text.len() > 256 * 1024);
        let m = parse_str(&text, "big.yaml").unwrap();
        assert_eq!(m.len(), 300);
        assert_eq!((m[299].name(), m[299].source.document), ("c300", 300));
        let broken = text.replace("name: c250}", "name: [c250}");
        let err = parse_str(&broken, "big.yaml").unwrap_err().to_string();
        assert!(err.contains("big.yaml, document 250, line 1248"), "{err}");
    }

    #[test]
    fn objects_are_what_serde_would_make_of_the_document() {
        let text = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\n  labels: {app: d}\n  annotations: {a: 'b'}\nspec:\n  replicas: 2\n  template: {spec: {containers: [{name: c, image: i}]}}\nstatus: {}\n";
        let m = parse_str(text, "d.yaml").unwrap();
        let value: Value = serde_saphyr::from_str(text).unwrap();
        let expected: DynamicObject = serde_json::from_value(value).unwrap();
        assert_eq!(m[0].object, expected);
        assert_eq!(
            serde_json::to_value(&m[0].object).unwrap(),
            serde_json::to_value(&expected).unwrap()
        );
    }

    #[test]
    fn uneven_documents_parse_largest_first_but_keep_their_order() {
        // One huge document among small ones (like Argo CD's CRD), an error after it.
        let big = format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: big}}\ndata:\n{}",
            (0..20_000)
                .map(|i| format!("  k{i}: v{i}\n"))
                .collect::<String>()
        );
        let small =
            |i: usize| format!("apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: s{i}}}\n");
        let mut docs: Vec<String> = (1..=5).map(small).collect();
        docs.insert(2, big);
        let text = docs.join("---\n");
        assert!(text.len() > 256 * 1024);
        let m = parse_str(&text, "u.yaml").unwrap();
        let names: Vec<&str> = m.iter().map(Manifest::name).collect();
        assert_eq!(names, ["s1", "s2", "big", "s3", "s4", "s5"]);
        assert_eq!(m[2].object.data["data"]["k19999"], "v19999");
        let broken = text
            .replace("name: s1}", "name: [s1}")
            .replace("name: s5}", "name: [s5}");
        let err = parse_str(&broken, "u.yaml").unwrap_err().to_string();
        assert!(err.contains("u.yaml, document 1,"), "{err}");
    }

    #[test]
    fn json_and_lists_are_accepted() {
        let text = r#"{"apiVersion":"v1","kind":"List","items":[{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"}}]}"#;
        let m = parse_str(text, "x.json").unwrap();
        assert_eq!(m[0].describe(), "ConfigMap a");
    }
}
