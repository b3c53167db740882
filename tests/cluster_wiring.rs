//! `up`'s cluster steps end to end on stand-ins: a test double for `kind create` (and `kind
//! get kubeconfig`) starts an unprivileged busybox "node" with kind's labels, name, network
//! and port mapping; everything else is the real kind 0.33, which lists and deletes the
//! stand-in by those labels. The kube client talks to a tiny fake API server.

mod cluster_support;
mod support;

use cluster_support::{
    ClusterVolumes, Containers, FakeApi, containers_with_label, docker, docker_ok, env_with,
    fake_kind, settings,
};
use kindling::cluster::{self, ClusterError, kind_config, registry_hosting, wiring};
use kindling::config::{Settings, mirror_container_name};
use kindling::env::Env;
use kindling::report::{Event, Outcome, RecordingReporter, SharedReporter};

use std::sync::Arc;

struct Fixture {
    dir: tempfile::TempDir,
    settings: Settings,
    env: Env,
    api: FakeApi,
    node: String,
    _containers: Containers,
    _volumes: ClusterVolumes,
}

async fn fixture() -> Option<Fixture> {
    fixture_with(true).await
}

/// `standins`: start plain registry containers under the configured names (else the test
/// brings them up through kindling's registry module).
async fn fixture_with(standins: bool) -> Option<Fixture> {
    let real = cluster_support::real_kind()?;
    support::docker_available()?;
    let image = cluster_support::node_image()?;
    cluster_support::kind_network();
    let dir = tempfile::tempdir().unwrap();
    let mut settings = settings(dir.path());
    let name = support::unique("kwire");
    let id = name.clone();
    let config = &mut settings.config;
    config.cluster.name = name.clone();
    config.cluster.node_image = image.clone();
    config.network.http_port = support::free_port();
    config.registry.name = format!("{id}-registry");
    config.registry.host_port = support::free_port();
    // Unique upstream names, so parallel tests never share a mirror container.
    config.registry.mirrors = vec![format!("{id}.example.test"), format!("{id}.example.org")];
    let node = format!("{name}-control-plane");
    let mut names = vec![node.clone(), config.registry.name.clone()];
    names.extend(
        config
            .registry
            .mirrors
            .iter()
            .map(|m| mirror_container_name(m)),
    );
    let containers = Containers(names.clone());
    config.registry.image = support::registry_image();
    for registry in names[1..].iter().filter(|_| standins) {
        docker_ok(&[
            "run",
            "-d",
            "--name",
            registry,
            "--label",
            "dev.kindling.test=cluster",
            &support::registry_image(),
        ]);
    }
    let api = FakeApi::start("1", "36").await;
    std::fs::write(
        dir.path().join("fake-kubeconfig"),
        api.kubeconfig(&format!("kind-{name}")),
    )
    .unwrap();
    let bin = fake_kind(dir.path(), &real, &image, config.network.http_port);
    let env = env_with(Some(&bin), &dir.path().join("kubeconfig"), &[]);
    Some(Fixture {
        dir,
        settings,
        env,
        api,
        node,
        _containers: containers,
        _volumes: ClusterVolumes(name.clone()),
    })
}

fn recorder() -> (Arc<RecordingReporter>, SharedReporter) {
    let recording = RecordingReporter::new();
    let shared: SharedReporter = recording.clone();
    (recording, shared)
}

fn outcome(recording: &RecordingReporter, id: &str) -> Outcome {
    recording
        .events()
        .into_iter()
        .find_map(|e| match e {
            Event::StepFinished { step, outcome, .. } if step == id => Some(outcome),
            _ => None,
        })
        .unwrap_or_else(|| panic!("step {id} did not finish: {:?}", recording.events()))
}

fn cat(container: &str, path: &str) -> String {
    docker_ok(&["exec", container, "cat", path])
}

fn networks(container: &str) -> String {
    docker_ok(&[
        "inspect",
        "-f",
        "{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}",
        container,
    ])
}

