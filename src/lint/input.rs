//! What lint reads: files, folders (recursively, *.yaml / *.yml / *.json) or stdin (`-`),
//! each holding one or more YAML documents or JSON values; `kind: List` objects are opened.

use super::LintError;
use serde_json::Value;
use std::io::Read;
use std::path::{Path, PathBuf};

/// One object read from a source.
#[derive(Debug, Clone)]
pub struct Document {
    /// The file it came from, or "-" for stdin.
    pub source: String,
    /// Its position in that source (1-based, counting documents and List items).
    pub index: usize,
    pub value: Value,
}

/// A source that could not be parsed (reported as invalid, not fatal).
#[derive(Debug, Clone)]
pub struct Unreadable {
    pub source: String,
    pub message: String,
}

/// Reads every argument; `-` is stdin. A path that does not exist is a usage error.
pub fn read_all(
    args: &[String],
    stdin: &mut dyn Read,
) -> Result<(Vec<Document>, Vec<Unreadable>), LintError> {
    let mut docs = Vec::new();
    let mut bad = Vec::new();
    for arg in args {
        let mut add = |source: String, text: &str| match parse_documents(text) {
            Ok(values) => docs.extend(values.into_iter().enumerate().map(|(i, value)| Document {
                source: source.clone(),
                index: i + 1,
                value,
            })),
            Err(message) => bad.push(Unreadable { source, message }),
        };
        if arg == "-" {
            let mut text = String::new();
            stdin
                .read_to_string(&mut text)
                .map_err(|e| LintError::Read {
                    path: "-".into(),
                    why: e.to_string(),
                })?;
            add("-".into(), &text);
            continue;
        }
        let path = Path::new(arg);
        let files = if path.is_dir() {
            files_below(path)?
        } else if path.is_file() {
            vec![path.to_path_buf()]
        } else {
            return Err(LintError::NoSuchPath {
                path: path.to_path_buf(),
            });
        };
        for file in files {
            let text = std::fs::read_to_string(&file).map_err(|e| LintError::Read {
                path: file.display().to_string(),
                why: e.to_string(),
            })?;
            add(file.display().to_string(), &text);
        }
    }
    Ok((docs, bad))
}

/// Every *.yaml, *.yml and *.json file below `dir`, sorted (stable output).
pub fn files_below(dir: &Path) -> Result<Vec<PathBuf>, LintError> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d).map_err(|e| LintError::Read {
            path: d.display().to_string(),
            why: e.to_string(),
        })?;
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if matches!(
                path.extension().and_then(|e| e.to_str()),
                Some("yaml" | "yml" | "json")
            ) {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Parses a YAML multi-document stream or a sequence of JSON values; drops empty documents
/// and opens `kind: List` (or `*List`) objects into their items. A top-level sequence
/// (a JSON patch file, say) stays one document: not a Kubernetes object.
pub fn parse_documents(text: &str) -> Result<Vec<Value>, String> {
    let values: Vec<Value> = if text.trim_start().starts_with(['{', '[']) {
        serde_json::Deserializer::from_str(text)
            .into_iter::<Value>()
            .collect::<Result<_, _>>()
            .map_err(|e| format!("invalid JSON: {e}"))?
    } else {
        serde_saphyr::from_multiple::<Value>(text).map_err(|e| format!("invalid YAML: {e}"))?
    };
    let mut out = Vec::new();
    for value in values {
        match value {
            Value::Null => {}
            Value::Object(ref o)
                if o.get("kind")
                    .and_then(Value::as_str)
                    .is_some_and(|k| k.ends_with("List"))
                    && o.get("items").is_some_and(Value::is_array) =>
            {
                out.extend(o["items"].as_array().into_iter().flatten().cloned());
            }
            other => out.push(other),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_streams_json_and_lists() {
        let yaml = "---\na: 1\n---\n# only a comment\n---\nkind: List\nitems: [{b: 2}, {c: 3}]\n";
        let docs = parse_documents(yaml).unwrap();
        assert_eq!(
            docs,
            vec![
                serde_json::json!({"a": 1}),
                serde_json::json!({"b": 2}),
                serde_json::json!({"c": 3})
            ]
        );
        let json = "{\"a\": 1}\n{\"b\": \"x\"}";
        assert_eq!(parse_documents(json).unwrap().len(), 2);
        assert!(
            parse_documents("a: [1")
                .unwrap_err()
                .starts_with("invalid YAML")
        );
    }
}
