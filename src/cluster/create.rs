//! Creates the kind cluster, or reuses the one that exists (idempotent).
//! kind's own status lines become sub-steps of kindling's progress display.

use super::kind_cli::KindCli;
use super::{ClusterError, kind_config, state};
use crate::config::Settings;
use crate::report::{Outcome, ReporterExt, Step};
use bollard::Docker;
use std::process::Stdio;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

/// The container kind names the control-plane node of cluster `name`.
pub fn control_plane(name: &str) -> String {
    format!("{name}-control-plane")
}

/// Makes sure the configured kind cluster exists. `yes` allows reusing a cluster kindling
/// did not create. Returns what happened, for the step's outcome, and a detail line.
pub async fn ensure(
    settings: &Settings,
    docker: &Docker,
    kind: &KindCli,
    yes: bool,
    step: &Step,
) -> Result<(Outcome, String), ClusterError> {
    let name = &settings.config.cluster.name;
    if kind.clusters().await?.iter().any(|c| c == name) {
        return reuse(settings, docker, kind, yes, step).await;
    }
    // Recorded before creating: a create that is interrupted (Ctrl-C, timeout) still left
    // kindling's cluster, which the next run may reuse or delete without asking.
    state::save(settings, false)?;
    if let Err(e) = create(settings, kind, step).await {
        // kind removes the nodes of a create that fails; not of one that was killed.
        if kind.nodes(name).await.is_ok_and(|nodes| !nodes.is_empty()) {
            step.progress(format!("removing the half-made cluster {name}"));
            let _ = kind.run(&["delete", "cluster", "--name", name]).await;
        }
        let _ = state::remove(settings);
        return Err(e);
    }
    Ok((Outcome::Created, format!("kind cluster {name}")))
}

async fn reuse(
    settings: &Settings,
    docker: &Docker,
    kind: &KindCli,
    yes: bool,
    step: &Step,
) -> Result<(Outcome, String), ClusterError> {
    let cluster = &settings.config.cluster;
    let name = &cluster.name;
    let mut outcome = Outcome::Unchanged;
    if state::load(settings).is_none() {
        if !yes {
            return Err(ClusterError::Foreign {
                name: name.clone(),
                action: "reuse",
            });
        }
        state::save(settings, true)?;
        outcome = Outcome::Changed;
    }
    // A stopped node (Docker restarted, machine rebooted) is started again, not recreated.
    for node in kind.nodes(name).await? {
        let info = docker
            .inspect_container(&node, None)
            .await
            .map_err(crate::docker::DockerError::api("inspect container"))?;
        let running = info.state.and_then(|s| s.running).unwrap_or(false);
        if !running {
            step.progress(format!("starting stopped node {node}"));
            docker
                .start_container(&node, None)
                .await
                .map_err(crate::docker::DockerError::api("start container"))?;
            outcome = Outcome::Changed;
        }
    }
    let node_image = docker
        .inspect_container(&control_plane(name), None)
        .await
        .ok()
        .and_then(|info| info.config)
        .and_then(|c| c.image);
    if let Some(image) = node_image
        && image != cluster.node_image
    {
        step.reporter().warn(
            format!(
                "kind cluster {name} runs node image {image}, the configuration says {}",
                cluster.node_image
            ),
            Some("run `kindling reset` to recreate the cluster with the configured image (caches are kept)".into()),
        );
    }
    Ok((outcome, format!("kind cluster {name} exists")))
}

/// kind's status lines as sub-steps: " • Preparing nodes 📦  ..." → "Preparing nodes ...",
/// " ✓ Preparing nodes 📦" → "✓ Preparing nodes", " ✗ ..." → "✗ ..."; other lines → None.
pub fn progress_line(line: &str) -> Option<String> {
    let line = line.trim();
    let mut chars = line.chars();
    let marker = chars.next()?;
    if !matches!(marker, '•' | '✓' | '✗') {
        return None;
    }
    let text = chars.as_str().trim().trim_end_matches("...");
    // Drop the trailing emoji (and its variation selectors) kind decorates each line with.
    let text = text.trim_end_matches(|c: char| !c.is_ascii() || c.is_whitespace());
    if text.is_empty() {
        return None;
    }
    Some(match marker {
        '•' => format!("{text} ..."),
        other => format!("{other} {text}"),
    })
}

/// The most likely cause of a failed `kind create cluster`, from what kind printed.
pub fn failure_hint(output: &str, settings: &Settings) -> String {
    let o = output.to_ascii_lowercase();
    let network = &settings.config.network;
    if o.contains("failed to pull image")
        || o.contains("no such host")
        || o.contains("i/o timeout")
        || o.contains("tls handshake timeout")
    {
        format!(
            "kind could not pull the node image {}: this machine needs network access to Docker Hub \
             (or `docker pull` it once, or `docker load` it from a machine that has it)",
            settings.config.cluster.node_image
        )
    } else if o.contains("port is already allocated") || o.contains("address already in use") {
        format!(
            "a host port the cluster needs ({}, {}) is in use: stop what listens there \
             (`kindling doctor` shows it) or set network.http_port / network.https_port",
            network.http_port, network.https_port
        )
    } else if o.contains("too many open files") || o.contains("inotify") {
        "raise the inotify limits: `sudo sysctl fs.inotify.max_user_watches=524288 fs.inotify.max_user_instances=512`".into()
    } else if o.contains("kubelet")
        && o.lines()
            .any(|l| l.contains("cgroup") && !l.contains("cgroup v1 is deprecated"))
    {
        "the kubelet did not start; Kubernetes ≥ 1.35 refuses cgroup v1 hosts: use a host with cgroup v2 \
         (or a node image ≤ v1.34)".into()
    } else {
        "run `kindling doctor` to check this machine (ports, inotify limits, cgroup v2, Docker memory), then run again".into()
    }
}

