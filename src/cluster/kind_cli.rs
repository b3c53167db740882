//! Which `kind` binary kindling runs: KINDLING_KIND_BIN, else `kind` on PATH when it is the
//! pinned version, else the pinned release downloaded (sha256-verified) into the cache dir.

use super::ClusterError;
use crate::config::Settings;
use crate::env::Env;
use crate::report::Step;
use futures::StreamExt;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use tokio::io::AsyncWriteExt;

/// Where kind publishes its release binaries (overridable with KINDLING_KIND_DOWNLOAD_URL).
pub const DEFAULT_DOWNLOAD_URL: &str = "https://github.com/kubernetes-sigs/kind/releases/download";

/// How the binary was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KindSource {
    /// KINDLING_KIND_BIN: used as given, no version check.
    Override,
    /// `kind` on PATH reporting the pinned version.
    Path,
    /// Downloaded earlier into the cache dir.
    Cached,
    /// Downloaded now.
    Downloaded,
}

/// A runnable kind CLI.
#[derive(Debug, Clone)]
pub struct KindCli {
    pub path: PathBuf,
    pub source: KindSource,
    env: Env,
}

/// What a kind command printed.
#[derive(Debug, Clone)]
pub struct KindOutput {
    pub stdout: String,
    pub stderr: String,
}

/// `kind version` prints e.g. "kind v0.33.0 go1.25.1 linux/amd64".
pub fn parse_version(output: &str) -> Option<String> {
    output
        .split_whitespace()
        .find(|w| w.starts_with('v') && w[1..].starts_with(|c: char| c.is_ascii_digit()))
        .map(str::to_string)
}

/// kind's name for this platform's release file, e.g. "kind-linux-amd64".
pub fn release_file() -> String {
    let os = match std::env::consts::OS {
        "macos" => "darwin",
        other => other,
    };
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    };
    format!("kind-{os}-{arch}")
}

/// Where the pinned release is kept once downloaded.
pub fn cached_path(settings: &Settings) -> PathBuf {
    settings
        .cache_dir
        .join("bin")
        .join(format!("kind-{}", settings.config.cluster.kind_version))
}

impl KindCli {
    /// A kind CLI at a known path (tests, and KINDLING_KIND_BIN).
    pub fn at(path: impl Into<PathBuf>, env: &Env) -> KindCli {
        KindCli {
            path: path.into(),
            source: KindSource::Override,
            env: env.clone(),
        }
    }

    /// A command running this kind with kindling's environment (only that: tests inject it).
    pub fn command(&self, args: &[&str]) -> tokio::process::Command {
        let mut command = tokio::process::Command::new(&self.path);
        command
            .args(args)
            .env_clear()
            .envs(self.env.with_prefix(""))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        command
    }

    /// Runs kind to completion; a non-zero exit is a `ClusterError::Kind` with its output.
    pub async fn run(&self, args: &[&str]) -> Result<KindOutput, ClusterError> {
        let out = self
            .command(args)
            .output()
            .await
            .map_err(|e| ClusterError::Spawn {
                program: self.path.display().to_string(),
                reason: e.to_string(),
            })?;
        let output = KindOutput {
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        };
        if out.status.success() {
            Ok(output)
        } else {
            Err(ClusterError::Kind {
                command: format!("kind {}", args.join(" ")),
                status: out.status.to_string(),
                output: format!("{}{}", output.stdout, output.stderr)
                    .trim()
                    .to_string(),
                hint: None,
            })
        }
    }

    /// The clusters kind knows (it finds them by its node-container labels).
    pub async fn clusters(&self) -> Result<Vec<String>, ClusterError> {
        let out = self.run(&["get", "clusters"]).await?;
        Ok(lines(&out.stdout))
    }

    /// The node containers of a cluster.
    pub async fn nodes(&self, name: &str) -> Result<Vec<String>, ClusterError> {
        let out = self.run(&["get", "nodes", "--name", name]).await?;
        Ok(lines(&out.stdout))
    }
}

fn lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

