//! `registry up/down` against a real Docker engine with the stand-in registry image.

mod registry_support;
mod support;

use kindling::config::mirror_container_name;
use kindling::docker::mirrors::mirror_volume_name;
use kindling::docker::registry::{self, registry_volume_name};
use kindling::docker::{RegistryError, status};
use kindling::report::{Event, Outcome, RecordingReporter, SharedReporter};
use registry_support::{Fixture, cleanup, inspect};
use std::net::{Ipv4Addr, TcpListener};
use std::sync::Arc;

/// (outcome, detail) of every finished step whose id is `step`.
fn finished(recorder: &RecordingReporter, step: &str) -> Vec<(Outcome, Option<String>)> {
    recorder
        .events()
        .into_iter()
        .filter_map(|e| match e {
            Event::StepFinished {
                step: s,
                outcome,
                detail,
                ..
            } if s == step => Some((outcome, detail)),
            _ => None,
        })
        .collect()
}

/// The error of the step `step`, which must have failed.
fn failed(recorder: &RecordingReporter, step: &str) -> String {
    recorder
        .events()
        .into_iter()
        .find_map(|e| match e {
            Event::StepFailed { step: s, error, .. } if s == step => Some(error),
            _ => None,
        })
        .unwrap_or_else(|| panic!("step {step} did not fail: {:?}", recorder.events()))
}

fn recording() -> (Arc<RecordingReporter>, SharedReporter) {
    let recorder = RecordingReporter::new();
    let shared: SharedReporter = recorder.clone();
    (recorder, shared)
}

fn exists(name: &str) -> bool {
    std::process::Command::new("docker")
        .args(["inspect", name])
        .output()
        .unwrap()
        .status
        .success()
}

fn volume_exists(name: &str) -> bool {
    std::process::Command::new("docker")
        .args(["volume", "inspect", name])
        .output()
        .unwrap()
        .status
        .success()
}

