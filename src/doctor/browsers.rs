use super::CheckResult;
use crate::config::Config;
use crate::tls::{NssStores, TrustStore};

/// Whether Chrome and Firefox will trust the local CA: on Linux they read NSS databases
/// (Fedora excepted), which kindling changes with certutil.
pub(super) fn check(
    config: &Config,
    nss: Option<&NssStores>,
    store: Option<&TrustStore>,
) -> CheckResult {
    if !config.network.trust_ca {
        return CheckResult::ok("browsers", "not managed (network.trust_ca = false)");
    }
    let Some(nss) = nss else {
        return CheckResult::ok(
            "browsers",
            "Safari and Chrome read the System keychain (Firefox too, with \
             security.enterprise_roots.enabled, its default on macOS)",
        );
    };
    if store.is_some_and(TrustStore::browsers_use_it) {
        return CheckResult::ok(
            "browsers",
            "Fedora's browsers read the system store through p11-kit: no certutil needed",
        );
    }
    let databases = nss.databases();
    let list = databases
        .iter()
        .map(|d| format!("{} {}", d.browser, d.dir.display()))
        .collect::<Vec<_>>()
        .join(", ");
    match (&nss.certutil, databases.is_empty()) {
        (Some(_), false) => CheckResult::ok(
            "browsers",
            format!("certutil found; the CA goes into {list}"),
        ),
        (Some(_), true) => CheckResult::ok(
            "browsers",
            format!(
                "certutil found; no Chrome or Firefox database under {} yet (start the browser \
                 once, then `kindling tls trust`)",
                nss.home.display()
            ),
        ),
        (None, false) => CheckResult::warn(
            "browsers",
            format!("certutil is missing: Chrome and Firefox will not trust the local CA ({list})"),
            "install it (Debian/Ubuntu: sudo apt install libnss3-tools; Arch: sudo pacman -S nss; \
             openSUSE: sudo zypper install mozilla-nss-tools), then `kindling tls trust`",
        ),
        (None, true) => CheckResult::ok(
            "browsers",
            "no Chrome or Firefox database yet; certutil is missing, so install it \
             (libnss3-tools) before `kindling tls trust` if you start one",
        ),
    }
}

/// WSL: the Windows browser uses Windows' certificate store and hosts file.
pub(super) fn wsl(config: &Config) -> CheckResult {
    let hosts = if config.network.domain == "localhost" {
        "no hosts lines needed (*.localhost resolves to loopback on Windows too)"
    } else {
        "and Windows' hosts file needs the names (network.domain is not localhost)"
    };
    CheckResult::ok(
        "windows",
        format!(
            "WSL: a Windows browser trusts only the Windows certificate store; `kindling tls trust` \
             prints the PowerShell step; {hosts}"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::Status;
    use crate::tls::nss::RunAs;

    fn stores(home: &std::path::Path, certutil: bool) -> NssStores {
        NssStores {
            certutil: certutil.then(|| "/usr/bin/certutil".into()),
            home: home.to_path_buf(),
            run_as: RunAs::Current,
        }
    }

    #[test]
    fn a_missing_certutil_with_browser_databases_warns_and_says_what_it_means() {
        let home = tempfile::tempdir().unwrap();
        let db = home.path().join(".pki/nssdb");
        std::fs::create_dir_all(&db).unwrap();
        std::fs::write(db.join("cert9.db"), "").unwrap();
        let config = Config::builtin();
        let debian = TrustStore::debian();
        let r = check(&config, Some(&stores(home.path(), false)), Some(&debian));
        assert_eq!(r.status, Status::Warn, "{r:?}");
        assert!(r.detail.contains("will not trust"), "{r:?}");
        assert!(r.hint.unwrap().contains("libnss3-tools"));
        let r = check(&config, Some(&stores(home.path(), true)), Some(&debian));
        assert_eq!(r.status, Status::Ok);
        let fedora = TrustStore::fedora();
        let r = check(&config, Some(&stores(home.path(), false)), Some(&fedora));
        assert_eq!(r.status, Status::Ok);
        assert!(r.detail.contains("p11-kit"), "{r:?}");
        let empty = tempfile::tempdir().unwrap();
        let r = check(&config, Some(&stores(empty.path(), false)), Some(&debian));
        assert_eq!(r.status, Status::Ok);
    }
}
