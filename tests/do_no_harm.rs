//! kindling never damages what it does not own, and says what it changed: the real binary in
//! a sandbox (its own data dir, HOME, hosts file; KINDLING_SUDO=none), with the real Docker
//! engine where containers are involved.

mod cluster_support;
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

// ---- 3, 5 and the truth about caches: registry containers on the real Docker engine -------

/// `kindling <args>` for a registry fixture: its names, port, image and mirrors by environment.
fn registry_cli(fx: &registry_support::Fixture, args: &[&str], extra: &[(&str, &str)]) -> Run {
    let config = &fx.config;
    let mut c = Command::new(support::kindling_bin());
    c.args(args)
        .env("KINDLING_REGISTRY_IMAGE", &config.registry.image)
        .env("KINDLING_REGISTRY_NAME", &config.registry.name)
        .env(
            "KINDLING_REGISTRY_HOST_PORT",
            config.registry.host_port.to_string(),
        )
        .env("KINDLING_CLUSTER_NAME", &config.cluster.name)
        .env(
            "KINDLING_REGISTRY_MIRRORS",
            config.registry.mirrors.join(","),
        )
        .env("KINDLING_TIMEOUTS_REGISTRY", "20s")
        .env("NO_COLOR", "1")
        .current_dir(std::env::temp_dir());
    for (k, v) in extra {
        c.env(k, v);
    }
    c.output().unwrap().into()
}

fn docker_inspect(name: &str, format: &str) -> String {
    registry_support::inspect(name, format)
}

fn volume_exists(name: &str) -> bool {
    Command::new("docker")
        .args(["volume", "inspect", name])
        .output()
        .unwrap()
        .status
        .success()
}

#[tokio::test]
async fn a_new_host_port_held_by_another_process_leaves_the_running_registry_alone() {
    let Some(fx) = registry_support::Fixture::new(0).await else {
        return;
    };
    let name = &fx.config.registry.name;
    let run = registry_cli(&fx, &["registry", "up"], &[]);
    assert_eq!(run.code, Some(0), "{run:?}");
    let id = docker_inspect(name, "{{.Id}}");

    let held = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let new_port = held.local_addr().unwrap().port().to_string();
    let run = registry_cli(
        &fx,
        &["registry", "up"],
        &[("KINDLING_REGISTRY_HOST_PORT", &new_port)],
    );
    assert_eq!(run.code, Some(1), "{run:?}");
    assert!(
        run.stderr
            .contains(&format!("127.0.0.1:{new_port} is already in use"))
            && run.stderr.contains(&format!("pid {}", std::process::id()))
            && run.stderr.contains("registry.host_port"),
        "{run:?}"
    );
    assert_eq!(
        docker_inspect(name, "{{.Id}}"),
        id,
        "the registry was replaced"
    );
    assert_eq!(docker_inspect(name, "{{.State.Status}}"), "running");
    let api = kindling::docker::registry_api::RegistryApi::local(fx.config.registry.host_port);
    assert_eq!(api.ping().await, Ok(()), "the old registry still answers");
}

#[tokio::test]
async fn a_replacement_that_does_not_answer_puts_the_old_registry_back() {
    let Some(fx) = registry_support::Fixture::new(0).await else {
        return;
    };
    // An image that runs but serves nothing: what a broken registry image looks like.
    let Some(silent) = silent_image() else {
        return;
    };
    let name = &fx.config.registry.name;
    assert_eq!(registry_cli(&fx, &["registry", "up"], &[]).code, Some(0));
    let id = docker_inspect(name, "{{.Id}}");
    let run = registry_cli(
        &fx,
        &["registry", "up"],
        &[
            ("KINDLING_REGISTRY_IMAGE", &silent),
            ("KINDLING_TIMEOUTS_REGISTRY", "3s"),
        ],
    );
    assert_eq!(run.code, Some(1), "{run:?}");
    assert!(
        run.stderr.contains(&format!(
            "{name} was not replaced (the old container runs again)"
        )),
        "{run:?}"
    );
    assert_eq!(docker_inspect(name, "{{.Id}}"), id);
    assert_eq!(docker_inspect(name, "{{.State.Status}}"), "running");
    let previous = kindling::docker::containers::previous_name(name);
    assert_eq!(docker_inspect(&previous, "{{.Id}}"), "", "no leftover");
    let api = kindling::docker::registry_api::RegistryApi::local(fx.config.registry.host_port);
    assert_eq!(api.ping().await, Ok(()), "the old registry answers again");
}

