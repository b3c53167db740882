//! doctor reads the engine machine's inotify limits and free disk from inside a container
//! (what it does on Docker Desktop, whose VM is not this host). Here the engine is local, so
//! what the container sees must be exactly this kernel's limits and this host's Docker disk.

mod cluster_support;
mod support;

use kindling::doctor::engine_probe;
use std::time::Duration;

fn host_number(path: &str) -> u64 {
    std::fs::read_to_string(path)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn the_probe_container_sees_the_engine_machines_limits_and_disk() {
    if support::docker_available().is_none() {
        return;
    }
    let Some(image) = cluster_support::node_image() else {
        return;
    };
    let env = kindling::env::Env::from_process();
    let docker = kindling::docker::connect(&env, Duration::from_secs(15))
        .await
        .unwrap();
    assert!(engine_probe::image_present(&docker, &image).await);
    assert!(!engine_probe::image_present(&docker, "kindling-test/absent:never").await);
    let probe = engine_probe::run(&docker, &image, Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(
        probe.watches,
        host_number("/proc/sys/fs/inotify/max_user_watches")
    );
    assert_eq!(
        probe.instances,
        host_number("/proc/sys/fs/inotify/max_user_instances")
    );
    // The container's root is an overlay on Docker's data root: same filesystem, same free
    // space (give or take what other tests write meanwhile).
    let root = docker
        .info()
        .await
        .unwrap()
        .docker_root_dir
        .expect("data root");
    let stat = rustix::fs::statvfs(root.as_str()).unwrap();
    let host_free = stat.f_bavail * stat.f_frsize;
    let difference = probe.free_bytes.abs_diff(host_free);
    assert!(
        difference < 2 << 30,
        "container saw {} bytes free, the data root has {host_free}",
        probe.free_bytes
    );
    // No probe container is left behind.
    let left = cluster_support::docker_ok(&[
        "ps",
        "-a",
        "--filter",
        "name=kindling-doctor-probe",
        "--format",
        "{{.Names}}",
    ]);
    assert!(
        !left.contains(&format!("kindling-doctor-probe-{}-", std::process::id())),
        "{left}"
    );
}
