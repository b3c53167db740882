//! `kindling lint`: offline validation of Kubernetes manifests before they are published.
//!
//! - custom resources: against the upstream CRD's structural schema (`structural`), with the
//!   CRDs loaded from a folder (`schemas`);
//! - core objects: against k8s-openapi's typed structs (`core`);
//! - Rollouts: cross-object rules (`rollout_rules`).
//!
//! Kinds with neither a schema nor a typed struct are reported as skipped, never invalid.

pub mod core;
pub mod input;
pub mod rollout_rules;
pub mod schemas;
pub mod structural;

pub use input::{Document, Unreadable};
pub use schemas::SchemaStore;
pub use structural::Violation;

use crate::env::Env;
use serde::Serialize;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The environment variable naming the schema folder (beaten by `--schemas`).
pub const SCHEMAS_ENV: &str = "KINDLING_SCHEMAS_DIR";

#[derive(Debug, thiserror::Error)]
pub enum LintError {
    #[error("{path} does not exist")]
    NoSuchPath { path: PathBuf },
    #[error("cannot read {path}: {why}")]
    Read { path: String, why: String },
    #[error("{path} is too large to lint: {why}")]
    TooLarge { path: String, why: String },
    #[error("schema folder {dir} does not exist")]
    SchemasMissing { dir: PathBuf },
    #[error("{invalid} of {total} object(s) are invalid")]
    Invalid { invalid: usize, total: usize },
}

impl LintError {
    pub fn hint(&self) -> Option<String> {
        match self {
            LintError::NoSuchPath { .. } => Some("pass files, folders, or - for stdin".into()),
            LintError::Read { .. } => None,
            LintError::TooLarge { .. } => Some(format!(
                "lint reads at most {} per file or stdin: lint the files one by one, or a folder",
                crate::bounded_read::size(input::MAX_INPUT_BYTES)
            )),
            LintError::SchemasMissing { .. } => Some(format!(
                "point --schemas (or {SCHEMAS_ENV}) at a folder of CRDs laid out like the download cache, \
                 e.g. <project>/<version>/crds/*.yaml; `kindling up` fills the default one"
            )),
            LintError::Invalid { .. } => Some(
                "fix the fields named above; paths are written like the API server writes them"
                    .into(),
            ),
        }
    }
}

impl crate::error::Diagnose for LintError {
    fn area(&self) -> &str {
        "lint"
    }

    fn hints(&self) -> Vec<String> {
        self.hint().into_iter().collect()
    }

    fn exit_status(&self) -> crate::ExitStatus {
        match self {
            LintError::NoSuchPath { .. }
            | LintError::SchemasMissing { .. }
            | LintError::TooLarge { .. } => crate::ExitStatus::Usage,
            _ => crate::ExitStatus::Failure,
        }
    }
}

/// Where the CRD schemas come from: the flag, else $KINDLING_SCHEMAS_DIR, else the download
/// cache itself (`platform::fetch` keeps upstream files there as `<project>/<version>/<file>`,
/// the layout the loader reads; CRDs inside install.yaml files count).
pub fn schemas_dir(flag: Option<&Path>, env: &Env, cache_dir: &Path) -> PathBuf {
    flag.map(Path::to_path_buf)
        .or_else(|| env.get(SCHEMAS_ENV).map(PathBuf::from))
        .unwrap_or_else(|| cache_dir.to_path_buf())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Valid,
    Invalid,
    Skipped,
}

/// The verdict on one object (or on a source that could not be parsed).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectReport {
    pub file: String,
    /// Position in the file (1-based); 0 for a file that could not be parsed.
    pub index: usize,
    pub api_version: String,
    pub kind: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub status: Status,
    pub messages: Vec<String>,
    /// What may be a problem but is not one on its own (a referenced object that is not
    /// in the input may exist in the cluster); errors under --strict.
    pub warnings: Vec<String>,
}

