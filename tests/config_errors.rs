//! Strict configuration: every bad input names its place (path:line:column or the
//! variable/flag), says what is wrong, and hints at the fix.

mod support;

use kindling::config::{self, ConfigSource, Origin, Overrides};
use kindling::env::Env;
use std::io::Write;
use std::time::Duration;

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

/// Loads `text` as a file and returns every issue (no count expected).
fn issues(text: &str) -> Vec<config::ConfigIssue> {
    let file = write_config(text);
    let source = ConfigSource::File(file.path().to_path_buf());
    config::load(&source, &Env::default(), &Overrides::default())
        .unwrap_err()
        .issues
}

#[test]
fn an_integer_too_large_for_64_bits_is_an_error_not_a_panic() {
    let (line, col, msg, hint) = one_issue("[registry]\nhost_port = 99999999999999999999\n");
    assert_eq!((line, col), (2, 13));
    assert_eq!(msg, "`registry.host_port` is out of range");
    assert_eq!(hint, "e.g. host_port = 5001");
    let env = Env::from_pairs([("KINDLING_REGISTRY_HOST_PORT", "99999999999999999999")]);
    let err = config::load(&ConfigSource::Builtin, &env, &Overrides::default()).unwrap_err();
    assert_eq!(
        err.issues[0].message,
        "is out of range, got \"99999999999999999999\""
    );
}

#[test]
fn a_timeout_that_would_overflow_is_refused_where_it_was_set() {
    let env = Env::from_pairs([("KINDLING_TIMEOUTS_DOCKER", "18446744073709551615s")]);
    let err = config::load(&ConfigSource::Builtin, &env, &Overrides::default()).unwrap_err();
    assert_eq!(
        err.issues[0].origin,
        Origin::Env {
            var: "KINDLING_TIMEOUTS_DOCKER".into()
        }
    );
    assert_eq!(
        err.issues[0].message,
        "timeouts.docker \"18446744073709551615s\" is longer than 24h"
    );
    let (line, col, msg, _) = one_issue("[timeouts]\nrollout = \"25h\"\n");
    assert_eq!((line, col), (2, 11));
    assert_eq!(msg, "timeouts.rollout \"25h\" is longer than 24h");
}

#[test]
fn timeouts_are_durations_from_file_environment_and_flags() {
    let file = write_config("[timeouts]\ncomponent = \"1h 30m\"\n");
    let env = Env::from_pairs([("KINDLING_TIMEOUTS_CLUSTER", "90s")]);
    let overrides = Overrides {
        sets: vec!["timeouts.rollout=24h".into()],
    };
    let config = config::load(&ConfigSource::File(file.path().into()), &env, &overrides).unwrap();
    let t = config.timeouts;
    assert_eq!(t.component, Duration::from_secs(90 * 60));
    assert_eq!(t.cluster, Duration::from_secs(90));
    assert_eq!(t.rollout, Duration::from_secs(24 * 3600));
    assert_eq!(t.docker, Duration::from_secs(15), "the built-in default");
    assert!(config.to_redacted_toml().contains("component = \"1h 30m\""));
}

#[test]
fn a_fifo_as_configuration_is_refused_without_waiting_for_a_writer() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("bootstrap.toml");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let err = config::load(
        &ConfigSource::File(fifo),
        &Env::default(),
        &Overrides::default(),
    )
    .unwrap_err();
    assert_eq!(
        err.issues[0].message,
        "cannot read the configuration file: it is a FIFO (named pipe), not a regular file"
    );
}

#[test]
fn dev_zero_as_configuration_is_refused_without_reading_it() {
    let err = config::load(
        &ConfigSource::File("/dev/zero".into()),
        &Env::default(),
        &Overrides::default(),
    )
    .unwrap_err();
    assert_eq!(
        err.issues[0].message,
        "cannot read the configuration file: it is a character device, not a regular file"
    );
}

#[test]
fn a_configuration_over_1_mib_is_refused() {
    let big = format!("# {}\n", "x".repeat(1 << 20));
    let (line, col, msg, hint) = one_issue(&big);
    assert_eq!((line, col), (1, 1));
    assert_eq!(msg, "the configuration file is larger than 1 MiB");
    assert!(hint.contains("right file"), "{hint}");
}

#[test]
fn eighty_thousand_unknown_keys_are_reported_once_each_up_to_a_limit() {
    let text: String = std::iter::once("[registry]\n".to_string())
        .chain((0..80_000).map(|i| format!("k{i} = 1\n")))
        .collect();
    let found = issues(&text);
    assert_eq!(found.len(), 21, "20 in full and a count of the rest");
    assert_eq!(found[0].message, "unknown key `k0` in [registry]");
    let Origin::File { line, .. } = &found[19].origin else {
        panic!("{:?}", found[19].origin)
    };
    assert_eq!(*line, 21, "positions stay exact");
    assert_eq!(
        found[20].message,
        "... and 79980 more problem(s) like those above"
    );
}