#[tokio::test]
async fn up_publishes_on_localhost_only_with_labels_volume_and_mirrors() {
    let Some(fx) = Fixture::new(2).await else {
        return;
    };
    let (recorder, reporter) = recording();
    let done = registry::up(&fx.docker, &fx.config, &reporter)
        .await
        .unwrap();
    assert_eq!(done.len(), 3);
    assert!(
        done.iter().all(|d| d.outcome == Outcome::Created),
        "{done:?}"
    );
    assert_eq!(done[0].problem, None, "the registry answers");

    let name = &fx.config.registry.name;
    let port = fx.config.registry.host_port;
    assert_eq!(
        inspect(name, "{{json .HostConfig.PortBindings}}"),
        format!(r#"{{"5000/tcp":[{{"HostIp":"127.0.0.1","HostPort":"{port}"}}]}}"#)
    );
    assert_eq!(
        inspect(name, r#"{{index .Config.Labels "dev.kindling.managed"}}"#),
        "true"
    );
    assert_eq!(
        inspect(name, r#"{{index .Config.Labels "dev.kindling.cluster"}}"#),
        fx.config.cluster.name
    );
    assert!(!inspect(name, "{{json .Config.Labels}}").contains("io.x-k8s.kind.cluster"));
    assert_eq!(
        inspect(name, "{{.HostConfig.RestartPolicy.Name}}"),
        "always"
    );
    assert_eq!(
        inspect(
            name,
            "{{range .Mounts}}{{.Type}} {{.Name}} {{.Destination}}{{end}}"
        ),
        format!(
            "volume {} /var/lib/registry",
            registry_volume_name(&fx.config)
        )
    );
    // The registry answers (up waited for it) on 127.0.0.1.
    let answer = reqwest::get(format!("http://127.0.0.1:{port}/v2/"))
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);

    for upstream in &fx.config.registry.mirrors {
        let mirror = mirror_container_name(upstream);
        assert_eq!(
            inspect(&mirror, "{{range .Config.Env}}{{println .}}{{end}}")
                .lines()
                .filter(|l| l.starts_with("REGISTRY_"))
                .collect::<Vec<_>>(),
            [format!("REGISTRY_PROXY_REMOTEURL=https://{upstream}")]
        );
        let bindings = inspect(&mirror, "{{json .HostConfig.PortBindings}}");
        assert!(
            bindings == "null" || bindings == "{}",
            "no host port: {bindings}"
        );
        assert_eq!(
            inspect(&mirror, "{{range .Mounts}}{{.Name}}{{end}}"),
            mirror_volume_name(upstream)
        );
        // The fake upstream never answers, and a proxy registry checks its upstream when it
        // starts (distribution v3.0.0 registry/proxy/proxyauth.go getAuthURLs; app.go panics):
        // the cache crash-loops, and says so rather than "created".
        assert!(finished(&recorder, &format!("registry:{mirror}")).is_empty());
        let why = failed(&recorder, &format!("registry:{mirror}"));
        assert!(
            why.starts_with("created, but it does not answer: ")
                && why.contains("restart")
                && why.contains(upstream.as_str()),
            "{why}"
        );
    }

    let rows = status::status(&fx.docker, &fx.config).await.unwrap();
    assert_eq!(rows[0].name, *name);
    assert_eq!(rows[0].state, "running");
    assert_eq!(rows[0].port, Some(port));
    assert_eq!(rows[0].answers, Some(true));
    assert_eq!(rows.len(), 3);
    assert!(
        rows[1..]
            .iter()
            .all(|r| r.role == "mirror" && r.port.is_none() && !r.is_up()),
        "{rows:?}"
    );
}

#[tokio::test]
async fn second_up_is_unchanged_and_changed_port_recreates_saying_why() {
    let Some(mut fx) = Fixture::new(1).await else {
        return;
    };
    let (_, reporter) = recording();
    let first = registry::up(&fx.docker, &fx.config, &reporter)
        .await
        .unwrap();
    let name = fx.config.registry.name.clone();
    let started_at = inspect(&name, "{{.State.StartedAt}}");

    let (recorder, reporter) = recording();
    let second = registry::up(&fx.docker, &fx.config, &reporter)
        .await
        .unwrap();
    for (a, b) in first.iter().zip(&second) {
        assert_eq!(a.id, b.id, "same container for {}", a.name);
        assert_eq!(b.outcome, Outcome::Unchanged);
    }
    assert_eq!(
        finished(&recorder, &format!("registry:{name}")),
        [(Outcome::Unchanged, None)]
    );
    // The crash-looping cache (its upstream never answers) is not "unchanged": it is down.
    let mirror = &second[1].name;
    assert!(
        failed(&recorder, &format!("registry:{mirror}"))
            .starts_with("unchanged, but it does not answer"),
        "{:?}",
        recorder.events()
    );
    assert_eq!(
        inspect(&name, "{{.State.StartedAt}}"),
        started_at,
        "not restarted"
    );

    let old_port = fx.config.registry.host_port;
    let new_port = support::free_port();
    fx.config.registry.host_port = new_port;
    let (recorder, reporter) = recording();
    let third = registry::up(&fx.docker, &fx.config, &reporter)
        .await
        .unwrap();
    assert_ne!(third[0].id, first[0].id, "recreated");
    let steps = finished(&recorder, &format!("registry:{name}"));
    assert_eq!(steps.len(), 1);
    assert_eq!(steps[0].0, Outcome::Changed);
    let detail = steps[0].1.clone().unwrap();
    assert!(
        detail.contains(&format!("host port {old_port} → {new_port}")),
        "{detail}"
    );
    assert_eq!(third[1].id, first[1].id, "the mirror did not change");
    let answer = reqwest::get(format!("http://127.0.0.1:{new_port}/v2/"))
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
}

#[tokio::test]
async fn stopped_registry_is_started_not_recreated() {
    let Some(fx) = Fixture::new(0).await else {
        return;
    };
    let (_, reporter) = recording();
    let first = registry::up(&fx.docker, &fx.config, &reporter)
        .await
        .unwrap();
    let name = &fx.config.registry.name;
    assert!(
        std::process::Command::new("docker")
            .args(["stop", "-t", "1", name])
            .output()
            .unwrap()
            .status
            .success()
    );
    let (recorder, reporter) = recording();
    let again = registry::up(&fx.docker, &fx.config, &reporter)
        .await
        .unwrap();
    assert_eq!(again[0].id, first[0].id);
    let steps = finished(&recorder, &format!("registry:{name}"));
    assert_eq!(steps[0].0, Outcome::Changed);
    assert!(
        steps[0].1.as_deref().unwrap().starts_with("started"),
        "{steps:?}"
    );
    assert_eq!(inspect(name, "{{.State.Status}}"), "running");
}

#[tokio::test]
async fn mirror_cache_survives_down_and_up_and_purge_removes_it() {
    let Some(fx) = Fixture::new(1).await else {
        return;
    };
    let (_, reporter) = recording();
    registry::up(&fx.docker, &fx.config, &reporter)
        .await
        .unwrap();
    let mirror = mirror_container_name(&fx.config.registry.mirrors[0]);
    let volume = mirror_volume_name(&fx.config.registry.mirrors[0]);

    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("marker.txt");
    std::fs::write(&marker, "cached layer").unwrap();
    let cp = std::process::Command::new("docker")
        .args([
            "cp",
            marker.to_str().unwrap(),
            &format!("{mirror}:/var/lib/registry/marker.txt"),
        ])
        .output()
        .unwrap();
    assert!(
        cp.status.success(),
        "{}",
        String::from_utf8_lossy(&cp.stderr)
    );

    let report = registry::down(&fx.docker, &fx.config, &reporter, false)
        .await
        .unwrap();
    assert_eq!(report.removed_containers.len(), 2);
    assert!(report.removed_volumes.is_empty());
    assert!(!exists(&mirror) && !exists(&fx.config.registry.name));
    assert!(volume_exists(&volume) && volume_exists(&registry_volume_name(&fx.config)));

    registry::up(&fx.docker, &fx.config, &reporter)
        .await
        .unwrap();
    let back = dir.path().join("back.txt");
    let cp = std::process::Command::new("docker")
        .args([
            "cp",
            &format!("{mirror}:/var/lib/registry/marker.txt"),
            back.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        cp.status.success(),
        "{}",
        String::from_utf8_lossy(&cp.stderr)
    );
    assert_eq!(std::fs::read_to_string(&back).unwrap(), "cached layer");

    let report = registry::down(&fx.docker, &fx.config, &reporter, true)
        .await
        .unwrap();
    assert_eq!(report.removed_volumes.len(), 2, "{report:?}");
    assert!(!volume_exists(&volume));
    assert!(!volume_exists(&registry_volume_name(&fx.config)));
}

#[tokio::test]
async fn down_removes_only_what_kindling_owns_for_this_cluster() {
    let Some(fx) = Fixture::new(0).await else {
        return;
    };
    let (_, reporter) = recording();
    registry::up(&fx.docker, &fx.config, &reporter)
        .await
        .unwrap();
    let unlabelled = support::unique("foreign");
    let other_cluster = support::unique("other");
    let _guard = Guard(vec![unlabelled.clone(), other_cluster.clone()]);
    let image = support::registry_image();
    for args in [
        vec!["create", "--name", &unlabelled, &image],
        vec![
            "create",
            "--name",
            &other_cluster,
            "--label",
            "dev.kindling.managed=true",
            "--label",
            "dev.kindling.cluster=someone-else",
            "--label",
            "dev.kindling.role=registry",
            &image,
        ],
    ] {
        assert!(
            std::process::Command::new("docker")
                .args(args)
                .output()
                .unwrap()
                .status
                .success()
        );
    }
    let report = registry::down(&fx.docker, &fx.config, &reporter, true)
        .await
        .unwrap();
    assert_eq!(
        report.removed_containers,
        vec![fx.config.registry.name.clone()]
    );
    assert!(exists(&unlabelled) && exists(&other_cluster));
}

struct Guard(Vec<String>);
impl Drop for Guard {
    fn drop(&mut self) {
        cleanup(&self.0, &[]);
    }
}

#[tokio::test]
async fn port_taken_names_the_holder_and_the_setting() {
    let Some(fx) = Fixture::new(0).await else {
        return;
    };
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let mut config = fx.config.clone();
    config.registry.host_port = listener.local_addr().unwrap().port();
    let (_, reporter) = recording();
    let err = registry::up(&fx.docker, &config, &reporter)
        .await
        .unwrap_err();
    assert!(matches!(err, RegistryError::PortInUse { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains(&format!("127.0.0.1:{}", config.registry.host_port)),
        "{text}"
    );
    assert!(
        text.contains(&format!("pid {}", std::process::id())),
        "names this test process: {text}"
    );
    let err: kindling::Error = err.into();
    assert!(
        err.hints().iter().any(|h| h.contains("registry.host_port")),
        "{:?}",
        err.hints()
    );
    assert!(
        !exists(&config.registry.name),
        "nothing half-made left behind"
    );
    drop(listener);
}

#[tokio::test]
async fn unknown_image_that_cannot_be_pulled() {
    let Some(mut fx) = Fixture::new(0).await else {
        return;
    };
    let image = format!("kindling-test/{}:1", support::unique("missing"));
    fx.config.registry.image = image.clone();
    let (recorder, reporter) = recording();
    let err = registry::up(&fx.docker, &fx.config, &reporter)
        .await
        .unwrap_err();
    assert!(matches!(err, RegistryError::Pull { .. }), "{err:?}");
    assert!(err.to_string().contains(&image), "{err}");
    assert!(err.hint().unwrap().contains("docker load"));
    assert!(
        recorder
            .events()
            .iter()
            .any(|e| matches!(e, Event::StepFailed { step, .. } if step == "registry-image"))
    );
    assert!(!exists(&fx.config.registry.name), "nothing created");
}

#[tokio::test]
async fn foreign_container_with_our_name_is_left_alone() {
    let Some(fx) = Fixture::new(0).await else {
        return;
    };
    let name = &fx.config.registry.name;
    let created = std::process::Command::new("docker")
        .args(["create", "--name", name, &support::registry_image()])
        .output()
        .unwrap();
    assert!(created.status.success());
    let id = String::from_utf8_lossy(&created.stdout).trim().to_string();
    let (_, reporter) = recording();
    let err = registry::up(&fx.docker, &fx.config, &reporter)
        .await
        .unwrap_err();
    assert!(matches!(err, RegistryError::Foreign { .. }), "{err:?}");
    assert!(err.to_string().contains(name.as_str()) && err.to_string().contains("does not own"));
    assert_eq!(inspect(name, "{{.Id}}"), id, "untouched");
    let report = registry::down(&fx.docker, &fx.config, &reporter, false)
        .await
        .unwrap();
    assert!(report.removed_containers.is_empty());
    assert!(exists(name));
    let rows = status::status(&fx.docker, &fx.config).await.unwrap();
    assert_eq!(rows[0].state, "foreign");
}

#[tokio::test]
async fn docker_unreachable_is_a_clear_error() {
    let env = kindling::env::Env::from_pairs([("DOCKER_HOST", "unix:///nonexistent")]);
    let err = kindling::docker::connect(&env, std::time::Duration::from_secs(2))
        .await
        .unwrap_err();
    let err: kindling::Error = RegistryError::from(err).into();
    assert!(err.to_string().contains("unix:///nonexistent"), "{err}");
    assert!(err.hints().iter().any(|h| h.contains("start Docker")));
    assert_eq!(err.exit_status(), kindling::ExitStatus::Failure);
}

#[tokio::test]
async fn mirror_dropped_from_config_is_removed_keeping_its_cache() {
    let Some(fx) = Fixture::new(2).await else {
        return;
    };
    let (_, reporter) = recording();
    registry::up(&fx.docker, &fx.config, &reporter)
        .await
        .unwrap();
    let dropped = fx.config.registry.mirrors[1].clone();
    let mut config = fx.config.clone();
    config.registry.mirrors.truncate(1);
    let (recorder, reporter) = recording();
    let done = registry::up(&fx.docker, &config, &reporter).await.unwrap();
    assert_eq!(done.len(), 2);
    let name = mirror_container_name(&dropped);
    assert!(!exists(&name));
    assert!(volume_exists(&mirror_volume_name(&dropped)));
    let steps = finished(&recorder, &format!("registry:{name}"));
    assert_eq!(steps.len(), 1);
    assert_eq!(steps[0].0, Outcome::Changed);
    assert!(
        steps[0]
            .1
            .as_deref()
            .unwrap()
            .contains("no longer in registry.mirrors")
    );
    assert!(exists(&mirror_container_name(
        &fx.config.registry.mirrors[0]
    )));
}

#[tokio::test]
async fn port_taken_by_another_container_names_it() {
    let Some(fx) = Fixture::new(0).await else {
        return;
    };
    let squatter = support::unique("squatter");
    let _guard = Guard(vec![squatter.clone()]);
    let port = fx.config.registry.host_port;
    let run = std::process::Command::new("docker")
        .args([
            "run",
            "-d",
            "--name",
            &squatter,
            "-p",
            &format!("127.0.0.1:{port}:5000"),
        ])
        .arg(support::registry_image())
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let (_, reporter) = recording();
    let err = registry::up(&fx.docker, &fx.config, &reporter)
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains(&format!("in use by container {squatter}")),
        "{err}"
    );
    assert!(exists(&squatter), "the other container is left alone");
}
