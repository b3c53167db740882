//! A connected "first laptop" for bundle tests, made of stand-ins: upstream registries (the
//! stand-in registry image, one container per upstream, holding multi-platform test images
//! written blob by blob over the registry API — this Docker has no buildx), chart repositories
//! and kind's download site (local HTTP servers serving ../shared/upstream's charts), and a
//! simulated platform (the fake API server) whose pods run those images. Include after
//! `mod support; mod cluster_support;`.
#![allow(dead_code)]

use crate::cluster_support::{self, Containers, docker, docker_ok};
use crate::support;
use axum::Router;
use axum::extract::{Path as UrlPath, State};
use axum::response::IntoResponse;
use fake_apiserver::FakeApiServer;
use kindling::docker::registry_api::RegistryApi;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const OCI_LAYER: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
pub const HELM_CONFIG: &str = "application/vnd.cncf.helm.config.v1+json";
pub const HELM_CONTENT: &str = "application/vnd.cncf.helm.chart.content.v1.tar+gzip";

/// The binary under test: KINDLING_TEST_BIN (the benchmark's release build), else this build's.
pub fn kindling_bin() -> PathBuf {
    std::env::var_os("KINDLING_TEST_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(support::kindling_bin)
}

pub fn digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// A gzip'd layer and its diff ID (the digest of the uncompressed tar).
#[derive(Debug, Clone)]
pub struct Layer {
    pub gz: Vec<u8>,
    pub diff_id: String,
}

impl Layer {
    pub fn from_tar(tar: Vec<u8>) -> Layer {
        use std::io::Write;
        let diff_id = digest(&tar);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&tar).unwrap();
        Layer {
            gz: gz.finish().unwrap(),
            diff_id,
        }
    }

    /// Files (path, content, mode) and symlinks (path, target).
    pub fn of(files: &[(&str, &[u8], u32)], links: &[(&str, &str)]) -> Layer {
        let mut builder = tar::Builder::new(Vec::new());
        for (path, content, mode) in files {
            let mut header = tar::Header::new_gnu();
            header.set_size(content.len() as u64);
            header.set_mode(*mode);
            header.set_mtime(0);
            builder.append_data(&mut header, path, *content).unwrap();
        }
        for (path, target) in links {
            let mut header = tar::Header::new_gnu();
            header.set_entry_type(tar::EntryType::Symlink);
            header.set_size(0);
            header.set_mode(0o777);
            header.set_mtime(0);
            builder.append_link(&mut header, path, target).unwrap();
        }
        Layer::from_tar(builder.into_inner().unwrap())
    }
}

/// One platform of a test image.
#[derive(Debug, Clone)]
pub struct PlatformImage {
    pub os: &'static str,
    pub arch: &'static str,
    pub layers: Vec<Layer>,
    /// The config as is (e.g. from `docker save`); else one is made from the layers.
    pub config: Option<Vec<u8>>,
    pub cmd: Vec<&'static str>,
}

impl PlatformImage {
    pub fn new(os: &'static str, arch: &'static str, layers: Vec<Layer>) -> PlatformImage {
        PlatformImage {
            os,
            arch,
            layers,
            config: None,
            cmd: vec!["/bin/sleep", "86400"],
        }
    }

    fn config_bytes(&self) -> Vec<u8> {
        self.config.clone().unwrap_or_else(|| {
            serde_json::to_vec(&json!({
                "architecture": self.arch, "os": self.os,
                "config": { "Cmd": self.cmd },
                "rootfs": { "type": "layers", "diff_ids": self.layers.iter().map(|l| l.diff_id.clone()).collect::<Vec<_>>() }
            }))
            .unwrap()
        })
    }
}

/// What was pushed: the index digest, each platform's manifest digest, and every blob.
#[derive(Debug, Clone, Default)]
pub struct Pushed {
    pub digest: String,
    pub manifests: BTreeMap<String, String>,
    pub blobs: Vec<(String, u64)>,
}

async fn put(api: &RegistryApi, repo: &str, bytes: &[u8], pushed: &mut Pushed) -> String {
    let d = digest(bytes);
    api.push_blob(repo, &d, bytes.to_vec()).await.unwrap();
    pushed.blobs.push((d.clone(), bytes.len() as u64));
    d
}

