//! `kindling registry up | status --output json | down` as a user runs them (the real binary).

mod registry_support;
mod support;

use registry_support::{Fixture, inspect};
use std::process::{Command, Output};

fn kindling(fx: &Fixture, args: &[&str]) -> Output {
    fx.kindling(args).output().unwrap()
}

fn ok(output: &Output) -> String {
    assert!(
        output.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[tokio::test]
async fn up_status_down_through_the_cli() {
    let Some(fx) = Fixture::new(0).await else {
        return;
    };
    ok(&kindling(&fx, &["registry", "up"]));
    let name = &fx.config.registry.name;
    assert_eq!(inspect(name, "{{.State.Status}}"), "running");

    let json = ok(&kindling(&fx, &["registry", "status", "--output", "json"]));
    let rows: serde_json::Value = serde_json::from_str(&json).unwrap();
    let rows = rows.as_array().expect("an array");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["name"], name.as_str());
    assert_eq!(rows[0]["role"], "registry");
    assert_eq!(rows[0]["state"], "running");
    assert_eq!(rows[0]["port"], fx.config.registry.host_port);
    assert_eq!(rows[0]["answers"], true);
    assert_eq!(rows[0]["volume"], format!("{name}-data"));

    // Human status names every container.
    let human = ok(&kindling(&fx, &["registry", "status"]));
    assert!(
        human.contains(name.as_str()) && human.contains("running"),
        "{human}"
    );

    let down = kindling(&fx, &["registry", "down"]);
    ok(&down);
    assert_eq!(inspect(name, "{{.State.Status}}"), "", "container removed");
    let volume = Command::new("docker")
        .args(["volume", "inspect", &format!("{name}-data")])
        .output()
        .unwrap();
    assert!(volume.status.success(), "data volume kept without --purge");
}

#[test]
fn docker_unreachable_exits_1_with_a_hint() {
    let out = support::kindling()
        .args(["registry", "up"])
        .env("DOCKER_HOST", "unix:///nonexistent")
        .current_dir(std::env::temp_dir())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cannot reach the Docker engine at unix:///nonexistent"),
        "{stderr}"
    );
    assert!(stderr.contains("hint:"), "{stderr}");
}

#[tokio::test]
async fn port_taken_exits_1_naming_the_setting() {
    let Some(mut fx) = Fixture::new(0).await else {
        return;
    };
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
    fx.config.registry.host_port = listener.local_addr().unwrap().port();
    let out = kindling(&fx, &["registry", "up"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("already in use by process"), "{stderr}");
    assert!(stderr.contains("registry.host_port"), "{stderr}");
}

/// A cache whose upstream cannot be reached crash-loops (a proxy registry checks its upstream
/// when it starts: distribution v3.0.0 registry/proxy/proxyauth.go). `registry up` and
/// `registry status` say so and exit 1, naming it and why; the registry itself is fine.
#[tokio::test]
async fn a_crash_looping_cache_is_reported_down_and_exits_1() {
    let Some(fx) = Fixture::new(1).await else {
        return;
    };
    let mirror = kindling::config::mirror_container_name(&fx.config.registry.mirrors[0]);
    let up = kindling(&fx, &["registry", "up"]);
    let stderr = String::from_utf8_lossy(&up.stderr);
    assert_eq!(up.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("not up: {mirror} (")) && stderr.contains("restart"),
        "{stderr}"
    );
    assert!(stderr.contains("docker logs"), "{stderr}");
    assert!(!stderr.contains("✓ Mirror"), "{stderr}");

    let status = kindling(&fx, &["registry", "status", "--output", "json"]);
    assert_eq!(status.status.code(), Some(1));
    let rows: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(rows[0]["answers"], true, "{rows}");
    assert_eq!(rows[1]["name"], mirror.as_str());
    assert_ne!(rows[1]["answers"], true, "{rows}");
    assert_eq!(
        rows[1]["users"],
        serde_json::json!([fx.config.cluster.name])
    );
    let stderr = String::from_utf8_lossy(&status.stderr);
    assert!(stderr.contains(&format!("not up: {mirror}")), "{stderr}");
}
