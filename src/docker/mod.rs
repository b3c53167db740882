//! The Docker Engine, through its API (bollard): no docker CLI needed.

mod client;
pub mod exec;
pub mod network;

pub use client::{DockerError, connect, docker_host};

/// Label on every container and volume kindling owns (never kind's `io.x-k8s.kind.cluster`).
pub const LABEL_MANAGED: &str = "dev.kindling.managed";
/// The cluster name an owned object belongs to.
pub const LABEL_CLUSTER: &str = "dev.kindling.cluster";
/// kind's own label on its node containers.
pub const KIND_CLUSTER_LABEL: &str = "io.x-k8s.kind.cluster";
