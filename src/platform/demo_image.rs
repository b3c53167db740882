//! The demo app's image, as `up` (the configured version) and `release` (any version, with
//! faults) build it. Two ways, chosen by `[demo]` in bootstrap.toml:
//!
//! - `binary`: a static demo-app binary (demo-app/build-binary.sh) packaged by
//!   demo-app/Dockerfile.prebuilt (compiled into kindling) with the binary alone as context.
//!   Works offline; this is what the tests use.
//! - `source_dir` (default: the folder kindling was built from): demo-app/Dockerfile built from
//!   the workspace; the workspace's .dockerignore keeps target/ out of the context.
//!
//! In both Dockerfiles the version and the faults are build args declared after the binary
//! layer, so every further version or fault reuses it from the build cache: seconds, not a build.

use crate::config::Config;
use crate::docker::image::{BuildSpec, BuiltImage};
use crate::error::{Error, Result};
use crate::report::SharedReporter;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The repository of the demo image in the local registry.
pub const IMAGE_NAME: &str = "demo-app";

/// demo-app/Dockerfile.prebuilt, compiled in so a binary alone is enough.
const PREBUILT_DOCKERFILE: &str = include_str!("../../demo-app/Dockerfile.prebuilt");

/// Faults baked into a release's image config (the app reads them at start-up).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Faults {
    /// Share of `/api/data` requests answered with HTTP 500, 0.0–1.0.
    pub error_rate: Option<f64>,
    /// Delay added to every `/api/data` request.
    pub latency_ms: Option<u64>,
}

impl Faults {
    pub fn is_none(&self) -> bool {
        self.error_rate.is_none_or(|r| r == 0.0) && self.latency_ms.is_none_or(|l| l == 0)
    }

    /// Parses one `--fault` value: `error-rate=0.5` or `latency=800ms` (also `latency=2s`).
    pub fn add(&mut self, text: &str) -> std::result::Result<(), String> {
        let (key, value) = text
            .split_once('=')
            .ok_or_else(|| format!("--fault {text:?}: expected KEY=VALUE"))?;
        match key {
            "error-rate" => {
                let rate: f64 = value
                    .parse()
                    .ok()
                    .filter(|r: &f64| (0.0..=1.0).contains(r))
                    .ok_or_else(|| {
                        format!(
                            "--fault error-rate={value}: expected a share from 0 to 1, e.g. 0.5"
                        )
                    })?;
                self.error_rate = Some(rate);
            }
            "latency" => {
                let duration = humantime::parse_duration(value)
                    .map_err(|e| format!("--fault latency={value}: {e} (e.g. latency=800ms)"))?;
                let ms = duration.as_millis() as u64;
                if ms > 60_000 {
                    return Err(format!(
                        "--fault latency={value}: at most 60s (the app refuses more)"
                    ));
                }
                self.latency_ms = Some(ms);
            }
            other => {
                return Err(format!(
                    "--fault {other}: unknown fault; use error-rate=<0..1> or latency=<duration>"
                ));
            }
        }
        Ok(())
    }

    /// "error-rate=0.5, latency=800ms" (the `kindling release --fault` spelling).
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(rate) = self.error_rate {
            parts.push(format!("error-rate={rate}"));
        }
        if let Some(ms) = self.latency_ms {
            parts.push(format!("latency={ms}ms"));
        }
        parts.join(", ")
    }

    /// The image tag of `version` with these faults: the version alone without faults, else
    /// a suffix naming them (`v1.1.0-e0.5-l800ms`), so a faulty build never takes a good tag.
    pub fn tag(&self, version: &str) -> String {
        let mut tag = version.to_string();
        if let Some(rate) = self.error_rate.filter(|r| *r > 0.0) {
            tag.push_str(&format!("-e{rate}"));
        }
        if let Some(ms) = self.latency_ms.filter(|l| *l > 0) {
            tag.push_str(&format!("-l{ms}ms"));
        }
        tag
    }

    fn build_args(&self) -> [(String, String); 2] {
        [
            (
                "FAULT_ERROR_RATE".into(),
                self.error_rate.unwrap_or(0.0).to_string(),
            ),
            (
                "FAULT_LATENCY_MS".into(),
                self.latency_ms.unwrap_or(0).to_string(),
            ),
        ]
    }
}

/// Where the image comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A static binary, packaged by Dockerfile.prebuilt.
    Binary(PathBuf),
    /// A workspace with demo-app/Dockerfile, built from source.
    Workspace(PathBuf),
}

/// The configured source, checked to exist (the error names the settings that fix it).
pub fn source(config: &Config) -> Result<Source> {
    let demo = &config.demo;
    if !demo.binary.is_empty() {
        let path = PathBuf::from(&demo.binary);
        if !path.is_file() {
            return Err(Error::failed(
                "building the demo image",
                format!("demo.binary {} is not a file", path.display()),
            )
            .with_hint(
                "build it with demo-app/build-binary.sh and set demo.binary to the path it prints",
            ));
        }
        return Ok(Source::Binary(path));
    }
    let dir = if demo.source_dir.is_empty() {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
    } else {
        PathBuf::from(&demo.source_dir)
    };
    if !dir.join("demo-app/Dockerfile").is_file() {
        return Err(Error::failed(
            "building the demo image",
            format!(
                "{} has no demo-app/Dockerfile (demo.source_dir{})",
                dir.display(),
                if demo.source_dir.is_empty() {
                    " is empty: the folder kindling was built from, which is not here"
                } else {
                    ""
                }
            ),
        )
        .with_hint(
            "set demo.source_dir to a kindling checkout, or demo.binary to a static demo-app \
             binary (demo-app/build-binary.sh), e.g. --set demo.binary=/path/to/demo-app",
        ));
    }
    Ok(Source::Workspace(dir))
}

