use super::CheckResult;
use super::engine_probe::{EngineHost, Probe};
use std::path::Path;

const GIB: u64 = 1 << 30;

fn free_bytes(path: &Path) -> Option<u64> {
    // The nearest existing ancestor: the path may not exist yet.
    let existing = path.ancestors().find(|p| p.exists())?;
    let stat = rustix::fs::statvfs(existing).ok()?;
    Some(stat.f_bavail * stat.f_frsize)
}

/// Free disk where Docker keeps images (node image, component images, caches): Docker's data
/// root on this host when the engine is local; the VM's disk as a container sees it otherwise.
pub(super) fn check(
    host: &EngineHost,
    docker_root: Option<&str>,
    probe: Option<&Result<Probe, String>>,
) -> CheckResult {
    match host {
        EngineHost::Local => {
            let Some(root) = docker_root else {
                return unknown("the engine did not name its data root");
            };
            match free_bytes(Path::new(root)) {
                Some(free) => verdict(free, &format!("at {root}")),
                None => unknown(&format!("cannot tell free space at {root}")),
            }
        }
        EngineHost::Remote(vm) => match probe {
            Some(Ok(p)) => verdict(p.free_bytes, &format!("on {vm}'s disk")),
            Some(Err(e)) => unknown(&format!("cannot read {vm}'s disk: {e}")),
            None => CheckResult::ok(
                "disk",
                format!(
                    "{vm}'s disk: unknown until the node image is present (Docker Desktop → \
                     Settings → Resources → Disk usage limit shows it)"
                ),
            ),
        },
        EngineHost::Unknown => unknown("Docker did not answer"),
    }
}

fn unknown(why: &str) -> CheckResult {
    CheckResult::warn("disk", why.to_string(), "keep 15 GiB free for images")
}

pub(super) fn verdict(free: u64, place: &str) -> CheckResult {
    let detail = format!("{:.1} GiB free {place}", free as f64 / GIB as f64);
    let hint = "free disk space (e.g. `docker system prune`; Docker Desktop → Settings → Resources \
                → Disk usage limit); the platform's images take ~5 GiB";
    if free < 5 * GIB {
        CheckResult::fail("disk", detail, hint)
    } else if free < 15 * GIB {
        CheckResult::warn("disk", detail, hint)
    } else {
        CheckResult::ok("disk", detail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::Status;

    #[test]
    fn on_a_vm_the_vms_disk_counts_not_this_hosts() {
        let vm = EngineHost::Remote("Docker Desktop's VM".into());
        let small = Ok(Probe {
            watches: 0,
            instances: 0,
            free_bytes: 3 * GIB,
        });
        // The host's data root would have plenty: it is not asked.
        let r = check(&vm, Some("/"), Some(&small));
        assert_eq!(r.status, Status::Fail, "{r:?}");
        assert!(r.detail.contains("Docker Desktop's VM's disk"), "{r:?}");
        let r = check(&vm, Some("/"), None);
        assert!(r.detail.contains("unknown until"), "{r:?}");
    }

    #[test]
    fn locally_dockers_data_root_is_measured() {
        let dir = tempfile::tempdir().unwrap();
        let r = check(&EngineHost::Local, dir.path().to_str(), None);
        assert!(
            r.detail.contains(&dir.path().display().to_string()),
            "{r:?}"
        );
        assert_eq!(verdict(4 * GIB, "x").status, Status::Fail);
        assert_eq!(verdict(14 * GIB, "x").status, Status::Warn);
        assert_eq!(verdict(15 * GIB, "x").status, Status::Ok);
    }
}
