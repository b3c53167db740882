//! The local CA for real: files and modes, reuse and rotation, damaged files,
//! leaves verified by the real openssl and by rustls/webpki, a real TLS handshake,
//! and the name constraints that keep the CA from vouching for other sites.

mod support;

use kindling::config::{Config, Settings};
use kindling::report::{NullReporter, SharedReporter};
use kindling::tls::{self, Ca, issue_leaf};
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::ServerCertVerifier;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;

fn settings(data_dir: &Path, cluster: &str, domain: &str) -> Settings {
    let mut config = Config::builtin();
    config.cluster.name = cluster.into();
    config.network.domain = domain.into();
    Settings {
        config,
        source: None,
        data_dir: data_dir.to_path_buf(),
        cache_dir: data_dir.join("cache"),
    }
}

fn reporter() -> SharedReporter {
    Arc::new(NullReporter)
}

fn new_ca(domain: &str) -> (tempfile::TempDir, Ca) {
    let dir = tempfile::tempdir().unwrap();
    let ca = tls::ensure_ca(&settings(dir.path(), "t", domain), &reporter(), false).unwrap();
    (dir, ca)
}

fn der(pem: &str) -> CertificateDer<'static> {
    CertificateDer::from(tls::ca::pem_certificate(pem).unwrap())
}

fn openssl_verify(ca: &Ca, leaf_pem: &str, dir: &Path) -> (bool, String) {
    let leaf = dir.join("leaf.pem");
    std::fs::write(&leaf, leaf_pem).unwrap();
    let out = Command::new("openssl")
        .arg("verify")
        .arg("-CAfile")
        .arg(&ca.cert_path)
        .arg(&leaf)
        .output()
        .expect("openssl runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn webpki_verify(ca: &Ca, leaf_pem: &str, name: &str) -> Result<(), rustls::Error> {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from(ca.cert_der().to_vec()))
        .unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
        .build()
        .unwrap();
    verifier
        .verify_server_cert(
            &der(leaf_pem),
            &[],
            &ServerName::try_from(name.to_string()).unwrap(),
            &[],
            UnixTime::now(),
        )
        .map(|_| ())
}

#[test]
fn ca_is_p256_long_lived_and_name_constrained_critically() {
    let (_dir, ca) = new_ca("local");
    let (_, cert) = x509_parser::parse_x509_certificate(ca.cert_der()).unwrap();
    assert!(cert.is_ca());
    assert_eq!(
        cert.public_key().algorithm.algorithm.to_id_string(),
        "1.2.840.10045.2.1",
        "EC public key"
    );
    let years = (cert.validity().not_after.timestamp() - cert.validity().not_before.timestamp())
        / (365 * 24 * 3600);
    assert!(years >= 9, "validity {years} years");
    let nc = cert.name_constraints().unwrap().expect("name constraints");
    assert!(nc.critical, "name constraints must be critical");
    let permitted: Vec<String> = nc
        .value
        .permitted_subtrees
        .as_ref()
        .unwrap()
        .iter()
        .map(|s| format!("{}", s.base))
        .collect();
    assert_eq!(permitted.len(), 4, "{permitted:?}");
    assert!(
        permitted
            .iter()
            .any(|p| p.contains("local") && !p.contains("localhost"))
    );
    assert!(permitted.iter().any(|p| p.contains("localhost")));
    assert_eq!(
        ca.permitted_dns,
        vec!["local".to_string(), "localhost".to_string()]
    );
}

/// The default domain is `localhost`: the CA is limited to it (one DNS subtree) and the
/// platform's names under it verify, while a `.local` name does not.
#[test]
fn the_default_localhost_domain_is_inside_the_name_constraints() {
    let domain = Config::builtin().network.domain;
    assert_eq!(domain, "localhost");
    let (dir, ca) = new_ca(&domain);
    assert_eq!(ca.permitted_dns, vec!["localhost".to_string()]);
    let hosts = Config::builtin().ingress_hosts();
    let names: Vec<&str> = hosts.iter().map(String::as_str).collect();
    assert!(names.contains(&"demo.localhost"), "{names:?}");
    let (leaf, _) = issue_leaf(&ca, &names).unwrap();
    let (ok, text) = openssl_verify(&ca, &leaf, dir.path());
    assert!(ok, "openssl rejected {names:?}: {text}");
    let (leaf, _) = issue_leaf(&ca, &["demo.local"]).unwrap();
    let (ok, _) = openssl_verify(&ca, &leaf, dir.path());
    assert!(!ok, "demo.local is outside a localhost CA");
}

#[test]
fn leaf_for_the_domain_verifies_and_other_names_are_rejected_by_openssl() {
    let (dir, ca) = new_ca("local");
    let (leaf, _) = issue_leaf(&ca, &["demo.local"]).unwrap();
    let (ok, text) = openssl_verify(&ca, &leaf, dir.path());
    assert!(ok, "openssl rejected demo.local: {text}");

    let (leaf, _) = issue_leaf(&ca, &["localhost", "127.0.0.1", "::1"]).unwrap();
    let (ok, text) = openssl_verify(&ca, &leaf, dir.path());
    assert!(ok, "openssl rejected localhost/loopback: {text}");

    for outside in [
        &["example.com"][..],
        &["demo.local", "example.com"],
        &["10.0.0.1"],
    ] {
        let (leaf, _) = issue_leaf(&ca, outside).unwrap();
        let (ok, text) = openssl_verify(&ca, &leaf, dir.path());
        assert!(!ok, "openssl accepted {outside:?}");
        assert!(text.contains("subtree violation"), "{outside:?}: {text}");
    }
}

#[test]
fn leaf_for_the_domain_verifies_and_other_names_are_rejected_by_webpki() {
    let (_dir, ca) = new_ca("test");
    let (leaf, _) = issue_leaf(&ca, &["demo.test"]).unwrap();
    webpki_verify(&ca, &leaf, "demo.test").expect("webpki accepts demo.test");

    let (leaf, _) = issue_leaf(&ca, &["example.com"]).unwrap();
    let err = webpki_verify(&ca, &leaf, "example.com").expect_err("webpki accepted example.com");
    assert!(format!("{err:?}").contains("NameConstraint"), "{err:?}");
}

#[test]
fn real_tls_handshake_with_sni_succeeds_and_fails_outside_the_constraints() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let (_dir, ca) = new_ca("local");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        assert_eq!(handshake(&ca, "demo.local").await.unwrap(), "pong");
        let err = handshake(&ca, "example.com")
            .await
            .expect_err("example.com accepted");
        assert!(err.contains("NameConstraint"), "{err}");
    });
}

