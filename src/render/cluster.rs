//! `cluster/`: the kind config, exactly what `kind create cluster --config -` receives (step
//! `cluster`), and the KEP-1755 ConfigMap `kube-public/local-registry-hosting` that tells
//! tools where the local registry is (step `wire`). An existing cluster gets neither.

use super::{File, object_file, text_file};
use crate::cluster::{kind_config, registry_hosting};
use crate::config::{Config, Provider};

pub(super) fn files(config: &Config) -> Vec<File> {
    if config.cluster.provider == Provider::Existing {
        return Vec::new();
    }
    let hosting =
        serde_json::to_value(registry_hosting::config_map(config)).expect("a ConfigMap serializes");
    vec![
        text_file("cluster", "kind-config.yaml", kind_config::render(config)),
        object_file("cluster", &hosting),
    ]
}
