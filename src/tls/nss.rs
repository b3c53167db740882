//! Browsers on Linux: Chrome/Chromium and Firefox read their own NSS databases, not the
//! system store (Fedora excepted: its NSS reads the system store through p11-kit). kindling
//! adds the CA to each database it finds with `certutil` (Debian/Ubuntu libnss3-tools,
//! Arch nss, openSUSE mozilla-nss-tools), as the user who runs kindling (the one behind
//! `sudo`, when kindling itself runs under sudo), as mkcert's truststore_nss.go does
//! (FiloSottile/mkcert 1c1dc4e): `certutil -A -t C,, -n <name> -i <cert>`, removed with
//! `certutil -D -n <name>`. The name is the CA's common name, known from the cluster name.
//! A database is only changed, never created: a browser makes its own on first start.

use super::ca::common_name;
use crate::env::Env;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Whom certutil runs as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunAs {
    /// This process's user.
    Current,
    /// Another user (kindling runs as root under sudo: the databases are SUDO_USER's).
    User { name: String, uid: u32, gid: u32 },
}

/// One NSS database: a folder with cert9.db (`sql:`) or the legacy cert8.db (`dbm:`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NssDb {
    pub dir: PathBuf,
    /// "sql:" or "dbm:", as certutil's -d takes it.
    pub prefix: &'static str,
    /// "Chrome/Chromium", "Firefox": for messages.
    pub browser: &'static str,
}

impl NssDb {
    /// certutil's `-d` argument.
    pub fn arg(&self) -> String {
        format!("{}{}", self.prefix, self.dir.display())
    }
}

/// The user's NSS databases and the certutil to change them with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NssStores {
    /// certutil, if installed.
    pub certutil: Option<PathBuf>,
    pub home: PathBuf,
    pub run_as: RunAs,
}

/// The folders (relative to the home) where Chrome/Chromium and Firefox keep NSS databases:
/// Chrome's `~/.pki/nssdb` (newer Chromium `~/.local/share/pki/nssdb`, the snap under
/// `~/snap/chromium`), and every Firefox profile (also the snap's under
/// `~/snap/firefox/common/.mozilla` and the Flatpak's under `~/.var/app`).
const CHROME_DBS: [&str; 3] = [
    ".pki/nssdb",
    ".local/share/pki/nssdb",
    "snap/chromium/current/.pki/nssdb",
];
const FIREFOX_PROFILE_PARENTS: [&str; 3] = [
    ".mozilla/firefox",
    "snap/firefox/common/.mozilla/firefox",
    ".var/app/org.mozilla.firefox/.mozilla/firefox",
];

impl NssStores {
    /// The invoking user's databases: SUDO_USER's when kindling runs as root under sudo,
    /// else this user's ($HOME).
    pub fn detect(env: &Env) -> NssStores {
        let certutil = crate::hosts::elevate::find_program(env, "certutil");
        let sudo_user = env.get("SUDO_USER").filter(|u| *u != "root");
        if rustix::process::geteuid().is_root()
            && let Some(name) = sudo_user
            && let Some(entry) = std::fs::read_to_string("/etc/passwd")
                .ok()
                .and_then(|t| passwd_entry(&t, name))
        {
            return NssStores {
                certutil,
                home: entry.home,
                run_as: RunAs::User {
                    name: name.to_string(),
                    uid: entry.uid,
                    gid: entry.gid,
                },
            };
        }
        NssStores {
            certutil,
            home: env.path("HOME").unwrap_or_else(|| PathBuf::from("/root")),
            run_as: RunAs::Current,
        }
    }

