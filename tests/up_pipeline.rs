//! `kindling up` end to end on stand-ins: preflight, the local CA, the registry and caches,
//! the cluster (a busybox "node" made by a test double for `kind create`; the real kind 0.33
//! for everything else), the wiring, the hosts file, Argo CD from the upstream install.yaml
//! (read from the ../shared bundle, checksum verified), the platform Applications and the CA
//! ClusterIssuer — the Kubernetes side on the fake API server with simulated controllers
//! (workloads roll out; "Argo CD" syncs each Application, installing cert-manager's real CRDs
//! for the cert-manager one). Dependency order holds, independent steps run in parallel; a
//! second `up` changes nothing; `down --purge` leaves nothing behind.

mod cluster_support;
mod support;

use cluster_support::{
    ClusterVolumes, Containers, containers_with_label, env_with, fake_kind, settings,
};
use fake_apiserver::{ChangeType, Fake, FakeApiServer};
use kindling::config::mirror_container_name;
use kindling::report::{Event, Outcome, RecordingReporter, SharedReporter};
use kindling::up::{UpContext, UpOptions};
use std::time::Duration;
use std::time::Instant;

fn finished(events: &[(Instant, Event)], id: &str) -> Option<(Instant, Outcome)> {
    events.iter().find_map(|(t, e)| match e {
        Event::StepFinished { step, outcome, .. } if step == id => Some((*t, *outcome)),
        _ => None,
    })
}

fn started(events: &[(Instant, Event)], id: &str) -> Instant {
    events
        .iter()
        .find_map(|(t, e)| matches!(e, Event::StepStarted { step, .. } if step == id).then_some(*t))
        .unwrap_or_else(|| panic!("step {id} never started"))
}

/// A stand-in for Argo CD's application controller: each Application becomes Synced and
/// Healthy shortly after it is written; syncing cert-manager installs its real CRDs.
fn simulate_argocd(
    fake: Fake,
    cert_manager_crds: Vec<serde_json::Value>,
    status_for: fn(&str) -> serde_json::Value,
) {
    fake.on_change(move |fake, change| {
        if change.type_ == ChangeType::Deleted
            || change.kind() != "Application"
            || change.object["status"]["health"]["status"] == "Healthy"
        {
            return true;
        }
        let (fake, name, crds) = (fake.clone(), change.name.clone(), cert_manager_crds.clone());
        let destination = change.object["spec"]["destination"]["namespace"]
            .as_str()
            .unwrap_or("default")
            .to_string();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(100)).await;
            // syncOptions CreateNamespace=true
            fake.create_namespace(&destination);
            if name == "cert-manager" {
                for crd in crds {
                    fake.apply(crd).unwrap();
                }
            }
            let status = status_for(&name);
            fake.set_status(
                "argoproj.io/v1alpha1",
                "Application",
                Some("argocd"),
                &name,
                status,
            )
            .unwrap();
        });
        true
    });
}

/// What a healthy Argo CD reports after syncing.
fn synced_healthy(_: &str) -> serde_json::Value {
    serde_json::json!({
        "sync": { "status": "Synced" },
        "health": { "status": "Healthy" },
        "operationState": { "phase": "Succeeded", "message": "successfully synced" }
    })
}

fn cert_manager_crds(shared: &std::path::Path) -> Vec<serde_json::Value> {
    let dir = shared.join("upstream/cert-manager/v1.21.1/crds");
    kindling::lint::input::files_below(&dir)
        .unwrap()
        .iter()
        .flat_map(|f| {
            kindling::lint::input::parse_documents(&std::fs::read_to_string(f).unwrap()).unwrap()
        })
        .collect()
}

/// Everything one `up` on stand-ins needs; containers and volumes go when it is dropped.
struct Setup {
    _dir: tempfile::TempDir,
    shared: std::path::PathBuf,
    settings: kindling::config::Settings,
    env: kindling::env::Env,
    api: FakeApiServer,
    name: String,
    node: String,
    hosts: std::path::PathBuf,
    _containers: Containers,
    _volumes: ClusterVolumes,
}

