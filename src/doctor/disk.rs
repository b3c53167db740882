use super::CheckResult;
use crate::config::Settings;
use std::path::Path;

const GIB: u64 = 1 << 30;

fn free_bytes(path: &Path) -> Option<u64> {
    // The nearest existing ancestor: the data dir may not exist yet.
    let existing = path.ancestors().find(|p| p.exists())?;
    let stat = rustix::fs::statvfs(existing).ok()?;
    Some(stat.f_bavail * stat.f_frsize)
}

/// Free disk where Docker keeps images (node image, component images, caches).
pub(super) fn check(settings: &Settings, docker_root: Option<&str>) -> CheckResult {
    let path = docker_root
        .map(Path::new)
        .filter(|p| p.exists())
        .unwrap_or(&settings.data_dir);
    let Some(free) = free_bytes(path) else {
        return CheckResult::warn(
            "disk",
            format!("cannot tell free space at {}", path.display()),
            "keep 15 GiB free for images",
        );
    };
    let detail = format!(
        "{:.1} GiB free at {}",
        free as f64 / GIB as f64,
        path.display()
    );
    let hint = "free disk space (e.g. `docker system prune`); the platform's images take ~5 GiB";
    if free < 5 * GIB {
        CheckResult::fail("disk", detail, hint)
    } else if free < 15 * GIB {
        CheckResult::warn("disk", detail, hint)
    } else {
        CheckResult::ok("disk", detail)
    }
}
