use super::CheckResult;
use crate::config::Config;
use crate::env::Env;
use std::path::Path;

/// Whether kindling can keep its block in the hosts file: writable, or sudo to ask.
pub(super) fn check(config: &Config, env: &Env) -> CheckResult {
    if !config.network.manage_hosts {
        return CheckResult::ok("hosts file", "not managed (network.manage_hosts = false)");
    }
    if config.network.domain == "localhost" {
        return CheckResult::ok(
            "hosts file",
            "not needed: *.localhost names resolve to loopback",
        );
    }
    let path = env
        .path("KINDLING_HOSTS_FILE")
        .unwrap_or_else(|| Path::new("/etc/hosts").to_path_buf());
    let writable = rustix::fs::access(&path, rustix::fs::Access::WRITE_OK).is_ok();
    if writable {
        return CheckResult::ok("hosts file", format!("{} is writable", path.display()));
    }
    let sudo = env
        .get("PATH")
        .unwrap_or("/usr/bin:/bin")
        .split(':')
        .any(|dir| Path::new(dir).join("sudo").is_file());
    if sudo {
        CheckResult::ok(
            "hosts file",
            format!("{} is not writable; kindling will ask sudo", path.display()),
        )
    } else {
        CheckResult::warn(
            "hosts file",
            format!("{} is not writable and there is no sudo", path.display()),
            format!(
                "run kindling as a user who can edit {}, or set network.domain = \"localhost\" (no hosts entries needed)",
                path.display()
            ),
        )
    }
}
