//! The Engine API helpers the cluster wiring stands on: exec with stdin (files into a
//! node), and idempotent network attachment. Real Docker, the busybox stand-in node.

mod cluster_support;
mod support;

use cluster_support::{Containers, docker_ok};
use kindling::docker::exec::{self, ExecError};
use kindling::docker::network::{self, Connection};

async fn engine() -> Option<bollard::Docker> {
    support::docker_available()?;
    let env = kindling::env::Env::from_process();
    Some(
        kindling::docker::connect(&env, std::time::Duration::from_secs(15))
            .await
            .unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_go_in_through_stdin_and_come_back_unchanged() {
    let Some(docker) = engine().await else { return };
    let Some(image) = cluster_support::node_image() else {
        return;
    };
    let name = support::unique("kexec");
    let _guard = Containers(vec![name.clone()]);
    docker_ok(&["run", "-d", "--name", &name, &image]);

    let path = "/etc/containerd/certs.d/localhost:5001/hosts.toml";
    assert_eq!(
        exec::read_file(&docker, &name, path).await.unwrap(),
        None,
        "missing file"
    );
    // Larger than a pipe buffer, and binary: stdin must be streamed and closed properly.
    let content: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    exec::write_file(&docker, &name, path, &content)
        .await
        .unwrap();
    assert_eq!(
        exec::read_file(&docker, &name, path).await.unwrap(),
        Some(content.clone())
    );
    let listed = docker_ok(&["exec", &name, "ls", "-l", path]);
    assert!(listed.contains("300000"), "{listed}");
    // Overwriting replaces the whole file.
    exec::write_file(&docker, &name, path, b"short\n")
        .await
        .unwrap();
    assert_eq!(docker_ok(&["exec", &name, "cat", path]), "short\n");

    let out = exec::run(
        &docker,
        &name,
        &["sh", "-c", "echo out; echo err >&2; exit 3"],
        None,
    )
    .await
    .unwrap();
    assert_eq!(
        (out.exit_code, out.stdout.as_slice(), out.stderr.as_slice()),
        (3, &b"out\n"[..], &b"err\n"[..])
    );
    let err = exec::write_file(&docker, &name, "/proc/nope/file", b"x")
        .await
        .unwrap_err();
    let ExecError::Failed { code, stderr, .. } = &err else {
        panic!("{err}")
    };
    assert_ne!(*code, 0);
    assert!(!stderr.is_empty(), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connecting_to_a_network_is_idempotent() {
    let Some(docker) = engine().await else { return };
    let Some(image) = cluster_support::node_image() else {
        return;
    };
    let net = support::unique("knet");
    let name = support::unique("knetc");
    let _guard = Containers(vec![name.clone()]);
    docker_ok(&["network", "create", &net]);
    struct Net(String);
    impl Drop for Net {
        fn drop(&mut self) {
            let _ = cluster_support::docker(&["network", "rm", &self.0]);
        }
    }
    let _net = Net(net.clone());
    docker_ok(&["run", "-d", "--name", &name, &image]);

    assert_eq!(
        network::connect(&docker, &net, &name).await.unwrap(),
        Connection::Connected
    );
    assert_eq!(
        network::connect(&docker, &net, &name).await.unwrap(),
        Connection::AlreadyConnected
    );
    let nets = network::networks_of(&docker, &name).await.unwrap().unwrap();
    assert!(
        nets.contains(&net) && nets.contains(&"bridge".to_string()),
        "{nets:?}"
    );
    assert_eq!(
        network::connect(&docker, &net, &support::unique("nobody"))
            .await
            .unwrap(),
        Connection::NoSuchContainer
    );
    docker_ok(&["rm", "-f", &name]);
}
