//! WSL2: the browser is a Windows program. It reads the Windows certificate store and the
//! Windows hosts file; nothing kindling changes inside the Linux distribution reaches it.
//! kindling detects WSL and prints the PowerShell steps that do the same on the Windows side
//! (it cannot run them: that needs the Windows user's consent, and for the hosts file an
//! administrator). With the default `localhost` domain no hosts lines are needed: Chrome,
//! Edge and Firefox on Windows resolve `*.localhost` to loopback, which WSL2 forwards.

use std::path::Path;

/// WSL, from the markers the WSL documentation and Microsoft's own tools use: the interop
/// binfmt entry, or "microsoft" in the kernel's version string (WSL1 and WSL2).
pub fn is_wsl(interop_entry_exists: bool, proc_version: &str) -> bool {
    interop_entry_exists || proc_version.to_ascii_lowercase().contains("microsoft")
}

/// This host, by those markers.
pub fn detect() -> bool {
    cfg!(target_os = "linux")
        && is_wsl(
            Path::new("/proc/sys/fs/binfmt_misc/WSLInterop").exists(),
            &std::fs::read_to_string("/proc/version").unwrap_or_default(),
        )
}

/// A Linux path as Windows reaches it (`wslpath -w`): `\\wsl.localhost\<distro>\home\…`.
pub fn windows_path(distro: &str, path: &Path) -> String {
    format!(
        r"\\wsl.localhost\{distro}{}",
        path.display().to_string().replace('/', r"\")
    )
}

/// PowerShell single-quoted string.
fn ps_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// The steps for the Windows side, to paste into PowerShell: import the CA for the current
/// Windows user (Windows asks to confirm a new root), and, when the domain is not
/// `localhost`, the hosts lines (in an administrator PowerShell).
pub fn windows_steps(distro: &str, ca_path: &Path, domain: &str, hosts: &[String]) -> Vec<String> {
    let mut steps = vec![format!(
        "Import-Certificate -FilePath {} -CertStoreLocation Cert:\\CurrentUser\\Root",
        ps_quote(&windows_path(distro, ca_path))
    )];
    if domain != "localhost" {
        let lines: Vec<String> = hosts.iter().map(|h| format!("127.0.0.1 {h}")).collect();
        steps.push(format!(
            "Add-Content -Path \"$env:windir\\System32\\drivers\\etc\\hosts\" -Value {}  # as administrator",
            lines
                .iter()
                .map(|l| ps_quote(l))
                .collect::<Vec<_>>()
                .join(",")
        ));
    }
    steps
}

/// The step that undoes the import: every certificate of this cluster's CA name.
pub fn windows_undo(cluster: &str) -> String {
    format!(
        "Get-ChildItem Cert:\\CurrentUser\\Root | Where-Object Subject -like {} | Remove-Item",
        ps_quote(&format!("*CN={}*", super::ca::common_name(cluster)))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wsl_is_detected_from_its_markers() {
        // /proc/version on WSL2 and WSL1, and on a plain Linux.
        assert!(is_wsl(
            false,
            "Linux version 5.15.167.4-microsoft-standard-WSL2 (root@f9c826d3017f) (gcc (GCC) 11.2.0)"
        ));
        assert!(is_wsl(
            false,
            "Linux version 4.4.0-19041-Microsoft (Microsoft@Microsoft.com) (gcc version 5.4.0)"
        ));
        assert!(is_wsl(true, ""));
        assert!(!is_wsl(
            false,
            "Linux version 6.1.0-28-amd64 (debian-kernel@lists.debian.org) (gcc-12 (Debian 12.2.0-14) 12.2.0)"
        ));
    }

    #[test]
    fn the_powershell_steps_import_the_ca_and_add_hosts_only_when_needed() {
        let ca = Path::new("/home/ada/.local/share/kindling/tls/kindling/ca.crt");
        let hosts = vec!["demo.test".to_string(), "argocd.test".to_string()];
        let steps = windows_steps("Ubuntu-24.04", ca, "localhost", &hosts);
        assert_eq!(
            steps,
            [
                r"Import-Certificate -FilePath '\\wsl.localhost\Ubuntu-24.04\home\ada\.local\share\kindling\tls\kindling\ca.crt' -CertStoreLocation Cert:\CurrentUser\Root"
            ]
        );
        let steps = windows_steps("Ubuntu-24.04", ca, "test", &hosts);
        assert_eq!(steps.len(), 2);
        assert_eq!(
            steps[1],
            r#"Add-Content -Path "$env:windir\System32\drivers\etc\hosts" -Value '127.0.0.1 demo.test','127.0.0.1 argocd.test'  # as administrator"#
        );
        assert_eq!(
            windows_undo("kindling"),
            r"Get-ChildItem Cert:\CurrentUser\Root | Where-Object Subject -like '*CN=kindling local CA (kindling)*' | Remove-Item"
        );
    }
}
