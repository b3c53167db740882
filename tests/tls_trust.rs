//! Trust and untrust FOR REAL on this machine's trust store (Debian: files in
//! /usr/local/share/ca-certificates + update-ca-certificates).
//!
//! THESE TESTS MUTATE THE SYSTEM TRUST STORE. Each uses a unique cluster name
//! (so its anchor is /usr/local/share/ca-certificates/kindling-<unique>.crt),
//! removes it again on drop (also on panic), and holds a cross-process lock
//! (nextest runs tests in separate processes; update-ca-certificates is not
//! safe to run concurrently). They need root and Debian's ca-certificates.

mod support;

use kindling::config::{Config, Settings};
use kindling::report::{Event, RecordingReporter, SharedReporter};
use kindling::tls::trust::{admin_trust_setting, macos_status};
use kindling::tls::{
    self, AnchorState, Ca, HostAccess, HostChange, Privilege, TrustStatus, TrustStore, issue_leaf,
};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

const ANCHORS: &str = "/usr/local/share/ca-certificates";

/// Holds the cross-process lock and removes the test's anchor when dropped.
struct SystemStoreGuard {
    _lock: std::fs::File,
    anchor: PathBuf,
}

impl SystemStoreGuard {
    fn take(cluster: &str) -> Option<SystemStoreGuard> {
        if !rustix::process::geteuid().is_root() {
            return support::skip("trust tests need root");
        }
        if !Path::new("/usr/sbin/update-ca-certificates").exists() {
            return support::skip("trust tests need Debian's ca-certificates");
        }
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(std::env::temp_dir().join("kindling-test-trust-store.lock"))
            .unwrap();
        rustix::fs::flock(&lock, rustix::fs::FlockOperation::LockExclusive).unwrap();
        Some(SystemStoreGuard {
            _lock: lock,
            anchor: Path::new(ANCHORS).join(format!("kindling-{cluster}.crt")),
        })
    }
}

impl Drop for SystemStoreGuard {
    fn drop(&mut self) {
        let name = self
            .anchor
            .file_stem()
            .unwrap()
            .to_string_lossy()
            .to_string();
        if self.anchor.exists() || !leftovers_named(&name).is_empty() {
            let _ = std::fs::remove_file(&self.anchor);
            let _ = Command::new("update-ca-certificates")
                .arg("--fresh")
                .output();
        }
    }
}

fn settings(data_dir: &Path, cluster: &str) -> Settings {
    let mut config = Config::builtin();
    config.cluster.name = cluster.into();
    Settings {
        config,
        source: None,
        data_dir: data_dir.to_path_buf(),
        cache_dir: data_dir.join("cache"),
    }
}

/// `openssl verify -CApath /etc/ssl/certs leaf.pem`: does the system store accept it?
fn system_accepts(leaf: &Path) -> bool {
    Command::new("openssl")
        .args(["verify", "-CApath", "/etc/ssl/certs"])
        .arg(leaf)
        .output()
        .unwrap()
        .status
        .success()
}

fn leftovers(cluster: &str) -> Vec<PathBuf> {
    leftovers_named(&format!("kindling-{cluster}"))
}

/// Files named `name*` in the anchors dir or /etc/ssl/certs, and symlinks there pointing at them.
fn leftovers_named(name: &str) -> Vec<PathBuf> {
    [ANCHORS, "/etc/ssl/certs"]
        .iter()
        .flat_map(|d| std::fs::read_dir(d).unwrap().flatten())
        .map(|e| e.path())
        .filter(|p| {
            let target = std::fs::read_link(p).unwrap_or_default();
            p.file_name().unwrap().to_string_lossy().starts_with(name)
                || target.to_string_lossy().contains(name)
        })
        .collect()
}

