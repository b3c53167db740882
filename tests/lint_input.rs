//! What `kindling lint` reads, in bounded time and memory: folders with symlink loops and
//! FIFOs end, endless stdin is refused as too large, many documents are linted (not called
//! invalid), and core objects are checked when no CRD schemas are at hand.

mod support;

use std::os::unix::fs::OpenOptionsExt;
use std::process::{Command, Output, Stdio};

fn config_map(name: &str) -> String {
    format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  a: b\n")
}

fn lint(args: &[&std::ffi::OsStr], stdin: Stdio) -> Output {
    let schemas = tempfile::tempdir().unwrap();
    Command::new(support::kindling_bin())
        .args(["--output", "json", "lint", "--schemas"])
        .arg(schemas.path())
        .args(args)
        .stdin(stdin)
        .output()
        .unwrap()
}

fn report(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: stdout {:?} stderr {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

#[test]
fn a_folder_with_symlink_loops_is_walked_once() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    std::fs::write(sub.join("a.yaml"), config_map("a")).unwrap();
    // sub/up -> .. and sub/self -> . : following either leads back into the walk.
    std::os::unix::fs::symlink("..", sub.join("up")).unwrap();
    std::os::unix::fs::symlink(".", sub.join("self")).unwrap();
    let out = lint(&[dir.path().as_os_str()], Stdio::null());
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let objects = report(&out)["objects"].as_array().unwrap().clone();
    assert_eq!(objects.len(), 1, "a.yaml read once: {objects:#?}");
}

#[test]
fn a_fifo_in_a_folder_is_skipped_not_waited_on() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.yaml"), config_map("a")).unwrap();
    let fifo = dir.path().join("pipe.yaml");
    let status = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(status.success());
    // Nobody ever writes to it: reading it would block forever.
    let out = lint(&[dir.path().as_os_str()], Stdio::null());
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(report(&out)["objects"].as_array().unwrap().len(), 1);
}

#[test]
fn endless_stdin_is_refused_as_too_large() {
    let zero = std::fs::File::open("/dev/zero").unwrap();
    let out = lint(&["-".as_ref()], Stdio::from(zero));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    // --output json: the error is one JSON object on stderr.
    let error: serde_json::Value =
        serde_json::from_str(&stderr).unwrap_or_else(|e| panic!("{e}: {stderr}"));
    assert_eq!(error["message"], "- is too large to lint: more than 32 MiB");
    assert!(!error["hints"].as_array().unwrap().is_empty(), "{stderr}");
}

#[test]
fn more_than_1024_documents_are_all_linted() {
    let text: String = (0..1500)
        .map(|i| format!("---\n{}", config_map(&format!("cm{i}"))))
        .collect();
    let schemas = tempfile::tempdir().unwrap();
    let out = support::kindling()
        .args(["--output", "json", "lint", "--schemas"])
        .arg(schemas.path())
        .arg("-")
        .write_stdin(text)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = report(&out);
    let objects = report["objects"].as_array().unwrap();
    assert_eq!(objects.len(), 1500);
    assert!(objects.iter().all(|o| o["status"] == "valid"));
}

#[test]
fn a_document_storm_is_too_large_not_invalid() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("storm.yaml");
    std::fs::write(&file, "---\nx\n".repeat(100_001)).unwrap();
    let out = lint(&[file.as_os_str()], Stdio::null());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("is too large to lint"), "{stderr}");
    assert!(!stderr.contains("invalid"), "{stderr}");
}

#[test]
fn a_named_pipe_argument_is_read_like_a_file() {
    // `kindling lint <(kustomize build ...)` passes a pipe: read it, bounded.
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("rendered");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let writer_path = fifo.clone();
    let writer = std::thread::spawn(move || {
        std::fs::write(writer_path, config_map("piped")).unwrap();
    });
    let out = lint(&[fifo.as_os_str()], Stdio::null());
    // Had kindling not opened the pipe, the writer would wait forever: open it once here so
    // the test fails instead of hanging.
    let _ = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32)
        .open(&fifo);
    let _ = writer.join();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(report(&out)["objects"][0]["name"], "piped");
}

#[test]
fn without_a_schema_folder_core_objects_are_still_checked() {
    // No --schemas and an empty download cache (a machine before its first `up`).
    let cache = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("svc.yaml");
    std::fs::write(
        &file,
        "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec:\n  selectr: {app: a}\n",
    )
    .unwrap();
    let out = support::kindling()
        .args(["--output", "json", "lint"])
        .arg(&file)
        .env("KINDLING_CACHE_DIR", cache.path().join("not-yet"))
        .env_remove("KINDLING_SCHEMAS_DIR")
        .current_dir(dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let report = report(&out);
    assert_eq!(report["schemas"], serde_json::Value::Null, "{report:#}");
    assert_eq!(
        report["objects"][0]["messages"][0],
        ".spec.selectr: field not declared in schema"
    );
    // In human output the missing folder is a warning with what to do.
    let out = support::kindling()
        .arg("lint")
        .arg(&file)
        .env("KINDLING_CACHE_DIR", cache.path().join("not-yet"))
        .env_remove("KINDLING_SCHEMAS_DIR")
        .current_dir(dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("no CRD schemas in"), "{stderr}");
    assert!(stderr.contains("kindling up"), "{stderr}");
    // A folder named explicitly must exist: a typo would skip every custom resource.
    let out = support::kindling()
        .args(["lint", "--schemas"])
        .arg(cache.path().join("typo"))
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
