//! Writing a render to a folder, all or nothing: the files go into a new folder beside the
//! target, which then takes the target's place. An existing target is replaced only when an
//! earlier render made it (its `index.json` says so), so `render` never deletes a user's files.

use super::Render;
use crate::error::{Error, Result};
use std::path::Path;

/// The index at the root of every render: what it holds, and the mark `render` recognises.
pub const INDEX: &str = "index.json";
const GENERATOR: &str = "kindling render";

/// The index as JSON (what `--output json` prints, and `index.json` holds).
pub fn index(render: &Render) -> serde_json::Value {
    serde_json::json!({
        "generator": GENERATOR,
        "files": render.files,
        "notes": render.notes,
        "kustomize": render.kustomize,
    })
}

/// Whether `dir` holds a render (its index names kindling render as its generator).
fn is_render(dir: &Path) -> bool {
    std::fs::read_to_string(dir.join(INDEX))
        .ok()
        .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
        .is_some_and(|index| index["generator"] == GENERATOR)
}

/// Writes `render` into `out`, replacing an earlier render there.
pub fn write(render: &Render, out: &Path) -> Result<()> {
    if out.exists() {
        let empty = std::fs::read_dir(out).is_ok_and(|mut d| d.next().is_none());
        if !out.is_dir() || !(empty || is_render(out)) {
            return Err(Error::usage(
                format!(
                    "{} exists and is not an earlier `kindling render`",
                    out.display()
                ),
                Some(
                    "give --out a new or empty folder (render replaces only its own output)".into(),
                ),
            ));
        }
    }
    let failed =
        |what: &str, e: std::io::Error| Error::context(format!("{what} {}", out.display()), e);
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(|e| failed("creating the parent of", e))?;
    let staging = tempfile::Builder::new()
        .prefix(".kindling-render-")
        .tempdir_in(&parent)
        .map_err(|e| failed("writing", e))?;
    for file in &render.files {
        let path = staging.path().join(&file.path);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| failed("writing", e))?;
        }
        std::fs::write(&path, &file.content).map_err(|e| failed("writing", e))?;
    }
    let index = serde_json::to_string_pretty(&index(render)).expect("the index serializes");
    std::fs::write(staging.path().join(INDEX), index + "\n").map_err(|e| failed("writing", e))?;
    if out.exists() {
        std::fs::remove_dir_all(out).map_err(|e| failed("replacing", e))?;
    }
    // A temporary folder is made private (0700); a render holds nothing secret.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(staging.path(), std::fs::Permissions::from_mode(0o755))
        .map_err(|e| failed("writing", e))?;
    let staged = staging.keep();
    std::fs::rename(&staged, out).map_err(|e| {
        let _ = std::fs::remove_dir_all(&staged);
        failed("writing", e)
    })?;
    Ok(())
}
