//! What lint reads: files, folders (recursively, *.yaml / *.yml / *.json) or stdin (`-`),
//! each holding one or more YAML documents or JSON values; `kind: List` objects are opened.
//! Bounded: at most `MAX_INPUT_BYTES` per source, each folder walked once (symlink loops
//! end), and only regular files read from folders (a FIFO there would block forever).

use super::LintError;
use crate::bounded_read::{self, ReadError};
use serde_json::Value;
use std::collections::HashSet;
use std::io::Read;
use std::path::{Path, PathBuf};

/// The largest source (file or stdin) read: rendered manifests of a whole platform are a
/// few MB; a bigger input is refused as too large rather than read until memory runs out.
pub const MAX_INPUT_BYTES: u64 = 32 << 20;

/// The most YAML documents in one source (serde-saphyr's default budget is 1,024, which
/// a rendered chart can exceed).
pub const MAX_DOCUMENTS: usize = 100_000;

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

/// Why a text could not be turned into documents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// Not valid YAML or JSON: the input is wrong.
    Invalid(String),
    /// Beyond what lint reads (documents, nodes): the input may be fine, just too big.
    TooLarge(String),
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ParseError::Invalid(m) | ParseError::TooLarge(m) => f.write_str(m),
        }
    }
}

fn read_error(path: String, e: ReadError) -> LintError {
    match e {
        ReadError::TooLarge { limit } => LintError::TooLarge {
            path,
            why: format!("more than {}", bounded_read::size(limit)),
        },
        other => LintError::Read {
            path,
            why: other.to_string(),
        },
    }
}

/// Reads every argument; `-` is stdin. A path that does not exist is a usage error.
/// A named file may be a pipe (`lint <(kustomize build ...)`); folders are walked.
pub fn read_all(
    args: &[String],
    stdin: &mut dyn Read,
) -> Result<(Vec<Document>, Vec<Unreadable>), LintError> {
    let mut docs = Vec::new();
    let mut bad = Vec::new();
    for arg in args {
        let mut add = |source: String, text: &str| match parse_documents(text) {
            Ok(values) => {
                docs.extend(values.into_iter().enumerate().map(|(i, value)| Document {
                    source: source.clone(),
                    index: i + 1,
                    value,
                }));
                Ok(())
            }
            Err(ParseError::Invalid(message)) => {
                bad.push(Unreadable { source, message });
                Ok(())
            }
            Err(ParseError::TooLarge(why)) => Err(LintError::TooLarge { path: source, why }),
        };
        if arg == "-" {
            let text = bounded_read::stream(&mut *stdin, MAX_INPUT_BYTES)
                .map_err(|e| read_error("-".into(), e))?;
            add("-".into(), &text)?;
            continue;
        }
        let path = Path::new(arg);
        let Ok(meta) = std::fs::metadata(path) else {
            return Err(LintError::NoSuchPath {
                path: path.to_path_buf(),
            });
        };
        let files = if meta.is_dir() {
            files_below(path)?
        } else {
            vec![path.to_path_buf()]
        };
        for file in files {
            let text = bounded_read::any_file(&file, MAX_INPUT_BYTES)
                .map_err(|e| read_error(file.display().to_string(), e))?;
            add(file.display().to_string(), &text)?;
        }
    }
    Ok((docs, bad))
}

/// Every regular *.yaml, *.yml and *.json file below `dir`, sorted (stable output).
/// Symlinks are followed, but each folder is walked once: a link back up ends there.
/// FIFOs, sockets and devices are skipped, whatever their name.
pub fn files_below(dir: &Path) -> Result<Vec<PathBuf>, LintError> {
    let mut out = Vec::new();
    let mut walked: HashSet<PathBuf> = HashSet::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let read = |e: std::io::Error| LintError::Read {
            path: d.display().to_string(),
            why: e.to_string(),
        };
        if !walked.insert(std::fs::canonicalize(&d).map_err(read)?) {
            continue;
        }
        for entry in std::fs::read_dir(&d).map_err(read)?.flatten() {
            let path = entry.path();
            // Follows symlinks; a dangling one has no metadata and is skipped.
            let Ok(meta) = std::fs::metadata(&path) else {
                continue;
            };
            if meta.is_dir() {
                stack.push(path);
            } else if meta.is_file()
                && matches!(
                    path.extension().and_then(|e| e.to_str()),
                    Some("yaml" | "yml" | "json")
                )
            {
                out.push(path);
            }
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// YAML parsing limits: more documents than serde-saphyr's default, and enough nodes for a
/// rendered platform; the byte cap bounds them in any case.
fn yaml_options() -> serde_saphyr::Options {
    let mut budget = serde_saphyr::Budget::default();
    budget.max_documents = MAX_DOCUMENTS;
    budget.max_nodes = 4_000_000;
    budget.max_events = 10_000_000;
    let mut options = serde_saphyr::Options::default();
    options.budget = Some(budget);
    options
}

/// Whether a YAML error is a budget breach (a limit of ours), not a syntax error.
fn is_budget(mut e: &serde_saphyr::Error) -> bool {
    loop {
        match e {
            serde_saphyr::Error::WithSnippet { error, .. }
            | serde_saphyr::Error::AliasError { error, .. } => e = error,
            serde_saphyr::Error::Budget { .. } => return true,
            _ => return false,
        }
    }
}

/// Parses a YAML multi-document stream or a sequence of JSON values; drops empty documents
/// and opens `kind: List` (or `*List`) objects into their items. A top-level sequence
/// (a JSON patch file, say) stays one document: not a Kubernetes object.
pub fn parse_documents(text: &str) -> Result<Vec<Value>, ParseError> {
    let values: Vec<Value> = if text.trim_start().starts_with(['{', '[']) {
        serde_json::Deserializer::from_str(text)
            .into_iter::<Value>()
            .collect::<Result<_, _>>()
            .map_err(|e| ParseError::Invalid(format!("invalid JSON: {e}")))?
    } else {
        serde_saphyr::from_multiple_with_options::<Value>(text, yaml_options()).map_err(|e| {
            if is_budget(&e) {
                ParseError::TooLarge(format!(
                    "beyond what lint reads (at most {MAX_DOCUMENTS} documents, 4,000,000 YAML nodes): {e}"
                ))
            } else {
                ParseError::Invalid(format!("invalid YAML: {e}"))
            }
        })?
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
        assert!(matches!(
            parse_documents("a: [1"),
            Err(ParseError::Invalid(m)) if m.starts_with("invalid YAML")
        ));
        // More documents than serde-saphyr's default budget of 1,024 are fine...
        let many = "a: 1\n---\n".repeat(2_000);
        assert_eq!(parse_documents(&many).unwrap().len(), 2_000);
        // ...and past lint's own limit the input is too large, not invalid.
        let storm = "---\nx\n".repeat(MAX_DOCUMENTS + 1);
        assert!(matches!(
            parse_documents(&storm),
            Err(ParseError::TooLarge(_))
        ));
    }
}