/// Pushes a multi-platform image (and, with `attest`, a buildx-style attestation manifest for
/// the first platform) as `repo:tag`.
pub async fn push_index(
    api: &RegistryApi,
    repo: &str,
    tag: &str,
    images: &[PlatformImage],
    attest: bool,
) -> Pushed {
    let mut pushed = Pushed::default();
    let mut entries = Vec::new();
    for image in images {
        let config = image.config_bytes();
        let config_digest = put(api, repo, &config, &mut pushed).await;
        let mut layers = Vec::new();
        for layer in &image.layers {
            let d = put(api, repo, &layer.gz, &mut pushed).await;
            layers.push(json!({ "mediaType": OCI_LAYER, "digest": d, "size": layer.gz.len() }));
        }
        let manifest = serde_json::to_vec(&json!({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": { "mediaType": OCI_CONFIG, "digest": config_digest, "size": config.len() },
            "layers": layers
        }))
        .unwrap();
        let d = api
            .put_manifest(repo, &digest(&manifest), OCI_MANIFEST, manifest.clone())
            .await
            .unwrap();
        pushed
            .manifests
            .insert(format!("{}/{}", image.os, image.arch), d.clone());
        entries.push(
            json!({ "mediaType": OCI_MANIFEST, "digest": d, "size": manifest.len(),
            "platform": { "os": image.os, "architecture": image.arch } }),
        );
    }
    if attest {
        let statement = br#"{"_type":"https://in-toto.io/Statement/v0.1","predicateType":"https://spdx.dev/Document"}"#;
        let layer = put(api, repo, statement, &mut pushed).await;
        let config = br#"{"architecture":"unknown","os":"unknown","config":{},"rootfs":{"type":"layers","diff_ids":[]}}"#;
        let config_digest = put(api, repo, config, &mut pushed).await;
        let manifest = serde_json::to_vec(&json!({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": { "mediaType": OCI_CONFIG, "digest": config_digest, "size": config.len() },
            "layers": [{ "mediaType": "application/vnd.in-toto+json", "digest": layer, "size": statement.len(),
                         "annotations": { "in-toto.io/predicate-type": "https://spdx.dev/Document" } }]
        }))
        .unwrap();
        let d = api
            .put_manifest(repo, &digest(&manifest), OCI_MANIFEST, manifest.clone())
            .await
            .unwrap();
        let first = entries[0]["digest"].clone();
        entries.push(json!({ "mediaType": OCI_MANIFEST, "digest": d, "size": manifest.len(),
            "platform": { "os": "unknown", "architecture": "unknown" },
            "annotations": { "vnd.docker.reference.type": "attestation-manifest", "vnd.docker.reference.digest": first } }));
    }
    let index = serde_json::to_vec(
        &json!({ "schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries }),
    )
    .unwrap();
    pushed.digest = api
        .put_manifest(repo, tag, OCI_INDEX, index.clone())
        .await
        .unwrap();
    assert_eq!(pushed.digest, digest(&index));
    pushed
}

/// A Helm chart as `helm push` stores it (with a creation timestamp, so its digest is not what
/// kindling would make: the bundle must keep the upstream's bytes).
pub async fn push_helm_chart(api: &RegistryApi, repo: &str, tag: &str, tgz: &[u8]) -> String {
    let mut pushed = Pushed::default();
    let config = br#"{"name":"cert-manager","version":"v1.21.1","apiVersion":"v2"}"#;
    let config_digest = put(api, repo, config, &mut pushed).await;
    let layer = put(api, repo, tgz, &mut pushed).await;
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": { "mediaType": HELM_CONFIG, "digest": config_digest, "size": config.len() },
        "layers": [{ "mediaType": HELM_CONTENT, "digest": layer, "size": tgz.len() }],
        "annotations": { "org.opencontainers.image.created": "2026-11-02T10:00:00Z" }
    }))
    .unwrap();
    api.put_manifest(repo, tag, OCI_MANIFEST, manifest)
        .await
        .unwrap()
}

/// A registry container on 127.0.0.1 (the stand-in image), removed on drop.
pub struct Registry {
    pub container: Containers,
    pub port: u16,
    pub api: RegistryApi,
}

impl Registry {
    pub async fn start(prefix: &str) -> Registry {
        let name = support::unique(prefix);
        let port = support::free_port();
        docker_ok(&[
            "run",
            "-d",
            "--name",
            &name,
            "-p",
            &format!("127.0.0.1:{port}:5000"),
            &support::registry_image(),
        ]);
        let api = RegistryApi::local(port);
        support::until_ok(
            &format!("{name} to answer"),
            std::time::Duration::from_secs(30),
            || api.ping(),
        )
        .await;
        Registry {
            container: Containers(vec![name]),
            port,
            api,
        }
    }

    pub fn name(&self) -> &str {
        &self.container.0[0]
    }

