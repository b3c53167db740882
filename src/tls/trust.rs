//! The host's trust store, one variant per platform family. Each change is a
//! short list of commands (so the same list runs as root, through sudo, or is
//! printed for the user); status is read without root.

use super::ca::Ca;
use crate::hosts::elevate::{HostCommand, Privilege};
use std::path::{Path, PathBuf};

/// Where and how this host keeps its trusted CAs. Paths are fields so tests and
/// unusual layouts can point elsewhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrustStore {
    /// Debian, Ubuntu: a file in `anchors` + `update-ca-certificates`; result in `bundle`.
    Debian { anchors: PathBuf, bundle: PathBuf },
    /// Fedora, RHEL, CentOS: a file in `anchors` + `update-ca-trust`.
    Fedora { anchors: PathBuf, bundle: PathBuf },
    /// Arch: p11-kit's `trust anchor` (it keeps its own copy).
    Arch { bundle: PathBuf },
    /// macOS: the System keychain through `security`.
    MacOs { keychain: PathBuf },
}

impl TrustStore {
    pub fn debian() -> TrustStore {
        TrustStore::Debian {
            anchors: "/usr/local/share/ca-certificates".into(),
            bundle: "/etc/ssl/certs/ca-certificates.crt".into(),
        }
    }
    pub fn fedora() -> TrustStore {
        TrustStore::Fedora {
            anchors: "/etc/pki/ca-trust/source/anchors".into(),
            bundle: "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem".into(),
        }
    }
    pub fn arch() -> TrustStore {
        TrustStore::Arch {
            bundle: "/etc/ssl/certs/ca-certificates.crt".into(),
        }
    }
    pub fn macos() -> TrustStore {
        TrustStore::MacOs {
            keychain: "/Library/Keychains/System.keychain".into(),
        }
    }

    /// This host's store: macOS by build target; on Linux by `<root>/etc/os-release`
    /// (ID, then ID_LIKE), else by which update tool exists under `root`.
    pub fn detect(root: &Path) -> Option<TrustStore> {
        if cfg!(target_os = "macos") {
            return Some(TrustStore::macos());
        }
        let os_release = std::fs::read_to_string(root.join("etc/os-release")).unwrap_or_default();
        TrustStore::from_os_release(&os_release).or_else(|| {
            let has = |p: &str| root.join(p).exists();
            if has("usr/sbin/update-ca-certificates") {
                Some(TrustStore::debian())
            } else if has("usr/bin/update-ca-trust") {
                Some(TrustStore::fedora())
            } else if has("usr/bin/trust") {
                Some(TrustStore::arch())
            } else {
                None
            }
        })
    }

