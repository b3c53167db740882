//! `kindling bundle` against stand-ins (tests/bundle_support): a connected laptop packs its
//! running platform into one file; a second laptop, with the upstreams gone, loads it and
//! brings the platform up with nothing leaving the machine.

mod bundle_support;
mod cluster_support;
mod support;
mod up_support;

use bundle_support::{Connected, Options, connected};
use serde_json::Value;

const VERSION: &str = env!("CARGO_PKG_VERSION");

fn json_lines(output: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(output)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

fn summary(output: &std::process::Output) -> Value {
    json_lines(&output.stdout)
        .into_iter()
        .find(|e| e["event"] == "summary")
        .unwrap_or_else(|| {
            panic!(
                "no summary: {}\n{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            )
        })
}

async fn created(c: &Connected) -> (std::path::PathBuf, Value) {
    let out = c.dir.path().join("out/kindling-bundle.tar");
    std::fs::create_dir_all(out.parent().unwrap()).unwrap();
    let output = c.create(&out).await;
    assert!(
        output.status.success(),
        "bundle create failed: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (out, summary(&output))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bundle_create_packs_every_image_the_pods_run_for_each_platform_with_shared_layers_once() {
    let Some(c) = connected(Options::default()).await else {
        return;
    };
    // kindling for a host whose release asset is missing: refused before anything is fetched,
    // naming the file, and no bundle written.
    let releases =
        bundle_support::kindling_releases(&c.dir.path().join("partial"), &["linux/amd64"]);
    let refused_out = c.dir.path().join("refused.tar");
    let output = c
        .command(&[
            "bundle",
            "create",
            "--out",
            refused_out.to_str().unwrap(),
            "--platform",
            "linux/amd64",
            "--host",
            "linux/amd64,darwin/arm64",
            "--release-dir",
            releases.to_str().unwrap(),
        ])
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("kindling-darwin-arm64 is not there"),
        "{stderr}"
    );
    assert!(!refused_out.exists());

    let (out, summary) = created(&c).await;
    let bundle = &summary["bundle"];
    // Nothing but the bundle in its folder: the temporary name was renamed.
    let names: Vec<String> = std::fs::read_dir(out.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["kindling-bundle.tar"]);

    let images: Vec<&str> = bundle["images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    let d = &c.digests;
    for want in [
        format!("docker.io/library/app-a:1.0@{}", d["app-a"]),
        format!("quay.io/kindling-test/app-b:2.0@{}", d["app-b"]),
        format!("127.0.0.1:{}/demo-app@{}", c.local.port, d["demo"])
            .replace("127.0.0.1", "localhost"),
        format!("docker.io/kindest/node:v1.36.4@{}", d["node"]),
        format!("docker.io/{}", c.registry_image),
        // No pod runs it any more: the kubelet's Pulling event names it.
        "quay.io/kindling-test/hook:1.0".to_string(),
    ] {
        assert!(
            images.contains(&want.as_str()),
            "{want} missing from {images:?}"
        );
    }
    assert!(
        !images.iter().any(|i| i.contains("etcd")),
        "preloaded images stay with the node image"
    );
    assert_eq!(
        summary["preloaded"]["registry.k8s.io/etcd:3.6.0-0"],
        "kube-system/etcd"
    );
    for image in bundle["images"].as_array().unwrap() {
        let platforms: Vec<&str> = image["platforms"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_str().unwrap())
            .collect();
        assert_eq!(
            platforms,
            ["linux/amd64", "linux/arm64"],
            "{}",
            image["name"]
        );
        // Every upstream platform is inside, so every index is the upstream's, byte for byte.
        assert!(image.get("upstream_digest").is_none(), "{image}");
    }
    let charts: Vec<String> = bundle["charts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            format!(
                "{} {}",
                c["name"].as_str().unwrap(),
                c["version"].as_str().unwrap()
            )
        })
        .collect();
    // Every chart the platform Applications pin, at that version.
    let config = kindling::config::Config::builtin();
    for app in kindling::platform::applications::all(&config) {
        let source = &app["spec"]["source"];
        let name = source["chart"]
            .as_str()
            .or_else(|| source["repoURL"].as_str()?.rsplit('/').next())
            .unwrap();
        let want = format!("{name} {}", source["targetRevision"].as_str().unwrap());
        assert!(charts.contains(&want), "{want} missing from {charts:?}");
    }
    let files: Vec<&str> = bundle["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        files,
        [
            "files/kind/v0.33.0/kind-linux-amd64",
            "files/kind/v0.33.0/kind-darwin-arm64",
            &format!("files/kindling/{VERSION}/kindling-linux-amd64"),
            &format!("files/kindling/{VERSION}/kindling-darwin-arm64"),
            "files/argo-cd/v3.5.1/install.yaml",
        ]
    );
    // A laptop without kindling takes it out with plain tar: the bundle is one file to copy.
    let unpacked = c.dir.path().join("unpacked");
    std::fs::create_dir_all(&unpacked).unwrap();
    let entry = format!("files/kindling/{VERSION}/kindling-darwin-arm64");
    let tar = std::process::Command::new("tar")
        .arg("-xf")
        .arg(&out)
        .arg("-C")
        .arg(&unpacked)
        .arg(&entry)
        .status()
        .unwrap();
    assert!(tar.success());
    assert_eq!(
        std::fs::read(unpacked.join(&entry)).unwrap(),
        std::fs::read(c.dir.path().join("releases/kindling-darwin-arm64")).unwrap()
    );
    // Content-addressed: the base layer app-a and app-b share is stored once, and the file is
    // its distinct blobs plus files and framing.
    let manifest = kindling::bundle::archive::read_manifest(&out)
        .await
        .unwrap();
    let mut paths: Vec<&str> = manifest.entries.iter().map(|e| e.path.as_str()).collect();
    let total = paths.len();
    paths.sort();
    paths.dedup();
    assert_eq!(paths.len(), total, "an entry appears twice");
    let file_bytes = bundle["file_bytes"].as_u64().unwrap();
    let unique = bundle["unique_blob_bytes"].as_u64().unwrap();
    let files_bytes: u64 = manifest
        .entries
        .iter()
        .filter(|e| e.path.starts_with("files/"))
        .map(|e| e.size)
        .sum();
    assert!(file_bytes > unique + files_bytes);
    assert!(
        file_bytes < (unique + files_bytes) * 105 / 100 + (total as u64 + 3) * 1024,
        "{file_bytes} vs {unique}"
    );

    // inspect reads the same from the file.
    let output = c
        .command(&[
            "--output",
            "json",
            "bundle",
            "inspect",
            out.to_str().unwrap(),
        ])
        .output()
        .await
        .unwrap();
    assert!(output.status.success());
    let inspected: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(inspected["images"], bundle["images"]);
    assert_eq!(inspected["pins"]["components.argocd"], "v3.5.1");
    assert_eq!(
        inspected["pins"]["cluster.node_image"],
        c.settings.config.cluster.node_image.as_str()
    );
}

/// The workshop story: one connected `up` made the bundle; on a second laptop with the
/// upstreams gone, `up --bundle FILE` brings the platform up, and every image, chart and file
/// comes from the bundle. Nothing reaches out: kindling's proxy variables point at a recorder
/// that sees no request, the node sits on an internal network, Docker pulls nothing but the
/// node image from the local registry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bundle_brings_the_platform_up_on_a_laptop_with_no_network() {
    let Some(helm) = bundle_support::helm_python() else {
        return;
    };
    let Some(c) = connected(Options::default()).await else {
        return;
    };
    let (bundle, _) = created(&c).await;
    c.upstreams_gone();

    let network = bundle_support::Network::internal("kbundle-offline");
    let Some(b) = bundle_support::offline_laptop(&c, &network).await else {
        return;
    };
    let node_image = format!(
        "localhost:{}/docker.io/kindest/node@{}",
        b.settings.config.registry.host_port, c.digests["node"]
    );
    let _untag = bundle_support::Untag(std::sync::Mutex::new(vec![node_image.clone()]));
    let recorder = bundle_support::Recorder::start().await;
    // A pull only happens when the image is not there yet.
    assert!(
        !cluster_support::docker(&["image", "inspect", &node_image])
            .status
            .success(),
        "{node_image} is in Docker before the run (left by an earlier one?)"
    );
    let pulls = bundle_support::PullWatch::start();
    let (code, printed) = bundle_support::run_up(
        &b,
        &["up", "--bundle", bundle.to_str().unwrap()],
        &recorder.env(),
    )
    .await;
    let pulls = pulls.finish();
    assert_eq!(code, Some(0), "up --bundle failed:\n{printed}");

    // Nothing reached out.
    assert_eq!(
        recorder.count(),
        0,
        "requests went to the proxy: {:?}",
        recorder.first_lines.lock().unwrap()
    );
    // `docker events` is the whole engine's: other tests running at the same time pull from
    // their own local registries. This run's pulls are the ones from its registry; no pull at
    // all may name an upstream.
    let upstream: Vec<&String> = pulls
        .iter()
        .filter(|p| !p.starts_with("localhost:"))
        .collect();
    assert!(
        upstream.is_empty(),
        "Docker pulled from an upstream: {upstream:?}"
    );
    let ours = format!("localhost:{}/", b.settings.config.registry.host_port);
    let mine: Vec<&String> = pulls.iter().filter(|p| p.starts_with(&ours)).collect();
    assert_eq!(
        mine,
        vec![&node_image],
        "Docker pulled something else than the node image from the local registry"
    );
    // kind got the node image from the local registry, by digest; the registry image was loaded.
    let received = std::fs::read_to_string(b.dir.path().join("received-config.yaml")).unwrap();
    assert!(
        received.contains(&format!("image: {node_image}")),
        "{received}"
    );
    assert_eq!(
        cluster_support::docker_ok(&["inspect", "-f", "{{.Config.Image}}", &b.node]).trim(),
        node_image
    );
    assert!(
        cluster_support::docker(&["image", "inspect", &c.registry_image])
            .status
            .success()
    );

    // Every image under its upstream path, with the upstream's digest.
    let state = bundle_support::registry_state(b.settings.config.registry.host_port).await;
    for (repo, name) in [
        ("docker.io/library/app-a:1.0", "app-a"),
        ("quay.io/kindling-test/app-b:2.0", "app-b"),
        ("docker.io/kindest/node:v1.36.4", "node"),
    ] {
        assert_eq!(
            state.get(repo),
            Some(&c.digests[name]),
            "{repo} in {state:?}"
        );
    }
    // containerd in the node, following its hosts.toml, finds them there with those digests;
    // an image the bundle lacks is an error at once, and nothing else is reachable.
    cluster_support::docker_ok(&[
        "network",
        "connect",
        &network.0,
        &b.settings.config.registry.name,
    ]);
    for (upstream, repo, tag, name) in [
        ("docker.io", "library/app-a", "1.0", "app-a"),
        ("quay.io", "kindling-test/app-b", "2.0", "app-b"),
        ("docker.io", "kindest/node", "v1.36.4", "node"),
    ] {
        assert_eq!(
            bundle_support::fetch_in_node(&b.node, &network.0, upstream, repo, tag).as_ref(),
            Ok(&c.digests[name]),
            "{upstream}/{repo}:{tag}"
        );
    }
    let missing = bundle_support::fetch_in_node(
        &b.node,
        &network.0,
        "quay.io",
        "kindling-test/not-bundled",
        "1.0",
    )
    .unwrap_err();
    assert!(
        missing.contains("404") || missing.contains("Not Found"),
        "{missing}"
    );
    // An address off the machine (quay.io's): nothing answers (the internal network drops it).
    let out = cluster_support::docker(&[
        "exec",
        &b.node,
        "busybox",
        "timeout",
        "5",
        "wget",
        "-q",
        "-O",
        "-",
        "http://3.227.105.71/v2/",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the node reached out: {err}");

    // The platform Applications read their charts from the local registry, declared as a Helm
    // OCI repository over plain HTTP, and Helm pulls each one byte for byte as pinned.
    let repo_url = format!("{}:5000/charts", b.settings.config.registry.name);
    let secret = b
        .api
        .get("v1", "Secret", Some("argocd"), "kindling-bundle-charts")
        .expect("the repository Secret");
    let data = if secret["stringData"].is_object() {
        &secret["stringData"]
    } else {
        &secret["data"]
    };
    assert_eq!(data["url"], repo_url.as_str());
    for (app, chart, version) in [
        ("traefik", "traefik", "41.3.0"),
        ("cert-manager", "cert-manager", "v1.21.1"),
        ("kube-prometheus-stack", "kube-prometheus-stack", "88.5.3"),
        ("argo-rollouts", "argo-rollouts", "2.41.1"),
        ("metrics-server", "metrics-server", "3.13.1"),
    ] {
        let application = b
            .api
            .get("argoproj.io/v1alpha1", "Application", Some("argocd"), app)
            .unwrap();
        let source = &application["spec"]["source"];
        assert_eq!(source["repoURL"], repo_url.as_str(), "{app}");
        assert_eq!(source["chart"], chart, "{app}");
        assert_eq!(source["targetRevision"], version, "{app}");
        let reference = format!(
            "oci://127.0.0.1:{}/charts/{chart}",
            b.settings.config.registry.host_port
        );
        let pulled = bundle_support::helm_pull(&helm, &reference, version)
            .unwrap_or_else(|e| panic!("helm pull {reference}: {e}"));
        let pinned = std::fs::read(
            c.shared
                .join(format!("upstream/charts/{chart}-{version}.tgz")),
        )
        .unwrap();
        assert!(
            pulled == pinned,
            "{chart} {version} differs from the pinned chart"
        );
    }
    // The upstream's own OCI artifact for cert-manager, byte for byte.
    assert_eq!(
        state.get("charts/cert-manager:v1.21.1"),
        Some(&c.digests["cert-manager-chart"])
    );

    // install.yaml and kind came from the bundle; the demo image was built from its binary.
    let cache = &b.settings.cache_dir;
    assert_eq!(
        std::fs::read(cache.join("bundle/files/argo-cd/v3.5.1/install.yaml")).unwrap(),
        std::fs::read(c.shared.join("upstream/argo-cd/v3.5.1/install.yaml")).unwrap()
    );
    let kind = std::fs::read_to_string(cache.join("bin/kind-v0.33.0")).unwrap();
    assert!(
        kind.contains("stand-in for kind v0.33.0 linux/amd64"),
        "{kind}"
    );
    // kindling for each host the bundle was made for, executable, for the next laptop.
    for host in ["linux-amd64", "darwin-arm64"] {
        use std::os::unix::fs::PermissionsExt;
        let file = cache.join(format!("bundle/files/kindling/{VERSION}/kindling-{host}"));
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o755, "{}", file.display());
    }
    let demo = std::fs::read_to_string(cache.join("bundle/demo-app/linux-amd64/demo-app")).unwrap();
    assert!(demo.contains("stand-in demo-app binary from the bundle"));
    assert!(printed.contains("\"step\":\"image:demo-app\""), "{printed}");

    // A second run changes nothing and still reaches nothing.
    let pulls = bundle_support::PullWatch::start();
    let (code, printed) = bundle_support::run_up(
        &b,
        &["up", "--bundle", bundle.to_str().unwrap()],
        &recorder.env(),
    )
    .await;
    assert_eq!(code, Some(0), "second up --bundle failed:\n{printed}");
    assert_eq!(recorder.count(), 0);
    let pulls = pulls.finish();
    assert!(
        !pulls
            .iter()
            .any(|p| p.starts_with(&ours) || !p.starts_with("localhost:")),
        "{pulls:?}"
    );
    for line in printed
        .lines()
        .filter(|l| l.contains("\"step_finished\"") && l.contains("\"step\":\"bundle."))
    {
        let event: Value = serde_json::from_str(line).unwrap();
        assert!(
            matches!(event["outcome"].as_str(), Some("unchanged" | "done")),
            "a second load changed something: {line}"
        );
    }

    // The recorder does see a request that leaves: bundle create without the stand-in upstreams.
    let mut command = c.command(&[
        "bundle",
        "create",
        "--out",
        c.dir.path().join("x.tar").to_str().unwrap(),
        "--platform",
        "linux/amd64",
    ]);
    command.env_remove("KINDLING_BUNDLE_UPSTREAMS");
    for (k, v) in recorder.env() {
        command.env(k, v);
    }
    let output = command.output().await.unwrap();
    assert!(!output.status.success());
    assert!(
        recorder.count() > 0,
        "kindling's HTTP clients do not go through the proxy variables"
    );
}

/// Ctrl-C in the middle of pushing the images (the registry is paused, so the push is surely in
/// flight), then `bundle load` again: it converges to exactly what a load that was never
/// interrupted makes, and leaves no half-written file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_load_converges_when_run_again_to_the_state_of_an_uninterrupted_one() {
    let Some(c) = connected(Options::default()).await else {
        return;
    };
    let (bundle, _) = created(&c).await;
    c.upstreams_gone();
    let path = bundle.to_str().unwrap();

    let interrupted = bundle_support::Loader::new(&c);
    let mut paused = false;
    let (code, printed) = up_support::run_streaming(
        interrupted.command(&["--output", "json", "bundle", "load", path]),
        |event, pid| {
            if !paused
                && event["event"] == "step_progress"
                && event["step"] == "bundle.images"
                && event["current"].as_u64() > Some(0)
            {
                cluster_support::docker_ok(&["pause", interrupted.registry()]);
                paused = true;
                std::process::Command::new("kill")
                    .args(["-INT", &pid.to_string()])
                    .status()
                    .unwrap();
            }
        },
    )
    .await;
    assert!(paused, "the load never pushed: {printed}");
    cluster_support::docker_ok(&["unpause", interrupted.registry()]);
    assert_eq!(code, Some(130), "Ctrl-C exits 130");
    let halfway = bundle_support::registry_state(interrupted.port()).await;

    let output = interrupted
        .command(&["bundle", "load", path])
        .output()
        .await
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let converged = bundle_support::registry_state(interrupted.port()).await;
    assert!(
        interrupted.partial_files().is_empty(),
        "{:?}",
        interrupted.partial_files()
    );

    let clean = bundle_support::Loader::new(&c);
    let output = clean
        .command(&["bundle", "load", path])
        .output()
        .await
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let expected = bundle_support::registry_state(clean.port()).await;
    assert_ne!(
        halfway, expected,
        "the first load was not interrupted before it finished"
    );
    assert_eq!(converged, expected);
    assert_eq!(
        expected.get("quay.io/kindling-test/app-b:2.0"),
        Some(&c.digests["app-b"])
    );
    for file in [
        "bundle/files/argo-cd/v3.5.1/install.yaml",
        "bin/kind-v0.33.0",
        "bundle/demo-app/linux-amd64/demo-app",
    ] {
        assert_eq!(
            std::fs::read(interrupted.settings.cache_dir.join(file)).unwrap(),
            std::fs::read(clean.settings.cache_dir.join(file)).unwrap(),
            "{file}"
        );
    }
}

