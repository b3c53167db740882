//! Build + push through the Engine API into the local registry (real Docker, classic builder).

mod registry_support;
mod support;

use kindling::docker::RegistryError;
use kindling::docker::image::{BuildSpec, build_and_push};
use kindling::docker::registry::{self};
use kindling::docker::registry_api::RegistryApi;
use kindling::report::{Outcome, RecordingReporter, SharedReporter};
use registry_support::{Fixture, cleanup};
use std::collections::BTreeMap;
use std::path::Path;

/// Removes the images a test built (by reference), also on panic.
struct Images(Vec<String>);
impl Drop for Images {
    fn drop(&mut self) {
        let _ = std::process::Command::new("docker")
            .args(["rmi", "-f"])
            .args(&self.0)
            .output();
    }
}

fn context() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    std::fs::write(
        p.join("Dockerfile"),
        "FROM scratch\nCOPY . /ctx/\nARG VERSION=dev\nLABEL dev.kindling.test.version=$VERSION\n",
    )
    .unwrap();
    std::fs::write(p.join(".dockerignore"), "secret*\n**/*.tmp\n").unwrap();
    std::fs::write(p.join("app.txt"), "hello").unwrap();
    std::fs::write(p.join("secret.txt"), "do not ship").unwrap();
    std::fs::create_dir(p.join("sub")).unwrap();
    std::fs::write(p.join("sub/scratch.tmp"), "x").unwrap();
    std::fs::write(p.join("sub/keep.txt"), "kept").unwrap();
    dir
}

fn spec(context: &Path, name: &str, version: &str) -> BuildSpec {
    BuildSpec {
        context: context.to_path_buf(),
        dockerfile: "Dockerfile".into(),
        name: name.to_string(),
        tag: "v1".into(),
        build_args: BTreeMap::from([("VERSION".to_string(), version.to_string())]),
    }
}

/// Whether `path` exists in the image (copied out of a created, never started, container).
fn image_has(image: &str, path: &str) -> bool {
    let name = support::unique("probe");
    let created = std::process::Command::new("docker")
        .args(["create", "--name", &name, image, "/none"])
        .output()
        .unwrap();
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let out = tempfile::tempdir().unwrap();
    let ok = std::process::Command::new("docker")
        .args([
            "cp",
            &format!("{name}:{path}"),
            out.path().to_str().unwrap(),
        ])
        .output()
        .unwrap()
        .status
        .success();
    cleanup(&[name], &[]);
    ok
}

#[tokio::test]
async fn build_push_round_trip_reuses_cache_and_skips_unchanged_push() {
    let Some(fx) = Fixture::new(0).await else {
        return;
    };
    let recorder = RecordingReporter::new();
    let reporter: SharedReporter = recorder.clone();
    registry::up(&fx.docker, &fx.config, &reporter)
        .await
        .unwrap();
    let port = fx.config.registry.host_port;
    let name = support::unique("demo");
    let reference = format!("localhost:{port}/{name}:v1");
    let _images = Images(vec![reference.clone()]);
    let ctx = context();

    let first = build_and_push(&fx.docker, port, &spec(ctx.path(), &name, "1"), &reporter)
        .await
        .unwrap();
    assert_eq!(first.reference, reference);
    assert_eq!(first.outcome, Outcome::Created);
    assert!(first.layers_pushed >= 1);
    // The registry's HTTP API has the manifest under the tag.
    let api = RegistryApi::local(port);
    assert_eq!(
        api.manifest_digest(&name, "v1").await.unwrap(),
        Some(first.digest.clone())
    );
    let manifest = api.get_manifest(&name, "v1").await.unwrap();
    assert_eq!(manifest.digest, first.digest);
    // .dockerignore was honoured.
    assert!(image_has(&reference, "/ctx/app.txt"));
    assert!(image_has(&reference, "/ctx/sub/keep.txt"));
    assert!(!image_has(&reference, "/ctx/secret.txt"));
    assert!(!image_has(&reference, "/ctx/sub/scratch.tmp"));

    // Same content again: nothing uploaded, same digest, reported unchanged.
    let second = build_and_push(&fx.docker, port, &spec(ctx.path(), &name, "1"), &reporter)
        .await
        .unwrap();
    assert_eq!(second.digest, first.digest);
    assert_eq!(second.image_id, first.image_id);
    assert_eq!(second.layers_pushed, 0);
    assert_eq!(second.outcome, Outcome::Unchanged);

    // Other build args: the COPY step (before the ARG) comes from the cache.
    let third = build_and_push(&fx.docker, port, &spec(ctx.path(), &name, "2"), &reporter)
        .await
        .unwrap();
    let copy = third
        .build_log
        .iter()
        .position(|l| l.contains(": COPY . /ctx/"))
        .expect("COPY step in the build output");
    assert!(
        third.build_log[copy + 1].contains("Using cache"),
        "{:#?}",
        third.build_log
    );
    assert_ne!(third.digest, first.digest, "the label changed");
    assert_eq!(third.outcome, Outcome::Changed);
    assert_eq!(
        third.layers_pushed, 0,
        "the layer was already in the registry"
    );
}

#[tokio::test]
async fn build_failure_shows_the_last_build_lines() {
    let Some(fx) = Fixture::new(0).await else {
        return;
    };
    let reporter: SharedReporter = RecordingReporter::new();
    registry::up(&fx.docker, &fx.config, &reporter)
        .await
        .unwrap();
    let port = fx.config.registry.host_port;
    let name = support::unique("broken");
    let _images = Images(vec![format!("localhost:{port}/{name}:v1")]);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("Dockerfile"),
        "FROM scratch\nCOPY missing.txt /x\n",
    )
    .unwrap();
    let err = build_and_push(&fx.docker, port, &spec(dir.path(), &name, "1"), &reporter)
        .await
        .unwrap_err();
    assert!(matches!(err, RegistryError::Build { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("Step 2/2 : COPY missing.txt /x"), "{text}");
    assert!(text.contains("missing.txt"), "{text}");
}

#[tokio::test]
async fn dockerfile_outside_the_context_is_bad_input() {
    let Some(fx) = Fixture::new(0).await else {
        return;
    };
    let reporter: SharedReporter = RecordingReporter::new();
    let dir = tempfile::tempdir().unwrap();
    let mut s = spec(dir.path(), "x", "1");
    s.dockerfile = "/etc/hostname".into();
    let err = build_and_push(&fx.docker, 1, &s, &reporter)
        .await
        .unwrap_err();
    let err: kindling::Error = err.into();
    assert_eq!(err.exit_status(), kindling::ExitStatus::Usage, "{err}");
}
