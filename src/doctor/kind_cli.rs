use super::CheckResult;
use crate::cluster::kind_cli::{KindCli, cached_path, find_on_path, parse_version};
use crate::config::{Provider, Settings};
use crate::env::Env;

/// The kind CLI at the pinned version: on PATH, already downloaded, or to be downloaded.
pub(super) async fn check(settings: &Settings, env: &Env) -> CheckResult {
    let config = &settings.config;
    if config.cluster.provider == Provider::Existing {
        return CheckResult::ok("kind", "not needed (cluster.provider = \"existing\")");
    }
    let pinned = &config.cluster.kind_version;
    let on_path = match find_on_path(env) {
        Some(path) => KindCli::at(path, env)
            .run(&["version"])
            .await
            .ok()
            .and_then(|out| parse_version(&out.stdout)),
        None => None,
    };
    if on_path.as_deref() == Some(pinned.as_str()) {
        return CheckResult::ok("kind", format!("kind {pinned} on PATH"));
    }
    let cached = cached_path(settings);
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
