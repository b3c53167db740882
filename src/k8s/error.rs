//! Errors of the Kubernetes engine: each says what failed, why, and (via `hint`) what to do.

use super::manifest::ObjectSource;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum K8sError {
    #[error("cannot use kubeconfig {path}: {why}")]
    Kubeconfig { path: String, why: String },

    #[error("cannot read {path}: {why}")]
    Read { path: String, why: String },

    #[error("invalid YAML in {file}, document {document}, line {line}: {message}")]
    Yaml {
        file: String,
        document: usize,
        line: u64,
        message: String,
    },

    #[error("invalid object in {at}: {message}")]
    InvalidObject { at: ObjectSource, message: String },

    #[error("{object} in {at} is cluster-scoped but has metadata.namespace {namespace:?}")]
    ClusterScopedWithNamespace {
        object: String,
        at: ObjectSource,
        namespace: String,
    },

    #[error("{}", unknown_kind_message(.kind, .api_version, .crd.as_deref(), .at.as_ref()))]
    UnknownKind {
        kind: String,
        api_version: String,
        /// The CRD that would define it ("rollouts.argoproj.io"); None for built-in groups.
        crd: Option<String>,
        at: Option<ObjectSource>,
    },

    /// The API server refused a request; `message` is the server's own verdict.
    #[error("{action} failed: {message}")]
    Api {
        action: String,
        code: u16,
        reason: String,
        message: String,
    },

    /// A wait ran out of time; `diagnosis` holds events, pod states and logs.
    #[error("timed out after {} waiting for {awaited}; last seen: {last_seen}{}", crate::report::format_duration(*.after), diagnosis_suffix(.diagnosis))]
    Timeout {
        awaited: String,
        last_seen: String,
        after: Duration,
        diagnosis: String,
    },

    /// A wait saw a terminal failure (failed sync, failed Job, degraded Rollout).
    #[error("{awaited} failed: {reason}{}", diagnosis_suffix(.diagnosis))]
    WaitFailed {
        awaited: String,
        reason: String,
        diagnosis: String,
    },

    /// The request got no answer from the API server (connection, TLS, timeout).
    #[error("{action} failed")]
    Client {
        action: String,
        #[source]
        source: Box<kube::Error>,
    },

    /// An object kindling would apply exists and is someone else's (`Applier::owned_only`).
    #[error("{object} already exists and kindling did not create it ({owner})")]
    NotOurs { object: String, owner: String },
}

fn unknown_kind_message(
    kind: &str,
    api_version: &str,
    crd: Option<&str>,
    at: Option<&ObjectSource>,
) -> String {
    let mut message = format!("no kind {kind} in {api_version}");
    if let Some(crd) = crd {
        message.push_str(&format!(": is the CRD {crd} installed?"));
    }
    if let Some(at) = at {
        message.push_str(&format!(" (in {at})"));
    }
    message
}

fn diagnosis_suffix(diagnosis: &str) -> String {
    if diagnosis.is_empty() {
        String::new()
    } else {
        format!("\n{diagnosis}")
    }
}

impl K8sError {
    pub fn hint(&self) -> Option<String> {
        match self {
            K8sError::Kubeconfig { .. } => {
                Some("check that the cluster exists (`kind get clusters`) and the kubeconfig path".into())
            }
            K8sError::Yaml { .. } | K8sError::InvalidObject { .. } => {
                Some("fix the manifest at the place named above".into())
            }
            K8sError::ClusterScopedWithNamespace { .. } => {
                Some("remove metadata.namespace from the cluster-scoped object".into())
            }
            K8sError::UnknownKind { crd: Some(crd), .. } => Some(format!(
                "install the CustomResourceDefinition {crd} first (or apply it together with the resource)"
            )),
            K8sError::UnknownKind { crd: None, .. } => {
                Some("check the spelling of apiVersion and kind".into())
            }
            K8sError::Timeout { .. } | K8sError::WaitFailed { .. } => Some(
                "the events, pod states and logs above say why; fix the cause and run the command again"
                    .into(),
            ),
            K8sError::Api { message, .. } if message.contains("field not declared in schema") => {
                let field = message.rsplit_once(": field not declared").map(|(before, _)| {
                    before.rsplit(' ').next().unwrap_or(before).to_string()
                });
                Some(format!(
                    "the CRD's schema has no field {}: fix its spelling or indentation",
                    field.unwrap_or_default()
                ))
            }
            K8sError::Api { code: 422, .. } => Some("fix the object: the API server rejected it".into()),
            K8sError::NotOurs { .. } => Some(
                "kindling never takes over what it did not create: remove that object (or its \
                 namespace) if it is not in use, or point kindling at another cluster"
                    .into(),
            ),
            K8sError::Client { .. } => {
                Some("check that the cluster runs and answers: `kindling cluster status`".into())
            }
            _ => None,
        }
    }

    /// Bad input (a manifest's own fault) rather than a failure of the cluster.
    pub fn is_bad_input(&self) -> bool {
        matches!(
            self,
            K8sError::Read { .. }
                | K8sError::Yaml { .. }
                | K8sError::InvalidObject { .. }
                | K8sError::ClusterScopedWithNamespace { .. }
        )
    }

    /// Wraps a kube client error for `action` ("apply ConfigMap argocd/argocd-cm").
    pub fn from_kube(action: impl Into<String>, err: kube::Error) -> K8sError {
        let action = action.into();
        match err {
            kube::Error::Api(status) => K8sError::Api {
                action,
                code: status.code,
                reason: status.reason.clone(),
                message: status.message.clone(),
            },
            other => K8sError::Client {
                action,
                source: Box::new(other),
            },
        }
    }

    /// The HTTP status of an API refusal (404, 409, 422...).
    pub fn code(&self) -> Option<u16> {
        match self {
            K8sError::Api { code, .. } => Some(*code),
            _ => None,
        }
    }
}

impl crate::error::Diagnose for K8sError {
    fn area(&self) -> &str {
        "Kubernetes"
    }

    fn hints(&self) -> Vec<String> {
        self.hint().into_iter().collect()
    }

    fn exit_status(&self) -> crate::ExitStatus {
        if self.is_bad_input() {
            crate::ExitStatus::Usage
        } else {
            crate::ExitStatus::Failure
        }
    }
}