/// `kind create cluster --name <name> --config -`, the config on stdin.
async fn create(settings: &Settings, kind: &KindCli, step: &Step) -> Result<(), ClusterError> {
    let name = &settings.config.cluster.name;
    let args = ["create", "cluster", "--name", name, "--config", "-"];
    let spawn_error = |e: std::io::Error| ClusterError::Spawn {
        program: kind.path.display().to_string(),
        reason: e.to_string(),
    };
    let mut child = kind
        .command(&args)
        .stdin(Stdio::piped())
        .spawn()
        .map_err(spawn_error)?;
    let config = kind_config::render(&settings.config);
    let mut stdin = child.stdin.take().expect("stdin is piped");
    let mut stdout = child.stdout.take().expect("stdout is piped");
    let stderr = child.stderr.take().expect("stderr is piped");

    let run = async {
        // A write error means kind exited early; its output says why.
        let _ = stdin.write_all(config.as_bytes()).await;
        drop(stdin);
        let mut printed = String::new();
        let mut out = String::new();
        let mut lines = BufReader::new(stderr).lines();
        let (_, ()) = tokio::join!(stdout.read_to_string(&mut out), async {
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(sub) = progress_line(&line) {
                    step.progress(sub);
                }
                printed.push_str(&line);
                printed.push('\n');
            }
        });
        printed.push_str(&out);
        let status = child.wait().await;
        (status, printed)
    };
    let timeout = settings.config.timeouts.cluster;
    let command = format!("kind {}", args.join(" "));
    match tokio::time::timeout(timeout, run).await {
        Ok((Ok(status), _)) if status.success() => Ok(()),
        Ok((status, output)) => {
            let status = match status {
                Ok(s) => s.to_string(),
                Err(e) => e.to_string(),
            };
            Err(ClusterError::Kind {
                command,
                status,
                hint: Some(failure_hint(&output, settings)),
                output: output.trim().to_string(),
            })
        }
        // Dropping the future kills kind (kill_on_drop); `ensure` removes what it left.
        Err(_) => Err(ClusterError::Kind {
            command,
            status: format!(
                "no result within {}",
                crate::report::format_duration(timeout)
            ),
            output: String::new(),
            hint: Some(format!(
                "raise timeouts.cluster (creating cluster {name} pulls a ~1 GB node image the first time) and run again"
            )),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_status_lines_become_sub_steps() {
        assert_eq!(
            progress_line(" • Ensuring node image (kindest/node:v1.36.4) 🖼️  ...").as_deref(),
            Some("Ensuring node image (kindest/node:v1.36.4) ...")
        );
        assert_eq!(
            progress_line(" ✓ Preparing nodes 📦 ").as_deref(),
            Some("✓ Preparing nodes")
        );
        assert_eq!(
            progress_line(" ✗ Ensuring node image (kindest/node:v1.36.4) 🖼️").as_deref(),
            Some("✗ Ensuring node image (kindest/node:v1.36.4)")
        );
        assert_eq!(progress_line("Creating cluster \"x\" ..."), None);
        assert_eq!(progress_line("ERROR: failed to create cluster"), None);
    }

    #[test]
    fn failures_get_a_hint_for_their_likely_cause() {
        let settings = crate::config::Settings {
            config: crate::config::Config::builtin(),
            source: None,
            data_dir: "/d".into(),
            cache_dir: "/c".into(),
        };
        let hint = |output: &str| failure_hint(output, &settings);
        let deprecation = "cgroup v1 is deprecated in Kubernetes and will not be supported in a future kind release, please upgrade to cgroup v2\n";
        assert!(
            hint(&format!(
                "{deprecation}ERROR: failed to pull image \"kindest/node\""
            ))
            .contains("network access")
        );
        assert!(
            hint("Bind for 127.0.0.1:80 failed: port is already allocated")
                .contains("network.http_port")
        );
        assert!(
            hint("failed to create fsnotify watcher: too many open files")
                .contains("max_user_watches")
        );
        assert!(
            hint("[kubelet-check] The kubelet is not healthy\nkubelet: cgroup v1 support is unsupported")
                .contains("cgroup v2")
        );
        // The deprecation notice kind prints on every cgroup v1 host is not the cause by itself.
        assert!(hint(&format!("{deprecation}kubelet failed")).contains("kindling doctor"));
    }
}
