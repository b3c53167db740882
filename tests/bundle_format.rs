//! The bundle file on its own (no Docker): how it is written, read, verified and refused.

mod support;

use kindling::bundle::archive::{self, BundleWriter, Progress};
use kindling::bundle::manifest::{
    self, BundleManifest, Entry, FORMAT, FileRecord, FileRole, ImageRecord, ImageRole,
    MANIFEST_PATH, ManifestRef, blob_path,
};
use kindling::bundle::{BundleError, Platform, check_compatible};
use kindling::config::Config;
use kindling::report::{NullReporter, SharedReporter};
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn sha(bytes: &[u8]) -> String {
    kindling::platform::fetch::sha256_hex(bytes)
}

fn reporter() -> SharedReporter {
    Arc::new(NullReporter)
}

/// A small but complete bundle: one image (manifest, config, two layers sharing nothing), the
/// kind CLI for linux/amd64; its entries in file order.
fn tiny_content() -> (BundleManifest, Vec<(String, Vec<u8>)>) {
    let layer1 = vec![7u8; 3000];
    let layer2 = b"second layer".to_vec();
    let config = br#"{"architecture":"amd64","os":"linux"}"#.to_vec();
    let image_manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:{}","size":{}}},"layers":[]}}"#,
        sha(&config),
        config.len()
    )
    .into_bytes();
    let kind = b"#!/bin/sh\necho kind\n".to_vec();
    let digest = |b: &[u8]| format!("sha256:{}", sha(b));
    let mut content = vec![
        (blob_path(&digest(&image_manifest)), image_manifest.clone()),
        (blob_path(&digest(&config)), config.clone()),
        (blob_path(&digest(&layer1)), layer1.clone()),
        (blob_path(&digest(&layer2)), layer2.clone()),
    ];
    content.push(("files/kind/v0.33.0/kind-linux-amd64".into(), kind));
    let manifest = BundleManifest {
        format: FORMAT.into(),
        kindling_version: "0.1.0".into(),
        created: "2026-12-01T00:00:00Z".into(),
        pins: manifest::pins(&Config::builtin()),
        platforms: vec![Platform::new("linux", "amd64")],
        hosts: vec![Platform::new("linux", "amd64")],
        images: vec![ImageRecord {
            name: "docker.io/library/x:1".into(),
            role: ImageRole::Platform,
            registry: "docker.io".into(),
            repository: "library/x".into(),
            tag: Some("1".into()),
            upstream_digest: digest(&image_manifest),
            digest: digest(&image_manifest),
            manifests: vec![ManifestRef {
                media_type: "application/vnd.oci.image.manifest.v1+json".into(),
                digest: digest(&image_manifest),
                size: image_manifest.len() as u64,
                platform: Some(Platform::new("linux", "amd64")),
            }],
            blobs: vec![digest(&config), digest(&layer1), digest(&layer2)],
        }],
        charts: Vec::new(),
        files: vec![FileRecord {
            role: FileRole::KindCli,
            path: "files/kind/v0.33.0/kind-linux-amd64".into(),
            host: Some(Platform::new("linux", "amd64")),
        }],
        entries: content
            .iter()
            .map(|(path, bytes)| Entry {
                path: path.clone(),
                size: bytes.len() as u64,
                sha256: sha(bytes),
            })
            .collect(),
    };
    (manifest, content)
}

async fn write(path: &Path, manifest: &BundleManifest, content: &[(String, Vec<u8>)]) {
    let json = serde_json::to_vec(manifest).unwrap();
    let mut writer = BundleWriter::create(path, Progress::new(reporter(), "t", "writing", 0))
        .await
        .unwrap();
    writer
        .append(
            MANIFEST_PATH,
            json.len() as u64,
            None,
            0o644,
            json.as_slice(),
        )
        .await
        .unwrap();
    for (name, bytes) in content {
        writer
            .append(
                name,
                bytes.len() as u64,
                Some(&sha(bytes)),
                0o644,
                bytes.as_slice(),
            )
            .await
            .unwrap();
    }
    writer.finish().await.unwrap();
}

async fn tiny(dir: &Path) -> PathBuf {
    let path = dir.join("tiny.tar");
    let (manifest, content) = tiny_content();
    write(&path, &manifest, &content).await;
    path
}

