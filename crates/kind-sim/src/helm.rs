//! A Helm source for the simulated Argo CD: real Helm v4 through ../shared/tools/helm-render
//! (`render.py --application`, values merged as Argo CD merges them), with `--api-version`
//! for every group/version (and group/version/Kind) the simulated cluster serves, as Argo CD
//! passes the cluster's API resources to Helm — so the render is what the cluster would get.
//!
//! Renders are cached for the whole test process, keyed by the Application's source,
//! release, namespace and the API versions the chart asks about: every chart pinned here
//! consults the cluster only through `.Capabilities.APIVersions.Has "<literal>"`, so only those
//! literals can change its output (a chart that uses APIVersions any other way is keyed by
//! the full list).

use crate::argocd::{Rendered, Source};
use serde_json::{Value, json};
use sha2::Digest;
use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

/// `KINDLING_HELM_PYTHON`: the python of the helm-render venv (scripts/test.sh installs it
/// with `helm-render/install.sh ~/.cache/kindling-test/helm-render`).
pub const PYTHON_ENV: &str = "KINDLING_HELM_PYTHON";

/// The Kubernetes version kindling's node image runs.
pub const KUBE_VERSION: &str = "v1.36.4";

#[derive(Clone)]
pub struct Helm {
    python: PathBuf,
    script: PathBuf,
    charts: PathBuf,
}

type Cache = Mutex<HashMap<String, Arc<OnceLock<Result<Vec<Value>, String>>>>>;

fn cache() -> &'static Cache {
    static CACHE: OnceLock<Cache> = OnceLock::new();
    CACHE.get_or_init(Cache::default)
}

/// The `.Capabilities.APIVersions.Has` literals of a chart, None when it consults the API
/// versions in another way.
fn capability_literals(tgz: &Path) -> Option<Vec<String>> {
    static SCANNED: OnceLock<Mutex<HashMap<PathBuf, Option<Vec<String>>>>> = OnceLock::new();
    let scanned = SCANNED.get_or_init(Mutex::default);
    if let Some(v) = scanned.lock().unwrap().get(tgz) {
        return v.clone();
    }
    let scan = || -> Option<Vec<String>> {
        let file = std::fs::File::open(tgz).ok()?;
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
        let mut found = Vec::new();
        for entry in archive.entries().ok()? {
            let mut entry = entry.ok()?;
            let path = entry.path().ok()?.to_string_lossy().to_string();
            if !path.contains("/templates/") {
                continue;
            }
            let mut text = String::new();
            if entry.read_to_string(&mut text).is_err() {
                continue;
            }
            let mut rest = text.as_str();
            while let Some(i) = rest.find("APIVersions") {
                rest = &rest[i + "APIVersions".len()..];
                let literal = rest
                    .strip_prefix(".Has \"")
                    .and_then(|r| r.split_once('"'))
                    .map(|(l, _)| l.to_string());
                found.push(literal?);
            }
        }
        found.sort();
        found.dedup();
        Some(found)
    };
    let result = scan();
    scanned
        .lock()
        .unwrap()
        .insert(tgz.to_path_buf(), result.clone());
    result
}

