//! The CRD schemas lint validates custom resources against, loaded from a folder laid out
//! like kindling's download cache (`<project>/<version>/crds/*.yaml`, install.yaml...):
//! every CustomResourceDefinition found in any YAML/JSON file below it counts.

use super::LintError;
use super::input;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// `openAPIV3Schema` per (apiVersion, kind), e.g. ("argoproj.io/v1alpha1", "Rollout").
#[derive(Debug, Default)]
pub struct SchemaStore {
    schemas: BTreeMap<(String, String), Crd>,
    pub dir: Option<PathBuf>,
}

#[derive(Debug)]
struct Crd {
    schema: Value,
    namespaced: bool,
}

/// The documents of a file that may be CRDs (a cheap text filter before YAML parsing).
fn crd_documents(text: &str) -> Vec<&str> {
    if !text.contains("CustomResourceDefinition") {
        return Vec::new();
    }
    if text.trim_start().starts_with('{') {
        return vec![text];
    }
    crate::yaml::documents(text)
        .into_iter()
        .map(|d| d.text)
        .filter(|d| d.contains("kind: CustomResourceDefinition"))
        .collect()
}

impl SchemaStore {
    /// Loads every CRD below `dir`. A missing folder is an error (a typo would otherwise
    /// make every custom resource "skipped").
    pub fn load(dir: &Path) -> Result<SchemaStore, LintError> {
        if !dir.is_dir() {
            return Err(LintError::SchemasMissing {
                dir: dir.to_path_buf(),
            });
        }
        let mut store = SchemaStore {
            dir: Some(dir.to_path_buf()),
            ..Default::default()
        };
        for file in input::files_below(dir)? {
            // install.yaml next to a crds/ folder repeats those CRDs: parsing it twice would
            // only cost time (it is the largest file).
            if file.parent().is_some_and(|p| p.join("crds").is_dir()) {
                continue;
            }
            // Bounded like any input; a file beyond the limit holds no CRD kindling reads.
            let text = crate::bounded_read::regular_file(&file, input::MAX_INPUT_BYTES)
                .unwrap_or_default();
            for doc in crd_documents(&text) {
                // Schema folders hold upstream files; one that does not parse is not ours to judge.
                for value in input::parse_documents(doc).unwrap_or_default() {
                    store.add_crd(&value);
                }
            }
        }
        Ok(store)
    }

    /// Adds one CustomResourceDefinition (anything else is ignored).
    pub fn add_crd(&mut self, doc: &Value) {
        if doc.get("kind").and_then(Value::as_str) != Some("CustomResourceDefinition") {
            return;
        }
        let spec = &doc["spec"];
        let (Some(group), Some(kind)) = (spec["group"].as_str(), spec["names"]["kind"].as_str())
        else {
            return;
        };
        let namespaced = spec["scope"].as_str() != Some("Cluster");
        for version in spec["versions"].as_array().into_iter().flatten() {
            let (Some(name), Some(schema)) = (
                version["name"].as_str(),
                version.pointer("/schema/openAPIV3Schema"),
            ) else {
                continue;
            };
            self.schemas.insert(
                (format!("{group}/{name}"), kind.to_string()),
                Crd {
                    schema: schema.clone(),
                    namespaced,
                },
            );
        }
    }

    pub fn schema(&self, api_version: &str, kind: &str) -> Option<&Value> {
        self.schemas
            .get(&(api_version.to_string(), kind.to_string()))
            .map(|c| &c.schema)
    }

    /// Whether the kind is namespaced (None: unknown kind).
    pub fn namespaced(&self, api_version: &str, kind: &str) -> Option<bool> {
        self.schemas
            .get(&(api_version.to_string(), kind.to_string()))
            .map(|c| c.namespaced)
    }

    pub fn len(&self) -> usize {
        self.schemas.len()
    }

    pub fn is_empty(&self) -> bool {
        self.schemas.is_empty()
    }
}