/// A tokio-rustls server on 127.0.0.1 with a leaf for `name`; a client trusting
/// only the CA connects with SNI `name`, sends ping, reads the answer.
async fn handshake(ca: &Ca, name: &str) -> Result<String, String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let (leaf, key) = issue_leaf(ca, &[name]).unwrap();
    let key = rustls_pemfile::private_key(&mut key.as_bytes())
        .unwrap()
        .unwrap();
    let server = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![der(&leaf)], key)
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server));
    let server_task = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        if let Ok(mut tls) = acceptor.accept(tcp).await {
            let mut buf = [0u8; 4];
            if tls.read_exact(&mut buf).await.is_ok() && &buf == b"ping" {
                let _ = tls.write_all(b"pong").await;
                let _ = tls.shutdown().await;
            }
        }
    });
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from(ca.cert_der().to_vec()))
        .unwrap();
    let client = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(client));
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let result = async {
        let mut tls = connector
            .connect(ServerName::try_from(name.to_string()).unwrap(), tcp)
            .await
            .map_err(|e| format!("{e:?}"))?;
        tls.write_all(b"ping").await.map_err(|e| e.to_string())?;
        let mut answer = String::new();
        tls.read_to_string(&mut answer)
            .await
            .map_err(|e| e.to_string())?;
        Ok(answer)
    }
    .await;
    server_task.abort();
    result
}