/// The image of `version` with `faults`, built and pushed to `target` (the local registry or
/// `registry.push_host`; one step, `image:demo-app`). The temporary context of a binary build
/// is removed afterwards.
pub async fn build_and_push(
    docker: &bollard::Docker,
    config: &Config,
    target: &crate::docker::registry_auth::PushTarget,
    version: &str,
    faults: &Faults,
    reporter: &SharedReporter,
) -> Result<BuiltImage> {
    let mut build_args: BTreeMap<String, String> = faults.build_args().into_iter().collect();
    build_args.insert("VERSION".into(), version.to_string());
    build_args.insert(
        "COMMIT".into(),
        format!("kindling-{}", env!("CARGO_PKG_VERSION")),
    );
    let tag = faults.tag(version);
    let (spec, _context) = match source(config)? {
        Source::Binary(binary) => {
            let dir = binary_context(&binary)?;
            let spec = BuildSpec {
                context: dir.path().to_path_buf(),
                dockerfile: PathBuf::from("Dockerfile"),
                name: IMAGE_NAME.into(),
                tag,
                build_args,
            };
            (spec, Some(dir))
        }
        Source::Workspace(dir) => {
            let spec = BuildSpec {
                dockerfile: PathBuf::from("demo-app/Dockerfile"),
                context: dir,
                name: IMAGE_NAME.into(),
                tag,
                build_args,
            };
            (spec, None)
        }
    };
    let built = crate::docker::image::build_and_push_to(docker, target, &spec, reporter).await?;
    Ok(built)
}

/// A context of exactly two files: the binary as `demo-app` and the prebuilt Dockerfile.
fn binary_context(binary: &Path) -> Result<tempfile::TempDir> {
    let failed = |e: std::io::Error| {
        Error::failed(
            format!("preparing the build context for {}", binary.display()),
            e,
        )
    };
    let dir = tempfile::Builder::new()
        .prefix("kindling-demo-image-")
        .tempdir()
        .map_err(failed)?;
    std::fs::copy(binary, dir.path().join("demo-app")).map_err(failed)?;
    std::fs::write(dir.path().join("Dockerfile"), PREBUILT_DOCKERFILE).map_err(failed)?;
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_parse_and_name_the_tag() {
        let mut f = Faults::default();
        assert!(f.is_none());
        assert_eq!(f.tag("v1.1.0"), "v1.1.0");
        f.add("error-rate=0.5").unwrap();
        f.add("latency=800ms").unwrap();
        assert_eq!(f.tag("v1.1.0"), "v1.1.0-e0.5-l800ms");
        assert!(crate::config::is_image_tag(&f.tag("v1.1.0")));
        assert_eq!(
            f.build_args(),
            [
                ("FAULT_ERROR_RATE".to_string(), "0.5".to_string()),
                ("FAULT_LATENCY_MS".to_string(), "800".to_string())
            ]
        );
        assert!(f.add("error-rate=2").is_err());
        assert!(f.add("latency=2m").is_err());
        assert!(f.add("cpu=1").unwrap_err().contains("unknown fault"));
        assert!(f.add("latency").unwrap_err().contains("KEY=VALUE"));
    }

    #[test]
    fn a_missing_binary_or_workspace_names_the_fix() {
        let mut config = Config::builtin();
        config.demo.binary = "/nonexistent/demo-app".into();
        let e = source(&config).unwrap_err();
        assert!(
            e.hints().iter().any(|h| h.contains("build-binary.sh")),
            "{e:?}"
        );
        config.demo.binary.clear();
        config.demo.source_dir = "/nonexistent".into();
        let e = source(&config).unwrap_err();
        assert!(e.to_string().contains("demo-app/Dockerfile"), "{e}");
        assert!(e.hints().iter().any(|h| h.contains("demo.binary")), "{e:?}");
        config.demo.source_dir.clear();
        assert_eq!(
            source(&config).unwrap(),
            Source::Workspace(PathBuf::from(env!("CARGO_MANIFEST_DIR")))
        );
    }

    /// The workspace context of demo-app/Dockerfile: sources and lock file, never target/.
    #[test]
    fn the_workspace_context_keeps_target_out() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let tar = crate::docker::image::context_tar(root, "demo-app/Dockerfile").unwrap();
        let names = crate::docker::image::tests::entry_names(&tar);
        for want in [
            "Cargo.lock",
            "Cargo.toml",
            "demo-app/Dockerfile",
            "demo-app/src/main.rs",
        ] {
            assert!(names.iter().any(|n| n == want), "{want} missing");
        }
        assert!(
            !names
                .iter()
                .any(|n| n.starts_with("target/") || n.contains("/target/")),
            "target/ in the context"
        );
        assert!(
            tar.len() < 20 * 1024 * 1024,
            "context of {} bytes",
            tar.len()
        );
    }
}