/// The first executable `kind` on the PATH of `env`.
pub fn find_on_path(env: &Env) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    env.get("PATH")?
        .split(':')
        .filter(|d| !d.is_empty())
        .map(|d| Path::new(d).join("kind"))
        .find(|p| {
            p.metadata()
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// Finds (or downloads) the kind CLI this configuration pins.
pub async fn resolve(settings: &Settings, env: &Env, step: &Step) -> Result<KindCli, ClusterError> {
    let found = |path: PathBuf, source| KindCli {
        path,
        source,
        env: env.clone(),
    };
    if let Some(path) = env.path("KINDLING_KIND_BIN") {
        return Ok(found(path, KindSource::Override));
    }
    let pinned = &settings.config.cluster.kind_version;
    // It becomes a cache path and a URL: configuration validates it; this holds for any caller.
    if !crate::paths::is_plain_name(pinned) {
        return Err(ClusterError::BadVersion {
            version: pinned.clone(),
        });
    }
    if let Some(path) = find_on_path(env) {
        let cli = found(path.clone(), KindSource::Path);
        match cli.run(&["version"]).await {
            Ok(out) if parse_version(&out.stdout).as_deref() == Some(pinned.as_str()) => {
                return Ok(cli);
            }
            Ok(out) => step.progress(format!(
                "{} is kind {}, not the pinned {pinned}",
                path.display(),
                parse_version(&out.stdout).unwrap_or_else(|| "of unknown version".into())
            )),
            Err(_) => step.progress(format!("{} does not run; ignoring it", path.display())),
        }
    }
    let cached = cached_path(settings);
    if cached.is_file() {
        return Ok(found(cached, KindSource::Cached));
    }
    let base = env
        .get("KINDLING_KIND_DOWNLOAD_URL")
        .unwrap_or(DEFAULT_DOWNLOAD_URL)
        .trim_end_matches('/');
    download(base, pinned, &cached, step).await?;
    Ok(found(cached, KindSource::Downloaded))
}

/// Downloads `<base>/<version>/<release file>` to `dest`, checked against the `.sha256sum`
/// published beside it. Written to a temporary name first: `dest` only ever holds a verified file.
async fn download(base: &str, version: &str, dest: &Path, step: &Step) -> Result<(), ClusterError> {
    download_release(base, version, &release_file(), dest, step).await
}

/// The same for any host's release file (`kind-darwin-arm64`, ...): `bundle create` packs
/// kind for every workshop laptop's platform.
pub async fn download_release(
    base: &str,
    version: &str,
    file: &str,
    dest: &Path,
    step: &Step,
) -> Result<(), ClusterError> {
    let url = format!("{base}/{version}/{file}");
    // No limit on the whole download: the binary is tens of MB on any connection.
    let limits = crate::net::Limits {
        connect: std::time::Duration::from_secs(20),
        total: None,
    };
    let failed = |source| ClusterError::Download {
        version: version.to_string(),
        url: url.clone(),
        source,
    };
    let client = limits.client().map_err(failed)?;
    let get = |u: String| {
        let client = client.clone();
        async move {
            client
                .get(&u)
                .send()
                .await
                .and_then(|r| r.error_for_status())
                .map_err(|e| limits.classify(e))
        }
    };

    step.progress(format!("downloading kind {version}"));
    let sums = get(format!("{url}.sha256sum"))
        .await
        .map_err(failed)?
        .text()
        .await
        .map_err(|e| failed(limits.classify(e)))?;
    let expected = sums
        .split_whitespace()
        .next()
        .filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
        .map(str::to_ascii_lowercase)
        .ok_or_else(|| ClusterError::BadChecksumFile {
            url: url.clone(),
            text: sums.chars().take(200).collect(),
        })?;

    let dir = dest.parent().unwrap_or(Path::new("."));
    let io = |what: &'static str, path: &Path| {
        let path = path.to_path_buf();
        move |source| ClusterError::Io { what, path, source }
    };
    tokio::fs::create_dir_all(dir)
        .await
        .map_err(io("cannot create", dir))?;
    let partial = dir.join(format!(
        ".{}.download-{}",
        dest.file_name().unwrap_or_default().to_string_lossy(),
        std::process::id()
    ));
    let result = async {
        let response = get(url.clone()).await.map_err(failed)?;
        let total = response.content_length();
        let mut file = tokio::fs::File::create(&partial)
            .await
            .map_err(io("cannot create", &partial))?;
        let mut hasher = Sha256::new();
        let mut done = 0u64;
        let mut body = response.bytes_stream();
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| failed(limits.classify(e)))?;
            hasher.update(&chunk);
            file.write_all(&chunk)
                .await
                .map_err(io("cannot write", &partial))?;
            done += chunk.len() as u64;
            step.progress_count(format!("downloading kind {version}"), done, total);
        }
        file.flush().await.map_err(io("cannot write", &partial))?;
        drop(file);
        let actual = hex::encode(hasher.finalize());
        if actual != expected {
            return Err(ClusterError::Checksum {
                version: version.to_string(),
                url: url.clone(),
                expected: expected.clone(),
                actual,
            });
        }
        use std::os::unix::fs::PermissionsExt;
        tokio::fs::set_permissions(&partial, std::fs::Permissions::from_mode(0o755))
            .await
            .map_err(io("cannot make executable", &partial))?;
        tokio::fs::rename(&partial, dest)
            .await
            .map_err(io("cannot move into place", dest))
    }
    .await;
    if result.is_err() {
        let _ = tokio::fs::remove_file(&partial).await;
    }
    result
}
