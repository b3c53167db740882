//! Precedence: --set > environment > file > built-in default; and the built-in default is the repository's file.

use kindling::config::{self, BUILTIN, Config, ConfigSource, Overrides};
use kindling::env::Env;
use std::io::Write;

#[test]
fn embedded_default_is_the_repository_file() {
    let file =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/bootstrap.toml")).unwrap();
    assert_eq!(BUILTIN, file);
    let loaded = config::load(
        &ConfigSource::Builtin,
        &Env::default(),
        &Overrides::default(),
    )
    .unwrap();
    assert_eq!(loaded, Config::builtin());
    assert_eq!(loaded.registry.host_port, 5001);
    assert_eq!(
        loaded.registry.mirrors,
        [
            "docker.io",
            "quay.io",
            "ghcr.io",
            "registry.k8s.io",
            "public.ecr.aws"
        ]
    );
    assert_eq!(loaded.components.argocd, "v3.5.1");
    assert!(
        loaded.warnings().is_empty(),
        "the default node image is pinned by digest"
    );
}

#[test]
fn file_env_and_flags_apply_in_order() {
    let mut file = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
    file.write_all(
        b"[registry]\nhost_port = 5002\nname = \"from-file\"\n[cluster]\nname = \"file\"\n",
    )
    .unwrap();
    let source = ConfigSource::File(file.path().into());

    let only_file = config::load(&source, &Env::default(), &Overrides::default()).unwrap();
    assert_eq!(only_file.registry.host_port, 5002);
    assert_eq!(
        only_file.registry.image, "registry:3",
        "keys the file omits keep the default"
    );

    let env = Env::from_pairs([
        ("KINDLING_REGISTRY_HOST_PORT", "5003"),
        ("KINDLING_REGISTRY_MIRRORS", "docker.io, quay.io"),
        ("KINDLING_NETWORK_MANAGE_HOSTS", "false"),
        ("KINDLING_CLUSTER_NAME", "env"),
    ]);
    let with_env = config::load(&source, &env, &Overrides::default()).unwrap();
    assert_eq!(with_env.registry.host_port, 5003);
    assert_eq!(with_env.registry.mirrors, ["docker.io", "quay.io"]);
    assert!(!with_env.network.manage_hosts);
    assert_eq!(with_env.registry.name, "from-file");
    assert_eq!(with_env.cluster.name, "env");

    let overrides = Overrides {
        sets: vec!["registry.host_port=5004".into(), "cluster.name=flag".into()],
    };
    let with_flags = config::load(&source, &env, &overrides).unwrap();
    assert_eq!(with_flags.registry.host_port, 5004);
    assert_eq!(with_flags.cluster.name, "flag");
}

#[test]
fn empty_env_list_means_no_mirrors() {
    let env = Env::from_pairs([("KINDLING_REGISTRY_MIRRORS", ",")]);
    let loaded = config::load(&ConfigSource::Builtin, &env, &Overrides::default()).unwrap();
    assert!(loaded.registry.mirrors.is_empty());
}

#[test]
fn secrets_are_redacted_in_show() {
    let env = Env::from_pairs([(
        "KINDLING_CREDENTIALS_GRAFANA_ADMIN_PASSWORD",
        "s3cret-value",
    )]);
    let loaded = config::load(&ConfigSource::Builtin, &env, &Overrides::default()).unwrap();
    assert_eq!(loaded.credentials.grafana_admin_password, "s3cret-value");
    let shown = loaded.to_redacted_toml();
    assert!(!shown.contains("s3cret-value"));
    assert!(shown.contains("grafana_admin_password = \"<redacted>\""));
    assert!(
        !loaded
            .to_redacted_json()
            .to_string()
            .contains("s3cret-value")
    );
}

#[test]
fn unpinned_node_image_is_a_warning_not_an_error() {
    let env = Env::from_pairs([("KINDLING_CLUSTER_NODE_IMAGE", "kindest/node:v1.36.4")]);
    let loaded = config::load(&ConfigSource::Builtin, &env, &Overrides::default()).unwrap();
    let warnings = loaded.warnings();
    assert_eq!(warnings.len(), 1);
    assert!(warnings[0].0.contains("not pinned by digest"));
}
