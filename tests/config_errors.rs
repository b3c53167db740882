//! Strict configuration: every bad input names its place (path:line:column or the
//! variable/flag), says what is wrong, and hints at the fix.

use kindling::config::{self, ConfigSource, Origin, Overrides};
use kindling::env::Env;
use std::io::Write;

fn write_config(text: &str) -> tempfile::NamedTempFile {
    let mut file = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
    file.write_all(text.as_bytes()).unwrap();
    file
}

/// Loads `text` as a file and returns the single issue's (line, column, message, hint).
fn one_issue(text: &str) -> (usize, usize, String, String) {
    let file = write_config(text);
    let source = ConfigSource::File(file.path().to_path_buf());
    let err = config::load(&source, &Env::default(), &Overrides::default()).unwrap_err();
    assert_eq!(
        err.issues.len(),
        1,
        "expected one issue, got {:?}",
        err.issues
    );
    let issue = &err.issues[0];
    let Origin::File { path, line, column } = &issue.origin else {
        panic!("expected a file origin, got {:?}", issue.origin)
    };
    assert_eq!(path, file.path());
    (
        *line,
        *column,
        issue.message.clone(),
        issue.hint.clone().unwrap_or_default(),
    )
}

#[test]
fn malformed_toml_points_at_the_syntax_error() {
    let (line, col, msg, hint) = one_issue("[cluster]\nname = \"a\"\nworkers = = 2\n");
    assert_eq!((line, col), (3, 11));
    assert!(msg.starts_with("invalid TOML"), "{msg}");
    assert!(hint.contains("toml.io"), "{hint}");
}

#[test]
fn unknown_key_suggests_the_close_one() {
    let (line, col, msg, hint) = one_issue("[cluster]\nnmae = \"demo\"\n");
    assert_eq!((line, col), (2, 1));
    assert_eq!(msg, "unknown key `nmae` in [cluster]");
    assert_eq!(hint, "did you mean `name`?");
}

#[test]
fn unknown_section_suggests_the_close_one() {
    let (line, col, msg, hint) = one_issue("\n\n[registy]\nhost_port = 5002\n");
    assert_eq!((line, col), (3, 2));
    assert_eq!(msg, "unknown section `registy`");
    assert_eq!(hint, "did you mean `registry`?");
}

#[test]
fn wrong_type_names_the_expected_type() {
    let (line, col, msg, _) = one_issue("[registry]\nhost_port = \"5001\"\n");
    assert_eq!((line, col), (2, 13));
    assert_eq!(
        msg,
        "`registry.host_port` must be an integer, found a string"
    );
}

#[test]
fn boolean_given_as_string() {
    let (line, col, msg, _) = one_issue("[network]\nmanage_hosts = \"yes\"\n");
    assert_eq!((line, col), (2, 16));
    assert_eq!(
        msg,
        "`network.manage_hosts` must be a boolean (true or false), found a string"
    );
}

#[test]
fn port_out_of_range() {
    let (line, col, msg, hint) = one_issue("[registry]\nhost_port = 70000\n");
    assert_eq!((line, col), (2, 13));
    assert_eq!(
        msg,
        "registry.host_port must be a port number 1-65535, got 70000"
    );
    assert!(hint.contains("free TCP port"));
}

#[test]
fn duplicate_ports_are_refused() {
    let (line, col, msg, _) = one_issue("[network]\nhttp_port = 8080\nhttps_port = 8080\n");
    assert_eq!((line, col), (3, 14));
    assert_eq!(
        msg,
        "network.https_port is 8080, the same port as network.http_port"
    );
}

#[test]
fn cluster_name_must_be_a_dns_label() {
    let (line, col, msg, hint) = one_issue("[cluster]\nname = \"My_Cluster\"\n");
    assert_eq!((line, col), (2, 8));
    assert_eq!(msg, "cluster.name \"My_Cluster\" is not a DNS label");
    assert!(hint.contains("lowercase"));
}

#[test]
fn domain_must_be_a_dns_suffix() {
    let (line, col, msg, _) = one_issue("[network]\ndomain = \"demo..local\"\n");
    assert_eq!((line, col), (2, 10));
    assert_eq!(
        msg,
        "network.domain \"demo..local\" is not a valid DNS suffix"
    );
}

#[test]
fn malformed_version() {
    let (line, col, msg, hint) = one_issue("[components]\nargocd = \"3.5\"\n");
    assert_eq!((line, col), (2, 10));
    assert_eq!(msg, "components.argocd \"3.5\" is not a valid version");
    assert!(hint.contains("leading v"));
}

#[test]
fn chart_version_without_v() {
    let (_, _, msg, hint) = one_issue("[components]\ntraefik = \"v41.3.0\"\n");
    assert_eq!(msg, "components.traefik \"v41.3.0\" is not a valid version");
    assert!(hint.contains("without v"));
}

