use super::CheckResult;
use crate::config::Config;
use bollard::Docker;
use bollard::query_parameters::ListContainersOptionsBuilder;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

/// What binding (and, when binding needs root, connecting to) 127.0.0.1:<port> showed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PortProbe {
    /// The bind succeeded: nothing listens there.
    Free,
    /// The bind failed because something listens there.
    InUse,
    /// Binding needs root here (a port below 1024 for a non-root user on Linux); nothing
    /// answered a connection, so the port is free for Docker, which binds as root.
    FreeNeedsRoot,
}

impl PortProbe {
    /// A bind refused for permission says nothing about the port: a connection does.
    pub(crate) fn of(port: u16) -> PortProbe {
        match TcpListener::bind((Ipv4Addr::LOCALHOST, port)) {
            Ok(_) => PortProbe::Free,
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
                let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
                match TcpStream::connect_timeout(&address, Duration::from_secs(2)) {
                    Ok(_) => PortProbe::InUse,
                    Err(_) => PortProbe::FreeNeedsRoot,
                }
            }
            Err(_) => PortProbe::InUse,
        }
    }
}

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
        let probe = PortProbe::of(port);
        let holder = match probe {
            PortProbe::InUse => holder(port, docker).await,
            _ => None,
        };
        results.push(verdict(key, port, probe, holder, cfg!(target_os = "macos")));
    }
    results
}

/// The check's result for one port. On macOS, Docker Desktop binds host ports below 1024
/// only with its privileged helper: Settings → Advanced → "Allow privileged port mapping".
pub(crate) fn verdict(
    key: &str,
    port: u16,
    probe: PortProbe,
    holder: Option<Holder>,
    macos: bool,
) -> CheckResult {
    let name = format!("port {port}");
    let desktop_note = if macos && port < 1024 {
        "; Docker Desktop publishes ports below 1024 only with Settings → Advanced → \
         \"Allow privileged port mapping\""
    } else {
        ""
    };
    match probe {
        PortProbe::Free => CheckResult::ok(
            &name,
            format!("127.0.0.1:{port} is free ({key}){desktop_note}"),
        ),
        PortProbe::FreeNeedsRoot => CheckResult::ok(
            &name,
            format!(
                "127.0.0.1:{port} is free ({key}): nothing answers there; only root may bind it, \
                 and Docker publishes it as root{desktop_note}"
            ),
        ),
        PortProbe::InUse => {
            let ours = holder.as_ref().is_some_and(|h| h.kindling);
            let who = holder
                .map(|h| h.name)
                .unwrap_or_else(|| "another program".into());
            if ours {
                CheckResult::ok(
                    &name,
                    format!("127.0.0.1:{port} is held by kindling's {who}"),
                )
            } else {
                CheckResult::fail(
                    &name,
                    format!("127.0.0.1:{port} is in use by {who}"),
                    format!(
                        "stop it, or choose another port with {key} in bootstrap.toml (or --set {key}=<port>)"
                    ),
                )
            }
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::Status;

    #[test]
    fn a_bind_refused_for_permission_is_decided_by_connecting() {
        // Binding a port below 1024 as a non-root user fails with EACCES whether or not the
        // port is taken: the old check called both "ok". Connecting tells them apart.
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let taken = listener.local_addr().unwrap().port();
        assert_eq!(PortProbe::of(taken), PortProbe::InUse);
        let r = verdict("network.http_port", taken, PortProbe::InUse, None, false);
        assert_eq!(r.status, Status::Fail, "{r:?}");
        let r = verdict(
            "network.http_port",
            80,
            PortProbe::FreeNeedsRoot,
            None,
            false,
        );
        assert_eq!(r.status, Status::Ok);
        assert!(r.detail.contains("nothing answers"), "{r:?}");
    }

    #[test]
    fn as_a_user_who_may_not_bind_low_ports_a_listening_port_is_in_use() {
        // A real unprivileged process (nobody), against a port below 1024 something listens on.
        if !rustix::process::geteuid().is_root() {
            eprintln!("SKIP: needs root to listen on a low port and to become nobody");
            return;
        }
        let Ok(listener) = TcpListener::bind((Ipv4Addr::LOCALHOST, 1023)) else {
            eprintln!("SKIP: 127.0.0.1:1023 is taken");
            return;
        };
        let port = listener.local_addr().unwrap().port();
        // The kernel completes the probe's connection from the backlog: no accept needed.
        let out = std::process::Command::new("/usr/bin/setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "doctor::ports::tests::probe_as_this_user",
                "--nocapture",
            ])
            .env("KINDLING_PROBE_PORT", port.to_string())
            .output()
            .unwrap();
        let out = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        drop(listener);
        assert!(out.contains("PROBE InUse"), "{out}");
    }

    /// Run by the test above as nobody (does nothing on its own).
    #[test]
    fn probe_as_this_user() {
        if let Ok(port) = std::env::var("KINDLING_PROBE_PORT") {
            let port: u16 = port.parse().unwrap();
            println!("PROBE {:?}", PortProbe::of(port));
        }
    }

    #[test]
    fn on_macos_low_ports_name_docker_desktops_privileged_port_setting() {
        let r = verdict("network.https_port", 443, PortProbe::Free, None, true);
        assert!(r.detail.contains("Allow privileged port mapping"), "{r:?}");
        let r = verdict("registry.host_port", 5001, PortProbe::Free, None, true);
        assert!(!r.detail.contains("privileged"), "{r:?}");
        let r = verdict("network.https_port", 443, PortProbe::Free, None, false);
        assert!(!r.detail.contains("privileged"), "{r:?}");
    }
}
