//! The Docker Engine, through its API (bollard): no docker CLI needed.

mod client;
pub mod exec;
pub mod network;

pub mod archive;
pub mod containers;
pub mod dockerignore;
mod error;
pub mod image;
pub mod mirrors;
pub mod oci;
pub mod port_holder;
pub mod pull;
pub mod registry;
pub mod registry_api;
pub mod registry_auth;
pub mod status;

pub use client::{DockerError, connect, containers_with_labels, docker_host, summary_name};
pub use error::RegistryError;

/// Label on every container and volume kindling owns (never kind's `io.x-k8s.kind.cluster`).
pub const LABEL_MANAGED: &str = "dev.kindling.managed";
/// The cluster name an owned object belongs to.
pub const LABEL_CLUSTER: &str = "dev.kindling.cluster";
/// kind's own label on its node containers.
pub const KIND_CLUSTER_LABEL: &str = "io.x-k8s.kind.cluster";
