//! Argo Rollouts without the kubectl plugin: read a Rollout's status the way the upstream
//! plugin does (`status`, `info`), and promote / abort / retry / restart it with the exact
//! patches the plugin sends (`control`).
//!
//! Entry points: `RolloutSummary::new` (offline, from a parsed `Rollout`), `load_file`,
//! `live::snapshot` (Rollout + ReplicaSets + pods + AnalysisRuns from a cluster), and
//! `control::{promote, abort, retry, restart}`.

pub mod api;
pub mod control;
pub mod environment;
pub mod error;
pub mod info;
pub mod live;
pub mod model;
pub mod status;

pub use error::RolloutError;
pub use info::{ReplicaSetCount, RolloutSummary, StrategyKind};
pub use model::Rollout;
pub use status::Phase;

use std::path::Path;

/// The largest saved Rollout read (`kubectl get rollout -o yaml` is a few KB).
pub const MAX_FILE_BYTES: u64 = 4 << 20;

/// Reads a Rollout saved as YAML or JSON (`kubectl get rollout -o yaml`); `-` is stdin.
pub fn load_file(path: &Path) -> Result<Rollout, RolloutError> {
    let read = if path == Path::new("-") {
        crate::bounded_read::stream(std::io::stdin().lock(), MAX_FILE_BYTES)
    } else {
        crate::bounded_read::any_file(path, MAX_FILE_BYTES)
    };
    let text = read.map_err(|source| RolloutError::ReadFile {
        path: path.to_path_buf(),
        source,
    })?;
    parse(&text, path)
}

/// Parses a saved Rollout; `path` names it in errors.
pub fn parse(text: &str, path: &Path) -> Result<Rollout, RolloutError> {
    let not_a_rollout = |why: String| RolloutError::NotARollout {
        path: path.to_path_buf(),
        why,
    };
    let value: serde_json::Value = if text.trim_start().starts_with('{') {
        serde_json::from_str(text).map_err(|e| not_a_rollout(e.to_string()))?
    } else {
        serde_saphyr::from_str(text).map_err(|e| not_a_rollout(e.to_string()))?
    };
    match value.get("kind").and_then(|k| k.as_str()) {
        Some("Rollout") => {}
        Some(other) => return Err(not_a_rollout(format!("its kind is {other}"))),
        None => return Err(not_a_rollout("it has no kind".into())),
    }
    Rollout::from_value(&value).map_err(not_a_rollout)
}
