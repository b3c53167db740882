//! The configuration of `cluster.provider = "existing"`: host-side settings default to false
//! there unless the user sets them; the new keys are checked when loading; the registry login
//! given in the environment is a secret `config show` never prints.

use kindling::config::{self, ConfigSource, IngressService, Overrides};
use kindling::env::Env;
use std::io::Write;

fn sets(args: &[&str]) -> Overrides {
    Overrides {
        sets: args.iter().map(|s| s.to_string()).collect(),
    }
}

const EXISTING: &[&str] = &["cluster.provider=existing", "cluster.context=team"];

#[test]
fn on_an_existing_cluster_the_hosts_file_and_trust_store_are_left_alone_unless_asked() {
    let kind = config::load(
        &ConfigSource::Builtin,
        &Env::default(),
        &Overrides::default(),
    )
    .unwrap();
    assert!(
        kind.network.manage_hosts && kind.network.trust_ca,
        "kind keeps its defaults"
    );

    let existing = config::load(&ConfigSource::Builtin, &Env::default(), &sets(EXISTING)).unwrap();
    assert!(!existing.network.manage_hosts);
    assert!(!existing.network.trust_ca);

    // Asked for in the environment, a flag or the file: kept.
    let env = Env::from_pairs([("KINDLING_NETWORK_TRUST_CA", "true")]);
    let asked = config::load(&ConfigSource::Builtin, &env, &sets(EXISTING)).unwrap();
    assert!(asked.network.trust_ca);
    assert!(!asked.network.manage_hosts);
    let mut file = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
    file.write_all(
        b"[cluster]\nprovider = \"existing\"\ncontext = \"team\"\n[network]\nmanage_hosts = true\n",
    )
    .unwrap();
    let from_file = config::load(
        &ConfigSource::File(file.path().into()),
        &Env::default(),
        &Overrides::default(),
    )
    .unwrap();
    assert!(from_file.network.manage_hosts);
    assert!(!from_file.network.trust_ca);
}

#[test]
fn the_existing_cluster_keys_are_checked_when_loading() {
    let mut args = EXISTING.to_vec();
    args.extend([
        "network.ingress_service=ClusterIP",
        "registry.push_host=https://registry.example.com",
        "network.cluster_issuer=Lets Encrypt",
    ]);
    let e = config::load(&ConfigSource::Builtin, &Env::default(), &sets(&args)).unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains("network.ingress_service \"ClusterIP\""),
        "{text}"
    );
    assert!(text.contains("registry.push_host"), "{text}");
    assert!(text.contains("network.cluster_issuer"), "{text}");

    let mut args = EXISTING.to_vec();
    args.extend([
        "network.ingress_service=NodePort",
        "network.ingress_address=203.0.113.10",
        "registry.push_host=ghcr.io/my-team",
        "network.cluster_issuer=letsencrypt",
    ]);
    let ok = config::load(&ConfigSource::Builtin, &Env::default(), &sets(&args)).unwrap();
    assert_eq!(ok.network.ingress_service, IngressService::NodePort);
    assert_eq!(ok.registry.push_host, "ghcr.io/my-team");
}

#[test]
fn the_registry_password_from_the_environment_is_never_shown() {
    let env = Env::from_pairs([
        ("KINDLING_CREDENTIALS_REGISTRY_USERNAME", "robot"),
        ("KINDLING_CREDENTIALS_REGISTRY_PASSWORD", "s3cret-token"),
    ]);
    let loaded = config::load(&ConfigSource::Builtin, &env, &sets(EXISTING)).unwrap();
    assert_eq!(loaded.credentials.registry_password, "s3cret-token");
    let shown = loaded.to_redacted_toml();
    assert!(!shown.contains("s3cret-token"), "{shown}");
    assert!(shown.contains("registry_username = \"robot\""), "{shown}");
}