/// `bundle load FILE` fails with exit 2, naming each of `wants`, with nothing loaded.
async fn refused(file: &std::path::Path, wants: Vec<String>, loader: bundle_support::Loader) {
    let output = loader
        .command(&["bundle", "load", file.to_str().unwrap()])
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    for want in wants {
        assert!(stderr.contains(&want), "{want:?} not in: {stderr}");
    }
    assert!(stderr.contains("hint:"), "{stderr}");
    let containers = cluster_support::docker_ok(&[
        "ps",
        "-a",
        "-q",
        "--filter",
        &format!("name={}", loader.registry()),
    ]);
    assert!(
        containers.trim().is_empty(),
        "a registry was started for a refused bundle"
    );
    assert!(
        !loader.settings.cache_dir.exists(),
        "files were extracted from a refused bundle"
    );
}

/// A bundle altered after it was made (one byte of one layer), or cut short in a copy, or made
/// for other pins: `bundle load` refuses it before anything is loaded — no registry container,
/// no file — naming the entry or the difference, exit 2.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_or_mismatched_bundle_is_refused_and_nothing_is_loaded() {
    let Some(c) = connected(Options::default()).await else {
        return;
    };
    let (bundle, _) = created(&c).await;
    let reporter: kindling::report::SharedReporter =
        std::sync::Arc::new(kindling::report::NullReporter);
    let verified = kindling::bundle::archive::verify(&bundle, &reporter, "t")
        .await
        .unwrap();
    let layer = verified
        .manifest
        .entries
        .iter()
        .filter(|e| e.path.starts_with("blobs/"))
        .max_by_key(|e| e.size)
        .unwrap()
        .clone();
    let (offset, size) = verified.offset(&layer.path).unwrap();

    let tampered = c.dir.path().join("tampered.tar");
    let mut bytes = std::fs::read(&bundle).unwrap();
    bytes[(offset + size / 2) as usize] ^= 0xff;
    std::fs::write(&tampered, &bytes).unwrap();
    let truncated = c.dir.path().join("truncated.tar");
    std::fs::write(
        &truncated,
        &std::fs::read(&bundle).unwrap()[..(offset + size / 2) as usize],
    )
    .unwrap();

    refused(
        &tampered,
        vec![format!("entry {} was altered", layer.path)],
        bundle_support::Loader::new(&c),
    )
    .await;
    refused(
        &truncated,
        vec!["is truncated".into(), format!("entry {}", layer.path)],
        bundle_support::Loader::new(&c),
    )
    .await;
    let mut other = bundle_support::Loader::new(&c);
    other.settings.config.components.argocd = "v3.5.0".into();
    other.settings.config.components.traefik = "41.2.0".into();
    refused(
        &bundle,
        vec![
            "components.argocd is v3.5.1 in the bundle, v3.5.0 in the configuration".into(),
            "components.traefik is 41.3.0 in the bundle, 41.2.0 in the configuration".into(),
        ],
        other,
    )
    .await;
}

