//! Where the Docker engine runs, and what its machine looks like from inside a container.
//!
//! On Docker Desktop (macOS, Windows/WSL2, and Linux too) the engine runs in a VM: the
//! inotify limits and the disk that matter are the VM's, not this host's. They are read
//! from an unprivileged, network-less container of the node image (so nothing is pulled):
//! `/proc/sys/fs/inotify/*` is the VM kernel's, and `df /` inside a container reports the
//! filesystem under its overlay, which is Docker's data disk.

use bollard::Docker;
use bollard::models::{ContainerCreateBody, HostConfig, SystemInfo};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, LogsOptionsBuilder, RemoveContainerOptionsBuilder,
};
use futures::StreamExt;
use std::time::Duration;

/// What the engine shares with this host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EngineHost {
    /// The engine runs on this Linux host: its kernel and disks are ours.
    Local,
    /// The engine runs in a VM or on another machine (named): read its limits from inside.
    Remote(String),
    /// The engine did not answer.
    Unknown,
}

impl EngineHost {
    pub fn of(info: &SystemInfo) -> EngineHost {
        // Linux only (elsewhere the engine is in a VM whatever the names say).
        let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
        let hostname = hostname.trim();
        EngineHost::decide(
            cfg!(target_os = "linux"),
            hostname,
            info.name.as_deref().unwrap_or_default(),
            info.operating_system.as_deref().unwrap_or_default(),
        )
    }

    /// Local only on a Linux host whose hostname the engine reports as its own and that is
    /// not Docker Desktop (whose Linux flavour also runs a VM).
    pub fn decide(
        host_is_linux: bool,
        host_name: &str,
        engine_name: &str,
        engine_os: &str,
    ) -> EngineHost {
        if engine_os.contains("Docker Desktop") {
            EngineHost::Remote("Docker Desktop's VM".into())
        } else if !host_is_linux {
            EngineHost::Remote(format!("the engine's VM ({engine_os})"))
        } else if !engine_name.is_empty() && engine_name == host_name {
            EngineHost::Local
        } else {
            EngineHost::Remote(format!("the engine's machine ({engine_name})"))
        }
    }
}

/// The engine machine's inotify limits and Docker's free disk, as one container saw them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Probe {
    pub watches: u64,
    pub instances: u64,
    pub free_bytes: u64,
}

/// `df -P` prints 1024-byte blocks: header, then `fs total used available capacity mount`.
pub const SCRIPT: &str = "cat /proc/sys/fs/inotify/max_user_watches \
     /proc/sys/fs/inotify/max_user_instances && df -Pk /";

/// Reads the script's output: two numbers, then df's table.
pub fn parse(text: &str) -> Option<Probe> {
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let watches = lines.next()?.parse().ok()?;
    let instances = lines.next()?.parse().ok()?;
    let available_kib: u64 = lines
        .filter_map(|l| {
            let fields: Vec<&str> = l.split_whitespace().collect();
            (fields.len() >= 6 && fields[fields.len() - 1] == "/")
                .then(|| fields[3].parse().ok())?
        })
        .next()?;
    Some(Probe {
        watches,
        instances,
        free_bytes: available_kib * 1024,
    })
}

/// Whether the engine holds `image` already (the probe never pulls).
pub async fn image_present(docker: &Docker, image: &str) -> bool {
    docker.inspect_image(image).await.is_ok()
}

/// Runs [`SCRIPT`] in a throwaway container of `image` (unprivileged, no network).
pub async fn run(docker: &Docker, image: &str, timeout: Duration) -> Result<Probe, String> {
    let name = format!(
        "kindling-doctor-probe-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0)
    );
    let result = tokio::time::timeout(timeout, run_named(docker, image, &name)).await;
    let options = RemoveContainerOptionsBuilder::default().force(true).build();
    let _ = docker.remove_container(&name, Some(options)).await;
    match result {
        Ok(r) => r,
        Err(_) => Err(format!("no answer within {}s", timeout.as_secs())),
    }
}

async fn run_named(docker: &Docker, image: &str, name: &str) -> Result<Probe, String> {
    let body = ContainerCreateBody {
        image: Some(image.to_string()),
        entrypoint: Some(vec!["sh".into(), "-c".into()]),
        cmd: Some(vec![SCRIPT.into()]),
        host_config: Some(HostConfig {
            network_mode: Some("none".into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    let options = CreateContainerOptionsBuilder::default().name(name).build();
    docker
        .create_container(Some(options), body)
        .await
        .map_err(|e| format!("creating a container of {image}: {e}"))?;
    docker
        .start_container(name, None)
        .await
        .map_err(|e| format!("starting it: {e}"))?;
    let mut wait = docker.wait_container(name, None);
    while let Some(status) = wait.next().await {
        if let Err(e) = status {
            return Err(format!("it failed: {e}"));
        }
    }
    let options = LogsOptionsBuilder::default()
        .stdout(true)
        .stderr(true)
        .build();
    let mut output = String::new();
    let mut logs = docker.logs(name, Some(options));
    while let Some(chunk) = logs.next().await {
        output.push_str(
            &chunk
                .map_err(|e| format!("reading its output: {e}"))?
                .to_string(),
        );
    }
    parse(&output).ok_or_else(|| format!("unexpected output: {}", output.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_desktop_and_non_linux_hosts_are_remote() {
        let remote = |e: EngineHost| matches!(e, EngineHost::Remote(_));
        assert!(remote(EngineHost::decide(
            false,
            "macbook",
            "docker-desktop",
            "Docker Desktop"
        )));
        // Docker Desktop for Linux runs a VM as well.
        assert!(remote(EngineHost::decide(
            true,
            "laptop",
            "docker-desktop",
            "Docker Desktop"
        )));
        // Colima, OrbStack, Rancher Desktop on a Mac: whatever the name, a VM.
        assert!(remote(EngineHost::decide(
            false,
            "macbook",
            "colima",
            "Ubuntu 24.04 LTS"
        )));
        // DOCKER_HOST pointing at another machine.
        assert!(remote(EngineHost::decide(
            true,
            "laptop",
            "buildbox",
            "Debian GNU/Linux 12 (bookworm)"
        )));
        assert_eq!(
            EngineHost::decide(true, "laptop", "laptop", "Ubuntu 24.04 LTS"),
            EngineHost::Local
        );
    }

    #[test]
    fn probe_output_parses() {
        let text = "524288\n512\nFilesystem     1024-blocks     Used Available Capacity Mounted on\n\
                    overlay           61202244 20145636  37915688      35% /\n";
        assert_eq!(
            parse(text),
            Some(Probe {
                watches: 524_288,
                instances: 512,
                free_bytes: 37_915_688 * 1024
            })
        );
        assert_eq!(parse("524288\n512\n"), None);
        assert_eq!(parse("cat: can't open\n"), None);
    }
}