impl ObjectReport {
    /// "Kind/name" (with the namespace when there is one).
    pub fn object(&self) -> String {
        if self.kind.is_empty() {
            return "(no kind)".into();
        }
        if self.name.is_empty() {
            return self.kind.clone();
        }
        match &self.namespace {
            Some(ns) => format!("{}/{} ({ns})", self.kind, self.name),
            None => format!("{}/{}", self.kind, self.name),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub objects: Vec<ObjectReport>,
}

impl Report {
    pub fn count(&self, status: Status) -> usize {
        self.objects.iter().filter(|o| o.status == status).count()
    }

    pub fn warnings(&self) -> usize {
        self.objects.iter().map(|o| o.warnings.len()).sum()
    }

    /// Err(Invalid) when anything is invalid: the CLI's exit 1.
    pub fn verdict(&self) -> Result<(), LintError> {
        match self.count(Status::Invalid) {
            0 => Ok(()),
            invalid => Err(LintError::Invalid {
                invalid,
                total: self.objects.len(),
            }),
        }
    }
}

/// Lints the given paths (`-` = `stdin`). `strict`: warnings count as errors.
pub fn lint_paths(
    paths: &[String],
    stdin: &mut dyn std::io::Read,
    store: &SchemaStore,
    strict: bool,
) -> Result<Report, LintError> {
    let (docs, unreadable) = input::read_all(paths, stdin)?;
    Ok(lint_documents(&docs, &unreadable, store, strict))
}

/// Lints documents read together: cross-object rules look for their Services, Ingresses
/// and AnalysisTemplates among all of them.
pub fn lint_documents(
    docs: &[Document],
    unreadable: &[Unreadable],
    store: &SchemaStore,
    strict: bool,
) -> Report {
    let all: Vec<&Value> = docs.iter().map(|d| &d.value).collect();
    let mut objects: Vec<ObjectReport> = unreadable
        .iter()
        .map(|u| ObjectReport {
            file: u.source.clone(),
            index: 0,
            api_version: String::new(),
            kind: String::new(),
            name: String::new(),
            namespace: None,
            status: Status::Invalid,
            messages: vec![u.message.clone()],
            warnings: Vec::new(),
        })
        .collect();
    for doc in docs {
        let v = &doc.value;
        let text = |p: &str| v.pointer(p).and_then(Value::as_str).map(str::to_string);
        let api_version = text("/apiVersion").unwrap_or_default();
        let kind = text("/kind").unwrap_or_default();
        let (status, mut messages) = match check_object(v, store) {
            Verdict::Checked(violations) => (Status::Valid, violations),
            Verdict::Skipped(why) => (Status::Skipped, vec![why]),
        };
        let mut warnings = Vec::new();
        if api_version.starts_with("argoproj.io/") && kind == "Rollout" {
            let found = rollout_rules::check(v, &all);
            messages.extend(found.errors.iter().map(ToString::to_string));
            warnings.extend(found.warnings.iter().map(ToString::to_string));
        }
        if strict {
            messages.append(&mut warnings);
        }
        let status = match status {
            Status::Valid if !messages.is_empty() => Status::Invalid,
            Status::Skipped if messages.len() > 1 => Status::Invalid,
            s => s,
        };
        objects.push(ObjectReport {
            file: doc.source.clone(),
            index: doc.index,
            api_version,
            kind,
            name: text("/metadata/name").unwrap_or_default(),
            namespace: text("/metadata/namespace"),
            status,
            messages,
            warnings,
        });
    }
    Report { objects }
}

enum Verdict {
    /// Validated; the violations found (empty = valid).
    Checked(Vec<String>),
    /// Not validated, and why.
    Skipped(String),
}

fn check_object(v: &Value, store: &SchemaStore) -> Verdict {
    let (Some(api_version), Some(kind)) = (
        v.get("apiVersion").and_then(Value::as_str),
        v.get("kind").and_then(Value::as_str),
    ) else {
        return Verdict::Skipped("not a Kubernetes object (no apiVersion and kind)".into());
    };
    let violations = if let Some(schema) = store.schema(api_version, kind) {
        let mut found = core::check_metadata(v);
        found.extend(structural::validate_object(schema, v));
        found
    } else if let Some(round) = core::roundtrip_for(api_version, kind) {
        let mut found = core::check(round, v);
        if found.is_empty() {
            found.extend(core::check_metadata(v));
        }
        found
    } else {
        let why = if store.is_empty() {
            format!("skipped: no schema for {api_version} {kind} (no CRD schemas loaded)")
        } else {
            format!("skipped: no schema for {api_version} {kind}")
        };
        return Verdict::Skipped(why);
    };
    Verdict::Checked(violations.iter().map(ToString::to_string).collect())
}

/// Schema-only verdict on one custom resource (no cross-object rules): Some(violations)
/// when kindling has its CRD schema, None when it would be skipped. What the API server
/// checks on apply, so tests compare the two.
pub fn schema_violations(object: &Value, store: &SchemaStore) -> Option<Vec<String>> {
    match check_object(object, store) {
        Verdict::Checked(v) => Some(v),
        Verdict::Skipped(_) => None,
    }
}
