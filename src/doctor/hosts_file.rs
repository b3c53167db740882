use super::CheckResult;
use crate::config::Config;
use crate::env::Env;
use std::path::Path;

/// Whether kindling can keep its block in the hosts file: writable, or sudo to ask.
/// The block is written for every domain, `localhost` included: Safari and macOS
/// command-line tools resolve names only through the hosts file.
pub(super) fn check(config: &Config, env: &Env) -> CheckResult {
    if !config.network.manage_hosts {
        return CheckResult::ok("hosts file", "not managed (network.manage_hosts = false)");
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
        let hint = if config.network.domain == "localhost" {
            format!(
                "run kindling as a user who can edit {}, or set network.manage_hosts = false \
                 (Chrome, Firefox and curl resolve *.localhost without it; Safari does not)",
                path.display()
            )
        } else {
            format!(
                "run kindling as a user who can edit {}, or set network.domain = \"localhost\" \
                 and network.manage_hosts = false (browsers resolve *.localhost themselves)",
                path.display()
            )
        };
        CheckResult::warn(
            "hosts file",
            format!("{} is not writable and there is no sudo", path.display()),
            hint,
        )
    }
}

/// The domain's names: `localhost` resolves everywhere; `.local` is mDNS (RFC 6762), and
/// macOS sends the IPv6 lookup of a name the hosts file maps only to 127.0.0.1 to mDNS,
/// which answers after a ~5 s timeout. kindling writes no `::1` line: kind publishes 80/443
/// on 127.0.0.1 only, so a client that tried ::1 first would be refused, not served.
pub(super) fn domain(config: &Config) -> CheckResult {
    let domain = &config.network.domain;
    if domain == "localhost" {
        return CheckResult::ok(
            "domain",
            "*.localhost: Chrome, Firefox and curl resolve it to loopback themselves; \
             the hosts block serves Safari and command-line tools",
        );
    }
    if domain == "local" || domain.ends_with(".local") {
        return CheckResult::warn(
            "domain",
            format!(
                "network.domain = {domain:?} is the mDNS domain: on macOS every uncached lookup of a \
                 name under it stalls ~5 s (the IPv6 query goes to mDNS)"
            ),
            "use network.domain = \"localhost\" (the default)",
        );
    }
    CheckResult::ok(
        "domain",
        format!("*.{domain}: resolved through the hosts block"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::Status;

    fn with_domain(domain: &str) -> Config {
        let mut config = Config::builtin();
        config.network.domain = domain.into();
        config
    }

    #[test]
    fn the_default_domain_is_localhost_and_needs_no_warning() {
        assert_eq!(Config::builtin().network.domain, "localhost");
        assert_eq!(domain(&Config::builtin()).status, Status::Ok);
    }

    #[test]
    fn a_dot_local_domain_warns_about_the_mdns_stall() {
        for d in ["local", "dev.local"] {
            let r = domain(&with_domain(d));
            assert_eq!(r.status, Status::Warn, "{d}");
            assert!(r.detail.contains("5 s"), "{}", r.detail);
            assert!(r.hint.unwrap().contains("localhost"));
        }
        assert_eq!(domain(&with_domain("example.test")).status, Status::Ok);
        assert_eq!(domain(&with_domain("localdev")).status, Status::Ok);
    }

    #[test]
    fn with_localhost_the_hosts_block_is_still_checked() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("hosts");
        std::fs::write(&file, "").unwrap();
        let env = Env::from_pairs([("KINDLING_HOSTS_FILE", file.to_str().unwrap())]);
        let r = check(&Config::builtin(), &env);
        assert!(r.detail.contains("is writable"), "{}", r.detail);
    }
}
