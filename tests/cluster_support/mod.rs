//! Helpers for the cluster tests: settings in temp dirs, an injected environment, a tiny
//! fake API server (until crates/fake-apiserver lands), the stand-in kind node image, and
//! guards that remove containers even when a test panics.
#![allow(dead_code)]

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Json};
use axum::routing::get;
use kindling::config::{Config, Settings};
use kindling::env::Env;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, Mutex};

/// Settings with the built-in config and private data/cache dirs.
pub fn settings(dir: &std::path::Path) -> Settings {
    Settings {
        config: Config::builtin(),
        source: None,
        data_dir: dir.join("data"),
        cache_dir: dir.join("cache"),
    }
}

/// This process's environment with PATH, KUBECONFIG and kind overrides replaced, so kind
/// never touches the user's ~/.kube/config and tests do not see each other's settings.
pub fn env_with(
    path_first: Option<&std::path::Path>,
    kubeconfig: &std::path::Path,
    extra: &[(&str, String)],
) -> Env {
    let skip = [
        "PATH",
        "KUBECONFIG",
        "KINDLING_KIND_BIN",
        "KINDLING_KIND_DOWNLOAD_URL",
    ];
    let mut pairs: Vec<(String, String)> = std::env::vars()
        .filter(|(k, _)| !skip.contains(&k.as_str()))
        .collect();
    let system_path = std::env::var("PATH").unwrap_or_default();
    let path = match path_first {
        Some(dir) => format!("{}:{system_path}", dir.display()),
        None => system_path,
    };
    pairs.push(("PATH".into(), path));
    pairs.push(("KUBECONFIG".into(), kubeconfig.display().to_string()));
    pairs.extend(extra.iter().map(|(k, v)| (k.to_string(), v.clone())));
    Env::from_pairs(pairs)
}

/// Writes an executable shell script.
pub fn script(path: &std::path::Path, body: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, body).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

pub fn docker(args: &[&str]) -> std::process::Output {
    Command::new("docker")
        .args(args)
        .output()
        .expect("docker CLI runs")
}