fn real_kind_lists(f: &Fixture, args: &[&str]) -> Vec<String> {
    let out = std::process::Command::new(cluster_support::real_kind().unwrap())
        .args(args)
        .env("KUBECONFIG", f.dir.path().join("kubeconfig"))
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn up_creates_wires_and_converges_then_down_removes_the_cluster() {
    let Some(f) = fixture().await else { return };
    let config = &f.settings.config;
    let name = &config.cluster.name;

    // First run: creates everything.
    let (recording, reporter) = recorder();
    let handle = cluster::up(&f.settings, &f.env, &reporter, false)
        .await
        .unwrap();
    assert_eq!(handle.context, format!("kind-{name}"));
    assert_eq!(
        outcome(&recording, "cluster.kind-cli"),
        Outcome::Unchanged,
        "kind on PATH is the pinned version"
    );
    assert_eq!(outcome(&recording, "cluster.create"), Outcome::Created);
    assert_eq!(outcome(&recording, "cluster.wiring"), Outcome::Changed);
    assert_eq!(
        outcome(&recording, "cluster.registry-hosting"),
        Outcome::Created
    );
    let progress: Vec<String> = recording
        .events()
        .into_iter()
        .filter_map(|e| match e {
            Event::StepProgress { step, message, .. } if step == "cluster.create" => Some(message),
            _ => None,
        })
        .collect();
    assert_eq!(
        progress,
        [
            "Ensuring node image (stand-in) ...",
            "✓ Ensuring node image (stand-in)",
            "Preparing nodes ...",
            "✓ Preparing nodes"
        ]
    );

    // kind received exactly the generated config.
    let received = std::fs::read_to_string(f.dir.path().join("received-config.yaml")).unwrap();
    assert_eq!(received, kind_config::render(config));

    // The real kind sees the stand-in as a cluster with one node.
    assert!(real_kind_lists(&f, &["get", "clusters"]).contains(name));
    assert_eq!(
        real_kind_lists(&f, &["get", "nodes", "--name", name]),
        [f.node.as_str()]
    );

    // hosts.toml in the node, byte for byte.
    let registry_file = format!(
        "/etc/containerd/certs.d/localhost:{}/hosts.toml",
        config.registry.host_port
    );
    let registry_toml = cat(&f.node, &registry_file);
    assert!(
        registry_toml.ends_with(&format!(
            "[host.\"http://{}:5000\"]\n",
            config.registry.name
        )),
        "{registry_toml}"
    );
    for upstream in &config.registry.mirrors {
        let text = cat(
            &f.node,
            &format!("/etc/containerd/certs.d/{upstream}/hosts.toml"),
        );
        let expected = format!(
            "server = \"https://{upstream}\"\n\n[host.\"http://{}:5000\"]\n  capabilities = [\"pull\", \"resolve\"]\n",
            mirror_container_name(upstream)
        );
        assert!(text.ends_with(&expected), "{text}");
    }
    // The registry and mirrors joined the kind network (and kept their own).
    for container in wiring::registry_containers(config) {
        let nets = networks(&container);
        assert!(
            nets.split_whitespace().any(|n| n == "kind"),
            "{container}: {nets}"
        );
        assert!(
            nets.split_whitespace().any(|n| n == "bridge"),
            "{container}: {nets}"
        );
    }

    // The KEP-1755 ConfigMap went through server-side apply as kindling, forced.
    let patch = f
        .api
        .requests()
        .into_iter()
        .find(|r| r.method == "PATCH")
        .expect("a PATCH");
    assert!(
        patch
            .uri
            .starts_with("/api/v1/namespaces/kube-public/configmaps/local-registry-hosting?"),
        "{}",
        patch.uri
    );
    assert!(
        patch.uri.contains("fieldManager=kindling") && patch.uri.contains("force=true"),
        "{}",
        patch.uri
    );
    assert_eq!(patch.content_type, "application/apply-patch+yaml");
    let stored = f.api.state.lock().unwrap().objects["kube-public/local-registry-hosting"].clone();
    assert_eq!(
        stored["data"][registry_hosting::KEY],
        registry_hosting::document(config)
    );

    // kindling's kubeconfig copy: private.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&handle.kubeconfig)
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
    assert!(cluster::state::load(&f.settings).is_some_and(|s| !s.adopted));

    // Second run: nothing to do.
    let patches_before = f
        .api
        .requests()
        .iter()
        .filter(|r| r.method == "PATCH")
        .count();
    let (recording, reporter) = recorder();
    cluster::up(&f.settings, &f.env, &reporter, false)
        .await
        .unwrap();
    assert_eq!(outcome(&recording, "cluster.create"), Outcome::Unchanged);
    assert_eq!(
        outcome(&recording, "cluster.kubeconfig"),
        Outcome::Unchanged
    );
    assert_eq!(outcome(&recording, "cluster.wiring"), Outcome::Unchanged);
    assert_eq!(
        outcome(&recording, "cluster.registry-hosting"),
        Outcome::Unchanged
    );
    assert_eq!(
        f.api
            .requests()
            .iter()
            .filter(|r| r.method == "PATCH")
            .count(),
        patches_before
    );
    assert!(
        !recording
            .events()
            .iter()
            .any(|e| matches!(e, Event::Warning { .. })),
        "{:?}",
        recording.events()
    );

    // A file changed behind kindling's back is put right, and only that one.
    docker_ok(&[
        "exec",
        &f.node,
        "sh",
        "-c",
        &format!("echo tampered > {registry_file}"),
    ]);
    let (recording, reporter) = recorder();
    cluster::up(&f.settings, &f.env, &reporter, false)
        .await
        .unwrap();
    assert_eq!(outcome(&recording, "cluster.wiring"), Outcome::Changed);
    assert_eq!(cat(&f.node, &registry_file), registry_toml);
    let finished = recording.events().into_iter().find_map(|e| match e {
        Event::StepFinished { step, detail, .. } if step == "cluster.wiring" => detail,
        _ => None,
    });
    assert!(finished.unwrap().contains("1 hosts.toml written"));

    // Status sees it.
    let status = cluster::status(&f.settings, &f.env).await.unwrap();
    assert!(status.exists);
    assert_eq!(status.managed, Some(true));
    assert_eq!(status.node_image_matches, Some(true));
    assert_eq!(status.nodes.len(), 1);
    assert_eq!(status.nodes[0].state, "running");

    // Down: the real `kind delete cluster` removes the node; kindling's records go too.
    let (recording, reporter) = recorder();
    cluster::down(&f.settings, &f.env, &reporter, false)
        .await
        .unwrap();
    assert_eq!(outcome(&recording, "cluster.delete"), Outcome::Changed);
    assert!(containers_with_label(&format!("io.x-k8s.kind.cluster={name}")).is_empty());
    assert!(
        !docker(&["inspect", &f.node]).status.success(),
        "node container removed"
    );
    assert!(!real_kind_lists(&f, &["get", "clusters"]).contains(name));
    assert!(!cluster::state::path(&f.settings).exists());
    assert!(!handle.kubeconfig.exists());
    // The registry and caches are not the cluster's: they stay.
    for container in wiring::registry_containers(config) {
        assert!(
            docker(&["inspect", &container]).status.success(),
            "{container} kept"
        );
    }
    // Down again: nothing to do.
    let (recording, reporter) = recorder();
    cluster::down(&f.settings, &f.env, &reporter, false)
        .await
        .unwrap();
    assert_eq!(outcome(&recording, "cluster.delete"), Outcome::Unchanged);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_kindling_did_not_create_needs_consent() {
    let Some(f) = fixture().await else { return };
    let config = &f.settings.config;
    let name = config.cluster.name.clone();
    // Someone else's kind cluster of that name (no kindling state), on another node image.
    docker_ok(&[
        "run",
        "-d",
        "--name",
        &f.node,
        "--label",
        &format!("io.x-k8s.kind.cluster={name}"),
        "--label",
        "io.x-k8s.kind.role=control-plane",
        "--network",
        "kind",
        cluster_support::NODE_IMAGE,
    ]);
    let mut settings = f.settings.clone();
    settings.config.cluster.node_image = "kindest/node:v1.36.4@sha256:099e049362a1526b2db71494e1947aae99bd16290d7c895f2b7ea312e3cbfaed".into();

    let (_, reporter) = recorder();
    let err = cluster::up(&settings, &f.env, &reporter, false)
        .await
        .expect_err("refused");
    assert!(
        matches!(
            err,
            ClusterError::Foreign {
                action: "reuse",
                ..
            }
        ),
        "{err}"
    );
    assert!(err.hint().unwrap().contains("--yes"));
    let err = cluster::down(&settings, &f.env, &reporter, false)
        .await
        .expect_err("refused");
    assert!(
        matches!(
            err,
            ClusterError::Foreign {
                action: "delete",
                ..
            }
        ),
        "{err}"
    );
    assert!(
        docker(&["inspect", &f.node]).status.success(),
        "not deleted without consent"
    );

    // The CLI without a terminal: exit 2 and the hint to pass --yes.
    let out = support::kindling()
        .current_dir(f.dir.path())
        .env_clear()
        .envs(f.env.with_prefix(""))
        .env("KINDLING_DATA_DIR", &settings.data_dir)
        .env("KINDLING_CACHE_DIR", &settings.cache_dir)
        .args(["--set", &format!("cluster.name={name}"), "cluster", "up"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("kindling did not create") && stderr.contains("--yes"),
        "{stderr}"
    );

    // With consent it is adopted, and the differing node image is pointed out.
    let (recording, reporter) = recorder();
    cluster::up(&settings, &f.env, &reporter, true)
        .await
        .unwrap();
    assert_eq!(outcome(&recording, "cluster.create"), Outcome::Changed);
    assert!(cluster::state::load(&settings).unwrap().adopted);
    let warned = recording.events().into_iter().any(|e| {
        matches!(e, Event::Warning { message, hint: Some(hint) }
            if message.contains(cluster_support::NODE_IMAGE) && hint.contains("kindling reset"))
    });
    assert!(warned, "{:?}", recording.events());
    let status = cluster::status(&settings, &f.env).await.unwrap();
    assert_eq!(status.node_image_matches, Some(false));

    // Adopted: down needs no more consent.
    let (_, reporter) = recorder();
    cluster::down(&settings, &f.env, &reporter, false)
        .await
        .unwrap();
    assert!(!docker(&["inspect", &f.node]).status.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_that_times_out_leaves_nothing_behind() {
    let Some(f) = fixture().await else { return };
    // This `kind create` starts the node, then hangs.
    let script = f.dir.path().join("bin/kind");
    let text = std::fs::read_to_string(&script).unwrap();
    let hanging = text.replace(
        "  echo \" ✓ Preparing nodes 📦 📦\" >&2\n  exit 0",
        "  exec sleep 600",
    );
    assert_ne!(text, hanging);
    std::fs::write(&script, hanging).unwrap();
    let mut settings = f.settings.clone();
    settings.config.timeouts.cluster = std::time::Duration::from_secs(3);

    let (recording, reporter) = recorder();
    let err = cluster::up(&settings, &f.env, &reporter, false)
        .await
        .expect_err("timed out");
    assert!(err.to_string().contains("no result within 3s"), "{err}");
    assert!(err.hint().unwrap().contains("timeouts.cluster"));
    let name = &settings.config.cluster.name;
    assert!(
        containers_with_label(&format!("io.x-k8s.kind.cluster={name}")).is_empty(),
        "half-made node removed"
    );
    assert!(!cluster::state::path(&settings).exists());
    let failed = recording.events().into_iter().any(|e| {
        matches!(e, Event::StepFailed { step, error, .. } if step == "cluster.create" && error.contains("no result within 3s"))
    });
    assert!(failed, "{:?}", recording.events());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_reach_the_real_registry_by_name_and_down_leaves_nothing() {
    let Some(f) = fixture_with(false).await else {
        return;
    };
    let config = &f.settings.config;
    let name = &config.cluster.name;
    let engine = kindling::docker::connect(&f.env, std::time::Duration::from_secs(15))
        .await
        .unwrap();
    let (_, reporter) = recorder();
    kindling::docker::registry::up(&engine, config, &reporter)
        .await
        .unwrap();

    let (recording, reporter) = recorder();
    cluster::up(&f.settings, &f.env, &reporter, false)
        .await
        .unwrap();
    let detail = recording.events().into_iter().find_map(|e| match e {
        Event::StepFinished { step, detail, .. } if step == "cluster.wiring" => detail,
        _ => None,
    });
    assert!(
        detail
            .unwrap()
            .contains("3 container(s) joined network kind")
    );
    // From inside the node, the registry answers by container name: what containerd uses
    // through hosts.toml. (The stand-in caches exit here: distribution 2.8 in proxy mode
    // contacts its upstream at start, and there is no network; they are attached all the same.)
    let v2 = docker_ok(&[
        "exec",
        &f.node,
        "wget",
        "-qO-",
        &format!("http://{}:5000/v2/", config.registry.name),
    ]);
    assert_eq!(v2.trim(), "{}");
    for container in wiring::registry_containers(config) {
        let nets = networks(&container);
        assert!(
            nets.split_whitespace().any(|n| n == "kind"),
            "{container}: {nets}"
        );
    }

    // down: the cluster, then the registry with --purge. Nothing of this cluster is left.
    let (_, reporter) = recorder();
    cluster::down(&f.settings, &f.env, &reporter, false)
        .await
        .unwrap();
    kindling::docker::registry::down(&engine, config, &reporter, true)
        .await
        .unwrap();
    assert!(containers_with_label(&format!("io.x-k8s.kind.cluster={name}")).is_empty());
    assert!(containers_with_label(&format!("dev.kindling.cluster={name}")).is_empty());
    let volumes = docker_ok(&[
        "volume",
        "ls",
        "-q",
        "--filter",
        &format!("label=dev.kindling.cluster={name}"),
    ]);
    assert!(volumes.trim().is_empty(), "{volumes}");
    assert!(
        docker(&["network", "inspect", "kind"]).status.success(),
        "kind's network is kind's"
    );
}