fn setup(cluster: &str) -> (tempfile::TempDir, Ca, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let reporter: SharedReporter = RecordingReporter::new();
    let ca = tls::ensure_ca(&settings(dir.path(), cluster), &reporter, false).unwrap();
    let (leaf, _) = issue_leaf(&ca, &["demo.localhost"]).unwrap();
    let leaf_path = dir.path().join("leaf.pem");
    std::fs::write(&leaf_path, leaf).unwrap();
    (dir, ca, leaf_path)
}

#[test]
fn trust_then_untrust_changes_what_openssl_accepts_system_store() {
    let cluster = support::unique("kttrust");
    let Some(_guard) = SystemStoreGuard::take(&cluster) else {
        return;
    };
    let (_dir, ca, leaf) = setup(&cluster);
    let reporter: SharedReporter = RecordingReporter::new();
    let access = HostAccess::system_only(Some(TrustStore::debian()), Privilege::Root);
    assert!(!system_accepts(&leaf), "trusted before `trust`");

    let change = tls::trust(&ca, &cluster, &access, &reporter).unwrap();
    assert!(
        matches!(
            change,
            HostChange::Done {
                outcome: kindling::report::Outcome::Created,
                ..
            }
        ),
        "{change:?}"
    );
    assert!(
        system_accepts(&leaf),
        "openssl does not accept the leaf after `trust`"
    );
    let anchor = Path::new(ANCHORS).join(format!("kindling-{cluster}.crt"));
    assert_eq!(
        std::fs::metadata(&anchor).unwrap().permissions().mode() & 0o777,
        0o644
    );
    assert!(
        TrustStore::debian()
            .status(&ca.cert(), &cluster)
            .is_current()
    );
    let again = tls::trust(&ca, &cluster, &access, &reporter).unwrap();
    assert!(
        matches!(
            again,
            HostChange::Done {
                outcome: kindling::report::Outcome::Unchanged,
                ..
            }
        ),
        "{again:?}"
    );

    // After --rotate, `trust` replaces the old anchor: the old CA's leaves stop verifying.
    let data_dir = ca.cert_path.ancestors().nth(3).unwrap().to_path_buf();
    let rotated = tls::ensure_ca(&settings(&data_dir, &cluster), &reporter, true).unwrap();
    assert!(
        !TrustStore::debian()
            .status(&rotated.cert(), &cluster)
            .is_current()
    );
    let change = tls::trust(&rotated, &cluster, &access, &reporter).unwrap();
    assert!(
        matches!(
            change,
            HostChange::Done {
                outcome: kindling::report::Outcome::Changed,
                ..
            }
        ),
        "{change:?}"
    );
    assert!(
        !system_accepts(&leaf),
        "the rotated-away CA is still trusted"
    );
    let (new_leaf, _) = issue_leaf(&rotated, &["demo.localhost"]).unwrap();
    let new_leaf_path = leaf.with_file_name("new-leaf.pem");
    std::fs::write(&new_leaf_path, new_leaf).unwrap();
    assert!(system_accepts(&new_leaf_path));
    let (ca, leaf) = (rotated, new_leaf_path);

    let change = tls::untrust(&ca.cert(), &cluster, &access, &reporter).unwrap();
    assert!(
        matches!(
            change,
            HostChange::Done {
                outcome: kindling::report::Outcome::Changed,
                ..
            }
        ),
        "{change:?}"
    );
    assert!(
        !system_accepts(&leaf),
        "openssl still accepts the leaf after `untrust`"
    );
    assert_eq!(leftovers(&cluster), Vec::<PathBuf>::new());
    assert!(TrustStore::debian().status(&ca.cert(), &cluster).is_clean());
    let again = tls::untrust(&ca.cert(), &cluster, &access, &reporter).unwrap();
    assert!(matches!(
        again,
        HostChange::Done {
            outcome: kindling::report::Outcome::Unchanged,
            ..
        }
    ));
}

