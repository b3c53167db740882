//! Who holds a host port: a container publishing it, else the local process listening there.
//! Both the registry's start (a clear "in use by" error) and `doctor`'s port check ask.

use bollard::Docker;
use bollard::query_parameters::ListContainersOptionsBuilder;

/// Who holds a host port, as the port checks and errors name it.
pub struct Holder {
    /// "container NAME", "container NAME (created)", "process NAME (pid N)".
    pub name: String,
    /// The container's name, when a container holds it.
    pub container: Option<String>,
    /// A kindling container (the registry, or a node of a kindling cluster).
    pub kindling: bool,
}

/// Who holds a host port: a container publishing it, else a local process; when that process
/// is Docker's proxy, the container whose port bindings name the port, in whatever state.
pub async fn holder(port: u16, docker: Option<&Docker>) -> Option<Holder> {
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
    let name = super::summary_name(c)
        .or_else(|| c.id.clone())
        .unwrap_or_default();
    let labels = c.labels.clone().unwrap_or_default();
    Holder {
        name: match state {
            Some(state) => format!("container {name} ({state})"),
            None => format!("container {name}"),
        },
        container: Some(name),
        kindling: labels.contains_key(super::LABEL_MANAGED)
            || labels.contains_key(super::KIND_CLUSTER_LABEL),
    }
}

/// A local process listening on a port.
struct Process {
    pid: u32,
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

/// The process listening on a TCP port (`listeners`: /proc on Linux, the caller's own
/// processes or all as root; libproc on macOS). Only sockets in LISTEN count: an accepted or
/// closing connection on the same local port is not who holds it.
fn process_holding(port: u16) -> Option<Process> {
    listeners::get_all()
        .ok()?
        .into_iter()
        .find(|l| {
            l.protocol == listeners::Protocol::TCP
                && l.state == listeners::SocketState::Listen
                && l.socket.port() == port
        })
        .map(|l| Process {
            pid: l.process.pid,
            comm: l.process.name,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_port_this_process_listens_on_is_held_by_this_process() {
        let listener = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
        let port = listener.local_addr().unwrap().port();
        // A connection to it puts an ESTABLISHED socket on the same local port: not a holder.
        let _client = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        let _accepted = listener.accept().unwrap();
        let process = process_holding(port).expect("the listener's process");
        assert_eq!(process.pid, std::process::id());
        drop(listener);
        assert!(process_holding(port).is_none_or(|p| p.pid != std::process::id()));
    }
}
