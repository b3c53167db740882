//! Shared helpers for kindling's integration tests. Include with `mod support;`.
#![allow(dead_code)]

pub mod crds;
pub mod environments;
pub mod https_stand_in;
pub mod render;

use std::net::{Ipv4Addr, TcpListener};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

/// True under CI=true, where missing prerequisites fail instead of skipping.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// Skips the calling test (returns None) with a reason, or panics under CI=true.
pub fn skip<T>(reason: &str) -> Option<T> {
    if in_ci() {
        panic!("required under CI=true: {reason}");
    }
    eprintln!("skipped: {reason}");
    None
}

/// The workspace root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// ../shared (or KINDLING_SHARED_DIR): upstream data and test tools.
pub fn shared_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("KINDLING_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("../shared"));
    if dir.join("upstream").is_dir() {
        Some(dir)
    } else {
        skip(&format!(
            "{} not found (set KINDLING_SHARED_DIR)",
            dir.display()
        ))
    }
}

/// A file under ../shared/upstream, e.g. "argo-cd/v3.5.1/install.yaml".
pub fn upstream(path: &str) -> Option<PathBuf> {
    Some(shared_dir()?.join("upstream").join(path))
}

/// Whether a Docker engine answers (scripts/test.sh starts one); None = skip.
pub fn docker_available() -> Option<()> {
    if std::env::var_os("KINDLING_TEST_NO_DOCKER").is_some() {
        return skip("no Docker engine (KINDLING_TEST_NO_DOCKER set by scripts/test.sh)");
    }
    let ok = std::process::Command::new("docker")
        .args(["version", "--format", "{{.Server.Version}}"])
        .output()
        .is_ok_and(|o| o.status.success());
    if ok {
        Some(())
    } else {
        skip("no Docker engine answers (run scripts/test.sh, which starts one)")
    }
}

/// The stand-in registry image built by scripts/test.sh (distribution 2.8 from Debian).
pub fn registry_image() -> String {
    std::env::var("KINDLING_TEST_REGISTRY_IMAGE")
        .unwrap_or_else(|_| "kindling-test/registry:2.8".into())
}

/// A name unique to this test process and call, for containers, volumes, clusters.
pub fn unique(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// A TCP port free on 127.0.0.1 right now.
pub fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A copy of `kubeconfig` (in `dir`) whose current context (and its cluster and user, when
/// they share its name) is renamed `kind-<cluster>`: what kindling acts on for a kind cluster.
pub fn with_kind_context(
    kubeconfig: &std::path::Path,
    dir: &std::path::Path,
    cluster: &str,
) -> PathBuf {
    let text = std::fs::read_to_string(kubeconfig).unwrap();
    let current = text
        .lines()
        .find_map(|l| l.strip_prefix("current-context:"))
        .map(|c| c.trim().trim_matches('"').to_string())
        .expect("a current-context");
    let copy = dir.join(format!("kubeconfig-as-kind-{cluster}"));
    std::fs::write(&copy, text.replace(&current, &format!("kind-{cluster}"))).unwrap();
    copy
}

/// The built kindling binary (for CLI tests).
pub fn kindling_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_kindling"))
}

/// A tool from Debian unstable fetched by scripts/lib/prepare.sh (KINDLING_TEST_KIND, ...).
pub fn sid_tool(var: &str) -> Option<PathBuf> {
    match std::env::var_os(var).map(PathBuf::from) {
        Some(p) if p.is_file() => Some(p),
        _ => skip(&format!(
            "{var} not set (scripts/test.sh fetches it from Debian unstable)"
        )),
    }
}

/// The crd-apiserver build (KINDLING_CRD_APISERVER, set by scripts/test.sh).
pub fn crd_apiserver_build() -> Option<PathBuf> {
    match std::env::var_os("KINDLING_CRD_APISERVER").map(PathBuf::from) {
        Some(p) if p.join("bin/crd-apiserver").is_file() => Some(p),
        _ => skip("KINDLING_CRD_APISERVER not set or not built (scripts/test.sh builds it)"),
    }
}

/// A running real apiextensions-apiserver + etcd (../shared/tools/crd-apiserver), stopped on drop.
pub struct CrdApiserver {
    pub dir: tempfile::TempDir,
    pub port: u16,
}

impl CrdApiserver {
    /// Starts one on a free port; None (skip) when the tool is not built.
    pub fn start() -> Option<CrdApiserver> {
        let build = crd_apiserver_build()?;
        let run = shared_dir()?.join("tools/crd-apiserver/run.sh");
        let dir = tempfile::tempdir().unwrap();
        // run.sh also uses PORT+10000 and PORT+10001 for etcd.
        for _ in 0..50 {
            let port = 20000 + (rand_u16() % 20000);
            let free = [port, port + 10000, port + 10001]
                .iter()
                .all(|p| TcpListener::bind((Ipv4Addr::LOCALHOST, *p)).is_ok());
            if !free {
                continue;
            }
            let status = std::process::Command::new("sh")
                .arg(&run)
                .arg(&build)
                .arg(dir.path())
                .arg(port.to_string())
                .status()
                .unwrap();
            if status.success() {
                return Some(CrdApiserver { dir, port });
            }
            let log =
                std::fs::read_to_string(dir.path().join("crd-apiserver.log")).unwrap_or_default();
            kill_pids(dir.path());
            eprintln!(
                "crd-apiserver did not start on {port}, retrying: {}",
                log.lines().last().unwrap_or("")
            );
        }
        panic!("crd-apiserver did not start");
    }

    pub fn kubeconfig(&self) -> PathBuf {
        self.dir.path().join("kubeconfig")
    }

    /// A kube client for it.
    pub async fn client(&self) -> kube::Client {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let kubeconfig = kube::config::Kubeconfig::read_from(self.kubeconfig()).unwrap();
        let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
            .await
            .unwrap();
        kube::Client::try_from(config).unwrap()
    }
}

fn kill_pids(dir: &std::path::Path) {
    for pid_file in ["crd-apiserver.pid", "etcd.pid"] {
        if let Ok(pid) = std::fs::read_to_string(dir.join(pid_file)) {
            let _ = std::process::Command::new("kill").arg(pid.trim()).status();
        }
    }
}

impl Drop for CrdApiserver {
    fn drop(&mut self) {
        kill_pids(self.dir.path());
    }
}

fn rand_u16() -> u16 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    ((nanos ^ std::process::id().wrapping_mul(2654435761)) % 65536) as u16
}

