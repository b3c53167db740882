//! Bundles: everything the platform needs in one file, so `kindling up --bundle FILE` runs on
//! a machine with no network at all (a workshop room, an air-gapped CI runner).
//!
//! - `create` packs, from a platform that is up: the images its pods run (each requested
//!   platform), the node and registry images, the pinned Helm charts, Argo CD's install.yaml,
//!   the kind CLI per host, and the demo app.
//! - `archive` is the file itself (a tar whose first entry, `manifest.json`, lists and checksums
//!   every other entry; blobs stored once by digest, as in an OCI image layout); `verify` there
//!   reads it once and names the first entry that is not as listed.
//! - `load` makes every pull local; `offline` is what `up` changes while a bundle is in use
//!   (containerd's hosts.toml, the chart sources of the platform Applications).

pub mod archive;
pub mod charts;
pub mod create;
mod error;
pub mod files;
pub mod images;
pub mod inspect;
pub mod load;
pub mod manifest;
pub mod oci;
pub mod offline;
pub mod platform;
pub mod upstream;

pub use error::{BundleError, human_bytes};
pub use platform::Platform;

use manifest::{BundleManifest, pin_differences, pins};

/// Whether a bundle fits this configuration and this Docker engine: its pins are the
/// configuration's, and it has images for the engine's platform.
pub fn check_compatible(
    path: &std::path::Path,
    manifest: &BundleManifest,
    config: &crate::config::Config,
    engine: &Platform,
) -> Result<(), BundleError> {
    let differences = pin_differences(&manifest.pins, &pins(config));
    if !differences.is_empty() {
        return Err(BundleError::Pins {
            path: path.into(),
            differences,
        });
    }
    if !manifest
        .platforms
        .iter()
        .any(|p| p.os == engine.os && p.architecture == engine.architecture)
    {
        return Err(BundleError::Architecture {
            path: path.into(),
            engine: engine.to_string(),
            platforms: manifest.platforms.iter().map(|p| p.to_string()).collect(),
        });
    }
    Ok(())
}

/// The Docker engine's image platform (`docker info`: OSType, Architecture).
pub async fn engine_platform(docker: &bollard::Docker) -> Result<Platform, BundleError> {
    let info = docker
        .info()
        .await
        .map_err(crate::docker::DockerError::api("info"))?;
    Ok(Platform::of_engine(
        info.os_type.as_deref().unwrap_or("linux"),
        info.architecture
            .as_deref()
            .unwrap_or(std::env::consts::ARCH),
    ))
}
