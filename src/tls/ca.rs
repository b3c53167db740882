//! The local CA: made once, kept in the data dir, reused (regenerating would
//! break the trust the host already gives it), replaced only on `--rotate`.
//!
//! Its name constraints limit it to the platform's names (the configured domain,
//! `localhost`, loopback IPs), so trusting it cannot help impersonate other sites.

use super::TlsError;
use super::files::{lock_dir, write_file_atomic};
use rcgen::{
    BasicConstraints, CertificateParams, CidrSubnet, DnType, GeneralSubtree, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, NameConstraints, PKCS_ECDSA_P256_SHA256,
};
use sha2::Digest;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use time::{Duration, OffsetDateTime};

/// Ten years: long enough that nobody has to re-trust it during a project's life.
const CA_VALIDITY: Duration = Duration::days(3650);

/// File names inside the CA directory.
pub const CERT_FILE: &str = "ca.crt";
pub const KEY_FILE: &str = "ca.key";

/// The CA's common name: also the name trust stores list it under (macOS keychain, NSS
/// nickname), so its trust can be found and removed from the cluster name alone.
pub fn common_name(cluster: &str) -> String {
    format!("kindling local CA ({cluster})")
}

/// The common name of a DER certificate, if it parses.
pub fn common_name_of(der: &[u8]) -> Option<String> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    let cn = cert.subject().iter_common_name().next()?.as_str().ok()?;
    Some(cn.to_string())
}

/// What a trust store needs of a CA: its certificate as a file and as DER. From a loaded
/// [`Ca`], or recovered from the store itself when the data dir is gone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaCert {
    pub path: PathBuf,
    pub der: Vec<u8>,
}

impl CaCert {
    /// SHA-1 of the certificate, uppercase hex: how macOS's `security` names it.
    pub fn sha1_hash(&self) -> String {
        let digest = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, &self.der);
        hex::encode_upper(digest.as_ref())
    }
}

/// Where a cluster's CA lives: `<data dir>/tls/<cluster>/`.
pub fn ca_dir(data_dir: &Path, cluster: &str) -> PathBuf {
    data_dir.join("tls").join(cluster)
}

/// A loaded CA: certificate and signing key. The key is never printed (Debug elides it).
pub struct Ca {
    pub cert_path: PathBuf,
    pub key_path: PathBuf,
    pub cert_pem: String,
    cert_der: Vec<u8>,
    key: KeyPair,
    /// The DNS subtrees the certificate permits (e.g. ["local", "localhost"]).
    pub permitted_dns: Vec<String>,
}

impl std::fmt::Debug for Ca {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ca")
            .field("cert_path", &self.cert_path)
            .field("fingerprint", &self.fingerprint())
            .field("permitted_dns", &self.permitted_dns)
            .finish_non_exhaustive()
    }
}

impl Ca {
    /// SHA-256 of the certificate (DER), lowercase hex: what identifies this CA.
    pub fn fingerprint(&self) -> String {
        hex::encode(sha2::Sha256::digest(&self.cert_der))
    }

    /// SHA-1 of the certificate, uppercase hex: how macOS's `security` names it.
    pub fn sha1_hash(&self) -> String {
        self.cert().sha1_hash()
    }

    /// The certificate alone, as trust stores take it.
    pub fn cert(&self) -> CaCert {
        CaCert {
            path: self.cert_path.clone(),
            der: self.cert_der.clone(),
        }
    }

    pub fn cert_der(&self) -> &[u8] {
        &self.cert_der
    }

    /// The private key as PKCS#8 PEM: only for the cluster Secret, never for logs.
    pub fn key_pem(&self) -> String {
        self.key.serialize_pem()
    }

