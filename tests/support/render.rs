//! `kindling render` run as users run it (the built binary, a configuration file), and real
//! Helm (../shared/tools/helm-render) to render the platform Applications it writes.

use super::{shared_dir, sid_tool, skip};
use kindling::config::Config;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// A render on disk and the configuration it was made from.
pub struct Rendered {
    pub dir: tempfile::TempDir,
    pub config: Config,
    /// What `--output json` printed.
    pub index: Value,
    pub stderr: String,
}

impl Rendered {
    /// The render's root folder.
    pub fn out(&self) -> PathBuf {
        self.dir.path().join("out")
    }

    /// Every object file below `area` (e.g. "platform", "demo-environments/production"; "" = all).
    pub fn objects(&self, area: &str) -> Vec<(String, Value)> {
        self.index["files"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["object"].is_object())
            .filter_map(|f| f["path"].as_str())
            .filter(|p| area.is_empty() || p.starts_with(&format!("{area}/")))
            .map(|p| {
                let text = std::fs::read_to_string(self.out().join(p)).unwrap();
                (p.to_string(), serde_saphyr::from_str(&text).unwrap())
            })
            .collect()
    }
}

/// The real kustomize from Debian unstable (scripts/test.sh fetches it); None = skip.
pub fn kustomize() -> Option<PathBuf> {
    sid_tool("KINDLING_TEST_KUSTOMIZE")
}

/// Runs `kindling render --output json` for `config`, with `kustomize` as the kustomize and a
/// PATH that holds no other. Panics when it fails.
pub fn render(config: &Config, kustomize: Option<&Path>) -> Rendered {
    let rendered = try_render(config, kustomize, None);
    assert!(
        rendered.0.success(),
        "kindling render failed: {}",
        rendered.1.stderr
    );
    rendered.1
}

/// Like `render`, into `out` when given (else a new folder), returning the exit status too.
pub fn try_render(
    config: &Config,
    kustomize: Option<&Path>,
    out: Option<&Path>,
) -> (std::process::ExitStatus, Rendered) {
    let dir = tempfile::tempdir().unwrap();
    let config_file = dir.path().join("bootstrap.toml");
    std::fs::write(&config_file, toml::to_string(config).unwrap()).unwrap();
    let out = out.map_or_else(|| dir.path().join("out"), Path::to_path_buf);
    let empty_path = dir.path().join("no-tools");
    std::fs::create_dir_all(&empty_path).unwrap();
    let mut command = super::kindling();
    for (key, _) in std::env::vars().filter(|(k, _)| k.starts_with("KINDLING_")) {
        command.env_remove(key);
    }
    command
        .env("PATH", &empty_path)
        .env("KINDLING_DATA_DIR", dir.path().join("data"))
        .env("KINDLING_CACHE_DIR", dir.path().join("cache"))
        .args(["--output", "json", "--config"])
        .arg(&config_file)
        .arg("render")
        .arg("--out")
        .arg(&out);
    if let Some(k) = kustomize {
        command.env("KINDLING_KUSTOMIZE_BIN", k);
    }
    let output = command.output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let index = if output.status.success() {
        serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("--output json is not JSON ({e}): {stdout}"))
    } else {
        Value::Null
    };
    (
        output.status,
        Rendered {
            dir,
            config: config.clone(),
            index,
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        },
    )
}

/// Real Helm v4 through ../shared/tools/helm-render, in the venv scripts/test.sh installs
/// (KINDLING_HELM_PYTHON).
pub struct HelmRender {
    pub python: PathBuf,
    pub script: PathBuf,
    pub charts: PathBuf,
}

/// helm-render, or None (skip; under CI=true a panic) when it is not installed.
pub fn helm_render() -> Option<HelmRender> {
    let shared = shared_dir()?;
    let python = match std::env::var_os("KINDLING_HELM_PYTHON").map(PathBuf::from) {
        Some(p) if p.is_file() => p,
        _ => {
            return skip(
                "KINDLING_HELM_PYTHON not set (scripts/test.sh installs helm-render's venv)",
            );
        }
    };
    Some(HelmRender {
        python,
        script: shared.join("tools/helm-render/render.py"),
        charts: shared.join("upstream/charts"),
    })
}

impl HelmRender {
    /// Renders an Application file as Argo CD would; Err is Helm's message. Successful renders
    /// are kept in the test target's temporary folder, keyed by everything that goes in
    /// (render.py, the Application, the API versions, the charts' names and sizes), because
    /// several test processes render the same Applications.
    pub fn application(&self, file: &Path, api_versions: &[String]) -> Result<Vec<Value>, String> {
        use sha2::Digest;
        let mut key = sha2::Sha256::new();
        key.update(std::fs::read(&self.script).unwrap_or_default());
        key.update(std::fs::read(file).map_err(|e| e.to_string())?);
        key.update(api_versions.join(",").as_bytes());
        let mut charts: Vec<(String, u64)> = std::fs::read_dir(&self.charts)
            .map_err(|e| e.to_string())?
            .filter_map(|e| e.ok())
            .map(|e| {
                let size = e.metadata().map(|m| m.len()).unwrap_or(0);
                (e.file_name().to_string_lossy().into_owned(), size)
            })
            .collect();
        charts.sort();
        key.update(format!("{charts:?}").as_bytes());
        let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("helm-render");
        let cached = cache.join(format!("{}.yaml", hex::encode(key.finalize())));
        let text = match std::fs::read_to_string(&cached) {
            Ok(text) => text,
            Err(_) => {
                let text = self.run(file, api_versions)?;
                std::fs::create_dir_all(&cache).unwrap();
                let partial = cached.with_extension(format!("{}.partial", std::process::id()));
                std::fs::write(&partial, &text).unwrap();
                std::fs::rename(&partial, &cached).unwrap();
                text
            }
        };
        kindling::lint::input::parse_documents(&text).map_err(|e| e.to_string())
    }

    fn run(&self, file: &Path, api_versions: &[String]) -> Result<String, String> {
        let mut command = std::process::Command::new(&self.python);
        command
            .arg(&self.script)
            .arg("--application")
            .arg(file)
            .arg("--charts")
            .arg(&self.charts);
        for api in api_versions {
            command.args(["--api-version", api]);
        }
        let output = command.output().map_err(|e| e.to_string())?;
        if !output.status.success() {
            return Err(String::from_utf8_lossy(&output.stderr).into_owned());
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }
}
