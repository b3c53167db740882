//! kindling's record of the kind clusters it owns: `<data_dir>/clusters/<name>.json`.
//! A kind cluster without this file was made by someone else, and kindling asks before
//! reusing or deleting it.

use super::ClusterError;
use crate::config::Settings;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterState {
    pub name: String,
    pub node_image: String,
    pub kind_version: String,
    /// RFC 3339.
    pub created_at: String,
    /// True when the cluster existed before and the user agreed (--yes) that kindling manages it.
    #[serde(default)]
    pub adopted: bool,
}

pub fn path(settings: &Settings) -> PathBuf {
    settings
        .data_dir
        .join("clusters")
        .join(format!("{}.json", settings.config.cluster.name))
}

/// The state of the configured cluster, if kindling recorded one.
pub fn load(settings: &Settings) -> Option<ClusterState> {
    let text = std::fs::read_to_string(path(settings)).ok()?;
    serde_json::from_str(&text).ok()
}

pub fn save(settings: &Settings, adopted: bool) -> Result<ClusterState, ClusterError> {
    let cluster = &settings.config.cluster;
    let now = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let state = ClusterState {
        name: cluster.name.clone(),
        node_image: cluster.node_image.clone(),
        kind_version: cluster.kind_version.clone(),
        created_at: now,
        adopted,
    };
    let file = path(settings);
    let io = |what| {
        let path = file.clone();
        move |source| ClusterError::Io { what, path, source }
    };
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir).map_err(io("cannot create the directory of"))?;
    }
    let text = serde_json::to_string_pretty(&state).expect("state serializes");
    std::fs::write(&file, text + "\n").map_err(io("cannot write"))?;
    Ok(state)
}

pub fn remove(settings: &Settings) -> Result<bool, ClusterError> {
    let file = path(settings);
    match std::fs::remove_file(&file) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(source) => Err(ClusterError::Io {
            what: "cannot remove",
            path: file,
            source,
        }),
    }
}
