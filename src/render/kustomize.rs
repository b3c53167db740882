//! The kustomize that renders the demo environments, as Argo CD does (`kustomize build
//! <path>`): no Rust library implements kustomize, so `render` runs the real one when this
//! machine has it — `KINDLING_KUSTOMIZE_BIN`, else `kustomize` on PATH, else `kubectl
//! kustomize` (kubectl embeds kustomize). Without any, the render holds the kustomize tree
//! (`artifact/`) and says how to build it.

use crate::env::Env;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A local kustomize over local files finishes in well under a second; this bounds a hang.
const TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kustomize {
    /// `kustomize build DIR`.
    Standalone(PathBuf),
    /// `kubectl kustomize DIR`.
    Kubectl(PathBuf),
}

impl Kustomize {
    /// The kustomize to use, if this machine has one.
    pub fn find(env: &Env) -> Option<Kustomize> {
        if let Some(path) = env.path("KINDLING_KUSTOMIZE_BIN") {
            return Some(Kustomize::Standalone(path));
        }
        on_path(env, "kustomize")
            .map(Kustomize::Standalone)
            .or_else(|| on_path(env, "kubectl").map(Kustomize::Kubectl))
    }

    /// How it is invoked, for messages ("kustomize build", "kubectl kustomize").
    pub fn describe(&self) -> &'static str {
        match self {
            Kustomize::Standalone(_) => "kustomize build",
            Kustomize::Kubectl(_) => "kubectl kustomize",
        }
    }

    /// The YAML stream of `dir` built; Err carries what kustomize said.
    pub fn build(&self, dir: &Path) -> Result<String, String> {
        let mut command = match self {
            Kustomize::Standalone(bin) => {
                let mut c = std::process::Command::new(bin);
                c.arg("build");
                c
            }
            Kustomize::Kubectl(bin) => {
                let mut c = std::process::Command::new(bin);
                c.arg("kustomize");
                c
            }
        };
        let mut child = command
            .arg(dir)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", self.describe()))?;
        let mut stdout = child.stdout.take().expect("piped");
        let mut stderr = child.stderr.take().expect("piped");
        // Read both pipes while waiting: a full pipe would block the child.
        let out = std::thread::spawn(move || {
            let mut s = String::new();
            stdout.read_to_string(&mut s).map(|_| s)
        });
        let err = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = stderr.read_to_string(&mut s);
            s
        });
        let started = Instant::now();
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if started.elapsed() > TIMEOUT => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(format!(
                        "{} did not finish within {}s",
                        self.describe(),
                        TIMEOUT.as_secs()
                    ));
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(10)),
                Err(e) => return Err(format!("waiting for {}: {e}", self.describe())),
            }
        };
        let stderr = err.join().unwrap_or_default();
        let stdout = out
            .join()
            .map_err(|_| "reading kustomize's output".to_string())?
            .map_err(|e| format!("reading kustomize's output: {e}"))?;
        if status.success() {
            Ok(stdout)
        } else {
            Err(format!(
                "{} failed ({status}): {}",
                self.describe(),
                stderr.trim()
            ))
        }
    }
}

/// The first executable `name` on the PATH of `env`.
fn on_path(env: &Env, name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    env.get("PATH")?
        .split(':')
        .filter(|d| !d.is_empty())
        .map(|d| Path::new(d).join(name))
        .find(|p| {
            p.metadata()
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_override_wins_and_nothing_found_is_none() {
        let env = Env::from_pairs([
            ("KINDLING_KUSTOMIZE_BIN", "/opt/k"),
            ("PATH", "/nonexistent"),
        ]);
        assert_eq!(
            Kustomize::find(&env),
            Some(Kustomize::Standalone("/opt/k".into()))
        );
        let env = Env::from_pairs([("PATH", "/nonexistent")]);
        assert_eq!(Kustomize::find(&env), None);
    }

    #[test]
    fn kubectl_is_used_when_there_is_no_kustomize() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let kubectl = dir.path().join("kubectl");
        std::fs::write(&kubectl, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&kubectl, std::fs::Permissions::from_mode(0o755)).unwrap();
        let env = Env::from_pairs([("PATH", dir.path().display().to_string())]);
        assert_eq!(Kustomize::find(&env), Some(Kustomize::Kubectl(kubectl)));
    }
}
