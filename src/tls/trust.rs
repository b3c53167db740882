//! The host's trust store, one variant per platform family. Each change is a
//! short list of commands (so the same list runs as root, through sudo, or is
//! printed for the user); status is read without root.
//!
//! The commands follow each platform's documentation and mkcert's truststore_linux.go /
//! truststore_darwin.go (FiloSottile/mkcert 1c1dc4e), the reference for a local CA:
//! an anchors folder + the distribution's update tool on Linux, `security` on macOS.
//! Everything kindling adds carries the cluster's name (file name, certificate name), so
//! its trust can be found and removed from the cluster name alone.

use super::ca::{CaCert, common_name, common_name_of};
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
    /// openSUSE, SLES: a file in `anchors` (p11-kit's layout) + openSUSE's own
    /// `update-ca-certificates`, which is not Debian's.
    OpenSuse { anchors: PathBuf, bundle: PathBuf },
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
    pub fn opensuse() -> TrustStore {
        TrustStore::OpenSuse {
            anchors: "/usr/share/pki/trust/anchors".into(),
            bundle: "/var/lib/ca-certificates/ca-bundle.pem".into(),
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

    /// This host's store: macOS by build target; on Linux [`TrustStore::detect_linux`].
    pub fn detect(root: &Path) -> Option<TrustStore> {
        if cfg!(target_os = "macos") {
            return Some(TrustStore::macos());
        }
        TrustStore::detect_linux(root)
    }

    /// A Linux store by `<root>/etc/os-release` (ID, then ID_LIKE), else by which update
    /// tool exists under `root`.
    pub fn detect_linux(root: &Path) -> Option<TrustStore> {
        let os_release = std::fs::read_to_string(root.join("etc/os-release")).unwrap_or_default();
        TrustStore::from_os_release(&os_release).or_else(|| {
            let has = |p: &str| root.join(p).exists();
            if has("usr/share/pki/trust/anchors") && has("usr/sbin/update-ca-certificates") {
                Some(TrustStore::opensuse())
            } else if has("usr/sbin/update-ca-certificates") {
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
        let ids = os_release_ids(text);
        ids.iter().find_map(|id| match id.as_str() {
            "debian" | "ubuntu" => Some(TrustStore::debian()),
            "fedora" | "rhel" | "centos" | "rocky" | "almalinux" => Some(TrustStore::fedora()),
            "opensuse" | "opensuse-leap" | "opensuse-tumbleweed" | "suse" | "sles" => {
                Some(TrustStore::opensuse())
            }
            "arch" | "manjaro" => Some(TrustStore::arch()),
            _ => None,
        })
    }

    pub fn name(&self) -> &'static str {
        match self {
            TrustStore::Debian { .. } => "Debian/Ubuntu ca-certificates",
            TrustStore::Fedora { .. } => "Fedora/RHEL ca-trust",
            TrustStore::OpenSuse { .. } => "openSUSE ca-certificates",
            TrustStore::Arch { .. } => "p11-kit trust (Arch)",
            TrustStore::MacOs { .. } => "macOS System keychain",
        }
    }

    /// Whether the distribution's browsers read this store through p11-kit (Fedora replaces
    /// NSS's built-in roots module with p11-kit-trust), so no NSS database needs the CA.
    pub fn browsers_use_it(&self) -> bool {
        matches!(self, TrustStore::Fedora { .. })
    }

    /// The file kindling puts in an anchors directory; the cluster name keeps
    /// several kindling CAs (and test CAs) apart.
    pub fn anchor_path(&self, cluster: &str) -> Option<PathBuf> {
        match self {
            TrustStore::Debian { anchors, .. } | TrustStore::Fedora { anchors, .. } => {
                Some(anchors.join(format!("kindling-{cluster}.crt")))
            }
            // p11-kit reads PEM whatever the extension; openSUSE's documentation uses .pem.
            TrustStore::OpenSuse { anchors, .. } => {
                Some(anchors.join(format!("kindling-{cluster}.pem")))
            }
            TrustStore::Arch { .. } | TrustStore::MacOs { .. } => None,
        }
    }

    /// Commands that add `ca` to the store.
    pub fn trust_commands(&self, ca: &CaCert, cluster: &str) -> Vec<HostCommand> {
        let cert = ca.path.display().to_string();
        match self {
            TrustStore::Debian { .. } | TrustStore::Fedora { .. } | TrustStore::OpenSuse { .. } => {
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

    /// Commands that take `ca` (this cluster's anchor) out of the store again. `status` is
    /// what the store holds now: macOS's `remove-trusted-cert` fails where there is no trust
    /// setting to remove, so it runs only where there is one.
    pub fn untrust_commands(
        &self,
        ca: &CaCert,
        cluster: &str,
        status: &TrustStatus,
    ) -> Vec<HostCommand> {
        match self {
            TrustStore::Debian { .. } | TrustStore::Fedora { .. } | TrustStore::OpenSuse { .. } => {
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
                &["anchor", "--remove", &ca.path.display().to_string()],
            )],
            TrustStore::MacOs { keychain } => {
                let keychain = keychain.display().to_string();
                let mut commands = Vec::new();
                // The admin trust setting lives apart from the keychain item: deleting the
                // item alone leaves it behind (`security` man page: remove-trusted-cert -d
                // removes admin-domain settings; delete-certificate -t the user-domain ones).
                if status.trusted {
                    commands.push(HostCommand::new(
                        "security",
                        &["remove-trusted-cert", "-d", &ca.path.display().to_string()],
                    ));
                }
                if status.anchor_state != Some(AnchorState::Missing) {
                    commands.push(HostCommand::new(
                        "security",
                        &["delete-certificate", "-Z", &ca.sha1_hash(), "-t", &keychain],
                    ));
                }
                commands
            }
        }
    }

    fn update_command(&self) -> HostCommand {
        match self {
            TrustStore::Fedora { .. } => HostCommand::new("update-ca-trust", &["extract"]),
            _ => HostCommand::new("update-ca-certificates", &[]),
        }
    }

    /// The commands that read the macOS store (no root needed): the keychain items carrying
    /// the cluster's CA name (PEM), and the admin-domain trust settings.
    pub fn macos_status_commands(keychain: &Path, cluster: &str) -> [HostCommand; 2] {
        [
            HostCommand::new(
                "security",
                &[
                    "find-certificate",
                    "-a",
                    "-c",
                    &common_name(cluster),
                    "-p",
                    &keychain.display().to_string(),
                ],
            ),
            HostCommand::new("security", &["dump-trust-settings", "-d"]),
        ]
    }

    /// Whether the host trusts `ca` now, and whether kindling's anchor (file, or on macOS
    /// the keychain item) is there.
    pub fn status(&self, ca: &CaCert, cluster: &str) -> TrustStatus {
        match self {
            TrustStore::MacOs { keychain } => {
                let [find, dump] = TrustStore::macos_status_commands(keychain, cluster);
                let output = |c: &HostCommand| {
                    std::process::Command::new(&c.program)
                        .args(&c.args)
                        .output()
                        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
                        .unwrap_or_default()
                };
                macos_status(ca, cluster, keychain, &output(&find), &output(&dump))
            }
            _ => {
                let anchor = self.anchor_path(cluster);
                let anchor_state = anchor.as_ref().map(|path| anchor_state(path, &ca.der));
                let trusted = match self {
                    TrustStore::Debian { bundle, .. }
                    | TrustStore::Fedora { bundle, .. }
                    | TrustStore::OpenSuse { bundle, .. }
                    | TrustStore::Arch { bundle } => bundle_contains(bundle, &ca.der),
                    TrustStore::MacOs { .. } => unreachable!("handled above"),
                };
                TrustStatus {
                    trusted,
                    anchor,
                    anchor_state,
                }
            }
        }
    }

    /// The certificates (PEM) of `cluster`'s CA this store holds, found by name, for removing
    /// its trust when the data dir is gone: the anchor file, or the items named after it.
    pub fn installed(&self, cluster: &str) -> Vec<String> {
        let name = common_name(cluster);
        let named = |text: &str| -> Vec<String> {
            pem_blocks(text)
                .into_iter()
                .filter(|(_, der)| common_name_of(der).as_deref() == Some(name.as_str()))
                .map(|(pem, _)| pem)
                .collect()
        };
        match self {
            TrustStore::Debian { .. } | TrustStore::Fedora { .. } | TrustStore::OpenSuse { .. } => {
                let anchor = self.anchor_path(cluster).expect("anchors");
                std::fs::read_to_string(anchor)
                    .map(|t| pem_blocks(&t).into_iter().map(|(pem, _)| pem).collect())
                    .unwrap_or_default()
            }
            TrustStore::Arch { bundle } => {
                named(&std::fs::read_to_string(bundle).unwrap_or_default())
            }
            TrustStore::MacOs { keychain } => {
                let [find, _] = TrustStore::macos_status_commands(keychain, cluster);
                let out = std::process::Command::new(&find.program)
                    .args(&find.args)
                    .output()
                    .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
                    .unwrap_or_default();
                named(&out)
            }
        }
    }

    /// Environment variables for tools that ignore the system store, as `NAME=value` lines.
    pub fn tool_env(&self, ca: &CaCert) -> Vec<String> {
        let ca_path = ca.path.display();
        match self {
            TrustStore::Debian { bundle, .. }
            | TrustStore::Fedora { bundle, .. }
            | TrustStore::OpenSuse { bundle, .. }
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

/// ID then ID_LIKE of an /etc/os-release text, lowercase, in that order.
pub fn os_release_ids(text: &str) -> Vec<String> {
    let field = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
            .map(|v| v.trim().trim_matches('"').to_ascii_lowercase())
            .unwrap_or_default()
    };
    format!("{} {}", field("ID"), field("ID_LIKE"))
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

/// Every certificate (DER) in a PEM text.
pub fn pem_certificates(text: &str) -> Vec<Vec<u8>> {
    let mut reader = std::io::BufReader::new(text.as_bytes());
    rustls_pemfile::certs(&mut reader)
        .flatten()
        .map(|c| c.to_vec())
        .collect()
}

/// Every certificate in a text with other lines around (`security find-certificate -p`,
/// a bundle): each PEM block as written, with its DER.
pub fn pem_blocks(text: &str) -> Vec<(String, Vec<u8>)> {
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    let mut blocks = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(BEGIN) {
        let Some(len) = rest[start..].find(END) else {
            break;
        };
        let block = format!("{}\n", &rest[start..start + len + END.len()]);
        if let Some(der) = super::ca::pem_certificate(&block) {
            blocks.push((block, der));
        }
        rest = &rest[start + len + END.len()..];
    }
    blocks
}

fn anchor_state(path: &Path, der: &[u8]) -> AnchorState {
    match std::fs::read_to_string(path) {
        Ok(text) => match super::ca::pem_certificate(&text) {
            Some(found) if found == der => AnchorState::Current,
            _ => AnchorState::Other,
        },
        Err(_) => AnchorState::Missing,
    }
}

/// Whether a PEM bundle holds the certificate with this DER.
fn bundle_contains(bundle: &Path, der: &[u8]) -> bool {
    std::fs::read_to_string(bundle).is_ok_and(|t| pem_certificates(&t).iter().any(|c| c == der))
}

/// An admin-domain trust setting of a certificate, as `security dump-trust-settings -d`
/// prints it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrustSetting {
    /// Trusted: no usage constraints ("Number of trust settings : 0" means trusted for
    /// everything) or a TrustRoot / TrustAsRoot result.
    Trusted,
    /// Every result is Deny (or Unspecified): "Never Trust".
    NotTrusted,
}

/// The admin trust setting of the certificate named `name` in `security dump-trust-settings
/// -d` output: sections `Cert N: <name>`, each with `Number of trust settings : K` and, per
/// setting, a `Result Type : kSecTrustSettingsResult…` line (absent results mean TrustRoot).
pub fn admin_trust_setting(dump: &str, name: &str) -> Option<TrustSetting> {
    let mut found = None;
    let mut in_section = false;
    let mut settings: Option<usize> = None;
    let mut results: Vec<String> = Vec::new();
    let verdict = |settings: Option<usize>, results: &[String]| {
        let trusting = |r: &String| r.contains("TrustRoot") || r.contains("TrustAsRoot");
        if settings == Some(0) || results.iter().any(trusting) {
            TrustSetting::Trusted
        } else if settings.unwrap_or(0) > results.len() {
            // A setting without a Result Type line defaults to TrustRoot.
            TrustSetting::Trusted
        } else {
            TrustSetting::NotTrusted
        }
    };
    for line in dump.lines() {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("Cert ")
            && let Some((_, cert_name)) = rest.split_once(':')
        {
            if in_section {
                found = Some(verdict(settings, &results));
            }
            in_section = cert_name.trim() == name;
            settings = None;
            results.clear();
            continue;
        }
        if !in_section {
            continue;
        }
        if let Some((key, value)) = line.split_once(':') {
            match key.trim() {
                "Number of trust settings" => settings = value.trim().parse().ok(),
                "Result Type" => results.push(value.trim().to_string()),
                _ => {}
            }
        }
    }
    if in_section {
        found = Some(verdict(settings, &results));
    }
    found
}

/// The macOS status from the two commands' outputs: the keychain items named after the
/// cluster (is ours among them?) and the admin trust setting under that name.
pub fn macos_status(
    ca: &CaCert,
    cluster: &str,
    keychain: &Path,
    find_output: &str,
    dump_output: &str,
) -> TrustStatus {
    let items = pem_certificates(find_output);
    let anchor_state = if items.contains(&ca.der) {
        AnchorState::Current
    } else if items.is_empty() {
        AnchorState::Missing
    } else {
        AnchorState::Other
    };
    let setting = admin_trust_setting(dump_output, &common_name(cluster));
    TrustStatus {
        trusted: anchor_state == AnchorState::Current && setting == Some(TrustSetting::Trusted),
        anchor: Some(keychain.to_path_buf()),
        anchor_state: Some(anchor_state),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnchorState {
    /// kindling's anchor file (macOS: a keychain item of this name) holds the current CA.
    Current,
    /// It holds another certificate (an older CA before `--rotate`).
    Other,
    Missing,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustStatus {
    /// The system bundle (macOS: the keychain item with an admin trust setting) trusts the
    /// current CA.
    pub trusted: bool,
    /// kindling's anchor file (stores that use one; macOS: the keychain).
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

    /// /etc/os-release as openSUSE Tumbleweed, Leap and SLES ship it: not Debian's layout.
    #[test]
    fn opensuse_uses_its_own_anchors_and_update_tool() {
        for text in [
            "NAME=\"openSUSE Tumbleweed\"\nID=\"opensuse-tumbleweed\"\nID_LIKE=\"opensuse suse\"\n",
            "NAME=\"openSUSE Leap\"\nVERSION=\"15.6\"\nID=\"opensuse-leap\"\nID_LIKE=\"suse opensuse\"\n",
            "NAME=\"SLES\"\nID=\"sles\"\nID_LIKE=\"suse\"\n",
        ] {
            assert_eq!(
                TrustStore::from_os_release(text),
                Some(TrustStore::opensuse()),
                "{text}"
            );
        }
        let store = TrustStore::opensuse();
        assert_eq!(
            store.anchor_path("kindling"),
            Some(PathBuf::from(
                "/usr/share/pki/trust/anchors/kindling-kindling.pem"
            ))
        );
        let ca = CaCert {
            path: "/data/ca.crt".into(),
            der: vec![1, 2, 3],
        };
        let render =
            |c: Vec<HostCommand>| -> Vec<String> { c.iter().map(|c| c.render(&[])).collect() };
        assert_eq!(
            render(store.trust_commands(&ca, "kindling")),
            [
                "install -D -m 0644 /data/ca.crt /usr/share/pki/trust/anchors/kindling-kindling.pem",
                "update-ca-certificates"
            ]
        );
        let status = store.status(&ca, "kindling");
        assert_eq!(
            render(store.untrust_commands(&ca, "kindling", &status)),
            [
                "rm -f /usr/share/pki/trust/anchors/kindling-kindling.pem",
                "update-ca-certificates"
            ]
        );
    }

    #[test]
    fn detect_falls_back_to_the_tools_present() {
        let root = tempfile::tempdir().unwrap();
        assert_eq!(TrustStore::detect_linux(root.path()), None);
        std::fs::create_dir_all(root.path().join("usr/bin")).unwrap();
        std::fs::write(root.path().join("usr/bin/update-ca-trust"), "").unwrap();
        assert_eq!(
            TrustStore::detect_linux(root.path()),
            Some(TrustStore::fedora())
        );
        let suse = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(suse.path().join("usr/sbin")).unwrap();
        std::fs::create_dir_all(suse.path().join("usr/share/pki/trust/anchors")).unwrap();
        std::fs::write(suse.path().join("usr/sbin/update-ca-certificates"), "").unwrap();
        assert_eq!(
            TrustStore::detect_linux(suse.path()),
            Some(TrustStore::opensuse())
        );
    }

    /// `security dump-trust-settings -d` as macOS prints it (format of the security tool's
    /// trust_settings_dump; "Number of trust settings : 0" = trusted for every use).
    const DUMP: &str = "Number of trusted certs = 3
Cert 0: Corp Proxy CA
   Number of trust settings : 0
Cert 1: kindling local CA (kindling)
   Number of trust settings : 1
   Trust Setting 0:
      Policy OID            : SSL
      Allowed Error         : CSSMERR_TP_CERT_EXPIRED
      Result Type           : kSecTrustSettingsResultTrustRoot
Cert 2: kindling local CA (other)
   Number of trust settings : 1
   Trust Setting 0:
      Policy OID            : SSL
      Result Type           : kSecTrustSettingsResultDeny
";

    #[test]
    fn the_macos_trust_setting_is_read_by_name() {
        assert_eq!(
            admin_trust_setting(DUMP, "kindling local CA (kindling)"),
            Some(TrustSetting::Trusted)
        );
        assert_eq!(
            admin_trust_setting(DUMP, "kindling local CA (other)"),
            Some(TrustSetting::NotTrusted)
        );
        assert_eq!(
            admin_trust_setting(DUMP, "Corp Proxy CA"),
            Some(TrustSetting::Trusted)
        );
        assert_eq!(admin_trust_setting(DUMP, "kindling local CA (kind)"), None);
        // What `security` prints when the admin domain has no settings at all.
        assert_eq!(
            admin_trust_setting(
                "SecTrustSettingsCopyCertificates: No Trust Settings were found.",
                "kindling local CA (kindling)"
            ),
            None
        );
    }
}