    pub fn host(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

/// Counts connections made to it: a proxy every outbound request would go through.
pub struct Recorder {
    pub port: u16,
    pub seen: Arc<AtomicUsize>,
    pub first_lines: Arc<std::sync::Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Recorder {
    pub async fn start() -> Recorder {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(AtomicUsize::new(0));
        let first_lines = Arc::new(std::sync::Mutex::new(Vec::new()));
        let (s, l) = (seen.clone(), first_lines.clone());
        let task = tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                s.fetch_add(1, Ordering::SeqCst);
                let mut buf = [0u8; 512];
                let n = tokio::io::AsyncReadExt::read(&mut stream, &mut buf)
                    .await
                    .unwrap_or(0);
                let text = String::from_utf8_lossy(&buf[..n]);
                l.lock()
                    .unwrap()
                    .push(text.lines().next().unwrap_or("").to_string());
                // Refuse, like a network that goes nowhere.
                let _ = tokio::io::AsyncWriteExt::write_all(
                    &mut stream,
                    b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n",
                )
                .await;
            }
        });
        Recorder {
            port,
            seen,
            first_lines,
            task,
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn count(&self) -> usize {
        self.seen.load(Ordering::SeqCst)
    }

    /// The proxy variables kindling and the tools it runs read (loopback stays direct).
    pub fn env(&self) -> Vec<(&'static str, String)> {
        let url = self.url();
        vec![
            ("HTTPS_PROXY", url.clone()),
            ("HTTP_PROXY", url.clone()),
            ("https_proxy", url.clone()),
            ("http_proxy", url),
            ("NO_PROXY", "127.0.0.1,localhost".into()),
            ("no_proxy", "127.0.0.1,localhost".into()),
        ]
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Serves files by URL path; records every path asked for.
pub struct Files {
    pub port: u16,
    pub asked: Arc<std::sync::Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Files {
    pub async fn start(files: BTreeMap<String, Vec<u8>>) -> Files {
        let asked = Arc::new(std::sync::Mutex::new(Vec::new()));
        let state = (Arc::new(files), asked.clone());
        type S = (
            Arc<BTreeMap<String, Vec<u8>>>,
            Arc<std::sync::Mutex<Vec<String>>>,
        );
        let app = Router::new()
            .route(
                "/{*path}",
                axum::routing::get(
                    |State((files, asked)): State<S>, UrlPath(path): UrlPath<String>| async move {
                        asked.lock().unwrap().push(path.clone());
                        match files.get(&path) {
                            Some(bytes) => bytes.clone().into_response(),
                            None => axum::http::StatusCode::NOT_FOUND.into_response(),
                        }
                    },
                ),
            )
            .with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Files { port, asked, task }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Files {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The chart repositories the platform Applications name, as index.yaml + .tgz (../shared charts).
pub fn chart_repositories(shared: &Path) -> BTreeMap<String, Vec<u8>> {
    let charts = shared.join("upstream/charts");
    let repos: [(&str, &[&str]); 4] = [
        ("traefik", &["traefik-41.3.0.tgz"]),
        (
            "prometheus-community",
            &["kube-prometheus-stack-88.5.3.tgz"],
        ),
        (
            "argo-helm",
            &["argo-rollouts-2.41.0.tgz", "argo-rollouts-2.41.1.tgz"],
        ),
        ("metrics-server", &["metrics-server-3.13.1.tgz"]),
    ];
    let mut files = BTreeMap::new();
    for (repo, packages) in repos {
        let mut entries: BTreeMap<String, Vec<Value>> = BTreeMap::new();
        for package in packages {
            let bytes = std::fs::read(charts.join(package)).unwrap();
            let (name, version) = package.trim_end_matches(".tgz").rsplit_once('-').unwrap();
            entries.entry(name.to_string()).or_default().push(json!({
                "apiVersion": "v2", "name": name, "version": version,
                "urls": [package], "digest": hex::encode(Sha256::digest(&bytes))
            }));
            files.insert(format!("{repo}/{package}"), bytes);
        }
        let index = json!({ "apiVersion": "v1", "entries": entries });
        files.insert(
            format!("{repo}/index.yaml"),
            serde_json::to_vec(&index).unwrap(),
        );
    }
    files
}

/// kindling's release assets for these hosts in `dir`, named and summed as
/// .github/workflows/release.yml publishes them (stand-in contents).
pub fn kindling_releases(dir: &Path, hosts: &[&str]) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    for host in hosts {
        let file = format!("kindling-{}", host.replace('/', "-"));
        let body = format!(
            "#!/bin/sh\necho kindling {} {host}\n",
            env!("CARGO_PKG_VERSION")
        );
        let sum = format!("{}  {file}\n", hex::encode(Sha256::digest(body.as_bytes())));
        std::fs::write(dir.join(&file), body).unwrap();
        std::fs::write(dir.join(format!("{file}.sha256")), sum).unwrap();
    }
    dir.to_path_buf()
}

/// The kind release files for these hosts (stand-in contents) and their .sha256sum.
pub fn kind_releases(version: &str, hosts: &[&str]) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    for host in hosts {
        let file = format!("kind-{}", host.replace('/', "-"));
        let bytes = format!(
            "#!/bin/sh\n# stand-in for kind {version} {host}\necho kind {version} go1.25 {host}\n"
        )
        .into_bytes();
        let sum = format!("{}  {file}\n", hex::encode(Sha256::digest(&bytes)));
        files.insert(format!("{version}/{file}.sha256sum"), sum.into_bytes());
        files.insert(format!("{version}/{file}"), bytes);
    }
    files
}

/// A runnable stand-in kind node layer: Debian's static busybox and the applets the tests use.
pub fn busybox_layer() -> Option<Layer> {
    let busybox = std::fs::read("/bin/busybox").ok()?;
    let links: Vec<(String, &str)> = [
        "sh",
        "sleep",
        "mkdir",
        "cp",
        "cat",
        "wget",
        "sha256sum",
        "sed",
        "head",
        "grep",
        "tr",
    ]
    .iter()
    .map(|a| (format!("bin/{a}"), "busybox"))
    .collect();
    let links: Vec<(&str, &str)> = links.iter().map(|(p, t)| (p.as_str(), *t)).collect();
    Some(Layer::of(&[("bin/busybox", &busybox, 0o755)], &links))
}

/// The stand-in registry image as `docker save` has it: (config bytes, layers).
pub fn registry_image_parts() -> (Vec<u8>, Vec<Layer>) {
    let dir = tempfile::tempdir().unwrap();
    let tar = dir.path().join("image.tar");
    docker_ok(&[
        "save",
        "-o",
        tar.to_str().unwrap(),
        &support::registry_image(),
    ]);
    let mut archive = tar::Archive::new(std::fs::File::open(&tar).unwrap());
    archive.unpack(dir.path()).unwrap();
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("manifest.json")).unwrap()).unwrap();
    let config = std::fs::read(dir.path().join(manifest[0]["Config"].as_str().unwrap())).unwrap();
    let layers = manifest[0]["Layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| Layer::from_tar(std::fs::read(dir.path().join(l.as_str().unwrap())).unwrap()))
        .collect();
    (config, layers)
}

/// Pseudo-random text over 16 letters: compresses about as well as image layers do (real
/// layers shrink to a half or a third), so gzip and `docker load` do realistic work.
pub fn text_noise(seed: u64, len: usize) -> Vec<u8> {
    noise(seed, len)
        .into_iter()
        .map(|b| b'a' + (b & 0x0f))
        .collect()
}

/// Pseudo-random bytes (a fixed seed: the same test data every run).
pub fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// What the connected laptop is: upstreams, the platform that runs their images, its registry.
pub struct Connected {
    pub dir: tempfile::TempDir,
    pub settings: kindling::config::Settings,
    pub docker_io: Registry,
    pub quay_io: Registry,
    pub charts: Files,
    pub kind: Files,
    pub api: FakeApiServer,
    pub local: Registry,
    /// Upstream digests of the test images, by name.
    pub digests: BTreeMap<String, String>,
    pub blobs: BTreeMap<String, u64>,
    pub shared: PathBuf,
    /// The registry image's tag, unique to this test (so a load must put it into Docker).
    pub registry_image: String,
    _untag: Untag,
}

/// Removes image references from Docker on drop (tags only: the image stays for other tags).
pub struct Untag(pub std::sync::Mutex<Vec<String>>);

impl Drop for Untag {
    fn drop(&mut self) {
        for r in self.0.lock().unwrap().iter() {
            let _ = docker(&["rmi", r]);
        }
    }
}

pub struct Options {
    /// Platforms the demo image exists for in the local registry.
    pub demo_platforms: &'static [&'static str],
    /// Extra bytes of noise per image layer (the benchmark makes them big).
    pub layer_bytes: usize,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            demo_platforms: &["linux/amd64", "linux/arm64"],
            layer_bytes: 64 << 10,
        }
    }
}

pub const KIND_VERSION: &str = "v0.33.0";

pub async fn connected(options: Options) -> Option<Connected> {
    let shared = support::shared_dir()?;
    support::docker_available()?;
    let busybox = match busybox_layer() {
        Some(l) => l,
        None => return support::skip("no /bin/busybox (apt-get install busybox-static)"),
    };
    let docker_io = Registry::start("up-dockerio").await;
    let quay_io = Registry::start("up-quayio").await;
    let local = Registry::start("laptop-registry").await;
    let mut digests = BTreeMap::new();
    let mut blobs = BTreeMap::new();
    let mut record = |name: &str, pushed: &Pushed| {
        digests.insert(name.to_string(), pushed.digest.clone());
        for (platform, d) in &pushed.manifests {
            digests.insert(format!("{name}@{platform}"), d.clone());
        }
        for (d, s) in &pushed.blobs {
            blobs.insert(d.clone(), *s);
        }
    };
    // The node image: a runnable busybox stand-in for amd64 (this machine), a dummy for arm64.
    let node = push_index(
        &docker_io.api,
        "kindest/node",
        "v1.36.4",
        &[
            PlatformImage::new("linux", "amd64", vec![busybox.clone()]),
            PlatformImage::new(
                "linux",
                "arm64",
                vec![Layer::of(&[("bin/busybox", &noise(1, 4096), 0o755)], &[])],
            ),
        ],
        false,
    )
    .await;
    record("node", &node);
    // The registry image under a tag of this test's own.
    let registry_image = format!("kindling-test/registry-bundle-{}:2.8", std::process::id());
    let (config, layers) = registry_image_parts();
    let (repo, tag) = registry_image.split_once(':').unwrap();
    let reg = push_index(
        &docker_io.api,
        repo,
        tag,
        &[
            PlatformImage {
                config: Some(config),
                ..PlatformImage::new("linux", "amd64", layers)
            },
            PlatformImage::new(
                "linux",
                "arm64",
                vec![Layer::of(&[("bin/registry", &noise(2, 4096), 0o755)], &[])],
            ),
        ],
        false,
    )
    .await;
    record("registry", &reg);
    // Two platform images sharing a base layer (stored once in the bundle).
    let base = Layer::of(
        &[("etc/base", &text_noise(3, options.layer_bytes), 0o644)],
        &[],
    );
    let app = |seed: u64, arch: &'static str| {
        let own = Layer::of(
            &[("app/bin", &text_noise(seed, options.layer_bytes), 0o755)],
            &[],
        );
        PlatformImage::new("linux", arch, vec![base.clone(), own])
    };
    let a = push_index(
        &docker_io.api,
        "library/app-a",
        "1.0",
        &[app(10, "amd64"), app(11, "arm64")],
        false,
    )
    .await;
    record("app-a", &a);
    let b = push_index(
        &quay_io.api,
        "kindling-test/app-b",
        "2.0",
        &[app(20, "amd64"), app(21, "arm64")],
        true,
    )
    .await;
    record("app-b", &b);
    // A Helm hook's image: its Job's pod is gone, only the kubelet's Pulling event names it.
    let hook = push_index(
        &quay_io.api,
        "kindling-test/hook",
        "1.0",
        &[app(30, "amd64"), app(31, "arm64")],
        false,
    )
    .await;
    record("hook", &hook);
    let cert_manager =
        std::fs::read(shared.join("upstream/charts/cert-manager-v1.21.1.tgz")).unwrap();
    let chart = push_helm_chart(
        &quay_io.api,
        "jetstack/charts/cert-manager",
        "v1.21.1",
        &cert_manager,
    )
    .await;
    record(
        "cert-manager-chart",
        &Pushed {
            digest: chart,
            ..Pushed::default()
        },
    );
    // The demo app in the laptop's local registry.
    let demo_bin = b"#!/bin/false\n# stand-in demo-app binary from the bundle\n".to_vec();
    let demo_images: Vec<PlatformImage> = options
        .demo_platforms
        .iter()
        .map(|p| {
            let (os, arch) = p.split_once('/').unwrap();
            let os: &'static str = if os == "linux" { "linux" } else { "darwin" };
            let arch: &'static str = if arch == "amd64" { "amd64" } else { "arm64" };
            PlatformImage::new(
                os,
                arch,
                vec![Layer::of(&[("demo-app", &demo_bin, 0o755)], &[])],
            )
        })
        .collect();
    let demo = push_index(&local.api, "demo-app", "v1.0.0", &demo_images, false).await;
    record("demo", &demo);

    let charts = Files::start(chart_repositories(&shared)).await;
    let kind = Files::start(kind_releases(
        KIND_VERSION,
        &["linux/amd64", "darwin/arm64"],
    ))
    .await;

    let dir = tempfile::tempdir().unwrap();
    let mut settings = cluster_support::settings(dir.path());
    let name = support::unique("kbundle");
    let config = &mut settings.config;
    config.cluster.name = name.clone();
    config.cluster.node_image = format!("kindest/node:v1.36.4@{}", node.digest);
    config.registry.name = local.name().to_string();
    config.registry.host_port = local.port;
    config.registry.image = registry_image.clone();
    config.registry.mirrors = Vec::new();
    // The cache holds Argo CD's install.yaml as after an `up` (fetched once, sha256-pinned).
    let install = settings.cache_dir.join("argo-cd/v3.5.1/install.yaml");
    std::fs::create_dir_all(install.parent().unwrap()).unwrap();
    std::fs::copy(
        shared.join("upstream/argo-cd/v3.5.1/install.yaml"),
        &install,
    )
    .unwrap();

    // The running platform: pods whose specs and statuses name the images.
    let api = FakeApiServer::start().await;
    for ns in ["argocd", "apps", "staging", "monitoring"] {
        api.create_namespace(ns);
    }
    let pod = |ns: &str, name: &str, image: &str, image_id: &str| {
        api.apply(json!({ "apiVersion": "v1", "kind": "Pod", "metadata": { "name": name, "namespace": ns },
            "spec": { "containers": [{ "name": "main", "image": image }] } }))
            .unwrap();
        api.set_status("v1", "Pod", Some(ns), name, json!({ "phase": "Running",
            "containerStatuses": [{ "name": "main", "image": image, "imageID": image_id, "ready": true, "restartCount": 0 }] }))
            .unwrap();
    };
    pod(
        "apps",
        "app-a",
        "app-a:1.0",
        &format!("docker.io/library/app-a@{}", a.digest),
    );
    pod(
        "argocd",
        "app-b",
        "quay.io/kindling-test/app-b:2.0",
        &format!("quay.io/kindling-test/app-b@{}", b.digest),
    );
    pod(
        "staging",
        "demo",
        &format!("localhost:{}/demo-app@{}", local.port, demo.digest),
        &format!("localhost:{}/demo-app@{}", local.port, demo.digest),
    );
    pod(
        "kube-system",
        "etcd",
        "registry.k8s.io/etcd:3.6.0-0",
        &format!("sha256:{}", "e".repeat(64)),
    );
    api.add_event(
        "monitoring",
        "Pod",
        "admission-create-x7k2p",
        "Normal",
        "Pulling",
        "Pulling image \"quay.io/kindling-test/hook:1.0\"",
    )
    .unwrap();
    std::fs::create_dir_all(&settings.data_dir).unwrap();
    std::fs::write(
        settings.data_dir.join(format!("kubeconfig-{name}")),
        api.kubeconfig_with_context(&format!("kind-{name}")),
    )
    .unwrap();
    let untag = Untag(std::sync::Mutex::new(vec![registry_image.clone()]));
    Some(Connected {
        dir,
        settings,
        docker_io,
        quay_io,
        charts,
        kind,
        api,
        local,
        digests,
        blobs,
        shared,
        registry_image,
        _untag: untag,
    })
}

impl Connected {
    /// The overrides that send the upstreams to the stand-ins.
    pub fn upstreams(&self) -> String {
        let c = self.charts.url();
        format!(
            "docker.io={},quay.io={},https://traefik.github.io/charts={c}/traefik,\
             https://prometheus-community.github.io/helm-charts={c}/prometheus-community,\
             https://argoproj.github.io/argo-helm={c}/argo-helm,\
             https://kubernetes-sigs.github.io/metrics-server={c}/metrics-server",
            self.docker_io.host(),
            self.quay_io.host()
        )
    }