    /// Every NSS database under the home, in a fixed order.
    pub fn databases(&self) -> Vec<NssDb> {
        let mut found = Vec::new();
        let mut add = |dir: PathBuf, browser: &'static str| {
            let prefix = if dir.join("cert9.db").is_file() {
                "sql:"
            } else if dir.join("cert8.db").is_file() {
                "dbm:"
            } else {
                return;
            };
            found.push(NssDb {
                dir,
                prefix,
                browser,
            });
        };
        for dir in CHROME_DBS {
            add(self.home.join(dir), "Chrome/Chromium");
        }
        for parent in FIREFOX_PROFILE_PARENTS {
            let Ok(entries) = std::fs::read_dir(self.home.join(parent)) else {
                continue;
            };
            let mut profiles: Vec<PathBuf> = entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.is_dir())
                .collect();
            profiles.sort();
            for profile in profiles {
                add(profile, "Firefox");
            }
        }
        found
    }

    /// `certutil -A`: trust the CA for TLS servers (`C,,`), under its common name.
    pub fn add_args(db: &NssDb, cert: &Path, cluster: &str) -> Vec<String> {
        [
            "-A",
            "-d",
            &db.arg(),
            "-t",
            "C,,",
            "-n",
            &common_name(cluster),
            "-i",
            &cert.display().to_string(),
        ]
        .map(String::from)
        .to_vec()
    }

    /// `certutil -D`: delete it by name.
    pub fn delete_args(db: &NssDb, cluster: &str) -> Vec<String> {
        ["-D", "-d", &db.arg(), "-n", &common_name(cluster)]
            .map(String::from)
            .to_vec()
    }

    /// `certutil -L -n`: succeeds when a certificate of that name is in the database.
    pub fn list_args(db: &NssDb, cluster: &str) -> Vec<String> {
        ["-L", "-d", &db.arg(), "-n", &common_name(cluster)]
            .map(String::from)
            .to_vec()
    }

    /// Runs certutil with `args` as the invoking user: (success, output).
    pub fn run(&self, args: &[String]) -> Result<(bool, String), String> {
        let certutil = self.certutil.as_ref().ok_or("certutil is not installed")?;
        let mut command = Command::new(certutil);
        command
            .args(args)
            // A database with a primary password would prompt: never wait for one.
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let RunAs::User { uid, gid, .. } = &self.run_as {
            use std::os::unix::process::CommandExt;
            command.uid(*uid).gid(*gid).env("HOME", &self.home);
        }
        let out = command
            .output()
            .map_err(|e| format!("{}: {e}", certutil.display()))?;
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        Ok((out.status.success(), text.trim().to_string()))
    }

    /// Whether `db` holds this cluster's CA.
    pub fn contains(&self, db: &NssDb, cluster: &str) -> bool {
        self.run(&NssStores::list_args(db, cluster))
            .is_ok_and(|(ok, _)| ok)
    }

    /// Adds the CA (`cert`) to every database that lacks it.
    pub fn trust(&self, cert: &Path, cluster: &str) -> NssOutcome {
        // As another user, certutil may not read the CA where it is (root's data dir under
        // sudo is 0700): it gets a world-readable copy of the (public) certificate.
        let copy = match &self.run_as {
            RunAs::User { .. } => match readable_copy(cert) {
                Ok(copy) => Some(copy),
                Err(e) => {
                    let mut outcome = NssOutcome::default();
                    for db in self.databases() {
                        outcome.failed.push((db, e.clone()));
                    }
                    return outcome;
                }
            },
            RunAs::Current => None,
        };
        let cert = copy.as_ref().map_or(cert, |c| c.path());
        self.each(|db| {
            if self.contains(db, cluster) {
                return Ok(false);
            }
            self.checked(&NssStores::add_args(db, cert, cluster))
                .map(|_| true)
        })
    }

    /// Removes this cluster's CA from every database that holds it.
    pub fn untrust(&self, cluster: &str) -> NssOutcome {
        self.each(|db| {
            if !self.contains(db, cluster) {
                return Ok(false);
            }
            self.checked(&NssStores::delete_args(db, cluster))
                .map(|_| true)
        })
    }

    fn checked(&self, args: &[String]) -> Result<(), String> {
        match self.run(args)? {
            (true, _) => Ok(()),
            (false, output) => Err(format!("certutil {}: {output}", args.join(" "))),
        }
    }

    fn each(&self, change: impl Fn(&NssDb) -> Result<bool, String>) -> NssOutcome {
        let mut outcome = NssOutcome::default();
        for db in self.databases() {
            match change(&db) {
                Ok(true) => outcome.changed.push(db),
                Ok(false) => outcome.unchanged.push(db),
                Err(e) => outcome.failed.push((db, e)),
            }
        }
        outcome
    }
}

fn readable_copy(cert: &Path) -> Result<tempfile::NamedTempFile, String> {
    use std::os::unix::fs::PermissionsExt;
    let text = std::fs::read(cert).map_err(|e| format!("reading {}: {e}", cert.display()))?;
    let copy = tempfile::Builder::new()
        .prefix("kindling-ca-")
        .suffix(".crt")
        .tempfile()
        .map_err(|e| format!("copying the CA: {e}"))?;
    std::fs::write(copy.path(), text).map_err(|e| format!("copying the CA: {e}"))?;
    std::fs::set_permissions(copy.path(), std::fs::Permissions::from_mode(0o644))
        .map_err(|e| format!("copying the CA: {e}"))?;
    Ok(copy)
}

/// What a change did to each database.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NssOutcome {
    pub changed: Vec<NssDb>,
    pub unchanged: Vec<NssDb>,
    pub failed: Vec<(NssDb, String)>,
}

/// A user's entry in /etc/passwd.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswdEntry {
    pub uid: u32,
    pub gid: u32,
    pub home: PathBuf,
}

/// `name:x:uid:gid:gecos:home:shell`: the line of `name`.
pub fn passwd_entry(text: &str, name: &str) -> Option<PasswdEntry> {
    text.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        if fields.len() < 7 || fields[0] != name {
            return None;
        }
        Some(PasswdEntry {
            uid: fields[2].parse().ok()?,
            gid: fields[3].parse().ok()?,
            home: PathBuf::from(fields[5]),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_invoking_users_home_comes_from_passwd() {
        let passwd = "root:x:0:0:root:/root:/bin/bash\n\
                      ada:x:1000:1000:Ada Lovelace,,,:/home/ada:/bin/zsh\n\
                      broken:x:notanumber:1:::\n";
        assert_eq!(
            passwd_entry(passwd, "ada"),
            Some(PasswdEntry {
                uid: 1000,
                gid: 1000,
                home: "/home/ada".into()
            })
        );
        assert_eq!(passwd_entry(passwd, "ad"), None);
        assert_eq!(passwd_entry(passwd, "broken"), None);
    }

    #[test]
    fn certutil_commands_are_mkcerts() {
        let db = NssDb {
            dir: "/home/ada/.pki/nssdb".into(),
            prefix: "sql:",
            browser: "Chrome/Chromium",
        };
        assert_eq!(
            NssStores::add_args(&db, Path::new("/data/ca.crt"), "kindling").join(" "),
            "-A -d sql:/home/ada/.pki/nssdb -t C,, -n kindling local CA (kindling) -i /data/ca.crt"
        );
        assert_eq!(
            NssStores::delete_args(&db, "kindling").join(" "),
            "-D -d sql:/home/ada/.pki/nssdb -n kindling local CA (kindling)"
        );
    }
}
