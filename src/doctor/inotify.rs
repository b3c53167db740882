use super::CheckResult;

const WATCHES: u64 = 524_288;
const INSTANCES: u64 = 512;

fn read(path: &str) -> Option<u64> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// kind's known issue: low inotify limits make pods fail with "too many open files".
pub(super) fn check() -> CheckResult {
    if !cfg!(target_os = "linux") {
        return CheckResult::ok("inotify", "not Linux: Docker's VM sets its own limits");
    }
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
    let detail = format!("max_user_watches={watches}, max_user_instances={instances}");
    if watches < WATCHES || instances < INSTANCES {
        CheckResult::warn(
            "inotify",
            format!("{detail}: below {WATCHES} / {INSTANCES}"),
            format!(
                "sudo sysctl fs.inotify.max_user_watches={WATCHES} fs.inotify.max_user_instances={INSTANCES} (add them to /etc/sysctl.conf to keep them)"
            ),
        )
    } else {
        CheckResult::ok("inotify", detail)
    }
}
