use super::CheckResult;
use crate::config::Config;
use bollard::Docker;
use bollard::query_parameters::ListContainersOptionsBuilder;
use std::net::{Ipv4Addr, TcpListener};

/// The host ports kindling publishes, each free or held by kindling itself.
pub(super) async fn check(config: &Config, docker: Option<&Docker>) -> Vec<CheckResult> {
    let mut wanted = vec![
        ("registry.host_port", config.registry.host_port),
        ("network.http_port", config.network.http_port),
        ("network.https_port", config.network.https_port),
    ];
    if config.cluster.provider == crate::config::Provider::Existing {
        // The ingress listens on the existing cluster's load balancer (or nodes), not here;
        // the local registry runs only without registry.push_host.
        wanted.retain(|(key, _)| {
            *key == "registry.host_port" && !crate::platform::push_target::uses_push_host(config)
        });
    }
    let mut results = Vec::new();
    for (key, port) in wanted {
        let name = format!("port {port}");
        match TcpListener::bind((Ipv4Addr::LOCALHOST, port)) {
            Ok(_) => results.push(CheckResult::ok(
                &name,
                format!("127.0.0.1:{port} is free ({key})"),
            )),
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
                results.push(CheckResult::ok(
                    &name,
                    format!("127.0.0.1:{port} needs root to test; Docker publishes it ({key})"),
                ))
            }
            Err(_) => {
                let holder = holder(port, docker).await;
                let ours = holder.as_ref().is_some_and(|h| h.kindling);
                let who = holder
                    .map(|h| h.name)
                    .unwrap_or_else(|| "another program".into());
                if ours {
                    results.push(CheckResult::ok(
                        &name,
                        format!("127.0.0.1:{port} is held by kindling's {who}"),
                    ));
                } else {
                    results.push(CheckResult::fail(
                        &name,
                        format!("127.0.0.1:{port} is in use by {who}"),
                        format!("stop it, or choose another port with {key} in bootstrap.toml (or --set {key}=<port>)"),
                    ));
                }
            }
        }
    }
    results
}

pub(crate) struct Holder {
    /// "container NAME", "container NAME (created)", "process NAME (pid N)".
    pub name: String,
    /// The container's name, when a container holds it.
    pub container: Option<String>,
    /// A kindling container (the registry, or a node of a kindling cluster).
    pub kindling: bool,
}

/// Who holds a host port: a container publishing it, else a local process; when that process
/// is Docker's proxy, the container whose port bindings name the port, in whatever state.
pub(crate) async fn holder(port: u16, docker: Option<&Docker>) -> Option<Holder> {
    let Some(docker) = docker else {
        return process_holding(port).map(|p| p.holder());
    };
    let options = ListContainersOptionsBuilder::default().all(true).build();
    let containers = docker
        .list_containers(Some(options))
        .await
        .unwrap_or_default();
    let publishing = containers.iter().find(|c| {
        c.ports
            .iter()
            .flatten()
            .any(|p| p.public_port == Some(port))
    });
    if let Some(c) = publishing {
        return Some(container_holder(c, None));
    }
    let process = process_holding(port)?;
    if process.comm != "docker-proxy" {
        return Some(process.holder());
    }
    // Docker's proxy holds the port for a container that is not (or no longer) listed as
    // running: one being started or stopped right now. Its configured bindings name it.
    let wanted = port.to_string();
    for c in &containers {
        let Some(id) = c.id.as_deref() else { continue };
        let Ok(info) = docker.inspect_container(id, None).await else {
            continue;
        };
        let binds = info
            .host_config
            .and_then(|h| h.port_bindings)
            .unwrap_or_default()
            .into_values()
            .flatten()
            .flatten()
            .any(|b| b.host_port.as_deref() == Some(wanted.as_str()));
        if binds {
            let state = c.state.map(|s| s.to_string());
            return Some(container_holder(c, state));
        }
    }
    Some(process.holder())
}

fn container_holder(c: &bollard::models::ContainerSummary, state: Option<String>) -> Holder {
    let name = crate::docker::summary_name(c)
        .or_else(|| c.id.clone())
        .unwrap_or_default();
    let labels = c.labels.clone().unwrap_or_default();
    Holder {
        name: match state {
            Some(state) => format!("container {name} ({state})"),
            None => format!("container {name}"),
        },
        container: Some(name),
        kindling: labels.contains_key(crate::docker::LABEL_MANAGED)
            || labels.contains_key(crate::docker::KIND_CLUSTER_LABEL),
    }
}

/// A local process listening on a port.
struct Process {
    pid: String,
    comm: String,
}

impl Process {
    fn holder(self) -> Holder {
        Holder {
            name: format!("process {} (pid {})", self.comm, self.pid),
            container: None,
            kindling: false,
        }
    }
}

/// The process listening on a TCP port, from /proc (Linux; the caller's own processes, or all as root).
fn process_holding(port: u16) -> Option<Process> {
    let mut inodes = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields.len() < 10 || fields[3] != "0A" {
                continue; // not LISTEN
            }
            let local_port = fields[1]
                .rsplit(':')
                .next()
                .and_then(|p| u16::from_str_radix(p, 16).ok());
            if local_port == Some(port) {
                inodes.push(format!("socket:[{}]", fields[9]));
            }
        }
    }
    if inodes.is_empty() {
        return None;
    }
    for proc_entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let pid = proc_entry.file_name().to_string_lossy().to_string();
        if !pid.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let Ok(fds) = std::fs::read_dir(proc_entry.path().join("fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            if let Ok(target) = std::fs::read_link(fd.path())
                && inodes.iter().any(|i| target.to_string_lossy() == *i)
            {
                let comm =
                    std::fs::read_to_string(proc_entry.path().join("comm")).unwrap_or_default();
                return Some(Process {
                    pid,
                    comm: comm.trim().to_string(),
                });
            }
        }
    }
    None
}
