use super::CheckResult;
use super::engine_probe::{EngineHost, Probe};

const WATCHES: u64 = 524_288;
const INSTANCES: u64 = 512;

fn read(path: &str) -> Option<u64> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// kind's known issue: low inotify limits make pods fail with "too many open files". The
/// limits that count are those of the kernel the engine runs on: this host's when the engine
/// is local, else the VM's as a container of the node image reads them (`probe`).
pub(super) fn check(host: &EngineHost, probe: Option<&Result<Probe, String>>) -> CheckResult {
    match host {
        // Docker did not answer: on Linux the engine is most likely this host.
        EngineHost::Local | EngineHost::Unknown if cfg!(target_os = "linux") => {
            let (Some(watches), Some(instances)) = (
                read("/proc/sys/fs/inotify/max_user_watches"),
                read("/proc/sys/fs/inotify/max_user_instances"),
            ) else {
                return CheckResult::warn(
                    "inotify",
                    "cannot read /proc/sys/fs/inotify",
                    "check the limits by hand (see kind's known issues)",
                );
            };
            verdict(watches, instances, "")
        }
        EngineHost::Remote(vm) => match probe {
            Some(Ok(p)) => verdict(p.watches, p.instances, &format!(" in {vm}")),
            Some(Err(e)) => CheckResult::warn(
                "inotify",
                format!("cannot read the limits in {vm}: {e}"),
                "check them by hand: docker run --rm <node image> cat /proc/sys/fs/inotify/max_user_watches",
            ),
            None => CheckResult::ok(
                "inotify",
                format!(
                    "unknown until the cluster exists: the limits that count are {vm}'s, read from \
                     a container of the node image once it is present"
                ),
            ),
        },
        EngineHost::Local | EngineHost::Unknown => CheckResult::warn(
            "inotify",
            "unknown: Docker did not answer",
            "fix the docker check first",
        ),
    }
}

pub(super) fn verdict(watches: u64, instances: u64, place: &str) -> CheckResult {
    let detail = format!("max_user_watches={watches}, max_user_instances={instances}{place}");
    if watches >= WATCHES && instances >= INSTANCES {
        return CheckResult::ok("inotify", detail);
    }
    let hint = if place.is_empty() {
        format!(
            "sudo sysctl fs.inotify.max_user_watches={WATCHES} fs.inotify.max_user_instances={INSTANCES} \
             (add them to /etc/sysctl.conf to keep them)"
        )
    } else {
        // Docker Desktop's VM: a privileged container may set the VM's sysctls until it restarts.
        format!(
            "raise them in the VM: docker run --rm --privileged <node image> sysctl -w \
             fs.inotify.max_user_watches={WATCHES} fs.inotify.max_user_instances={INSTANCES} \
             (lasts until Docker restarts)"
        )
    };
    CheckResult::warn(
        "inotify",
        format!("{detail}: below {WATCHES} / {INSTANCES}"),
        hint,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::Status;

    #[test]
    fn on_a_vm_the_vms_limits_count_and_before_the_node_image_they_are_unknown() {
        let vm = EngineHost::Remote("Docker Desktop's VM".into());
        let r = check(&vm, None);
        assert_eq!(r.status, Status::Ok);
        assert!(
            r.detail.contains("unknown until the cluster exists"),
            "{r:?}"
        );
        let low = Ok(Probe {
            watches: 8192,
            instances: 128,
            free_bytes: 0,
        });
        let r = check(&vm, Some(&low));
        assert_eq!(r.status, Status::Warn);
        assert!(r.detail.contains("in Docker Desktop's VM"), "{r:?}");
        let fine = Ok(Probe {
            watches: 1_048_576,
            instances: 8192,
            free_bytes: 0,
        });
        assert_eq!(check(&vm, Some(&fine)).status, Status::Ok);
        let failed = Err("no answer".to_string());
        assert_eq!(check(&vm, Some(&failed)).status, Status::Warn);
    }

    #[test]
    fn thresholds_are_kinds() {
        assert_eq!(verdict(524_288, 512, "").status, Status::Ok);
        assert_eq!(verdict(524_287, 512, "").status, Status::Warn);
        assert_eq!(verdict(524_288, 511, "").status, Status::Warn);
    }
}