    /// `kindling` run as on the connected laptop: its configuration and directories, the
    /// stand-in upstreams.
    pub fn command(&self, args: &[&str]) -> tokio::process::Command {
        let config = self.dir.path().join("bootstrap.toml");
        std::fs::write(&config, toml::to_string(&self.settings.config).unwrap()).unwrap();
        let mut command = tokio::process::Command::new(kindling_bin());
        for (key, _) in std::env::vars().filter(|(k, _)| k.starts_with("KINDLING_")) {
            command.env_remove(key);
        }
        command
            .arg("--config")
            .arg(&config)
            .args(args)
            .env("KINDLING_DATA_DIR", &self.settings.data_dir)
            .env("KINDLING_CACHE_DIR", &self.settings.cache_dir)
            .env("KINDLING_BUNDLE_UPSTREAMS", self.upstreams())
            .env("KINDLING_KIND_DOWNLOAD_URL", self.kind.url())
            .env("NO_COLOR", "1")
            .kill_on_drop(true);
        command
    }

    /// `bundle create` for linux/amd64 + linux/arm64, and kind and kindling (stand-in release
    /// assets, see `kindling_releases`) for linux/amd64 + darwin/arm64.
    pub async fn create(&self, out: &Path) -> std::process::Output {
        let releases = kindling_releases(
            &self.dir.path().join("releases"),
            &["linux/amd64", "darwin/arm64"],
        );
        self.create_for(
            out,
            "linux/amd64,linux/arm64",
            &[
                "--host",
                "linux/amd64,darwin/arm64",
                "--release-dir",
                releases.to_str().unwrap(),
            ],
        )
        .await
    }

