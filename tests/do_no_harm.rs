//! kindling never damages what it does not own, and says what it changed: the real binary in
//! a sandbox (its own data dir, HOME, hosts file; KINDLING_SUDO=none), with the real Docker
//! engine where containers are involved.

mod cluster_support;
mod registry_support;
mod support;

use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use support::Run;

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
    fn kindling(&self, args: &[&str]) -> assert_cmd::Command {
        let mut c = support::kindling();
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
            // An empty stdin, closed at once (no terminal).
            .write_stdin("")
            .args(args);
        c
    }

    fn run(&self, args: &[&str]) -> Run {
        self.kindling(args).output().unwrap().into()
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
    let mut c = fx.kindling(args);
    c.env("KINDLING_TIMEOUTS_REGISTRY", "20s")
        .env("NO_COLOR", "1");
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
    // Running again, it answers once its process listens (kindling restarts it, and does not
    // wait for it to answer).
    let api = kindling::docker::registry_api::RegistryApi::local(fx.config.registry.host_port);
    support::until_ok(
        "the old registry to answer again",
        std::time::Duration::from_secs(10),
        || api.ping(),
    )
    .await;
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
        run.stderr.contains(&format!(
            "cache {cache} kept: kindling cluster(s) {cluster_b} still use it"
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
                // Spawned side by side: std's Command (assert_cmd only runs to completion).
                Command::new(support::kindling_bin())
                    .args(action)
                    .envs(fx.env())
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

// ---- 1. reset: --dry-run changes nothing; deleting a cluster needs consent ------------------

/// Every file under `dir` with its content, to compare before and after a run.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push((path.clone(), std::fs::read(&path).unwrap_or_default()));
            }
        }
    }
    out.sort();
    out
}

/// A sandbox where cluster `name` looks up: kindling's records, its kubeconfig copy, and its
/// block in the hosts file.
fn sandbox_with_platform(name: &str) -> Sandbox {
    let sandbox = Sandbox::new();
    write(
        &sandbox.data().join(format!("clusters/{name}.json")),
        &format!(
            r#"{{"name":"{name}","node_image":"x","kind_version":"v0.33.0","created_at":"2026-01-01T00:00:00Z"}}"#
        ),
    );
    write(
        &sandbox.data().join(format!("kubeconfig-{name}")),
        "apiVersion: v1\nkind: Config\n",
    );
    let run = sandbox.run(&[
        "--set",
        &format!("cluster.name={name}"),
        "--set",
        "network.domain=test",
        "hosts",
        "apply",
    ]);
    assert_eq!(run.code, Some(0), "{run:?}");
    sandbox
}

#[test]
fn reset_dry_run_changes_nothing_and_says_what_it_would_do() {
    if support::docker_available().is_none() {
        return;
    }
    let name = support::unique("kreset");
    let sandbox = sandbox_with_platform(&name);
    let before = snapshot(sandbox.dir.path());
    let run = sandbox.run(&[
        "--set",
        &format!("cluster.name={name}"),
        "--set",
        "network.domain=test",
        "--set",
        "registry.mirrors=",
        "reset",
        "--dry-run",
    ]);
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(snapshot(sandbox.dir.path()), before, "{run:?}");
    assert!(
        run.stdout.contains("would first run `down`")
            && run.stdout.contains("hosts holds kindling's block")
            && run.stdout.contains("then `up`")
            && run.stdout.contains("[preflight]"),
        "{run:?}"
    );
}

#[test]
fn reset_without_yes_or_a_terminal_refuses_to_delete_the_cluster() {
    let Some(image) = cluster_support::node_image() else {
        return;
    };
    let name = support::unique("kreset");
    let node = format!("{name}-control-plane");
    let _node = cluster_support::Containers(vec![node.clone()]);
    cluster_support::docker_ok(&[
        "run",
        "-d",
        "--name",
        &node,
        "--label",
        &format!("io.x-k8s.kind.cluster={name}"),
        &image,
    ]);
    let sandbox = sandbox_with_platform(&name);
    let before = snapshot(sandbox.dir.path());
    let run = sandbox.run(&[
        "--set",
        &format!("cluster.name={name}"),
        "--set",
        "network.domain=test",
        "reset",
    ]);
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(
        run.stderr.contains(&format!(
            "reset would delete kind cluster {name} (1 node(s))"
        )) && run.stderr.contains("no terminal to ask on")
            && run.stderr.contains("--yes"),
        "{run:?}"
    );
    assert_eq!(docker_inspect(&node, "{{.State.Status}}"), "running");
    assert_eq!(snapshot(sandbox.dir.path()), before, "nothing was changed");
}