async fn setup(
    status_for: fn(&str) -> serde_json::Value,
    component_timeout: &str,
) -> Option<Setup> {
    let shared = support::shared_dir()?;
    let real = cluster_support::real_kind()?;
    support::docker_available()?;
    let image = cluster_support::node_image()?;
    cluster_support::kind_network();

    let dir = tempfile::tempdir().unwrap();
    let mut settings = settings(dir.path());
    let name = support::unique("kup");
    let config = &mut settings.config;
    config.cluster.name = name.clone();
    config.cluster.node_image = image.clone();
    config.network.http_port = support::free_port();
    config.network.https_port = support::free_port();
    config.timeouts.component = component_timeout.into();
    config.network.trust_ca = false; // the system trust store is tested in tls_trust.rs
    config.registry.name = format!("{name}-registry");
    config.registry.host_port = support::free_port();
    config.registry.image = support::registry_image();
    config.registry.mirrors = vec![format!("{name}.example.test")];
    let node = format!("{name}-control-plane");
    let mirror = mirror_container_name(&config.registry.mirrors[0]);
    let containers = Containers(vec![
        node.clone(),
        config.registry.name.clone(),
        mirror.clone(),
    ]);
    let volumes = ClusterVolumes(name.clone());

    let api = FakeApiServer::start().await;
    fake_apiserver::sim::spawn_workload_controller(api.handle(), Duration::from_millis(50));
    simulate_argocd(api.handle(), cert_manager_crds(&shared), status_for);
    // The fake's kubeconfig, with kind's context name for this cluster.
    let kubeconfig = std::fs::read_to_string(api.kubeconfig())
        .unwrap()
        .replace(
            "- name: fake\n  context:",
            &format!("- name: kind-{name}\n  context:"),
        )
        .replace(
            "current-context: fake",
            &format!("current-context: kind-{name}"),
        );
    std::fs::write(dir.path().join("fake-kubeconfig"), kubeconfig).unwrap();
    let bin = fake_kind(dir.path(), &real, &image, config.network.http_port);
    let hosts = dir.path().join("hosts");
    std::fs::write(&hosts, "127.0.0.1 localhost\n").unwrap();
    let env = env_with(
        Some(&bin),
        &dir.path().join("kubeconfig"),
        &[
            ("KINDLING_HOSTS_FILE", hosts.display().to_string()),
            ("KINDLING_SUDO", "none".into()),
        ],
    );
    Some(Setup {
        _dir: dir,
        shared,
        settings,
        env,
        api,
        name,
        node,
        hosts,
        _containers: containers,
        _volumes: volumes,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn up_converges_on_stand_ins_and_down_removes_everything() {
    let Some(f) = setup(synced_healthy, "60s").await else {
        return;
    };
    let Setup {
        shared,
        settings,
        env,
        api,
        name,
        node,
        hosts,
        ..
    } = &f;
    let (settings, env, name, node, hosts) = (
        settings.clone(),
        env.clone(),
        name.clone(),
        node.clone(),
        hosts.clone(),
    );

    // First up: everything is made.
    let options = UpOptions {
        bundle: Some(shared.join("upstream")),
        ..UpOptions::default()
    };
    let recording = RecordingReporter::new();
    let reporter: SharedReporter = recording.clone();
    let context = UpContext::new(settings.clone(), env.clone(), reporter, options.clone());
    let summary = kindling::up::run(context)
        .await
        .unwrap_or_else(|e| panic!("up failed: {e}: {:?}", recording.events()));
    assert_eq!(summary.cluster, name);
    assert_eq!(summary.kube_context, format!("kind-{name}"));
    assert_eq!(
        summary.registry,
        format!("localhost:{}", settings.config.registry.host_port)
    );
    assert!(std::path::Path::new(&summary.ca_certificate).is_file());

    let events = recording.timed_events();
    let (preflight_done, _) = finished(&events, "preflight").expect("preflight finished");
    for id in ["tls-ca", "registry-image", "cluster.create", "hosts"] {
        assert!(
            started(&events, id) > preflight_done,
            "{id} started before preflight ended"
        );
    }
    // Wiring waits for both the registry and the cluster.
    let wiring = started(&events, "cluster.wiring");
    assert!(
        wiring
            > finished(
                &events,
                &format!("registry:{}", settings.config.registry.name)
            )
            .unwrap()
            .0
    );
    assert!(wiring > finished(&events, "cluster.kubeconfig").unwrap().0);
    // Independent branches overlap: the cluster was being created while the registry came up.
    let cluster_created = finished(&events, "cluster.create").unwrap().0;
    assert!(started(&events, "registry-image") < cluster_created);
    assert_eq!(finished(&events, "tls-trust").unwrap().1, Outcome::Skipped);
    // Argo CD after the cluster; the Applications after Argo CD; the issuer after both them and the CA.
    assert!(started(&events, "argocd") > finished(&events, "cluster.kubeconfig").unwrap().0);
    assert!(started(&events, "platform") > finished(&events, "argocd").unwrap().0);
    assert!(started(&events, "ca-issuer") > finished(&events, "platform").unwrap().0);
    assert!(started(&events, "ca-issuer") > finished(&events, "tls-ca").unwrap().0);

    // What the fake cluster now holds: Argo CD with server.insecure, the Applications, the issuer.
    let params = api
        .get("v1", "ConfigMap", Some("argocd"), "argocd-cmd-params-cm")
        .expect("params");
    assert_eq!(params["data"]["server.insecure"], "true");
    assert!(
        api.get("apps/v1", "Deployment", Some("argocd"), "argocd-server")
            .is_some()
    );
    for app in [
        "traefik",
        "cert-manager",
        "kube-prometheus-stack",
        "argo-rollouts",
    ] {
        assert!(
            api.get("argoproj.io/v1alpha1", "Application", Some("argocd"), app)
                .is_some(),
            "{app}"
        );
    }
    let issuer = api
        .get("cert-manager.io/v1", "ClusterIssuer", None, "kindling-ca")
        .expect("ClusterIssuer");
    assert_eq!(issuer["spec"]["ca"]["secretName"], "kindling-ca");
    let grafana = api
        .get("v1", "Secret", Some("monitoring"), "grafana-admin")
        .expect("Grafana secret");
    let password =
        std::fs::read_to_string(settings.data_dir.join("credentials/grafana-admin-password"))
            .unwrap();
    assert_eq!(
        grafana["stringData"]["admin-password"],
        password.trim(),
        "the stored password is the one Grafana gets"
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(settings.data_dir.join("credentials/grafana-admin-password"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    assert!(password.len() >= 24);

    let hosts_text = std::fs::read_to_string(&hosts).unwrap();
    assert!(
        hosts_text.contains(&format!("# BEGIN kindling {name}")),
        "{hosts_text}"
    );
    assert!(hosts_text.contains("127.0.0.1\tdemo.local"), "{hosts_text}");
    assert!(
        cluster_support::docker_ok(&[
            "exec",
            &node,
            "cat",
            &format!(
                "/etc/containerd/certs.d/localhost:{}/hosts.toml",
                settings.config.registry.host_port
            )
        ])
        .contains(&format!("http://{}:5000", settings.config.registry.name))
    );

    // Second up: every step reports unchanged.
    let recording = RecordingReporter::new();
    let reporter: SharedReporter = recording.clone();
    let context = UpContext::new(settings.clone(), env.clone(), reporter, options.clone());
    kindling::up::run(context).await.unwrap();
    let events = recording.timed_events();
    for (_, e) in &events {
        if let Event::StepFinished { step, outcome, .. } = e {
            assert!(
                matches!(
                    outcome,
                    Outcome::Unchanged | Outcome::Done | Outcome::Skipped
                ),
                "second up changed {step}: {outcome:?}"
            );
        }
        assert!(!matches!(e, Event::StepFailed { .. }), "{e:?}");
    }
    for id in [
        "tls-ca",
        "cluster.create",
        "cluster.wiring",
        "hosts",
        "argocd",
        "platform",
        "ca-issuer",
    ] {
        assert_eq!(finished(&events, id).unwrap().1, Outcome::Unchanged, "{id}");
    }

    // down --purge: no container, volume or hosts block left.
    let reporter: SharedReporter = RecordingReporter::new();
    kindling::down::down(&settings, &env, &reporter, true, false)
        .await
        .unwrap();
    assert!(containers_with_label(&format!("dev.kindling.cluster={name}")).is_empty());
    assert!(containers_with_label(&format!("io.x-k8s.kind.cluster={name}")).is_empty());
    let volumes = cluster_support::docker_ok(&[
        "volume",
        "ls",
        "-q",
        "--filter",
        &format!("label=dev.kindling.cluster={name}"),
    ]);
    assert!(volumes.trim().is_empty(), "volumes left: {volumes}");
    assert_eq!(
        std::fs::read_to_string(&hosts).unwrap(),
        "127.0.0.1 localhost\n"
    );
}

/// kube-prometheus-stack never becomes healthy: Grafana's image cannot be pulled.
fn prometheus_stack_degraded(name: &str) -> serde_json::Value {
    if name != "kube-prometheus-stack" {
        return synced_healthy(name);
    }
    serde_json::json!({
        "sync": { "status": "Synced" },
        "health": {
            "status": "Degraded",
            "message": "Deployment kube-prometheus-stack-grafana: ImagePullBackOff (docker.io/grafana/grafana:12.1.0 not found)"
        },
        "operationState": { "phase": "Succeeded", "message": "successfully synced" }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_degraded_application_fails_up_naming_it_and_why_within_its_timeout() {
    let Some(f) = setup(prometheus_stack_degraded, "4s").await else {
        return;
    };
    let recording = RecordingReporter::new();
    let reporter: SharedReporter = recording.clone();
    let options = UpOptions {
        bundle: Some(f.shared.join("upstream")),
        ..UpOptions::default()
    };
    let started_at = Instant::now();
    let err = kindling::up::run(UpContext::new(
        f.settings.clone(),
        f.env.clone(),
        reporter,
        options,
    ))
    .await
    .unwrap_err();
    let message = err.to_string();
    assert!(message.contains("kube-prometheus-stack"), "{message}");
    assert!(message.contains("Degraded"), "{message}");
    assert!(message.contains("ImagePullBackOff"), "{message}");
    assert!(
        started_at.elapsed() < Duration::from_secs(60),
        "took {:?}",
        started_at.elapsed()
    );
    assert_eq!(err.exit_status(), kindling::ExitStatus::Failure);

    // The issuer depends on the platform: skipped. Independent steps still finished.
    let events = recording.timed_events();
    assert_eq!(
        finished(&events, "ca-issuer").map(|(_, o)| o),
        Some(Outcome::Skipped)
    );
    for id in ["cluster.wiring", "hosts", "tls-ca"] {
        assert!(finished(&events, id).is_some(), "{id} did not finish");
    }
    let reporter: SharedReporter = RecordingReporter::new();
    kindling::down::down(&f.settings, &f.env, &reporter, true, false)
        .await
        .unwrap();
}
