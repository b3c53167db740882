//! A registry set-up with unique names and a free port, removed (containers and volumes)
//! when dropped, also when the test panics. Include with `mod registry_support;` after `mod support;`.
#![allow(dead_code)]

use crate::support;
use kindling::config::{Config, mirror_container_name};
use kindling::docker::mirrors::{mirror_volume_name, user_marker_name};
use kindling::docker::registry::registry_volume_name;
use kindling::env::Env;
use std::time::Duration;

pub struct Fixture {
    pub config: Config,
    pub docker: bollard::Docker,
}

impl Fixture {
    /// `kindling ARGS` for this fixture: its names, port, image and mirrors by environment,
    /// and no bootstrap.toml from the working directory.
    pub fn kindling(&self, args: &[&str]) -> assert_cmd::Command {
        let mut command = support::kindling();
        command
            .args(args)
            .envs(self.env())
            .current_dir(std::env::temp_dir());
        command
    }

    /// This fixture's settings as kindling's environment variables.
    pub fn env(&self) -> [(&'static str, String); 5] {
        let config = &self.config;
        [
            ("KINDLING_REGISTRY_IMAGE", config.registry.image.clone()),
            ("KINDLING_REGISTRY_NAME", config.registry.name.clone()),
            (
                "KINDLING_REGISTRY_HOST_PORT",
                config.registry.host_port.to_string(),
            ),
            ("KINDLING_CLUSTER_NAME", config.cluster.name.clone()),
            (
                "KINDLING_REGISTRY_MIRRORS",
                config.registry.mirrors.join(","),
            ),
        ]
    }

    /// A configuration for one test: unique registry name, cluster name, free host port,
    /// and `mirrors` unique fake upstreams (no network here: they never answer).
    pub async fn new(mirrors: usize) -> Option<Fixture> {
        support::docker_available()?;
        let mut config = Config::builtin();
        config.cluster.name = support::unique("kc");
        config.registry.name = support::unique("kreg");
        config.registry.image = support::registry_image();
        config.registry.host_port = support::free_port();
        config.registry.mirrors = (0..mirrors)
            .map(|_| format!("{}.example", support::unique("up")))
            .collect();
        config.timeouts.registry = Duration::from_secs(30);
        let docker = kindling::docker::connect(&Env::from_process(), Duration::from_secs(15))
            .await
            .expect("Docker answers");
        Some(Fixture { config, docker })
    }

    pub fn container_names(&self) -> Vec<String> {
        let mut names = vec![
            self.config.registry.name.clone(),
            kindling::docker::containers::previous_name(&self.config.registry.name),
        ];
        names.extend(
            self.config
                .registry
                .mirrors
                .iter()
                .map(|m| mirror_container_name(m)),
        );
        names
    }

    /// The registry's volume, the caches' volumes and the markers saying this cluster uses them.
    pub fn volume_names(&self) -> Vec<String> {
        let mut names = vec![registry_volume_name(&self.config)];
        for m in &self.config.registry.mirrors {
            names.push(mirror_volume_name(m));
            names.push(user_marker_name(m, &self.config.cluster.name));
        }
        names
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        cleanup(&self.container_names(), &self.volume_names());
    }
}

/// Removes containers and volumes by name with the docker CLI (works inside Drop, during a panic).
pub fn cleanup(containers: &[String], volumes: &[String]) {
    if !containers.is_empty() {
        let _ = std::process::Command::new("docker")
            .args(["rm", "-f", "-v"])
            .args(containers)
            .output();
    }
    if !volumes.is_empty() {
        let _ = std::process::Command::new("docker")
            .args(["volume", "rm", "-f"])
            .args(volumes)
            .output();
    }
}

/// `docker inspect -f <format> <name>`.
pub fn inspect(name: &str, format: &str) -> String {
    let out = std::process::Command::new("docker")
        .args(["inspect", "-f", format, name])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}
