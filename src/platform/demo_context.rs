//! The demo app's source build context, compiled into kindling: an installed kindling (a
//! release binary, or `cargo install --git` after cargo cleaned its checkout) has no
//! repository beside it, yet `up` builds the demo image from source. The context is written
//! to a temporary folder: a workspace of the demo app alone, with the repository's lock file
//! and the build profiles of the repository's Cargo.toml.
//!
//! The lock file is the whole workspace's: for a workspace of the demo app alone cargo drops
//! the entries it does not need (and rewrites the dependency lists, which are feature unions
//! over the whole workspace), keeping every version. That is a change `--locked` refuses, so
//! this build passes `CARGO_LOCKED=` to demo-app/Dockerfile ([`BUILD_ARGS`]); the versions stay
//! those of the lock file (held by a test that resolves the context with cargo).

use include_dir::{Dir, include_dir};
use std::collections::BTreeMap;
use std::path::Path;

static DEMO_SOURCES: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/demo-app/src");
const DEMO_MANIFEST: &str = include_str!("../../demo-app/Cargo.toml");
const DEMO_BUILD_SCRIPT: &str = include_str!("../../demo-app/build.rs");
/// demo-app/Dockerfile: the path the context is built with.
pub const DOCKERFILE_PATH: &str = "demo-app/Dockerfile";
const DOCKERFILE: &str = include_str!("../../demo-app/Dockerfile");
const WORKSPACE_MANIFEST: &str = include_str!("../../Cargo.toml");
const WORKSPACE_LOCK: &str = include_str!("../../Cargo.lock");
const DEMO_PACKAGE: &str = "demo-app";

/// Build args this context needs: cargo may prune the lock file (see above).
pub const BUILD_ARGS: [(&str, &str); 1] = [("CARGO_LOCKED", "")];

/// Writes the context into `dir` (an empty folder): `Cargo.toml`, `Cargo.lock`,
/// `demo-app/{Cargo.toml,build.rs,Dockerfile,src/…}`.
pub fn write(dir: &Path) -> Result<(), String> {
    let files = files()?;
    for (path, contents) in &files {
        let target = dir.join(path);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| format!("creating {}: {e}", parent.display()))?;
        }
        std::fs::write(&target, contents)
            .map_err(|e| format!("writing {}: {e}", target.display()))?;
    }
    Ok(())
}

/// Every file of the context, by path relative to its root.
pub fn files() -> Result<BTreeMap<String, Vec<u8>>, String> {
    let mut files = BTreeMap::new();
    files.insert(
        "Cargo.toml".to_string(),
        workspace_manifest(WORKSPACE_MANIFEST)?.into_bytes(),
    );
    files.insert("Cargo.lock".to_string(), WORKSPACE_LOCK.into());
    files.insert("demo-app/Cargo.toml".into(), DEMO_MANIFEST.into());
    files.insert("demo-app/build.rs".into(), DEMO_BUILD_SCRIPT.into());
    files.insert(DOCKERFILE_PATH.into(), DOCKERFILE.into());
    let mut stack = vec![&DEMO_SOURCES];
    while let Some(dir) = stack.pop() {
        for file in dir.files() {
            files.insert(
                format!("demo-app/src/{}", file.path().display()),
                file.contents().to_vec(),
            );
        }
        stack.extend(dir.dirs());
    }
    Ok(files)
}

/// The repository's Cargo.toml reduced to a workspace of the demo app: the `[workspace]`
/// (members: the demo app) and the release profiles the image build uses.
pub fn workspace_manifest(text: &str) -> Result<String, String> {
    let root: toml::Table = toml::from_str(text).map_err(|e| format!("Cargo.toml: {e}"))?;
    let mut workspace = root
        .get("workspace")
        .and_then(|w| w.as_table())
        .cloned()
        .ok_or("Cargo.toml has no [workspace]")?;
    workspace.insert(
        "members".into(),
        toml::Value::Array(vec![toml::Value::String(DEMO_PACKAGE.into())]),
    );
    let mut out = toml::Table::new();
    out.insert("workspace".into(), toml::Value::Table(workspace));
    if let Some(profiles) = root.get("profile").and_then(|p| p.as_table()) {
        // The profile `demo` inherits `release`; `dev` (and its per-package tweaks for
        // kindling's own dependencies) plays no part in the image.
        let kept: toml::Table = profiles
            .iter()
            .filter(|(name, _)| name.as_str() != "dev")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        out.insert("profile".into(), toml::Value::Table(kept));
    }
    Ok(format!(
        "# The demo app's build workspace, written by kindling from its repository's Cargo.toml.\n{}",
        toml::to_string(&out).map_err(|e| e.to_string())?
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_context_holds_what_the_dockerfile_copies() {
        let files = files().unwrap();
        for want in [
            "Cargo.toml",
            "Cargo.lock",
            "demo-app/Cargo.toml",
            "demo-app/build.rs",
            "demo-app/Dockerfile",
            "demo-app/src/main.rs",
        ] {
            assert!(
                files.contains_key(want),
                "{want} missing: {:?}",
                files.keys()
            );
        }
        // Every source file of the repository's demo app, byte for byte.
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("demo-app/src");
        for entry in std::fs::read_dir(&src).unwrap().flatten() {
            let name = format!(
                "demo-app/src/{}",
                entry.file_name().to_string_lossy().into_owned()
            );
            assert_eq!(
                files.get(&name),
                Some(&std::fs::read(entry.path()).unwrap()),
                "{name}"
            );
        }
        let manifest = String::from_utf8(files["Cargo.toml"].clone()).unwrap();
        let table: toml::Table = toml::from_str(&manifest).unwrap();
        assert_eq!(
            table["workspace"]["members"],
            toml::Value::Array(vec!["demo-app".into()])
        );
        assert_eq!(table["profile"]["demo"]["lto"].as_str(), Some("fat"));
        assert!(table.get("package").is_none() && table.get("dependencies").is_none());
    }
}