/// `kindling --set cluster.name=CLUSTER ARGS` with its data in `dir`: success, and
/// stdout and stderr together.
fn kindling_in(dir: &std::path::Path, cluster: &str, args: &[&str]) -> (bool, String) {
    let out = support::kindling()
        .current_dir(dir)
        .env("KINDLING_DATA_DIR", dir.join("data"))
        .args(["--set", &format!("cluster.name={cluster}")])
        .args(args)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn cli_trust_status_untrust_system_store() {
    let cluster = support::unique("ktcli");
    let Some(_guard) = SystemStoreGuard::take(&cluster) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| kindling_in(dir.path(), &cluster, args);
    let (ok, text) = run(&["tls", "status"]);
    assert!(ok && text.contains("no local CA yet"), "{text}");
    let (ok, text) = run(&["tls", "trust"]);
    assert!(ok, "{text}");
    assert!(
        text.contains("NODE_EXTRA_CA_CERTS=") && text.contains("SSL_CERT_FILE="),
        "{text}"
    );
    let (ok, text) = run(&["tls", "status"]);
    assert!(ok && text.contains("trusted: yes"), "{text}");

    let ca_path = dir.path().join(format!("data/tls/{cluster}/ca.crt"));
    let ca = tls::ca::load(ca_path.parent().unwrap()).unwrap().unwrap();
    let (leaf, _) = issue_leaf(&ca, &["grafana.localhost"]).unwrap();
    let leaf_path = dir.path().join("leaf.pem");
    std::fs::write(&leaf_path, leaf).unwrap();
    assert!(system_accepts(&leaf_path));

    let (ok, text) = run(&["tls", "untrust"]);
    assert!(ok, "{text}");
    let (ok, text) = run(&["tls", "status"]);
    assert!(ok && text.contains("trusted: no"), "{text}");
    assert!(!system_accepts(&leaf_path));
    assert_eq!(leftovers(&cluster), Vec::<PathBuf>::new());
}

#[test]
fn through_sudo_it_says_why_before_running_system_store() {
    let cluster = support::unique("ktsudo");
    let Some(_guard) = SystemStoreGuard::take(&cluster) else {
        return;
    };
    let (dir, ca, leaf) = setup(&cluster);
    // A stand-in for sudo (we are root already): logs each command, then runs it.
    let log = dir.path().join("sudo.log");
    let sudo = dir.path().join("fake-sudo");
    std::fs::write(
        &sudo,
        format!("#!/bin/sh\necho \"$*\" >> {}\nexec \"$@\"\n", log.display()),
    )
    .unwrap();
    std::fs::set_permissions(&sudo, std::fs::Permissions::from_mode(0o755)).unwrap();
    let recording = RecordingReporter::new();
    let reporter: SharedReporter = recording.clone();
    let access = HostAccess::system_only(Some(TrustStore::debian()), Privilege::Sudo(sudo.clone()));
    let change = tls::trust(&ca, &cluster, &access, &reporter).unwrap();
    assert!(matches!(change, HostChange::Done { .. }), "{change:?}");
    assert!(system_accepts(&leaf));
    let logged = std::fs::read_to_string(&log).unwrap();
    assert_eq!(logged.lines().count(), 2, "{logged}");
    assert!(
        logged
            .lines()
            .nth(1)
            .unwrap()
            .starts_with("update-ca-certificates"),
        "{logged}"
    );
    let said = recording.events().iter().any(|e| matches!(e, Event::Info { message } if message.contains("needs root") && message.contains("fake-sudo")));
    assert!(said, "{:?}", recording.events());
    tls::untrust(&ca.cert(), &cluster, &access, &reporter).unwrap();
    assert!(!system_accepts(&leaf));
}

#[test]
fn without_root_or_sudo_the_user_gets_the_exact_commands() {
    let cluster = support::unique("ktmanual");
    let (_dir, ca, _leaf) = setup(&cluster);
    let reporter: SharedReporter = RecordingReporter::new();
    let access = HostAccess::system_only(Some(TrustStore::debian()), Privilege::Unprivileged);
    let change = tls::trust(&ca, &cluster, &access, &reporter).unwrap();
    let HostChange::Manual { why, commands } = change else {
        panic!("expected Manual, got {change:?}");
    };
    assert!(why.contains("no sudo"), "{why}");
    assert_eq!(
        commands,
        vec![
            format!(
                "sudo install -D -m 0644 {} {ANCHORS}/kindling-{cluster}.crt",
                ca.cert_path.display()
            ),
            "sudo update-ca-certificates".to_string(),
        ]
    );
    assert!(
        !Path::new(ANCHORS)
            .join(format!("kindling-{cluster}.crt"))
            .exists()
    );
}

#[test]
fn other_platforms_get_their_commands() {
    let cluster = support::unique("ktplat");
    let (_dir, ca, _leaf) = setup(&cluster);
    let cert = ca.cert_path.display().to_string();
    let render = |cmds: Vec<kindling::hosts::elevate::HostCommand>| -> Vec<String> {
        cmds.iter().map(|c| c.render(&[])).collect()
    };
    assert_eq!(
        render(TrustStore::fedora().trust_commands(&ca.cert(), &cluster)),
        vec![
            format!(
                "install -D -m 0644 {cert} /etc/pki/ca-trust/source/anchors/kindling-{cluster}.crt"
            ),
            "update-ca-trust extract".into()
        ]
    );
    let trusted = TrustStatus {
        trusted: true,
        anchor: None,
        anchor_state: None,
    };
    assert_eq!(
        render(TrustStore::arch().untrust_commands(&ca.cert(), &cluster, &trusted)),
        vec![format!("trust anchor --remove {cert}")]
    );
    assert_eq!(
        render(TrustStore::macos().trust_commands(&ca.cert(), &cluster)),
        vec![format!(
            "security add-trusted-cert -d -r trustRoot -k /Library/Keychains/System.keychain {cert}"
        )]
    );
    // macOS removes by SHA-1: check it against openssl's own fingerprint.
    let out = Command::new("openssl")
        .args(["x509", "-noout", "-fingerprint", "-sha1", "-in"])
        .arg(&ca.cert_path)
        .output()
        .unwrap();
    let openssl_sha1 = String::from_utf8_lossy(&out.stdout)
        .split('=')
        .nth(1)
        .unwrap()
        .trim()
        .replace(':', "");
    // The admin trust setting first (remove-trusted-cert -d), then the keychain item with
    // its user trust settings (-t): deleting the item alone leaves the setting behind.
    let in_keychain = TrustStatus {
        trusted: true,
        anchor: Some("/Library/Keychains/System.keychain".into()),
        anchor_state: Some(AnchorState::Current),
    };
    assert_eq!(
        render(TrustStore::macos().untrust_commands(&ca.cert(), &cluster, &in_keychain)),
        vec![
            format!("security remove-trusted-cert -d {cert}"),
            format!(
                "security delete-certificate -Z {openssl_sha1} -t /Library/Keychains/System.keychain"
            )
        ]
    );
    // A keychain item without a trust setting: only the item goes (remove-trusted-cert
    // would fail with nothing to remove).
    let untrusted_item = TrustStatus {
        trusted: false,
        ..in_keychain.clone()
    };
    assert_eq!(
        render(TrustStore::macos().untrust_commands(&ca.cert(), &cluster, &untrusted_item)),
        vec![format!(
            "security delete-certificate -Z {openssl_sha1} -t /Library/Keychains/System.keychain"
        )]
    );
    // How `tls status` reads the macOS store (no root).
    let [find, dump] = TrustStore::macos_status_commands(
        Path::new("/Library/Keychains/System.keychain"),
        &cluster,
    );
    assert_eq!(
        find.render(&[]),
        format!(
            "security find-certificate -a -c 'kindling local CA ({cluster})' -p /Library/Keychains/System.keychain"
        )
    );
    assert_eq!(dump.render(&[]), "security dump-trust-settings -d");
}

#[test]
fn in_up_a_missing_root_is_a_warning_with_the_commands() {
    let cluster = support::unique("ktup");
    let dir = tempfile::tempdir().unwrap();
    let settings = settings(dir.path(), &cluster);
    let recording = RecordingReporter::new();
    let reporter: SharedReporter = recording.clone();
    let ca = tls::ensure_ca(&settings, &reporter, false).unwrap();
    let access = HostAccess::system_only(Some(TrustStore::debian()), Privilege::Unprivileged);
    tls::trust_step(&ca, &settings, &access, &reporter).expect("degrades, does not fail");
    let events = recording.events();
    let warned = events.iter().any(|e| matches!(e, Event::Warning { hint: Some(h), .. } if h.contains("sudo update-ca-certificates")));
    assert!(warned, "{events:?}");
    let skipped = events.iter().any(|e| matches!(e, Event::StepFinished { step, outcome: kindling::report::Outcome::Skipped, .. } if step == "tls-trust"));
    assert!(skipped, "{events:?}");
    assert!(
        !Path::new(ANCHORS)
            .join(format!("kindling-{cluster}.crt"))
            .exists()
    );
}

/// `tls status` on macOS reads the trust setting, not only the keychain item: the outputs
/// of `security find-certificate -a -c <name> -p` and `security dump-trust-settings -d`.
#[test]
fn macos_status_needs_the_keychain_item_and_its_admin_trust_setting() {
    let cluster = support::unique("ktmac");
    let (_dir, ca, _leaf) = setup(&cluster);
    let keychain = Path::new("/Library/Keychains/System.keychain");
    let name = format!("kindling local CA ({cluster})");
    // find-certificate -p prints attributes, then the PEM of each match.
    let find = format!(
        "keychain: \"/Library/Keychains/System.keychain\"\nversion: 512\nclass: 0x80001000\nattributes:\n    \"labl\"<blob>=\"{name}\"\n{}",
        ca.cert_pem
    );
    let dump = format!(
        "Number of trusted certs = 2\nCert 0: Corp Proxy CA\n   Number of trust settings : 0\nCert 1: {name}\n   Number of trust settings : 1\n   Trust Setting 0:\n      Policy OID            : SSL\n      Result Type           : kSecTrustSettingsResultTrustRoot\n"
    );
    let trusted = macos_status(&ca.cert(), &cluster, keychain, &find, &dump);
    assert!(trusted.is_current(), "{trusted:?}");

    // The item without a setting (what `delete-certificate -Z` alone used to leave the other
    // way round, and what Keychain Access shows as "Use System Defaults"): not trusted.
    let no_setting = macos_status(
        &ca.cert(),
        &cluster,
        keychain,
        &find,
        "Number of trusted certs = 0\n",
    );
    assert!(!no_setting.trusted);
    assert_eq!(no_setting.anchor_state, Some(AnchorState::Current));
    assert!(!no_setting.is_clean(), "the item is still there");

    // A setting under the name but no item: nothing of ours in the keychain.
    let gone = macos_status(&ca.cert(), &cluster, keychain, "", &dump);
    assert!(!gone.trusted && gone.anchor_state == Some(AnchorState::Missing));

    // "Never Trust" is a setting that does not trust.
    let denied = dump.replace(
        "kSecTrustSettingsResultTrustRoot",
        "kSecTrustSettingsResultDeny",
    );
    assert!(!macos_status(&ca.cert(), &cluster, keychain, &find, &denied).trusted);
    assert_eq!(
        admin_trust_setting(&dump, "Corp Proxy CA"),
        Some(kindling::tls::trust::TrustSetting::Trusted)
    );
}

/// `up` on a distribution kindling does not know: a warning with the manual steps, as
/// without sudo, not a failed run.
#[test]
fn an_unknown_trust_store_makes_up_warn_not_fail() {
    let cluster = support::unique("ktunknown");
    let dir = tempfile::tempdir().unwrap();
    let settings = settings(dir.path(), &cluster);
    let recording = RecordingReporter::new();
    let reporter: SharedReporter = recording.clone();
    let ca = tls::ensure_ca(&settings, &reporter, false).unwrap();
    let access = HostAccess::system_only(None, Privilege::Root);
    tls::trust_step(&ca, &settings, &access, &reporter).expect("warns, does not fail");
    let events = recording.events();
    let warned = events.iter().any(|e| matches!(e, Event::Warning { message, hint: Some(h) } if message.contains("no known trust store") && h.contains(&ca.cert_path.display().to_string())));
    assert!(warned, "{events:?}");
    let skipped = events.iter().any(|e| matches!(e, Event::StepFinished { step, outcome: kindling::report::Outcome::Skipped, .. } if step == "tls-trust"));
    assert!(skipped, "{events:?}");
}

/// Arch keeps no file of ours: with the data dir gone, the CA is found in the bundle by its
/// name (the cluster's), and the removal names a copy of it.
#[test]
fn arch_untrust_without_a_data_dir_finds_the_ca_by_name() {
    let cluster = support::unique("ktarch");
    let (_dir, ca, _leaf) = setup(&cluster);
    let (_other_dir, other, _) = setup(&support::unique("ktother"));
    let bundle_dir = tempfile::tempdir().unwrap();
    let bundle = bundle_dir.path().join("ca-certificates.crt");
    std::fs::write(
        &bundle,
        format!("# a system bundle\n{}{}", other.cert_pem, ca.cert_pem),
    )
    .unwrap();
    let store = TrustStore::Arch {
        bundle: bundle.clone(),
    };
    assert_eq!(store.installed(&cluster).len(), 1);
    let access = HostAccess::system_only(Some(store), Privilege::Unprivileged);
    let reporter: SharedReporter = RecordingReporter::new();
    let change = tls::untrust_named(&cluster, &access, &reporter).unwrap();
    let HostChange::Manual { commands, .. } = change else {
        panic!("expected the commands for the user, got {change:?}");
    };
    assert_eq!(commands.len(), 1, "{commands:?}");
    let path = commands[0]
        .strip_prefix("sudo trust anchor --remove ")
        .unwrap_or_else(|| panic!("{commands:?}"));
    let recovered = std::fs::read_to_string(path).unwrap();
    assert_eq!(
        tls::ca::pem_certificate(&recovered).unwrap(),
        ca.cert().der,
        "the copy is this cluster's CA, not the other one"
    );
}

/// Issue 15: `tls untrust` after the data dir is gone used to say "nothing to untrust" and
/// leave the CA trusted. The anchor's name is known from the cluster name.
#[test]
fn untrust_after_the_data_dir_is_gone_removes_the_trust_system_store() {
    let cluster = support::unique("ktgone");
    let Some(_guard) = SystemStoreGuard::take(&cluster) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| kindling_in(dir.path(), &cluster, args);
    let (ok, text) = run(&["tls", "trust"]);
    assert!(ok, "{text}");
    let ca_dir = dir.path().join(format!("data/tls/{cluster}"));
    let ca = tls::ca::load(&ca_dir).unwrap().unwrap();
    let (leaf, _) = issue_leaf(&ca, &["demo.localhost"]).unwrap();
    let leaf_path = dir.path().join("leaf.pem");
    std::fs::write(&leaf_path, leaf).unwrap();
    assert!(system_accepts(&leaf_path));

    std::fs::remove_dir_all(dir.path().join("data")).unwrap();
    let (ok, text) = run(&["tls", "untrust"]);
    assert!(ok, "{text}");
    assert!(!text.contains("nothing to untrust"), "{text}");
    assert!(text.contains("found by the cluster's name"), "{text}");
    assert!(!system_accepts(&leaf_path), "still trusted: {text}");
    assert_eq!(leftovers(&cluster), Vec::<PathBuf>::new());
    // Again: nothing left, and it says so.
    let (ok, text) = run(&["tls", "untrust"]);
    assert!(ok && text.contains("none of"), "{text}");
}
