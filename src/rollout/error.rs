//! Errors of rollout status and control, each with what to do about it.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum RolloutError {
    #[error("cannot read {path}")]
    ReadFile {
        path: PathBuf,
        source: crate::bounded_read::ReadError,
    },

    #[error("{path} is not a Rollout: {why}")]
    NotARollout { path: PathBuf, why: String },

    #[error("unknown environment {0:?}")]
    UnknownEnvironment(String),

    #[error("cannot load the kubeconfig {path}: {why}")]
    Kubeconfig { path: PathBuf, why: String },

    /// kindling's own cluster context is not there: nothing to act on.
    #[error("the platform is not up: {why}")]
    NotUp {
        why: String,
        provider: crate::config::Provider,
    },

    /// `--kubeconfig` that cannot be read or does not hold kindling's context.
    #[error("--kubeconfig {path}: {why}")]
    WrongKubeconfig {
        path: PathBuf,
        why: String,
        context: String,
    },

    #[error("Rollout {namespace}/{name} not found")]
    NotFound { namespace: String, name: String },

    #[error("{action} Rollout {namespace}/{name} failed")]
    Api {
        action: &'static str,
        namespace: String,
        name: String,
        source: Box<kube::Error>,
    },

    #[error("Rollout {namespace}/{name} is Degraded: {message}")]
    Degraded {
        namespace: String,
        name: String,
        message: String,
    },

    #[error("the API server returned a Rollout kindling cannot read: {0}")]
    Decode(String),
}

impl RolloutError {
    pub fn hint(&self) -> Option<String> {
        match self {
            RolloutError::ReadFile { .. } => Some(
                "--file takes a Rollout saved with `kubectl get rollout NAME -o yaml` (or - for stdin)"
                    .into(),
            ),
            RolloutError::NotARollout { .. } => Some(
                "save one with `kubectl get rollout NAME -o yaml > rollout.yaml` (YAML or JSON)"
                    .into(),
            ),
            RolloutError::UnknownEnvironment(_) => {
                Some("environments are dev, staging and production".into())
            }
            RolloutError::Kubeconfig { .. } => Some(
                "run `kindling up` (it writes the kubeconfig), or pass --kubeconfig PATH".into(),
            ),
            RolloutError::NotUp {
                provider: crate::config::Provider::Kind,
                ..
            } => Some(
                "`kindling up` brings it up; kindling acts only on its own cluster (context kind-<cluster.name>), never on your current kube context"
                    .into(),
            ),
            RolloutError::NotUp { .. } => Some(
                "check cluster.kubeconfig and cluster.context (`kindling cluster status`), then `kindling up`"
                    .into(),
            ),
            RolloutError::WrongKubeconfig { context, .. } => Some(format!(
                "pass a kubeconfig that holds context {context}, or leave --kubeconfig out to use kindling's own"
            )),
            RolloutError::NotFound { .. } => Some(
                "is the platform up and the demo app synced? see `kindling status`, or pass --kubeconfig for another cluster"
                    .into(),
            ),
            RolloutError::Api { .. } => Some(
                "check that the cluster answers (`kubectl get rollouts -A`) and that Argo Rollouts is installed"
                    .into(),
            ),
            RolloutError::Degraded { .. } => Some(
                "see the AnalysisRuns and pods above; `kindling rollout retry ENV` after a fix".into(),
            ),
            RolloutError::Decode(_) => None,
        }
    }

    fn is_usage(&self) -> bool {
        matches!(
            self,
            RolloutError::ReadFile { .. }
                | RolloutError::NotARollout { .. }
                | RolloutError::UnknownEnvironment(_)
                | RolloutError::WrongKubeconfig { .. }
        )
    }
}

impl crate::error::Diagnose for RolloutError {
    fn area(&self) -> &str {
        "rollout"
    }

    fn hints(&self) -> Vec<String> {
        self.hint().into_iter().collect()
    }

    fn exit_status(&self) -> crate::ExitStatus {
        if self.is_usage() {
            crate::ExitStatus::Usage
        } else {
            crate::ExitStatus::Failure
        }
    }
}
