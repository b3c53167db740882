//! The demo app's image, as `up` (the configured version) and `release` (any version, with
//! faults) build it. Three ways, chosen by `[demo]` in bootstrap.toml:
//!
//! - `binary`: a static demo-app binary (demo-app/build-binary.sh) packaged by
//!   demo-app/Dockerfile.prebuilt (compiled into kindling) with the binary alone as context.
//!   Works offline; this is what the tests use.
//! - `source_dir`: demo-app/Dockerfile built from that workspace; the workspace's
//!   .dockerignore keeps target/ out of the context.
//! - neither (the default): demo-app/Dockerfile built from the sources compiled into kindling
//!   (`demo_context`), written to a temporary folder: an installed kindling has no checkout.
//!
//! The image is built for the Docker engine's architecture (an Apple silicon Mac's engine is
//! arm64): the Rust target is a build arg, and the image is labelled with both.
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
    /// The sources compiled into kindling, written to a temporary build context.
    Embedded,
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
    if demo.source_dir.is_empty() {
        return Ok(Source::Embedded);
    }
    let dir = PathBuf::from(&demo.source_dir);
    if !dir.join("demo-app/Dockerfile").is_file() {
        return Err(Error::failed(
            "building the demo image",
            format!(
                "{} has no demo-app/Dockerfile (demo.source_dir)",
                dir.display()
            ),
        )
        .with_hint(
            "set demo.source_dir to a kindling checkout, leave it empty to build from the sources \
             inside kindling, or set demo.binary to a static demo-app binary \
             (demo-app/build-binary.sh), e.g. --set demo.binary=/path/to/demo-app",
        ));
    }
    Ok(Source::Workspace(dir))
}

/// The Rust target that builds a Linux binary for an engine architecture, as Docker names it
/// (`docker version`: Go's names amd64/arm64; `docker info`: the kernel's x86_64/aarch64).
/// glibc targets, linked statically (crt-static) in both Dockerfiles.
pub fn rust_target(engine_arch: &str) -> Option<&'static str> {
    match engine_arch {
        "amd64" | "x86_64" => Some("x86_64-unknown-linux-gnu"),
        "arm64" | "aarch64" => Some("aarch64-unknown-linux-gnu"),
        _ => None,
    }
}