/// The demo image exists only for this machine's platform (no multi-platform build): asking
/// for another platform is refused, saying what exists and how to build the rest, and no
/// bundle is left behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_platform_the_demo_image_was_not_built_for_is_refused_clearly() {
    let Some(c) = connected(Options {
        demo_platforms: &["linux/amd64"],
        ..Options::default()
    })
    .await
    else {
        return;
    };
    let out = c.dir.path().join("out/kindling-bundle.tar");
    std::fs::create_dir_all(out.parent().unwrap()).unwrap();
    let output = c.create(&out).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("the demo app image localhost:{}/demo-app exists for linux/amd64 only; this host cannot build it for linux/arm64", c.local.port)),
        "{stderr}"
    );
    assert!(
        stderr.contains("\"hints\":[\"build the demo app for that platform too"),
        "{stderr}"
    );
    assert_eq!(std::fs::read_dir(out.parent().unwrap()).unwrap().count(), 0);
}

/// The bundle benchmark (scripts/bench.sh bundle): the same images as a bundle and as
/// `docker save`; sizes, and `bundle load` against `docker load` of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: scripts/bench.sh bundle"]
async fn bench_bundle() {
    let mb: usize = std::env::var("BUNDLE_BENCH_LAYER_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(96);
    let Some(c) = connected(Options {
        demo_platforms: &["linux/amd64"],
        layer_bytes: mb << 20,
    })
    .await
    else {
        return;
    };
    let out = c.dir.path().join("bench.tar");
    let output = c.create_for(&out, "linux/amd64", &[]).await;
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let bundle = &summary(&output)["bundle"];
    let bundle_bytes = std::fs::metadata(&out).unwrap().len();
    let manifest = kindling::bundle::archive::read_manifest(&out)
        .await
        .unwrap();
    // The floor: every distinct blob and file once, nothing else.
    let unique: u64 = manifest.entries.iter().map(|e| e.size).sum();
    assert_eq!(
        bundle["unique_blob_bytes"].as_u64().unwrap()
            + manifest
                .entries
                .iter()
                .filter(|e| !e.path.starts_with("blobs/"))
                .map(|e| e.size)
                .sum::<u64>(),
        unique
    );

    // The same images in Docker, saved and loaded back.
    let refs: Vec<String> = manifest
        .images
        .iter()
        .filter(|i| i.role != kindling::bundle::manifest::ImageRole::Local)
        .map(|i| {
            let port = if i.registry == "quay.io" {
                c.quay_io.port
            } else {
                c.docker_io.port
            };
            format!(
                "localhost:{port}/{}:{}",
                i.repository,
                i.tag.as_deref().unwrap()
            )
        })
        .collect();
    let _untag = bundle_support::Untag(std::sync::Mutex::new(refs.clone()));
    for r in &refs {
        cluster_support::docker_ok(&["pull", "-q", r]);
    }
    let save = c.dir.path().join("save.tar");
    let mut args = vec!["save", "-o", save.to_str().unwrap()];
    args.extend(refs.iter().map(String::as_str));
    cluster_support::docker_ok(&args);
    let docker_save_bytes = std::fs::metadata(&save).unwrap().len();
    for r in &refs {
        cluster_support::docker_ok(&["rmi", r]);
    }
    let started = std::time::Instant::now();
    cluster_support::docker_ok(&["load", "-q", "-i", save.to_str().unwrap()]);
    let docker_load = started.elapsed();

    c.upstreams_gone();
    let loader = bundle_support::Loader::new(&c);
    let started = std::time::Instant::now();
    let output = loader
        .command(&["--output", "json", "bundle", "load", out.to_str().unwrap()])
        .output()
        .await
        .unwrap();
    let bundle_load = started.elapsed();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for event in json_lines(&output.stdout)
        .iter()
        .filter(|e| e["event"] == "step_finished")
    {
        println!(
            "step {} {}ms",
            event["step"].as_str().unwrap_or(""),
            event["elapsed_ms"]
        );
    }

    println!("images={}", refs.join(","));
    println!("bundle_bytes={bundle_bytes}");
    println!("unique_blob_bytes={unique}");
    println!("docker_save_bytes={docker_save_bytes}");
    println!("size_ratio={:.3}", bundle_bytes as f64 / unique as f64);
    println!("bundle_load_ms={}", bundle_load.as_millis());
    println!("docker_load_ms={}", docker_load.as_millis());
    println!(
        "load_ratio={:.3}",
        bundle_load.as_secs_f64() / docker_load.as_secs_f64()
    );
}

/// A bundle for this machine's platform only: each image manifest is the upstream's byte for
/// byte, and the tag serves the upstream index reduced to that platform (a registry refuses an
/// index whose other manifests it lacks); inspect says so, naming the upstream digest.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bundle_for_one_platform_keeps_its_manifests_and_serves_an_index_reduced_to_it() {
    let Some(c) = connected(Options {
        demo_platforms: &["linux/amd64"],
        ..Options::default()
    })
    .await
    else {
        return;
    };
    let out = c.dir.path().join("amd64.tar");
    let output = c.create_for(&out, "linux/amd64", &[]).await;
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let bundle = &summary(&output)["bundle"];
    let app_b = bundle["images"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| {
            i["name"]
                .as_str()
                .unwrap()
                .starts_with("quay.io/kindling-test/app-b")
        })
        .unwrap();
    assert_eq!(app_b["platforms"], serde_json::json!(["linux/amd64"]));
    assert_eq!(app_b["upstream_digest"], c.digests["app-b"].as_str());
    let reduced = app_b["digest"].as_str().unwrap().to_string();
    assert_ne!(reduced, c.digests["app-b"]);

    c.upstreams_gone();
    let loader = bundle_support::Loader::new(&c);
    let output = loader
        .command(&["bundle", "load", out.to_str().unwrap()])
        .output()
        .await
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let api = kindling::docker::registry_api::RegistryApi::local(loader.port());
    let repo = "quay.io/kindling-test/app-b";
    assert_eq!(
        api.manifest_digest(repo, "2.0").await.unwrap().as_deref(),
        Some(reduced.as_str())
    );
    let amd64 = &c.digests["app-b@linux/amd64"];
    assert_eq!(
        api.manifest_digest(repo, amd64).await.unwrap().as_deref(),
        Some(amd64.as_str())
    );
    assert_eq!(
        api.manifest_digest(repo, &c.digests["app-b@linux/arm64"])
            .await
            .unwrap(),
        None
    );
    let index: Value =
        serde_json::from_slice(&api.get_manifest(repo, "2.0").await.unwrap().body).unwrap();
    let listed: Vec<&str> = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["digest"].as_str().unwrap())
        .collect();
    assert_eq!(listed.len(), 2, "amd64 and its attestation: {listed:?}");
    assert_eq!(listed[0], amd64.as_str());
}
