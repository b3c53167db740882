//! What a failing command prints, from the real binary: one line per cause, each said once,
//! hints that name the failed step, a JSON error object and a final event with `--output
//! json`, colour only from the one styling layer, and no library log lines without `-v`.
//! Times, temp paths and OS error numbers are filtered out of the snapshots.

mod cluster_support;
mod support;

use std::path::Path;
use std::process::Output;

/// The binary in a sandbox of its own: no KINDLING_* from outside, a kind download URL
/// nothing listens on, and no kind CLI on PATH.
fn kindling(dir: &Path, args: &[&str]) -> assert_cmd::Command {
    let mut c = support::kindling();
    for (key, _) in std::env::vars().filter(|(k, _)| k.starts_with("KINDLING_")) {
        c.env_remove(key);
    }
    for key in [
        "KUBECONFIG",
        "RUST_LOG",
        "NO_COLOR",
        "CLICOLOR_FORCE",
        "CLICOLOR",
    ] {
        c.env_remove(key);
    }
    c.current_dir(dir)
        .env("HOME", dir.join("home"))
        .env("PATH", "/usr/bin:/bin")
        .env("KINDLING_DATA_DIR", dir.join("data"))
        .env("KINDLING_CACHE_DIR", dir.join("cache"))
        .env("KINDLING_HOSTS_FILE", dir.join("hosts"))
        .env("KINDLING_SUDO", "none")
        .env("KINDLING_KIND_DOWNLOAD_URL", "http://127.0.0.1:9/kind")
        // An empty stdin, closed at once (no terminal).
        .write_stdin("")
        .args(args);
    c
}

fn run(dir: &Path, args: &[&str]) -> Output {
    kindling(dir, args).output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Filters for what changes from run to run: clock times, durations, OS error numbers.
fn filters() -> Vec<(&'static str, &'static str)> {
    vec![
        (r"(?m)^\d\d:\d\d:\d\d ", ""),
        (r"\b\d+(\.\d)?(ms|s)\b", "[TIME]"),
        (r"\b\d+m(\d\ds)?\b", "[TIME]"),
        (r" \(os error \d+\)", ""),
        (r"kind-(linux|darwin)-(amd64|arm64)", "kind-[OS]-[ARCH]"),
    ]
}

#[test]
fn an_unreachable_download_says_so_once_with_each_cause_on_its_line_and_the_offline_bundle() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &["cluster", "up"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    // Nothing is said twice ("cluster: cluster: cannot download …: …").
    assert!(!stderr.contains("cluster: cluster"), "{stderr}");
    insta::with_settings!({ filters => filters() }, {
        insta::assert_snapshot!(stderr, @r"
          kind CLI ...
            downloading kind v0.33.0 [TIME]
        ✗ kind CLI: cannot download kind v0.33.0 from http://127.0.0.1:9/kind/v0.33.0/kind-[OS]-[ARCH]: cannot reach 127.0.0.1 [TIME]
        ✗ kindling cluster up failed after [TIME]
        error: cannot download kind v0.33.0 from http://127.0.0.1:9/kind/v0.33.0/kind-[OS]-[ARCH]
          caused by: cannot reach 127.0.0.1
          caused by: error sending request for url (http://127.0.0.1:9/kind/v0.33.0/kind-[OS]-[ARCH].sha256sum)
          caused by: client error (Connect)
          caused by: tcp connect error
          caused by: Connection refused
          hint: check the network (and any proxy: HTTPS_PROXY); without internet, bring the platform up from an offline bundle: `kindling up --bundle FILE` (docs/workshop.md)
        ");
    });
}

/// Every key of every object in `value`, recursively.
fn keys(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                out.push(k.clone());
                keys(v, out);
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| keys(v, out)),
        _ => {}
    }
}

#[test]
fn with_output_json_the_events_end_with_finished_and_the_error_is_one_json_object() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &["--output", "json", "cluster", "up"]);
    assert_eq!(out.status.code(), Some(1));
    let events: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let names: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["step_started", "step_progress", "step_failed", "finished"]
    );
    // The failed step carries its hint; every key is camelCase.
    assert!(events[2]["hints"][0].as_str().unwrap().contains("--bundle"));
    let mut all = Vec::new();
    events.iter().for_each(|e| keys(e, &mut all));
    assert!(all.iter().all(|k| !k.contains('_')), "{all:?}");
    let finished = &events[3];
    assert_eq!(finished["ok"], false);
    assert_eq!(finished["exitCode"], 1);
    assert_eq!(finished["command"], "cluster up");
    assert!(finished["elapsedMs"].is_u64());
    // stderr holds the same error, as one JSON object.
    let error: serde_json::Value = serde_json::from_slice(&out.stderr).unwrap();
    assert_eq!(error, finished["error"]);
    assert_eq!(error["causes"][0], "cannot reach 127.0.0.1");
    assert_eq!(error["area"], "cluster");
    assert_eq!(error["exitCode"], 1);
}

