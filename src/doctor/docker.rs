use super::CheckResult;
use super::engine_probe::EngineHost;
use crate::config::{Config, Provider};
use crate::env::Env;
use bollard::Docker;
use std::time::Duration;

const GIB: f64 = (1u64 << 30) as f64;
/// Docker Desktop's VM reports less than its setting (a 4 GB setting shows ~3.66 GiB, 8 GB
/// ~7.66 GiB), so the thresholds sit just under what those settings report.
const FAIL_UNDER_GIB: f64 = 3.5;
const WARN_UNDER_GIB: f64 = 7.5;

pub(super) struct Engine {
    pub client: Option<Docker>,
    pub results: Vec<CheckResult>,
    /// Docker's data root, for the disk check.
    pub docker_root: Option<String>,
    /// Whether the engine runs on this host or in a VM (Docker Desktop) or elsewhere.
    pub host: EngineHost,
}

/// Docker reachable, its resources, and the cgroup version it runs containers with.
pub(super) async fn engine(config: &Config, env: &Env, timeout: Duration) -> Engine {
    let failed = |detail: String, hint: String| Engine {
        client: None,
        results: vec![CheckResult::fail("docker", detail, hint)],
        docker_root: None,
        host: EngineHost::Unknown,
    };
    let docker = match crate::docker::connect(env, timeout).await {
        Ok(d) => d,
        Err(e) => return failed(crate::error::one_line(&e), e.hint().unwrap_or_default()),
    };
    let info = match docker.info().await {
        Ok(info) => info,
        Err(e) => {
            return failed(
                format!("the engine answered but `info` failed: {e}"),
                "check the engine's logs; restart Docker".into(),
            );
        }
    };
    let detail = format!(
        "Docker {} on {}/{}, {} CPUs",
        info.server_version.as_deref().unwrap_or("?"),
        info.os_type.as_deref().unwrap_or("?"),
        info.architecture.as_deref().unwrap_or("?"),
        info.ncpu.unwrap_or(0),
    );
    let cgroup_version = info.cgroup_version.map(|v| v.to_string());
    Engine {
        results: vec![
            memory(&detail, info.mem_total.unwrap_or(0)),
            cgroup(cgroup_version.as_deref(), config),
        ],
        host: EngineHost::of(&info),
        client: Some(docker),
        docker_root: info.docker_root_dir,
    }
}

/// The memory the engine reports (`MemTotal`: the VM's on Docker Desktop).
pub(super) fn memory(engine: &str, mem_total: i64) -> CheckResult {
    let gib = mem_total as f64 / GIB;
    let detail = format!("{engine}, {gib:.1} GiB memory");
    let hint = format!(
        "give Docker more memory: Docker Desktop → Settings → Resources → Memory, 8 GB or more \
         (the VM reports a little less than the setting); kube-prometheus-stack alone needs \
         ~1–1.5 GiB. Fails under {FAIL_UNDER_GIB} GiB, warns under {WARN_UNDER_GIB} GiB."
    );
    if gib < FAIL_UNDER_GIB {
        CheckResult::fail(
            "docker",
            format!("{detail}: under {FAIL_UNDER_GIB} GiB is too little for the platform"),
            hint,
        )
    } else if gib < WARN_UNDER_GIB {
        CheckResult::warn(
            "docker",
            format!("{detail}: under {WARN_UNDER_GIB} GiB may be tight"),
            hint,
        )
    } else {
        CheckResult::ok("docker", detail)
    }
}

