//! The demo environments as Argo CD renders them: the compiled-in manifests staged with
//! kindling's own generated layer (`gitops::stage`, per timing profile) and built by the real
//! kustomize.

use kindling::config::Config;
use kindling::config::Profile;
use kindling::platform::gitops::{self, DemoImage, EnvRelease};
use serde_json::Value;
use std::path::Path;
use std::time::Duration;

/// Every object of one environment (`dev`, `staging`, `production`) with `profile`'s timing.
pub fn environment(kustomize: &Path, config: &Config, profile: Profile, env: &str) -> Vec<Value> {
    let dir = tempfile::tempdir().unwrap();
    let release = EnvRelease {
        version: "v1.0.0".into(),
        image: DemoImage::for_release(config, "v1.0.0"),
        profile,
    };
    gitops::stage(dir.path(), config, &gitops::same_everywhere(&release)).unwrap();
    let text = super::kustomize_build(kustomize, &dir.path().join("demo-app/generated").join(env));
    kindling::lint::input::parse_documents(&text).unwrap()
}

/// The object of that kind and name; panics naming it when it was not rendered.
pub fn find<'a>(objects: &'a [Value], kind: &str, name: &str) -> &'a Value {
    objects
        .iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("{kind}/{name} not rendered"))
}

/// A duration as Argo Rollouts, prometheus-operator and PromQL write them: "20s", "1m", "1m30s".
pub fn duration(text: &str) -> Duration {
    humantime::parse_duration(text).unwrap_or_else(|e| panic!("duration {text:?}: {e}"))
}
