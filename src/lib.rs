//! kindling: a local progressive-delivery platform (kind, Argo CD, Argo Rollouts,
//! Prometheus, cert-manager, Traefik) brought up and proven by one binary.
//!
//! Layout: `config` (bootstrap.toml), `report` (progress events), `error` (typed
//! errors and exit codes), `style` (colour), one module per external system (`docker`, ...), and
//! `cli` (the only code that prints). The modules form layers, none importing from a higher one:
//! tests/layers.rs holds the table and the reason for each place.

pub mod bounded_read;
pub mod bundle;
pub mod cli;
pub mod cluster;
pub mod config;
pub mod docker;
pub mod doctor;
pub mod down;
pub mod env;
pub mod environments;
pub mod error;
pub mod host_changes;
pub mod hosts;
pub mod k8s;
pub mod lint;
pub mod net;
pub mod paths;
pub mod pipeline;
pub mod platform;
pub mod release;
pub mod render;
pub mod report;
pub mod retry;
pub mod rollout;
pub mod scenario;
pub mod status;
pub mod style;
pub mod tls;
pub mod traffic;
pub mod up;
pub mod yaml;

pub use error::{Error, ExitStatus, Result};
