//! The demo app's environments: a fixed table the platform (GitOps layers, Applications) and
//! the rollout commands (environment → namespace) both read, so it sits below both.

/// An environment of the demo app: name, namespace, its host prefix, and the host prefix of
/// its preview (blue-green only: the Ingress `demo-app-preview` to the preview Service).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Environment {
    pub name: &'static str,
    pub namespace: &'static str,
    pub host_prefix: &'static str,
    pub preview_host_prefix: Option<&'static str>,
}

pub const ENVIRONMENTS: [Environment; 3] = [
    Environment {
        name: "dev",
        namespace: "default",
        host_prefix: "demo",
        preview_host_prefix: None,
    },
    Environment {
        name: "staging",
        namespace: "staging",
        host_prefix: "staging-demo",
        preview_host_prefix: None,
    },
    Environment {
        name: "production",
        namespace: "production",
        host_prefix: "prod-demo",
        preview_host_prefix: Some("prod-demo-preview"),
    },
];

/// The environment of that name.
pub fn environment(name: &str) -> Option<&'static Environment> {
    ENVIRONMENTS.iter().find(|e| e.name == name)
}