#[test]
fn up_takes_y_like_cluster_up() {
    let sandbox = Sandbox::new();
    let run = sandbox.run(&["up", "-y", "--dry-run"]);
    assert_eq!(run.code, Some(0), "{run:?}");
    let run = sandbox.run(&["reset", "-y", "--dry-run"]);
    assert_eq!(run.code, Some(0), "{run:?}");
}

// ---- 8 and exit codes: a failed `up` leaves the host alone and says so ---------------------

#[test]
fn a_failed_up_leaves_the_hosts_file_alone_and_says_so() {
    if support::docker_available().is_none() {
        return;
    }
    let name = support::unique("kfail");
    let sandbox = Sandbox::new();
    let args = support::failing_up_args(&name);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let run = sandbox
        .kindling(&args)
        .env("KINDLING_KIND_DOWNLOAD_URL", "http://127.0.0.1:9/kind")
        .env("PATH", "/usr/bin:/bin")
        .output()
        .unwrap();
    let run = Run::from(run);
    let _volumes = cluster_support::ClusterVolumes(name.clone());
    assert_eq!(run.code, Some(1), "{run:?}");
    assert_eq!(
        std::fs::read_to_string(sandbox.path("hosts")).unwrap(),
        "127.0.0.1 localhost\n",
        "{run:?}"
    );
    assert!(
        run.stderr
            .contains("Hosts file entries (skipped: not run: platform did not succeed)"),
        "{run:?}"
    );
    let note = run
        .stderr
        .find("nothing of kindling's is on this host")
        .expect("the host note");
    assert!(note < run.stderr.find("error:").unwrap(), "{run:?}");
}

#[test]
fn a_preflight_failure_inside_up_exits_3_like_doctor() {
    if support::docker_available().is_none() {
        return;
    }
    let held = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let port = held.local_addr().unwrap().port().to_string();
    let sandbox = Sandbox::new();
    let name = support::unique("kpre");
    let run = sandbox.run(&[
        "--set",
        &format!("cluster.name={name}"),
        "--set",
        &format!("network.http_port={port}"),
        "--set",
        "network.trust_ca=false",
        "up",
    ]);
    assert_eq!(run.code, Some(3), "{run:?}");
    assert!(
        run.stderr.contains("preflight check(s) failed")
            && run.stderr.contains(&format!("127.0.0.1:{port}"))
            && run.stderr.contains("kindling doctor"),
        "{run:?}"
    );
    assert!(
        run.stderr.contains("nothing of kindling's is on this host"),
        "{run:?}"
    );
    let doctor = sandbox.run(&["--set", &format!("network.http_port={port}"), "doctor"]);
    assert_eq!(doctor.code, run.code, "{doctor:?}");
}