#[test]
fn key_is_0600_and_a_second_run_reuses_the_ca() {
    let dir = tempfile::tempdir().unwrap();
    let s = settings(dir.path(), "t", "local");
    let first = tls::ensure_ca(&s, &reporter(), false).unwrap();
    let mode = std::fs::metadata(&first.key_path)
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "key mode {mode:o}");
    let dir_mode = std::fs::metadata(tls::ca_dir(&s))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(dir_mode & 0o077, 0, "CA dir mode {dir_mode:o}");
    let second = tls::ensure_ca(&s, &reporter(), false).unwrap();
    assert_eq!(first.fingerprint(), second.fingerprint());
    let rotated = tls::ensure_ca(&s, &reporter(), true).unwrap();
    assert_ne!(first.fingerprint(), rotated.fingerprint());
    let mode = std::fs::metadata(&rotated.key_path)
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    // The rotated CA still signs leaves that verify.
    let (leaf, _) = issue_leaf(&rotated, &["demo.local"]).unwrap();
    webpki_verify(&rotated, &leaf, "demo.local").unwrap();
}

#[test]
fn damaged_ca_files_are_refused_and_left_alone() {
    type Damage = fn(&Path);
    let damages: [(&str, Damage); 5] = [
        ("garbage certificate", |d| {
            std::fs::write(d.join("ca.crt"), "not a certificate\n").unwrap()
        }),
        ("missing key", |d| {
            std::fs::remove_file(d.join("ca.key")).unwrap()
        }),
        ("missing certificate", |d| {
            std::fs::remove_file(d.join("ca.crt")).unwrap()
        }),
        ("garbage key", |d| {
            std::fs::write(
                d.join("ca.key"),
                "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
            )
            .unwrap()
        }),
        ("key of another CA", |d| {
            let other = tempfile::tempdir().unwrap();
            tls::ensure_ca(&settings(other.path(), "t", "local"), &reporter(), false).unwrap();
            std::fs::copy(other.path().join("tls/t/ca.key"), d.join("ca.key")).unwrap();
        }),
    ];
    for (what, damage) in damages {
        let dir = tempfile::tempdir().unwrap();
        let s = settings(dir.path(), "t", "local");
        tls::ensure_ca(&s, &reporter(), false).unwrap();
        let ca_dir = tls::ca_dir(&s);
        damage(&ca_dir);
        let before: Vec<_> = ["ca.crt", "ca.key"]
            .iter()
            .map(|f| std::fs::read(ca_dir.join(f)).ok())
            .collect();
        let err = tls::ensure_ca(&s, &reporter(), false).expect_err(what);
        assert!(
            matches!(err, tls::TlsError::CorruptCa { .. }),
            "{what}: {err:?}"
        );
        assert!(err.hint().unwrap().contains("--rotate"), "{what}");
        let after: Vec<_> = ["ca.crt", "ca.key"]
            .iter()
            .map(|f| std::fs::read(ca_dir.join(f)).ok())
            .collect();
        assert_eq!(before, after, "{what}: files changed");
        // --rotate is the way out.
        let ca = tls::ensure_ca(&s, &reporter(), true).unwrap();
        assert!(
            tls::ensure_ca(&s, &reporter(), false)
                .unwrap()
                .fingerprint()
                == ca.fingerprint()
        );
    }
}

#[test]
fn a_world_readable_key_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let s = settings(dir.path(), "t", "local");
    let ca = tls::ensure_ca(&s, &reporter(), false).unwrap();
    std::fs::set_permissions(&ca.key_path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let err = tls::ensure_ca(&s, &reporter(), false).unwrap_err();
    assert!(matches!(err, tls::TlsError::KeyExposed { .. }), "{err:?}");
}