    /// An rcgen issuer that signs leaf certificates with this CA.
    pub fn issuer(&self) -> Result<Issuer<'static, &KeyPair>, TlsError> {
        Issuer::from_ca_cert_pem(&self.cert_pem, &self.key).map_err(|e| TlsError::Certificate {
            what: "reading the CA certificate for signing".into(),
            source: e,
        })
    }

    /// Whether this CA may issue for every name under `domain`.
    pub fn covers_domain(&self, domain: &str) -> bool {
        self.permitted_dns.iter().any(|base| {
            let base = base.trim_start_matches('.');
            domain == base || domain.ends_with(&format!(".{base}"))
        })
    }
}

/// What `ensure` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaAction {
    Created,
    Reused,
    Rotated,
}

/// Makes sure the CA for `cluster` exists in `dir`, limited to `domain`; with
/// `rotate`, replaces it. Holds a lock so two runs cannot mix a key and a cert.
pub fn ensure(
    dir: &Path,
    cluster: &str,
    domain: &str,
    rotate: bool,
) -> Result<(Ca, CaAction), TlsError> {
    create_private_dir(dir)?;
    let _lock = lock_dir(dir)?;
    let action = if rotate {
        // Rotation also replaces damaged files: that is the way out the error hints at.
        if dir.join(KEY_FILE).exists() || dir.join(CERT_FILE).exists() {
            CaAction::Rotated
        } else {
            CaAction::Created
        }
    } else {
        match load(dir)? {
            Some(ca) if !ca.covers_domain(domain) => {
                return Err(TlsError::DomainNotCovered {
                    path: ca.cert_path.clone(),
                    permitted: ca.permitted_dns.clone(),
                    domain: domain.to_string(),
                });
            }
            Some(ca) => return Ok((ca, CaAction::Reused)),
            None => CaAction::Created,
        }
    };
    generate(dir, cluster, domain)?;
    let ca = load(dir)?.ok_or_else(|| TlsError::CorruptCa {
        path: dir.to_path_buf(),
        why: "the CA just written cannot be read back".into(),
    })?;
    Ok((ca, action))
}

/// Reads the CA in `dir`: None when neither file exists, an error (never a silent
/// overwrite) when they are damaged, mismatched, or only one exists.
pub fn load(dir: &Path) -> Result<Option<Ca>, TlsError> {
    let cert_path = dir.join(CERT_FILE);
    let key_path = dir.join(KEY_FILE);
    let corrupt = |path: &Path, why: String| TlsError::CorruptCa {
        path: path.to_path_buf(),
        why,
    };
    match (cert_path.exists(), key_path.exists()) {
        (false, false) => return Ok(None),
        (true, false) => return Err(corrupt(&key_path, "the private key is missing".into())),
        (false, true) => return Err(corrupt(&cert_path, "the certificate is missing".into())),
        (true, true) => {}
    }
    let read = |path: &Path| {
        std::fs::read_to_string(path).map_err(|e| TlsError::Io {
            what: "reading the CA".into(),
            path: path.to_path_buf(),
            source: e,
        })
    };
    let cert_pem = read(&cert_path)?;
    let key_text = read(&key_path)?;
    check_key_mode(&key_path)?;

    let cert_der = pem_certificate(&cert_pem)
        .ok_or_else(|| corrupt(&cert_path, "no PEM certificate in the file".into()))?;
    let (_, cert) = x509_parser::parse_x509_certificate(&cert_der)
        .map_err(|e| corrupt(&cert_path, format!("not an X.509 certificate: {e}")))?;
    if !cert.is_ca() {
        return Err(corrupt(&cert_path, "the certificate is not a CA".into()));
    }
    let key = KeyPair::from_pem(&key_text)
        .map_err(|e| corrupt(&key_path, format!("not a private key: {e}")))?;
    if key.public_key_raw() != cert.public_key().subject_public_key.data.as_ref() {
        return Err(corrupt(
            &key_path,
            "the private key does not belong to the certificate".into(),
        ));
    }
    let permitted_dns = permitted_dns(&cert)
        .ok_or_else(|| corrupt(&cert_path, "the CA has no DNS name constraints".into()))?;
    Ok(Some(Ca {
        cert_path,
        key_path,
        cert_pem,
        cert_der,
        key,
        permitted_dns,
    }))
}