#[tokio::test]
async fn a_bundle_is_read_back_entry_by_entry_at_the_offsets_it_was_written() {
    let dir = tempfile::tempdir().unwrap();
    let path = tiny(dir.path()).await;
    let (_, content) = tiny_content();
    let verified = archive::verify(&path, &reporter(), "t").await.unwrap();
    for (name, bytes) in &content {
        assert_eq!(&verified.read(name).await.unwrap(), bytes, "{name}");
    }
    // A plain tar: any tar tool lists it, manifest first.
    let listed: Vec<String> = tar::Archive::new(std::fs::File::open(&path).unwrap())
        .entries()
        .unwrap()
        .map(|e| e.unwrap().path().unwrap().display().to_string())
        .collect();
    assert_eq!(listed[0], MANIFEST_PATH);
    assert_eq!(listed.len(), content.len() + 1);
}

#[tokio::test]
async fn a_tampered_entry_is_refused_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = tiny(dir.path()).await;
    let verified = archive::verify(&path, &reporter(), "t").await.unwrap();
    let (_, content) = tiny_content();
    let target = &content[2].0;
    let (offset, _) = verified.offset(target).unwrap();
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[offset as usize + 10] ^= 1;
    std::fs::write(&path, &bytes).unwrap();
    let err = archive::verify(&path, &reporter(), "t").await.unwrap_err();
    assert!(
        matches!(&err, BundleError::Tampered { entry, .. } if entry == target),
        "{err}"
    );
    let message = err.to_string();
    assert!(
        message.contains(&format!("entry {target} was altered")),
        "{message}"
    );
    let error: kindling::Error = err.into();
    assert_eq!(error.exit_status(), kindling::ExitStatus::Usage);
    assert!(error.hints()[0].contains("copy it again"));
}

#[tokio::test]
async fn a_truncated_bundle_is_refused_naming_where_it_ends() {
    let dir = tempfile::tempdir().unwrap();
    let path = tiny(dir.path()).await;
    let verified = archive::verify(&path, &reporter(), "t").await.unwrap();
    let (_, content) = tiny_content();
    let whole = std::fs::read(&path).unwrap();
    let (layer_offset, layer_size) = verified.offset(&content[2].0).unwrap();
    let (kind_offset, _) = verified.offset(&content[4].0).unwrap();
    for (cut, want) in [
        // Inside an entry's data: that entry, and how much of it there is.
        (
            (layer_offset + layer_size / 2) as usize,
            format!(
                "entry {} has {} of {layer_size} bytes",
                content[2].0,
                layer_size / 2
            ),
        ),
        // Right after an entry: the entries that are missing.
        (
            (kind_offset - 512) as usize,
            format!(
                "it ends after {}: 1 of 5 entries are missing, the first is {}",
                content[3].0, content[4].0
            ),
        ),
        // Inside the manifest.
        (600, "manifest.json has".to_string()),
    ] {
        let cut_path = dir.path().join(format!("cut-{cut}.tar"));
        std::fs::write(&cut_path, &whole[..cut]).unwrap();
        let err = archive::verify(&cut_path, &reporter(), "t")
            .await
            .unwrap_err();
        assert!(
            matches!(err, BundleError::Truncated { .. }),
            "cut at {cut}: {err}"
        );
        assert!(err.to_string().contains(&want), "cut at {cut}: {err}");
    }
}

#[tokio::test]
async fn a_bundle_missing_a_blob_an_image_needs_is_refused_before_reading_it() {
    let dir = tempfile::tempdir().unwrap();
    let (manifest, mut content) = tiny_content();
    let (mut manifest, dropped) = (manifest, content.remove(3));
    manifest.entries.retain(|e| e.path != dropped.0);
    let path = dir.path().join("incomplete.tar");
    write(&path, &manifest, &content).await;
    let err = archive::verify(&path, &reporter(), "t").await.unwrap_err();
    assert!(
        err.to_string().contains(&format!(
            "incomplete: 1 listed but absent ({})",
            kindling::bundle::manifest::digest_of_path(&dropped.0).unwrap()
        )),
        "{err}"
    );
}

#[tokio::test]
async fn what_is_not_a_bundle_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "hello").unwrap();
    for (path, want) in [
        (text, "not a kindling bundle"),
        (dir.path().to_path_buf(), "a folder, not a file"),
        (dir.path().join("absent.tar"), "no such file"),
    ] {
        let err = archive::read_manifest(&path).await.unwrap_err();
        assert!(err.to_string().contains(want), "{}: {err}", path.display());
    }
}

