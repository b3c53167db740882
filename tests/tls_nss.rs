//! Browsers on Linux read NSS databases, not /etc/ssl: the CA goes into each one kindling
//! finds (Chrome's ~/.pki/nssdb and ~/.local/share/pki/nssdb, Firefox profiles, the snap's),
//! with the real certutil (Debian's libnss3-tools) on real temporary databases. NSS's own
//! verifier (`certutil -V -u V`, what Firefox and Chrome run) decides whether a server
//! certificate for demo.localhost is accepted.

mod support;

use kindling::config::{Config, Settings};
use kindling::report::{NullReporter, SharedReporter};
use kindling::tls::nss::{NssStores, RunAs};
use kindling::tls::{self, Ca, HostChange, TrustStore, issue_leaf};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

fn certutil() -> Option<PathBuf> {
    let found = std::env::var_os("PATH")?
        .to_string_lossy()
        .split(':')
        .map(|d| Path::new(d).join("certutil"))
        .find(|p| p.is_file());
    if found.is_none() {
        return support::skip("no certutil (apt-get install libnss3-tools)");
    }
    found
}

/// A new empty NSS database in `dir`, made by `prefix` (e.g. setpriv as another user).
fn new_db(certutil: &Path, dir: &Path, prefix: &[&str]) {
    std::fs::create_dir_all(dir).unwrap();
    let mut words: Vec<String> = prefix.iter().map(|s| s.to_string()).collect();
    words.push(certutil.display().to_string());
    let out = Command::new(&words[0])
        .args(&words[1..])
        .args(["-N", "--empty-password", "-d"])
        .arg(format!("sql:{}", dir.display()))
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
}

fn new_ca(dir: &Path, cluster: &str) -> Ca {
    let mut config = Config::builtin();
    config.cluster.name = cluster.into();
    let settings = Settings {
        config,
        source: None,
        data_dir: dir.to_path_buf(),
        cache_dir: dir.join("cache"),
    };
    let reporter: SharedReporter = std::sync::Arc::new(NullReporter);
    tls::ensure_ca(&settings, &reporter, false).unwrap()
}

/// What NSS's verifier says about a server certificate for demo.localhost in `db`.
fn nss_accepts_leaf(certutil: &Path, db: &Path, ca: &Ca, scratch: &Path) -> bool {
    let (leaf, _) = issue_leaf(ca, &["demo.localhost"]).unwrap();
    let leaf_path = scratch.join("leaf.pem");
    std::fs::write(&leaf_path, leaf).unwrap();
    let d = format!("sql:{}", db.display());
    let add = Command::new(certutil)
        .args(["-A", "-d", &d, "-n", "kindling-test-leaf", "-t", ",,", "-i"])
        .arg(&leaf_path)
        .output()
        .unwrap();
    assert!(add.status.success(), "{add:?}");
    let verify = Command::new(certutil)
        .args(["-V", "-u", "V", "-d", &d, "-n", "kindling-test-leaf"])
        .output()
        .unwrap();
    let _ = Command::new(certutil)
        .args(["-D", "-d", &d, "-n", "kindling-test-leaf"])
        .output();
    verify.status.success()
}

fn trust_flags(certutil: &Path, db: &Path, cluster: &str) -> Option<String> {
    let out = Command::new(certutil)
        .args(["-L", "-d", &format!("sql:{}", db.display())])
        .output()
        .unwrap();
    let name = format!("kindling local CA ({cluster})");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find(|l| l.starts_with(&name))
        .map(|l| l[name.len()..].trim().to_string())
}

#[test]
fn the_ca_goes_into_every_chrome_and_firefox_database_and_leaves_again() {
    let Some(certutil) = certutil() else {
        return;
    };
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let dbs = [
        h.join(".pki/nssdb"),
        h.join(".local/share/pki/nssdb"),
        h.join(".mozilla/firefox/abcd1234.default-release"),
        h.join("snap/firefox/common/.mozilla/firefox/wxyz9876.default"),
    ];
    for db in &dbs {
        new_db(&certutil, db, &[]);
    }
    // Not databases: a profile folder Firefox never opened, and profiles.ini.
    std::fs::create_dir_all(h.join(".mozilla/firefox/empty.profile")).unwrap();
    std::fs::write(h.join(".mozilla/firefox/profiles.ini"), "[General]\n").unwrap();

    let cluster = support::unique("ktnss");
    let ca = new_ca(&h.join("data"), &cluster);
    let nss = NssStores {
        certutil: Some(certutil.clone()),
        home: h.to_path_buf(),
        run_as: RunAs::Current,
    };
    let found: Vec<PathBuf> = nss.databases().into_iter().map(|d| d.dir).collect();
    assert_eq!(found, dbs.to_vec());
    assert!(
        !nss_accepts_leaf(&certutil, &dbs[0], &ca, h),
        "trusted before"
    );

    let change = tls::browsers_trust(&nss, Some(&TrustStore::debian()), &ca.cert_path, &cluster);
    let HostChange::Done { outcome, detail } = &change else {
        panic!("{change:?}");
    };
    assert_eq!(*outcome, kindling::report::Outcome::Created, "{detail}");
    for db in &dbs {
        assert_eq!(
            trust_flags(&certutil, db, &cluster).as_deref(),
            Some("C,,"),
            "{}",
            db.display()
        );
        assert!(
            nss_accepts_leaf(&certutil, db, &ca, h),
            "NSS rejects demo.localhost in {}",
            db.display()
        );
    }
    let again = tls::browsers_trust(&nss, Some(&TrustStore::debian()), &ca.cert_path, &cluster);
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

    // Removal needs only the cluster's name (the data dir may be gone).
    std::fs::remove_dir_all(h.join("data")).unwrap();
    let change = tls::browsers_untrust(&nss, &cluster);
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
    for db in &dbs {
        assert_eq!(trust_flags(&certutil, db, &cluster), None);
        assert!(!nss_accepts_leaf(&certutil, db, &ca, h));
    }
    let again = tls::browsers_untrust(&nss, &cluster);
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
}

