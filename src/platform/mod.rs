//! The platform's upstream parts: pinned install manifests, fetched and verified.

pub mod fetch;
pub mod pinned;
