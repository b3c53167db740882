use super::CheckResult;
use crate::config::Config;
use crate::docker::port_holder::{Holder, holder};
use bollard::Docker;
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