#[test]
fn without_certutil_the_user_learns_what_to_install_and_fedora_needs_none() {
    let Some(certutil) = certutil() else {
        return;
    };
    let home = tempfile::tempdir().unwrap();
    new_db(&certutil, &home.path().join(".pki/nssdb"), &[]);
    let cluster = support::unique("ktnocert");
    let ca = new_ca(&home.path().join("data"), &cluster);
    let nss = NssStores {
        certutil: None,
        home: home.path().to_path_buf(),
        run_as: RunAs::Current,
    };
    let change = tls::browsers_trust(&nss, Some(&TrustStore::debian()), &ca.cert_path, &cluster);
    let HostChange::Manual { why, commands } = change else {
        panic!("{change:?}");
    };
    assert!(why.contains("certutil is not installed"), "{why}");
    assert!(commands[0].contains("libnss3-tools"), "{commands:?}");
    // Fedora's NSS reads the system store through p11-kit: nothing to add, nothing to warn.
    let fedora = tls::browsers_trust(&nss, Some(&TrustStore::fedora()), &ca.cert_path, &cluster);
    assert!(
        matches!(&fedora, HostChange::Done { outcome: kindling::report::Outcome::Skipped, detail } if detail.contains("p11-kit")),
        "{fedora:?}"
    );
    // No database at all (no browser started yet): skipped, saying so.
    let empty = tempfile::tempdir().unwrap();
    let none = NssStores {
        certutil: Some(certutil),
        home: empty.path().to_path_buf(),
        run_as: RunAs::Current,
    };
    let change = tls::browsers_trust(&none, Some(&TrustStore::debian()), &ca.cert_path, &cluster);
    assert!(
        matches!(&change, HostChange::Done { outcome: kindling::report::Outcome::Skipped, detail } if detail.contains("first start")),
        "{change:?}"
    );
}

/// Under `sudo kindling …` the databases are the invoking user's: certutil runs as that user
/// (a real unprivileged uid here), reads a copy of the CA it may read, and leaves the files
/// owned by that user.
#[test]
fn under_sudo_the_invoking_users_databases_change_as_that_user() {
    let Some(certutil) = certutil() else {
        return;
    };
    if !rustix::process::geteuid().is_root() {
        support::skip::<()>("needs root to act as another user");
        return;
    }
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    let chown = |p: &Path| {
        let out = Command::new("chown")
            .args(["-R", "65534:65534"])
            .arg(p)
            .output()
            .unwrap();
        assert!(out.status.success());
    };
    let db = h.join(".pki/nssdb");
    std::fs::create_dir_all(&db).unwrap();
    chown(h);
    new_db(
        &certutil,
        &db,
        &[
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--",
        ],
    );
    // The CA in root's private data dir (0700), as under sudo.
    let data = tempfile::tempdir().unwrap();
    let cluster = support::unique("ktsudo-nss");
    let ca = new_ca(data.path(), &cluster);
    let nss = NssStores {
        certutil: Some(certutil.clone()),
        home: h.to_path_buf(),
        run_as: RunAs::User {
            name: "nobody".into(),
            uid: 65534,
            gid: 65534,
        },
    };
    let change = tls::browsers_trust(&nss, Some(&TrustStore::debian()), &ca.cert_path, &cluster);
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
    assert_eq!(
        trust_flags(&certutil, &db, &cluster).as_deref(),
        Some("C,,")
    );
    for entry in std::fs::read_dir(&db).unwrap().flatten() {
        let meta = entry.metadata().unwrap();
        assert_eq!(
            (meta.uid(), meta.gid()),
            (65534, 65534),
            "{} is no longer the user's",
            entry.path().display()
        );
    }
    let change = tls::browsers_untrust(&nss, &cluster);
    assert!(matches!(change, HostChange::Done { .. }), "{change:?}");
    assert_eq!(trust_flags(&certutil, &db, &cluster), None);
}