/// `kustomize build DIR` with the real kustomize; panics with kustomize's message on failure.
pub fn kustomize_build(kustomize: &std::path::Path, dir: &std::path::Path) -> String {
    let out = std::process::Command::new(kustomize)
        .arg("build")
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "kustomize build {}: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The rendered output of one overlay of manifests/demo-app (dev, staging, production).
pub fn render_overlay(kustomize: &std::path::Path, env: &str) -> String {
    kustomize_build(
        kustomize,
        &root().join("manifests/demo-app/overlays").join(env),
    )
}

/// A kube client for `kubeconfig` whose every request goes into the returned log, so a test
/// can act after kindling's own request (e.g. its watch) by construction, not after a sleep.
pub async fn recording_client(
    kubeconfig: &std::path::Path,
) -> (kube::Client, fake_apiserver::RequestLog) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let kubeconfig = kube::config::Kubeconfig::read_from(kubeconfig).unwrap();
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
        .await
        .unwrap();
    let log = fake_apiserver::RequestLog::default();
    let record = log.clone();
    let layer = tower::util::MapRequestLayer::new(move |request: http::Request<_>| {
        record.record(format!("{} {}", request.method(), request.uri()));
        request
    });
    let client = kube::client::ClientBuilder::try_from(config)
        .unwrap()
        .with_layer(&layer)
        .build();
    (client, log)
}

/// The kindling binary, as an assert_cmd command (for CLI tests).
pub fn kindling() -> assert_cmd::Command {
    assert_cmd::Command::new(kindling_bin())
}

/// Checks `ready` every 20 ms until it holds; panics after `within`, naming `what`. For what
/// nothing announces as an event (a count reached, a port that stops accepting).
pub async fn until(what: &str, within: std::time::Duration, mut ready: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + within;
    while !ready() {
        assert!(
            std::time::Instant::now() < deadline,
            "waited {within:?} for {what}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// What a run of the binary gave: exit code, stdout and stderr as text.
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl From<std::process::Output> for Run {
    fn from(o: std::process::Output) -> Run {
        Run {
            code: o.status.code(),
            stdout: String::from_utf8_lossy(&o.stdout).into(),
            stderr: String::from_utf8_lossy(&o.stderr).into(),
        }
    }
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {:?}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// Arguments for an `up` (in a sandbox) that passes preflight and then fails at once: free
/// ports, an image that is neither local nor pullable, and no kind to be had.
pub fn failing_up_args(name: &str) -> Vec<String> {
    let mut args = Vec::new();
    for set in [
        format!("cluster.name={name}"),
        // Before v1.35, so preflight passes on a cgroup v1 machine (CI's is one) as on v2.
        "cluster.node_image=kindest/node:v1.34.3".into(),
        "network.domain=test".into(),
        "network.trust_ca=false".into(),
        format!("network.http_port={}", free_port()),
        format!("network.https_port={}", free_port()),
        format!("registry.host_port={}", free_port()),
        format!("registry.name={name}-registry"),
        format!("registry.image=kindling-test/{name}:missing"),
        "registry.mirrors=".into(),
    ] {
        args.push("--set".to_string());
        args.push(set);
    }
    args.push("up".into());
    args
}

/// `until` for a thread outside tokio: checks `ready` every 20 ms until it holds; panics after
/// `within`, naming `what`.
pub fn until_blocking(what: &str, within: std::time::Duration, mut ready: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + within;
    while !ready() {
        assert!(
            std::time::Instant::now() < deadline,
            "waited {within:?} for {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Calls `attempt` every 50 ms until it succeeds and returns its value; panics after `within`
/// with `what` and the last error. For what nothing announces (a server that starts to answer).
pub async fn until_ok<T, E: std::fmt::Debug, F: std::future::Future<Output = Result<T, E>>>(
    what: &str,
    within: std::time::Duration,
    mut attempt: impl FnMut() -> F,
) -> T {
    let deadline = std::time::Instant::now() + within;
    loop {
        match attempt().await {
            Ok(value) => return value,
            Err(e) if std::time::Instant::now() < deadline => {
                let _ = e;
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            Err(e) => panic!("waited {within:?} for {what}; last: {e:?}"),
        }
    }
}