#[test]
fn a_ca_for_another_domain_is_not_reused_silently() {
    let dir = tempfile::tempdir().unwrap();
    tls::ensure_ca(&settings(dir.path(), "t", "local"), &reporter(), false).unwrap();
    let s = settings(dir.path(), "t", "test");
    let err = tls::ensure_ca(&s, &reporter(), false).unwrap_err();
    assert!(
        matches!(err, tls::TlsError::DomainNotCovered { .. }),
        "{err:?}"
    );
    let ca = tls::ensure_ca(&s, &reporter(), true).unwrap();
    assert!(ca.covers_domain("test") && !ca.covers_domain("local"));
}

#[test]
fn concurrent_first_runs_agree_on_one_ca() {
    let dir = tempfile::tempdir().unwrap();
    let s = settings(dir.path(), "t", "local");
    let fingerprints: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                scope.spawn(|| {
                    tls::ensure_ca(&s, &reporter(), false)
                        .unwrap()
                        .fingerprint()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(
        fingerprints.windows(2).all(|w| w[0] == w[1]),
        "{fingerprints:?}"
    );
}

#[test]
fn cluster_objects_carry_the_ca() {
    let (_dir, ca) = new_ca("local");
    let secret = tls::cluster::ca_secret(&ca);
    assert_eq!(secret.type_.as_deref(), Some("kubernetes.io/tls"));
    assert_eq!(secret.metadata.namespace.as_deref(), Some("cert-manager"));
    let data = secret.data.unwrap();
    assert_eq!(data["tls.crt"].0, ca.cert_pem.as_bytes());
    assert!(String::from_utf8_lossy(&data["tls.key"].0).contains("PRIVATE KEY"));
    let issuer = tls::cluster::cluster_issuer();
    assert_eq!(issuer["apiVersion"], "cert-manager.io/v1");
    assert_eq!(issuer["kind"], "ClusterIssuer");
    assert_eq!(issuer["metadata"]["name"], "kindling-ca");
    assert_eq!(
        issuer["spec"]["ca"]["secretName"],
        secret.metadata.name.unwrap().as_str()
    );
    // The Secret serializes with base64 data, as the API expects.
    let json = serde_json::to_value(tls::cluster::ca_secret(&ca)).unwrap();
    assert_eq!(json["type"], "kubernetes.io/tls");
    assert!(
        json["data"]["tls.crt"]
            .as_str()
            .unwrap()
            .starts_with("LS0tLS1CRUdJTi")
    ); // "-----BEGIN"
}

#[test]
fn cli_prints_the_certificate_path_and_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        support::kindling()
            .current_dir(dir.path())
            .env("KINDLING_DATA_DIR", dir.path().join("data"))
            .args(["--set", "cluster.name=clitest"])
            .args(args)
            .output()
            .unwrap()
    };
    let first = run(&["tls", "ca"]);
    assert!(first.status.success(), "{first:?}");
    let path = String::from_utf8(first.stdout).unwrap().trim().to_string();
    assert_eq!(Path::new(&path), dir.path().join("data/tls/clitest/ca.crt"));
    let pem = std::fs::read(&path).unwrap();
    let second = run(&["tls", "ca"]);
    assert!(second.status.success());
    assert_eq!(
        std::fs::read(&path).unwrap(),
        pem,
        "second run changed the CA"
    );
    let rotated = run(&["tls", "ca", "--rotate"]);
    assert!(rotated.status.success());
    assert_ne!(std::fs::read(&path).unwrap(), pem, "--rotate kept the CA");
    // A damaged CA: exit 1, a hint naming --rotate, the file untouched.
    std::fs::write(&path, "garbage").unwrap();
    let damaged = run(&["tls", "ca"]);
    assert_eq!(damaged.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&damaged.stderr);
    assert!(
        stderr.contains("damaged") && stderr.contains("--rotate"),
        "{stderr}"
    );
    assert_eq!(std::fs::read(&path).unwrap(), b"garbage");
    // The key never appears in any output.
    let key = std::fs::read_to_string(dir.path().join("data/tls/clitest/ca.key")).unwrap();
    let body = key.lines().nth(1).unwrap();
    for out in [&second.stderr, &rotated.stderr, &damaged.stderr] {
        assert!(!String::from_utf8_lossy(out).contains(body));
    }
}
