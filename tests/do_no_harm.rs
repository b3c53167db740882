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
        run.stderr.contains("--set registry.name=kindling-mirror-quay-io")
            && run.stderr.contains("registry.name \"kindling-mirror-quay-io\"")
            && run.stderr.contains("mirror \"quay.io\""),
        "{run:?}"
    );
}