/// The Kubernetes minor version of a kind node image reference
/// (`kindest/node:v1.36.4@sha256:…` → (1, 36)).
pub(crate) fn node_image_version(image: &str) -> Option<(u32, u32)> {
    let without_digest = image.split('@').next()?;
    let (_, tag) = without_digest.rsplit_once(':')?;
    let mut parts = tag.strip_prefix('v')?.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

/// cgroup v1: Kubernetes 1.35 and later refuse it by default (kubelet `failCgroupV1`), so a
/// node image at or past 1.35 cannot start: that is a failure, not a warning.
pub(super) fn cgroup(version: Option<&str>, config: &Config) -> CheckResult {
    match version {
        Some("1") => {}
        Some(v) if !v.is_empty() => return CheckResult::ok("cgroup", format!("cgroup v{v}")),
        _ => return CheckResult::ok("cgroup", "unknown (the engine did not say)"),
    }
    let hint = "boot the host with cgroup v2 (systemd.unified_cgroup_hierarchy=1; Docker Desktop \
                and current distributions use it already)";
    if config.cluster.provider == Provider::Existing {
        return CheckResult::warn(
            "cgroup",
            "cgroup v1: Kubernetes 1.35 and later refuse to run on it by default",
            hint,
        );
    }
    let image = &config.cluster.node_image;
    match node_image_version(image) {
        Some((major, minor)) if (major, minor) >= (1, 35) => CheckResult::fail(
            "cgroup",
            format!(
                "cgroup v1: the node image runs Kubernetes v{major}.{minor}, whose kubelet refuses \
                 cgroup v1 (since v1.35)"
            ),
            format!("{hint}; or set cluster.node_image to a v1.34 kindest/node image"),
        ),
        Some((major, minor)) => CheckResult::warn(
            "cgroup",
            format!(
                "cgroup v1: Kubernetes v{major}.{minor} still runs on it; v1.35 and later refuse it"
            ),
            hint,
        ),
        None => CheckResult::warn(
            "cgroup",
            format!(
                "cgroup v1, and the version of cluster.node_image {image:?} is unknown: \
                 Kubernetes 1.35 and later refuse cgroup v1"
            ),
            hint,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::Status;

    /// What Docker Desktop's VM reports for its memory settings (DESIGN.md).
    const GIB_I: i64 = 1 << 30;
    fn gib(x: f64) -> i64 {
        (x * GIB_I as f64) as i64
    }

    #[test]
    fn docker_desktop_4_gb_warns_and_8_gb_passes() {
        let four_gb_setting = memory("engine", gib(3.66));
        assert_eq!(four_gb_setting.status, Status::Warn, "{four_gb_setting:?}");
        let eight_gb_setting = memory("engine", gib(7.66));
        assert_eq!(eight_gb_setting.status, Status::Ok, "{eight_gb_setting:?}");
        let two_gb_setting = memory("engine", gib(1.9));
        assert_eq!(two_gb_setting.status, Status::Fail);
        assert_eq!(memory("engine", gib(3.49)).status, Status::Fail);
        assert_eq!(memory("engine", gib(3.5)).status, Status::Warn);
        assert_eq!(memory("engine", gib(7.49)).status, Status::Warn);
        assert_eq!(memory("engine", gib(7.5)).status, Status::Ok);
        let hint = four_gb_setting.hint.unwrap();
        assert!(
            hint.contains("Settings → Resources → Memory"),
            "names the Docker Desktop setting: {hint}"
        );
    }

    #[test]
    fn node_image_versions_parse_with_and_without_digest() {
        assert_eq!(
            node_image_version(&Config::builtin().cluster.node_image),
            Some((1, 36))
        );
        assert_eq!(
            node_image_version("localhost:5000/kindest/node:v1.34.0"),
            Some((1, 34))
        );
        assert_eq!(node_image_version("kindest/node@sha256:abc"), None);
        assert_eq!(node_image_version("kindest/node:latest"), None);
    }

    #[test]
    fn cgroup_v1_fails_with_a_node_image_from_1_35_and_warns_before() {
        let mut config = Config::builtin();
        let r = cgroup(Some("1"), &config);
        assert_eq!(r.status, Status::Fail, "{r:?}");
        assert!(r.detail.contains("v1.36"), "{}", r.detail);
        config.cluster.node_image = "kindest/node:v1.35.0".into();
        assert_eq!(cgroup(Some("1"), &config).status, Status::Fail);
        config.cluster.node_image = "kindest/node:v1.34.3".into();
        assert_eq!(cgroup(Some("1"), &config).status, Status::Warn);
        config.cluster.node_image = "my/node:latest".into();
        assert_eq!(cgroup(Some("1"), &config).status, Status::Warn);
        assert_eq!(cgroup(Some("2"), &config).status, Status::Ok);
        assert_eq!(cgroup(None, &config).status, Status::Ok);
    }
}