    /// The store for an /etc/os-release text, if its family is known.
    pub fn from_os_release(text: &str) -> Option<TrustStore> {
        let field = |key: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
                .map(|v| v.trim().trim_matches('"').to_ascii_lowercase())
                .unwrap_or_default()
        };
        let ids = format!("{} {}", field("ID"), field("ID_LIKE"));
        ids.split_whitespace().find_map(|id| match id {
            "debian" | "ubuntu" => Some(TrustStore::debian()),
            "fedora" | "rhel" | "centos" | "rocky" | "almalinux" => Some(TrustStore::fedora()),
            "arch" | "manjaro" => Some(TrustStore::arch()),
            _ => None,
        })
    }

    pub fn name(&self) -> &'static str {
        match self {
            TrustStore::Debian { .. } => "Debian/Ubuntu ca-certificates",
            TrustStore::Fedora { .. } => "Fedora/RHEL ca-trust",
            TrustStore::Arch { .. } => "p11-kit trust (Arch)",
            TrustStore::MacOs { .. } => "macOS System keychain",
        }
    }

    /// The file kindling puts in an anchors directory; the cluster name keeps
    /// several kindling CAs (and test CAs) apart.
    pub fn anchor_path(&self, cluster: &str) -> Option<PathBuf> {
        match self {
            TrustStore::Debian { anchors, .. } | TrustStore::Fedora { anchors, .. } => {
                Some(anchors.join(format!("kindling-{cluster}.crt")))
            }
            TrustStore::Arch { .. } | TrustStore::MacOs { .. } => None,
        }
    }

    /// Commands that add `ca` to the store.
    pub fn trust_commands(&self, ca: &Ca, cluster: &str) -> Vec<HostCommand> {
        let cert = ca.cert_path.display().to_string();
        match self {
            TrustStore::Debian { .. } | TrustStore::Fedora { .. } => {
                let anchor = self.anchor_path(cluster).expect("anchors");
                let anchor = anchor.display().to_string();
                vec![
                    HostCommand::new("install", &["-D", "-m", "0644", &cert, &anchor]),
                    self.update_command(),
                ]
            }
            TrustStore::Arch { .. } => {
                vec![HostCommand::new("trust", &["anchor", "--store", &cert])]
            }
            TrustStore::MacOs { keychain } => vec![HostCommand::new(
                "security",
                &[
                    "add-trusted-cert",
                    "-d",
                    "-r",
                    "trustRoot",
                    "-k",
                    &keychain.display().to_string(),
                    &cert,
                ],
            )],
        }
    }

    /// Commands that take `ca` (this cluster's anchor) out of the store again.
    pub fn untrust_commands(&self, ca: &Ca, cluster: &str) -> Vec<HostCommand> {
        match self {
            TrustStore::Debian { .. } | TrustStore::Fedora { .. } => {
                let anchor = self.anchor_path(cluster).expect("anchors");
                let update = match self {
                    // Without --fresh, Debian's tool regenerates the bundle but leaves
                    // the hash symlinks to the removed file behind.
                    TrustStore::Debian { .. } => {
                        HostCommand::new("update-ca-certificates", &["--fresh"])
                    }
                    _ => self.update_command(),
                };
                vec![
                    HostCommand::new("rm", &["-f", &anchor.display().to_string()]),
                    update,
                ]
            }
            TrustStore::Arch { .. } => vec![HostCommand::new(
                "trust",
                &["anchor", "--remove", &ca.cert_path.display().to_string()],
            )],
            TrustStore::MacOs { keychain } => vec![HostCommand::new(
                "security",
                &[
                    "delete-certificate",
                    "-Z",
                    &ca.sha1_hash(),
                    &keychain.display().to_string(),
                ],
            )],
        }
    }

    fn update_command(&self) -> HostCommand {
        match self {
            TrustStore::Fedora { .. } => HostCommand::new("update-ca-trust", &["extract"]),
            _ => HostCommand::new("update-ca-certificates", &[]),
        }
    }

    /// Whether the host trusts `ca` now, and whether kindling's anchor file is there.
    pub fn status(&self, ca: &Ca, cluster: &str) -> TrustStatus {
        let anchor = self.anchor_path(cluster);
        let anchor_state = anchor
            .as_ref()
            .map(|path| match std::fs::read_to_string(path) {
                Ok(text) => match super::ca::pem_certificate(&text) {
                    Some(der) if der == ca.cert_der() => AnchorState::Current,
                    _ => AnchorState::Other,
                },
                Err(_) => AnchorState::Missing,
            });
        let trusted = match self {
            TrustStore::Debian { bundle, .. }
            | TrustStore::Fedora { bundle, .. }
            | TrustStore::Arch { bundle } => bundle_contains(bundle, ca.cert_der()),
            TrustStore::MacOs { .. } => std::process::Command::new("security")
                .args(["verify-cert", "-c"])
                .arg(&ca.cert_path)
                .output()
                .is_ok_and(|o| o.status.success()),
        };
        TrustStatus {
            trusted,
            anchor,
            anchor_state,
        }
    }

    /// Environment variables for tools that ignore the system store, as `NAME=value` lines.
    pub fn tool_env(&self, ca: &Ca) -> Vec<String> {
        let ca_path = ca.cert_path.display();
        match self {
            TrustStore::Debian { bundle, .. }
            | TrustStore::Fedora { bundle, .. }
            | TrustStore::Arch { bundle } => {
                let bundle = bundle.display();
                vec![
                    format!(
                        "NODE_EXTRA_CA_CERTS={ca_path}  # Node.js: adds the CA to its built-in list"
                    ),
                    format!("REQUESTS_CA_BUNDLE={bundle}  # Python requests (certifi otherwise)"),
                    format!("SSL_CERT_FILE={bundle}  # OpenSSL-based tools with their own bundle"),
                    format!("CURL_CA_BUNDLE={bundle}  # curl builds with their own bundle"),
                ]
            }
            TrustStore::MacOs { .. } => vec![
                format!(
                    "NODE_EXTRA_CA_CERTS={ca_path}  # Node.js: adds the CA to its built-in list"
                ),
                format!(
                    "SSL_CERT_FILE={ca_path}  # OpenSSL/Python: trusts only kindling's names in that shell"
                ),
            ],
        }
    }
}

