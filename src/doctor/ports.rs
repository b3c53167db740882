use super::CheckResult;
use crate::config::Config;
use bollard::Docker;
use bollard::query_parameters::ListContainersOptionsBuilder;
use std::net::{Ipv4Addr, TcpListener};

/// The host ports kindling publishes, each free or held by kindling itself.
pub(super) async fn check(config: &Config, docker: Option<&Docker>) -> Vec<CheckResult> {
    let wanted = [
        ("registry.host_port", config.registry.host_port),
        ("network.http_port", config.network.http_port),
        ("network.https_port", config.network.https_port),
    ];
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
    pub name: String,
    /// A kindling container (the registry, or a node of a kindling cluster).
    pub kindling: bool,
}

/// Who holds a host port: a container publishing it, else a local process.
pub(crate) async fn holder(port: u16, docker: Option<&Docker>) -> Option<Holder> {
    if let Some(docker) = docker {
        let options = ListContainersOptionsBuilder::default().all(false).build();
        if let Ok(containers) = docker.list_containers(Some(options)).await {
            for c in containers {
                let publishes = c
                    .ports
                    .iter()
                    .flatten()
                    .any(|p| p.public_port == Some(port));
                if publishes {
                    let name = c
                        .names
                        .iter()
                        .flatten()
                        .next()
                        .map(|n| n.trim_start_matches('/').to_string());
                    let labels = c.labels.unwrap_or_default();
                    let kindling = labels.contains_key(crate::docker::LABEL_MANAGED)
                        || labels.contains_key(crate::docker::KIND_CLUSTER_LABEL);
                    return Some(Holder {
                        name: format!(
                            "container {}",
                            name.unwrap_or_else(|| c.id.unwrap_or_default())
                        ),
                        kindling,
                    });
                }
            }
        }
    }
    process_holding(port).map(|name| Holder {
        name,
        kindling: false,
    })
}

/// The process listening on a TCP port, from /proc (Linux; the caller's own processes, or all as root).
fn process_holding(port: u16) -> Option<String> {
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
                return Some(format!("process {} (pid {pid})", comm.trim()));
            }
        }
    }
    None
}