/// An image that runs and never answers /v2/: the stand-in kind node (busybox, sleeping).
fn silent_image() -> Option<String> {
    cluster_support::node_image()
}

#[tokio::test]
async fn two_clusters_share_one_cache_and_purge_keeps_it_while_the_other_uses_it() {
    let Some(a) = registry_support::Fixture::new(1).await else {
        return;
    };
    let Some(mut b) = registry_support::Fixture::new(0).await else {
        return;
    };
    b.config.registry.mirrors = a.config.registry.mirrors.clone();
    let upstream = &a.config.registry.mirrors[0];
    let cache = kindling::config::mirror_container_name(upstream);
    let volume = kindling::docker::mirrors::mirror_volume_name(upstream);
    let (cluster_a, cluster_b) = (&a.config.cluster.name, &b.config.cluster.name);

    // The fake upstream never answers, so the cache crash-loops and `registry up` exits 1;
    // what matters here is who owns what.
    registry_cli(&a, &["registry", "up"], &[]);
    let id = docker_inspect(&cache, "{{.Id}}");
    assert!(!id.is_empty(), "cluster a made the cache");
    let run = registry_cli(&b, &["registry", "up"], &[]);
    assert_eq!(
        docker_inspect(&cache, "{{.Id}}"),
        id,
        "cluster b's up recreated a's cache: {run:?}"
    );

    // A cache that differs from what b wants is still a's: kept as it is, and b is told why.
    let alias = format!("kindling-test/registry:{}", support::unique("alias"));
    let tagged = Command::new("docker")
        .args(["tag", &support::registry_image(), &alias])
        .status()
        .unwrap();
    assert!(tagged.success());
    let run = registry_cli(
        &b,
        &["registry", "up"],
        &[
            ("KINDLING_REGISTRY_IMAGE", &alias),
            (
                "KINDLING_REGISTRY_HOST_PORT",
                &support::free_port().to_string(),
            ),
        ],
    );
    let _ = Command::new("docker").args(["rmi", &alias]).output();
    assert_eq!(docker_inspect(&cache, "{{.Id}}"), id, "{run:?}");
    assert!(
        run.stderr
            .contains(&format!("kept as it is: cluster(s) {cluster_a} use it too")),
        "{run:?}"
    );

    // a's purge keeps the cache b uses, and says so; a's own registry data goes.
    let run = registry_cli(&a, &["registry", "down", "--purge"], &[]);
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(
        run.stdout.contains(&format!(
            "kept {cache}: kindling cluster(s) {cluster_b} still use it"
        )),
        "{run:?}"
    );
    assert_eq!(docker_inspect(&cache, "{{.Id}}"), id);
    assert!(volume_exists(&volume));
    assert!(!volume_exists(
        &kindling::docker::registry::registry_volume_name(&a.config)
    ));

    // The last user's purge removes it.
    let run = registry_cli(&b, &["registry", "down", "--purge"], &[]);
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(docker_inspect(&cache, "{{.Id}}"), "");
    assert!(!volume_exists(&volume));
}

#[tokio::test]
async fn concurrent_registry_ups_and_downs_meet_no_docker_conflict() {
    let Some(fx) = registry_support::Fixture::new(0).await else {
        return;
    };
    for action in [&["registry", "up"][..], &["registry", "down"][..]] {
        let children: Vec<_> = (0..6)
            .map(|_| {
                let config = &fx.config;
                Command::new(support::kindling_bin())
                    .args(action)
                    .env("KINDLING_REGISTRY_IMAGE", &config.registry.image)
                    .env("KINDLING_REGISTRY_NAME", &config.registry.name)
                    .env(
                        "KINDLING_REGISTRY_HOST_PORT",
                        config.registry.host_port.to_string(),
                    )
                    .env("KINDLING_CLUSTER_NAME", &config.cluster.name)
                    .env("KINDLING_REGISTRY_MIRRORS", "")
                    .current_dir(std::env::temp_dir())
                    .stdout(Stdio::null())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for child in children {
            let out = child.wait_with_output().unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(out.status.success(), "{action:?}: {stderr}");
            assert!(!stderr.contains("409"), "{action:?}: {stderr}");
        }
    }
    assert_eq!(docker_inspect(&fx.config.registry.name, "{{.Id}}"), "");
}
