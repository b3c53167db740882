//! The platform's upstream parts (pinned install manifests, fetched and verified), its Argo CD
//! Applications, and the demo app: its image, its GitOps source and the checks on it.

pub mod adopt;
pub mod app_health;
pub mod applications;
pub mod argocd_install;
pub mod demo_checks;
pub mod demo_context;
pub mod demo_image;
pub mod demo_publish;
pub mod fetch;
pub mod gitops;
pub mod ingress_address;
pub mod inventory;
pub mod pinned;
pub mod push_target;
pub mod teardown;