/// Whether a PEM bundle holds the certificate with this DER.
fn bundle_contains(bundle: &Path, der: &[u8]) -> bool {
    let Ok(text) = std::fs::read(bundle) else {
        return false;
    };
    let mut reader = std::io::BufReader::new(text.as_slice());
    rustls_pemfile::certs(&mut reader)
        .flatten()
        .any(|c| c.as_ref() == der)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnchorState {
    /// kindling's anchor file holds the current CA.
    Current,
    /// It holds another certificate (an older CA before `--rotate`).
    Other,
    Missing,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustStatus {
    /// The system bundle (or keychain) trusts the current CA.
    pub trusted: bool,
    /// kindling's anchor file (stores that use one).
    pub anchor: Option<PathBuf>,
    pub anchor_state: Option<AnchorState>,
}

impl TrustStatus {
    /// Trusted, and nothing of an older CA left in kindling's anchor file.
    pub fn is_current(&self) -> bool {
        self.trusted && self.anchor_state.is_none_or(|s| s == AnchorState::Current)
    }

    /// Nothing of kindling's left in the store (for this cluster).
    pub fn is_clean(&self) -> bool {
        !self.trusted && self.anchor_state.is_none_or(|s| s == AnchorState::Missing)
    }
}

/// Runs `commands` with `privilege`; errors carry the command and its output.
pub(super) fn run_all(
    commands: &[HostCommand],
    privilege: &Privilege,
) -> Result<(), (String, String)> {
    for command in commands {
        let line = command.render(&privilege.prefix());
        match command.run(privilege) {
            Ok(r) if r.success => {}
            Ok(r) => return Err((line, r.output)),
            Err(e) => return Err((line, e.to_string())),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_release_picks_the_family() {
        let debian = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\n";
        assert_eq!(
            TrustStore::from_os_release(debian),
            Some(TrustStore::debian())
        );
        let ubuntu = "ID=ubuntu\nID_LIKE=debian\n";
        assert_eq!(
            TrustStore::from_os_release(ubuntu),
            Some(TrustStore::debian())
        );
        let rhel = "ID=\"rhel\"\nID_LIKE=\"fedora\"\n";
        assert_eq!(
            TrustStore::from_os_release(rhel),
            Some(TrustStore::fedora())
        );
        let mint = "ID=linuxmint\nID_LIKE=\"ubuntu debian\"\n";
        assert_eq!(
            TrustStore::from_os_release(mint),
            Some(TrustStore::debian())
        );
        assert_eq!(
            TrustStore::from_os_release("ID=arch\n"),
            Some(TrustStore::arch())
        );
        assert_eq!(TrustStore::from_os_release("ID=alpine\n"), None);
    }

    #[test]
    fn detect_falls_back_to_the_tools_present() {
        let root = tempfile::tempdir().unwrap();
        assert_eq!(TrustStore::detect(root.path()), None);
        std::fs::create_dir_all(root.path().join("usr/bin")).unwrap();
        std::fs::write(root.path().join("usr/bin/update-ca-trust"), "").unwrap();
        assert_eq!(TrustStore::detect(root.path()), Some(TrustStore::fedora()));
    }
}
