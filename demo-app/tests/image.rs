//! The container image, built the offline way (static host binary into the scratch stage) with
//! the real Docker engine: size, user, baked config, layer reuse between versions, and the app
//! running as UID 1000 on a read-only root filesystem.

mod common;

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

const MAX_IMAGE_BYTES: u64 = 5 * 1024 * 1024;

fn docker(args: &[&str]) -> Output {
    Command::new("docker")
        .args(args)
        .output()
        .expect("run docker")
}

fn docker_ok(args: &[&str]) -> String {
    let out = docker(args);
    assert!(
        out.status.success(),
        "docker {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn docker_available() -> Option<()> {
    if std::env::var_os("KINDLING_TEST_NO_DOCKER").is_some() {
        return common::skip("no Docker engine (KINDLING_TEST_NO_DOCKER set by scripts/test.sh)");
    }
    let ok = Command::new("docker")
        .args(["version", "--format", "{{.Server.Version}}"])
        .output()
        .is_ok_and(|o| o.status.success());
    if ok {
        Some(())
    } else {
        common::skip("no Docker engine answers (run scripts/test.sh, which starts one)")
    }
}

/// Removes the test's containers and images, also when the test panics.
struct Cleanup {
    containers: Vec<String>,
    images: Vec<String>,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        for c in &self.containers {
            let _ = docker(&["rm", "-f", c]);
        }
        for i in &self.images {
            let _ = docker(&["rmi", "-f", i]);
        }
    }
}

fn build(tag: &str, version: &str, commit: &str) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("build-image.sh");
    let out = Command::new(script)
        .args(["--prebuilt", tag, version, commit])
        .output()
        .expect("run build-image.sh");
    assert!(
        out.status.success(),
        "build-image.sh failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn inspect(image: &str) -> serde_json::Value {
    let text = docker_ok(&["image", "inspect", image]);
    serde_json::from_str::<serde_json::Value>(&text).unwrap()[0].clone()
}

#[test]
fn prebuilt_image_is_small_non_root_and_serves_read_only() {
    if docker_available().is_none() {
        return;
    }
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let id = format!("{}-{nanos}", std::process::id());
    let v1 = format!("kindling-test/demo-app:v1-{id}");
    let v2 = format!("kindling-test/demo-app:v2-{id}");
    let container = format!("kindling-test-demo-app-{id}");
    let mut cleanup = Cleanup {
        containers: vec![container.clone()],
        images: vec![v1.clone(), v2.clone()],
    };

    // The only release build of the test suite happens here (build-binary.sh via the script).
    build(&v1, "v1.2.3", "c0ffee1");
    build(&v2, "v1.2.4", "c0ffee2");

    let image = inspect(&v1);
    let size = image["Size"].as_u64().unwrap();
    assert!(size <= MAX_IMAGE_BYTES, "image is {size} bytes");
    let config = &image["Config"];
    assert_eq!(config["User"], "1000");
    let env: Vec<&str> = config["Env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap())
        .collect();
    assert!(env.contains(&"VERSION=v1.2.3"), "{env:?}");
    assert!(env.contains(&"COMMIT=c0ffee1"), "{env:?}");
    let labels = &config["Labels"];
    assert_eq!(labels["org.opencontainers.image.version"], "v1.2.3");
    assert_eq!(labels["org.opencontainers.image.revision"], "c0ffee1");
    // Built for the engine's architecture (arm64 on Apple silicon), and labelled with it.
    let engine_arch = docker_ok(&["version", "--format", "{{.Server.Arch}}"]);
    assert_eq!(labels["dev.kindling.architecture"], engine_arch.as_str());
    assert_eq!(image["Architecture"], engine_arch.as_str());
    let target = match engine_arch.as_str() {
        "arm64" => "aarch64-unknown-linux-gnu",
        _ => "x86_64-unknown-linux-gnu",
    };
    assert_eq!(labels["dev.kindling.rust-target"], target);
    assert_eq!(config["Entrypoint"], serde_json::json!(["/demo-app"]));

    // The second version shares the binary layer: only the config differs.
    let layers = |img: &serde_json::Value| img["RootFS"]["Layers"].clone();
    let image2 = inspect(&v2);
    assert_eq!(layers(&image), layers(&image2));
    assert_eq!(layers(&image).as_array().unwrap().len(), 1);
    assert_ne!(image["Id"], image2["Id"]);
    assert_eq!(
        image2["Config"]["Labels"]["org.opencontainers.image.version"],
        "v1.2.4"
    );

    // No shell in the image.
    let shell = docker(&["run", "--rm", "--entrypoint", "/bin/sh", &v1, "-c", "true"]);
    assert!(!shell.status.success(), "the image has a shell");

    docker_ok(&[
        "run",
        "-d",
        "--name",
        &container,
        "--read-only",
        "--user",
        "1000",
        "--cap-drop",
        "ALL",
        "--security-opt",
        "no-new-privileges",
        "-p",
        "127.0.0.1::8080",
        &v1,
    ]);
    let port = docker_ok(&["port", &container, "8080/tcp"]);
    let addr = port
        .lines()
        .find(|l| l.starts_with("127.0.0.1:"))
        .unwrap_or_else(|| panic!("no 127.0.0.1 port in {port:?}"))
        .parse()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if common::try_http_get(addr, "/health").is_ok_and(|r| r.status == 200) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "container never answered /health; logs:\n{}",
            String::from_utf8_lossy(&docker(&["logs", &container]).stderr)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let version = common::http_get(addr, "/version").json();
    assert_eq!(version["version"], "v1.2.3");
    assert_eq!(version["commit"], "c0ffee1");
    assert_eq!(
        common::http_get(addr, "/api/data").json()["version"],
        "v1.2.3"
    );

    // docker stop sends SIGTERM; the app drains and exits 0.
    docker_ok(&["stop", "-t", "15", &container]);
    let code = docker_ok(&["inspect", "-f", "{{.State.ExitCode}}", &container]);
    assert_eq!(code, "0");
    cleanup.containers.clear();
    let _ = docker(&["rm", "-f", &container]);
}
