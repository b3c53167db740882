//! `demo-environments/<env>/`: each environment's objects after kustomize, as Argo CD applies
//! them — `kustomize build` of the environment's generated layer in the artifact, objects
//! without a namespace given the Application's destination namespace.

use super::kustomize::Kustomize;
use super::{File, object_file};
use crate::env::Env;
use crate::environments::ENVIRONMENTS;
use crate::error::{Error, Result};
use serde_json::Value;

pub(super) struct Environments {
    pub files: Vec<File>,
    pub notes: Vec<String>,
    pub kustomize: Option<String>,
}

/// Renders every environment from the staged artifact in `staged`.
pub(super) fn files(staged: &tempfile::TempDir, env: &Env) -> Result<Environments> {
    let Some(kustomize) = Kustomize::find(env) else {
        return Ok(Environments {
            files: Vec::new(),
            notes: vec![
                "demo-environments/ not rendered: no kustomize or kubectl on PATH (set \
                 KINDLING_KUSTOMIZE_BIN, or run `kustomize build artifact/demo-app/generated/<env>`)"
                    .into(),
            ],
            kustomize: None,
        });
    };
    let mut files = Vec::new();
    for environment in &ENVIRONMENTS {
        let layer = staged
            .path()
            .join("demo-app/generated")
            .join(environment.name);
        let yaml = kustomize.build(&layer).map_err(|why| {
            Error::failed(
                format!("rendering the {} environment", environment.name),
                why,
            )
        })?;
        let objects = crate::lint::input::parse_documents(&yaml).map_err(|why| {
            Error::failed(
                format!(
                    "reading {}'s output for {}",
                    kustomize.describe(),
                    environment.name
                ),
                why,
            )
        })?;
        let dir = format!("demo-environments/{}", environment.name);
        for mut object in objects {
            if object["metadata"]["namespace"].is_null() && object["kind"] != "Namespace" {
                object["metadata"]["namespace"] = Value::from(environment.namespace);
            }
            files.push(object_file(&dir, &object));
        }
    }
    Ok(Environments {
        files,
        notes: vec![format!(
            "demo-environments/ built with `{} artifact/demo-app/generated/<env>`",
            kustomize.describe()
        )],
        kustomize: Some(kustomize.describe().to_string()),
    })
}
