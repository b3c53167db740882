//! `kindling up` end to end: preflight, the local CA, the registry and a cache, the cluster (a
//! busybox "node" made by a test double for `kind create`; the real kind 0.33 for everything
//! else), the wiring, the hosts file, Argo CD from the upstream install.yaml (read from the
//! ../shared bundle, checksum verified), the platform Applications and the CA ClusterIssuer,
//! the demo image (built and pushed while the cluster is made), the manifests artifact and the
//! demo environments — the Kubernetes side a simulated kind cluster with Argo CD v3.5.1
//! (crates/kind-sim) that renders the real charts with real Helm and the demo environments
//! from the artifact with the real kustomize, and rates health by Argo CD's own rules (see
//! tests/up_support). `up` succeeds only where Argo CD would call everything Healthy; the
//! dependency order holds, independent steps run in parallel; the summary lists every URL; a
//! second `up` changes nothing; `down --purge` leaves nothing behind. A component that stays
//! Progressing fails `up` at its timeout naming the resource and why.

mod cluster_support;
mod support;
mod up_support;

use cluster_support::containers_with_label;
use kindling::report::{Event, Outcome, RecordingReporter, SharedReporter};
use std::time::Duration;
use std::time::Instant;
use up_support::{Setup, finished, setup, started};

/// Whether every field `want` sets has that value in `have` (null in `want`: not compared).
fn contained(want: &serde_json::Value, have: &serde_json::Value) -> bool {
    match (want, have) {
        (serde_json::Value::Null, _) => true,
        (serde_json::Value::Object(w), serde_json::Value::Object(h)) => w
            .iter()
            .all(|(k, v)| contained(v, h.get(k).unwrap_or(&serde_json::Value::Null))),
        (w, h) => w == h,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn up_brings_the_real_charts_to_healthy_on_a_simulated_kind_cluster_converges_and_down_removes_everything()
 {
    let Some(f) = setup("90s").await else {
        return;
    };
    // First up: everything is made. The stand-in kind holds cluster creation until the demo
    // image is in Docker (30 s at most): on a loaded machine the node would otherwise be up
    // before the registry, and the overlap below would depend on timing, not on the pipeline.
    std::fs::write(
        f.dir.path().join("create-waits-for"),
        format!("docker images -q {} | grep -q .", f.images.0),
    )
    .unwrap();
    let (result, recording) = f.up().await;
    let summary = up_support::expect_up(result, &recording);
    // One `up` (the expensive part) tells these stories in turn; each is its own function.
    argo_cd_calls_every_application_healthy_on_the_node_kind_made(&f, &summary);
    the_steps_ran_in_dependency_order_and_independent_ones_overlapped(&f, &recording);
    the_cluster_holds_argo_cd_the_platform_and_the_demo_environments(&f, &recording).await;
    what_up_applied_is_what_render_shows(&f);
    the_summary_lists_every_url_and_what_is_on_the_host_and_no_password(&f, &summary).await;
    the_hosts_file_and_the_node_are_wired(&f);
    a_second_up_changes_nothing(&f).await;
    down_purge_leaves_nothing_behind(&f).await;
}

/// The demo image `up` built, by digest in the local registry.
async fn demo_image(f: &Setup) -> String {
    let settings = &f.settings;
    let digest =
        kindling::docker::registry_api::RegistryApi::local(settings.config.registry.host_port)
            .manifest_digest("demo-app", "v1.0.0")
            .await
            .unwrap()
            .expect("demo-app:v1.0.0 in the registry");
    format!(
        "localhost:{}/demo-app@{digest}",
        settings.config.registry.host_port
    )
}

/// Argo CD's verdict on every Application, on the node kind made from up's config.
fn argo_cd_calls_every_application_healthy_on_the_node_kind_made(
    f: &Setup,
    summary: &kindling::up::Summary,
) {
    let Setup {
        settings,
        api,
        name,
        node,
        ..
    } = f;
    assert_eq!(&summary.cluster, name);
    assert_eq!(summary.kube_context, format!("kind-{name}"));
    assert_eq!(
        summary.registry,
        format!("localhost:{}", settings.config.registry.host_port)
    );
    assert!(std::path::Path::new(&summary.ca_certificate).is_file());

    // Argo CD's verdict, by its own rules on the simulated kind cluster: every Application —
    // the platform's real charts and the demo environments kustomize-built from the artifact
    // — Synced and Healthy.
    let applications = api.list("argoproj.io/v1alpha1", "Application", Some("argocd"));
    assert_eq!(
        applications.len(),
        kindling::platform::applications::all(&settings.config).len() + 3
    );
    for app in &applications {
        let name = app["metadata"]["name"].as_str().unwrap();
        assert_eq!(
            f.sim.app_status(name),
            Some(("Healthy".to_string(), "Synced".to_string())),
            "{name}: {:?}",
            f.sim.argocd.resource_tree(name)
        );
    }
    // The simulated node is what kind makes from the config `up` passed to `kind create`.
    assert_eq!(
        std::fs::read_to_string(f.dir.path().join("received-config.yaml")).unwrap(),
        kindling::cluster::kind_config::render(&settings.config)
    );
    let nodes = api.list("v1", "Node", None);
    assert_eq!(nodes.len(), 1);
    assert_eq!(nodes[0]["metadata"]["name"], node.as_str());
    assert_eq!(nodes[0]["metadata"]["labels"]["ingress-ready"], "true");
}

/// The dependency order holds, independent steps overlap, --dry-run names the same steps.
fn the_steps_ran_in_dependency_order_and_independent_ones_overlapped(
    f: &Setup,
    recording: &RecordingReporter,
) {
    let Setup { settings, env, .. } = f;
    let events = recording.timed_events();
    // `up --dry-run` names exactly the steps the run reported, by the same ids.
    let planned: std::collections::BTreeSet<String> = kindling::up::pipeline()
        .plan(&kindling::up::UpContext::new(
            settings.clone(),
            env.clone(),
            RecordingReporter::new(),
            f.options(),
        ))
        .unwrap()
        .into_iter()
        .flatten()
        .flat_map(|node| node.steps.into_iter().map(|(id, _)| id))
        .collect();
    let reported: std::collections::BTreeSet<String> = events
        .iter()
        .filter_map(|(_, e)| match e {
            Event::StepStarted { step, .. } => Some(step.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(planned, reported);
    // The cache's fake upstream never answers: the cache crash-loops, which `up` says (a
    // warning, and its step) without failing: containerd then pulls from the upstream.
    let mirror = kindling::config::mirror_container_name(&settings.config.registry.mirrors[0]);
    assert!(
        recording.events().iter().any(|e| matches!(e,
            Event::Warning { message, .. } if message.starts_with(&format!("cache {mirror} does not answer")))),
        "{:?}",
        recording.events()
    );
    let (preflight_done, _) = finished(&events, "preflight").expect("preflight finished");
    for id in ["tls-ca", "registry-image", "cluster.create", "hosts"] {
        assert!(
            started(&events, id) > preflight_done,
            "{id} started before preflight ended"
        );
    }
    // Host changes come after what they serve: the hosts block once the platform (the
    // ingress the names lead to) is up, the trust once the CA issues certificates.
    assert!(started(&events, "hosts") > finished(&events, "platform").unwrap().0);
    assert!(started(&events, "tls-trust") > finished(&events, "ca-issuer").unwrap().0);
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
    // The demo image needs only the registry: it is built while the cluster is being created.
    let image_started = started(&events, "image:demo-app");
    assert!(
        image_started
            > finished(
                &events,
                &format!("registry:{}", settings.config.registry.name)
            )
            .unwrap()
            .0
    );
    assert!(
        image_started < cluster_created,
        "the demo image did not overlap cluster creation"
    );
    let image_done = finished(&events, "image:demo-app").unwrap().0;
    let publish = started(&events, "oci:kindling-manifests:latest");
    assert!(publish > image_done);
    assert!(started(&events, "demo-apps") > finished(&events, "ca-issuer").unwrap().0);
    assert!(
        started(&events, "demo-apps")
            > finished(&events, "oci:kindling-manifests:latest")
                .unwrap()
                .0
    );
    assert_eq!(
        finished(&events, "demo-apps").unwrap().1,
        Outcome::Created,
        "{:?}",
        recording.events()
    );
}

/// What the fake cluster holds after up.
async fn the_cluster_holds_argo_cd_the_platform_and_the_demo_environments(
    f: &Setup,
    recording: &RecordingReporter,
) {
    let Setup { settings, api, .. } = f;
    let events = recording.timed_events();
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
        "metrics-server",
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
    // The demo environments: Applications pinned to the artifact, each annotated with what it
    // runs; the Rollouts run the image just built (by digest), read back from the artifact.
    let image = demo_image(f).await;
    let artifact =
        kindling::docker::registry_api::RegistryApi::local(settings.config.registry.host_port)
            .manifest_digest("kindling-manifests", "latest")
            .await
            .unwrap()
            .expect("the manifests artifact");
    for (env, namespace) in [
        ("dev", "default"),
        ("staging", "staging"),
        ("production", "production"),
    ] {
        let app = api
            .get(
                "argoproj.io/v1alpha1",
                "Application",
                Some("argocd"),
                &format!("demo-app-{env}"),
            )
            .unwrap_or_else(|| panic!("Application demo-app-{env}"));
        assert_eq!(app["spec"]["source"]["targetRevision"], artifact.as_str());
        assert_eq!(
            app["metadata"]["annotations"]["kindling.dev/demo-version"],
            "v1.0.0"
        );
        let rollout = api
            .get(
                "argoproj.io/v1alpha1",
                "Rollout",
                Some(namespace),
                "demo-app",
            )
            .unwrap();
        assert_eq!(
            rollout["spec"]["template"]["spec"]["containers"][0]["image"],
            image.as_str()
        );
    }
    assert!(
        api.get(
            "argoproj.io/v1alpha1",
            "AppProject",
            Some("argocd"),
            "applications"
        )
        .is_some()
    );
    let repo = api
        .get("v1", "Secret", Some("argocd"), "kindling-manifests")
        .expect("repository Secret");
    assert_eq!(repo["stringData"]["insecureOCIForceHttp"], "true");
    // The repository Secret and the AppProject were applied (accepted by the API server) before
    // any demo Application: Argo CD's first comparison then already knows the plain-HTTP registry.
    let applied_at = |object: &str| {
        events
            .iter()
            .position(|(_, e)| {
                matches!(e, Event::StepProgress { step, message, .. }
                    if step == "demo-apps" && message.starts_with(object))
            })
            .unwrap_or_else(|| panic!("{object} never applied: {:?}", recording.events()))
    };
    let first_application = ["dev", "staging", "production"]
        .iter()
        .map(|env| applied_at(&format!("Application argocd/demo-app-{env} ")))
        .min()
        .unwrap();
    assert!(applied_at("Secret argocd/kindling-manifests ") < first_application);
    assert!(applied_at("AppProject argocd/applications ") < first_application);
}

/// What `up` applied is what `kindling render` shows.
fn what_up_applied_is_what_render_shows(f: &Setup) {
    let Setup { settings, api, .. } = f;
    // What `up` applied is what `kindling render` shows (Secret values redacted there; the demo
    // Applications pin the digests of what `up` built and published, the render those of its own).
    let rendered =
        kindling::render::render(&settings.config, &kindling::env::Env::default()).expect("render");
    let mut compared = 0;
    for file in &rendered.files {
        let Some(id) = &file.object else {
            continue;
        };
        if !["cluster", "argocd", "platform", "ca-issuer", "demo-apps"]
            .contains(&file.area.as_str())
        {
            continue;
        }
        let mut want: serde_json::Value = serde_saphyr::from_str(&file.content).unwrap();
        let live = api
            .get(&id.api_version, &id.kind, id.namespace.as_deref(), &id.name)
            .unwrap_or_else(|| panic!("{} is in the render, not in the cluster", file.path));
        if id.kind == "Secret" {
            for field in ["data", "stringData"] {
                let keys = |v: &serde_json::Value| -> Vec<String> {
                    v[field]
                        .as_object()
                        .into_iter()
                        .flatten()
                        .map(|(k, _)| k.clone())
                        .collect()
                };
                assert_eq!(keys(&want), keys(&live), "{}", file.path);
                want[field] = serde_json::Value::Null;
            }
        }
        if id.kind == "Application" && file.area == "demo-apps" {
            want["spec"]["source"]["targetRevision"] = serde_json::Value::Null;
            want["metadata"]["annotations"] = serde_json::Value::Null;
        }
        assert!(
            contained(&want, &live),
            "{}: the render differs from what up applied:\nrender: {want}\ncluster: {live}",
            file.path
        );
        compared += 1;
    }
    assert!(compared >= 16, "compared only {compared} objects");
}

/// The summary: every URL, the users, the context, the time; no password.
async fn the_summary_lists_every_url_and_what_is_on_the_host_and_no_password(
    f: &Setup,
    summary: &kindling::up::Summary,
) {
    let Setup {
        settings,
        api,
        hosts,
        ..
    } = f;
    let image = demo_image(f).await;
    let port = settings.config.network.https_port;
    let urls: Vec<(&str, &str)> = summary
        .urls
        .iter()
        .map(|u| (u.url.as_str(), u.user.as_deref().unwrap_or("")))
        .collect();
    let want: Vec<(String, &str)> = [
        ("demo", ""),
        ("staging-demo", ""),
        ("prod-demo", ""),
        ("prod-demo-preview", ""),
        ("argocd", "admin"),
        ("grafana", "admin"),
        ("prometheus", ""),
        ("rollouts", ""),
    ]
    .iter()
    .map(|(p, u)| (format!("https://{p}.localhost:{port}"), *u))
    .collect();
    assert_eq!(
        urls,
        want.iter()
            .map(|(u, n)| (u.as_str(), *n))
            .collect::<Vec<_>>()
    );
    assert_eq!(summary.environments.len(), 3);
    assert!(
        summary
            .environments
            .iter()
            .all(|e| e.version == "v1.0.0" && e.image == image && e.profile == "realistic")
    );
    assert!(summary.elapsed_ms > 0);
    let json = serde_json::to_string(&summary).unwrap();
    let password =
        std::fs::read_to_string(settings.data_dir.join("credentials/grafana-admin-password"))
            .unwrap();
    assert!(
        !json.contains(password.trim()),
        "the summary shows no password"
    );

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

    assert_eq!(
        summary.argocd_cli_login,
        format!(
            "argocd login argocd.{} --grpc-web",
            settings.config.network.domain
        )
    );
    // What is on the host, and that `down` undoes it, ends the summary.
    assert_eq!(summary.host.len(), 1, "{:?}", summary.host);
    assert!(
        summary.host[0].contains(&format!("{} holds kindling's block", hosts.display())),
        "{:?}",
        summary.host
    );
    assert!(kindling::up::host_note(&summary.host).ends_with("`kindling down` undoes them"));
}

/// The hosts block and the node's registry wiring.
fn the_hosts_file_and_the_node_are_wired(f: &Setup) {
    let Setup {
        settings,
        name,
        node,
        hosts,
        ..
    } = f;
    let hosts_text = std::fs::read_to_string(hosts).unwrap();
    assert!(
        hosts_text.contains(&format!("# BEGIN kindling {name}")),
        "{hosts_text}"
    );
    assert!(
        hosts_text.contains("127.0.0.1\tdemo.localhost"),
        "{hosts_text}"
    );
    assert!(
        cluster_support::docker_ok(&[
            "exec",
            node,
            "cat",
            &format!(
                "/etc/containerd/certs.d/localhost:{}/hosts.toml",
                settings.config.registry.host_port
            )
        ])
        .contains(&format!("http://{}:5000", settings.config.registry.name))
    );
    // The node holds what the wiring writes — the function tests/up_support gives the
    // simulated node's containerd its registries from (`node_registries`).
    for file in kindling::cluster::wiring::node_files(&settings.config) {
        assert_eq!(
            cluster_support::docker_ok(&["exec", node, "cat", &file.path]),
            file.content,
            "{}",
            file.path
        );
    }
    let registries = up_support::node_registries(&settings.config);
    assert_eq!(
        registries[0],
        format!("localhost:{}", settings.config.registry.host_port)
    );
    assert_eq!(
        registries[1..],
        kindling::config::Config::builtin().registry.mirrors[..]
    );
}

/// A second up: every step reports unchanged.
async fn a_second_up_changes_nothing(f: &Setup) {
    let Setup { settings, .. } = f;
    let mirror = kindling::config::mirror_container_name(&settings.config.registry.mirrors[0]);
    let (result, recording) = f.up().await;
    result.unwrap_or_else(|e| panic!("second up failed: {e}: {:?}", recording.events()));
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
        // Only the crash-looping cache (see above) fails its step, again.
        assert!(
            !matches!(e, Event::StepFailed { step, .. } if *step != format!("registry:{mirror}")),
            "{e:?}"
        );
    }
    for id in [
        "tls-ca",
        "cluster.create",
        "cluster.wiring",
        "hosts",
        "argocd",
        "platform",
        "ca-issuer",
        "image:demo-app",
        "oci:kindling-manifests:latest",
        "demo-apps",
    ] {
        assert_eq!(finished(&events, id).unwrap().1, Outcome::Unchanged, "{id}");
    }
}

/// down --purge: no container, volume or hosts block left.
async fn down_purge_leaves_nothing_behind(f: &Setup) {
    let Setup {
        settings,
        env,
        name,
        hosts,
        ..
    } = f;
    let reporter: SharedReporter = RecordingReporter::new();
    kindling::down::down(settings, env, &reporter, true, false)
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
    let cache_volume =
        kindling::docker::mirrors::mirror_volume_name(&settings.config.registry.mirrors[0]);
    assert!(
        !cluster_support::docker(&["volume", "inspect", &cache_volume])
            .status
            .success(),
        "the cache no other cluster uses is purged"
    );
    assert_eq!(
        std::fs::read_to_string(hosts).unwrap(),
        "127.0.0.1 localhost\n"
    );
}

/// On a machine whose containerd has no mirror for registry.k8s.io (and no network), the
/// metrics-server and kube-state-metrics images cannot be pulled: their pods stay in
/// ImagePullBackOff, their Deployments are Progressing by Argo CD's rule, and so are the
/// metrics-server and kube-prometheus-stack Applications (Argo CD v3.5.1 says no more: no
/// Application health message, no per-resource health in status). `up` fails at the
/// component timeout naming the resource, its health and the pods' reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_platform_component_left_progressing_fails_up_within_its_timeout_naming_the_resource_and_why()
 {
    let Some(f) = up_support::setup_with(up_support::SetupOptions {
        timeout: "30s".into(),
        unmirrored: vec!["registry.k8s.io".into()],
        ..Default::default()
    })
    .await
    else {
        return;
    };
    let started_at = Instant::now();
    let (result, recording) = f.up().await;
    let err = result.expect_err("up succeeded without the registry.k8s.io images");
    let message = err.to_string();
    let elapsed = started_at.elapsed();
    eprintln!("up failed as it should, after {elapsed:?}:\n{message}");
    // Which of the two Applications times out first is a race; both are named the same way.
    let (app, deployment) = if message.contains("Application argocd/metrics-server ") {
        (
            "metrics-server",
            "Deployment kube-system/metrics-server: Progressing",
        )
    } else {
        (
            "kube-prometheus-stack",
            "Deployment monitoring/kube-prometheus-stack-kube-state-metrics: Progressing",
        )
    };
    assert!(
        message.contains(&format!(
            "Application argocd/{app} to be Synced and Healthy"
        )),
        "{message}"
    );
    assert!(message.contains(deployment), "{message}");
    assert!(
        message.contains("ImagePullBackOff") && message.contains("registry.k8s.io/"),
        "{message}"
    );
    // An upper bound on purpose: the 30 s timeout holds (up does not wait on past it); 60 s
    // of margin for the steps before and a busy machine.
    assert!(
        elapsed < Duration::from_secs(30 + 60),
        "took {elapsed:?} with a 30 s timeout"
    );
    assert_eq!(err.exit_status(), kindling::ExitStatus::Failure);
    // What Argo CD itself says of both: Progressing, and nothing about why; what kindling
    // says of each: the Deployment and its pod's reason.
    let client = kindling::k8s::client_from_kubeconfig(f.api.kubeconfig(), None)
        .await
        .unwrap();
    let applications = kube::Api::<kube::api::DynamicObject>::namespaced_with(
        client.clone(),
        "argocd",
        &kindling::platform::demo_checks::application_resource(),
    );
    for (app, deployment) in [
        (
            "metrics-server",
            "Deployment kube-system/metrics-server: Progressing",
        ),
        (
            "kube-prometheus-stack",
            "Deployment monitoring/kube-prometheus-stack-kube-state-metrics: Progressing",
        ),
    ] {
        let (health, _) = f.sim.app_status(app).unwrap();
        assert_eq!(health, "Progressing", "{app}");
        let status = f.sim.argocd.application(app).unwrap()["status"].clone();
        assert!(status["health"]["message"].is_null(), "{status}");
        let explained = kindling::platform::app_health::explain(
            client.clone(),
            applications.get(app).await.unwrap(),
        )
        .await;
        assert!(explained.contains(deployment), "{explained}");
        assert!(explained.contains("ImagePullBackOff"), "{explained}");
    }

    // The issuer depends on the platform: skipped. Independent steps still finished.
    let events = recording.timed_events();
    assert_eq!(
        finished(&events, "ca-issuer").map(|(_, o)| o),
        Some(Outcome::Skipped)
    );
    assert_eq!(
        finished(&events, "demo-apps").map(|(_, o)| o),
        Some(Outcome::Skipped)
    );
    for id in ["cluster.wiring", "hosts", "tls-ca", "image:demo-app"] {
        assert!(finished(&events, id).is_some(), "{id} did not finish");
    }
    let reporter: SharedReporter = RecordingReporter::new();
    kindling::down::down(&f.settings, &f.env, &reporter, true, false)
        .await
        .unwrap();
}

/// Runs `kindling up --output json` and sends SIGINT as soon as `step` starts; returns
/// whether the step started (false: the run ended first), the exit code and what the run
/// printed (its events and its error).
async fn up_interrupted_at(f: &Setup, step: &str) -> (bool, Option<i32>, String) {
    let bundle = f.shared.join("upstream");
    let command = tokio::process::Command::from(f.command(&[
        "--output",
        "json",
        "up",
        "--bundle",
        bundle.to_str().unwrap(),
    ]));
    let mut hit = false;
    let (code, printed) = up_support::run_streaming(command, |event, pid| {
        if !hit && event["event"] == "step_started" && event["step"] == step {
            hit = true;
            let _ = std::process::Command::new("kill")
                .args(["-INT", &pid.to_string()])
                .status();
        }
    })
    .await;
    (hit, code, printed)
}

/// Ctrl-C at each step in turn, then `up` again: it converges, with one node, one registry,
/// one cache, no second copy of any object, only the tags `up` makes, and no temporary folder
/// left behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn up_interrupted_at_each_step_converges_when_run_again() {
    let Some(f) = setup("90s").await else {
        return;
    };
    let steps = [
        "preflight",
        "tls-ca",
        "cluster.create",
        "image:demo-app",
        "cluster.wiring",
        "argocd",
        "oci:kindling-manifests:latest",
        "platform",
        "ca-issuer",
        "demo-apps",
    ];
    let mut interrupted = Vec::new();
    for step in steps {
        let (hit, code, printed) = up_interrupted_at(&f, step).await;
        if hit {
            if code != Some(130) {
                let states = cluster_support::docker(&[
                    "ps",
                    "-a",
                    "--format",
                    "{{.Names}} {{.State}} {{.Status}} {{.Ports}}",
                ]);
                panic!(
                    "Ctrl-C at {step} exits {code:?}, not 130:\n{printed}\ncontainers:\n{}",
                    String::from_utf8_lossy(&states.stdout)
                );
            }
            interrupted.push(step);
        }
    }
    assert!(
        interrupted.len() >= 8,
        "only interrupted at {interrupted:?}"
    );

    let (result, recording) = f.up().await;
    result.unwrap_or_else(|e| {
        panic!(
            "up after interruptions failed: {e}: {:?}",
            recording.events()
        )
    });

    let name = &f.name;
    let kind_nodes = containers_with_label(&format!("io.x-k8s.kind.cluster={name}"));
    assert_eq!(kind_nodes, std::slice::from_ref(&f.node), "one node");
    let ours = containers_with_label(&format!("dev.kindling.cluster={name}"));
    assert_eq!(
        ours,
        std::slice::from_ref(&f.settings.config.registry.name),
        "one registry"
    );
    // The cache is shared (it names no cluster): one, by its name.
    let cache = kindling::config::mirror_container_name(&f.settings.config.registry.mirrors[0]);
    let caches = containers_with_label(&format!(
        "dev.kindling.upstream={}",
        f.settings.config.registry.mirrors[0]
    ));
    assert_eq!(caches, [cache], "one cache");
    let apps: Vec<String> = f
        .api
        .list("argoproj.io/v1alpha1", "Application", Some("argocd"))
        .iter()
        .map(|a| a["metadata"]["name"].as_str().unwrap().to_string())
        .collect();
    let platform = kindling::platform::applications::all(&f.settings.config).len();
    assert_eq!(apps.len(), platform + 3, "{apps:?}");
    for ns in ["default", "staging", "production"] {
        assert_eq!(
            f.api
                .list("argoproj.io/v1alpha1", "Rollout", Some(ns))
                .len(),
            1
        );
    }
    let registry =
        kindling::docker::registry_api::RegistryApi::local(f.settings.config.registry.host_port);
    assert!(
        registry
            .manifest_digest("kindling-manifests", "latest")
            .await
            .unwrap()
            .is_some()
    );
    let left: Vec<_> = std::fs::read_dir(f.tmp_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(left.is_empty(), "temporary folders left: {left:?}");

    let reporter: SharedReporter = RecordingReporter::new();
    kindling::down::down(&f.settings, &f.env, &reporter, true, false)
        .await
        .unwrap();
}

/// The up-sim benchmark (scripts/bench/up-sim.sh): one `up` on the simulated kind cluster with
/// the real charts (renders from the on-disk cache after the first run), Argo CD pacing itself
/// as in real time (sync-wave pauses, retry backoff; UP_SIM_ARGOCD_TIME_SCALE, default 1.0)
/// and everything in the cluster otherwise ready at once. So it measures what `up` itself
/// costs — preflight, registry, node, image, artifact, wiring, applying, waiting, HTTPS checks
/// — plus Argo CD's own pauses, not the time real images take to pull and start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: scripts/bench.sh up-sim"]
async fn bench_up_sim() {
    let time_scale = std::env::var("UP_SIM_ARGOCD_TIME_SCALE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1.0);
    let Some(f) = up_support::setup_with(up_support::SetupOptions {
        timeout: "10m".into(),
        argocd_time_scale: time_scale,
        ..Default::default()
    })
    .await
    else {
        return;
    };
    let started_at = Instant::now();
    let (result, recording) = f.up().await;
    let wall = started_at.elapsed();
    up_support::expect_up(result, &recording);
    let events = recording.timed_events();
    for (_, e) in &events {
        if let Event::StepFinished {
            step, elapsed_ms, ..
        } = e
        {
            println!("step {step} {elapsed_ms}ms");
        }
    }
    let argocd = started(&events, "argocd");
    let ready = finished(&events, "demo-apps").unwrap().0;
    println!("up_wall_ms={}", wall.as_millis());
    println!(
        "before_argocd_ms={}",
        argocd.duration_since(started_at).as_millis()
    );
    println!(
        "argocd_to_ready_ms={}",
        ready.duration_since(argocd).as_millis()
    );
    let reporter: SharedReporter = RecordingReporter::new();
    kindling::down::down(&f.settings, &f.env, &reporter, true, false)
        .await
        .unwrap();
}
