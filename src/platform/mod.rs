//! The platform's upstream parts: pinned install manifests, fetched and verified.

pub mod applications;
pub mod fetch;
pub mod gitops;
pub mod pinned;