#[test]
fn huge_values_are_not_echoed_back_whole() {
    let name = "X".repeat(100_000);
    let (_, _, msg, _) = one_issue(&format!("[cluster]\nname = \"{name}\"\n"));
    assert!(msg.len() < 200, "{} bytes: {}", msg.len(), &msg[..200]);
    assert!(
        msg.ends_with("… (100000 bytes) is not a DNS label"),
        "{msg}"
    );
}

#[test]
fn a_misspelled_credentials_flag_does_not_print_the_password() {
    let overrides = Overrides {
        sets: vec!["credentials.grafana_admin_passwrd=hunter2-secret".into()],
    };
    let err = config::load(&ConfigSource::Builtin, &Env::default(), &overrides).unwrap_err();
    let shown = format!("{err} {:?}", err.issues[0].hint);
    assert!(!shown.contains("hunter2"), "{shown}");
    assert!(
        shown.contains("did you mean `credentials.grafana_admin_password`?"),
        "{shown}"
    );
    // Through the binary, as the user sees it.
    let out = support::kindling()
        .args([
            "--set",
            "credentials.grafana_admin_passwrd=hunter2-secret",
            "config",
            "check",
        ])
        .output()
        .unwrap();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(2), "{all}");
    assert!(!all.contains("hunter2"), "{all}");
}

#[test]
fn versions_that_could_become_paths_or_commands_are_refused() {
    for (key, bad) in [
        ("argocd", "v3.5.1-;rm -rf /"),
        ("argocd", "v3.5.1-/../../../../tmp/x"),
        ("argo_rollouts", "v1.9.1+../x"),
        ("cert_manager", "v1.21.1 "),
        ("traefik", "41.3.0/.."),
        ("kube_prometheus_stack", "88.5.3-$(id)"),
    ] {
        let found = issues(&format!("[components]\n{key} = {bad:?}\n"));
        assert_eq!(found.len(), 1, "{key} = {bad:?}: {found:?}");
        assert!(
            found[0].message.ends_with("is not a valid version"),
            "{key} = {bad:?}: {}",
            found[0].message
        );
    }
    let found = issues("[cluster]\nkind_version = \"v0.33.0/../../bin\"\n");
    assert!(
        found[0].message.contains("is not a release tag"),
        "{found:?}"
    );
    // SemVer pre-releases and build metadata are fine.
    let file = write_config(
        "[components]\nargocd = \"v3.6.0-rc.1\"\ntraefik = \"41.3.0+build.7\"\n[cluster]\nkind_version = \"v0.34.0-alpha\"\n",
    );
    config::load(
        &ConfigSource::File(file.path().into()),
        &Env::default(),
        &Overrides::default(),
    )
    .unwrap();
}

#[test]
fn a_port_collision_is_blamed_on_the_users_value_not_the_default() {
    let (line, col, msg, _) = one_issue("[registry]\nhost_port = 443\n");
    assert_eq!((line, col), (2, 13));
    assert_eq!(
        msg,
        "registry.host_port is 443, the same port as network.https_port"
    );
    let env = Env::from_pairs([("KINDLING_REGISTRY_HOST_PORT", "80")]);
    let err = config::load(&ConfigSource::Builtin, &env, &Overrides::default()).unwrap_err();
    assert_eq!(
        err.issues[0].origin,
        Origin::Env {
            var: "KINDLING_REGISTRY_HOST_PORT".into()
        }
    );
}

#[test]
fn environment_variables_that_are_no_setting_are_warned_about() {
    let env = Env::from_pairs([
        ("KINDLING_REGISTY_HOST_PORT", "5002"),
        ("KINDLING_DATA_DIR", "/tmp/x"),
        ("KINDLING_SUDO", "none"),
        ("KINDLING_TEST_ANYTHING", "1"),
        ("KINDLING_REGISTRY_HOST_PORT", "5003"),
    ]);
    let warnings = config::unknown_env_vars(&env);
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert_eq!(
        warnings[0].message,
        "KINDLING_REGISTY_HOST_PORT is not a kindling setting: ignored"
    );
    assert_eq!(
        warnings[0].hint.as_deref(),
        Some("did you mean KINDLING_REGISTRY_HOST_PORT?")
    );
    // Through the binary: a warning on stderr, the configuration still valid.
    let dir = tempfile::tempdir().unwrap();
    let out = support::kindling()
        .args(["config", "check"])
        .current_dir(dir.path())
        .env("KINDLING_REGISTY_HOST_PORT", "5002")
        .env("KINDLING_CACHE_DIR", dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("warning: KINDLING_REGISTY_HOST_PORT is not a kindling setting: ignored"),
        "{stderr}"
    );
    assert!(
        stderr.contains("did you mean KINDLING_REGISTRY_HOST_PORT?"),
        "{stderr}"
    );
    assert!(!stderr.contains("KINDLING_CACHE_DIR"), "{stderr}");
}