/// An engine architecture in the OCI / Go spelling the image config uses (amd64, arm64).
pub fn oci_arch(engine_arch: &str) -> &str {
    match engine_arch {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

/// The architecture an ELF executable was built for (amd64, arm64), from its header's
/// `e_machine` (little-endian ELF: 62 = x86-64, 183 = AArch64); None when it is not ELF.
pub fn elf_arch(header: &[u8]) -> Option<&'static str> {
    if header.len() < 20 || &header[..4] != b"\x7fELF" || header[5] != 1 {
        return None;
    }
    match u16::from_le_bytes([header[18], header[19]]) {
        62 => Some("amd64"),
        183 => Some("arm64"),
        _ => Some("other"),
    }
}

/// Every build arg of one build: release identity, faults, and the engine's architecture.
pub fn build_args(
    version: &str,
    faults: &Faults,
    engine_arch: &str,
) -> Result<BTreeMap<String, String>> {
    let target = rust_target(engine_arch).ok_or_else(|| {
        Error::failed(
            "building the demo image",
            format!("the Docker engine runs on {engine_arch:?}, which the demo app has no Rust target for"),
        )
        .with_hint("use a Docker engine on amd64 (x86_64) or arm64 (Apple silicon, aarch64)")
    })?;
    let mut args: BTreeMap<String, String> = faults.build_args().into_iter().collect();
    args.insert("VERSION".into(), version.to_string());
    args.insert(
        "COMMIT".into(),
        format!("kindling-{}", env!("CARGO_PKG_VERSION")),
    );
    args.insert("ARCH".into(), oci_arch(engine_arch).to_string());
    args.insert("RUST_TARGET".into(), target.to_string());
    Ok(args)
}

/// A prebuilt binary must match the engine: an x86-64 binary in an arm64 image cannot start.
fn check_binary_arch(binary: &Path, engine_arch: &str) -> Result<()> {
    let mut header = [0u8; 20];
    let read = std::fs::File::open(binary)
        .and_then(|mut f| std::io::Read::read(&mut f, &mut header))
        .map_err(|e| Error::context(format!("cannot read {}", binary.display()), e))?;
    let wanted = oci_arch(engine_arch);
    match elf_arch(&header[..read]) {
        Some(found) if found != wanted => Err(Error::failed(
            "building the demo image",
            format!(
                "demo.binary {} is built for {found}, the Docker engine runs {wanted}",
                binary.display()
            ),
        )
        .with_hint(format!(
            "build it for the engine (demo-app/build-binary.sh on an {wanted} machine), or leave \
             demo.binary empty to build from source for {wanted}"
        ))),
        _ => Ok(()),
    }
}

/// The image of `version` with `faults`, built for the engine's architecture and pushed to
/// `target` (the local registry or `registry.push_host`; one step, `image:demo-app`). A
/// temporary context is removed afterwards.
pub async fn build_and_push(
    docker: &bollard::Docker,
    config: &Config,
    target: &crate::docker::registry_auth::PushTarget,
    version: &str,
    faults: &Faults,
    reporter: &SharedReporter,
) -> Result<BuiltImage> {
    let source = source(config)?;
    let engine_arch = docker
        .version()
        .await
        .map_err(|e| Error::context("cannot ask the Docker engine for its architecture", e))?
        .arch
        .unwrap_or_default();
    let build_args = build_args(version, faults, &engine_arch)?;
    let tag = faults.tag(version);
    let (spec, _context) = match source {
        Source::Binary(binary) => {
            check_binary_arch(&binary, &engine_arch)?;
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
        Source::Embedded => {
            let dir = embedded_context()?;
            let mut build_args = build_args;
            for (key, value) in super::demo_context::BUILD_ARGS {
                build_args.insert(key.into(), value.into());
            }
            let spec = BuildSpec {
                context: dir.path().to_path_buf(),
                dockerfile: PathBuf::from(super::demo_context::DOCKERFILE_PATH),
                name: IMAGE_NAME.into(),
                tag,
                build_args,
            };
            (spec, Some(dir))
        }
    };
    let built = crate::docker::image::build_and_push_to(docker, target, &spec, reporter).await?;
    Ok(built)
}

fn temp_context() -> Result<tempfile::TempDir> {
    tempfile::Builder::new()
        .prefix("kindling-demo-image-")
        .tempdir()
        .map_err(|e| Error::context("cannot prepare the demo image's build context", e))
}

/// The sources compiled into kindling, as a build context of demo-app/Dockerfile.
pub fn embedded_context() -> Result<tempfile::TempDir> {
    let dir = temp_context()?;
    super::demo_context::write(dir.path())
        .map_err(|e| Error::context("cannot prepare the demo image's build context", e))?;
    Ok(dir)
}

/// A context of exactly two files: the binary as `demo-app` and the prebuilt Dockerfile.
fn binary_context(binary: &Path) -> Result<tempfile::TempDir> {
    let failed = |e: std::io::Error| {
        Error::context(
            format!("preparing the build context for {}", binary.display()),
            e,
        )
    };
    let dir = temp_context()?;
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
        // The default builds from the sources inside kindling, not from where it was built.
        config.demo.source_dir.clear();
        assert_eq!(source(&config).unwrap(), Source::Embedded);
    }

    #[test]
    fn the_engine_architecture_picks_the_rust_target() {
        // `docker version` says amd64/arm64 (Go), `docker info` x86_64/aarch64 (uname).
        for (arch, target) in [
            ("amd64", "x86_64-unknown-linux-gnu"),
            ("x86_64", "x86_64-unknown-linux-gnu"),
            ("arm64", "aarch64-unknown-linux-gnu"),
            ("aarch64", "aarch64-unknown-linux-gnu"),
        ] {
            assert_eq!(rust_target(arch), Some(target), "{arch}");
        }
        assert_eq!(rust_target("s390x"), None);
        assert_eq!(rust_target(""), None);
    }

    #[test]
    fn the_build_args_carry_the_target_and_the_architecture_label() {
        let args = build_args("v1.0.0", &Faults::default(), "arm64").unwrap();
        assert_eq!(args["RUST_TARGET"], "aarch64-unknown-linux-gnu");
        assert_eq!(args["ARCH"], "arm64");
        assert_eq!(args["VERSION"], "v1.0.0");
        let args = build_args("v1.0.0", &Faults::default(), "x86_64").unwrap();
        assert_eq!(args["RUST_TARGET"], "x86_64-unknown-linux-gnu");
        assert_eq!(args["ARCH"], "amd64");
        let e = build_args("v1.0.0", &Faults::default(), "riscv64").unwrap_err();
        assert!(e.to_string().contains("riscv64"), "{e}");
        // Both Dockerfiles use what the args carry: the source build compiles for the target,
        // and both label the image with the architecture and the target.
        let source_build = include_str!("../../demo-app/Dockerfile");
        for dockerfile in [source_build, PREBUILT_DOCKERFILE] {
            assert!(dockerfile.contains("ARG ARCH"), "{dockerfile}");
            assert!(dockerfile.contains("ARG RUST_TARGET"), "{dockerfile}");
            assert!(
                dockerfile.contains("dev.kindling.architecture=\"${ARCH}\""),
                "{dockerfile}"
            );
            assert!(
                dockerfile.contains("dev.kindling.rust-target=\"${RUST_TARGET}\""),
                "{dockerfile}"
            );
        }
        assert!(
            !source_build.contains("--target x86_64"),
            "a hard-coded target is back"
        );
        assert!(
            source_build.contains("--target \"$target\""),
            "{source_build}"
        );
    }

    #[test]
    fn a_prebuilt_binary_for_another_architecture_is_refused() {
        let mut elf = vec![0u8; 64];
        elf[..4].copy_from_slice(b"\x7fELF");
        elf[4] = 2; // 64-bit
        elf[5] = 1; // little-endian
        elf[18..20].copy_from_slice(&62u16.to_le_bytes());
        assert_eq!(elf_arch(&elf), Some("amd64"));
        let dir = tempfile::tempdir().unwrap();
        let binary = dir.path().join("demo-app");
        std::fs::write(&binary, &elf).unwrap();
        let e = check_binary_arch(&binary, "arm64").unwrap_err();
        assert!(e.to_string().contains("built for amd64"), "{e}");
        assert!(check_binary_arch(&binary, "amd64").is_ok());
        assert!(check_binary_arch(&binary, "x86_64").is_ok());
        elf[18..20].copy_from_slice(&183u16.to_le_bytes());
        assert_eq!(elf_arch(&elf), Some("arm64"));
        // This machine's own executables are what the host builds (ELF on Linux only).
        if cfg!(target_os = "linux") {
            let own = std::fs::read(std::env::current_exe().unwrap()).unwrap();
            let host = oci_arch(std::env::consts::ARCH);
            assert_eq!(elf_arch(&own[..64]), Some(host));
        }
        assert_eq!(elf_arch(b"#!/bin/false\n"), None);
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
