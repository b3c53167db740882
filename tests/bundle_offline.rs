//! `kindling bundle` against stand-ins (tests/bundle_support): a connected laptop packs its
//! running platform into one file; a second laptop, with the upstreams gone, loads it and
//! brings the platform up with nothing leaving the machine.

mod bundle_support;
mod cluster_support;
mod support;
mod up_support;

use bundle_support::{Connected, Options, connected};
use serde_json::Value;

fn json_lines(output: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(output)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

fn summary(output: &std::process::Output) -> Value {
    json_lines(&output.stdout)
        .into_iter()
        .find(|e| e["event"] == "summary")
        .unwrap_or_else(|| {
            panic!(
                "no summary: {}\n{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            )
        })
}

async fn created(c: &Connected) -> (std::path::PathBuf, Value) {
    let out = c.dir.path().join("out/kindling-bundle.tar");
    std::fs::create_dir_all(out.parent().unwrap()).unwrap();
    let output = c.create(&out).await;
    assert!(
        output.status.success(),
        "bundle create failed: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (out, summary(&output))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bundle_create_packs_every_image_the_pods_run_for_each_platform_with_shared_layers_once() {
    let Some(c) = connected(Options::default()).await else {
        return;
    };
    let (out, summary) = created(&c).await;
    let bundle = &summary["bundle"];
    // Nothing but the bundle in its folder: the temporary name was renamed.
    let names: Vec<String> = std::fs::read_dir(out.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["kindling-bundle.tar"]);

    let images: Vec<&str> = bundle["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    let d = &c.digests;
    for want in [
        format!("docker.io/library/app-a:1.0@{}", d["app-a"]),
        format!("quay.io/kindling-test/app-b:2.0@{}", d["app-b"]),
        format!("127.0.0.1:{}/demo-app@{}", c.local.port, d["demo"])
            .replace("127.0.0.1", "localhost"),
        format!("docker.io/kindest/node:v1.36.4@{}", d["node"]),
        format!("docker.io/{}", c.registry_image),
    ] {
        assert!(
            images.contains(&want.as_str()),
            "{want} missing from {images:?}"
        );
    }
    assert!(
        !images.iter().any(|i| i.contains("etcd")),
        "preloaded images stay with the node image"
    );
    assert_eq!(
        summary["preloaded"]["registry.k8s.io/etcd:3.6.0-0"],
        "kube-system/etcd"
    );
    for image in bundle["images"].as_array().unwrap() {
        let platforms: Vec<&str> = image["platforms"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_str().unwrap())
            .collect();
        assert_eq!(
            platforms,
            ["linux/amd64", "linux/arm64"],
            "{}",
            image["name"]
        );
        // Every upstream platform is inside, so every index is the upstream's, byte for byte.
        assert!(image.get("upstream_digest").is_none(), "{image}");
    }
    let charts: Vec<String> = bundle["charts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            format!(
                "{} {}",
                c["name"].as_str().unwrap(),
                c["version"].as_str().unwrap()
            )
        })
        .collect();
    for want in [
        "traefik 41.3.0",
        "cert-manager v1.21.1",
        "kube-prometheus-stack 88.5.3",
        "argo-rollouts 2.41.0",
    ] {
        assert!(
            charts.contains(&want.to_string()),
            "{want} missing from {charts:?}"
        );
    }
    let files: Vec<&str> = bundle["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        files,
        [
            "files/kind/v0.33.0/kind-linux-amd64",
            "files/kind/v0.33.0/kind-darwin-arm64",
            "files/argo-cd/v3.5.1/install.yaml"
        ]
    );
    // Content-addressed: the base layer app-a and app-b share is stored once, and the file is
    // its distinct blobs plus files and framing.
    let manifest = kindling::bundle::archive::read_manifest(&out)
        .await
        .unwrap();
    let mut paths: Vec<&str> = manifest.entries.iter().map(|e| e.path.as_str()).collect();
    let total = paths.len();
    paths.sort();
    paths.dedup();
    assert_eq!(paths.len(), total, "an entry appears twice");
    let file_bytes = bundle["file_bytes"].as_u64().unwrap();
    let unique = bundle["unique_blob_bytes"].as_u64().unwrap();
    let files_bytes: u64 = manifest
        .entries
        .iter()
        .filter(|e| e.path.starts_with("files/"))
        .map(|e| e.size)
        .sum();
    assert!(file_bytes > unique + files_bytes);
    assert!(
        file_bytes < (unique + files_bytes) * 105 / 100 + (total as u64 + 3) * 1024,
        "{file_bytes} vs {unique}"
    );

    // inspect reads the same from the file.
    let output = c
        .command(&[
            "--output",
            "json",
            "bundle",
            "inspect",
            out.to_str().unwrap(),
        ])
        .output()
        .await
        .unwrap();
    assert!(output.status.success());
    let inspected: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(inspected["images"], bundle["images"]);
    assert_eq!(inspected["pins"]["components.argocd"], "v3.5.1");
    assert_eq!(
        inspected["pins"]["cluster.node_image"],
        c.settings.config.cluster.node_image.as_str()
    );
}