#[test]
fn malformed_duration() {
    let (line, col, msg, hint) = one_issue("[timeouts]\ncluster = \"ten minutes\"\n");
    assert_eq!((line, col), (2, 11));
    assert!(
        msg.starts_with("timeouts.cluster \"ten minutes\" is not a duration"),
        "{msg}"
    );
    assert!(hint.contains("10m"));
}

#[test]
fn zero_duration() {
    let (_, _, msg, _) = one_issue("[timeouts]\ndocker = \"0s\"\n");
    assert_eq!(msg, "timeouts.docker must be longer than zero");
}

#[test]
fn invalid_mirror_host() {
    let (line, col, msg, _) = one_issue("[registry]\nmirrors = [\"docker.io\", \"not a host\"]\n");
    assert_eq!((line, col), (2, 11));
    assert_eq!(
        msg,
        "registry.mirrors: \"not a host\" is not a registry host name"
    );
}

#[test]
fn mirrors_must_be_strings() {
    let (_, _, msg, _) = one_issue("[registry]\nmirrors = [1, 2]\n");
    assert_eq!(
        msg,
        "`registry.mirrors` must be a list of strings, found a list"
    );
}

#[test]
fn unknown_provider() {
    let (line, col, msg, hint) = one_issue("[cluster]\nprovider = \"k3d\"\n");
    assert_eq!((line, col), (2, 12));
    assert_eq!(msg, "cluster.provider \"k3d\" is not a known provider");
    assert!(hint.contains("existing"));
}

#[test]
fn existing_provider_needs_a_context() {
    let (line, col, msg, _) = one_issue("[cluster]\nprovider = \"existing\"\n");
    assert_eq!((line, col), (2, 12));
    assert_eq!(msg, "cluster.provider = \"existing\" needs cluster.context");
}

#[test]
fn section_given_as_a_value() {
    let (line, col, msg, _) = one_issue("cluster = \"kindling\"\n");
    assert_eq!((line, col), (1, 11));
    assert_eq!(msg, "`cluster` must be a table ([cluster]), found a string");
}

#[test]
fn several_problems_are_reported_together() {
    let file = write_config("[cluster]\nnmae = 1\n[network]\ndomian = \"x\"\n");
    let err = config::load(
        &ConfigSource::File(file.path().into()),
        &Env::default(),
        &Overrides::default(),
    )
    .unwrap_err();
    assert_eq!(err.issues.len(), 2);
}

#[test]
fn missing_file_is_a_config_error() {
    let source = ConfigSource::File("/nonexistent/bootstrap.toml".into());
    let err = config::load(&source, &Env::default(), &Overrides::default()).unwrap_err();
    assert!(
        err.issues[0]
            .message
            .contains("cannot read the configuration file")
    );
}

#[test]
fn bad_env_override_names_the_variable() {
    let env = Env::from_pairs([("KINDLING_REGISTRY_HOST_PORT", "abc")]);
    let err = config::load(&ConfigSource::Builtin, &env, &Overrides::default()).unwrap_err();
    assert_eq!(
        err.issues[0].origin,
        Origin::Env {
            var: "KINDLING_REGISTRY_HOST_PORT".into()
        }
    );
    assert_eq!(err.issues[0].message, "must be an integer, got \"abc\"");
}

#[test]
fn unknown_env_override_suggests_the_close_one() {
    let env = Env::from_pairs([("KINDLING_REGISTRY_HOSTPORT", "5002")]);
    let err = config::load(&ConfigSource::Builtin, &env, &Overrides::default()).unwrap_err();
    assert_eq!(
        err.issues[0].hint.as_deref(),
        Some("did you mean KINDLING_REGISTRY_HOST_PORT?")
    );
}

#[test]
fn invalid_value_from_env_is_blamed_on_the_env() {
    let env = Env::from_pairs([("KINDLING_NETWORK_DOMAIN", "Not_A_Domain")]);
    let err = config::load(&ConfigSource::Builtin, &env, &Overrides::default()).unwrap_err();
    assert_eq!(
        err.issues[0].origin,
        Origin::Env {
            var: "KINDLING_NETWORK_DOMAIN".into()
        }
    );
}

#[test]
fn unknown_set_flag_suggests_the_close_one() {
    let overrides = Overrides {
        sets: vec!["registry.hostport=5002".into()],
    };
    let err = config::load(&ConfigSource::Builtin, &Env::default(), &overrides).unwrap_err();
    assert_eq!(err.issues[0].message, "unknown setting `registry.hostport`");
    assert_eq!(
        err.issues[0].hint.as_deref(),
        Some("did you mean `registry.host_port`?")
    );
}