/// The DER of the first CERTIFICATE block in a PEM text.
pub fn pem_certificate(text: &str) -> Option<Vec<u8>> {
    let mut reader = std::io::BufReader::new(text.as_bytes());
    rustls_pemfile::certs(&mut reader)
        .next()?
        .ok()
        .map(|c| c.to_vec())
}

fn permitted_dns(cert: &x509_parser::certificate::X509Certificate<'_>) -> Option<Vec<String>> {
    let constraints = cert.name_constraints().ok()??;
    let names: Vec<String> = constraints
        .value
        .permitted_subtrees
        .iter()
        .flatten()
        .filter_map(|s| match s.base {
            x509_parser::extensions::GeneralName::DNSName(name) => Some(name.to_string()),
            _ => None,
        })
        .collect();
    (!names.is_empty()).then_some(names)
}

/// A key readable by others was not written by kindling (it creates 0600): refuse.
fn check_key_mode(path: &Path) -> Result<(), TlsError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)
        .map_err(|e| TlsError::Io {
            what: "reading the CA key's permissions".into(),
            path: path.to_path_buf(),
            source: e,
        })?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        return Err(TlsError::KeyExposed {
            path: path.to_path_buf(),
            mode: mode & 0o777,
        });
    }
    Ok(())
}

fn create_private_dir(dir: &Path) -> Result<(), TlsError> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| TlsError::Io {
            what: "creating the CA directory".into(),
            path: dir.to_path_buf(),
            source: e,
        })
}

/// The certificate parameters of a kindling CA for `domain`.
fn ca_params(cluster: &str, domain: &str) -> Result<CertificateParams, TlsError> {
    let mut params = CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::CommonName, common_name(cluster));
    params
        .distinguished_name
        .push(DnType::OrganizationName, "kindling");
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let now = OffsetDateTime::now_utc();
    // A day of slack for clocks that lag (VMs, containers after suspend).
    params.not_before = now - Duration::days(1);
    params.not_after = now + CA_VALIDITY;
    params.name_constraints = Some(NameConstraints {
        permitted_subtrees: vec![
            GeneralSubtree::DnsName(domain.to_string()),
            GeneralSubtree::DnsName("localhost".into()),
            GeneralSubtree::IpAddress(CidrSubnet::from_addr_prefix(
                IpAddr::V4(Ipv4Addr::LOCALHOST),
                32,
            )),
            GeneralSubtree::IpAddress(CidrSubnet::from_addr_prefix(
                IpAddr::V6(Ipv6Addr::LOCALHOST),
                128,
            )),
        ],
        excluded_subtrees: Vec::new(),
    });
    // With domain = "localhost" the two DNS subtrees are the same: keep one.
    if domain == "localhost"
        && let Some(nc) = params.name_constraints.as_mut()
    {
        nc.permitted_subtrees.remove(1);
    }
    params.use_authority_key_identifier_extension = false;
    Ok(params)
}

fn generate(dir: &Path, cluster: &str, domain: &str) -> Result<(), TlsError> {
    let rcgen_error = |what: &str| {
        let what = what.to_string();
        move |e| TlsError::Certificate { what, source: e }
    };
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)
        .map_err(rcgen_error("generating the CA key"))?;
    let cert = ca_params(cluster, domain)?
        .self_signed(&key)
        .map_err(rcgen_error("signing the CA certificate"))?;
    // Key first: a cert without its key is detected as damaged, never used.
    write_file_atomic(&dir.join(KEY_FILE), key.serialize_pem().as_bytes(), 0o600)?;
    write_file_atomic(&dir.join(CERT_FILE), cert.pem().as_bytes(), 0o644)?;
    Ok(())
}