pub fn docker_ok(args: &[&str]) -> String {
    let out = docker(args);
    assert!(
        out.status.success(),
        "docker {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Removes the named containers when dropped (also on panic).
pub struct Containers(pub Vec<String>);

impl Drop for Containers {
    fn drop(&mut self) {
        for name in &self.0 {
            let _ = docker(&["rm", "-f", "-v", name]);
        }
    }
}

/// Removes the volumes kindling labelled for a cluster when dropped (also on panic), and the
/// caches of upstreams named after it (caches are shared: they name no cluster).
pub struct ClusterVolumes(pub String);

impl Drop for ClusterVolumes {
    fn drop(&mut self) {
        let filters = [
            format!("label=dev.kindling.cluster={}", self.0),
            format!("name=kindling-mirror-{}-", self.0),
        ];
        for filter in filters {
            let listed = docker(&["volume", "ls", "-q", "--filter", &filter]);
            for volume in String::from_utf8_lossy(&listed.stdout).lines() {
                let _ = docker(&["volume", "rm", "-f", volume]);
            }
        }
    }
}

/// The containers carrying a label (e.g. kind's cluster label), running or not.
pub fn containers_with_label(label: &str) -> Vec<String> {
    docker_ok(&[
        "ps",
        "-a",
        "--filter",
        &format!("label={label}"),
        "--format",
        "{{.Names}}",
    ])
    .lines()
    .map(str::to_string)
    .collect()
}

pub const NODE_IMAGE: &str = "kindling-test/node-standin:busybox";

/// An unprivileged stand-in for a kind node: Debian's static busybox FROM scratch, so it has
/// sh, mkdir, cp and cat (the stand-in registry image has no shell). Built once.
pub fn node_image() -> Option<String> {
    if docker(&["image", "inspect", NODE_IMAGE]).status.success() {
        return Some(NODE_IMAGE.into());
    }
    let busybox = std::path::Path::new("/bin/busybox");
    if !busybox.is_file() {
        return crate::support::skip("no /bin/busybox (apt-get install busybox-static)");
    }
    let ctx = tempfile::tempdir().unwrap();
    std::fs::copy(busybox, ctx.path().join("busybox")).unwrap();
    std::fs::write(
        ctx.path().join("Dockerfile"),
        "FROM scratch\nCOPY busybox /bin/busybox\nRUN [\"/bin/busybox\", \"--install\", \"-s\", \"/bin\"]\nCMD [\"/bin/sleep\", \"86400\"]\n",
    )
    .unwrap();
    docker_ok(&[
        "build",
        "-q",
        "-t",
        NODE_IMAGE,
        &ctx.path().display().to_string(),
    ]);
    Some(NODE_IMAGE.into())
}

/// Makes sure Docker has the network kind uses (kind creates it; tests never remove it,
/// since other clusters may use it). Docker allows two networks of one name, so creation
/// is serialised across test processes with a file lock.
pub fn kind_network() {
    let lock = std::fs::File::create(std::env::temp_dir().join("kindling-test-kind-network.lock"))
        .unwrap();
    lock.lock().unwrap();
    if !docker(&["network", "inspect", "kind"]).status.success() {
        docker_ok(&["network", "create", "kind"]);
    }
    drop(lock);
}

/// One request the fake API server saw.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub uri: String,
    pub content_type: String,
}

#[derive(Default)]
pub struct ApiState {
    pub version: (String, String),
    pub objects: HashMap<String, Value>,
    pub requests: Vec<Seen>,
}

/// A tiny API server over plain HTTP on 127.0.0.1: /version, /api, and get / server-side
/// apply of ConfigMaps. Enough for a version check and the KEP-1755 ConfigMap.
pub struct FakeApi {
    pub port: u16,
    pub state: Arc<Mutex<ApiState>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeApi {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn not_found(what: &str) -> axum::response::Response {
    (
        StatusCode::NOT_FOUND,
        Json(
            json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "reason": "NotFound", "code": 404, "message": format!("{what} not found")}),
        ),
    )
        .into_response()
}

async fn configmap(
    State(state): State<Arc<Mutex<ApiState>>>,
    Path((ns, name)): Path<(String, String)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> axum::response::Response {
    let mut st = state.lock().unwrap();
    st.requests.push(Seen {
        method: method.to_string(),
        uri: uri.to_string(),
        content_type: headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string(),
    });
    let key = format!("{ns}/{name}");
    if method == Method::PATCH {
        let mut obj: Value = serde_json::from_slice(&body).unwrap();
        let generation = st.objects.len() + st.requests.len();
        obj["metadata"]["resourceVersion"] = json!(generation.to_string());
        obj["metadata"]["uid"] = json!("00000000-0000-0000-0000-000000000001");
        st.objects.insert(key, obj.clone());
        return Json(obj).into_response();
    }
    match st.objects.get(&key) {
        Some(obj) => Json(obj.clone()).into_response(),
        None => not_found(&format!("configmaps \"{name}\"")),
    }
}

impl FakeApi {
    pub async fn start(major: &str, minor: &str) -> FakeApi {
        let state = Arc::new(Mutex::new(ApiState {
            version: (major.into(), minor.into()),
            ..Default::default()
        }));
        let app = Router::new()
            .route(
                "/version",
                get(|State(s): State<Arc<Mutex<ApiState>>>| async move {
                    let (major, minor) = s.lock().unwrap().version.clone();
                    Json(json!({"major": major, "minor": minor, "gitVersion": format!("v{major}.{}.0", minor.trim_end_matches('+')),
                        "gitCommit": "", "gitTreeState": "clean", "buildDate": "2026-01-01T00:00:00Z",
                        "goVersion": "go1.25", "compiler": "gc", "platform": "linux/amd64"}))
                }),
            )
            .route(
                "/api",
                get(|| async { Json(json!({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []})) }),
            )
            .route("/api/v1/namespaces/{ns}/configmaps/{name}", get(configmap).patch(configmap))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        FakeApi { port, state, task }
    }

    /// A kubeconfig for it with one context.
    pub fn kubeconfig(&self, context: &str) -> String {
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n    server: http://127.0.0.1:{port}\n\
             contexts:\n- name: {context}\n  context:\n    cluster: fake\n    user: fake\n\
             current-context: {context}\nusers:\n- name: fake\n  user: {{}}\n",
            port = self.port
        )
    }

    pub fn requests(&self) -> Vec<Seen> {
        self.state.lock().unwrap().requests.clone()
    }
}

/// The real kind 0.33 from Debian unstable (None = skipped).
pub fn real_kind() -> Option<PathBuf> {
    crate::support::sid_tool("KINDLING_TEST_KIND")
}

/// The double: `create cluster` runs the stand-in node, `get kubeconfig` prints the fake
/// API server's kubeconfig; the rest goes to the real kind.
pub fn fake_kind(
    dir: &std::path::Path,
    real: &std::path::Path,
    image: &str,
    http_port: u16,
) -> PathBuf {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let d = dir.display();
    script(
        &bin.join("kind"),
        &format!(
            r#"#!/bin/sh
if [ "$1" = create ] && [ "$2" = cluster ]; then
  name="$4"
  cat > "{d}/received-config.yaml"
  echo "Creating cluster \"$name\" ..." >&2
  echo " • Ensuring node image (stand-in) 🖼  ..." >&2
  echo " ✓ Ensuring node image (stand-in) 🖼" >&2
  echo " • Preparing nodes 📦 📦  ..." >&2
  # A test may hold creation until a condition holds (at most 30 s), to show another step
  # runs meanwhile: the condition is a shell command in create-waits-for.
  if [ -e "{d}/create-waits-for" ]; then
    tries=0
    until sh "{d}/create-waits-for" || [ $tries -ge 150 ]; do sleep 0.2; tries=$((tries+1)); done
  fi
  docker run -d --name "$name-control-plane" --hostname "$name-control-plane" \
    --label io.x-k8s.kind.cluster="$name" --label io.x-k8s.kind.role=control-plane \
    --network kind -p 127.0.0.1:{http_port}:80 {image} >/dev/null || exit 1
  echo " ✓ Preparing nodes 📦 📦" >&2
  exit 0
fi
if [ "$1" = get ] && [ "$2" = kubeconfig ]; then cat "{d}/fake-kubeconfig"; exit 0; fi
exec "{real}" "$@"
"#,
            real = real.display()
        ),
    );
    bin
}