/// A real unprivileged user (nobody, via setpriv) whose hosts file needs root: `up` asks sudo
/// once, before the first step (here preflight then fails: nobody cannot reach Docker).
#[test]
fn up_asks_sudo_once_before_it_starts_when_the_host_needs_root() {
    if !rustix::process::geteuid().is_root() || !Path::new("/usr/bin/setpriv").exists() {
        return support::skip("needs root and setpriv to run as nobody").unwrap_or(());
    }
    use std::os::unix::fs::PermissionsExt;
    let sandbox = Sandbox::new();
    let dir = sandbox.dir.path();
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let hosts = sandbox.path("hosts");
    std::fs::set_permissions(&hosts, std::fs::Permissions::from_mode(0o644)).unwrap();
    let log = sandbox.path("sudo.log");
    std::fs::write(&log, "").unwrap();
    std::fs::set_permissions(&log, std::fs::Permissions::from_mode(0o666)).unwrap();
    let sudo = sandbox.path("fake-sudo");
    write(
        &sudo,
        &format!(
            "#!/bin/sh\necho \"$*\" >> {}\n[ \"$1\" = -v ] && exit 0\nexec \"$@\"\n",
            log.display()
        ),
    );
    std::fs::set_permissions(&sudo, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = Command::new("/usr/bin/setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(support::kindling_bin())
        .args([
            "--set",
            "cluster.name=ksudo",
            "--set",
            "network.domain=test",
            "--set",
            "network.trust_ca=false",
            "up",
        ])
        .current_dir(dir)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", dir)
        .env("KINDLING_DATA_DIR", sandbox.data())
        .env("KINDLING_CACHE_DIR", sandbox.path("cache"))
        .env("KINDLING_HOSTS_FILE", &hosts)
        .env("KINDLING_SUDO", &sudo)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let run = Run::from(out);
    assert_eq!(std::fs::read_to_string(&log).unwrap(), "-v\n", "{run:?}");
    assert!(
        run.stderr.contains("asks for your password now, once"),
        "{run:?}"
    );
    let asked = run.stderr.find("asks for your password").unwrap();
    let preflight = run.stderr.find("Preflight checks").expect("preflight ran");
    assert!(asked < preflight, "{run:?}");
    assert_eq!(
        std::fs::read_to_string(&hosts).unwrap(),
        "127.0.0.1 localhost\n"
    );
}

// ---- 2. commands act on kindling's own cluster context only --------------------------------

/// A listener standing in for the user's real cluster: it must never be contacted.
struct ForbiddenCluster {
    listener: TcpListener,
}

impl ForbiddenCluster {
    fn new() -> ForbiddenCluster {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        listener.set_nonblocking(true).unwrap();
        ForbiddenCluster { listener }
    }

    /// A kubeconfig whose current context `work-prod` points at it.
    fn kubeconfig(&self) -> String {
        let port = self.listener.local_addr().unwrap().port();
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: prod\n  cluster:\n    server: https://127.0.0.1:{port}\n    insecure-skip-tls-verify: true\ncontexts:\n- name: work-prod\n  context:\n    cluster: prod\n    user: me\ncurrent-context: work-prod\nusers:\n- name: me\n  user:\n    token: secret\n"
        )
    }

    /// Whether anything connected (the kernel queues connections even after the client left).
    fn contacted(&self) -> bool {
        self.listener.accept().is_ok()
    }
}

#[test]
fn commands_that_act_on_the_cluster_never_fall_back_to_the_users_current_context() {
    let prod = ForbiddenCluster::new();
    let sandbox = Sandbox::new();
    let kubeconfig = sandbox.path("home/.kube/config");
    write(&kubeconfig, &prod.kubeconfig());
    let name = support::unique("kctx");
    let commands: [&[&str]; 9] = [
        &["rollout", "status", "staging"],
        &["rollout", "watch", "staging", "--exit"],
        &["rollout", "promote", "staging"],
        &["rollout", "abort", "staging"],
        &["rollout", "retry", "staging"],
        &["rollout", "restart", "staging"],
        &["release", "staging", "v1.1.0"],
        &["scenario", "canary"],
        &["smoke"],
    ];
    for command in commands {
        let run: Run = sandbox
            .kindling(&[&["--set", &format!("cluster.name={name}")], command].concat())
            .env("KUBECONFIG", &kubeconfig)
            .output()
            .unwrap()
            .into();
        assert!(
            !prod.contacted(),
            "{command:?} contacted work-prod: {run:?}"
        );
        assert_eq!(run.code, Some(1), "{command:?}: {run:?}");
        assert!(
            run.stderr.contains("the platform is not up")
                && run.stderr.contains(&format!("kubeconfig-{name}"))
                && run.stderr.contains("kindling up"),
            "{command:?}: {run:?}"
        );
    }
    // `status` reads kindling's own kubeconfig only, too.
    let run: Run = sandbox
        .kindling(&["--set", &format!("cluster.name={name}"), "status"])
        .env("KUBECONFIG", &kubeconfig)
        .output()
        .unwrap()
        .into();
    assert!(!prod.contacted(), "status contacted work-prod: {run:?}");
}

#[test]
fn an_explicit_kubeconfig_without_kindlings_context_is_refused() {
    let prod = ForbiddenCluster::new();
    let sandbox = Sandbox::new();
    let kubeconfig = sandbox.path("work.yaml");
    write(&kubeconfig, &prod.kubeconfig());
    let run = sandbox.run(&[
        "rollout",
        "abort",
        "staging",
        "--kubeconfig",
        kubeconfig.to_str().unwrap(),
    ]);
    assert!(!prod.contacted(), "{run:?}");
    assert_eq!(run.code, Some(2), "{run:?}");
    assert!(
        run.stderr
            .contains("has no context kind-kindling (its contexts: work-prod)"),
        "{run:?}"
    );
}

// ---- up --dry-run: components, host changes, and the steps by the ids the run uses ---------

#[test]
fn up_dry_run_lists_components_host_changes_and_the_run_s_step_ids() {
    let sandbox = Sandbox::new();
    let before = snapshot(sandbox.dir.path());
    let run = sandbox.run(&[
        "--set",
        "network.domain=test",
        "--set",
        "network.trust_ca=false",
        "--output",
        "json",
        "up",
        "--dry-run",
    ]);
    assert_eq!(run.code, Some(0), "{run:?}");
    assert_eq!(
        snapshot(sandbox.dir.path()),
        before,
        "a dry run changes nothing"
    );
    let plan: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let components = plan["components"].as_array().unwrap();
    assert!(
        components.contains(&serde_json::json!({"name": "Argo CD", "version": "v3.5.1"})),
        "{components:?}"
    );
    assert_eq!(
        plan["hostChanges"],
        serde_json::json!([{
            "part": "hosts file",
            "change": format!(
                "add kindling's block to {} ({} names → 127.0.0.1)",
                sandbox.path("hosts").display(),
                kindling::config::Config::builtin().ingress_hosts().len()
            ),
            "needsRoot": false,
        }])
    );
    let ids: Vec<&str> = plan["waves"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|w| w.as_array().unwrap())
        .flat_map(|g| g["steps"].as_array().unwrap())
        .map(|s| s["step"].as_str().unwrap())
        .collect();
    // The ids progress events carry, not the names of the groups that report them.
    for id in [
        "preflight",
        "tls-ca",
        "registry-image",
        "registry:kind-registry",
        "cluster.create",
        "cluster.wiring",
        "image:demo-app",
        "oci:kindling-manifests:latest",
        "hosts",
        "tls-trust",
        "demo-apps",
    ] {
        assert!(ids.contains(&id), "{id} not in {ids:?}");
    }
    for group in ["ca", "registry", "cluster", "wire", "trust", "publish"] {
        assert!(!ids.contains(&group), "{group} is no step id: {ids:?}");
    }
}

#[tokio::test]
async fn a_second_cluster_does_not_take_over_the_first_cluster_s_registry() {
    let Some(a) = registry_support::Fixture::new(0).await else {
        return;
    };
    let Some(mut b) = registry_support::Fixture::new(0).await else {
        return;
    };
    // b's configuration names a's registry (as two clusters with the default config would).
    b.config.registry.name = a.config.registry.name.clone();
    b.config.registry.host_port = a.config.registry.host_port;
    assert_eq!(registry_cli(&a, &["registry", "up"], &[]).code, Some(0));
    let id = docker_inspect(&a.config.registry.name, "{{.Id}}");
    let run = registry_cli(&b, &["registry", "up"], &[]);
    assert_eq!(run.code, Some(1), "{run:?}");
    assert!(
        run.stderr.contains(&format!(
            "belongs to kindling cluster {}, not {}",
            a.config.cluster.name, b.config.cluster.name
        )) && run.stderr.contains("registry.name"),
        "{run:?}"
    );
    assert_eq!(docker_inspect(&a.config.registry.name, "{{.Id}}"), id);
}
