//! A closed stdout (`kindling ... | head -1`) ends every printing command quietly with the
//! status shells give a process killed by SIGPIPE (141), never a panic message.

mod support;

use std::process::{Command, Stdio};

/// Runs kindling with stdout a pipe whose reading end is already closed: the first write
/// fails with EPIPE, deterministically (no race with a reader).
fn into_closed_pipe(args: &[&str]) -> (Option<i32>, String) {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(support::kindling_bin())
        .args(args)
        .current_dir(dir.path())
        .env("KINDLING_CACHE_DIR", dir.path())
        .env("KINDLING_DATA_DIR", dir.path())
        .stdin(Stdio::null())
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn printing_commands_end_quietly_when_stdout_is_closed() {
    let rollout = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        rollout.path(),
        "kind: Rollout\nmetadata: {name: r}\nspec: {strategy: {canary: {}}}\nstatus: {phase: Healthy}\n",
    )
    .unwrap();
    let manifest = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        manifest.path(),
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n",
    )
    .unwrap();
    let schemas = tempfile::tempdir().unwrap();
    let rollout_file = rollout.path().to_str().unwrap();
    let manifest_file = manifest.path().to_str().unwrap();
    let schemas_dir = schemas.path().to_str().unwrap();
    for args in [
        vec!["completions", "bash"],
        vec!["completions", "zsh"],
        vec!["version"],
        vec!["--output", "json", "version"],
        vec!["config", "show"],
        vec!["config", "check"],
        vec!["rollout", "status", "--file", rollout_file],
        vec!["lint", "--schemas", schemas_dir, manifest_file],
    ] {
        let (code, stderr) = into_closed_pipe(&args);
        assert_eq!(code, Some(141), "kindling {args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "kindling {args:?}: {stderr}");
        assert_eq!(stderr, "", "kindling {args:?} ends quietly");
    }
}
