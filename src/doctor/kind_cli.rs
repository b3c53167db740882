use super::CheckResult;
use crate::config::{Provider, Settings};
use crate::env::Env;

/// `kind version` prints e.g. "kind v0.33.0 go1.25.1 linux/amd64".
pub fn parse_kind_version(output: &str) -> Option<String> {
    output
        .split_whitespace()
        .find(|w| w.starts_with('v') && w[1..].starts_with(|c: char| c.is_ascii_digit()))
        .map(str::to_string)
}

/// The kind CLI at the pinned version: on PATH, already downloaded, or to be downloaded.
pub(super) async fn check(settings: &Settings, env: &Env) -> CheckResult {
    let config = &settings.config;
    if config.cluster.provider == Provider::Existing {
        return CheckResult::ok("kind", "not needed (cluster.provider = \"existing\")");
    }
    let pinned = &config.cluster.kind_version;
    let mut command = tokio::process::Command::new("kind");
    command.arg("version");
    if let Some(path) = env.get("PATH") {
        command.env("PATH", path);
    }
    let on_path = match command.output().await {
        Ok(out) if out.status.success() => {
            parse_kind_version(&String::from_utf8_lossy(&out.stdout))
        }
        _ => None,
    };
    if on_path.as_deref() == Some(pinned.as_str()) {
        return CheckResult::ok("kind", format!("kind {pinned} on PATH"));
    }
    let cached = settings
        .cache_dir
        .join("bin")
        .join(format!("kind-{pinned}"));
    let found = match &on_path {
        Some(v) => format!("kind {v} on PATH is not the pinned {pinned}"),
        None => "no kind on PATH".to_string(),
    };
    if cached.is_file() {
        CheckResult::ok(
            "kind",
            format!("{found}; using the downloaded {}", cached.display()),
        )
    } else {
        CheckResult::ok(
            "kind",
            format!(
                "{found}; `up` downloads kind {pinned} from github.com/kubernetes-sigs/kind (sha256-verified)"
            ),
        )
    }
}