#[test]
fn a_document_command_prints_its_document_alone_and_its_error_as_json_on_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(
        dir.path(),
        &[
            "--output",
            "json",
            "--set",
            "registry.host_port=abc",
            "config",
            "check",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        text(&out.stdout),
        "",
        "no finished event after a document command"
    );
    let error: serde_json::Value = serde_json::from_slice(&out.stderr).unwrap();
    assert_eq!(error["exitCode"], 2);
    assert_eq!(error["area"], "configuration");
    let problem = error["problems"][0]["message"].as_str().unwrap();
    assert!(problem.contains("registry.host_port"), "{problem}");
}

#[test]
fn colour_comes_from_one_place_and_no_color_turns_it_off_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let bad = ["--set", "registry.host_port=abc", "config", "check"];
    // CLICOLOR_FORCE asks for colour on a pipe; --no-color and NO_COLOR win over it.
    let forced = kindling(dir.path(), &bad)
        .env("CLICOLOR_FORCE", "1")
        .output()
        .unwrap();
    assert!(
        text(&forced.stderr).contains("\x1b["),
        "{:?}",
        text(&forced.stderr)
    );
    let mut no_color = vec!["--no-color"];
    no_color.extend(bad);
    let flag = kindling(dir.path(), &no_color)
        .env("CLICOLOR_FORCE", "1")
        .output()
        .unwrap();
    let env = kindling(dir.path(), &bad)
        .env("CLICOLOR_FORCE", "1")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    for out in [flag, env] {
        let stderr = text(&out.stderr);
        assert!(!stderr.contains('\x1b'), "{stderr:?}");
        assert!(
            stderr.starts_with("error: flag --set registry.host_port=abc"),
            "{stderr}"
        );
    }
}

/// A kubeconfig holding kindling's context for an API server nothing listens on.
fn unreachable_kubeconfig(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("kubeconfig");
    let server = format!("https://127.0.0.1:{}", support::free_port());
    std::fs::write(
        &path,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: kind-kindling\n  cluster:\n    server: {server}\n    insecure-skip-tls-verify: true\ncontexts:\n- name: kind-kindling\n  context: {{cluster: kind-kindling, user: kind-kindling}}\ncurrent-context: kind-kindling\nusers:\n- name: kind-kindling\n  user: {{token: x}}\n"
        ),
    )
    .unwrap();
    path
}

#[test]
fn library_log_lines_stay_quiet_without_verbose() {
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = unreachable_kubeconfig(dir.path());
    let args = [
        "rollout",
        "status",
        "staging",
        "--kubeconfig",
        kubeconfig.to_str().unwrap(),
    ];
    // The same failure with the libraries' warnings on logs kube-client's ERROR line...
    let logged = kindling(dir.path(), &args)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        text(&logged.stderr).contains("failed with error"),
        "{}",
        text(&logged.stderr)
    );
    // ... which the default filter keeps out: only kindling's own error remains.
    let out = run(dir.path(), &args);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(!stderr.contains("ERROR"), "{stderr}");
    assert!(
        stderr.starts_with("error: get Rollout staging/demo-app failed\n"),
        "{stderr}"
    );
    assert!(
        stderr.contains("  caused by: client error (Connect)\n"),
        "{stderr}"
    );
}

/// A sandboxed `up` that passes preflight and then fails in two steps at once: the
/// registry's image cannot be had, and neither can kind.
#[test]
fn a_failed_up_says_how_long_it_ran_and_names_each_failed_step_on_its_hints() {
    if support::docker_available().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("home")).unwrap();
    std::fs::write(dir.path().join("hosts"), "127.0.0.1 localhost\n").unwrap();
    let name = support::unique("kerr");
    let _volumes = cluster_support::ClusterVolumes(name.clone());
    let args = support::failing_up_args(&name);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = run(dir.path(), &args);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let tail = &stderr[stderr.find("✗ kindling up failed after").expect(&stderr)..];
    let lines: Vec<&str> = tail.lines().collect();
    assert_eq!(
        lines[1], "error: 2 steps failed: registry, cluster",
        "{tail}"
    );
    assert!(
        lines.contains(&"  cluster: cannot download kind v0.33.0 from http://127.0.0.1:9/kind/v0.33.0/kind-linux-amd64")
            || lines.iter().any(|l| l.starts_with("  cluster: cannot download kind v0.33.0")),
        "{tail}"
    );
    assert!(
        lines.contains(&"    caused by: cannot reach 127.0.0.1"),
        "{tail}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("  hint (cluster): ") && l.contains("kindling up --bundle")),
        "{tail}"
    );
    assert!(
        lines.iter().any(|l| l.starts_with("  hint (registry): ")),
        "{tail}"
    );
    assert!(!stderr.contains("cluster: cluster"), "{stderr}");
    // The summary of the host comes before the error, as on success.
    assert!(
        stderr
            .find("nothing of kindling's is on this host")
            .unwrap()
            < stderr.find("✗ kindling up failed").unwrap()
    );
}
