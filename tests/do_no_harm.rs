//! kindling never damages what it does not own, and says what it changed: the real binary in
//! a sandbox (its own data dir, HOME, hosts file; KINDLING_SUDO=none), with the real Docker
//! engine where containers are involved.

mod registry_support;
mod support;

use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// A private HOME, data dir, cache dir and hosts file for one test.
struct Sandbox {
    dir: tempfile::TempDir,
}

impl Sandbox {
    fn new() -> Sandbox {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("home")).unwrap();
        std::fs::write(dir.path().join("hosts"), "127.0.0.1 localhost\n").unwrap();
        Sandbox { dir }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn data(&self) -> PathBuf {
        self.path("data")
    }

    /// The binary with only this sandbox's settings (no KINDLING_* or KUBECONFIG from outside).
    fn kindling(&self, args: &[&str]) -> Command {
        let mut c = Command::new(support::kindling_bin());
        for (key, _) in std::env::vars().filter(|(k, _)| k.starts_with("KINDLING_")) {
            c.env_remove(key);
        }
        c.current_dir(self.dir.path())
            .env_remove("KUBECONFIG")
            .env("HOME", self.path("home"))
            .env("KINDLING_DATA_DIR", self.data())
            .env("KINDLING_CACHE_DIR", self.path("cache"))
            .env("KINDLING_HOSTS_FILE", self.path("hosts"))
            .env("KINDLING_SUDO", "none")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .args(args);
        c
    }

    fn run(&self, args: &[&str]) -> Run {
        self.kindling(args).output().unwrap().into()
    }
}

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl From<Output> for Run {
    fn from(o: Output) -> Run {
        Run {
            code: o.status.code(),
            stdout: String::from_utf8_lossy(&o.stdout).into(),
            stderr: String::from_utf8_lossy(&o.stderr).into(),
        }
    }
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {:?}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

// ---- 4. colliding container names are refused at load -------------------------------------

#[test]
fn mirrors_that_map_to_one_container_are_refused_naming_both() {
    let sandbox = Sandbox::new();
    let config = sandbox.path("bootstrap.toml");
    write(&config, "[registry]\nmirrors = [\"a-b.io\", \"a.b-io\"]\n");
    let run = sandbox.run(&["--config", config.to_str().unwrap(), "config", "check"]);
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(
        run.stderr.contains("bootstrap.toml:2:")
            && run.stderr.contains("\"a-b.io\"")
            && run.stderr.contains("\"a.b-io\"")
            && run.stderr.contains("kindling-mirror-a-b-io"),
        "{run:?}"
    );
}

#[test]
fn a_registry_named_like_a_mirror_is_refused_naming_both() {
    let sandbox = Sandbox::new();
    let run = sandbox.run(&[
        "--set",
        "registry.name=kindling-mirror-quay-io",
        "config",
        "check",
    ]);
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(
        run.stderr
            .contains("--set registry.name=kindling-mirror-quay-io")
            && run
                .stderr
                .contains("registry.name \"kindling-mirror-quay-io\"")
            && run.stderr.contains("mirror \"quay.io\""),
        "{run:?}"
    );
}

// ---- 6. the hosts file: symlinks, folders, no lock file left ----------------------------------

/// Every entry of a folder, sorted (to see what a run left behind).
fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn a_symlinked_hosts_file_is_edited_at_its_target_and_stays_a_link() {
    let sandbox = Sandbox::new();
    let real = sandbox.path("etc-real/hosts");
    write(&real, "127.0.0.1 localhost\n");
    let link = sandbox.path("etc/hosts");
    std::fs::create_dir_all(link.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let args = ["--set", "network.domain=test", "hosts", "apply", "--file"];
    let run = sandbox.run(&[&args[..], &[link.to_str().unwrap()]].concat());
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink(),
        "the link was replaced by a file"
    );
    let text = std::fs::read_to_string(&real).unwrap();
    assert!(
        text.starts_with("127.0.0.1 localhost\n") && text.contains("demo.test"),
        "{text}"
    );
    // Nothing beside the link, nothing beside the target but the file itself.
    assert_eq!(entries(link.parent().unwrap()), ["hosts"]);
    assert_eq!(entries(real.parent().unwrap()), ["hosts"]);
    let remove = ["--set", "network.domain=test", "hosts", "remove", "--file"];
    let run = sandbox.run(&[&remove[..], &[link.to_str().unwrap()]].concat());
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(
        std::fs::read_to_string(&real).unwrap(),
        "127.0.0.1 localhost\n"
    );
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
}

#[test]
fn hosts_apply_on_a_folder_is_refused_and_creates_nothing() {
    let sandbox = Sandbox::new();
    let folder = sandbox.path("root");
    std::fs::create_dir_all(&folder).unwrap();
    let before = entries(sandbox.dir.path());
    let run = sandbox.run(&[
        "--set",
        "network.domain=test",
        "hosts",
        "apply",
        "--file",
        folder.to_str().unwrap(),
    ]);
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(
        run.stderr.contains("is not a regular file") && run.stderr.contains("--file"),
        "{run:?}"
    );
    assert_eq!(
        entries(sandbox.dir.path()),
        before,
        "no lock or temp file beside it"
    );
    assert!(entries(&folder).is_empty(), "nothing inside it");
}

#[test]
fn hosts_apply_and_remove_leave_no_lock_file_behind() {
    let sandbox = Sandbox::new();
    let etc = sandbox.path("etc");
    let file = etc.join("hosts");
    write(&file, "127.0.0.1 localhost\n");
    for action in ["apply", "remove"] {
        let run = sandbox.run(&[
            "--set",
            "network.domain=test",
            "hosts",
            action,
            "--file",
            file.to_str().unwrap(),
        ]);
        assert_eq!(run.code, Some(0), "{run:?}");
        assert_eq!(entries(&etc), ["hosts"], "after hosts {action}");
    }
}