    /// `--output json bundle create --out OUT --platform PLATFORMS MORE…`.
    pub async fn create_for(
        &self,
        out: &Path,
        platforms: &str,
        more: &[&str],
    ) -> std::process::Output {
        let out = out.to_str().unwrap();
        let args = [
            "--output",
            "json",
            "bundle",
            "create",
            "--out",
            out,
            "--platform",
            platforms,
        ];
        self.command(&[&args[..], more].concat())
            .output()
            .await
            .unwrap()
    }

    /// Stops the upstreams: from now on nothing can be fetched from them.
    pub fn upstreams_gone(&self) {
        for r in [&self.docker_io, &self.quay_io] {
            let _ = docker(&["rm", "-f", "-v", r.name()]);
        }
        self.charts.task.abort();
        self.kind.task.abort();
    }
}

/// The manifest digests the local registry serves, by `repo:tag` (every repository, every tag).
pub async fn registry_state(port: u16) -> BTreeMap<String, String> {
    let http = reqwest::Client::new();
    let catalog: Value = http
        .get(format!("http://127.0.0.1:{port}/v2/_catalog?n=1000"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let api = RegistryApi::local(port);
    let mut state = BTreeMap::new();
    for repo in catalog["repositories"].as_array().unwrap() {
        let repo = repo.as_str().unwrap();
        let tags: Value = http
            .get(format!("http://127.0.0.1:{port}/v2/{repo}/tags/list"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        for tag in tags["tags"].as_array().into_iter().flatten() {
            let tag = tag.as_str().unwrap();
            let d = api.manifest_digest(repo, tag).await.unwrap().unwrap();
            state.insert(format!("{repo}:{tag}"), d);
        }
    }
    state
}

/// A Docker network removed on drop (after the containers on it: declare it first).
pub struct Network(pub String);

impl Network {
    /// `docker network create --internal`: containers on it have no route off the machine.
    pub fn internal(prefix: &str) -> Network {
        let name = support::unique(prefix);
        docker_ok(&["network", "create", "--internal", &name]);
        Network(name)
    }
}

impl Drop for Network {
    fn drop(&mut self) {
        let _ = docker(&["network", "rm", &self.0]);
    }
}

/// The second laptop: up_support's stand-ins (fake API server with simulated Argo CD, stand-in
/// ingress), configured like the first, its kind node on an internal network and started from
/// whatever node image kind is given (so it runs the image the bundle put into Docker).
pub async fn offline_laptop(c: &Connected, network: &Network) -> Option<crate::up_support::Setup> {
    let mut b = crate::up_support::setup("60s").await?;
    let config = &mut b.settings.config;
    config.cluster.node_image = c.settings.config.cluster.node_image.clone();
    config.registry.image = c.registry_image.clone();
    // No binary configured: `up` builds the demo image from the bundle's.
    config.demo.binary = String::new();
    let real = cluster_support::real_kind()?;
    let d = b.dir.path().display();
    cluster_support::script(
        &b.dir.path().join("bin/kind"),
        &format!(
            r#"#!/bin/sh
if [ "$1" = create ] && [ "$2" = cluster ]; then
  name="$4"
  cat > "{d}/received-config.yaml"
  image=$(sed -n 's/^ *image: *//p' "{d}/received-config.yaml" | head -n 1)
  docker run -d --name "$name-control-plane" --hostname "$name-control-plane" \
    --label io.x-k8s.kind.cluster="$name" --label io.x-k8s.kind.role=control-plane \
    --network {net} "$image" >/dev/null || exit 1
  exit 0
fi
if [ "$1" = get ] && [ "$2" = kubeconfig ]; then cat "{d}/fake-kubeconfig"; exit 0; fi
exec "{real}" "$@"
"#,
            net = network.0,
            real = real.display()
        ),
    );
    Some(b)
}

/// Runs the binary with `--output json`, starting the stand-in ingress when demo-apps starts;
/// returns the exit code and everything it printed.
pub async fn run_up(
    b: &crate::up_support::Setup,
    args: &[&str],
    env: &[(&str, String)],
) -> (Option<i32>, String) {
    let mut all = vec!["--output", "json"];
    all.extend_from_slice(args);
    let mut command = tokio::process::Command::from(b.command(&all));
    for (k, v) in env {
        command.env(k, v);
    }
    let ran = crate::up_support::run_streaming(command, |event, _| {
        if event["event"] == "step_started"
            && event["step"] == "demo-apps"
            && kindling::tls::ca_dir(&b.settings).join("ca.crt").exists()
        {
            b.ingress.start();
        }
    })
    .await;
    b.ingress.stop().await;
    ran
}

/// Seconds since the epoch (for `docker events --since/--until`).
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The images Docker pulls while it is open, from a live `docker events` stream. (Asking the
/// engine afterwards with `--since` is not enough: it keeps only its last 256 events, which the
/// other tests' containers push out under load.) Start and end are fixed by marker events the
/// stream must show, so nothing between them is missed and the order is by construction.
pub struct PullWatch {
    child: std::process::Child,
    lines: std::sync::mpsc::Receiver<String>,
}

impl PullWatch {
    pub fn start() -> PullWatch {
        use std::io::BufRead;
        let mut child = std::process::Command::new("docker")
            .args([
                "events",
                "--filter",
                "type=image",
                "--format",
                "{{.Action}} {{.Actor.ID}} {{.Actor.Attributes.name}}",
            ])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (send, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        let watch = PullWatch { child, lines };
        watch.mark(&mut Vec::new());
        watch
    }

    /// Tags a fresh marker (untagged again after) and reads the stream, collecting pulls, until
    /// it shows that tag. The stream subscribes a moment after `docker events` starts and says
    /// nothing when it has: a marker it has not shown within 2 s is replaced by a new one.
    fn mark(&self, pulls: &mut Vec<String>) {
        use std::sync::atomic::{AtomicU32, Ordering};
        use std::sync::mpsc::RecvTimeoutError;
        use std::time::{Duration, Instant};
        static MARKS: AtomicU32 = AtomicU32::new(0);
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            let marker = format!(
                "kindling-test/pull-watch-{}:{}",
                std::process::id(),
                MARKS.fetch_add(1, Ordering::SeqCst)
            );
            docker_ok(&["tag", &support::registry_image(), &marker]);
            let _untag = Untag(std::sync::Mutex::new(vec![marker.clone()]));
            let retag = Instant::now() + Duration::from_secs(2);
            loop {
                let left = retag.saturating_duration_since(Instant::now());
                let line = match self.lines.recv_timeout(left) {
                    Ok(line) => line,
                    Err(RecvTimeoutError::Timeout) => break,
                    Err(RecvTimeoutError::Disconnected) => panic!("docker events ended"),
                };
                let mut fields = line.split_whitespace();
                match (fields.next(), fields.next()) {
                    (Some("pull"), Some(image)) => pulls.push(image.to_string()),
                    (Some("tag"), _) if line.ends_with(&marker) => return,
                    _ => {}
                }
            }
        }
        panic!("docker events showed none of its marker tags within 60 s");
    }

    /// Every image pulled since `start`.
    pub fn finish(self) -> Vec<String> {
        let mut pulls = Vec::new();
        self.mark(&mut pulls);
        pulls
    }
}

impl Drop for PullWatch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What containerd in the node would fetch for `repository:reference` of `upstream`, per the
/// hosts.toml kindling wrote there: the root `server` (no [host] entries with a bundle), its path
/// the API root because of `override_path` — fetched from inside the node, on its internal
/// network; returns the sha256 of what came back, or the fetch's error.
pub fn fetch_in_node(
    node: &str,
    network: &str,
    upstream: &str,
    repository: &str,
    reference: &str,
) -> Result<String, String> {
    let text = docker_ok(&[
        "exec",
        node,
        "cat",
        &format!("/etc/containerd/certs.d/{upstream}/hosts.toml"),
    ]);
    let table: toml::Table = toml::from_str(&text).unwrap();
    assert!(
        table.get("host").is_none(),
        "no mirror hosts besides the server: {text}"
    );
    assert_eq!(table["override_path"].as_bool(), Some(true), "{text}");
    let server = table["server"].as_str().unwrap().trim_end_matches('/');
    // The stand-in node's static busybox cannot resolve names (glibc's NSS is not in the
    // image): resolve the registry's name on the node's network as Docker's DNS does.
    let (scheme, rest) = server.split_once("://").unwrap();
    let (authority, path) = rest.split_once('/').unwrap();
    let (host, port) = authority.split_once(':').unwrap();
    let format = format!("{{{{(index .NetworkSettings.Networks \"{network}\").IPAddress}}}}");
    let ip = docker_ok(&["inspect", "-f", &format, host]);
    let url = format!(
        "{scheme}://{}:{port}/{path}/{repository}/manifests/{reference}",
        ip.trim()
    );
    let accept = "Accept: application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, \
                  application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json";
    let out = docker(&[
        "exec",
        node,
        "sh",
        "-c",
        &format!(
            "set -o pipefail; busybox timeout 10 wget -q -O - --header '{accept}' '{url}' | sha256sum"
        ),
    ]);
    if out.status.success() {
        let sum = String::from_utf8_lossy(&out.stdout);
        Ok(format!("sha256:{}", sum.split_whitespace().next().unwrap()))
    } else {
        Err(format!(
            "{url}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// `helm pull oci://<ref> --version <v> --plain-http` with real Helm v4 (helm-python-sdk, the
/// library Argo CD's repo-server runs as a CLI); returns the pulled .tgz.
pub fn helm_pull(python: &Path, reference: &str, version: &str) -> Result<Vec<u8>, String> {
    let dir = tempfile::tempdir().unwrap();
    let script = format!(
        "import helm_python, sys\nhelm_python.pull({reference:?}, version={version:?}, plain_http=True, destination={dest:?})\n",
        dest = dir.path().display().to_string()
    );
    let out = std::process::Command::new(python)
        .arg("-c")
        .arg(&script)
        .output()
        .unwrap();
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    let file = std::fs::read_dir(dir.path())
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    Ok(std::fs::read(file).unwrap())
}

/// Real Helm for tests (KINDLING_HELM_PYTHON, set by scripts/test.sh).
pub fn helm_python() -> Option<PathBuf> {
    match std::env::var_os("KINDLING_HELM_PYTHON").map(PathBuf::from) {
        Some(p) if p.is_file() => Some(p),
        _ => support::skip(
            "KINDLING_HELM_PYTHON not set (scripts/test.sh installs real Helm from PyPI)",
        ),
    }
}

/// A laptop that only loads bundles: its own data and cache dirs and registry, the connected
/// laptop's pins. Its registry container, volume and the node image pulled into Docker go
/// when it is dropped.
pub struct Loader {
    pub dir: tempfile::TempDir,
    pub settings: kindling::config::Settings,
    _containers: Containers,
    _volumes: cluster_support::ClusterVolumes,
    _untag: Untag,
}

impl Loader {
    pub fn new(c: &Connected) -> Loader {
        let dir = tempfile::tempdir().unwrap();
        let mut settings = cluster_support::settings(dir.path());
        let config = &mut settings.config;
        config.cluster.name = support::unique("kload");
        config.cluster.node_image = c.settings.config.cluster.node_image.clone();
        config.registry.image = c.registry_image.clone();
        config.registry.name = format!("{}-registry", config.cluster.name);
        config.registry.host_port = support::free_port();
        config.registry.mirrors = Vec::new();
        let node = format!(
            "localhost:{}/docker.io/kindest/node@{}",
            config.registry.host_port, c.digests["node"]
        );
        Loader {
            _containers: Containers(vec![config.registry.name.clone()]),
            _volumes: cluster_support::ClusterVolumes(config.cluster.name.clone()),
            _untag: Untag(std::sync::Mutex::new(vec![node])),
            dir,
            settings,
        }
    }

    pub fn command(&self, args: &[&str]) -> tokio::process::Command {
        let config = self.dir.path().join("bootstrap.toml");
        std::fs::write(&config, toml::to_string(&self.settings.config).unwrap()).unwrap();
        let mut command = tokio::process::Command::new(kindling_bin());
        for (key, _) in std::env::vars().filter(|(k, _)| k.starts_with("KINDLING_")) {
            command.env_remove(key);
        }
        command
            .arg("--config")
            .arg(&config)
            .args(args)
            .env("KINDLING_DATA_DIR", &self.settings.data_dir)
            .env("KINDLING_CACHE_DIR", &self.settings.cache_dir)
            .env("NO_COLOR", "1")
            .kill_on_drop(true);
        command
    }

    pub fn port(&self) -> u16 {
        self.settings.config.registry.host_port
    }

    pub fn registry(&self) -> &str {
        &self.settings.config.registry.name
    }

    /// Files a load left under a temporary name.
    pub fn partial_files(&self) -> Vec<PathBuf> {
        fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
            for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path, out);
                } else if path
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().contains(".partial"))
                {
                    out.push(path);
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.settings.cache_dir, &mut out);
        out
    }
}
