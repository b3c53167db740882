use super::CheckResult;
use crate::env::Env;
use bollard::Docker;
use std::time::Duration;

const GIB: i64 = 1 << 30;

pub(super) struct Engine {
    pub client: Option<Docker>,
    pub results: Vec<CheckResult>,
    /// Docker's data root, for the disk check.
    pub docker_root: Option<String>,
}

/// Docker reachable, its resources, and the cgroup version it runs containers with.
pub(super) async fn engine(env: &Env, timeout: Duration) -> Engine {
    let docker = match crate::docker::connect(env, timeout).await {
        Ok(d) => d,
        Err(e) => {
            return Engine {
                client: None,
                results: vec![CheckResult::fail(
                    "docker",
                    e.to_string(),
                    e.hint().unwrap_or_default(),
                )],
                docker_root: None,
            };
        }
    };
    let info = match docker.info().await {
        Ok(info) => info,
        Err(e) => {
            return Engine {
                client: None,
                results: vec![CheckResult::fail(
                    "docker",
                    format!("the engine answered but `info` failed: {e}"),
                    "check the engine's logs; restart Docker",
                )],
                docker_root: None,
            };
        }
    };
    let mem = info.mem_total.unwrap_or(0);
    let detail = format!(
        "Docker {} on {}/{}, {} CPUs, {:.1} GiB memory",
        info.server_version.as_deref().unwrap_or("?"),
        info.os_type.as_deref().unwrap_or("?"),
        info.architecture.as_deref().unwrap_or("?"),
        info.ncpu.unwrap_or(0),
        mem as f64 / GIB as f64
    );
    let memory_hint = "give Docker more memory (Docker Desktop: Settings → Resources); kube-prometheus-stack alone needs ~1.5 GiB";
    let docker_check = if mem < 4 * GIB {
        CheckResult::fail(
            "docker",
            format!("{detail}: under 4 GiB is too little"),
            memory_hint,
        )
    } else if mem < 8 * GIB {
        CheckResult::warn(
            "docker",
            format!("{detail}: under 8 GiB may be tight"),
            memory_hint,
        )
    } else {
        CheckResult::ok("docker", detail)
    };
    let cgroup = match info.cgroup_version.map(|v| v.to_string()) {
        Some(v) if v == "1" => CheckResult::warn(
            "cgroup",
            "cgroup v1: Kubernetes 1.35 and later refuse to run on it by default",
            "boot the host with cgroup v2 (systemd.unified_cgroup_hierarchy=1), or use a node image before v1.35",
        ),
        Some(v) if !v.is_empty() => CheckResult::ok("cgroup", format!("cgroup v{v}")),
        _ => CheckResult::ok("cgroup", "unknown (the engine did not say)"),
    };
    Engine {
        client: Some(docker),
        results: vec![docker_check, cgroup],
        docker_root: info.docker_root_dir,
    }
}