impl Helm {
    /// The renderer from the shared folder and the helm-render venv; an error says what is
    /// missing and how to install it.
    pub fn from_env() -> Result<Helm, String> {
        let shared = crate::health::shared_dir();
        let python = std::env::var_os(PYTHON_ENV)
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                let home = std::env::var_os("HOME")
                    .map(PathBuf::from)
                    .unwrap_or_default();
                home.join(".cache/kindling-test/helm-render/bin/python")
            });
        let helm = Helm {
            python,
            script: shared.join("tools/helm-render/render.py"),
            charts: shared.join("upstream/charts"),
        };
        if !helm.script.is_file() {
            return Err(format!(
                "{} not found (set KINDLING_SHARED_DIR)",
                helm.script.display()
            ));
        }
        if !helm.python.is_file() {
            return Err(format!(
                "{} not found: install real Helm with `{}/tools/helm-render/install.sh ~/.cache/kindling-test/helm-render` or set {PYTHON_ENV}",
                helm.python.display(),
                shared.display()
            ));
        }
        Ok(helm)
    }

    fn chart_file(&self, source: &Value) -> Option<PathBuf> {
        let chart = source["chart"].as_str().map(str::to_string).or_else(|| {
            source["repoURL"]
                .as_str()?
                .trim_end_matches('/')
                .rsplit('/')
                .next()
                .map(str::to_string)
        })?;
        Some(self.charts.join(format!(
            "{chart}-{}.tgz",
            source["targetRevision"].as_str()?
        )))
    }

    /// Renders a Helm Application's chart (objects in the order Helm prints them, CRDs
    /// first), cached per process.
    pub fn render(&self, app: &Value, api_versions: &[String]) -> Result<Vec<Value>, String> {
        let spec = &app["spec"];
        let source = if spec["source"].is_object() {
            &spec["source"]
        } else {
            &spec["sources"][0]
        };
        let relevant: Vec<&String> = match self
            .chart_file(source)
            .as_deref()
            .and_then(capability_literals)
        {
            Some(literals) => api_versions
                .iter()
                .filter(|v| literals.contains(v))
                .collect(),
            None => api_versions.iter().collect(),
        };
        let key = serde_json::to_string(&json!([
            app["metadata"]["name"],
            source,
            spec["destination"]["namespace"],
            relevant
        ]))
        .unwrap_or_default();
        let cell = cache()
            .lock()
            .unwrap()
            .entry(key.clone())
            .or_default()
            .clone();
        cell.get_or_init(|| self.run_cached(&key, app, api_versions))
            .clone()
    }

    /// Renders through the on-disk cache (shared by test processes; keyed also by the chart's
    /// and the renderer's size and mtime, so a changed chart renders again).
    fn run_cached(
        &self,
        key: &str,
        app: &Value,
        api_versions: &[String],
    ) -> Result<Vec<Value>, String> {
        let stamp = |p: &Path| {
            std::fs::metadata(p)
                .map(|m| format!("{}:{:?}", m.len(), m.modified().ok()))
                .unwrap_or_default()
        };
        let spec = &app["spec"];
        let source = if spec["source"].is_object() {
            &spec["source"]
        } else {
            &spec["sources"][0]
        };
        let chart = self
            .chart_file(source)
            .map(|c| stamp(&c))
            .unwrap_or_default();
        let digest = hex::encode(sha2::Sha256::digest(format!(
            "{key}\n{chart}\n{}\n{}",
            stamp(&self.script),
            self.python.display()
        )));
        let dir = std::env::temp_dir().join("kind-sim-helm-cache");
        let file = dir.join(format!("{digest}.yaml"));
        let text = match std::fs::read_to_string(&file) {
            Ok(text) => text,
            Err(_) => {
                let text = self.run(app, api_versions)?;
                let _ = std::fs::create_dir_all(&dir);
                let tmp = dir.join(format!("{digest}.{}.tmp", std::process::id()));
                if std::fs::write(&tmp, &text).is_ok() {
                    let _ = std::fs::rename(&tmp, &file);
                }
                text
            }
        };
        crate::yaml::parse_stream(&text).map_err(|e| format!("helm output: {e}"))
    }

    fn run(&self, app: &Value, api_versions: &[String]) -> Result<String, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let file = dir.path().join("application.json");
        std::fs::write(&file, serde_json::to_vec(app).unwrap_or_default())
            .map_err(|e| e.to_string())?;
        let mut command = std::process::Command::new(&self.python);
        command
            .arg(&self.script)
            .arg("--application")
            .arg(&file)
            .arg("--charts")
            .arg(&self.charts)
            .arg("--kube-version")
            .arg(KUBE_VERSION);
        for v in api_versions {
            command.arg("--api-version").arg(v);
        }
        let out = command
            .output()
            .map_err(|e| format!("{}: {e}", self.python.display()))?;
        if !out.status.success() {
            return Err(format!(
                "helm template failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }
}

impl Source for Helm {
    fn render(&self, app: &Value, api_versions: &[String]) -> Result<Rendered, String> {
        let spec = &app["spec"];
        let source = if spec["source"].is_object() {
            &spec["source"]
        } else {
            &spec["sources"][0]
        };
        let objects = Helm::render(self, app, api_versions)?;
        Ok(Rendered {
            revision: source["targetRevision"].as_str().unwrap_or("").to_string(),
            objects,
        })
    }
}