#[test]
fn a_bundle_for_other_pins_or_another_architecture_is_refused_naming_what_differs() {
    let (manifest, _) = tiny_content();
    let path = Path::new("b.tar");
    let mut config = Config::builtin();
    assert!(check_compatible(path, &manifest, &config, &Platform::new("linux", "amd64")).is_ok());
    let err =
        check_compatible(path, &manifest, &config, &Platform::new("linux", "arm64")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "b.tar holds images for linux/amd64 only; this Docker engine runs linux/arm64"
    );
    assert!(err.hint().unwrap().contains("--platform linux/arm64"));
    config.cluster.kind_version = "v0.32.0".into();
    let err =
        check_compatible(path, &manifest, &config, &Platform::new("linux", "amd64")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "b.tar was made for other pins: cluster.kind_version is v0.33.0 in the bundle, v0.32.0 in the configuration"
    );
}

#[tokio::test]
async fn an_interrupted_or_failed_write_leaves_no_bundle_under_the_final_name() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("b.tar");
    // Dropped half-way (what Ctrl-C does to the future writing it).
    let mut writer = BundleWriter::create(&target, Progress::new(reporter(), "t", "w", 0))
        .await
        .unwrap();
    writer
        .append("manifest.json", 2, None, 0o644, b"{}".as_slice())
        .await
        .unwrap();
    drop(writer);
    // A source that does not match what the manifest promised.
    let mut writer = BundleWriter::create(&target, Progress::new(reporter(), "t", "w", 0))
        .await
        .unwrap();
    let err = writer
        .append(
            "blobs/sha256/00",
            3,
            Some(&"0".repeat(64)),
            0o644,
            b"abc".as_slice(),
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("sha256"), "{err}");
    drop(writer);
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn not_enough_disk_is_refused_before_writing_naming_the_size_needed() {
    let dir = tempfile::tempdir().unwrap();
    let err = archive::check_space(dir.path(), 1 << 50).unwrap_err();
    let message = err.to_string();
    assert!(
        message.starts_with(&format!(
            "not enough disk space for {}: 1024.0 TiB needed, ",
            dir.path().display()
        )),
        "{message}"
    );
    assert!(archive::check_space(dir.path(), 1).is_ok());
}

#[test]
fn bundle_create_with_no_platform_up_says_so_and_stops() {
    let dir = tempfile::tempdir().unwrap();
    let out = support::kindling()
        .args(["bundle", "create", "--platform", "linux/amd64", "--out"])
        .arg(dir.path().join("b.tar"))
        .env("KINDLING_DATA_DIR", dir.path().join("data"))
        .env("KINDLING_CACHE_DIR", dir.path().join("cache"))
        .env("KUBECONFIG", dir.path().join("absent"))
        .env("HOME", dir.path())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("no platform is up"), "{stderr}");
    assert!(stderr.contains("hint: run `kindling up` first"), "{stderr}");
    assert!(!dir.path().join("b.tar").exists());
}

#[tokio::test]
async fn inspect_shows_images_files_sizes_pins_and_platforms() {
    let dir = tempfile::tempdir().unwrap();
    let path = tiny(dir.path()).await;
    let run = |json: bool| {
        let mut command = support::kindling();
        if json {
            command.args(["--output", "json"]);
        }
        command
            .args(["bundle", "inspect"])
            .arg(&path)
            .env("NO_COLOR", "1")
            .output()
            .unwrap()
    };
    let (manifest, _) = tiny_content();
    let image_bytes: u64 = manifest
        .entries
        .iter()
        .filter(|e| e.path.starts_with("blobs/"))
        .map(|e| e.size)
        .sum();
    let out = run(true);
    assert!(out.status.success());
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["images"][0]["bytes"], image_bytes);
    assert_eq!(summary["unique_blob_bytes"], image_bytes);
    assert_eq!(summary["platforms"], serde_json::json!(["linux/amd64"]));
    assert_eq!(summary["pins"]["components.argocd"], "v3.5.1");
    assert_eq!(
        summary["files"][0]["path"],
        "files/kind/v0.33.0/kind-linux-amd64"
    );
    let out = run(false);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for want in [
        "platforms  linux/amd64".to_string(),
        "components.argocd".into(),
        "docker.io/library/x:1".into(),
        "files/kind/v0.33.0/kind-linux-amd64".into(),
        kindling::bundle::human_bytes(image_bytes),
    ] {
        assert!(text.contains(&want), "{want:?} not in:\n{text}");
    }
}
