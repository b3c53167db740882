//! The real binary: help and error output (snapshots with times and paths filtered),
//! exit codes, and doctor against the real Docker engine.

mod support;

use std::net::{Ipv4Addr, TcpListener};
use std::process::{Command, Output};

fn kindling(args: &[&str], env: &[(&str, &str)]) -> Output {
    support::kindling()
        .args(args)
        .env("NO_COLOR", "1")
        .current_dir(std::env::temp_dir())
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Replaces what differs between runs and machines.
fn filter(s: &str) -> String {
    let tmp = std::env::temp_dir().display().to_string();
    s.replace(&tmp, "[TMP]")
        .replace(env!("CARGO_PKG_VERSION"), "[VERSION]")
}

/// Compares with tests/snapshots/cli__<name>.snap (`cargo insta review` accepts a change).
fn assert_snapshot(name: &str, actual: &str) {
    insta::assert_snapshot!(name, filter(actual));
}

#[test]
fn help_snapshot() {
    let out = kindling(&["--help"], &[]);
    assert!(out.status.success());
    assert_snapshot("help", &text(&out.stdout));
}

#[test]
fn config_help_snapshot() {
    let out = kindling(&["config", "--help"], &[]);
    assert!(out.status.success());
    assert_snapshot("config-help", &text(&out.stdout));
}

#[test]
fn unknown_subcommand_is_a_usage_error() {
    let out = kindling(&["frobnicate"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert_snapshot("unknown-subcommand", &text(&out.stderr));
}

#[test]
fn unknown_flag_is_a_usage_error() {
    let out = kindling(&["doctor", "--colour"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert_snapshot("unknown-flag", &text(&out.stderr));
}

#[test]
fn bad_env_override_exits_2_with_hint() {
    let out = kindling(
        &["config", "check"],
        &[("KINDLING_REGISTRY_HOST_PORT", "abc")],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    assert_snapshot("bad-env", &text(&out.stderr));
}

#[test]
fn bad_config_file_exits_2_with_location() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bootstrap.toml");
    std::fs::write(
        &file,
        "[cluster]\nnmae = \"x\"\n\n[registry]\nhost_port = 99999\n",
    )
    .unwrap();
    let out = kindling(
        &["config", "check", "--config", file.to_str().unwrap()],
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr).replace(&file.display().to_string(), "[FILE]");
    assert_snapshot("bad-config", &stderr);
}

#[test]
fn global_flags_work_after_the_subcommand() {
    let before = kindling(
        &[
            "--output",
            "json",
            "--set",
            "cluster.name=abc",
            "config",
            "show",
        ],
        &[],
    );
    let after = kindling(
        &[
            "config",
            "show",
            "--output",
            "json",
            "--set",
            "cluster.name=abc",
        ],
        &[],
    );
    assert!(before.status.success() && after.status.success());
    assert_eq!(before.stdout, after.stdout);
    let shown: serde_json::Value = serde_json::from_slice(&after.stdout).unwrap();
    assert_eq!(shown["cluster"]["name"], "abc");
    assert!(shown["paths"]["dataDir"].is_string());
}

#[test]
fn config_show_uses_data_and_cache_dir_overrides() {
    let out = kindling(
        &["config", "show", "--output", "json"],
        &[
            ("KINDLING_DATA_DIR", "/tmp/kd-data"),
            ("KINDLING_CACHE_DIR", "/tmp/kd-cache"),
        ],
    );
    let shown: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(shown["paths"]["dataDir"], "/tmp/kd-data");
    assert_eq!(shown["paths"]["cacheDir"], "/tmp/kd-cache");
}

#[test]
fn config_show_prints_the_effective_configuration() {
    let out = kindling(
        &["config", "show"],
        &[("KINDLING_REGISTRY_HOST_PORT", "5099")],
    );
    assert!(out.status.success());
    let stdout = text(&out.stdout);
    assert!(stdout.contains("host_port = 5099"), "{stdout}");
    // What it prints is itself a valid configuration.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("shown.toml"), &stdout).unwrap();
    let check = kindling(
        &[
            "config",
            "check",
            "--config",
            dir.path().join("shown.toml").to_str().unwrap(),
        ],
        &[],
    );
    assert!(check.status.success(), "{}", text(&check.stderr));
}

#[test]
fn version_lists_pinned_components() {
    let out = kindling(&["version", "--output", "json"], &[]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(v["pinned"]["argocd"], "v3.5.1");
    assert_eq!(v["pinned"]["kind"], "v0.33.0");
}

#[test]
fn completions_are_generated() {
    let out = kindling(&["completions", "bash"], &[]);
    assert!(out.status.success());
    assert!(text(&out.stdout).contains("_kindling()"));
}

fn doctor_json(env: &[(&str, &str)]) -> (Option<i32>, Vec<serde_json::Value>, String) {
    let out = kindling(&["doctor", "--output", "json"], env);
    let verdict: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("doctor printed no JSON object ({e}): {}", text(&out.stdout)));
    let checks = verdict["checks"].as_array().unwrap().clone();
    // The overall verdict is the worst check, and it decides the exit code.
    let failed = checks.iter().filter(|c| c["status"] == "fail").count();
    assert_eq!(verdict["failed"], failed);
    match out.status.code() {
        Some(3) => assert_eq!(verdict["status"], "fail"),
        _ => assert_ne!(verdict["status"], "fail"),
    }
    (out.status.code(), checks, text(&out.stderr))
}

fn check<'a>(checks: &'a [serde_json::Value], name: &str) -> &'a serde_json::Value {
    checks
        .iter()
        .find(|c| c["check"] == name)
        .unwrap_or_else(|| panic!("no check {name} in {checks:?}"))
}

#[test]
fn doctor_reports_the_real_docker_engine() {
    if support::docker_available().is_none() {
        return;
    }
    let (p1, p2, p3) = (
        support::free_port(),
        support::free_port(),
        support::free_port(),
    );
    let (p1, p2, p3) = (p1.to_string(), p2.to_string(), p3.to_string());
    let (_, checks, _) = doctor_json(&[
        ("KINDLING_REGISTRY_HOST_PORT", &p1),
        ("KINDLING_NETWORK_HTTP_PORT", &p2),
        ("KINDLING_NETWORK_HTTPS_PORT", &p3),
    ]);
    for c in &checks {
        let keys: Vec<&str> = c.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, ["check", "detail", "hint", "status"]);
        assert!(["ok", "warn", "fail"].contains(&c["status"].as_str().unwrap()));
    }
    let docker = check(&checks, "docker");
    assert_ne!(docker["status"], "fail", "{docker}");
    assert!(
        docker["detail"].as_str().unwrap().starts_with("Docker "),
        "{docker}"
    );
    assert!(docker["detail"].as_str().unwrap().contains("GiB memory"));
    assert_eq!(check(&checks, &format!("port {p1}"))["status"], "ok");
    for name in [
        "cgroup",
        "inotify",
        "disk",
        "kind",
        "hosts file",
        "leftovers",
    ] {
        check(&checks, name);
    }
}

#[test]
fn doctor_fails_with_a_hint_when_docker_is_down() {
    let (code, checks, stderr) = doctor_json(&[("DOCKER_HOST", "unix:///nonexistent/docker.sock")]);
    assert_eq!(code, Some(3));
    let docker = check(&checks, "docker");
    assert_eq!(docker["status"], "fail");
    assert!(
        docker["detail"]
            .as_str()
            .unwrap()
            .contains("/nonexistent/docker.sock")
    );
    assert!(docker["hint"].as_str().unwrap().contains("DOCKER_HOST"));
    // With --output json the error on stderr is one JSON object too.
    let error: serde_json::Value =
        serde_json::from_str(&stderr).unwrap_or_else(|e| panic!("{e}: {stderr}"));
    assert_eq!(error["message"], "1 preflight check(s) failed");
    assert_eq!(error["exitCode"], 3);
    assert!(!stderr.contains("panicked"));
}

#[test]
fn doctor_names_the_process_holding_a_port() {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let (code, checks, _) = doctor_json(&[
        ("KINDLING_REGISTRY_HOST_PORT", &port),
        ("DOCKER_HOST", "unix:///nonexistent/docker.sock"),
    ]);
    assert_eq!(code, Some(3));
    let held = check(&checks, &format!("port {port}"));
    assert_eq!(held["status"], "fail");
    let detail = held["detail"].as_str().unwrap();
    assert!(
        detail.contains(&format!("pid {}", std::process::id())),
        "{detail}"
    );
    assert!(
        held["hint"]
            .as_str()
            .unwrap()
            .contains("registry.host_port")
    );
    drop(listener);
}

#[test]
fn doctor_human_output_marks_each_check() {
    let out = kindling(
        &["doctor"],
        &[("DOCKER_HOST", "unix:///nonexistent/docker.sock")],
    );
    assert_eq!(out.status.code(), Some(3));
    let stdout = text(&out.stdout);
    assert!(
        stdout.lines().any(|l| l.starts_with("✗ docker")),
        "{stdout}"
    );
    assert!(stdout.contains("hint: start Docker"));
}

/// While Docker starts (or stops) a container, its docker-proxy holds the published port but
/// the container is not listed as running. A kindling container's port held that way is
/// kindling's (an interrupted `up` leaves a node or cache mid-start); anyone else's is not.
#[test]
fn doctor_knows_a_port_docker_proxy_holds_for_a_kindling_container_not_yet_running() {
    if support::docker_available().is_none() {
        return;
    }
    let image = support::registry_image();
    let docker = |args: &[&str]| Command::new("docker").args(args).output().unwrap();
    if !docker(&["image", "inspect", &image]).status.success() {
        support::skip::<()>(&format!("no image {image} (scripts/test.sh builds it)"));
        return;
    }
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    // This test process plays docker-proxy (nextest runs each test in its own process).
    std::fs::write("/proc/self/comm", "docker-proxy").unwrap();
    let doctor_port = || {
        let (_, checks, _) = doctor_json(&[("KINDLING_REGISTRY_HOST_PORT", &port)]);
        check(&checks, &format!("port {port}")).clone()
    };

    // No container binds the port: docker-proxy is someone else's.
    let held = doctor_port();
    assert_eq!(held["status"], "fail", "{held}");
    assert!(
        held["detail"].as_str().unwrap().contains("docker-proxy"),
        "{held}"
    );

    // A created (not started) kindling container binds it: it is kindling's, named with its state.
    let name = support::unique("kdoc");
    let created = docker(&[
        "create",
        "--name",
        &name,
        "--label",
        "dev.kindling.managed=true",
        "-p",
        &format!("127.0.0.1:{port}:5000"),
        &image,
    ]);
    assert!(created.status.success(), "{created:?}");
    let held = doctor_port();
    docker(&["rm", "-f", &name]);
    assert_eq!(held["status"], "ok", "{held}");
    let detail = held["detail"].as_str().unwrap();
    assert!(
        detail.contains(&format!("kindling's container {name} (created)")),
        "{detail}"
    );
    drop(listener);
}
